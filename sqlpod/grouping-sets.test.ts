// Grouping sets (ROLLUP, CUBE, GROUPING SETS, GROUPING()), ordered-set
// aggregates (percentile_cont, percentile_disc, mode) and window frames in
// GROUPS mode and with EXCLUDE, against a real PostgreSQL with the same data:
// every result as text with its column type OIDs, and the SQLSTATEs of what
// both refuse.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBesidePostgres, type BesidePostgres } from './testing/beside-postgres.js';
import { sqlError } from './testing/fixtures.js';

let side: BesidePostgres;
let db: pg.Client;
let reference: pg.Client;

const SETUP = [
  'CREATE TABLE s (id int PRIMARY KEY, region text, product text, yr int, qty int, price numeric, f float8, dur interval, day date)',
  `INSERT INTO s VALUES
    (1, 'north', 'apple', 2023, 10, 1.50, 0.5, '1 hour', '2024-01-01'),
    (2, 'north', 'apple', 2024, 20, 1.75, 1.5, '2 hours', '2024-01-03'),
    (3, 'north', 'pear', 2023, 5, 2.00, NULL, '1 day', '2024-02-01'),
    (4, 'south', 'apple', 2023, 7, 1.25, 2.5, '30 minutes', '2024-01-01'),
    (5, 'south', 'pear', 2024, 12, 2.10, -1, NULL, '2024-03-05'),
    (6, 'south', NULL, 2024, 3, NULL, 4, '1 mon 2 days', NULL),
    (7, NULL, 'plum', 2023, 9, 3.00, 0, '3 days 4 hours', '2024-02-29'),
    (8, 'east', 'plum', NULL, NULL, 3.50, 7.25, '45 seconds', '2024-01-03'),
    (9, 'east', 'apple', 2024, 20, 1.80, 1.5, '1 hour', '2024-01-03')`,
  'CREATE TABLE nothing (a int, b text)',
];

beforeAll(async () => {
  side = await startBesidePostgres('grouping-sets', { setup: SETUP });
  ({ shoal: db, reference } = side);
}, 120_000);

afterAll(async () => {
  await side?.stop();
});

const asText = { getTypeParser: () => (v: string) => v };

async function textRows(client: pg.Client, sql: string, values: unknown[]): Promise<{ rows: unknown[][]; types: number[] }> {
  const r = await client.query({ text: sql, values, rowMode: 'array', types: asText });
  return { rows: r.rows as unknown[][], types: r.fields.map((f) => f.dataTypeID) };
}

/** The statement's rows as text and its column types, in Shoal and in PostgreSQL. */
async function same(sql: string, values: unknown[] = []): Promise<unknown[][]> {
  const [mine, theirs] = await Promise.all([textRows(db, sql, values), textRows(reference, sql, values)]);
  expect({ sql, ...mine }).toEqual({ sql, ...theirs });
  return mine.rows;
}

async function sameError(sql: string): Promise<string> {
  const [mine, theirs] = await Promise.all([sqlError(db.query(sql)), sqlError(reference.query(sql))]);
  expect({ sql, code: mine.code }).toEqual({ sql, code: theirs.code });
  return mine.code ?? '';
}

describe('grouping sets', () => {
  it('ROLLUP gives the groups, their subtotals and the total, rolled-up keys NULL', async () => {
    const rows = await same('SELECT region, product, sum(qty), count(*) FROM s GROUP BY ROLLUP (region, product) ORDER BY 1, 2, 3');
    expect(rows.length).toBeGreaterThan(9);
    await same('SELECT region, product, yr, sum(qty) FROM s GROUP BY ROLLUP (region, product, yr) ORDER BY 1, 2, 3, 4');
  });

  it('CUBE, GROUPING SETS, () and mixed forms', async () => {
    await same('SELECT region, yr, sum(qty), max(price) FROM s GROUP BY CUBE (region, yr) ORDER BY 1, 2, 3');
    await same('SELECT region, product, count(*) FROM s GROUP BY GROUPING SETS ((region), (product), ()) ORDER BY 1, 2, 3');
    await same('SELECT region, product, yr, count(*) FROM s GROUP BY region, ROLLUP (product, yr) ORDER BY 1, 2, 3, 4');
    await same('SELECT region, product, yr, count(*) FROM s GROUP BY ROLLUP (region), CUBE (product, yr) ORDER BY 1, 2, 3, 4');
    await same('SELECT region, product, yr, count(*) FROM s GROUP BY GROUPING SETS (ROLLUP (region, product), CUBE (yr), ()) ORDER BY 1, 2, 3, 4');
    await same('SELECT region, product, yr, sum(qty) FROM s GROUP BY ROLLUP ((region, product), yr) ORDER BY 1, 2, 3, 4');
    await same('SELECT count(*), sum(qty) FROM s GROUP BY ()');
    await same('SELECT region, count(*) FROM s GROUP BY GROUPING SETS ((region), (region), ()) ORDER BY 1, 2');
    await same('SELECT region, product, count(*) FROM s GROUP BY DISTINCT ROLLUP (region, product), ROLLUP (region) ORDER BY 1, 2, 3');
    await same('SELECT region, product, count(*) FROM s GROUP BY ALL ROLLUP (region, product), ROLLUP (region) ORDER BY 1, 2, 3');
  });

  it('takes positions, aliases and expressions as keys', async () => {
    await same('SELECT region AS r, yr % 2 AS odd, sum(qty) FROM s GROUP BY ROLLUP (1, 2) ORDER BY 1, 2, 3');
    await same('SELECT upper(region) AS r, sum(qty) FROM s GROUP BY CUBE (r) ORDER BY 1, 2');
    await same('SELECT upper(region), yr + 1, sum(qty) FROM s GROUP BY ROLLUP (upper(region), yr + 1) ORDER BY 1, 2, 3');
  });

  it('GROUPING() tells rolled-up NULLs from NULL keys, in the list, HAVING and ORDER BY', async () => {
    await same(`SELECT region, product, GROUPING(region), GROUPING(region, product), GROUPING(product, region), sum(qty)
      FROM s GROUP BY ROLLUP (region, product) ORDER BY GROUPING(region, product), 1, 2`);
    await same('SELECT region, yr, count(*) FROM s GROUP BY CUBE (region, yr) HAVING GROUPING(region, yr) IN (1, 2) ORDER BY 1, 2');
    await same('SELECT region, sum(qty) FROM s GROUP BY ROLLUP (region) HAVING sum(qty) > 20 ORDER BY sum(qty) DESC, 1');
    await same('SELECT CASE WHEN GROUPING(region) = 1 THEN \'all\' ELSE coalesce(region, \'?\') END, sum(qty) FROM s GROUP BY ROLLUP (region) ORDER BY 1');
    await same('SELECT GROUPING(region), count(*) FROM s GROUP BY region ORDER BY 2, 1');
  });

  it('aggregates with FILTER, DISTINCT and ORDER BY, and windows over the grouped rows', async () => {
    await same(`SELECT region, count(DISTINCT product), string_agg(product, ',' ORDER BY product), sum(qty) FILTER (WHERE yr = 2024),
      array_agg(id ORDER BY id) FROM s GROUP BY ROLLUP (region) ORDER BY GROUPING(region), 1`);
    await same('SELECT region, product, sum(qty), rank() OVER (ORDER BY sum(qty) DESC NULLS LAST, region, product) FROM s GROUP BY ROLLUP (region, product) ORDER BY 4');
  });

  it('gives the () set its row over no rows, and no other', async () => {
    await same('SELECT a, count(*), sum(a) FROM nothing GROUP BY ROLLUP (a)');
    await same('SELECT a, b, count(*) FROM nothing GROUP BY GROUPING SETS ((a), (b))');
    await same('SELECT count(*) FROM nothing GROUP BY ()');
    await same('SELECT a, count(*) FROM nothing GROUP BY CUBE (a) HAVING count(*) > 0');
  });

  it('refuses what PostgreSQL refuses', async () => {
    await sameError('SELECT region, qty, count(*) FROM s GROUP BY ROLLUP (region)');
    await sameError('SELECT GROUPING(qty) FROM s GROUP BY ROLLUP (region)');
    await sameError('SELECT region FROM s WHERE GROUPING(region) = 0 GROUP BY ROLLUP (region)');
    await sameError('SELECT count(*) FROM s GROUP BY ROLLUP (region) HAVING qty > 1');
    await sameError('SELECT count(*) FROM s GROUP BY CUBE (id, region, product, yr, qty, price, f, dur, day, id + 1, id + 2, id + 3, id + 4)');
  });

  it('EXPLAIN shows the keys of each set', async () => {
    const r = await db.query('EXPLAIN SELECT region, product, count(*) FROM s GROUP BY ROLLUP (region, product)');
    const lines = r.rows.map((row: { 'QUERY PLAN': string }) => row['QUERY PLAN'].trim());
    expect(lines[0]).toMatch(/^MixedAggregate/);
    expect(lines).toEqual(expect.arrayContaining(['Hash Key: region, product', 'Hash Key: region', 'Group Key: ()']));
  });
});

describe('ordered-set aggregates', () => {
  it('percentile_cont over integers, numeric, float8 and interval, as float8 or interval', async () => {
    await same(`SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY qty), percentile_cont(0.25) WITHIN GROUP (ORDER BY price),
      percentile_cont(0.9) WITHIN GROUP (ORDER BY f), percentile_cont(0.3) WITHIN GROUP (ORDER BY dur),
      percentile_cont(0) WITHIN GROUP (ORDER BY qty), percentile_cont(1) WITHIN GROUP (ORDER BY qty DESC) FROM s`);
    await same('SELECT region, percentile_cont(0.5) WITHIN GROUP (ORDER BY qty DESC), percentile_cont(0.75) WITHIN GROUP (ORDER BY dur) FROM s GROUP BY region ORDER BY 1');
  });

  it('percentile_disc of any sortable type, and mode()', async () => {
    await same(`SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY product), percentile_disc(0.2) WITHIN GROUP (ORDER BY day DESC),
      percentile_disc(0.6) WITHIN GROUP (ORDER BY price), percentile_disc(0) WITHIN GROUP (ORDER BY qty), percentile_disc(1) WITHIN GROUP (ORDER BY dur),
      mode() WITHIN GROUP (ORDER BY product), mode() WITHIN GROUP (ORDER BY qty DESC), mode() WITHIN GROUP (ORDER BY day) FROM s`);
    await same('SELECT yr, mode() WITHIN GROUP (ORDER BY region), percentile_disc(0.5) WITHIN GROUP (ORDER BY f) FROM s GROUP BY yr ORDER BY 1');
  });

  it('takes arrays of fractions, NULL elements and empty arrays included', async () => {
    await same(`SELECT percentile_cont(ARRAY[0.25, 0.5, 0.75]) WITHIN GROUP (ORDER BY qty), percentile_cont(ARRAY[0.5, NULL]::float8[]) WITHIN GROUP (ORDER BY dur),
      percentile_disc(ARRAY[0.1, 0.9]) WITHIN GROUP (ORDER BY product), percentile_disc('{}'::float8[]) WITHIN GROUP (ORDER BY day),
      percentile_cont('{0.5}'::float8[]) WITHIN GROUP (ORDER BY price) FROM s`);
  });

  it('with FILTER, over no rows, NULL fractions, with grouping sets and parameters', async () => {
    await same('SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY qty) FILTER (WHERE region = \'north\'), mode() WITHIN GROUP (ORDER BY product) FILTER (WHERE yr = 2024) FROM s');
    await same('SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY a), percentile_disc(ARRAY[0.5]) WITHIN GROUP (ORDER BY b), mode() WITHIN GROUP (ORDER BY b) FROM nothing');
    await same('SELECT percentile_cont(NULL) WITHIN GROUP (ORDER BY qty), percentile_disc(NULL::float8[]) WITHIN GROUP (ORDER BY qty) FROM s');
    await same('SELECT region, percentile_cont(0.5) WITHIN GROUP (ORDER BY qty) FROM s GROUP BY ROLLUP (region) ORDER BY GROUPING(region), 1');
    await same('SELECT percentile_cont($1) WITHIN GROUP (ORDER BY qty), percentile_disc($2::float8) WITHIN GROUP (ORDER BY product) FROM s', [0.4, 0.7]);
  });

  it('refuses what PostgreSQL refuses, with its SQLSTATEs', async () => {
    await sameError('SELECT percentile_cont(1.5) WITHIN GROUP (ORDER BY qty) FROM s');
    await sameError('SELECT percentile_cont(-0.1) WITHIN GROUP (ORDER BY a) FROM nothing');
    await sameError('SELECT percentile_disc(ARRAY[0.5, 2]) WITHIN GROUP (ORDER BY qty) FROM s');
    await sameError('SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY qty) OVER () FROM s');
    await sameError('SELECT mode() WITHIN GROUP (ORDER BY qty) OVER (PARTITION BY region) FROM s');
    await sameError('SELECT percentile_cont(0.5) OVER () FROM s');
    await sameError('SELECT percentile_cont(0.5) FROM s');
    await sameError('SELECT percentile_cont(0.5, qty) FROM s');
    await sameError('SELECT mode(qty) FROM s');
    await sameError('SELECT sum(qty) WITHIN GROUP (ORDER BY qty) FROM s');
    await sameError('SELECT sum() WITHIN GROUP (ORDER BY qty) FROM s');
    await sameError('SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY product) FROM s');
    await sameError('SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY qty) FROM s WHERE percentile_cont(0.5) WITHIN GROUP (ORDER BY qty) > 1');
    await sameError("SELECT percentile_cont('x') WITHIN GROUP (ORDER BY qty) FROM s");
  });

  it('refuses with 0A000 what Shoal does not do', async () => {
    expect((await sqlError(db.query('SELECT rank(3) WITHIN GROUP (ORDER BY qty) FROM s'))).code).toBe('0A000');
    expect((await sqlError(db.query('SELECT percentile_cont(qty / 100.0) WITHIN GROUP (ORDER BY qty) FROM s GROUP BY qty'))).code).toBe('0A000');
  });
});

describe('window frames in GROUPS mode and with EXCLUDE', () => {
  const frames = [
    'GROUPS BETWEEN 1 PRECEDING AND 1 FOLLOWING',
    'GROUPS BETWEEN CURRENT ROW AND 2 FOLLOWING',
    'GROUPS BETWEEN 2 PRECEDING AND 1 PRECEDING',
    'GROUPS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING',
    'GROUPS UNBOUNDED PRECEDING',
    'GROUPS BETWEEN 0 PRECEDING AND 0 FOLLOWING',
    'GROUPS BETWEEN 5 PRECEDING AND 9 FOLLOWING',
    'ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING EXCLUDE CURRENT ROW',
    'ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING EXCLUDE GROUP',
    'ROWS BETWEEN 2 PRECEDING AND CURRENT ROW EXCLUDE TIES',
    'ROWS UNBOUNDED PRECEDING EXCLUDE NO OTHERS',
    'RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW EXCLUDE CURRENT ROW',
    'RANGE BETWEEN 5 PRECEDING AND 5 FOLLOWING EXCLUDE TIES',
    'RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING EXCLUDE GROUP',
    'GROUPS BETWEEN 1 PRECEDING AND 1 FOLLOWING EXCLUDE CURRENT ROW',
    'GROUPS BETWEEN 1 PRECEDING AND 1 FOLLOWING EXCLUDE GROUP',
    'GROUPS BETWEEN CURRENT ROW AND CURRENT ROW EXCLUDE TIES',
  ];
  for (const frame of frames) {
    // Under ROWS the order of peers decides the frames, and the two sorts need not agree on it: no peers there.
    const rows = frame.startsWith('ROWS');
    const order = rows ? 'qty, id' : 'qty';
    it(frame, async () => {
      await same(`SELECT id, qty, sum(id) OVER w, count(*) OVER w, first_value(id) OVER w, last_value(id) OVER w, nth_value(id, 2) OVER w,
        array_agg(id) OVER w, max(product) OVER w FROM s WINDOW w AS (ORDER BY ${order} ${frame}) ORDER BY qty, id`);
      // RANGE offsets need a numeric order key.
      if (!rows && !(frame.startsWith('RANGE') && /\d/.test(frame))) {
        await same(`SELECT id, sum(qty) OVER (PARTITION BY yr ORDER BY region ${frame}), min(product) OVER (PARTITION BY yr ORDER BY region ${frame})
          FROM s ORDER BY id`);
      }
    });
  }

  it('GROUPS and EXCLUDE over a grouped query and with ties in a descending order', async () => {
    await same(`SELECT region, sum(qty), sum(sum(qty)) OVER (ORDER BY count(*) DESC GROUPS BETWEEN 1 PRECEDING AND CURRENT ROW EXCLUDE TIES)
      FROM s GROUP BY region ORDER BY 1`);
  });

  it('refuses what PostgreSQL refuses', async () => {
    await sameError('SELECT sum(qty) OVER (GROUPS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM s');
    await sameError('SELECT sum(qty) OVER (ORDER BY qty GROUPS BETWEEN -1 PRECEDING AND CURRENT ROW) FROM s');
    await sameError('SELECT sum(qty) OVER (ORDER BY qty GROUPS BETWEEN NULL PRECEDING AND CURRENT ROW) FROM s');
    await same('SELECT id, sum(qty) OVER (ORDER BY qty GROUPS BETWEEN 1.5 PRECEDING AND CURRENT ROW) FROM s ORDER BY id');
    await sameError('SELECT sum(qty) OVER (ORDER BY qty GROUPS BETWEEN qty PRECEDING AND CURRENT ROW) FROM s');
  });
});
