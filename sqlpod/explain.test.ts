// EXPLAIN and EXPLAIN ANALYZE against a real kvpod and pod: the node that
// reads a table names the index and the key spans it reads, ANALYZE's
// figures are what the executor did (rows against the real results, KV reads
// against the pod's own counters), the layout is PostgreSQL's (compared with
// PostgreSQL 15 on the same data), DML under ANALYZE really runs.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlPod } from './pod.js';
import { SCAN_PAGE } from './sql/txn.js';
import { startBesidePostgres, type BesidePostgres } from './testing/beside-postgres.js';
import { sqlError } from './testing/fixtures.js';

let pod: SqlPod;
let db: pg.Client;
let reference: pg.Client;
let side: BesidePostgres;

const SETUP = [
  'CREATE TABLE t (id int PRIMARY KEY, grp int, note text)',
  'CREATE INDEX t_grp ON t (grp)',
  'CREATE TABLE u (id int PRIMARY KEY, tid int, amount int)',
  `INSERT INTO t SELECT i, i % 10, 'n' || i FROM generate_series(1, 1000) AS g(i)`,
  `INSERT INTO u SELECT i, (i * 7) % 1200, i FROM generate_series(1, 300) AS g(i)`,
];

beforeAll(async () => {
  side = await startBesidePostgres('explain', { setup: SETUP });
  ({ pod, shoal: db, reference } = side);
  // PostgreSQL's plans for the layout comparison: plain scans, no parallel workers.
  await reference.query('ANALYZE');
  await reference.query('SET max_parallel_workers_per_gather = 0');
}, 120_000);

afterAll(async () => {
  await side?.stop();
});

async function plan(client: pg.Client, sql: string, values: unknown[] = []): Promise<string[]> {
  const result = await client.query<{ 'QUERY PLAN': string }>({ text: sql, values });
  return result.rows.map((r) => r['QUERY PLAN']);
}

/** The `(actual …)` figures of the first line that matches. */
function actual(lines: readonly string[], node: RegExp): { rows: number; loops: number } {
  const line = lines.find((l) => node.test(l));
  const m = line && /\(actual (?:time=[\d.]+\.\.[\d.]+ )?rows=(\d+) loops=(\d+)\)/.exec(line);
  if (!m) throw new Error(`no ${String(node)} with actual figures in:\n${lines.join('\n')}`);
  return { rows: Number(m[1]), loops: Number(m[2]) };
}

function kvReads(lines: readonly string[], node: RegExp): { roundTrips: number; rows: number } {
  const at = lines.findIndex((l) => node.test(l));
  const line = lines.slice(at + 1).find((l) => /KV Reads:/.test(l));
  const m = line && /round trips=(\d+) rows=(\d+)/.exec(line);
  if (at < 0 || !m) throw new Error(`no KV figures for ${String(node)} in:\n${lines.join('\n')}`);
  return { roundTrips: Number(m[1]), rows: Number(m[2]) };
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${pod.addresses.ops?.port ?? 0}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? 0);
}

describe('EXPLAIN', () => {
  it('shows a point read, a range and a secondary index with the spans their key values bound, and a full scan otherwise', async () => {
    const point = await plan(db, 'EXPLAIN SELECT * FROM t WHERE id = 42');
    expect(point[0]).toBe('Index Scan using t_pkey on t');
    expect(point).toContain('  Index Cond: (id = 42)');
    expect(point).toContain('  Spans: [/42 - /42]');

    const range = await plan(db, 'EXPLAIN SELECT note FROM t WHERE id BETWEEN 100 AND 200');
    expect(range).toContain('  Spans: [/100 - /200]');
    const open = await plan(db, 'EXPLAIN SELECT note FROM t WHERE id > 990');
    expect(open).toContain('  Spans: (/990 - ]');

    const list = await plan(db, 'EXPLAIN SELECT * FROM t WHERE grp IN (3, 7)');
    expect(list[0]).toBe('Index Scan using t_grp on t');
    expect(list).toContain('  Spans: [/3 - /3], [/7 - /7]');

    const full = await plan(db, `EXPLAIN SELECT * FROM t WHERE note = 'n5'`);
    expect(full).toEqual(['Seq Scan on t', '  Spans: FULL SCAN', `  Filter: (note = 'n5'::text)`]);
  });

  it('lays plans out as PostgreSQL does, node for node', async () => {
    // Shoal's lines about KV (spans) have no PostgreSQL counterpart; PostgreSQL's memory lines have none in Shoal.
    const ours = /^\s*(Spans|KV Reads|Total KV Reads|Planning Time|Execution Time):/;
    const theirs = /^\s*(Sort Method|Buckets|Batches|Planning Time|Execution Time):/;
    for (const query of [
      'SELECT 1',
      'VALUES (1), (2)',
      `SELECT * FROM t WHERE note = 'n5'`,
      'SELECT note FROM t ORDER BY note DESC LIMIT 3',
      'SELECT grp, count(*) FROM t GROUP BY grp',
      'SELECT DISTINCT grp FROM t',
      'SELECT grp FROM t UNION SELECT tid FROM u',
    ]) {
      // Nodes hand rows up a batch at a time, so under a LIMIT a node may count more rows than PostgreSQL's one-row-at-a-time pull.
      const modes = ['EXPLAIN (COSTS OFF)', ...(query.includes('LIMIT') ? [] : ['EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)'])];
      for (const explain of modes) {
        const shoal = (await plan(db, `${explain} ${query}`)).filter((l) => !ours.test(l));
        const postgresLines = (await plan(reference, `${explain} ${query}`)).filter((l) => !theirs.test(l));
        expect(shoal, `${explain} ${query}`).toEqual(postgresLines);
      }
    }
  });

  it('names a hash join with its condition, the side it hashes, and the spans of each side', async () => {
    const lines = await plan(db, 'EXPLAIN SELECT t.note, u.amount FROM t JOIN u ON u.tid = t.id WHERE t.id < 50');
    expect(lines[0]).toBe('Hash Join');
    expect(lines[1]).toMatch(/^ {2}Hash Cond: \((t\.id = u\.tid|u\.tid = t\.id)\)$/);
    const trimmed = lines.map((l) => l.trim());
    expect(trimmed).toContain('->  Hash');
    const t = trimmed.indexOf('->  Index Scan using t_pkey on t');
    const u = trimmed.indexOf('->  Seq Scan on u');
    expect([t >= 0, u >= 0]).toEqual([true, true]);
    expect(trimmed.slice(t + 1, t + 4)).toContain('Spans: [ - /50)');
    expect(trimmed[u + 1]).toBe('Spans: FULL SCAN');
  });

  it('works in the extended protocol with parameters: RowDescription names QUERY PLAN, spans use the bound values', async () => {
    const statement = { name: 'explain_point', text: 'EXPLAIN SELECT * FROM t WHERE id = $1' };
    const first = await db.query({ ...statement, values: [17] });
    expect(first.fields.map((f) => [f.name, f.dataTypeID])).toEqual([['QUERY PLAN', 25]]);
    expect(first.command).toBe('EXPLAIN');
    const lines = (v: typeof first): string[] => v.rows.map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN']);
    expect(lines(first)).toContain('  Index Cond: (id = $1)');
    expect(lines(first)).toContain('  Spans: [/17 - /17]');
    const second = await db.query({ ...statement, values: [905] });
    expect(lines(second)).toContain('  Spans: [/905 - /905]');
  });

  it('refuses what Shoal does not have with 0A000 naming it, and checks options as PostgreSQL does', async () => {
    for (const [sql, message] of [
      ['EXPLAIN (FORMAT JSON) SELECT 1', /FORMAT JSON/],
      ['EXPLAIN (BUFFERS) SELECT 1', /BUFFERS/],
      ['EXPLAIN (GENERIC_PLAN) SELECT 1', /GENERIC_PLAN/],
      ['EXPLAIN (SETTINGS on) SELECT 1', /SETTINGS/],
      ['EXPLAIN CREATE TABLE x AS SELECT 1', /CREATE TABLE AS/],
    ] as const) {
      const err = await sqlError(db.query(sql));
      expect([sql, err.code]).toEqual([sql, '0A000']);
      expect(err.message).toMatch(message);
    }
    expect((await sqlError(db.query('EXPLAIN (COLOUR) SELECT 1'))).code).toBe('42601');
    expect((await sqlError(db.query('EXPLAIN (TIMING) SELECT 1'))).code).toBe('22023');
    expect((await sqlError(db.query('EXPLAIN (ANALYZE maybe) SELECT 1'))).code).toBe('22023');
    // What is accepted: text format, no costs (Shoal has none), BUFFERS off, SUMMARY.
    const lines = await plan(db, 'EXPLAIN (FORMAT TEXT, COSTS OFF, BUFFERS OFF, VERBOSE, SUMMARY) SELECT id FROM t WHERE id = 1');
    expect(lines[0]).toBe('Index Scan using t_pkey on t');
    expect(lines).toContain('  Output: id');
    expect(lines.at(-1)).toMatch(/^Planning Time: \d+\.\d{3} ms$/);
  });
});

describe('EXPLAIN ANALYZE', () => {
  it('reads a few KV rows for an indexed point lookup and every row for a full scan, as the pod counts them', async () => {
    // Inside a transaction that already read the catalog version, the pod's counters move by the statement's reads alone.
    await db.query('BEGIN');
    try {
      await db.query('SELECT 1 FROM u WHERE id = 1');
      const measure = async (sql: string) => {
        const [rows, trips] = [await metric('shoal_sqlpod_kv_rows_read_total'), await metric('shoal_sqlpod_kv_round_trips_total')];
        const lines = await plan(db, sql);
        const total = /Total KV Reads: round trips=(\d+) rows=(\d+)/.exec(lines.find((l) => l.startsWith('Total KV Reads')) ?? '');
        expect(total).not.toBeNull();
        expect([Number(total?.[1]), Number(total?.[2])]).toEqual([(await metric('shoal_sqlpod_kv_round_trips_total')) - trips, (await metric('shoal_sqlpod_kv_rows_read_total')) - rows]);
        return lines;
      };
      const point = await measure('EXPLAIN ANALYZE SELECT * FROM t WHERE id = 500');
      expect(actual(point, /Index Scan using t_pkey on t/)).toEqual({ rows: 1, loops: 1 });
      expect(kvReads(point, /Index Scan using t_pkey/)).toEqual({ roundTrips: 1, rows: 1 });

      const full = await measure(`EXPLAIN ANALYZE SELECT * FROM t WHERE note = 'n500'`);
      expect(actual(full, /Seq Scan on t/)).toEqual({ rows: 1, loops: 1 });
      expect(full).toContain('  Rows Removed by Filter: 999');
      const scan = kvReads(full, /Seq Scan on t/);
      expect(scan.rows).toBe(1000);
      // A page per SCAN_PAGE pairs, and the read that finds the span's end.
      expect(scan.roundTrips).toBe(Math.floor(1000 / SCAN_PAGE) + 1);

      // A secondary index: its entries, then the rows they point at.
      const secondary = await measure('EXPLAIN ANALYZE SELECT * FROM t WHERE grp = 4');
      expect(actual(secondary, /Index Scan using t_grp on t/).rows).toBe(100);
      expect(kvReads(secondary, /Index Scan using t_grp/).rows).toBe(200);
    } finally {
      await db.query('ROLLBACK');
    }
  });

  it("gives each node of a join with an aggregate the rows it really produced", async () => {
    const query = 'SELECT t.grp, count(*), sum(u.amount) FROM t JOIN u ON u.tid = t.id WHERE t.id <= 800 GROUP BY t.grp ORDER BY t.grp';
    const result = await db.query({ text: query, rowMode: 'array' });
    const joined = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM t JOIN u ON u.tid = t.id WHERE t.id <= 800')).rows[0]?.n);
    // The same on PostgreSQL: the figures below are about the right answer.
    expect((await reference.query({ text: query, rowMode: 'array' })).rows).toEqual(result.rows);

    const lines = await plan(db, `EXPLAIN ANALYZE ${query}`);
    expect(actual(lines, /^Sort/)).toEqual({ rows: result.rows.length, loops: 1 });
    expect(actual(lines, /HashAggregate/)).toEqual({ rows: result.rows.length, loops: 1 });
    expect(actual(lines, /Hash Join/)).toEqual({ rows: joined, loops: 1 });
    expect(actual(lines, /Scan (using t_pkey )?on t/)).toEqual({ rows: 800, loops: 1 });
    expect(actual(lines, /Seq Scan on u/)).toEqual({ rows: 300, loops: 1 });
    expect(lines.find((l) => l.includes('Scan using t_pkey on t'))).toBeDefined();
    expect(lines).toContainEqual(expect.stringMatching(/^ +Spans: \[ - \/800\]$/));
    expect(lines.at(-1)).toMatch(/^Execution Time: \d+\.\d{3} ms$/);
  });

  it('counts a correlated subquery once per outer row', async () => {
    const lines = await plan(db, 'EXPLAIN (ANALYZE, TIMING OFF) SELECT id, (SELECT count(*) FROM u WHERE u.tid = t.id) FROM t WHERE id IN (7, 14, 21)');
    expect(lines).toContain('  SubPlan 1');
    expect(actual(lines, /-> {2}Aggregate/)).toEqual({ rows: 1, loops: 3 });
    expect(lines).toContainEqual(expect.stringMatching(/Filter: \(u\.tid = t\.id\)/));
  });

  it('runs INSERT, UPDATE and DELETE for real, in the current transaction', async () => {
    const count = async () => Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM u')).rows[0]?.n);
    const before = await count();
    const insert = await plan(db, 'EXPLAIN ANALYZE INSERT INTO u VALUES (5001, 1, 10), (5002, 2, 20) RETURNING id');
    expect(insert[0]).toMatch(/^Insert on u \(actual time=[\d.]+\.\.[\d.]+ rows=2 loops=1\)$/);
    expect(insert[1]).toMatch(/^ {2}-> {2}Values Scan on "\*VALUES\*" \(actual .*rows=2 loops=1\)$/);
    expect(await count()).toBe(before + 2);

    await plan(db, 'EXPLAIN ANALYZE UPDATE u SET amount = amount + 1 WHERE id = 5001');
    expect((await db.query('SELECT amount FROM u WHERE id = 5001', [])).rows).toEqual([{ amount: 11 }]);

    // Rolled back with its transaction, as in PostgreSQL.
    await db.query('BEGIN');
    const del = await plan(db, 'EXPLAIN ANALYZE DELETE FROM u WHERE id > 5000');
    expect(del[0]).toMatch(/^Delete on u /);
    expect(actual(del, /Index Scan using u_pkey on u/).rows).toBe(2);
    expect(await count()).toBe(before);
    await db.query('ROLLBACK');
    expect(await count()).toBe(before + 2);
    await db.query('DELETE FROM u WHERE id > 5000');
  });
});
