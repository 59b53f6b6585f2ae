// Two SQL pods of one tenant on one kvpod, and the pod's lifecycle over its
// control endpoint: stamping once, operator only, drain and undrain.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCerts, startTestKvpod, type TestCerts, type TestKvpod } from '../kvpod/testing/fixtures.js';
import type { SqlPod } from './pod.js';
import { ADMIN, clientConfig, connect, control, createTenant, stampFor, startStampedPod, startUnboundPod, type TestTenant } from './testing/fixtures.js';

let certs: TestCerts;
let kv: TestKvpod;
let tenant: TestTenant;
const pods: SqlPod[] = [];
const clients: pg.Client[] = [];

beforeAll(async () => {
  certs = await createTestCerts();
  kv = await startTestKvpod(certs);
  tenant = await createTenant(certs, kv.address, 'twin');
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  await Promise.all(pods.map((p) => p.shutdown()));
  await kv?.stop();
});

async function stamped(): Promise<SqlPod> {
  const pod = await startStampedPod(certs, tenant, kv.address);
  pods.push(pod);
  return pod;
}

async function client(pod: SqlPod): Promise<pg.Client> {
  const c = await connect(certs, pod);
  // A pod that exits ends its sessions with 57P01; tests that care listen for it themselves.
  c.on('error', () => undefined);
  clients.push(c);
  return c;
}

describe('two pods of one tenant', () => {
  it('sees a schema change made through the other pod before using a stale schema', async () => {
    const [a, b] = [await client(await stamped()), await client(await stamped())];
    await a.query('CREATE TABLE shared (id integer PRIMARY KEY, v text)');
    await a.query("INSERT INTO shared VALUES (1, 'one')");
    expect((await b.query('SELECT v FROM shared WHERE id = 1')).rows).toEqual([{ v: 'one' }]);
    await a.query('ALTER TABLE shared ADD COLUMN extra integer DEFAULT 5');
    expect((await b.query('SELECT * FROM shared')).rows).toEqual([{ id: 1, v: 'one', extra: 5 }]);
    await a.query('DROP TABLE shared');
    const err = await b.query('SELECT * FROM shared').catch((e: unknown) => e);
    expect((err as pg.DatabaseError).code).toBe('42P01');
  });

  it('lets one of two conflicting transactions commit and fails the other with 40001 (no lost update)', async () => {
    const pod1 = pods[0] ?? (await stamped());
    const pod2 = pods[1] ?? (await stamped());
    const [a, b] = [await client(pod1), await client(pod2)];
    await a.query('CREATE TABLE balance (id integer PRIMARY KEY, amount integer)');
    await a.query('INSERT INTO balance VALUES (1, 100)');
    await a.query('BEGIN');
    await b.query('BEGIN');
    const ra = (await a.query('SELECT amount FROM balance WHERE id = 1')).rows[0] as { amount: number };
    const rb = (await b.query('SELECT amount FROM balance WHERE id = 1')).rows[0] as { amount: number };
    await a.query('UPDATE balance SET amount = $1 WHERE id = 1', [ra.amount + 10]);
    await b.query('UPDATE balance SET amount = $1 WHERE id = 1', [rb.amount + 20]);
    await a.query('COMMIT');
    const err = (await b.query('COMMIT').catch((e: unknown) => e)) as pg.DatabaseError;
    expect(err.code).toBe('40001');
    expect(err.hint).toMatch(/retried/);
    expect((await b.query('SELECT amount FROM balance WHERE id = 1')).rows).toEqual([{ amount: 110 }]);
  });
});

describe('lifecycle', () => {
  it('refuses a second stamp and a stamp without the operator certificate', async () => {
    const pod = await startUnboundPod(certs);
    pods.push(pod);
    const port = pod.addresses.control?.port ?? 0;
    const stamp = await stampFor(certs, tenant, kv.address);
    const stranger = await certs.tenant(tenant.tenantId);
    // Unbound and ready: ready to be stamped.
    expect((await fetch(`http://127.0.0.1:${pod.addresses.ops?.port ?? 0}/readyz`)).status).toBe(200);
    expect(pod.addresses.sql).toBeNull();
    const refused = await control(certs, port, 'POST', '/stamp', stamp, stranger);
    expect(refused.status).toBe(403);
    expect(pod.phase).toBe('unbound');
    expect((await control(certs, port, 'POST', '/stamp', stamp)).status).toBe(200);
    expect(pod.phase).toBe('running');
    // The control endpoint takes over the address once the stamping endpoint has closed.
    const again = await eventually(() => control(certs, port, 'POST', '/stamp', stamp));
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: { code: 'ALREADY_STAMPED' } });
  });

  it('drains: refuses new sessions with 57P03, lets open ones finish, undrains, and exits when the last closes', async () => {
    const pod = await stamped();
    const port = pod.addresses.control?.port ?? 0;
    const open = await connect(certs, pod);
    const drained = await eventually(() => control(certs, port, 'POST', '/drain'));
    expect(drained.status).toBe(200);
    expect(pod.phase).toBe('draining');
    const readyz = () => fetch(`http://127.0.0.1:${pod.addresses.ops?.port ?? 0}/readyz`).then((r) => r.status);
    expect(await readyz()).toBe(503);
    const refused = await connect(certs, pod).catch((e: unknown) => e);
    expect((refused as pg.DatabaseError).code).toBe('57P03');
    expect((await open.query('SELECT 1 AS still')).rows).toEqual([{ still: 1 }]);
    expect((await control(certs, port, 'POST', '/drain', undefined, await certs.tenant(tenant.tenantId))).status).toBe(403);
    expect((await control(certs, port, 'POST', '/undrain')).status).toBe(200);
    expect(await readyz()).toBe(200);
    const welcome = await connect(certs, pod);
    await welcome.end();
    expect((await control(certs, port, 'POST', '/drain')).status).toBe(200);
    await open.end();
    expect(await pod.exited).toBe('sessions-closed');
  });

  it('lets a client that was authenticating when the drain began finish logging in, and exits after it leaves', async () => {
    const pod = await stamped();
    let drainedMidLogin = false;
    // node-postgres asks for the password once the pod has sent its authentication request.
    const c = new pg.Client({
      ...clientConfig(certs, pod),
      password: async () => {
        pod.drain(60_000);
        drainedMidLogin = pod.phase === 'draining';
        await new Promise((r) => setTimeout(r, 100));
        return ADMIN.password;
      },
    });
    c.on('error', () => undefined);
    await c.connect();
    expect(drainedMidLogin).toBe(true);
    expect((await c.query('SELECT 1 AS admitted')).rows).toEqual([{ admitted: 1 }]);
    expect(pod.phase).toBe('draining');
    await c.end();
    expect(await pod.exited).toBe('sessions-closed');
  });

  it('reports load instantly and metrics for Prometheus', async () => {
    const pod = await stamped();
    const c = await client(pod);
    await c.query('SELECT 1');
    const ops = pod.addresses.ops?.port ?? 0;
    const load = (await (await fetch(`http://127.0.0.1:${ops}/load`)).json()) as Record<string, unknown>;
    expect(load).toMatchObject({ state: 'running', tenantId: tenant.tenantId, tenantName: 'twin', sessions: 1 });
    expect(typeof load.cpuCores).toBe('number');
    const metrics = await (await fetch(`http://127.0.0.1:${ops}/metrics`)).text();
    expect(metrics).toMatch(/shoal_sqlpod_statements_total\{command="SELECT"\} [1-9]/);
    expect(metrics).toContain('process_cpu_seconds_total');
    await c.query('SELECT 1/0').catch(() => undefined);
    expect(await (await fetch(`http://127.0.0.1:${ops}/metrics`)).text()).toMatch(/shoal_sqlpod_errors_total\{sqlstate="22012"\} 1/);
  });
});

/** Retries while the address is between the stamping endpoint and the control endpoint. */
async function eventually<T>(work: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await work();
    } catch (err) {
      if (i > 50) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

describe('the admin password', () => {
  it("follows the stamp: a new password replaces the stored one (a tenant re-created over a retained keyspace has a new Secret)", async () => {
    const first = await stamped();
    await (await client(first)).query('CREATE TABLE kept (id integer PRIMARY KEY)');
    const pod = await startUnboundPod(certs);
    pods.push(pod);
    const stamp = await stampFor(certs, tenant, kv.address);
    const answer = await control(certs, pod.addresses.control?.port ?? 0, 'POST', '/stamp', { ...stamp, admin: { username: ADMIN.username, password: 'rotated-password' } });
    expect(answer.status).toBe(200);
    const rotated = new pg.Client(clientConfig(certs, pod, 'defaultdb', ADMIN.username, 'rotated-password'));
    await rotated.connect();
    clients.push(rotated);
    expect((await rotated.query("SELECT count(*)::int AS n FROM kept")).rows).toEqual([{ n: 0 }]);
    const old = new pg.Client(clientConfig(certs, pod, 'defaultdb', ADMIN.username, ADMIN.password));
    await expect(old.connect()).rejects.toMatchObject({ code: '28P01' });
  });
});

describe('drain limit', () => {
  it('exits at the drain limit even with a session still open', async () => {
    const pod = await stamped();
    const port = pod.addresses.control?.port ?? 0;
    const open = await client(pod);
    await open.query('SELECT 1');
    const ended = new Promise<unknown>((resolve) => open.once('error', resolve));
    const drained = await eventually(() => control(certs, port, 'POST', '/drain?limitMs=200'));
    expect(drained.status).toBe(200);
    expect(await pod.exited).toBe('drain-limit');
    expect(pod.phase).toBe('exited');
    expect((await ended) as pg.DatabaseError).toMatchObject({ code: '57P01' });
  });
});
