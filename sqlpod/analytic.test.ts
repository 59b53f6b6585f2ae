// The TPC-H-like queries of make bench-sql (bench/sql/analytic.ts), on the
// same generated tables (bench/sql/analytic-schema.ts) at a tiny scale,
// through a real SQL pod and a real PostgreSQL: every query must give the
// same rows on both. Joins of up to six tables, EXISTS and IN subqueries,
// LEFT JOIN under a nested GROUP BY, CASE inside aggregates, date and
// interval arithmetic, numeric sums, averages and division.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANALYTIC_QUERIES, answer, difference, normalizeValue } from '../bench/sql/analytic.js';
import { loadAnalytic } from '../bench/sql/analytic-schema.js';
import { startBesidePostgres, type BesidePostgres } from './testing/beside-postgres.js';

/** About 2,000 lineitem rows. */
const SCALE = { orders: 500 };

let shoal: pg.Client;
let reference: pg.Client;
let side: BesidePostgres;

beforeAll(async () => {
  side = await startBesidePostgres('analytic');
  ({ shoal, reference } = side);
  const [loaded, expected] = await Promise.all([loadAnalytic(shoal, SCALE), loadAnalytic(reference, SCALE)]);
  expect(loaded).toEqual(expected);
}, 120_000);

afterAll(async () => {
  await side?.stop();
});

describe('TPC-H-like queries, Shoal beside PostgreSQL', () => {
  for (const query of ANALYTIC_QUERIES) {
    it(query.name, async () => {
      const expected = await answer(reference, query.sql);
      // An empty answer would compare equal however wrong the engine is.
      expect(expected.rows.length).toBeGreaterThan(0);
      const actual = await answer(shoal, query.sql);
      expect(difference(expected, actual)).toBeUndefined();
      expect(actual).toEqual(expected);
    });
  }
});

// TPC-H's queries whose subqueries read the outer row, adapted to the tiny
// scale: each subquery's scan is keyed by the outer row's value
// (plan/index-selection.ts), which must not change the answer.
describe('correlated subqueries, Shoal beside PostgreSQL', () => {
  const statements = [
    // Q2
    `SELECT s_acctbal, s_name, n_name, p_partkey FROM part, supplier, partsupp, nation, region
     WHERE p_partkey = ps_partkey AND s_suppkey = ps_suppkey AND p_size > 25 AND s_nationkey = n_nationkey AND n_regionkey = r_regionkey
       AND ps_supplycost = (SELECT min(ps_supplycost) FROM partsupp, supplier WHERE p_partkey = ps_partkey AND s_suppkey = ps_suppkey)
     ORDER BY s_acctbal DESC, n_name, s_name, p_partkey LIMIT 100`,
    // Q17
    `SELECT sum(l_extendedprice) / 7.0 AS avg_yearly FROM lineitem, part
     WHERE p_partkey = l_partkey AND p_brand LIKE 'Brand#2%' AND l_quantity < (SELECT 0.8 * avg(l_quantity) FROM lineitem WHERE l_partkey = p_partkey)`,
    // Q20
    `SELECT s_name FROM supplier, nation WHERE s_suppkey IN (
       SELECT ps_suppkey FROM partsupp WHERE ps_partkey IN (SELECT p_partkey FROM part WHERE p_name LIKE '%green%')
         AND ps_availqty > (SELECT 0.5 * sum(l_quantity) FROM lineitem WHERE l_partkey = ps_partkey AND l_suppkey = ps_suppkey
                            AND l_shipdate >= date '1994-01-01' AND l_shipdate < date '1994-01-01' + interval '1 year'))
     AND s_nationkey = n_nationkey ORDER BY s_name`,
    // Q21
    `SELECT s_name, count(*) AS numwait FROM supplier, lineitem l1, orders, nation
     WHERE s_suppkey = l1.l_suppkey AND o_orderkey = l1.l_orderkey AND o_orderstatus = 'F' AND l1.l_receiptdate > l1.l_commitdate
       AND EXISTS (SELECT * FROM lineitem l2 WHERE l2.l_orderkey = l1.l_orderkey AND l2.l_suppkey <> l1.l_suppkey)
       AND NOT EXISTS (SELECT * FROM lineitem l3 WHERE l3.l_orderkey = l1.l_orderkey AND l3.l_suppkey <> l1.l_suppkey AND l3.l_receiptdate > l3.l_commitdate)
       AND s_nationkey = n_nationkey
     GROUP BY s_name ORDER BY numwait DESC, s_name LIMIT 100`,
    // Q22
    `SELECT cntrycode, count(*) AS numcust, sum(c_acctbal) AS totacctbal FROM (
       SELECT substring(c_phone FROM 1 FOR 2) AS cntrycode, c_acctbal FROM customer
       WHERE substring(c_phone FROM 1 FOR 2) IN ('13', '31', '23', '29', '30', '18', '17')
         AND c_acctbal > (SELECT avg(c_acctbal) FROM customer WHERE c_acctbal > 0.00 AND substring(c_phone FROM 1 FOR 2) IN ('13', '31', '23', '29', '30', '18', '17'))
         AND NOT EXISTS (SELECT * FROM orders WHERE o_custkey = c_custkey)) AS custsale
     GROUP BY cntrycode ORDER BY cntrycode`,
    // Keyed by an expression over the outer row, and by a NULL outer value.
    `SELECT o_orderkey, (SELECT count(*) FROM lineitem WHERE l_orderkey = o_orderkey + 1 AND l_linenumber = 1) FROM orders WHERE o_orderkey <= 20`,
    `SELECT k, EXISTS (SELECT 1 FROM orders WHERE o_orderkey = k) FROM (VALUES (1), (NULL), (3)) AS v (k)`,
  ];
  for (const [i, sql] of statements.entries()) {
    it(`${i}: ${sql.replace(/\s+/g, ' ').slice(0, 90)}`, async () => {
      const expected = await answer(reference, sql);
      expect(expected.rows.length).toBeGreaterThan(0);
      expect(expected.rows[0]?.[0]).not.toBeNull();
      expect(await answer(shoal, sql)).toEqual(expected);
    });
  }
});

// TPC-H's own Q19 repeats the join condition in each arm of an OR; the
// planner takes it out (plan/index-selection.ts) to hash-join on it. The
// rewrite must not change answers, NULLs included.
describe('OR arms sharing conditions, Shoal beside PostgreSQL', () => {
  const statements = [
    `SELECT sum(l_extendedprice * (1 - l_discount)) AS revenue, count(*) FROM lineitem, part
     WHERE (p_partkey = l_partkey AND p_brand = 'Brand#12' AND l_quantity <= 25 AND l_shipmode IN ('AIR', 'REG AIR'))
        OR (p_partkey = l_partkey AND p_brand = 'Brand#23' AND l_quantity >= 10 AND l_shipinstruct = 'DELIVER IN PERSON')
        OR (p_size BETWEEN 1 AND 10 AND l_partkey = p_partkey AND p_brand = 'Brand#34')`,
    'SELECT id FROM orn WHERE (a = 1 AND b = 2) OR (a = 1 AND c = 3) ORDER BY id',
    'SELECT id FROM orn WHERE (a = 1 AND b = 2) OR a = 1 ORDER BY id',
    'SELECT id FROM orn WHERE NOT ((a = 1 AND b = 2) OR (c = 3 AND a = 1)) ORDER BY id',
    'SELECT id, (a = 1 AND b = 2) OR (a = 1 AND c = 3) AS f FROM orn ORDER BY id',
    'SELECT x.id, y.id FROM orn x LEFT JOIN orn y ON (x.a = y.b AND y.c = 3) OR (y.b = x.a AND x.c IS NULL) ORDER BY 1, 2',
    'SELECT x.id, y.id FROM orn x, orn y WHERE (x.a = y.a AND x.b = 2) OR (x.a = y.a AND y.c = 3) ORDER BY 1, 2',
  ];
  beforeAll(async () => {
    for (const client of [shoal, reference]) {
      await client.query('CREATE TABLE orn (id integer PRIMARY KEY, a integer, b integer, c integer)');
      await client.query('INSERT INTO orn VALUES (1, 1, 2, 3), (2, 1, NULL, 3), (3, 1, 2, NULL), (4, NULL, 2, 3), (5, 1, 5, 5), (6, NULL, NULL, NULL), (7, 2, 2, 3), (8, 1, NULL, NULL)');
    }
  });
  for (const sql of statements) {
    it(sql.replace(/\s+/g, ' ').slice(0, 100), async () => {
      const expected = await answer(reference, sql);
      expect(expected.rows.length).toBeGreaterThan(0);
      expect(await answer(shoal, sql)).toEqual(expected);
    });
  }
});

describe('answer comparison', () => {
  it('rounds decimals to six places, so display scale does not count but value does', () => {
    expect(normalizeValue('12.5000000000000000')).toBe('12.5');
    expect(normalizeValue('12.50')).toBe('12.5');
    expect(normalizeValue('-0.0000004')).toBe('0');
    expect(normalizeValue('-2.0000005')).toBe('-2.000001');
    expect(normalizeValue('99.9999996')).toBe('100');
    expect(normalizeValue('100')).toBe('100');
    expect(normalizeValue('1995-03-15')).toBe('1995-03-15');
    expect(normalizeValue('12.500001')).not.toBe(normalizeValue('12.5'));
  });

  it('names the first differing row', () => {
    const base = { columns: ['a', 'b'], rows: [['1', 'x'], ['2', 'y']] };
    expect(difference(base, { columns: ['a', 'b'], rows: [['1', 'x'], ['2', 'y']] })).toBeUndefined();
    expect(difference(base, { columns: ['a', 'c'], rows: base.rows })).toMatch(/columns/);
    expect(difference(base, { columns: ['a', 'b'], rows: [['1', 'x']] })).toBe('1 rows, expected 2');
    expect(difference(base, { columns: ['a', 'b'], rows: [['1', 'x'], ['2', 'z']] })).toMatch(/^row 1 /);
  });
});
