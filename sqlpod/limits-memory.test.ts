// Memory per query is bounded: what sorts, hash joins, groups and the like
// hold is charged to the statement (--max-query-memory) and to the pod
// (--max-sql-memory); beyond either the statement fails with 53200 and
// everything else goes on. Results that need no holding stream: a portal
// with a row limit reads a page, a simple query writes rows as they come.
import type { Socket } from 'node:net';
import pg from 'pg';
import Cursor from 'pg-cursor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCerts, startTestKvpod, type TestCerts, type TestKvpod } from '../kvpod/testing/fixtures.js';
import type { SqlPod } from './pod.js';
import { clientConfig, connect, createTenant, sqlError, startStampedPod } from './testing/fixtures.js';

const MiB = 1024 * 1024;
const QUERY_LIMIT = 4 * MiB;
const POD_LIMIT = 5 * MiB;
const ROWS = 50_000;

let certs: TestCerts;
let kv: TestKvpod;
let pod: SqlPod;
let db: pg.Client;
let other: pg.Client;

async function metric(name: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${pod.addresses.ops?.port ?? 0}/metrics`);
  const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`no metric ${name}`);
  return Number(line.split(' ')[1]);
}

const kvRowsRead = (): Promise<number> => metric('shoal_sqlpod_kv_rows_read_total');
const reserved = (): Promise<number> => metric('shoal_sqlpod_sql_memory_reserved_bytes');

beforeAll(async () => {
  certs = await createTestCerts();
  kv = await startTestKvpod(certs);
  const tenant = await createTenant(certs, kv.address, 'memory');
  pod = await startStampedPod(certs, tenant, kv.address, { maxQueryMemory: '4MiB', maxSqlMemory: '5MiB' });
  db = await connect(certs, pod);
  other = await connect(certs, pod);
  // ~100 bytes of text per row, in an order unrelated to the key; no index on it.
  await db.query('CREATE TABLE t (id integer PRIMARY KEY, pad text NOT NULL)');
  // kvpod takes at most 10,000 mutations and read spans per commit.
  for (let from = 1; from <= ROWS; from += 5_000) {
    await db.query(`INSERT INTO t SELECT g, repeat(md5(g::text), 3) FROM generate_series(${from}, ${from + 4_999}) g`);
  }
}, 120_000);

afterAll(async () => {
  await db?.end();
  await other?.end();
  await pod?.shutdown();
  await kv?.stop();
});

describe('per-query memory limit', () => {
  it('fails an ORDER BY over more rows than the limit holds with 53200 naming Sort; the session and others go on', async () => {
    const err = await sqlError(db.query('SELECT * FROM t ORDER BY pad'));
    expect([err.code, err.message]).toEqual(['53200', 'query memory limit of 4 MiB exceeded by Sort (set by --max-query-memory)']);
    // Everything the statement held is given back.
    expect(await reserved()).toBe(0);
    expect((await db.query('SELECT count(*)::int AS n FROM t')).rows).toEqual([{ n: ROWS }]);
    expect((await other.query('SELECT id FROM t ORDER BY pad LIMIT 0')).rows).toEqual([]);
    // The same sort over a fifth of the rows fits, and agrees with the key order it sorts by.
    const few = await other.query<{ id: number; pad: string }>('SELECT id, pad FROM t WHERE id <= 10000 ORDER BY pad');
    expect(few.rows).toHaveLength(10_000);
    expect(few.rows.every((r, i) => i === 0 || (few.rows[i - 1]?.pad ?? '') <= r.pad)).toBe(true);
  });

  it('aborts the transaction block like any error, and ROLLBACK ends it', async () => {
    await db.query('BEGIN');
    await expect(db.query('SELECT * FROM t ORDER BY pad')).rejects.toMatchObject({ code: '53200' });
    await expect(db.query('SELECT 1')).rejects.toMatchObject({ code: '25P02' });
    await db.query('ROLLBACK');
    expect(await reserved()).toBe(0);
  });

  it('fails a hash join with a large build side with 53200 naming Hash Join', async () => {
    const err = await sqlError(db.query('SELECT count(*) FROM t a JOIN t b ON a.pad = b.pad'));
    expect([err.code, err.message]).toEqual(['53200', 'query memory limit of 4 MiB exceeded by Hash Join (set by --max-query-memory)']);
    // A small build side is fine.
    expect((await db.query('SELECT count(*)::int AS n FROM t a JOIN t b ON a.pad = b.pad WHERE b.id <= 100')).rows).toEqual([{ n: 100 }]);
  });

  it('fails a GROUP BY with many groups with 53200 naming HashAggregate, and DISTINCT naming Distinct', async () => {
    const grouped = await sqlError(db.query('SELECT pad, count(*) FROM t GROUP BY pad'));
    expect([grouped.code, grouped.message]).toEqual(['53200', 'query memory limit of 4 MiB exceeded by HashAggregate (set by --max-query-memory)']);
    const distinct = await sqlError(db.query('SELECT DISTINCT pad FROM t'));
    expect([distinct.code, distinct.message]).toEqual(['53200', 'query memory limit of 4 MiB exceeded by Distinct (set by --max-query-memory)']);
    // Few groups over the same rows hold little.
    expect((await db.query('SELECT count(*)::int AS n FROM (SELECT id % 10 AS k, count(*) FROM t GROUP BY id % 10) g')).rows).toEqual([{ n: 10 }]);
  });

  it('streams a SELECT without ORDER BY over more than the limit holds', async () => {
    const before = await kvRowsRead();
    const all = await db.query<{ id: number; pad: string }>('SELECT * FROM t');
    expect(all.rows).toHaveLength(ROWS);
    expect(new Set(all.rows.map((r) => r.id)).size).toBe(ROWS);
    // More text than the limit allows a statement to hold.
    expect(all.rows.reduce((n, r) => n + r.pad.length, 0)).toBeGreaterThan(QUERY_LIMIT);
    expect((await kvRowsRead()) - before).toBeGreaterThanOrEqual(ROWS);
    expect(await reserved()).toBe(0);
  });
});

describe('pod-wide memory limit', () => {
  it('refuses a second large query while the first holds its memory, and runs it once the first is gone', async () => {
    const sql = 'SELECT * FROM t WHERE id <= 17000 ORDER BY pad';
    // The first session holds its sorted rows behind an open portal.
    const cursor = db.query(new Cursor<{ id: number; pad: string }>(sql));
    const first = await cursor.read(10);
    expect(first).toHaveLength(10);
    const held = await reserved();
    // Each query fits the per-query limit, two do not fit the pod's.
    expect(held).toBeLessThan(QUERY_LIMIT);
    expect(2 * held).toBeGreaterThan(POD_LIMIT);

    const err = await sqlError(other.query(sql));
    expect(err.code).toBe('53200');
    expect(err.message).toBe('pod memory limit of 5 MiB exceeded by Sort (set by --max-sql-memory)');
    expect(await reserved()).toBe(held);

    await cursor.close();
    await db.query('SELECT 1');
    expect(await reserved()).toBe(0);
    expect((await other.query(sql)).rows).toHaveLength(17_000);
  });

  it('gives back what a suspended portal held when its client disconnects', async () => {
    const client = new pg.Client(clientConfig(certs, pod));
    await client.connect();
    const cursor = client.query(new Cursor('SELECT * FROM t WHERE id <= 5000 ORDER BY pad'));
    expect(await cursor.read(1)).toHaveLength(1);
    expect(await reserved()).toBeGreaterThan(0);
    await client.end();
    await expect.poll(reserved, { timeout: 5_000 }).toBe(0);
  });
});

describe('streaming', () => {
  it('reads about a page from KV for the first 100 rows of a portal over 50,000', async () => {
    const before = await kvRowsRead();
    const cursor = db.query(new Cursor<{ id: number }>('SELECT id, pad FROM t'));
    const rows = await cursor.read(100);
    expect(rows).toHaveLength(100);
    const read = (await kvRowsRead()) - before;
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThanOrEqual(2_000);
    // The rest is still there for the next Execute.
    expect(await cursor.read(1000)).toHaveLength(1000);
    await cursor.close();
  });

  it('writes a simple query result as it is produced: a client that stops reading stops the scan', async () => {
    const client = new pg.Client(clientConfig(certs, pod));
    await client.connect();
    try {
      const socket = (client as unknown as { connection: { stream: Socket } }).connection.stream;
      const before = await kvRowsRead();
      // ~1 kB per row on the wire: 50 MB in all, far more than socket buffers hold.
      const query = new pg.Query('SELECT id, repeat(pad, 10) AS wide FROM t');
      let received = 0;
      const firstRow = new Promise<void>((resolve) => {
        query.on('row', () => {
          if (received++ === 0) {
            socket.pause();
            resolve();
          }
        });
      });
      const done = new Promise<void>((resolve, reject) => {
        query.on('end', () => resolve());
        query.on('error', reject);
      });
      void client.query(query);
      await firstRow;
      // Give the pod time to run ahead if it were going to.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const whilePaused = (await kvRowsRead()) - before;
      expect(whilePaused).toBeGreaterThan(0);
      expect(whilePaused).toBeLessThan(ROWS / 2);
      socket.resume();
      await done;
      expect(received).toBe(ROWS);
    } finally {
      await client.end();
    }
  });
});

describe('SQL cursors', () => {
  it('read about a page from KV for FETCH 100 from a cursor over 50,000 rows', async () => {
    await db.query('BEGIN');
    await db.query('DECLARE big CURSOR FOR SELECT id, pad FROM t');
    const before = await kvRowsRead();
    const first = await db.query('FETCH 100 FROM big');
    expect([first.command, first.rowCount]).toEqual(['FETCH', 100]);
    const read = (await kvRowsRead()) - before;
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThanOrEqual(2_000);
    // MOVE reads on without holding rows; FETCH goes on where it left off.
    expect((await db.query('MOVE FORWARD 40000 IN big')).rowCount).toBe(40_000);
    expect((await db.query('FETCH ALL FROM big')).rowCount).toBe(ROWS - 40_100);
    await db.query('COMMIT');
    expect(await reserved()).toBe(0);
  });

  it('fail a SCROLL cursor that would keep more rows than the limit holds with 53200', async () => {
    await db.query('BEGIN');
    await db.query('DECLARE s SCROLL CURSOR FOR SELECT id, pad FROM t');
    expect((await db.query('FETCH 1000 FROM s')).rowCount).toBe(1000);
    expect((await db.query('FETCH ABSOLUTE 1 FROM s')).rows).toEqual([{ id: 1, pad: expect.any(String) as unknown }]);
    const err = await sqlError(db.query('MOVE LAST IN s'));
    expect([err.code, err.message]).toEqual(['53200', 'query memory limit of 4 MiB exceeded by SCROLL cursor (set by --max-query-memory)']);
    await db.query('ROLLBACK');
    expect(await reserved()).toBe(0);
  });

  it('refuse to COMMIT a WITH HOLD cursor whose rest does not fit with 53200, rolling back; one that fits lives on', async () => {
    await db.query('BEGIN');
    await db.query("INSERT INTO t VALUES (-1, 'held')");
    await db.query('DECLARE h CURSOR WITH HOLD FOR SELECT id FROM t WHERE id < 0');
    await db.query('DECLARE big CURSOR WITH HOLD FOR SELECT id, pad FROM t');
    const err = await sqlError(db.query('COMMIT'));
    expect([err.code, err.message]).toEqual(['53200', 'query memory limit of 4 MiB exceeded by WITH HOLD cursor (set by --max-query-memory)']);
    expect(await sqlError(db.query('FETCH h'))).toMatchObject({ code: '34000' });
    expect((await db.query('SELECT count(*)::int AS n FROM t WHERE id = -1')).rows).toEqual([{ n: 0 }]);
    expect(await reserved()).toBe(0);

    await db.query('BEGIN');
    await db.query('DECLARE h CURSOR WITH HOLD FOR SELECT id FROM t WHERE id <= 3 ORDER BY id');
    await db.query('COMMIT');
    expect(await reserved()).toBeGreaterThan(0);
    expect((await db.query('FETCH ALL FROM h')).rows).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    await db.query('CLOSE h');
    expect(await reserved()).toBe(0);
  });
});
