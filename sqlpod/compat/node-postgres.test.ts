// node-postgres through the proxy, as applications use it: named prepared
// statements, typed parameters, binary results, pg-cursor, COPY via
// pg-copy-streams, errors, transactions and a pool. Where a result is data,
// real PostgreSQL runs the same statements and must answer the same.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import Cursor from 'pg-cursor';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type LocalPostgres } from '../../shared/testing/postgres.js';
import { sqlError } from '../testing/fixtures.js';
import { startProxiedShoal, type ProxiedShoal } from '../testing/through-proxy.js';

let shoal: ProxiedShoal;
let postgres: LocalPostgres;
let db: pg.Client;
let reference: pg.Client;

beforeAll(async () => {
  [shoal, postgres] = await Promise.all([startProxiedShoal('nodepg'), startPostgres({ settings: { fsync: 'off' } })]);
  db = new pg.Client(shoal.config());
  reference = new pg.Client({ connectionString: postgres.url() });
  await Promise.all([db.connect(), reference.connect()]);
}, 120_000);

afterAll(async () => {
  await db?.end();
  await reference?.end();
  await shoal?.stop();
  await postgres?.stop();
});

/** Runs the same query on both; returns Shoal's and PostgreSQL's results. */
async function both<R extends pg.QueryResultRow>(query: pg.QueryConfig): Promise<[pg.QueryResult<R>, pg.QueryResult<R>]> {
  return Promise.all([db.query<R>(query), reference.query<R>(query)]);
}

async function bothAgree(query: pg.QueryConfig): Promise<unknown[]> {
  const [s, p] = await both(query);
  expect(s.rows, query.text).toEqual(p.rows);
  return s.rows;
}

describe('prepared statements', () => {
  it('prepares named statements once and reuses them many times', async () => {
    for (const c of [db, reference]) await c.query('CREATE TABLE prep (id int PRIMARY KEY, name text, score numeric(8,2))');
    for (let i = 1; i <= 200; i++) {
      const insert = { name: 'prep_insert', text: 'INSERT INTO prep VALUES ($1, $2, $3)', values: [i, `name-${i}`, (i * 1.25).toFixed(2)] };
      const [s, p] = await both(insert);
      expect(s.rowCount).toBe(p.rowCount);
    }
    for (let i = 0; i < 50; i++) {
      await bothAgree({ name: 'prep_range', text: 'SELECT id, name, score FROM prep WHERE id BETWEEN $1 AND $2 ORDER BY id', values: [i * 4, i * 4 + 3] });
    }
    await bothAgree({ text: 'SELECT count(*), sum(score), max(name) FROM prep' });
    // A statement name is the session's: another client prepares its own under the same name.
    const other = new pg.Client(shoal.config());
    await other.connect();
    expect((await other.query({ name: 'prep_range', text: 'SELECT $1::int + 1 AS n', values: [41] })).rows).toEqual([{ n: 42 }]);
    await other.end();
  });
});

// Columns of every type Shoal stores, filled from JavaScript values the way
// node-postgres sends them: numbers and strings as text, booleans, a Buffer
// as a binary parameter, a Date as a timestamp with the local offset, an
// object as JSON.
const TYPED = `CREATE TABLE typed (id int PRIMARY KEY, i2 smallint, i4 integer, i8 bigint, n numeric(20,6), f4 real, f8 double precision,
  t text, vc varchar(10), b boolean, by bytea, d date, ts timestamp, tstz timestamptz, u uuid, j jsonb, iv interval)`;
const TYPED_ROWS: unknown[][] = [
  [1, 32767, -2147483648, '9223372036854775807', '-12345678901234.123456', 1.5, -0.1, 'héllo wörld', 'short', true, Buffer.from([0, 1, 127, 128, 255]), '2024-02-29', '2024-02-29 12:34:56.789', '2024-02-29 12:34:56.789+02', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', { a: [1, 'x', null], b: { c: true } }, '1 day 02:03:04'],
  [2, -32768, 0, '-9223372036854775808', '0.000001', -3.25, 1e300, '', 'x', false, Buffer.alloc(0), '1999-12-31', '1970-01-01 00:00:00', new Date(Date.UTC(2001, 8, 9, 1, 46, 40, 123)), '00000000-0000-0000-0000-000000000000', JSON.stringify([1, 2, 3]), '-1 mons 3 days'],
  [3, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null],
];
const TYPED_INSERT = 'INSERT INTO typed VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)';

describe('parameter and result types', () => {
  beforeAll(async () => {
    for (const c of [db, reference]) {
      await c.query(TYPED);
      for (const values of TYPED_ROWS) await c.query({ name: 'typed_insert', text: TYPED_INSERT, values });
    }
  });

  it('round-trips every type as PostgreSQL does (text results, parsed by pg-types)', async () => {
    const rows = await bothAgree({ text: 'SELECT * FROM typed ORDER BY id' });
    // The values made it, not only the same mistakes on both sides.
    expect(rows[0]).toMatchObject({ i8: '9223372036854775807', by: Buffer.from([0, 1, 127, 128, 255]), j: { a: [1, 'x', null], b: { c: true } }, t: 'héllo wörld' });
  });

  it('compares typed parameters as PostgreSQL does', async () => {
    const text = `SELECT id FROM typed WHERE i8 = $1 OR n = $2 OR by = $3 OR u = $4 OR j @> $5 OR ts = $6 OR d = $7 ORDER BY id`;
    for (const values of [
      ['9223372036854775807', null, null, null, null, null, null],
      [null, '0.000001', null, null, null, null, null],
      [null, null, Buffer.from([0, 1, 127, 128, 255]), null, null, null, null],
      [null, null, null, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', null, null, null],
      [null, null, null, null, JSON.stringify({ b: { c: true } }), null, null],
      [null, null, null, null, null, '1970-01-01', '1999-12-31'],
    ]) {
      const rows = await bothAgree({ name: 'typed_where', text, values });
      expect(rows.length).toBeGreaterThan(0);
    }
  });

  it('casts parameters and expressions to each type as PostgreSQL does', async () => {
    await bothAgree({
      text: `SELECT $1::int2 AS a, $2::int4 AS b, $3::int8 AS c, $4::numeric AS d, $5::float4 AS e, $6::float8 AS f, $7::bool AS g, $8::bytea AS h,
        $9::date AS i, $10::timestamp AS j, $11::timestamptz AS k, $12::uuid AS l, $13::jsonb AS m, $14::interval AS n, $15::text AS o`,
      values: ['7', 8, '-9', '1.2300', '0.5', '2.5e-3', 'yes', '\\x0aff', '2000-01-01', '2000-01-01T10:00:00', '2000-01-01 10:00:00Z', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '[1, {"k": "v"}]', 'P1DT2H', 'text'],
    });
  });

  // node-postgres turns a DataRow field into a UTF-8 string before its binary
  // parsers see it, so only values whose binary form is ASCII survive that
  // decoding; every value is still compared with PostgreSQL's through the
  // same path, which sees the same bytes from both or differs.
  it('sends binary results that decode as PostgreSQL results do, and as the text results for ASCII-safe encodings', async () => {
    // Types pg-types has no binary parser for come out as hex.
    const parsed = new Set([16, 20, 21, 23, 25, 700, 701, 1700, 1114, 1184]);
    const hex = {
      getTypeParser: (oid: number, format?: string): ((value: string | Buffer) => unknown) =>
        format === 'binary' && !parsed.has(oid) ? (value) => `binary:${Buffer.from(value).toString('hex')}` : (pg.types.getTypeParser(oid, format as 'text') as (value: string | Buffer) => unknown),
    } as pg.CustomTypesConfig;
    // node-postgres asks for binary results only in the extended protocol, which a statement name forces.
    const binary = { name: 'typed_binary', text: 'SELECT * FROM typed ORDER BY id', binary: true, types: hex } as pg.QueryConfig;
    const [s] = await both(binary);
    expect(s.fields.every((f) => f.format === 'binary')).toBe(true);
    await bothAgree(binary);

    // (pg-types parses a binary numeric to a number, a text one to a string: left out.)
    const safe = 'SELECT 42::int2 AS a, 300::int4 AS b, 7::int8 AS c, 2::float8 AS d, true AS e, false AS f, $1::text AS g, NULL::int4 AS h';
    const [asText, asBinary] = await Promise.all([
      db.query({ text: safe, values: ['plain ascii'] }),
      db.query({ text: safe, values: ['plain ascii'], binary: true } as pg.QueryConfig),
    ]);
    expect(asText.fields.map((f) => f.format)).toEqual(Array(8).fill('text'));
    expect(asBinary.fields.map((f) => f.format)).toEqual(Array(8).fill('binary'));
    expect(asBinary.rows).toEqual(asText.rows);
    await bothAgree({ text: safe, values: ['plain ascii'], binary: true } as pg.QueryConfig);
  });
});

describe('pg-cursor', () => {
  it('reads a 10,000-row table 100 rows at a time, in order', async () => {
    await db.query('CREATE TABLE big (id int PRIMARY KEY, payload text)');
    // Two statements: one commit holds at most 10,000 keys by default (kvpod's maxBatchMutations and maxRequestKeys).
    for (const from of [1, 5001]) await db.query("INSERT INTO big SELECT g, 'row ' || g FROM generate_series($1::int, $1::int + 4999) AS g", [from]);
    const cursor = db.query(new Cursor<{ id: number; payload: string }>('SELECT id, payload FROM big WHERE id > $1 ORDER BY id', [0]));
    let reads = 0;
    let expected = 1;
    for (;;) {
      const rows = await cursor.read(100);
      if (rows.length === 0) break;
      reads++;
      expect(rows.length).toBe(100);
      for (const row of rows) expect(row).toEqual({ id: expected, payload: `row ${expected++}` });
    }
    await cursor.close();
    expect(reads).toBe(100);
    expect(expected).toBe(10_001);
    // The session goes on after the portal is closed.
    expect((await db.query('SELECT count(*)::int AS n FROM big')).rows).toEqual([{ n: 10_000 }]);
  });

  it('closes a cursor read only in part, inside a transaction that then commits', async () => {
    await db.query('BEGIN');
    try {
      const cursor = db.query(new Cursor('SELECT id FROM big ORDER BY id'));
      expect((await cursor.read(3)).map((r: { id: number }) => r.id)).toEqual([1, 2, 3]);
      await cursor.close();
      await db.query('INSERT INTO big VALUES (10001, $1)', ['late']);
      await db.query('COMMIT');
    } catch (err) {
      // Not in a transaction for the tests after this one.
      await db.query('ROLLBACK');
      throw err;
    }
    expect((await db.query('SELECT payload FROM big WHERE id = 10001')).rows).toEqual([{ payload: 'late' }]);
  });
});

describe('COPY through pg-copy-streams', () => {
  async function copyIn(client: pg.Client, sql: string, data: string): Promise<number> {
    const stream = client.query(copyFrom(sql));
    await pipeline(Readable.from([Buffer.from(data)]), stream);
    return stream.rowCount;
  }
  async function copyOut(client: pg.Client, sql: string): Promise<string> {
    const parts: Buffer[] = [];
    for await (const chunk of client.query(copyTo(sql))) parts.push(chunk as Buffer);
    return Buffer.concat(parts).toString('utf8');
  }

  it('loads text and csv FROM STDIN and writes them TO STDOUT exactly as PostgreSQL does', async () => {
    const text = '1\tplain\t1.50\t2024-01-02\n2\t\\N\t\\N\t\\N\n3\ttab\\there\\nnew\t-7\t1999-12-31\n';
    const csv = 'id,name,amount,day\n4,"comma, quoted",0.25,2000-02-29\n5,"say ""hi""",,\n6,"two\nlines",100,2024-12-31\n';
    for (const c of [db, reference]) {
      await c.query('CREATE TABLE copied (id int PRIMARY KEY, name text, amount numeric(6,2), day date)');
      expect(await copyIn(c, 'COPY copied FROM STDIN', text)).toBe(3);
      expect(await copyIn(c, 'COPY copied (id, name, amount, day) FROM STDIN WITH (FORMAT csv, HEADER true)', csv)).toBe(3);
    }
    for (const sql of [
      'COPY copied TO STDOUT',
      'COPY copied TO STDOUT WITH (FORMAT csv, HEADER true)',
      "COPY (SELECT id, name FROM copied WHERE amount IS NOT NULL ORDER BY id DESC) TO STDOUT WITH (FORMAT csv, DELIMITER ';', NULL 'NA')",
    ]) {
      const [s, p] = await Promise.all([copyOut(db, sql), copyOut(reference, sql)]);
      // A table without ORDER BY comes out in key order in Shoal, insertion order in PostgreSQL: the same here.
      expect(s, sql).toBe(p);
    }
    expect(await copyOut(db, 'COPY (SELECT count(*) FROM copied) TO STDOUT')).toBe('6\n');
  });

  it('fails a bad row with the SQLSTATE of PostgreSQL, keeps nothing of it, and the client goes on', async () => {
    const bad = "COPY copied FROM STDIN WITH (FORMAT csv)";
    const [s, p] = await Promise.all([sqlError(copyIn(db, bad, '7,ok,1,2020-01-01\n8,bad,notanumber,2020-01-01\n')), sqlError(copyIn(reference, bad, '7,ok,1,2020-01-01\n8,bad,notanumber,2020-01-01\n'))]);
    expect(s.code).toBe(p.code);
    await bothAgree({ text: 'SELECT count(*) FROM copied' });
  });
});

describe('errors', () => {
  it('carry the SQLSTATE PostgreSQL gives, and the client stays usable', async () => {
    for (const c of [db, reference]) await c.query('CREATE TABLE uniq (k int PRIMARY KEY, v int NOT NULL)');
    for (const sql of [
      'INSERT INTO uniq VALUES (1, 1), (1, 2)',
      'INSERT INTO uniq VALUES (2, NULL)',
      'SELECT 1 / 0',
      'SELECT * FROM missing_table',
      'SELECT nope FROM uniq',
      'SELEC 1',
      "SELECT 'x'::int",
      'SELECT 2147483647::int4 + 1',
    ]) {
      const [s, p] = await Promise.all([sqlError(db.query(sql)), sqlError(reference.query(sql))]);
      expect(s.code, sql).toBe(p.code);
      expect(s.severity, sql).toBe('ERROR');
      expect((await db.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    }
    // The same through the extended protocol (a parameter makes node-postgres use it).
    const [s, p] = await Promise.all([sqlError(db.query('SELECT $1::int / 0', [1])), sqlError(reference.query('SELECT $1::int / 0', [1]))]);
    expect(s.code).toBe(p.code);
  });

  it('aborts a transaction after an error until ROLLBACK', async () => {
    await db.query('BEGIN');
    await db.query('INSERT INTO uniq VALUES (10, 10)');
    expect((await sqlError(db.query('INSERT INTO uniq VALUES (10, 11)'))).code).toBe('23505');
    expect((await sqlError(db.query('SELECT 1'))).code).toBe('25P02');
    await db.query('ROLLBACK');
    expect((await db.query('SELECT count(*)::int AS n FROM uniq WHERE k = 10')).rows).toEqual([{ n: 0 }]);
  });
});

describe('transactions', () => {
  it('COMMIT publishes, ROLLBACK discards, and another session sees only committed rows', async () => {
    await db.query('CREATE TABLE ledger (id int PRIMARY KEY, amount int)');
    const other = new pg.Client(shoal.config());
    await other.connect();
    try {
      await db.query('BEGIN');
      await db.query('INSERT INTO ledger VALUES (1, 100), (2, -40)');
      expect((await other.query('SELECT count(*)::int AS n FROM ledger')).rows).toEqual([{ n: 0 }]);
      await db.query('COMMIT');
      expect((await other.query('SELECT sum(amount)::int AS s FROM ledger')).rows).toEqual([{ s: 60 }]);
      await db.query('BEGIN');
      await db.query('UPDATE ledger SET amount = amount * 10');
      await db.query('DELETE FROM ledger WHERE id = 2');
      expect((await db.query('SELECT sum(amount)::int AS s FROM ledger')).rows).toEqual([{ s: 1000 }]);
      await db.query('ROLLBACK');
      expect((await other.query('SELECT id, amount FROM ledger ORDER BY id')).rows).toEqual([
        { id: 1, amount: 100 },
        { id: 2, amount: -40 },
      ]);
    } finally {
      await other.end();
    }
  });
});

describe('pg.Pool', () => {
  it('serves concurrent clients, each with its own transactions', async () => {
    const pool = new pg.Pool({ ...shoal.config(), max: 8 });
    try {
      await pool.query('CREATE TABLE pooled (worker int, n int, PRIMARY KEY (worker, n))');
      await Promise.all(
        Array.from({ length: 16 }, async (_, worker) => {
          const client = await pool.connect();
          try {
            for (let n = 0; n < 10; n++) {
              await client.query('BEGIN');
              await client.query({ name: 'pooled_insert', text: 'INSERT INTO pooled VALUES ($1, $2)', values: [worker, n] });
              await client.query(n % 5 === 4 ? 'ROLLBACK' : 'COMMIT');
            }
          } finally {
            client.release();
          }
        }),
      );
      expect(pool.totalCount).toBe(8);
      const { rows } = await pool.query<{ workers: number; rows: number }>('SELECT count(DISTINCT worker)::int AS workers, count(*)::int AS rows FROM pooled');
      expect(rows).toEqual([{ workers: 16, rows: 16 * 8 }]);
    } finally {
      await pool.end();
    }
  });
});
