// The analytic part of make bench-sql: TPC-H-like join and aggregate queries
// over the tables of ./analytic-schema.ts, on every target. Each query's
// answer on each target must equal PostgreSQL's (a wrong answer fails the
// bench); then the queries run `reps` times per target, the targets taking
// turns query by query, and each target's median time counts. The headline
// is PostgreSQL ms ÷ Shoal ms per query, geometric mean over the queries:
// like the other ratios, Shoal's speed relative to PostgreSQL's, higher is
// better for Shoal.
import type pg from 'pg';
import { performance } from 'node:perf_hooks';

export interface AnalyticQuery {
  /** q1, q3, …: the TPC-H query it follows. */
  name: string;
  sql: string;
}

// TPC-H's queries with their validation parameters, adapted: fewer columns,
// a tiebreaker in ORDER BY where LIMIT would otherwise cut between equal rows,
// Q18's threshold lowered to suit orders of at most 7 lines, Q19's join
// condition factored out of its OR.
export const ANALYTIC_QUERIES: readonly AnalyticQuery[] = [
  {
    name: 'q1',
    sql: `SELECT l_returnflag, l_linestatus, sum(l_quantity) AS sum_qty, sum(l_extendedprice) AS sum_base_price,
  sum(l_extendedprice * (1 - l_discount)) AS sum_disc_price, sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS sum_charge,
  avg(l_quantity) AS avg_qty, avg(l_extendedprice) AS avg_price, avg(l_discount) AS avg_disc, count(*) AS count_order
FROM lineitem
WHERE l_shipdate <= date '1998-12-01' - interval '90 day'
GROUP BY l_returnflag, l_linestatus
ORDER BY l_returnflag, l_linestatus`,
  },
  {
    name: 'q3',
    sql: `SELECT l_orderkey, sum(l_extendedprice * (1 - l_discount)) AS revenue, o_orderdate, o_shippriority
FROM customer, orders, lineitem
WHERE c_mktsegment = 'BUILDING' AND c_custkey = o_custkey AND l_orderkey = o_orderkey
  AND o_orderdate < date '1995-03-15' AND l_shipdate > date '1995-03-15'
GROUP BY l_orderkey, o_orderdate, o_shippriority
ORDER BY revenue DESC, o_orderdate, l_orderkey
LIMIT 10`,
  },
  {
    name: 'q4',
    sql: `SELECT o_orderpriority, count(*) AS order_count
FROM orders
WHERE o_orderdate >= date '1993-07-01' AND o_orderdate < date '1993-07-01' + interval '3 month'
  AND EXISTS (SELECT * FROM lineitem WHERE l_orderkey = o_orderkey AND l_commitdate < l_receiptdate)
GROUP BY o_orderpriority
ORDER BY o_orderpriority`,
  },
  {
    name: 'q5',
    sql: `SELECT n_name, sum(l_extendedprice * (1 - l_discount)) AS revenue
FROM customer, orders, lineitem, supplier, nation, region
WHERE c_custkey = o_custkey AND l_orderkey = o_orderkey AND l_suppkey = s_suppkey AND c_nationkey = s_nationkey
  AND s_nationkey = n_nationkey AND n_regionkey = r_regionkey AND r_name = 'ASIA'
  AND o_orderdate >= date '1994-01-01' AND o_orderdate < date '1994-01-01' + interval '1 year'
GROUP BY n_name
ORDER BY revenue DESC`,
  },
  {
    name: 'q6',
    sql: `SELECT sum(l_extendedprice * l_discount) AS revenue
FROM lineitem
WHERE l_shipdate >= date '1994-01-01' AND l_shipdate < date '1994-01-01' + interval '1 year'
  AND l_discount BETWEEN 0.06 - 0.01 AND 0.06 + 0.01 AND l_quantity < 24`,
  },
  {
    name: 'q9',
    sql: `SELECT nation, o_year, sum(amount) AS sum_profit
FROM (
  SELECT n_name AS nation, extract(year FROM o_orderdate) AS o_year,
    l_extendedprice * (1 - l_discount) - ps_supplycost * l_quantity AS amount
  FROM part, supplier, lineitem, partsupp, orders, nation
  WHERE s_suppkey = l_suppkey AND ps_suppkey = l_suppkey AND ps_partkey = l_partkey AND p_partkey = l_partkey
    AND o_orderkey = l_orderkey AND s_nationkey = n_nationkey AND p_name LIKE '%green%'
) AS profit
GROUP BY nation, o_year
ORDER BY nation, o_year DESC`,
  },
  {
    name: 'q10',
    sql: `SELECT c_custkey, c_name, sum(l_extendedprice * (1 - l_discount)) AS revenue, c_acctbal, n_name, c_address, c_phone
FROM customer, orders, lineitem, nation
WHERE c_custkey = o_custkey AND l_orderkey = o_orderkey
  AND o_orderdate >= date '1993-10-01' AND o_orderdate < date '1993-10-01' + interval '3 month'
  AND l_returnflag = 'R' AND c_nationkey = n_nationkey
GROUP BY c_custkey, c_name, c_acctbal, c_phone, n_name, c_address
ORDER BY revenue DESC, c_custkey
LIMIT 20`,
  },
  {
    name: 'q12',
    sql: `SELECT l_shipmode,
  sum(CASE WHEN o_orderpriority = '1-URGENT' OR o_orderpriority = '2-HIGH' THEN 1 ELSE 0 END) AS high_line_count,
  sum(CASE WHEN o_orderpriority <> '1-URGENT' AND o_orderpriority <> '2-HIGH' THEN 1 ELSE 0 END) AS low_line_count
FROM orders, lineitem
WHERE o_orderkey = l_orderkey AND l_shipmode IN ('MAIL', 'SHIP') AND l_commitdate < l_receiptdate AND l_shipdate < l_commitdate
  AND l_receiptdate >= date '1994-01-01' AND l_receiptdate < date '1994-01-01' + interval '1 year'
GROUP BY l_shipmode
ORDER BY l_shipmode`,
  },
  {
    name: 'q13',
    sql: `SELECT c_count, count(*) AS custdist
FROM (
  SELECT c_custkey, count(o_orderkey)
  FROM customer LEFT OUTER JOIN orders ON c_custkey = o_custkey AND o_comment NOT LIKE '%special%requests%'
  GROUP BY c_custkey
) AS c_orders (c_custkey, c_count)
GROUP BY c_count
ORDER BY custdist DESC, c_count DESC`,
  },
  {
    name: 'q14',
    sql: `SELECT 100.00 * sum(CASE WHEN p_type LIKE 'PROMO%' THEN l_extendedprice * (1 - l_discount) ELSE 0 END)
  / sum(l_extendedprice * (1 - l_discount)) AS promo_revenue
FROM lineitem, part
WHERE l_partkey = p_partkey AND l_shipdate >= date '1995-09-01' AND l_shipdate < date '1995-09-01' + interval '1 month'`,
  },
  {
    name: 'q18',
    sql: `SELECT c_name, c_custkey, o_orderkey, o_orderdate, o_totalprice, sum(l_quantity)
FROM customer, orders, lineitem
WHERE o_orderkey IN (SELECT l_orderkey FROM lineitem GROUP BY l_orderkey HAVING sum(l_quantity) > 250)
  AND c_custkey = o_custkey AND o_orderkey = l_orderkey
GROUP BY c_name, c_custkey, o_orderkey, o_orderdate, o_totalprice
ORDER BY o_totalprice DESC, o_orderdate, o_orderkey
LIMIT 100`,
  },
  {
    name: 'q19',
    sql: `SELECT sum(l_extendedprice * (1 - l_discount)) AS revenue
FROM lineitem, part
WHERE p_partkey = l_partkey AND l_shipmode IN ('AIR', 'REG AIR') AND l_shipinstruct = 'DELIVER IN PERSON' AND (
  (p_brand = 'Brand#12' AND p_container IN ('SM CASE', 'SM BOX', 'SM PACK', 'SM PKG') AND l_quantity BETWEEN 1 AND 11 AND p_size BETWEEN 1 AND 5)
  OR (p_brand = 'Brand#23' AND p_container IN ('MED BAG', 'MED BOX', 'MED PKG', 'MED PACK') AND l_quantity BETWEEN 10 AND 20 AND p_size BETWEEN 1 AND 10)
  OR (p_brand = 'Brand#34' AND p_container IN ('LG CASE', 'LG BOX', 'LG PACK', 'LG PKG') AND l_quantity BETWEEN 20 AND 30 AND p_size BETWEEN 1 AND 15))`,
  },
];

/** Every value as the server's text, so that both targets are compared as they answer, not as a client library parses. */
const RAW_TEXT: pg.CustomTypesConfig = { getTypeParser: () => (value: string) => value };
/** Decimal digits kept when comparing: aggregates of numerics (avg, division) may differ in display scale, not in value. */
const COMPARED_DECIMALS = 6;

/** A decimal string rounded half away from zero to `COMPARED_DECIMALS` places, trailing zeros dropped; other values as they are. */
export function normalizeValue(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const m = /^(-?)(\d+)\.(\d+)$/.exec(value);
  if (!m) return value;
  const [, sign = '', whole = '', fraction = ''] = m;
  let digits = BigInt(whole + fraction.slice(0, COMPARED_DECIMALS).padEnd(COMPARED_DECIMALS, '0'));
  if ((fraction[COMPARED_DECIMALS] ?? '0') >= '5') digits += 1n;
  const text = digits.toString().padStart(COMPARED_DECIMALS + 1, '0');
  const rounded = `${text.slice(0, -COMPARED_DECIMALS)}.${text.slice(-COMPARED_DECIMALS)}`.replace(/\.?0+$/, '');
  return rounded === '0' ? '0' : `${sign}${rounded}`;
}

export interface QueryAnswer {
  columns: string[];
  /** Rows of normalized values, sorted (as JSON), so that ties under ORDER BY do not count as differences. */
  rows: unknown[][];
}

export async function answer(client: pg.Client, sql: string): Promise<QueryAnswer> {
  const result = await client.query({ text: sql, rowMode: 'array', types: RAW_TEXT });
  const rows = (result.rows as unknown[][]).map((row) => row.map(normalizeValue));
  const key = (row: unknown[]) => JSON.stringify(row);
  rows.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  return { columns: result.fields.map((f) => f.name), rows };
}

/** What differs between a target's answer and the reference's, or undefined when they agree. */
export function difference(expected: QueryAnswer, actual: QueryAnswer): string | undefined {
  if (JSON.stringify(expected.columns) !== JSON.stringify(actual.columns)) return `columns ${JSON.stringify(actual.columns)}, expected ${JSON.stringify(expected.columns)}`;
  if (actual.rows.length !== expected.rows.length) return `${actual.rows.length} rows, expected ${expected.rows.length}`;
  const i = actual.rows.findIndex((row, j) => JSON.stringify(row) !== JSON.stringify(expected.rows[j]));
  return i < 0 ? undefined : `row ${i} (sorted) is ${JSON.stringify(actual.rows[i])}, expected ${JSON.stringify(expected.rows[i])}`;
}

export interface AnalyticTarget {
  name: string;
  client: pg.Client;
}

export interface AnalyticQueryResult {
  rows: number;
  /** Median ms per target name. */
  medianMs: Record<string, number>;
  /** Every timed run, ms, per target name. */
  runsMs: Record<string, number[]>;
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? Number.NaN) + (s[mid] ?? Number.NaN)) / 2;
};

/**
 * Checks every query's answer on every target against the first target's
 * (the reference), throwing on the first difference or on an empty answer
 * (a query that selects nothing checks nothing); then times each query
 * `reps` times per target, the targets taking turns, and the order of the
 * targets alternating from one repetition to the next. `progress` hears of
 * each query as it is done (a slow target takes minutes over all of them).
 */
export async function runAnalyticQueries(
  targets: readonly AnalyticTarget[],
  reps: number,
  progress: (line: string) => void = () => undefined,
  queries = ANALYTIC_QUERIES,
): Promise<Record<string, AnalyticQueryResult>> {
  const [reference, ...others] = targets;
  if (!reference) throw new Error('no targets');
  const results: Record<string, AnalyticQueryResult> = {};
  for (const query of queries) {
    const expected = await answer(reference.client, query.sql);
    if (expected.rows.length === 0) throw new Error(`analytic ${query.name}: ${reference.name} answers no rows; the data does not exercise it`);
    for (const target of others) {
      const actual = await answer(target.client, query.sql).catch((err: unknown) => {
        throw new Error(`analytic ${query.name} failed on ${target.name}: ${err instanceof Error ? err.message : String(err)}\n${query.sql}`);
      });
      const diff = difference(expected, actual);
      if (diff) throw new Error(`analytic ${query.name}: ${target.name} answers differently from ${reference.name}: ${diff}\n${query.sql}`);
    }
    const runsMs: Record<string, number[]> = Object.fromEntries(targets.map((t) => [t.name, []]));
    for (let rep = 0; rep < reps; rep++) {
      for (const target of rep % 2 ? [...targets].reverse() : targets) {
        const started = performance.now();
        await target.client.query({ text: query.sql, rowMode: 'array', types: RAW_TEXT });
        runsMs[target.name]?.push(performance.now() - started);
      }
    }
    const medianMs = Object.fromEntries(Object.entries(runsMs).map(([name, runs]) => [name, median(runs)]));
    results[query.name] = { rows: expected.rows.length, medianMs, runsMs };
    progress(`analytic ${query.name}: same answer on every target, median ${Object.entries(medianMs).map(([name, ms]) => `${name} ${ms.toFixed(1)} ms`).join(', ')}`);
  }
  return results;
}

/** PostgreSQL ms ÷ Shoal ms per query (higher is better for Shoal), and their geometric mean. */
export function analyticRatio(results: Record<string, AnalyticQueryResult>, shoal = 'shoal', postgres = 'postgres'): { ratio: number; perQuery: Record<string, number> } {
  const perQuery = Object.fromEntries(Object.entries(results).map(([name, r]) => [name, (r.medianMs[postgres] ?? Number.NaN) / (r.medianMs[shoal] ?? Number.NaN)]));
  const logs = Object.values(perQuery).map(Math.log);
  return { ratio: Math.exp(logs.reduce((s, x) => s + x, 0) / logs.length), perQuery };
}
