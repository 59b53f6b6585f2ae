// Lookup joins against a real kvpod and pod, with PostgreSQL as the
// reference: every query gives PostgreSQL's rows (sorted) both as a lookup
// join and as a hash join (shoal.join_strategy forces each), the plan shows
// which one ran, and EXPLAIN ANALYZE shows the lookup reading a handful of
// rows where the hash join reads the whole table.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlPod } from './pod.js';
import { startBesidePostgres, type BesidePostgres } from './testing/beside-postgres.js';
import { sqlError } from './testing/fixtures.js';

let pod: SqlPod;
let db: pg.Client;
let reference: pg.Client;
let side: BesidePostgres;

const CUSTOMERS = 2000;
const ORDERS = 5000;

const SETUP = [
  'CREATE TABLE customers (id int PRIMARY KEY, name text, region text, score int, code text)',
  'CREATE INDEX customers_region_score ON customers (region, score)',
  'CREATE UNIQUE INDEX customers_code ON customers (code)',
  'CREATE TABLE orders (id int PRIMARY KEY, customer_id int, amount int, ref bigint)',
  'CREATE INDEX orders_customer ON orders (customer_id)',
  'CREATE TABLE items (order_id int, line int, sku text, PRIMARY KEY (order_id, line))',
  `INSERT INTO customers SELECT i, 'c' || i, 'r' || (i % 7), i % 13, 'k' || i FROM generate_series(1, ${CUSTOMERS}) AS g(i)`,
  // Some orders have no customer (NULL) or one that does not exist; `ref` is the customer as bigint, some beyond int's range.
  `INSERT INTO orders SELECT i,
     CASE WHEN i % 17 = 0 THEN NULL WHEN i % 23 = 0 THEN 3000 + i ELSE (i * 7) % ${CUSTOMERS} + 1 END,
     i % 100,
     CASE WHEN i % 29 = 0 THEN 1099511627776 + i ELSE (i * 7) % ${CUSTOMERS} + 1 END
   FROM generate_series(1, ${ORDERS}) AS g(i)`,
  `INSERT INTO items SELECT o, l, 's' || o || '-' || l FROM generate_series(1, 500) AS a(o), generate_series(1, 3) AS b(l) WHERE l <= o % 4`,
];

beforeAll(async () => {
  side = await startBesidePostgres('lookupjoin', { setup: SETUP });
  ({ pod, shoal: db, reference } = side);
}, 120_000);

afterAll(async () => {
  await side?.stop();
});

async function planOf(sql: string): Promise<string> {
  const result = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`);
  return result.rows.map((r) => r['QUERY PLAN']).join('\n');
}

async function sortedRows(client: pg.Client, sql: string): Promise<string[]> {
  const result = await client.query({ text: sql, rowMode: 'array' });
  return (result.rows as unknown[][]).map((r) => JSON.stringify(r)).sort();
}

async function withStrategy<R>(strategy: 'auto' | 'hash' | 'lookup', work: () => Promise<R>): Promise<R> {
  await db.query(`SET shoal.join_strategy = ${strategy}`);
  try {
    return await work();
  } finally {
    await db.query('RESET shoal.join_strategy');
  }
}

const cases: { name: string; sql: string; lookup: RegExp }[] = [
  {
    name: 'inner join on a primary key',
    sql: 'SELECT o.id, o.amount, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id BETWEEN 10 AND 400',
    lookup: /Lookup Join on customers using customers_pkey/,
  },
  {
    name: 'left join on a primary key: NULL keys and keys without a row',
    sql: 'SELECT o.id, o.customer_id, c.id, c.name FROM orders o LEFT JOIN customers c ON c.id = o.customer_id WHERE o.id <= 600',
    lookup: /Lookup Left Join on customers using customers_pkey/,
  },
  {
    name: 'right join looks up its left side',
    sql: 'SELECT c.name, o.id FROM customers c RIGHT JOIN orders o ON c.id = o.customer_id WHERE o.id < 200',
    lookup: /Lookup Left Join on customers using customers_pkey/,
  },
  {
    name: 'non-unique secondary index: several matches per key',
    sql: 'SELECT c.id, o.id, o.amount FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.id < 300',
    lookup: /Lookup Join on orders using orders_customer/,
  },
  {
    name: "left join through a secondary index with the table's own ON condition",
    sql: 'SELECT c.id, o.id, o.amount FROM customers c LEFT JOIN orders o ON o.customer_id = c.id AND o.amount > 50 WHERE c.id < 300',
    lookup: /Lookup Left Join on orders using orders_customer/,
  },
  {
    name: 'duplicate and NULL input keys',
    sql: `SELECT v.k, v.tag, c.name FROM (VALUES (1, 'a'), (1, 'b'), (2, 'c'), (NULL, 'd'), (99999, 'e'), (2, 'f')) AS v(k, tag) JOIN customers c ON c.id = v.k`,
    lookup: /Lookup Join on customers using customers_pkey/,
  },
  {
    name: 'duplicate and NULL input keys, left join',
    sql: `SELECT v.k, v.tag, c.name FROM (VALUES (1, 'a'), (1, 'b'), (NULL, 'd'), (99999, 'e')) AS v(k, tag) LEFT JOIN customers c ON c.id = v.k`,
    lookup: /Lookup Left Join on customers using customers_pkey/,
  },
  {
    name: 'prefix of a two-column primary key',
    sql: 'SELECT o.id, i.line, i.sku FROM orders o JOIN items i ON i.order_id = o.id WHERE o.id < 120',
    lookup: /Lookup Join on items using items_pkey/,
  },
  {
    name: 'both columns of a two-column secondary index',
    sql: 'SELECT x.id, c.id FROM customers x JOIN customers c ON c.region = x.region AND c.score = x.score WHERE x.id < 30',
    lookup: /Lookup Join on customers using customers_region_score/,
  },
  {
    name: 'first column of a two-column secondary index, with a non-equi condition',
    sql: 'SELECT x.id, c.id FROM customers x JOIN customers c ON c.region = x.region AND c.score < x.score - 10 WHERE x.id < 15',
    lookup: /Lookup Join on customers using customers_region_score/,
  },
  {
    name: 'unique secondary index keyed by an expression',
    sql: `SELECT o.id, c.id, c.code FROM orders o LEFT JOIN customers c ON c.code = 'k' || o.customer_id WHERE o.id < 300`,
    lookup: /Lookup Left Join on customers using customers_code/,
  },
  {
    name: 'extra non-equi join condition between the sides',
    sql: 'SELECT o.id, c.id FROM orders o JOIN customers c ON c.id = o.customer_id AND c.score > o.amount % 13 WHERE o.id < 700',
    lookup: /Lookup Join on customers using customers_pkey/,
  },
  {
    name: 'bigint keys into an int column, some out of its range',
    sql: 'SELECT o.id, o.ref, c.id FROM orders o LEFT JOIN customers c ON c.id = o.ref WHERE o.id < 400',
    lookup: /Lookup Left Join on customers using customers_pkey/,
  },
  {
    name: 'thousands of input rows (several batches)',
    sql: 'SELECT o.id, c.name FROM orders o JOIN customers c ON c.id = o.customer_id',
    lookup: /Lookup Join on customers using customers_pkey/,
  },
  {
    name: 'thousands of input rows into a non-unique index, left join',
    sql: 'SELECT c.id, o.id FROM customers c LEFT JOIN orders o ON o.customer_id = c.id',
    lookup: /Lookup Left Join on orders using orders_customer/,
  },
  {
    name: 'three tables, two lookups',
    sql: 'SELECT o.id, c.name, i.sku FROM orders o JOIN customers c ON c.id = o.customer_id JOIN items i ON i.order_id = o.id WHERE o.id < 200',
    lookup: /Lookup Join on items using items_pkey[\s\S]*Lookup Join on customers|Lookup Join on customers[\s\S]*Lookup Join on items/,
  },
];

describe('lookup join results equal PostgreSQL and the hash join', () => {
  it.each(cases)('$name', async ({ sql, lookup }) => {
    const want = await sortedRows(reference, sql);
    expect(want.length).toBeGreaterThan(0);
    const viaLookup = await withStrategy('lookup', async () => {
      expect(await planOf(sql)).toMatch(lookup);
      return sortedRows(db, sql);
    });
    const viaHash = await withStrategy('hash', async () => {
      expect(await planOf(sql)).not.toMatch(/Lookup/);
      return sortedRows(db, sql);
    });
    expect(viaLookup).toEqual(want);
    expect(viaHash).toEqual(want);
  });
});

/** KV figures of the plan node on the first line matching `node`. */
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

async function analyze(sql: string): Promise<string[]> {
  const result = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ANALYZE ${sql}`);
  return result.rows.map((r) => r['QUERY PLAN']);
}

describe('choosing the lookup join', () => {
  const point = 'SELECT o.id, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = 7';

  it('reads a handful of customers for a point query on orders, where the hash join reads them all', async () => {
    const lookup = await analyze(point);
    expect(lookup.join('\n')).toMatch(/Lookup Join on customers using customers_pkey/);
    expect(lookup.join('\n')).toMatch(/Lookup Cond: \(customers\.id = orders\.customer_id\)/);
    const reads = kvReads(lookup, /Lookup Join/);
    expect(reads.rows).toBeLessThanOrEqual(5);
    expect(reads.roundTrips).toBeLessThanOrEqual(2);
    // The input scan's reads are its own, not the join's.
    expect(kvReads(lookup, /Index Scan using orders_pkey/).rows).toBe(1);

    const hashed = await withStrategy('hash', () => analyze(point));
    expect(hashed.join('\n')).toMatch(/Hash Join/);
    expect(kvReads(hashed, /Seq Scan on customers/).rows).toBeGreaterThanOrEqual(CUSTOMERS);
    expect(await sortedRows(db, point)).toEqual(await sortedRows(reference, point));
  });

  it("shows in the pod's KV counters for the statement itself", async () => {
    const rowsRead = async (work: () => Promise<unknown>): Promise<number> => {
      const before = await metric('shoal_sqlpod_kv_rows_read_total');
      await work();
      return (await metric('shoal_sqlpod_kv_rows_read_total')) - before;
    };
    const lookup = await rowsRead(() => db.query(point));
    const hashed = await withStrategy('hash', () => rowsRead(() => db.query(point)));
    // The order, its customer, and the catalog version read with the first read.
    expect(lookup).toBeLessThanOrEqual(5);
    expect(hashed).toBeGreaterThanOrEqual(CUSTOMERS);
  });

  it('looks up a LIMITed input and VALUES lists, and hashes two whole tables', async () => {
    expect(await planOf('SELECT * FROM (SELECT * FROM orders LIMIT 3) o JOIN customers c ON c.id = o.customer_id')).toMatch(/Lookup Join on customers/);
    expect(await planOf('SELECT * FROM (VALUES (1), (5)) v(k) LEFT JOIN orders o ON o.customer_id = v.k')).toMatch(/Lookup Left Join on orders using orders_customer/);
    const whole = await planOf('SELECT * FROM orders o JOIN customers c ON c.id = o.customer_id');
    expect(whole).toMatch(/Hash Join/);
    expect(whole).not.toMatch(/Lookup/);
    // A range is no bound: it may be most of the table.
    expect(await planOf('SELECT * FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id <= 5000')).not.toMatch(/Lookup/);
    expect(await planOf('SELECT * FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.region = $$r1$$')).toMatch(/Lookup Join on orders using orders_customer/);
    // A table read by a point read of its own needs no lookup.
    expect(await planOf('SELECT * FROM orders o LEFT JOIN customers c ON c.id = o.customer_id AND c.id = 3 WHERE o.id < 10')).not.toMatch(/Lookup/);
  });

  it('full joins and joins without an index on the key stay hash joins even when lookup is forced', async () => {
    await withStrategy('lookup', async () => {
      expect(await planOf('SELECT * FROM orders o FULL JOIN customers c ON c.id = o.customer_id WHERE o.id < 5')).not.toMatch(/Lookup/);
      expect(await planOf('SELECT * FROM customers c JOIN orders o ON o.amount = c.score WHERE c.id = 1')).not.toMatch(/Lookup/);
    });
  });

  it('checks the setting', async () => {
    expect(await sqlError(db.query('SET shoal.join_strategy = sideways'))).toMatchObject({ code: '22023' });
    await withStrategy('lookup', async () => {
      expect((await db.query('SHOW shoal.join_strategy')).rows).toEqual([{ 'shoal.join_strategy': 'lookup' }]);
    });
  });
});
