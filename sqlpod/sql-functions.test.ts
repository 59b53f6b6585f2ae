// Window frames and value functions, functions in FROM (generate_series,
// unnest, WITH ORDINALITY) and LATERAL, end to end through a real SQL pod,
// each statement compared live with a real PostgreSQL (shared/testing/postgres.ts):
// the same rows in the same order (every statement sorts), the same column
// names, or the same SQLSTATE and message.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBesidePostgres, type BesidePostgres } from './testing/beside-postgres.js';

let shoal: pg.Client;
let reference: pg.Client;
let side: BesidePostgres;

const SETUP = [
  'CREATE TABLE wf (id integer PRIMARY KEY, g integer, v integer, t text, n numeric, f float8)',
  "INSERT INTO wf VALUES (1, 1, 10, 'a', 1.5, 0.5), (2, 1, 20, 'b', 2.5, 1.5), (3, 1, 20, 'c', NULL, 'NaN'), (4, 2, 5, 'd', -1, 'Infinity'), (5, 2, NULL, 'e', 3.25, 2), (6, NULL, 7, 'f', 2.5, -1), (7, NULL, 7, 'g', 0, 1.5)",
  'CREATE TABLE parent (id integer PRIMARY KEY, name text, n integer)',
  "INSERT INTO parent VALUES (1, 'one', 2), (2, 'two', 0), (3, 'three', 3)",
  'CREATE TABLE child (id integer PRIMARY KEY, parent integer, score integer)',
  'INSERT INTO child VALUES (10, 1, 5), (11, 1, 9), (12, 1, 7), (13, 3, 1), (14, 3, 8)',
];

beforeAll(async () => {
  side = await startBesidePostgres('fns', { setup: SETUP, postgresSettings: { TimeZone: 'UTC' } });
  ({ shoal, reference } = side);
}, 120_000);

afterAll(async () => {
  await side?.stop();
});

type Outcome = { columns: string[]; rows: unknown[][] } | { code: string | undefined; message: string };

async function outcome(client: pg.Client, sql: string): Promise<Outcome> {
  try {
    const r = await client.query({ text: sql, rowMode: 'array' });
    return { columns: r.fields.map((f) => f.name), rows: r.rows as unknown[][] };
  } catch (err) {
    if (err instanceof pg.DatabaseError) return { code: err.code, message: err.message };
    throw err;
  }
}

/** Each statement must give on Shoal what it gives on PostgreSQL. */
function samples(name: string, statements: readonly string[]): void {
  describe(name, () => {
    for (const sql of statements) {
      it(sql, async () => {
        const expected = await outcome(reference, sql);
        expect(await outcome(shoal, sql)).toEqual(expected);
      });
    }
  });
}

samples('window frames', [
  'SELECT id, sum(v) OVER w, first_value(v) OVER w, last_value(v) OVER w, count(*) OVER w FROM wf WINDOW w AS (PARTITION BY g ORDER BY id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) ORDER BY id',
  'SELECT id, sum(v) OVER w, count(*) OVER w, first_value(id) OVER w, last_value(id) OVER w FROM wf WINDOW w AS (ORDER BY v RANGE BETWEEN 5 PRECEDING AND 5 FOLLOWING) ORDER BY id',
  'SELECT id, sum(v) OVER w, count(*) OVER w FROM wf WINDOW w AS (ORDER BY v DESC NULLS LAST RANGE BETWEEN 3 PRECEDING AND CURRENT ROW) ORDER BY id',
  'SELECT id, sum(v) OVER w, count(*) OVER w FROM wf WINDOW w AS (ORDER BY v NULLS FIRST RANGE BETWEEN CURRENT ROW AND 10 FOLLOWING) ORDER BY id',
  'SELECT id, sum(v) OVER w, count(*) OVER w FROM wf WINDOW w AS (ORDER BY v RANGE BETWEEN 10 FOLLOWING AND 15 FOLLOWING) ORDER BY id',
  'SELECT id, sum(v) OVER w, count(v) OVER w, first_value(v) OVER w FROM wf WINDOW w AS (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 2 PRECEDING) ORDER BY id',
  "SELECT id, string_agg(t, '') OVER (ORDER BY id ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING), string_agg(t, '') OVER (ORDER BY id ROWS 2 PRECEDING) FROM wf ORDER BY id",
  'SELECT id, sum(v) OVER (ORDER BY g RANGE BETWEEN CURRENT ROW AND CURRENT ROW), sum(v) OVER (ORDER BY g ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING), sum(v) OVER (RANGE BETWEEN CURRENT ROW AND CURRENT ROW) FROM wf ORDER BY id',
  'SELECT id, sum(n) OVER (ORDER BY n RANGE BETWEEN 1 PRECEDING AND 0.5 FOLLOWING), count(*) OVER (ORDER BY n DESC RANGE 1.25 PRECEDING) FROM wf ORDER BY id',
  "SELECT id, count(*) OVER (ORDER BY f RANGE BETWEEN 1 PRECEDING AND CURRENT ROW), count(*) OVER (ORDER BY f RANGE BETWEEN 'Infinity' PRECEDING AND 0.5 FOLLOWING) FROM wf ORDER BY id",
  'SELECT id, sum(v) OVER (ORDER BY id ROWS BETWEEN 9223372036854775807 PRECEDING AND 9223372036854775807 FOLLOWING), sum(v) OVER (ORDER BY id ROWS 1.5 PRECEDING) FROM wf ORDER BY id',
  'SELECT id, sum(v) OVER (ORDER BY v RANGE BETWEEN 2147483647 PRECEDING AND 2147483647 FOLLOWING) FROM wf ORDER BY id',
  'SELECT g, sum(sum(v)) OVER (ORDER BY g ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM wf GROUP BY g ORDER BY g',
  // Errors.
  'SELECT sum(v) OVER (ORDER BY v ROWS BETWEEN -1 PRECEDING AND CURRENT ROW) FROM wf WHERE false',
  'SELECT sum(v) OVER (ORDER BY v ROWS BETWEEN CURRENT ROW AND NULL FOLLOWING) FROM wf',
  'SELECT sum(v) OVER (ORDER BY v RANGE BETWEEN -1 PRECEDING AND CURRENT ROW) FROM wf',
  'SELECT sum(v) OVER (ORDER BY v RANGE BETWEEN -1 PRECEDING AND CURRENT ROW) FROM wf WHERE v IS NULL',
  'SELECT sum(v) OVER (ORDER BY id, v RANGE BETWEEN 1 PRECEDING AND CURRENT ROW) FROM wf',
  'SELECT sum(v) OVER (ORDER BY t RANGE BETWEEN 1 PRECEDING AND CURRENT ROW) FROM wf',
  'SELECT sum(v) OVER (ORDER BY v RANGE BETWEEN 1.5 PRECEDING AND CURRENT ROW) FROM wf',
  'SELECT sum(v) OVER (ORDER BY id ROWS BETWEEN id PRECEDING AND CURRENT ROW) FROM wf',
  'SELECT sum(v) OVER (ROWS BETWEEN UNBOUNDED FOLLOWING AND CURRENT ROW) FROM wf',
  'SELECT sum(v) OVER (ROWS BETWEEN 1 FOLLOWING AND CURRENT ROW) FROM wf',
]);

samples('value window functions', [
  'SELECT id, lag(v) OVER w, lead(v, 2) OVER w, lag(v, 2, -1) OVER w, lead(id, -1) OVER w, lag(id, g) OVER w, lag(v, 1, 0.5) OVER w FROM wf WINDOW w AS (ORDER BY id) ORDER BY id',
  "SELECT id, lag(t, 1, 'none') OVER (PARTITION BY g ORDER BY id), lead(t) OVER (PARTITION BY g ORDER BY id DESC) FROM wf ORDER BY id",
  'SELECT id, ntile(3) OVER (ORDER BY id), ntile(2) OVER (PARTITION BY g ORDER BY id), ntile(10) OVER (ORDER BY id), ntile(CASE WHEN id < 3 THEN NULL ELSE 2 END) OVER (ORDER BY id) FROM wf ORDER BY id',
  'SELECT id, nth_value(v, 2) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING), nth_value(v, 3) OVER (PARTITION BY g ORDER BY v), nth_value(id, 2) OVER (ORDER BY v) FROM wf ORDER BY id',
  'SELECT id, first_value(t) OVER (PARTITION BY g ORDER BY v DESC), last_value(t) OVER (PARTITION BY g ORDER BY v DESC), last_value(t) OVER (PARTITION BY g ORDER BY id RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) FROM wf ORDER BY id',
  'SELECT id, v - lag(v) OVER (ORDER BY id) AS delta FROM wf ORDER BY delta NULLS FIRST, id',
  'SELECT ntile(0) OVER () FROM wf',
  'SELECT ntile(0) OVER () FROM wf WHERE false',
  'SELECT nth_value(v, 0) OVER () FROM wf',
  "SELECT lag('a') OVER () FROM wf",
  'SELECT lag(v, 2::bigint) OVER () FROM wf',
  "SELECT lag(v, 1, 'x') OVER () FROM wf",
  'SELECT lag(v) FILTER (WHERE v > 1) OVER () FROM wf',
]);

samples('functions in FROM', [
  'SELECT * FROM generate_series(1, 5)',
  'SELECT * FROM generate_series(5, 1, -2) AS g',
  'SELECT g.* FROM generate_series(1, 10, 3) g(n)',
  'SELECT * FROM generate_series(1, 0)',
  'SELECT * FROM generate_series(2147483640, 2147483647, 3)',
  'SELECT * FROM generate_series(9223372036854775800, 9223372036854775807, 4)',
  'SELECT * FROM generate_series(1, 2, 0.5)',
  'SELECT * FROM generate_series(1.0, 3)',
  'SELECT x, pg_typeof(x)::text FROM generate_series(1, 3::bigint) x',
  "SELECT * FROM generate_series('2020-01-30'::timestamp, '2020-04-30', '1 month')",
  "SELECT * FROM generate_series('2020-01-01'::timestamptz, '2019-12-31 12:00', '-6 hours')",
  'SELECT * FROM generate_series(1, 3) WITH ORDINALITY',
  'SELECT * FROM generate_series(10, 30, 10) WITH ORDINALITY AS s(v, i) WHERE i > 1',
  "SELECT * FROM ROWS FROM (generate_series(1, 3), unnest(ARRAY['a', 'b'])) WITH ORDINALITY",
  'SELECT * FROM unnest(ARRAY[3, 1, 2]) ORDER BY 1',
  "SELECT u, u || '!' FROM unnest(ARRAY['x', NULL, 'z']) u",
  'SELECT * FROM unnest(ARRAY[1, 2], ARRAY[1.5, 2.5, 3.5])',
  'SELECT * FROM generate_series(1, 3) a, generate_series(1, 2) b ORDER BY 2, 1',
  'SELECT count(*), sum(x) FROM generate_series(1, 100000) x',
  "SELECT * FROM lower('ABC')",
  'SELECT * FROM abs(-3) AS a(v)',
  'SELECT * FROM generate_series(1, 10, 0)',
  "SELECT * FROM generate_series(1, 'NaN'::numeric)",
  'SELECT * FROM generate_series(1, 3) AS g(a, b)',
  'SELECT * FROM generate_series(NULL, 3)',
  'SELECT * FROM count(*)',
]);

samples('LATERAL', [
  'SELECT p.id, s.* FROM parent p, LATERAL (SELECT max(score) AS best, count(*) AS n FROM child c WHERE c.parent = p.id) s ORDER BY p.id',
  'SELECT p.id, c.id FROM parent p, LATERAL (SELECT id FROM child c WHERE c.parent = p.id ORDER BY score DESC LIMIT 2) c ORDER BY p.id, c.id',
  'SELECT p.id, c.id FROM parent p JOIN LATERAL (SELECT id, score FROM child c WHERE c.parent = p.id) c ON c.score > 6 ORDER BY 1, 2',
  'SELECT p.id, c.id FROM parent p LEFT JOIN LATERAL (SELECT id FROM child c WHERE c.parent = p.id AND c.score > 6) c ON true ORDER BY 1, 2',
  'SELECT p.id, c.id FROM parent p CROSS JOIN LATERAL (SELECT id FROM child c WHERE c.parent = p.id) c WHERE c.id > 10 ORDER BY 1, 2',
  'SELECT p.name, x FROM parent p, generate_series(1, p.n) x ORDER BY 1, 2',
  'SELECT p.name, x, o FROM parent p LEFT JOIN LATERAL generate_series(1, p.n) WITH ORDINALITY AS g(x, o) ON true ORDER BY 1, 2',
  'SELECT p.id, q.total FROM parent p, LATERAL (SELECT p.n * 10 AS total) q WHERE q.total > 0 ORDER BY 1',
  'SELECT p.id, (SELECT count(*) FROM child c, LATERAL (SELECT c.score + p.n AS s) z WHERE c.parent = p.id AND z.s > 9) FROM parent p ORDER BY 1',
  'SELECT * FROM LATERAL (SELECT 1 AS one) s, parent ORDER BY id',
  'SELECT p.id, g FROM parent p, generate_series(1, (SELECT count(*) FROM child c WHERE c.parent = p.id)::integer) g ORDER BY 1, 2',
  'SELECT * FROM parent p RIGHT JOIN LATERAL (SELECT p.id) s ON true',
]);

describe('functions in FROM, beyond PostgreSQL', () => {
  // PostgreSQL computes a function's whole result before reading it, so this never ends there.
  it('reads a series lazily under a LIMIT', async () => {
    expect((await shoal.query({ text: 'SELECT * FROM generate_series(1, 1000000000000) LIMIT 3', rowMode: 'array' })).rows).toEqual([['1'], ['2'], ['3']]);
  });
});

describe('what Shoal refuses', () => {
  it('refuses a reference to an earlier FROM item from a subquery that is not LATERAL, as PostgreSQL (42P01)', async () => {
    expect(await outcome(shoal, 'SELECT * FROM parent p, (SELECT p.id) s')).toMatchObject({ code: '42P01' });
  });

  const refused = async (sql: string): Promise<[string | undefined, string]> => {
    const o = await outcome(shoal, sql);
    return 'code' in o ? [o.code, o.message] : ['none', JSON.stringify(o.rows)];
  };

  it('refuses date RANGE offsets and SRFs in the select list with 0A000 naming them', async () => {
    for (const [sql, names] of [
      ["SELECT count(*) OVER (ORDER BY d RANGE '1 day'::interval PRECEDING) FROM (SELECT current_date AS d) s", 'RANGE with offset'],
      ['SELECT generate_series(1, 3)', 'generate_series'],
      ['SELECT * FROM json_each(\'{"a": 1}\')', 'json_each'],
      ['SELECT * FROM parent p JOIN (child c JOIN LATERAL (SELECT p.id) s ON true) ON true', 'LATERAL'],
    ] as const) {
      const [code, message] = await refused(sql);
      expect(code, sql).toBe('0A000');
      expect(message, sql).toContain(names);
    }
  });
});
