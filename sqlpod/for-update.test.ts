// SELECT … FOR UPDATE / NO KEY UPDATE / SHARE / KEY SHARE, with NOWAIT and
// SKIP LOCKED, beside a real PostgreSQL: the same answers, the same waits,
// the same errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onBoth, outcome, stillWaiting, type Outcome, startBesidePostgres, type BesidePostgres } from './testing/beside-postgres.js';
import { sqlError } from './testing/fixtures.js';

let side: BesidePostgres;

const SETUP = [
  "CREATE TABLE jobs (id int PRIMARY KEY, state text NOT NULL DEFAULT 'pending', owner text)",
  'INSERT INTO jobs (id) SELECT g FROM generate_series(1, 6) g',
  'CREATE TABLE owners (name text PRIMARY KEY, job int)',
  "INSERT INTO owners VALUES ('ann', 1), ('bob', 2), ('cy', NULL)",
  'CREATE TABLE plain (v int)',
  'INSERT INTO plain VALUES (1), (2)',
];

beforeAll(async () => {
  side = await startBesidePostgres('for-update', { setup: SETUP });
}, 120_000);

afterAll(async () => {
  await side?.stop();
});

describe('FOR UPDATE', () => {
  it('answers as the same query without it, and refuses what PostgreSQL refuses with the same SQLSTATE', async () => {
    const statements = [
      'SELECT id, state FROM jobs WHERE id <= 3 ORDER BY id FOR UPDATE',
      'SELECT id FROM jobs ORDER BY id DESC LIMIT 2 OFFSET 1 FOR NO KEY UPDATE',
      'SELECT j.id, o.name FROM jobs j JOIN owners o ON o.job = j.id ORDER BY j.id FOR UPDATE OF j',
      'SELECT o.name, j.id FROM owners o LEFT JOIN jobs j ON j.id = o.job ORDER BY o.name FOR UPDATE OF o',
      'SELECT v FROM plain ORDER BY v FOR UPDATE',
      'SELECT id FROM jobs WHERE id = 2 FOR SHARE',
      'SELECT id FROM jobs WHERE id = 2 FOR KEY SHARE NOWAIT',
      'SELECT * FROM (SELECT id FROM jobs WHERE id < 3 FOR UPDATE) s ORDER BY id',
      'SELECT state, count(*) FROM jobs GROUP BY state FOR UPDATE',
      'SELECT count(*) FROM jobs FOR UPDATE',
      'SELECT DISTINCT state FROM jobs FOR UPDATE',
      'SELECT id FROM jobs UNION SELECT 7 FOR UPDATE',
      'SELECT id, row_number() OVER () FROM jobs FOR UPDATE',
      'SELECT id FROM jobs FOR UPDATE OF nowhere',
      'SELECT * FROM generate_series(1, 2) g FOR UPDATE OF g',
      'VALUES (1) FOR UPDATE',
    ];
    for (const sql of statements) {
      const [mine, theirs] = [await outcome(side.shoal, sql), await outcome(side.reference, sql)];
      expect({ sql, ...mine }).toEqual({ sql, ...theirs });
    }
    // EXPLAIN shows the LockRows node under Limit, as PostgreSQL's plan does.
    const explain = 'EXPLAIN (COSTS OFF) SELECT id FROM jobs ORDER BY id LIMIT 1 FOR UPDATE';
    const shape = (r: Outcome) => ('rows' in r ? r.rows.map((row) => String(row[0]).trim().replace(/^->\s+/, '').split(' ')[0]).slice(0, 2) : r);
    expect(shape(await outcome(side.shoal, explain))).toEqual(['Limit', 'LockRows']);
    expect(shape(await outcome(side.reference, explain))).toEqual(['Limit', 'LockRows']);
  });

  it('holds the row against UPDATE until the block ends, and a FOR UPDATE that waited returns the committed row', async () => {
    const out = await onBoth(side, async (connect) => {
      const [a, b] = [await connect(), await connect()];
      await a.query("UPDATE jobs SET state = 'pending', owner = NULL");
      await a.query('BEGIN');
      const locked = (await a.query({ text: 'SELECT id, state FROM jobs WHERE id = 1 FOR UPDATE', rowMode: 'array' })).rows;
      const update = b.query({ text: "UPDATE jobs SET owner = owner || '+b' WHERE id = 1 RETURNING owner", rowMode: 'array' });
      const updateWaited = await stillWaiting(update);
      await a.query("UPDATE jobs SET state = 'taken', owner = 'a' WHERE id = 1");
      await a.query('COMMIT');
      const updated = (await update).rows;
      await a.query('BEGIN');
      await a.query("UPDATE jobs SET state = 'done' WHERE id = 1");
      const select = b.query({ text: 'SELECT id, state, owner FROM jobs WHERE id = 1 FOR UPDATE', rowMode: 'array' });
      const selectWaited = await stillWaiting(select);
      await a.query('COMMIT');
      return { locked, updateWaited, updated, selectWaited, selected: (await select).rows };
    });
    expect(out).toEqual({ locked: [[1, 'pending']], updateWaited: true, updated: [['a+b']], selectWaited: true, selected: [[1, 'done', 'a+b']] });
  });

  it('NOWAIT fails at once with 55P03; SKIP LOCKED hands each worker different jobs', async () => {
    const out = await onBoth(side, async (connect) => {
      const [a, b, c] = [await connect(), await connect(), await connect()];
      await a.query("UPDATE jobs SET state = 'pending', owner = NULL");
      await a.query('BEGIN');
      const take = "SELECT id FROM jobs WHERE state = 'pending' ORDER BY id LIMIT 2 FOR UPDATE SKIP LOCKED";
      const first = (await a.query({ text: take, rowMode: 'array' })).rows;
      const nowait = (await sqlError(b.query('SELECT id FROM jobs WHERE id = 1 FOR UPDATE NOWAIT'))).code;
      await b.query('BEGIN');
      const second = (await b.query({ text: take, rowMode: 'array' })).rows;
      // The queue pop: claim one job nobody holds, in one statement.
      const popped = (
        await c.query({
          text: "UPDATE jobs SET state = 'taken', owner = 'c' WHERE id = (SELECT id FROM jobs WHERE state = 'pending' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id",
          rowMode: 'array',
        })
      ).rows;
      const rest = (await c.query({ text: "SELECT id FROM jobs WHERE state = 'pending' ORDER BY id FOR UPDATE SKIP LOCKED", rowMode: 'array' })).rows;
      await a.query('COMMIT');
      await b.query('COMMIT');
      return { first, nowait, second, popped, rest };
    });
    expect(out).toEqual({ first: [[1], [2]], nowait: '55P03', second: [[3], [4]], popped: [[5]], rest: [[6]] });
  });
});
