// The proxy in front of real SQL pods (real kvpod, real TLS) with node-postgres.
import { createSecureContext } from 'node:tls';
import pg from 'pg';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCerts, startTestKvpod, type TestCerts, type TestKvpod } from '../kvpod/testing/fixtures.js';
import { issueCert } from '../shared/certs/index.js';
import { createLogger } from '../shared/log/index.js';
import type { SqlPod } from '../sqlpod/pod.js';
import { ADMIN, connect, createTenant, startStampedPod } from '../sqlpod/testing/fixtures.js';
import { isPostgresInstalled, startPostgres } from '../shared/testing/postgres.js';
import { parseAclFile } from './acl/index.js';
import { MemoryDirectory, parseStaticRouting, staticDirectory, type PodView } from './directory/index.js';
import { startProxy, type Proxy } from './server.js';

let certs: TestCerts;
let kv: TestKvpod;
let proxy: Proxy;
const pods: SqlPod[] = [];
const directory = new MemoryDirectory();

const view = (pod: SqlPod, name: string, tenant: string, state: PodView['state'] = 'running'): PodView => ({
  name,
  tenant,
  state,
  address: `127.0.0.1:${pod.addresses.sql?.port ?? 0}`,
});

const logLines: Record<string, unknown>[] = [];
const logSink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logLines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
});

beforeAll(async () => {
  certs = await createTestCerts();
  kv = await startTestKvpod(certs);
  const acme = await createTenant(certs, kv.address, 'acme');
  const globex = await createTenant(certs, kv.address, 'globex');
  const [a1, a2, g1] = [await startStampedPod(certs, acme, kv.address), await startStampedPod(certs, acme, kv.address), await startStampedPod(certs, globex, kv.address)];
  pods.push(a1, a2, g1);
  directory.setTenant('acme', [view(a1, 'acme-1', 'acme'), view(a2, 'acme-2', 'acme')]);
  directory.setTenant('globex', [view(g1, 'globex-1', 'globex')]);
  proxy = await startProxy({ host: '127.0.0.1', port: 0, directory, podCa: certs.ca.certPem, log: createLogger('proxy', 'debug', logSink) });
});

afterAll(async () => {
  await proxy?.close(0);
  await Promise.all(pods.map((p) => p.shutdown()));
  await kv?.stop();
});

function client(extra: pg.ClientConfig): pg.Client {
  const c = new pg.Client({ host: '127.0.0.1', port: proxy.address.port, user: ADMIN.username, password: ADMIN.password, ...extra });
  c.on('error', () => undefined);
  return c;
}

async function failure(c: pg.Client): Promise<pg.DatabaseError> {
  const err = await c.connect().then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(pg.DatabaseError);
  return err as pg.DatabaseError;
}

describe('routing', () => {
  it('routes by --cluster in options and by <tenant>.<database>, each tenant to its own data', async () => {
    const a = client({ database: 'defaultdb', options: '--cluster=acme' });
    await a.connect();
    await a.query('CREATE TABLE whoami (name text PRIMARY KEY)');
    await a.query("INSERT INTO whoami VALUES ('acme')");
    const g = client({ database: 'globex.defaultdb' });
    await g.connect();
    expect((await g.query('SELECT current_database()')).rows).toEqual([{ current_database: 'defaultdb' }]);
    const err = await g.query('SELECT * FROM whoami').catch((e: unknown) => e);
    expect((err as pg.DatabaseError).code).toBe('42P01');
    expect((await a.query('SELECT name FROM whoami')).rows).toEqual([{ name: 'acme' }]);
    await Promise.all([a.end(), g.end()]);
  });

  it('refuses no identifier, an unknown tenant and conflicting identifiers without contacting a pod', async () => {
    const none = await failure(client({ database: 'defaultdb' }));
    expect(none.code).toBe('08004');
    expect(none.message).toMatch(/cluster/);
    const unknown = await failure(client({ database: 'defaultdb', options: '--cluster=initech' }));
    expect(unknown.code).toBe('08004');
    expect(unknown.message).toBe('cluster "initech" does not exist');
    const conflict = await failure(client({ database: 'globex.defaultdb', options: '--cluster=acme' }));
    expect(conflict.code).toBe('08004');
  });
});

describe('logs', () => {
  it('names the tenant in every line about a connection', async () => {
    const from = logLines.length;
    const ok = client({ database: 'defaultdb', options: '--cluster=globex' });
    await ok.connect();
    await ok.end();
    await failure(client({ database: 'defaultdb', options: '--cluster=acme', password: 'wrong-password' }));
    // A success clears the failure from the throttle, which another test counts on.
    const again = client({ database: 'defaultdb', options: '--cluster=acme' });
    await again.connect();
    await again.end();
    await failure(client({ database: 'defaultdb', options: '--cluster=initech' }));
    await new Promise((r) => setTimeout(r, 50));
    const lines = logLines.slice(from).map((l) => [l.tenant, l.msg]);
    expect(lines).toEqual(
      expect.arrayContaining([
        ['globex', 'session started'],
        ['globex', 'session ended'],
        ['acme', 'login refused by the SQL pod'],
        ['initech', 'refused: cluster "initech" does not exist'],
      ]),
    );
    expect(logLines.slice(from).every((l) => typeof l.tenant === 'string' && typeof l.client === 'string')).toBe(true);
  });
});

describe('balancing and draining', () => {
  it('spreads sessions over running pods and sends none to a draining pod', async () => {
    const sessions = [client({ database: 'acme.defaultdb' }), client({ database: 'acme.defaultdb' })];
    await Promise.all(sessions.map((s) => s.connect()));
    expect(proxy.balancer.connections('acme-1')).toBe(1);
    expect(proxy.balancer.connections('acme-2')).toBe(1);
    const [a1, a2] = pods;
    if (!a1 || !a2) throw new Error('pods missing');
    directory.setTenant('acme', [view(a1, 'acme-1', 'acme', 'draining'), view(a2, 'acme-2', 'acme')]);
    const more = [client({ database: 'acme.defaultdb' }), client({ database: 'acme.defaultdb' })];
    await Promise.all(more.map((s) => s.connect()));
    expect(proxy.balancer.connections('acme-1')).toBe(1);
    expect(proxy.balancer.connections('acme-2')).toBe(3);
    // The draining pod's session keeps working.
    expect((await sessions[0]?.query('SELECT 1 AS ok'))?.rows).toEqual([{ ok: 1 }]);
    await Promise.all([...sessions, ...more].map((s) => s.end()));
    directory.setTenant('acme', [view(a1, 'acme-1', 'acme'), view(a2, 'acme-2', 'acme')]);
  });
});

describe('a pod that turns clients away', () => {
  it('is skipped for another running pod when it drains before the directory says so; with no other pod its refusal reaches the client', async () => {
    const [a1, , g1] = pods;
    if (!a1 || !g1) throw new Error('pods missing');
    // A session held directly on each pod keeps it alive while it drains.
    const holders = [await connect(certs, a1), await connect(certs, g1)];
    for (const h of holders) h.on('error', () => undefined);
    a1.drain(60_000);
    g1.drain(60_000);
    try {
      const sessions = [];
      for (let i = 0; i < 4; i++) {
        const c = client({ database: 'acme.defaultdb' });
        await c.connect();
        sessions.push(c);
      }
      expect(proxy.balancer.connections('acme-2')).toBe(4);
      expect(proxy.balancer.connections('acme-1')).toBe(0);
      await Promise.all(sessions.map((c) => c.end()));

      const refused = await failure(client({ database: 'globex.defaultdb' }));
      expect(refused.code).toBe('57P03');
    } finally {
      a1.undrain();
      g1.undrain();
      await Promise.all(holders.map((h) => h.end()));
    }
  });
});

describe('cancel and authentication', () => {
  it('routes a CancelRequest with the proxy-issued key to the right pod', async () => {
    const c = client({ database: 'acme.defaultdb' });
    await c.connect();
    await c.query('CREATE TABLE spin (i integer PRIMARY KEY)');
    await c.query(`INSERT INTO spin VALUES ${Array.from({ length: 300 }, (_, i) => `(${i})`).join(',')}`);
    // Nested correlated subqueries: seconds of work, checked for cancellation per outer row.
    const slow = c.query('SELECT count(*) FROM spin AS a WHERE EXISTS (SELECT 1 FROM spin AS b WHERE b.i < a.i AND NOT EXISTS (SELECT 1 FROM spin AS d WHERE d.i = b.i + 1000))');
    await new Promise((r) => setTimeout(r, 300));
    // node-postgres cancels with the BackendKeyData it got, which the proxy issued.
    // node-postgres's cancel needs the running query object, which its promise API does not return.
    const canceller = client({ database: 'acme.defaultdb' }) as pg.Client & { cancel(target: pg.Client, query: unknown): void };
    canceller.cancel(c, (c as pg.Client & { activeQuery: unknown }).activeQuery);
    const err = await slow.then(() => undefined, (e: unknown) => e);
    expect((err as pg.DatabaseError | undefined)?.code).toBe('57014');
    expect((await c.query('SELECT 1 AS alive')).rows).toEqual([{ alive: 1 }]);
    await c.end();
  });

  it('passes a wrong password through as 28P01 and then throttles the address', async () => {
    // The first failure is forgiven (a typo); the second starts the back-off.
    for (let i = 0; i < 2; i++) {
      const wrong = await failure(client({ database: 'globex.defaultdb', password: 'nope' }));
      expect(wrong.code).toBe('28P01');
    }
    const throttled = await failure(client({ database: 'globex.defaultdb', password: 'nope' }));
    expect(throttled.code).toBe('08004');
    expect(throttled.message).toMatch(/too many failed login attempts/);
  });
});

describe('access lists', () => {
  it('refuses a client address a tenant denies, and lets other tenants through', async () => {
    const acl = parseAclFile(JSON.stringify({ tenants: { globex: { deny: ['127.0.0.0/8'] } } }));
    const front = await startProxy({ host: '127.0.0.1', port: 0, directory, podCa: certs.ca.certPem, acl: () => acl, log: createLogger('proxy', 'silent') });
    try {
      const base = { host: '127.0.0.1', port: front.address.port, user: ADMIN.username, password: ADMIN.password };
      const refused = await new pg.Client({ ...base, database: 'globex.defaultdb' }).connect().then(() => undefined, (e: unknown) => e);
      expect(refused).toMatchObject({ code: '28000' });
      const ok = new pg.Client({ ...base, database: 'acme.defaultdb' });
      await ok.connect();
      await ok.end();
    } finally {
      await front.close(0);
    }
  });
});

describe('resume from zero and SNI', () => {
  it('holds the client while a suspended tenant gets a pod, and concurrent clients share one resume', async () => {
    const tenant = await createTenant(certs, kv.address, 'sleepy');
    let resumes = 0;
    const sleepy = new MemoryDirectory({
      tenants: { sleepy: [] },
      resume: async () => {
        resumes++;
        const pod = await startStampedPod(certs, tenant, kv.address);
        pods.push(pod);
        sleepy.upsertPod(view(pod, 'sleepy-1', 'sleepy'));
      },
    });
    const front = await startProxy({ host: '127.0.0.1', port: 0, directory: sleepy, podCa: certs.ca.certPem, log: createLogger('proxy', 'silent') });
    try {
      const connect = async () => {
        const c = new pg.Client({ host: '127.0.0.1', port: front.address.port, user: ADMIN.username, password: ADMIN.password, database: 'sleepy.defaultdb' });
        await c.connect();
        const rows = (await c.query<{ awake: number }>('SELECT 1 AS awake')).rows;
        await c.end();
        return rows;
      };
      expect(await Promise.all([connect(), connect(), connect()])).toEqual([[{ awake: 1 }], [{ awake: 1 }], [{ awake: 1 }]]);
      expect(resumes).toBe(1);
    } finally {
      await front.close(0);
    }
  });

  it('routes by the first label of the TLS SNI host name', async () => {
    const serving = await issueCert(certs.ca, { kind: 'proxy-server', hosts: ['127.0.0.1'] });
    const front = await startProxy({
      host: '127.0.0.1',
      port: 0,
      directory,
      podCa: certs.ca.certPem,
      clientTls: createSecureContext({ cert: serving.certPem, key: serving.keyPem }),
      log: createLogger('proxy', 'silent'),
    });
    try {
      const c = new pg.Client({
        host: '127.0.0.1',
        port: front.address.port,
        user: ADMIN.username,
        password: ADMIN.password,
        database: 'defaultdb',
        // The driver names the host it meant; the proxy's certificate is for the address.
        ssl: { ca: certs.ca.certPem, servername: 'globex.shoal.test', checkServerIdentity: () => undefined },
      });
      await c.connect();
      const err = await c.query('SELECT * FROM whoami').catch((e: unknown) => e);
      expect((err as pg.DatabaseError).code).toBe('42P01'); // globex's keyspace, not acme's
      expect((await c.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
      await c.end();
    } finally {
      await front.close(0);
    }
  });
});

describe.skipIf(!isPostgresInstalled())('static mode in front of a real PostgreSQL', () => {
  it('forwards sessions and cancels to a fixed address', async () => {
    const server = await startPostgres();
    const url = new URL(server.url());
    const directory = staticDirectory(parseStaticRouting(JSON.stringify({ tenants: { pg: { addresses: [`127.0.0.1:${url.port}`] } } })));
    const front = await startProxy({ host: '127.0.0.1', port: 0, directory, podCa: undefined, log: createLogger('proxy', 'silent') });
    try {
      const c = new pg.Client({ host: '127.0.0.1', port: front.address.port, user: decodeURIComponent(url.username), password: decodeURIComponent(url.password), database: 'postgres', options: '--cluster=pg' });
      await c.connect();
      expect((await c.query('SELECT 6 * 7 AS answer')).rows).toEqual([{ answer: 42 }]);
      const slow = c.query('SELECT pg_sleep(10)');
      await new Promise((r) => setTimeout(r, 200));
      const canceller = new pg.Client({ host: '127.0.0.1', port: front.address.port }) as pg.Client & { cancel(target: pg.Client, query: unknown): void };
      canceller.cancel(c, (c as pg.Client & { activeQuery: unknown }).activeQuery);
      expect(((await slow.catch((e: unknown) => e)) as pg.DatabaseError).code).toBe('57014');
      await c.end();
    } finally {
      await front.close(0);
      await server.stop();
    }
  });
});
