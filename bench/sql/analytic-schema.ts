// The analytic bench's tables: TPC-H's eight tables and join graph, narrowed
// to the columns the queries read, filled by a seeded generator so that every
// target (and sqlpod/analytic.test.ts) gets the very same rows. Loaded with
// plain multi-row INSERTs, one transaction per batch: portable, and each
// commit stays well inside kvpod's per-commit limits.
import type pg from 'pg';
import { mulberry32 } from '../../shared/testing/prng.js';

/** lineitem averages four rows per order; the other tables keep TPC-H's proportions to orders. */
export interface AnalyticScale {
  orders: number;
}

/** About 40,000 lineitem rows: TPC-H scale factor 0.0067. */
export const BENCH_SCALE: AnalyticScale = { orders: 10_000 };

const BATCH_ROWS = 500;

export const ANALYTIC_TABLES = ['region', 'nation', 'supplier', 'customer', 'part', 'partsupp', 'orders', 'lineitem'] as const;

const DDL = [
  'CREATE TABLE region (r_regionkey integer PRIMARY KEY, r_name text NOT NULL)',
  'CREATE TABLE nation (n_nationkey integer PRIMARY KEY, n_name text NOT NULL, n_regionkey integer NOT NULL)',
  'CREATE TABLE supplier (s_suppkey integer PRIMARY KEY, s_name text NOT NULL, s_nationkey integer NOT NULL, s_acctbal numeric(12,2) NOT NULL)',
  'CREATE TABLE customer (c_custkey integer PRIMARY KEY, c_name text NOT NULL, c_address text NOT NULL, c_nationkey integer NOT NULL, ' +
    'c_phone text NOT NULL, c_acctbal numeric(12,2) NOT NULL, c_mktsegment text NOT NULL)',
  'CREATE TABLE part (p_partkey integer PRIMARY KEY, p_name text NOT NULL, p_brand text NOT NULL, p_type text NOT NULL, p_size integer NOT NULL, ' +
    'p_container text NOT NULL, p_retailprice numeric(12,2) NOT NULL)',
  'CREATE TABLE partsupp (ps_partkey integer NOT NULL, ps_suppkey integer NOT NULL, ps_availqty integer NOT NULL, ps_supplycost numeric(12,2) NOT NULL, ' +
    'PRIMARY KEY (ps_partkey, ps_suppkey))',
  'CREATE TABLE orders (o_orderkey integer PRIMARY KEY, o_custkey integer NOT NULL, o_orderstatus text NOT NULL, o_totalprice numeric(12,2) NOT NULL, ' +
    'o_orderdate date NOT NULL, o_orderpriority text NOT NULL, o_shippriority integer NOT NULL, o_comment text NOT NULL)',
  'CREATE TABLE lineitem (l_orderkey integer NOT NULL, l_partkey integer NOT NULL, l_suppkey integer NOT NULL, l_linenumber integer NOT NULL, ' +
    'l_quantity numeric(12,2) NOT NULL, l_extendedprice numeric(12,2) NOT NULL, l_discount numeric(12,2) NOT NULL, l_tax numeric(12,2) NOT NULL, ' +
    'l_returnflag text NOT NULL, l_linestatus text NOT NULL, l_shipdate date NOT NULL, l_commitdate date NOT NULL, l_receiptdate date NOT NULL, ' +
    'l_shipinstruct text NOT NULL, l_shipmode text NOT NULL, PRIMARY KEY (l_orderkey, l_linenumber))',
];

/** The foreign keys the joins follow (primary keys cover the rest), indexed on every target alike. */
const INDEXES = [
  'CREATE INDEX nation_region ON nation (n_regionkey)',
  'CREATE INDEX supplier_nation ON supplier (s_nationkey)',
  'CREATE INDEX customer_nation ON customer (c_nationkey)',
  'CREATE INDEX partsupp_supp ON partsupp (ps_suppkey)',
  'CREATE INDEX orders_cust ON orders (o_custkey)',
  'CREATE INDEX lineitem_part ON lineitem (l_partkey)',
  'CREATE INDEX lineitem_supp ON lineitem (l_suppkey)',
];

const REGIONS = ['AFRICA', 'AMERICA', 'ASIA', 'EUROPE', 'MIDDLE EAST'];
// TPC-H's 25 nations and their regions.
const NATIONS: readonly (readonly [string, number])[] = [
  ['ALGERIA', 0], ['ARGENTINA', 1], ['BRAZIL', 1], ['CANADA', 1], ['EGYPT', 4], ['ETHIOPIA', 0], ['FRANCE', 3], ['GERMANY', 3],
  ['INDIA', 2], ['INDONESIA', 2], ['IRAN', 4], ['IRAQ', 4], ['JAPAN', 2], ['JORDAN', 4], ['KENYA', 0], ['MOROCCO', 0],
  ['MOZAMBIQUE', 0], ['PERU', 1], ['CHINA', 2], ['ROMANIA', 3], ['SAUDI ARABIA', 4], ['VIETNAM', 2], ['RUSSIA', 3],
  ['UNITED KINGDOM', 3], ['UNITED STATES', 1],
];
const SEGMENTS = ['AUTOMOBILE', 'BUILDING', 'FURNITURE', 'HOUSEHOLD', 'MACHINERY'];
const PRIORITIES = ['1-URGENT', '2-HIGH', '3-MEDIUM', '4-NOT SPECIFIED', '5-LOW'];
const SHIP_MODES = ['REG AIR', 'AIR', 'RAIL', 'SHIP', 'TRUCK', 'MAIL', 'FOB'];
const INSTRUCTIONS = ['DELIVER IN PERSON', 'COLLECT COD', 'NONE', 'TAKE BACK RETURN'];
const COLORS = ['almond', 'azure', 'blue', 'blush', 'chocolate', 'cornflower', 'forest', 'green', 'ivory', 'khaki', 'lemon', 'navy', 'orchid', 'peru', 'red', 'smoke'];
const TYPE_WORDS: readonly (readonly string[])[] = [
  ['STANDARD', 'SMALL', 'MEDIUM', 'LARGE', 'ECONOMY', 'PROMO'],
  ['ANODIZED', 'BURNISHED', 'PLATED', 'POLISHED', 'BRUSHED'],
  ['TIN', 'NICKEL', 'BRASS', 'STEEL', 'COPPER'],
];
const CONTAINERS: readonly (readonly string[])[] = [
  ['SM', 'LG', 'MED', 'JUMBO', 'WRAP'],
  ['CASE', 'BOX', 'BAG', 'JAR', 'PKG', 'PACK', 'CAN', 'DRUM'],
];
const COMMENT_WORDS = ['carefully', 'final', 'special', 'pending', 'requests', 'deposits', 'furiously', 'ironic', 'packages', 'blithely', 'express', 'accounts'];

/** Orders are dated between these days (as TPC-H's), so the queries' date ranges each hold a part of them. */
const START_DAY = Date.UTC(1992, 0, 1) / 86_400_000;
const ORDER_DAYS = Date.UTC(1998, 7, 2) / 86_400_000 - START_DAY - 151;
/** Lines shipped after this day are still open ('O'), as in TPC-H. */
const CURRENT_DAY = Date.UTC(1995, 5, 17) / 86_400_000;


type Row = readonly (string | number)[];

/** The rows of every table, in load order; the same for the same scale. */
export function generateAnalyticData(scale: AnalyticScale): Record<(typeof ANALYTIC_TABLES)[number], Row[]> {
  const random = mulberry32(20_240_601);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  /** Money in cents between lo and hi, as a numeric literal. */
  const money = (lo: number, hi: number) => (int(lo * 100, hi * 100) / 100).toFixed(2);
  const words = (n: number) => Array.from({ length: n }, () => pick(COMMENT_WORDS)).join(' ');
  const date = (day: number) => new Date(day * 86_400_000).toISOString().slice(0, 10);

  const customers = Math.max(10, Math.round(scale.orders / 10));
  const parts = Math.max(10, Math.round((scale.orders * 2) / 15));
  const suppliers = Math.max(5, Math.round(scale.orders / 150));
  const data: Record<(typeof ANALYTIC_TABLES)[number], Row[]> = {
    region: REGIONS.map((name, i) => [i, name]),
    nation: NATIONS.map(([name, region], i) => [i, name, region]),
    supplier: [],
    customer: [],
    part: [],
    partsupp: [],
    orders: [],
    lineitem: [],
  };
  for (let s = 1; s <= suppliers; s++) data.supplier.push([s, `Supplier#${s}`, int(0, 24), money(-999, 9999)]);
  for (let c = 1; c <= customers; c++) {
    data.customer.push([c, `Customer#${c}`, `${int(1, 999)} ${pick(COMMENT_WORDS)} street`, int(0, 24), `${int(10, 34)}-${int(100, 999)}-${int(1000, 9999)}`, money(-999, 9999), pick(SEGMENTS)]);
  }
  const prices: number[] = [0];
  for (let p = 1; p <= parts; p++) {
    // TPC-H's retail price formula: cents that follow from the key.
    const price = (90_000 + ((p / 10) % 20_001) + 100 * (p % 1_000)) / 100;
    prices.push(price);
    const name = Array.from({ length: 3 }, () => pick(COLORS)).join(' ');
    const type = TYPE_WORDS.map(pick).join(' ');
    data.part.push([p, name, `Brand#${int(1, 5)}${int(1, 5)}`, type, int(1, 50), CONTAINERS.map(pick).join(' '), price.toFixed(2)]);
  }
  // Each part has four suppliers, spread over all of them; a lineitem's supplier is one of its part's four.
  const supplierOf = (part: number, i: number) => ((part + i * (Math.floor(suppliers / 4) + Math.floor((part - 1) / suppliers))) % suppliers) + 1;
  for (let p = 1; p <= parts; p++) {
    const seen = new Set<number>();
    for (let i = 0; i < 4; i++) {
      const s = supplierOf(p, i);
      if (seen.has(s)) continue;
      seen.add(s);
      data.partsupp.push([p, s, int(1, 9999), money(1, 1000)]);
    }
  }
  for (let o = 1; o <= scale.orders; o++) {
    const orderDay = START_DAY + int(0, ORDER_DAYS);
    // As in TPC-H, a third of the customers never order (Q13 counts them).
    let customer = int(1, customers);
    if (customer % 3 === 0) customer = (customer % customers) + 1;
    const lines = int(1, 7);
    let total = 0;
    let open = 0;
    for (let l = 1; l <= lines; l++) {
      const part = int(1, parts);
      const quantity = int(1, 50);
      const extended = Math.round(quantity * (prices[part] ?? 0) * 100) / 100;
      const discount = int(0, 10) / 100;
      const tax = int(0, 8) / 100;
      const shipDay = orderDay + int(1, 121);
      const commitDay = orderDay + int(30, 90);
      const receiptDay = shipDay + int(1, 30);
      const returned = receiptDay <= CURRENT_DAY ? pick(['R', 'A']) : 'N';
      const status = shipDay > CURRENT_DAY ? 'O' : 'F';
      if (status === 'O') open++;
      total += extended * (1 + tax) * (1 - discount);
      data.lineitem.push([
        o, part, supplierOf(part, int(0, 3)), l, quantity, extended.toFixed(2), discount.toFixed(2), tax.toFixed(2),
        returned, status, date(shipDay), date(commitDay), date(receiptDay), pick(INSTRUCTIONS), pick(SHIP_MODES),
      ]);
    }
    const orderStatus = open === lines ? 'O' : open === 0 ? 'F' : 'P';
    data.orders.push([o, customer, orderStatus, total.toFixed(2), date(orderDay), pick(PRIORITIES), 0, words(int(3, 8))]);
  }
  return data;
}

const literal = (v: string | number) => (typeof v === 'number' ? String(v) : `'${v.replace(/'/g, "''")}'`);

/**
 * (Re)creates the tables and indexes and loads them with `scale`'s rows,
 * `BATCH_ROWS` rows per INSERT (each its own transaction), then checks the
 * row counts, and ANALYZEs them (PostgreSQL plans with the statistics).
 */
export async function loadAnalytic(client: pg.Client, scale: AnalyticScale): Promise<Record<string, number>> {
  const data = generateAnalyticData(scale);
  for (const table of [...ANALYTIC_TABLES].reverse()) await client.query(`DROP TABLE IF EXISTS ${table}`);
  for (const sql of [...DDL, ...INDEXES]) await client.query(sql);
  const counts: Record<string, number> = {};
  for (const table of ANALYTIC_TABLES) {
    const rows = data[table];
    for (let first = 0; first < rows.length; first += BATCH_ROWS) {
      const values = rows.slice(first, first + BATCH_ROWS).map((row) => `(${row.map(literal).join(', ')})`);
      await client.query(`INSERT INTO ${table} VALUES ${values.join(', ')}`);
    }
    const { rows: count } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
    if (Number(count[0]?.n) !== rows.length) throw new Error(`loaded ${count[0]?.n} rows into ${table}, expected ${rows.length}`);
    counts[table] = rows.length;
  }
  await client.query('ANALYZE');
  return counts;
}
