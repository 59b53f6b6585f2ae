// The operator's client for SQL pods, against a real pod over real mutual TLS.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCerts, startTestKvpod, type TestCerts, type TestKvpod } from '../../kvpod/testing/fixtures.js';
import type { SqlPod } from '../../sqlpod/pod.js';
import { connect, createTenant, stampFor, startUnboundPod, type TestTenant } from '../../sqlpod/testing/fixtures.js';
import { freePort } from '../../kvpod/testing/process.js';
import { issueCert } from '../certs/index.js';
import { PodControl, PodControlError, readPodLoad, type OperatorIdentity } from './index.js';

let certs: TestCerts;
let kv: TestKvpod;
let tenant: TestTenant;
let operator: OperatorIdentity;
const pods: SqlPod[] = [];

beforeAll(async () => {
  certs = await createTestCerts();
  kv = await startTestKvpod(certs);
  tenant = await createTenant(certs, kv.address, 'ctl');
  operator = { caPem: certs.ca.certPem, ...(await certs.operator()) };
});

afterAll(async () => {
  await Promise.all(pods.map((p) => p.shutdown()));
  await kv?.stop();
});

async function unbound(): Promise<{ pod: SqlPod; control: string; ops: string }> {
  const pod = await startUnboundPod(certs);
  pods.push(pod);
  return { pod, control: `127.0.0.1:${pod.addresses.control?.port ?? 0}`, ops: `127.0.0.1:${pod.addresses.ops?.port ?? 0}` };
}

const failure = (p: Promise<unknown>): Promise<PodControlError> =>
  p.then(
    () => {
      throw new Error('expected a PodControlError');
    },
    (e: unknown) => {
      if (!(e instanceof PodControlError)) throw e;
      return e;
    },
  );

describe('PodControl', () => {
  it('stamps once, drains and undrains, and reads /load along the way', async () => {
    const { pod, control, ops } = await unbound();
    expect(await readPodLoad(ops)).toMatchObject({ state: 'unbound', tenantName: null, sessions: 0 });
    const ctl = new PodControl(control, operator);
    expect(await ctl.stamp(await stampFor(certs, tenant, kv.address))).toEqual({ tenantId: tenant.tenantId, tenantName: 'ctl' });
    const again = await failure(ctl.stamp(await stampFor(certs, tenant, kv.address)));
    expect([again.code, again.status]).toEqual(['ALREADY_STAMPED', 409]);

    const client = await connect(certs, pod);
    expect(await readPodLoad(ops)).toMatchObject({ state: 'running', tenantId: tenant.tenantId, tenantName: 'ctl', sessions: 1 });
    await ctl.drain(60_000);
    expect((await readPodLoad(ops)).state).toBe('draining');
    await ctl.undrain();
    expect((await readPodLoad(ops)).state).toBe('running');
    await client.end();
  });

  it('with keepAlive, stamps through the connection connect() opened while the pod waited in the pool', async () => {
    const { pod, control } = await unbound();
    // Whether each finished request to the pod went over a connection an earlier request had opened.
    const reused: boolean[] = [];
    const record = (message: unknown) => {
      const { request } = message as { request: { reusedSocket: boolean; getHeader(name: string): unknown } };
      if (request.getHeader('host') === control) reused.push(request.reusedSocket);
    };
    subscribe('http.client.response.finish', record);
    const ctl = new PodControl(control, operator, { keepAlive: true });
    try {
      await ctl.connect();
      await ctl.stamp(await stampFor(certs, tenant, kv.address));
      // The stamping endpoint closed itself after the stamp; the control endpoint, opened on
      // the same port a moment later, gets a new connection. The pod has no session, so the
      // drain makes it exit: the answer still arrives.
      await ctl.drain(60_000);
      expect(reused).toEqual([false, true, false]);
      await pod.exited;
    } finally {
      unsubscribe('http.client.response.finish', record);
      ctl.close();
    }
  });

  it('reports the pod refusing a bad stamp with its code, and leaves the pod unbound', async () => {
    const { control, ops } = await unbound();
    const err = await failure(new PodControl(control, operator).stamp({ ...(await stampFor(certs, tenant, kv.address)), tenantId: 1 }));
    expect([err.code, err.status]).toEqual(['INVALID_STAMP', 400]);
    expect(err.message).toContain('tenant ID must be >= 2');
    expect((await readPodLoad(ops)).state).toBe('unbound');
  });

  it('refuses to talk to something that is not a SQL pod, and says when nothing answers', async () => {
    // kvpod's serving certificate chains to the same CA but is not a pod's control certificate.
    const notAPod = await failure(new PodControl(kv.address, operator).undrain());
    expect(notAPod.code).toBe('UNREACHABLE');
    expect(notAPod.message).toMatch(/not a SQL pod control certificate/);

    const port = await freePort();
    const nobody = await failure(new PodControl(`127.0.0.1:${port}`, operator).drain());
    expect(nobody.code).toBe('UNREACHABLE');
    await expect(readPodLoad(`127.0.0.1:${port}`)).rejects.toMatchObject({ code: 'UNREACHABLE' });
  });

  it('refuses a caller without the operator certificate (the pod answers 403)', async () => {
    const { control } = await unbound();
    const tenantCert = await issueCert(certs.ca, { kind: 'tenant-client', tenantId: tenant.tenantId });
    const err = await failure(new PodControl(control, { caPem: certs.ca.certPem, ...tenantCert }).stamp(await stampFor(certs, tenant, kv.address)));
    expect(err.status).toBe(403);
  });
});
