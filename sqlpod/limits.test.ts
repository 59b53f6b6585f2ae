// Runaway statements are bounded: statement_timeout ends one with 57014 and
// the session goes on, as in PostgreSQL; so does a CancelRequest.
import type pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCerts, startTestKvpod, type TestCerts, type TestKvpod } from '../kvpod/testing/fixtures.js';
import type { SqlPod } from './pod.js';
import { RawClient } from './server/testing/raw-client.js';
import { connect, createTenant, startStampedPod } from './testing/fixtures.js';

let certs: TestCerts;
let kv: TestKvpod;
let pod: SqlPod;
let db: pg.Client;

beforeAll(async () => {
  certs = await createTestCerts();
  kv = await startTestKvpod(certs);
  pod = await startStampedPod(certs, await createTenant(certs, kv.address, 'limits'), kv.address);
  db = await connect(certs, pod);
  await db.query('CREATE TABLE big (id integer PRIMARY KEY)');
  await db.query(`INSERT INTO big VALUES ${Array.from({ length: 400 }, (_, i) => `(${i})`).join(', ')}`);
});

afterAll(async () => {
  await db?.end();
  await pod?.shutdown();
  await kv?.stop();
});

describe('statement_timeout', () => {
  it('cancels a statement that runs longer, with 57014, and the session goes on', async () => {
    await db.query("SET statement_timeout = '300ms'");
    expect((await db.query('SHOW statement_timeout')).rows).toEqual([{ statement_timeout: '300ms' }]);
    // 400³ = 64 million joined rows: far longer than the timeout.
    const err = await db.query('SELECT count(*) FROM big a, big b, big c').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: '57014', message: 'canceling statement due to statement timeout' });
    expect((await db.query('SELECT count(*)::int AS n FROM big')).rows).toEqual([{ n: 400 }]);
  });

  it('applies to each statement of a transaction, which is then aborted until ROLLBACK', async () => {
    await db.query("SET statement_timeout = '300ms'");
    await db.query('BEGIN');
    await db.query('SELECT count(*) FROM big');
    await expect(db.query('SELECT count(*) FROM big a, big b, big c')).rejects.toMatchObject({ code: '57014' });
    await expect(db.query('SELECT 1')).rejects.toMatchObject({ code: '25P02' });
    await db.query('ROLLBACK');
  });

  it('is off at 0 and refuses values that are not times', async () => {
    await db.query('SET statement_timeout = 0');
    expect((await db.query('SHOW statement_timeout')).rows).toEqual([{ statement_timeout: '0' }]);
    const refused = (await db.query("SET statement_timeout = 'soon'").then(
      () => undefined,
      (e: unknown) => e,
    )) as pg.DatabaseError;
    expect([refused.code, refused.hint]).toEqual(['22023', 'Valid units for this parameter are "us", "ms", "s", "min", "h", and "d".']);
    expect((await db.query('SELECT count(*)::int AS n FROM big a, big b')).rows).toEqual([{ n: 160_000 }]);
  });
});

describe('cancel', () => {
  it('ends a running statement with 57014 on a CancelRequest, and the session goes on', async () => {
    await db.query('SET statement_timeout = 0');
    const started = Date.now();
    const running = db.query('SELECT count(*) FROM big a, big b, big c').then(
      () => undefined,
      (err: unknown) => err,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const cancel = await RawClient.connect(pod.addresses.sql?.port ?? 0);
    cancel.send(serialize.cancel(Reflect.get(db, 'processID') as number, Reflect.get(db, 'secretKey') as number));
    await cancel.closed;
    expect(await running).toMatchObject({ code: '57014', message: 'canceling statement due to user request' });
    // Far sooner than the 64 million joined rows would take.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await db.query('SELECT count(*)::int AS n FROM big')).rows).toEqual([{ n: 400 }]);
  });
});
