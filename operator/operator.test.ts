// The operator as a whole against a real API server and a real kvpod: the
// PKI Secrets it makes from the host CA, two replicas of which only the Lease
// holder reconciles, a handover when the leader stops, its metrics and
// probes, and the binary itself started and stopped like a Deployment would.
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTestCerts, startTestKvpod, type TestCerts, type TestKvpod } from '../kvpod/testing/fixtures.js';
import type { KubeApi } from '../shared/kube/api.js';
import { crdbTenantPath, crdbTenantSchema, crdbTenantsPath } from '../shared/kube/crdbtenant.js';
import { createLogger } from '../shared/log/index.js';
import { freePort } from '../shared/net/index.js';
import { startShoalApiServer, type TestApiServer } from '../shared/testing/kube-apiserver.js';
import { until } from '../shared/testing/until.js';
import { operatorSettingsSchema } from './config.js';
import { Operator } from './operator.js';
import { secretSchema } from './tenants/secret.js';

const NS = 'shoal';
let server: TestApiServer;
let api: KubeApi;
let certs: TestCerts;
let kv: TestKvpod;
const operators: Operator[] = [];


const ready = (name: string) =>
  until(`${name} Ready`, async () => {
    const t = await api.get(crdbTenantPath(NS, name), crdbTenantSchema).catch(() => undefined);
    return t?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' && t;
  });
const apply = (name: string) => api.create(crdbTenantsPath(NS), { apiVersion: 'shoal.dev/v1alpha1', kind: 'CrdbTenant', metadata: { name }, spec: {} });
const secretData = async (name: string) => {
  const s = await api.get(`/api/v1/namespaces/${NS}/secrets/${name}`, secretSchema);
  return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
};

async function replica(identity: string): Promise<Operator> {
  const settings = operatorSettingsSchema.parse({
    kubeconfig: server.kubeconfig,
    namespace: NS,
    identity,
    kvAddresses: kv.address,
    opsListen: `127.0.0.1:${await freePort()}`,
    logLevel: 'silent',
  });
  const o = await Operator.start(settings, createLogger('operator', 'silent'), { leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 200, retry: { baseDelayMs: 50, maxDelayMs: 500 } });
  operators.push(o);
  return o;
}

beforeAll(async () => {
  ({ server, api } = await startShoalApiServer(NS));
  certs = await createTestCerts();
  kv = await startTestKvpod(certs);
  // The installation's CA, as a user (or cert-manager) provides it; the kvpod already trusts it.
  await api.create(`/api/v1/namespaces/${NS}/secrets`, {
    metadata: { name: 'shoal-ca' },
    data: { 'ca.crt': Buffer.from(certs.ca.certPem).toString('base64'), 'ca.key': Buffer.from(certs.ca.keyPem).toString('base64') },
  });
}, 180_000);

afterAll(async () => {
  await Promise.all(operators.map((o) => o.stop()));
  await kv?.stop();
  await server?.stop();
});

describe('two operator replicas', () => {
  it('issue the component certificates from the host CA once, and only the Lease holder reconciles', async () => {
    const [a, b] = await Promise.all([replica('op-a'), replica('op-b')]);
    const ca = new X509Certificate(certs.ca.certPem);
    for (const component of ['kvpod', 'proxy', 'pool']) {
      const data = await secretData(`shoal-${component}-certs`);
      expect(new X509Certificate(data['tls.crt'] ?? '').verify(ca.publicKey)).toBe(true);
      expect(data['ca.crt']).toBe(certs.ca.certPem);
    }
    await until('a leader', () => a.isLeading || b.isLeading);
    expect(a.isLeading && b.isLeading).toBe(false);
    await apply('acme');
    expect((await ready('acme')).status?.tenantId).toBeGreaterThanOrEqual(2);

    const leader = a.isLeading ? a : b;
    const standby = leader === a ? b : a;
    const metrics = async (o: Operator) => (await fetch(`http://${o.opsAddress}/metrics`)).text();
    expect(await metrics(leader)).toMatch(/^shoal_operator_leader 1$/m);
    expect(await metrics(standby)).toMatch(/^shoal_operator_leader 0$/m);
    expect(await metrics(leader)).toMatch(/^shoal_operator_reconcile_total\{result="ok"\} [1-9]/m);
    for (const o of [leader, standby]) expect((await fetch(`http://${o.opsAddress}/readyz`)).status).toBe(200);
  });

  it('hand over when the leader stops: the standby reconciles what comes next', async () => {
    const [a, b] = operators;
    const leader = a?.isLeading ? a : b;
    const standby = leader === a ? b : a;
    await leader?.stop();
    await until('the standby leading', () => standby?.isLeading === true);
    await apply('globex');
    expect((await ready('globex')).status?.tenantId).toBeGreaterThanOrEqual(2);
    const lease = await api.get(`/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/shoal-operator`, z.object({ spec: z.object({ holderIdentity: z.string().nullish(), leaseTransitions: z.number().nullish() }) }));
    expect(lease.spec.holderIdentity).toBe(standby?.identity);
    expect(lease.spec.leaseTransitions).toBeGreaterThanOrEqual(1);
    await standby?.stop();
  });
});

describe('the operator binary', () => {
  it('reads its settings from the environment, reconciles, and exits 0 on SIGTERM', async () => {
    const opsPort = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'operator/main.ts'], {
      env: {
        ...process.env,
        SHOAL_KUBECONFIG: server.kubeconfig,
        SHOAL_NAMESPACE: NS,
        SHOAL_IDENTITY: 'op-process',
        SHOAL_KV_ADDRESSES: kv.address,
        SHOAL_OPS_LISTEN: `127.0.0.1:${opsPort}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await apply('initech');
      // The default Lease duration is 15 s; the former leaders released theirs, so it is taken at once.
      expect((await ready('initech')).status?.tenantId).toBeGreaterThanOrEqual(2);
      expect((await fetch(`http://127.0.0.1:${opsPort}/healthz`)).status).toBe(200);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(output).toContain('leading: reconciling tenants');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 60_000);

  it('refuses to start without kvpod addresses, saying which setting is missing', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'operator/main.ts'], { env: { ...process.env, SHOAL_KUBECONFIG: server.kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).toBe(2);
    expect(stderr).toContain('--kv-addresses (SHOAL_KV_ADDRESSES)');
  });
});
