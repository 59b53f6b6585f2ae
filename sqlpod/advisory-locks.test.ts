// Advisory locks across the pods of one tenant (sql/locks): two real pods of
// one tenant over one real kvpod, node-postgres clients; single-session
// behaviour compared with PostgreSQL's. Also LISTEN/NOTIFY and the other
// statements Shoal refuses with 0A000 (sql/unsupported.ts).
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientWith, createTestCerts, startTestKvpod, type TestCerts, type TestKvpod } from '../kvpod/testing/fixtures.js';
import { startPostgres, type LocalPostgres } from '../shared/testing/postgres.js';
import { until } from '../shared/testing/until.js';
import type { SqlPod } from './pod.js';
import { Keyspace } from './sql/catalog/keyspace.js';
import { AdvisoryLocks, lockTag } from './sql/locks/index.js';
import { connect, createTenant, sqlError, startStampedPod, type TestTenant } from './testing/fixtures.js';

let certs: TestCerts;
let kv: TestKvpod;
let postgres: LocalPostgres;
let tenant: TestTenant;
let pod1: SqlPod;
let pod2: SqlPod;
let otherPod: SqlPod;
const clients: pg.Client[] = [];

beforeAll(async () => {
  certs = await createTestCerts();
  [kv, postgres] = await Promise.all([startTestKvpod(certs), startPostgres({ settings: { fsync: 'off' } })]);
  tenant = await createTenant(certs, kv.address, 'locks');
  const other = await createTenant(certs, kv.address, 'other');
  [pod1, pod2, otherPod] = await Promise.all([startStampedPod(certs, tenant, kv.address), startStampedPod(certs, tenant, kv.address), startStampedPod(certs, other, kv.address)]);
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.end()));
  await Promise.allSettled([pod1?.shutdown(), pod2?.shutdown(), otherPod?.shutdown()]);
  await kv?.stop();
  await postgres?.stop();
});

async function session(pod: SqlPod, database?: string): Promise<pg.Client> {
  const c = await connect(certs, pod, database);
  clients.push(c);
  return c;
}

async function value(c: pg.Client, sql: string, params: unknown[] = []): Promise<unknown> {
  const r = await c.query({ text: sql, values: params, rowMode: 'array' });
  return (r.rows[0] as unknown[] | undefined)?.[0];
}

/** Whether another session could take the lock right now (and gives it back at once). */
async function free(probe: pg.Client, key: number): Promise<boolean> {
  const got = await value(probe, 'SELECT pg_try_advisory_lock($1)', [key]);
  if (got === true) await probe.query('SELECT pg_advisory_unlock($1)', [key]);
  return got === true;
}

/** Sends a CancelRequest for `c`'s running statement, over TLS as the pod wants it. */
async function cancel(c: pg.Client, pod: SqlPod): Promise<void> {
  const port = pod.addresses.sql?.port ?? 0;
  const raw = netConnect(port, '127.0.0.1');
  await new Promise((resolve) => raw.once('connect', resolve));
  const sslRequest = Buffer.alloc(8);
  sslRequest.writeInt32BE(8, 0);
  sslRequest.writeInt32BE(80877103, 4);
  raw.write(sslRequest);
  await new Promise((resolve) => raw.once('data', resolve));
  const tls = tlsConnect({ socket: raw, ca: certs.ca.certPem, host: '127.0.0.1' });
  await new Promise((resolve) => tls.once('secureConnect', resolve));
  const packet = Buffer.alloc(16);
  packet.writeInt32BE(16, 0);
  packet.writeInt32BE(80877102, 4);
  packet.writeInt32BE(Reflect.get(c, 'processID') as number, 8);
  packet.writeInt32BE(Reflect.get(c, 'secretKey') as number, 12);
  tls.end(packet);
  await new Promise((resolve) => tls.once('close', resolve));
}

describe('one session, compared with PostgreSQL', () => {
  // [session, statement, parameters]: b probes what a holds.
  const script: [who: 'a' | 'b', sql: string, params?: unknown[]][] = [
    ['a', 'SELECT pg_advisory_lock(42)'],
    ['a', 'SELECT pg_advisory_lock(42)'],
    ['b', 'SELECT pg_try_advisory_lock(42)'],
    ['a', 'SELECT pg_advisory_unlock(42)'],
    ['b', 'SELECT pg_try_advisory_lock(42)'],
    ['a', 'SELECT pg_advisory_unlock(42)'],
    ['a', 'SELECT pg_advisory_unlock(42)'],
    ['b', 'SELECT pg_try_advisory_lock(42), pg_advisory_unlock(42)'],
    ['a', 'SELECT pg_try_advisory_lock(1, 2) AS got, pg_try_advisory_lock(0, 1)'],
    ['b', 'SELECT pg_try_advisory_lock(1, 2), pg_try_advisory_lock(1)'],
    ['a', 'SELECT pg_advisory_unlock(1, 2), pg_advisory_unlock(2, 1)'],
    ['a', 'SELECT pg_advisory_lock_shared(7), pg_try_advisory_lock_shared(7)'],
    ['b', 'SELECT pg_try_advisory_lock_shared(7), pg_try_advisory_lock(7)'],
    ['b', 'SELECT pg_advisory_unlock_shared(7), pg_advisory_unlock(7)'],
    ['a', 'SELECT pg_advisory_unlock_shared(7), pg_advisory_unlock(7)'],
    ['a', 'SELECT pg_advisory_unlock_shared(8)'],
    ['a', 'SELECT pg_advisory_lock($1)', [99]],
    ['b', 'SELECT pg_try_advisory_lock($1::bigint)', ['99']],
    ['a', 'SELECT pg_advisory_lock(NULL::bigint), pg_try_advisory_lock(NULL, 1)'],
    ['a', 'SELECT pg_advisory_xact_lock(5)'],
    ['b', 'SELECT pg_try_advisory_lock(5), pg_advisory_unlock(5)'],
    ['a', 'BEGIN'],
    ['a', 'SELECT pg_advisory_xact_lock(6), pg_try_advisory_xact_lock(6), pg_advisory_lock(6)'],
    ['b', 'SELECT pg_try_advisory_lock(6)'],
    ['a', 'SELECT pg_advisory_unlock(6), pg_advisory_unlock(6)'],
    ['a', 'ROLLBACK'],
    ['b', 'SELECT pg_try_advisory_lock(6), pg_advisory_unlock(6)'],
    ['a', 'SELECT pg_advisory_unlock_all()'],
    ['b', 'SELECT pg_try_advisory_lock(0, 1), pg_try_advisory_lock(99)'],
  ];

  interface Step {
    readonly rows: unknown[];
    readonly types: number[];
    readonly notices: string[];
  }

  async function transcript(a: pg.Client, b: pg.Client): Promise<Step[]> {
    const notices: string[] = [];
    for (const c of [a, b]) c.on('notice', (n) => notices.push(`${n.severity ?? ''} ${n.code ?? ''} ${n.message}`));
    const steps: Step[] = [];
    for (const [who, sql, params] of script) {
      const r = await (who === 'a' ? a : b).query({ text: sql, values: params ?? [], rowMode: 'array' });
      await new Promise((resolve) => setImmediate(resolve));
      steps.push({ rows: r.rows, types: r.fields.map((f) => f.dataTypeID), notices: notices.splice(0) });
    }
    return steps;
  }

  it('returns what PostgreSQL returns and warns where it warns, statement by statement', async () => {
    const expected = await (async () => {
      const [a, b] = [new pg.Client(postgres.url()), new pg.Client(postgres.url())];
      await Promise.all([a.connect(), b.connect()]);
      try {
        return await transcript(a, b);
      } finally {
        await Promise.all([a.end(), b.end()]);
      }
    })();
    const actual = await transcript(await session(pod1), await session(pod1));
    for (const [i, step] of actual.entries()) expect({ step: script[i], ...step }).toEqual({ step: script[i], ...expected[i] });
    // The transcript is not trivially empty: it has both outcomes and the warning.
    expect(expected.flatMap((s) => s.notices)).toContain("WARNING 01000 you don't own a lock of type ExclusiveLock");
    expect(expected.flatMap((s) => s.notices)).toContain("WARNING 01000 you don't own a lock of type ShareLock");
  });
});

describe('two pods of one tenant', () => {
  it('a lock held through pod 1 keeps pod 2 out until it is released; the waiter proceeds only after that', async () => {
    const [a, b] = [await session(pod1), await session(pod2)];
    await a.query('SELECT pg_advisory_lock(42)');
    expect(await value(b, 'SELECT pg_try_advisory_lock(42)')).toBe(false);
    let lockedAt = 0;
    const waiting = b.query('SELECT pg_advisory_lock(42)').then(() => (lockedAt = Date.now()));
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(lockedAt).toBe(0);
    const unlockSent = Date.now();
    expect(await value(a, 'SELECT pg_advisory_unlock(42)')).toBe(true);
    await waiting;
    expect(lockedAt).toBeGreaterThanOrEqual(unlockSent);
    // Now b holds it: a is kept out in turn.
    expect(await value(a, 'SELECT pg_try_advisory_lock(42)')).toBe(false);
    expect(await value(b, 'SELECT pg_advisory_unlock(42)')).toBe(true);
    expect(await free(a, 42)).toBe(true);
  });

  it('statement_timeout bounds the wait (57014) and the session goes on', async () => {
    const [a, b] = [await session(pod1), await session(pod2)];
    await a.query('SELECT pg_advisory_lock(50)');
    await b.query('SET statement_timeout = 300');
    const started = Date.now();
    const err = await sqlError(b.query('SELECT pg_advisory_lock(50)'));
    const waited = Date.now() - started;
    expect(err).toMatchObject({ code: '57014', message: 'canceling statement due to statement timeout' });
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(waited).toBeLessThan(2_000);
    await b.query('RESET statement_timeout');
    expect(await value(b, 'SELECT 1')).toBe(1);
    // The timed-out wait left nothing behind: once a lets go, b takes it at once.
    await a.query('SELECT pg_advisory_unlock(50)');
    expect(await value(b, 'SELECT pg_try_advisory_lock(50)')).toBe(true);
    await b.query('SELECT pg_advisory_unlock(50)');
  });

  it('a CancelRequest ends the wait with 57014', async () => {
    const [a, b] = [await session(pod1), await session(pod2)];
    await a.query('SELECT pg_advisory_lock(51)');
    const waiting = sqlError(b.query('SELECT pg_advisory_lock(51)'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await cancel(b, pod2);
    expect(await waiting).toMatchObject({ code: '57014', message: 'canceling statement due to user request' });
    expect(await value(b, 'SELECT pg_try_advisory_lock(51)')).toBe(false);
    await a.query('SELECT pg_advisory_unlock(51)');
  });

  it('a session that disconnects releases its session and transaction locks', async () => {
    const [a, b] = [await session(pod1), await session(pod2)];
    await a.query('SELECT pg_advisory_lock(52), pg_advisory_lock(52), pg_advisory_lock_shared(53)');
    await a.query('BEGIN');
    await a.query('SELECT pg_advisory_xact_lock(54)');
    expect(await value(b, 'SELECT pg_try_advisory_lock(52)')).toBe(false);
    expect(await value(b, 'SELECT pg_try_advisory_lock(53)')).toBe(false);
    expect(await value(b, 'SELECT pg_try_advisory_lock(54)')).toBe(false);
    await a.end();
    for (const key of [52, 53, 54]) await until(`lock ${key} released`, () => free(b, key), 5_000);
  });

  it('counts reentrant holds: the lock is free only after as many unlocks', async () => {
    const [a, b] = [await session(pod1), await session(pod2)];
    await a.query('SELECT pg_advisory_lock(55)');
    expect(await value(a, 'SELECT pg_try_advisory_lock(55)')).toBe(true);
    await a.query('SELECT pg_advisory_lock(55)');
    for (let i = 0; i < 3; i++) {
      expect(await free(b, 55)).toBe(false);
      expect(await value(a, 'SELECT pg_advisory_unlock(55)')).toBe(true);
    }
    expect(await free(b, 55)).toBe(true);
  });

  it('transaction locks end at COMMIT, at ROLLBACK and with an implicit transaction; session locks survive ROLLBACK', async () => {
    const [a, b] = [await session(pod1), await session(pod2)];
    for (const end of ['COMMIT', 'ROLLBACK']) {
      await a.query('BEGIN');
      await a.query('SELECT pg_advisory_xact_lock(56)');
      expect(await value(a, 'SELECT pg_try_advisory_xact_lock_shared(57)')).toBe(true);
      expect(await free(b, 56)).toBe(false);
      expect(await value(b, 'SELECT pg_try_advisory_lock_shared(57)')).toBe(true);
      expect(await value(b, 'SELECT pg_try_advisory_lock(57)')).toBe(false);
      await b.query('SELECT pg_advisory_unlock_shared(57)');
      await a.query(end);
      expect(await free(b, 56)).toBe(true);
      expect(await free(b, 57)).toBe(true);
    }
    // A failed block still ends its transaction locks at ROLLBACK.
    await a.query('BEGIN');
    await a.query('SELECT pg_advisory_xact_lock(58)');
    await sqlError(a.query('SELECT 1/0'));
    expect(await free(b, 58)).toBe(false);
    await a.query('ROLLBACK');
    expect(await free(b, 58)).toBe(true);
    // Outside a block the statement is its own transaction.
    await a.query('SELECT pg_advisory_xact_lock(59)');
    expect(await free(b, 59)).toBe(true);
    // A session lock taken in a block that rolls back is kept, as in PostgreSQL.
    await a.query('BEGIN');
    await a.query('SELECT pg_advisory_lock(60)');
    await a.query('ROLLBACK');
    expect(await free(b, 60)).toBe(false);
    await a.query('SELECT pg_advisory_unlock_all()');
    expect(await free(b, 60)).toBe(true);
  });

  it("a pod that stops renewing (crashed) loses its locks when their lease ends, and not before", async () => {
    const b = await session(pod2);
    const databaseId = Number(await value(b, 'SELECT oid FROM pg_database WHERE datname = current_database()'));
    // A third "pod" of the tenant: the lock manager over its own KV connection, with a short lease.
    const kvClient = clientWith(certs, await certs.tenant(tenant.tenantId), [kv.address]);
    const crashing = new AdvisoryLocks(kvClient, new Keyspace(tenant.tenantId), { leaseMs: 1_000, renewMs: 200 });
    try {
      const held = crashing.session(databaseId);
      expect(await held.tryLock(lockTag([61n]), 'exclusive', 'session')).toBe(true);
      // Renewals keep it held past several leases.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(await free(b, 61)).toBe(false);
      crashing.stop();
      const crashedAt = Date.now();
      await b.query('SELECT pg_advisory_lock(61)');
      const after = Date.now() - crashedAt;
      expect(after).toBeGreaterThan(200);
      expect(after).toBeLessThan(1_000 + 1_000);
      // The crashed pod's late clean-up does not take the lock away from its new holder.
      await held.close();
      const c = await session(pod1);
      expect(await free(c, 61)).toBe(false);
      await b.query('SELECT pg_advisory_unlock(61)');
      expect(await free(c, 61)).toBe(true);
    } finally {
      crashing.stop();
      kvClient.close();
    }
  });

  it('locks are per tenant and per database, and a bigint key is not an integer pair', async () => {
    const a = await session(pod1);
    await a.query('SELECT pg_advisory_lock(70)');
    expect(await value(await session(otherPod), 'SELECT pg_try_advisory_lock(70)')).toBe(true);
    expect(await value(await session(pod2, 'postgres'), 'SELECT pg_try_advisory_lock(70)')).toBe(true);
    expect(await value(await session(pod2), 'SELECT pg_try_advisory_lock(0, 70)')).toBe(true);
    expect(await value(await session(pod2), 'SELECT pg_try_advisory_lock(70)')).toBe(false);
  });

  it('refuses lock calls where they would run per row, with 0A000', async () => {
    const a = await session(pod1);
    await a.query('CREATE TABLE jobs (id int PRIMARY KEY)');
    await a.query('INSERT INTO jobs VALUES (1), (2)');
    for (const sql of ['SELECT pg_advisory_lock(id) FROM jobs', 'SELECT 1 WHERE pg_try_advisory_lock(80)', 'INSERT INTO jobs SELECT 3 WHERE pg_try_advisory_lock(81)']) {
      expect(await sqlError(a.query(sql))).toMatchObject({ code: '0A000', message: expect.stringMatching(/^pg_(try_)?advisory_lock\(\) is only supported in the select list of a SELECT without FROM or WHERE/) as unknown });
    }
    expect(await free(await session(pod2), 80)).toBe(true);
    expect(await free(await session(pod2), 81)).toBe(true);
  });
});

describe('statements Shoal refuses', () => {
  it('LISTEN, NOTIFY, UNLISTEN and pg_notify() fail with 0A000 naming them, and the session goes on', async () => {
    const c = await session(pod1);
    const reason = 'is not supported: Shoal SQL pods are stateless and do not deliver notifications';
    for (const [sql, name] of [
      ['LISTEN jobs', 'LISTEN'],
      ['NOTIFY jobs', 'NOTIFY'],
      ["NOTIFY jobs, 'payload'", 'NOTIFY'],
      ['UNLISTEN *', 'UNLISTEN'],
      ["SELECT pg_notify('jobs', 'payload')", 'pg_notify()'],
    ]) {
      expect(await sqlError(c.query(sql ?? ''))).toMatchObject({ code: '0A000', message: `${name} ${reason}` });
      expect(await value(c, 'SELECT 1')).toBe(1);
    }
    // In a block, the refusal fails the block like any error.
    await c.query('BEGIN');
    await sqlError(c.query('LISTEN jobs'));
    expect(await sqlError(c.query('SELECT 1'))).toMatchObject({ code: '25P02' });
    await c.query('ROLLBACK');
    expect(await value(c, 'SELECT 2')).toBe(2);
  });

  it('names each of the common statements it does not have', async () => {
    const c = await session(pod1);
    await c.query('CREATE TABLE IF NOT EXISTS refusals (id int PRIMARY KEY)');
    const cases: [string, RegExp][] = [
      ["CREATE ROLE app LOGIN PASSWORD 'x'", /^CREATE ROLE is not supported: /],
      ['CREATE USER app', /^CREATE ROLE is not supported: /],
      ['DROP ROLE app', /^DROP ROLE is not supported: /],
      ['GRANT SELECT ON refusals TO admin', /^GRANT is not supported: Shoal has no privileges/],
      ['REVOKE SELECT ON refusals FROM admin', /^REVOKE is not supported: /],
      ['CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$', /^CREATE FUNCTION is not supported: /],
      ['CREATE PROCEDURE p() LANGUAGE sql AS $$ SELECT 1 $$', /^CREATE PROCEDURE is not supported: /],
      ['CREATE TRIGGER t BEFORE INSERT ON refusals FOR EACH ROW EXECUTE FUNCTION f()', /^CREATE TRIGGER is not supported: /],
      ['CREATE EXTENSION pgcrypto', /^CREATE EXTENSION is not supported: /],
      ["DO $$ BEGIN PERFORM 1; END $$", /^DO is not supported: /],
      ['LOCK TABLE refusals IN ACCESS EXCLUSIVE MODE', /^LOCK TABLE is not supported: .*pg_advisory_lock/],
      ['CREATE DOMAIN positive AS int CHECK (VALUE > 0)', /^CREATE DOMAIN is not supported: /],
      ['CREATE MATERIALIZED VIEW copy AS SELECT * FROM refusals', /^CREATE MATERIALIZED VIEW is not supported: /],
      ["PREPARE TRANSACTION 'x'", /^PREPARE TRANSACTION is not supported: two-phase commit/],
      ["COMMIT PREPARED 'x'", /^COMMIT PREPARED is not supported: /],
    ];
    for (const [sql, message] of cases) {
      const err = await sqlError(c.query(sql));
      expect({ sql, code: err.code, message: err.message }).toEqual({ sql, code: '0A000', message: expect.stringMatching(message) as unknown });
    }
    expect(await value(c, 'SELECT count(*) FROM refusals')).toBe('0');
  });
});
