// The SQL pod end to end: a real kvpod (gRPC, mutual TLS, RocksDB), real pods
// stamped by the operator's certificate, node-postgres and psql as clients.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCerts, startTestKvpod, type TestCerts, type TestKvpod } from '../kvpod/testing/fixtures.js';
import type { SqlPod } from './pod.js';
import { RawClient, bindMessage, dataRow, type Frame } from './server/testing/raw-client.js';
import { ADMIN, clientConfig, connect, createTenant, sqlError, startStampedPod, type TestTenant } from './testing/fixtures.js';

const run = promisify(execFile);

let certs: TestCerts;
let kv: TestKvpod;
let tenant: TestTenant;
let pod: SqlPod;
let db: pg.Client;

beforeAll(async () => {
  certs = await createTestCerts();
  kv = await startTestKvpod(certs);
  tenant = await createTenant(certs, kv.address, 'acme');
  pod = await startStampedPod(certs, tenant, kv.address);
  db = await connect(certs, pod);
});

afterAll(async () => {
  await db?.end();
  await pod?.shutdown();
  await kv?.stop();
});

describe('DDL and DML over node-postgres', () => {
  it('creates a table, inserts, reads back by key, updates and deletes with RETURNING', async () => {
    await db.query('CREATE TABLE kv (k integer PRIMARY KEY, v text NOT NULL, n bigint DEFAULT 7)');
    const ins = await db.query("INSERT INTO kv (k, v) VALUES (1, 'one'), (2, 'two'), (3, 'three') RETURNING k, n");
    expect(ins.rowCount).toBe(3);
    expect(ins.rows).toEqual([
      { k: 1, n: '7' },
      { k: 2, n: '7' },
      { k: 3, n: '7' },
    ]);
    expect((await db.query('SELECT v FROM kv WHERE k = $1', [2])).rows).toEqual([{ v: 'two' }]);
    const upd = await db.query("UPDATE kv SET v = v || '!' WHERE k >= 2 RETURNING k, v");
    expect(upd.rowCount).toBe(2);
    expect(upd.rows).toEqual([
      { k: 2, v: 'two!' },
      { k: 3, v: 'three!' },
    ]);
    const del = await db.query('DELETE FROM kv WHERE k = 1 RETURNING v');
    expect(del.rows).toEqual([{ v: 'one' }]);
    expect((await db.query('SELECT k, v FROM kv ORDER BY k DESC')).rows).toEqual([
      { k: 3, v: 'three!' },
      { k: 2, v: 'two!' },
    ]);
  });

  it('keeps secondary indexes in step with rows and uses them for lookups', async () => {
    await db.query('CREATE TABLE people (id serial PRIMARY KEY, email varchar(40) UNIQUE, city text)');
    await db.query('CREATE INDEX people_city ON people (city)');
    await db.query("INSERT INTO people (email, city) VALUES ('a@x', 'Oslo'), ('b@x', 'Rome'), ('c@x', 'Oslo')");
    expect((await db.query("SELECT id, email FROM people WHERE city = 'Oslo' ORDER BY id")).rows).toEqual([
      { id: 1, email: 'a@x' },
      { id: 3, email: 'c@x' },
    ]);
    await db.query("UPDATE people SET city = 'Rome' WHERE email = 'a@x'");
    expect((await db.query("SELECT count(*) FROM people WHERE city = 'Oslo'")).rows).toEqual([{ count: '1' }]);
    expect((await db.query("SELECT email FROM people WHERE city = 'Rome' ORDER BY email")).rows.map((r: { email: string }) => r.email)).toEqual(['a@x', 'b@x']);
    const dup = await sqlError(db.query("INSERT INTO people (email, city) VALUES ('b@x', 'Paris')"));
    expect(dup.code).toBe('23505');
    expect(dup.message).toBe('duplicate key value violates unique constraint "people_email_key"');
    expect(dup.detail).toBe('Key (email)=(b@x) already exists.');
  });

  it('serves point and range reads from the index, not full scans', async () => {
    await db.query('CREATE TABLE big (id integer PRIMARY KEY, grp integer, payload text)');
    const values = Array.from({ length: 500 }, (_, i) => `(${i}, ${i % 10}, 'p${i}')`).join(',');
    await db.query(`INSERT INTO big VALUES ${values}`);
    await db.query('CREATE INDEX big_grp ON big (grp)');
    const rowsRead = async (sql: string, params: unknown[] = []) => {
      const before = await metric('shoal_sqlpod_kv_rows_read_total');
      const res = await db.query(sql, params);
      return { rows: res.rows as Record<string, unknown>[], read: (await metric('shoal_sqlpod_kv_rows_read_total')) - before };
    };
    const point = await rowsRead('SELECT payload FROM big WHERE id = $1', [250]);
    expect(point.rows).toEqual([{ payload: 'p250' }]);
    expect(point.read).toBeLessThanOrEqual(2); // the row, and the catalog version
    const range = await rowsRead('SELECT count(*) FROM big WHERE id >= 100 AND id < 120');
    expect(range.rows).toEqual([{ count: '20' }]);
    expect(range.read).toBeLessThanOrEqual(21);
    const byIndex = await rowsRead('SELECT count(*) FROM big WHERE grp = 3');
    expect(byIndex.rows).toEqual([{ count: '50' }]);
    expect(byIndex.read).toBeLessThanOrEqual(101); // 50 index entries + 50 rows
    // An IN list naming a value twice reads (and returns) its rows once.
    const inList = await rowsRead('SELECT count(*) FROM big WHERE grp IN (3, 4, 3)');
    expect(inList.rows).toEqual([{ count: '100' }]);
    expect(inList.read).toBeLessThanOrEqual(201);
    expect((await db.query('SELECT count(*) FROM big WHERE id IN (7, 8, 7)')).rows).toEqual([{ count: '2' }]);
    const full = await rowsRead("SELECT count(*) FROM big WHERE payload = 'p7'");
    expect(full.rows).toEqual([{ count: '1' }]);
    expect(full.read).toBeGreaterThanOrEqual(500);
  });

  it('orders, limits, offsets, removes duplicates, aggregates and takes DEFAULT in VALUES', async () => {
    await db.query('CREATE TABLE scores (id integer PRIMARY KEY, player text, points integer DEFAULT 10)');
    await db.query("INSERT INTO scores VALUES (1, 'ann', 30), (2, 'bob', DEFAULT), (3, 'ann', 20), (4, 'cat', NULL), (5, 'bob', 50)");
    expect((await db.query('SELECT points FROM scores WHERE id = 2')).rows).toEqual([{ points: 10 }]);
    expect((await db.query('SELECT id FROM scores ORDER BY points DESC NULLS LAST, id LIMIT 2 OFFSET 1')).rows).toEqual([{ id: 1 }, { id: 3 }]);
    expect((await db.query('SELECT DISTINCT player FROM scores ORDER BY player')).rows.map((r: { player: string }) => r.player)).toEqual(['ann', 'bob', 'cat']);
    const agg = await db.query('SELECT count(*) AS n, count(points) AS known, sum(points) AS total, min(points) AS lo, max(points) AS hi, avg(points) AS mean FROM scores');
    expect(agg.rows).toEqual([{ n: '5', known: '4', total: '110', lo: 10, hi: 50, mean: '27.5000000000000000' }]);
    await db.query('CREATE INDEX scores_player ON scores (player)');
    await db.query('DROP INDEX scores_player');
    expect((await db.query("SELECT id FROM scores WHERE player = 'cat'")).rows).toEqual([{ id: 4 }]);
    expect((await sqlError(db.query('DROP INDEX scores_player'))).code).toBe('42704');
  });

  it('handles ON CONFLICT DO NOTHING and DO UPDATE', async () => {
    await db.query('CREATE TABLE counters (name text PRIMARY KEY, hits integer NOT NULL)');
    await db.query("INSERT INTO counters VALUES ('a', 1)");
    const nothing = await db.query("INSERT INTO counters VALUES ('a', 5) ON CONFLICT DO NOTHING");
    expect(nothing.rowCount).toBe(0);
    const up = await db.query("INSERT INTO counters VALUES ('a', 5), ('b', 2) ON CONFLICT (name) DO UPDATE SET hits = counters.hits + excluded.hits RETURNING name, hits");
    expect(up.rows).toEqual([
      { name: 'a', hits: 6 },
      { name: 'b', hits: 2 },
    ]);
  });

  it('ALTER TABLE adds, renames and drops columns; old rows read the added default', async () => {
    await db.query('CREATE TABLE evolve (id integer PRIMARY KEY, a text)');
    await db.query("INSERT INTO evolve VALUES (1, 'x')");
    await db.query('ALTER TABLE evolve ADD COLUMN b integer DEFAULT 42');
    await db.query('ALTER TABLE evolve RENAME COLUMN a TO title');
    await db.query("INSERT INTO evolve (id, title, b) VALUES (2, 'y', 1), (3, 'z', NULL)");
    // A NULL written after the ADD COLUMN stays NULL; only rows older than the column read its default.
    await db.query('UPDATE evolve SET b = NULL WHERE id = 2');
    expect((await db.query('SELECT id, title, b FROM evolve ORDER BY id')).rows).toEqual([
      { id: 1, title: 'x', b: 42 },
      { id: 2, title: 'y', b: null },
      { id: 3, title: 'z', b: null },
    ]);
    await db.query('UPDATE evolve SET b = 1 WHERE id = 2');
    await db.query('ALTER TABLE evolve DROP COLUMN title');
    expect((await db.query('SELECT * FROM evolve ORDER BY id')).rows).toEqual([
      { id: 1, b: 42 },
      { id: 2, b: 1 },
      { id: 3, b: null },
    ]);
    await db.query('ALTER TABLE evolve RENAME TO evolved');
    expect((await db.query('SELECT count(*) FROM evolved')).rows).toEqual([{ count: '3' }]);
    await db.query('TRUNCATE evolved');
    expect((await db.query('SELECT count(*) FROM evolved')).rows).toEqual([{ count: '0' }]);
  });

  it('gives tables without a primary key a hidden row id', async () => {
    await db.query('CREATE TABLE log (msg text)');
    await db.query("INSERT INTO log VALUES ('a'), ('a'), ('b')");
    const res = await db.query('SELECT * FROM log ORDER BY msg');
    expect(res.fields.map((f) => f.name)).toEqual(['msg']);
    expect(res.rows).toEqual([{ msg: 'a' }, { msg: 'a' }, { msg: 'b' }]);
  });

  it('creates and drops databases and schemas; names resolve through search_path', async () => {
    await db.query('CREATE DATABASE shop');
    await db.query('CREATE SCHEMA app');
    await db.query('CREATE TABLE app.items (id integer PRIMARY KEY)');
    await db.query('INSERT INTO app.items VALUES (1)');
    expect((await sqlError(db.query('SELECT * FROM items'))).code).toBe('42P01');
    await db.query('SET search_path = app, public');
    expect((await db.query('SELECT id FROM items')).rows).toEqual([{ id: 1 }]);
    await db.query('RESET search_path');
    const shop = await connect(certs, pod, 'shop');
    try {
      expect((await sqlError(shop.query('SELECT * FROM app.items'))).code).toBe('42P01');
      expect((await shop.query('SELECT current_database()')).rows).toEqual([{ current_database: 'shop' }]);
    } finally {
      await shop.end();
    }
    await db.query('DROP DATABASE shop');
    const gone = new pg.Client(clientConfig(certs, pod, 'shop'));
    const err = await sqlError(gone.connect());
    expect(err.code).toBe('3D000');
    await db.query('DROP SCHEMA app CASCADE');
  });
});

describe('types', () => {
  it('round-trips the v1 types in text and binary formats', async () => {
    await db.query(`CREATE TABLE typed (
      id smallint PRIMARY KEY, i integer, b bigint, f real, d double precision, n numeric(10,2),
      t text, vc varchar(5), c char(3), bo boolean, by bytea, dt date, ts timestamp, tz timestamptz,
      iv interval, u uuid, j jsonb)`);
    await db.query(
      `INSERT INTO typed VALUES (1, -5, 9007199254740993, 1.5, 2.25, 12.345, 'héllo', 'abc', 'x', true, '\\x0102',
        '2024-02-29', '2024-02-29 12:34:56.5', '2024-02-29 12:34:56+02', '1 day 02:00:00', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '{"b": [1, 2], "a": null}')`,
    );
    const text = await db.query('SELECT * FROM typed');
    expect(text.rows[0]).toMatchObject({
      id: 1,
      i: -5,
      b: '9007199254740993',
      f: 1.5,
      d: 2.25,
      n: '12.35',
      t: 'héllo',
      vc: 'abc',
      c: 'x  ',
      bo: true,
      iv: { days: 1, hours: 2 },
      u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      j: { a: null, b: [1, 2] },
    });
    expect((text.rows[0] as { by: Buffer }).by).toEqual(Buffer.from([1, 2]));
    expect((text.rows[0] as { tz: Date }).tz.toISOString()).toBe('2024-02-29T10:34:56.000Z');
    // node-postgres decodes every DataRow as UTF-8, so binary results are checked byte by byte with a raw client.
    const { client: raw } = await RawClient.login(pod.addresses.sql?.port ?? 0, ADMIN.username, ADMIN.password, { database: 'defaultdb' });
    try {
      raw.send(
        serialize.parse({ text: 'SELECT i, b, d, bo, dt, u FROM typed WHERE id = $1', types: [21] }),
        bindMessage({ paramFormats: [1], params: [Buffer.from([0, 1])], resultFormats: [1] }),
        serialize.execute({}),
        serialize.sync(),
      );
      const frames = await raw.until('Z');
      const row = frames.find((f) => f.type === 'D');
      expect(row, frames.map((f) => `${f.type}:${f.payload.toString()}`).join(' ')).toBeDefined();
      const [i, b, d, bo, dt, u] = dataRow(row as Frame);
      expect(i?.readInt32BE(0)).toBe(-5);
      expect(b?.readBigInt64BE(0)).toBe(9007199254740993n);
      expect(d?.readDoubleBE(0)).toBe(2.25);
      expect(bo).toEqual(Buffer.from([1]));
      expect(dt?.readInt32BE(0)).toBe(8825); // days from 2000-01-01 to 2024-02-29
      expect(u?.toString('hex')).toBe('a0eebc999c0b4ef8bb6d6bb9bd380a11');
    } finally {
      raw.end();
    }
  });

  it("tags a SELECT with the rows of its own Execute, as PostgreSQL does, however the result is chunked", async () => {
    const { client: raw } = await RawClient.login(pod.addresses.sql?.port ?? 0, ADMIN.username, ADMIN.password, { database: 'defaultdb' });
    const tags = (frames: Frame[]) => frames.filter((f) => f.type === 'C' || f.type === 's').map((f) => (f.type === 's' ? 'suspended' : f.payload.subarray(0, -1).toString()));
    try {
      raw.send(serialize.query('SELECT g FROM generate_series(1, 2500) AS g'));
      expect(tags(await raw.until('Z'))).toEqual(['SELECT 2500']);
      raw.send(serialize.query('BEGIN'));
      await raw.until('Z');
      raw.send(
        serialize.parse({ text: 'SELECT g FROM generate_series(1, 2600) AS g' }),
        serialize.bind({ portal: 'p' }),
        serialize.execute({ portal: 'p', rows: 1500 }),
        serialize.execute({ portal: 'p', rows: 0 }),
        serialize.sync(),
      );
      const frames = await raw.until('Z');
      expect(frames.filter((f) => f.type === 'D')).toHaveLength(2600);
      expect(tags(frames)).toEqual(['suspended', 'SELECT 1100']);
    } finally {
      raw.end();
    }
  });

  it('applies NULL and three-valued logic as PostgreSQL does', async () => {
    const res = await db.query('SELECT NULL = NULL AS a, NULL IS NULL AS b, (NULL AND false) AS c, (NULL OR true) AS d, 1 IN (2, NULL) AS e, coalesce(NULL, 3) AS f');
    expect(res.rows).toEqual([{ a: null, b: true, c: false, d: true, e: null, f: 3 }]);
  });
});

describe('subqueries', () => {
  it('evaluates uncorrelated and correlated scalar, EXISTS and IN subqueries, also in UPDATE', async () => {
    await db.query('CREATE TABLE sq (a integer, b integer, c integer)');
    await db.query('INSERT INTO sq VALUES (1, 2, 3), (4, 5, 6), (7, 8, 9)');
    expect((await db.query('SELECT a, (SELECT count(*) FROM sq AS x WHERE x.b < sq.b) AS n FROM sq ORDER BY a')).rows).toEqual([
      { a: 1, n: '0' },
      { a: 4, n: '1' },
      { a: 7, n: '2' },
    ]);
    expect((await db.query('SELECT a FROM sq WHERE EXISTS (SELECT 1 FROM sq AS x WHERE x.b < sq.b) ORDER BY a')).rows).toEqual([{ a: 4 }, { a: 7 }]);
    expect((await db.query('SELECT a FROM sq WHERE a IN (SELECT b - 1 FROM sq) ORDER BY a')).rows).toEqual([{ a: 1 }, { a: 4 }, { a: 7 }]);
    expect((await db.query('SELECT a FROM sq WHERE c > (SELECT avg(c) FROM sq)')).rows).toEqual([{ a: 7 }]);
    // Two levels out: the innermost subquery reads the outermost row.
    expect((await db.query('SELECT a, (SELECT max(b) FROM sq AS y WHERE y.a < (SELECT max(z.a) FROM sq AS z WHERE z.a <= sq.a)) AS m FROM sq ORDER BY a')).rows).toEqual([
      { a: 1, m: null },
      { a: 4, m: 2 },
      { a: 7, m: 5 },
    ]);
    expect((await db.query('UPDATE sq SET c = (SELECT max(x.c) FROM sq AS x WHERE x.a < sq.a) RETURNING a, c')).rows).toEqual([
      { a: 1, c: null },
      { a: 4, c: 3 },
      { a: 7, c: 6 },
    ]);
    // The subquery's integers are compared as numeric.
    expect((await db.query('SELECT 4.0 IN (SELECT a FROM sq) AS i, 1.5 IN (SELECT a FROM sq) AS j')).rows).toEqual([{ i: true, j: false }]);
    expect((await sqlError(db.query('SELECT (SELECT a FROM sq)'))).code).toBe('21000');
  });
});

describe('joins', () => {
  /** Rows as arrays: joins repeat column names. */
  const rows = async (sql: string, values: unknown[] = []) => (await db.query({ text: sql, values, rowMode: 'array' })).rows as unknown[][];

  beforeAll(async () => {
    await db.query('CREATE TABLE emp (id integer PRIMARY KEY, name text, dept integer)');
    await db.query('CREATE TABLE dept (dept integer PRIMARY KEY, title text)');
    await db.query('CREATE TABLE badge (emp integer, color text)');
    await db.query("INSERT INTO emp VALUES (1, 'ann', 10), (2, 'bob', 20), (3, 'cid', NULL), (4, 'dee', 10)");
    await db.query("INSERT INTO dept VALUES (10, 'ops'), (30, 'lab')");
    await db.query("INSERT INTO badge VALUES (1, 'red'), (1, 'blue'), (4, NULL)");
  });

  it('runs inner, left, right and full joins with NULLs as PostgreSQL does', async () => {
    expect(await rows('SELECT e.name, d.title FROM emp e JOIN dept d ON e.dept = d.dept ORDER BY 1')).toEqual([
      ['ann', 'ops'],
      ['dee', 'ops'],
    ]);
    expect(await rows('SELECT e.name, d.title FROM emp e LEFT JOIN dept d ON e.dept = d.dept ORDER BY 1')).toEqual([
      ['ann', 'ops'],
      ['bob', null],
      ['cid', null],
      ['dee', 'ops'],
    ]);
    expect(await rows('SELECT e.name, d.title FROM emp e RIGHT OUTER JOIN dept d ON e.dept = d.dept ORDER BY 2, 1')).toEqual([
      [null, 'lab'],
      ['ann', 'ops'],
      ['dee', 'ops'],
    ]);
    expect(await rows('SELECT e.name, d.title FROM emp e FULL JOIN dept d ON e.dept = d.dept ORDER BY 1, 2')).toEqual([
      ['ann', 'ops'],
      ['bob', null],
      ['cid', null],
      ['dee', 'ops'],
      [null, 'lab'],
    ]);
    // A WHERE over the NULL-extended side filters after the join; the same test in ON filters before it.
    expect(await rows('SELECT e.name FROM emp e LEFT JOIN badge b ON b.emp = e.id WHERE b.emp IS NULL ORDER BY 1')).toEqual([['bob'], ['cid']]);
    expect(await rows("SELECT e.name, b.color FROM emp e LEFT JOIN badge b ON b.emp = e.id AND b.color = 'red' ORDER BY 1")).toEqual([
      ['ann', 'red'],
      ['bob', null],
      ['cid', null],
      ['dee', null],
    ]);
    expect(await rows('SELECT count(*) FROM emp, dept')).toEqual([['8']]);
    expect(await rows('SELECT count(*) FROM emp CROSS JOIN dept WHERE emp.id = $1', [2])).toEqual([['2']]);
    expect(await rows('SELECT a.name, b.name FROM emp a JOIN emp b ON a.id < b.id AND a.dept = b.dept')).toEqual([['ann', 'dee']]);
  });

  it('merges USING and NATURAL columns and expands * and t.*', async () => {
    const full = await db.query({ text: 'SELECT * FROM emp FULL JOIN dept USING (dept) ORDER BY dept, id', rowMode: 'array' });
    expect(full.fields.map((f) => f.name)).toEqual(['dept', 'id', 'name', 'title']);
    expect(full.rows).toEqual([
      [10, 1, 'ann', 'ops'],
      [10, 4, 'dee', 'ops'],
      [20, 2, 'bob', null],
      [30, null, null, 'lab'],
      [null, 3, 'cid', null],
    ]);
    expect(await rows('SELECT dept, title FROM emp NATURAL JOIN dept ORDER BY name')).toEqual([
      [10, 'ops'],
      [10, 'ops'],
    ]);
    const star = await db.query({ text: 'SELECT d.*, e.id FROM emp e JOIN dept d USING (dept) ORDER BY e.id', rowMode: 'array' });
    expect(star.fields.map((f) => f.name)).toEqual(['dept', 'title', 'id']);
    expect(star.rows).toEqual([
      [10, 'ops', 1],
      [10, 'ops', 4],
    ]);
  });

  it('refuses ambiguous and unknown names with PostgreSQL\'s codes', async () => {
    const ambiguous = await sqlError(db.query('SELECT dept FROM emp, dept'));
    expect(ambiguous.code).toBe('42702');
    expect(Number(ambiguous.position)).toBe(8);
    expect((await sqlError(db.query('SELECT * FROM emp, emp'))).code).toBe('42712');
    expect((await sqlError(db.query('SELECT * FROM emp JOIN dept USING (title)'))).code).toBe('42703');
    expect((await sqlError(db.query('SELECT * FROM emp RIGHT JOIN LATERAL (SELECT emp.id) AS l ON true'))).code).toBe('42P10');
    expect((await db.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
  });

  it('keeps correlated subqueries and derived tables working over joined tables', async () => {
    expect(
      await rows('SELECT e.name, (SELECT count(*) FROM badge b WHERE b.emp = e.id AND d.title IS NOT NULL) FROM emp e LEFT JOIN dept d USING (dept) ORDER BY 1'),
    ).toEqual([
      ['ann', '2'],
      ['bob', '0'],
      ['cid', '0'],
      ['dee', '1'],
    ]);
    expect(await rows('SELECT e.name FROM emp e JOIN dept d ON d.dept = e.dept WHERE EXISTS (SELECT 1 FROM badge b WHERE b.emp = e.id AND b.color IS NULL)')).toEqual([['dee']]);
    expect(await rows('SELECT d.title, n.c FROM (SELECT dept, count(*) AS c FROM emp GROUP BY dept) AS n JOIN dept d ON d.dept = n.dept')).toEqual([['ops', '2']]);
  });

  it('joins eight tables through equalities in WHERE without a cross product', async () => {
    for (let i = 1; i <= 8; i++) {
      await db.query(`CREATE TABLE j${i} (a${i} integer PRIMARY KEY, b${i} integer, x${i} text)`);
      // b is a permutation of a: every row of one table joins exactly one of the next.
      const values = Array.from({ length: 50 }, (_, k) => `(${k}, ${(k * 7 + i) % 50}, 'j${i}-${k}')`).join(', ');
      await db.query(`INSERT INTO j${i} VALUES ${values}`);
    }
    const where = Array.from({ length: 7 }, (_, i) => `b${i + 1} = a${i + 2}`).join(' AND ');
    const sql = `SELECT x1, x8 FROM j5, j3, j8, j1, j7, j2, j6, j4 WHERE ${where} AND a1 = 3`;
    // 50^8 rows of cross product would never finish within the test's timeout; joined in order, 8 × 50 rows are read.
    expect(await rows(sql)).toHaveLength(1);
    expect(await rows(`SELECT count(*) FROM j5, j3, j8, j1, j7, j2, j6, j4 WHERE ${where}`)).toEqual([['50']]);
  });
});

describe('errors keep the session usable', () => {
  it.each([
    ['SELEC 1', '42601', 1],
    ['SELECT * FROM nowhere', '42P01', 15],
    ['SELECT nope FROM kv', '42703', 8],
    ["SELECT 1 + 'x'", '22P02', 12],
    ['SELECT 1 / 0', '22012', undefined],
    ['SELECT 2147483647 + 1', '22003', undefined],
    ['INSERT INTO kv VALUES (2, NULL)', '23502', undefined],
    ['INSERT INTO kv VALUES (2, \'dup\')', '23505', undefined],
  ] as const)('%s → %s', async (sql, code, position) => {
    const err = await sqlError(db.query(sql));
    expect(err.code).toBe(code);
    if (position !== undefined) expect(Number(err.position)).toBe(position);
    expect((await db.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
  });

  it('CHECK violations are 23514 and nothing is half-written', async () => {
    await db.query('CREATE TABLE checked (id integer PRIMARY KEY, qty integer CHECK (qty > 0))');
    const err = await sqlError(db.query('INSERT INTO checked VALUES (1, 5), (2, -1)'));
    expect(err.code).toBe('23514');
    expect(err.message).toBe('new row for relation "checked" violates check constraint "checked_qty_check"');
    expect((await db.query('SELECT count(*) FROM checked')).rows).toEqual([{ count: '0' }]);
  });
});

describe('transactions', () => {
  it('commits, rolls back, and refuses statements after an error until ROLLBACK (25P02)', async () => {
    await db.query('CREATE TABLE acct (id integer PRIMARY KEY, bal integer)');
    await db.query('BEGIN');
    await db.query('INSERT INTO acct VALUES (1, 100)');
    await db.query('ROLLBACK');
    expect((await db.query('SELECT count(*) FROM acct')).rows).toEqual([{ count: '0' }]);
    await db.query('BEGIN');
    await db.query('INSERT INTO acct VALUES (1, 100)');
    expect((await sqlError(db.query('SELECT 1/0'))).code).toBe('22012');
    expect((await sqlError(db.query('SELECT 1'))).code).toBe('25P02');
    await db.query('ROLLBACK');
    await db.query('BEGIN');
    await db.query('INSERT INTO acct VALUES (1, 100)');
    expect((await db.query('SELECT bal FROM acct WHERE id = 1')).rows).toEqual([{ bal: 100 }]);
    await db.query('COMMIT');
    expect((await db.query('SELECT bal FROM acct WHERE id = 1')).rows).toEqual([{ bal: 100 }]);
  });

  it('answers SET/SHOW and the session functions', async () => {
    await db.query("SET application_name = 'tests'");
    expect((await db.query('SHOW application_name')).rows).toEqual([{ application_name: 'tests' }]);
    const res = await db.query('SELECT version(), current_database(), current_schema(), current_user');
    const row = res.rows[0] as Record<string, string>;
    expect(row.version).toMatch(/^PostgreSQL 16\./);
    expect(row).toMatchObject({ current_database: 'defaultdb', current_schema: 'public', current_user: ADMIN.username });
    expect((await sqlError(db.query('SET no_such_setting = 1'))).code).toBe('42704');
  });
});

describe('psql', () => {
  // psql 15 speaks only the simple protocol (\\bind arrived in 16); node-postgres covers the extended one above.
  it('runs a multi-statement script over TLS and reports errors with position', async () => {
    const sql = pod.addresses.sql;
    const env = { ...process.env, PGPASSWORD: ADMIN.password, PGSSLMODE: 'require' };
    const args = ['-h', '127.0.0.1', '-p', String(sql?.port), '-U', ADMIN.username, '-d', 'defaultdb', '-X', '-q', '-A', '-t'];
    const out = await run('psql', [...args, '-c', "CREATE TABLE ps (id int PRIMARY KEY, v text); INSERT INTO ps VALUES (1, 'a'), (2, 'b'); SELECT v FROM ps ORDER BY id"], { env });
    expect(out.stdout.trim().split('\n')).toEqual(['a', 'b']);
    const bad = await run('psql', [...args, '-c', 'SELECT nope FROM ps'], { env }).catch((e: { stderr: string }) => e);
    expect(bad.stderr).toContain('column "nope" does not exist');
    expect(bad.stderr).toContain('LINE 1: SELECT nope FROM ps');
  });
});

describe('aggregates', () => {
  const rows = async (sql: string) => (await db.query({ text: sql, rowMode: 'array' })).rows as unknown[][];

  beforeAll(async () => {
    await db.query('CREATE TABLE ag (a integer, b text, c boolean, g integer)');
    await db.query("INSERT INTO ag VALUES (1, 'x', true, 1), (2, 'y', false, 1), (3, NULL, true, 2), (NULL, 'z', NULL, 2), (2, 'y', true, 1)");
  });

  it('computes string_agg with ORDER BY, bool_and/bool_or/every per group', async () => {
    expect(await rows("SELECT g, string_agg(b, ',' ORDER BY b DESC), bool_and(c), bool_or(c), every(c) FROM ag GROUP BY g ORDER BY g")).toEqual([
      [1, 'y,y,x', false, true, false],
      [2, 'z', true, true, true],
    ]);
    expect(await rows("SELECT string_agg(b, ',' ORDER BY a DESC NULLS LAST, b) FROM ag")).toEqual([['y,y,x,z']]);
    expect(await rows('SELECT string_agg(b, NULL ORDER BY a NULLS FIRST) FROM ag')).toEqual([['zxyy']]);
  });

  it('applies DISTINCT and FILTER inside aggregates', async () => {
    expect(await rows('SELECT count(DISTINCT a), sum(DISTINCT a), count(DISTINCT b), count(*) FROM ag')).toEqual([['3', '6', '3', '5']]);
    expect(await rows("SELECT string_agg(DISTINCT b, '-' ORDER BY b) FROM ag")).toEqual([['x-y-z']]);
    expect(await rows('SELECT count(*) FILTER (WHERE c), sum(a) FILTER (WHERE g = 2) FROM ag')).toEqual([['3', '3']]);
    expect(await rows("SELECT g, string_agg(b, ',') FILTER (WHERE a > 1) FROM ag GROUP BY g ORDER BY 1")).toEqual([
      [1, 'y,y'],
      [2, null],
    ]);
    expect((await sqlError(db.query("SELECT string_agg(DISTINCT b, '-' ORDER BY a) FROM ag"))).code).toBe('42P10');
    expect((await sqlError(db.query('SELECT sum(a) FILTER (WHERE sum(a) > 1) FROM ag'))).code).toBe('42803');
  });

  it('combines GROUP BY expressions, HAVING and ORDER BY on aggregates', async () => {
    expect(await rows('SELECT g + 1, count(*) FROM ag GROUP BY g + 1 ORDER BY 1')).toEqual([
      [2, '3'],
      [3, '2'],
    ]);
    expect(await rows('SELECT g FROM ag GROUP BY g HAVING sum(a) > 3')).toEqual([[1]]);
    expect(await rows('SELECT g, max(a) FROM ag GROUP BY g ORDER BY count(DISTINCT b) DESC, g')).toEqual([
      [1, 2],
      [2, 3],
    ]);
    // HAVING alone makes one group.
    expect(await rows('SELECT 1 FROM ag HAVING true')).toEqual([[1]]);
    expect(await rows('SELECT 1 HAVING false')).toEqual([]);
    expect((await sqlError(db.query('SELECT a FROM ag HAVING true'))).code).toBe('42803');
  });

  it('refuses aggregates it does not have as unsupported', async () => {
    const err = await sqlError(db.query('SELECT json_agg(a) FROM ag'));
    expect(err.code).toBe('0A000');
    expect(err.message).toContain('json_agg');
    expect((await sqlError(db.query('SELECT rank(1) WITHIN GROUP (ORDER BY a) FROM ag'))).code).toBe('0A000');
  });
});

describe('window functions', () => {
  const rows = async (sql: string) => (await db.query({ text: sql, rowMode: 'array' })).rows as unknown[][];

  beforeAll(async () => {
    await db.query('CREATE TABLE wf (id integer, g integer, v integer, t text)');
    await db.query("INSERT INTO wf VALUES (1, 1, 10, 'a'), (2, 1, 20, 'b'), (3, 1, 20, 'c'), (4, 2, 5, 'd'), (5, 2, NULL, 'e'), (6, NULL, 7, 'f'), (7, NULL, 7, 'g')");
  });

  // Expected rows are what PostgreSQL 15 returns for the same statements.
  it('numbers and ranks rows per partition, peers sharing a rank', async () => {
    expect(
      await rows('SELECT id, row_number() OVER (ORDER BY id), rank() OVER (PARTITION BY g ORDER BY v), dense_rank() OVER (PARTITION BY g ORDER BY v) FROM wf ORDER BY id'),
    ).toEqual([
      [1, '1', '1', '1'],
      [2, '2', '2', '2'],
      [3, '3', '2', '2'],
      [4, '4', '1', '1'],
      [5, '5', '2', '2'],
      [6, '6', '1', '1'],
      [7, '7', '1', '1'],
    ]);
    expect(await rows('SELECT id, percent_rank() OVER (PARTITION BY g ORDER BY v), cume_dist() OVER (PARTITION BY g ORDER BY v) FROM wf ORDER BY id')).toEqual([
      [1, 0, 0.3333333333333333],
      [2, 0.5, 1],
      [3, 0.5, 1],
      [4, 0, 0.5],
      [5, 1, 1],
      [6, 0, 1],
      [7, 0, 1],
    ]);
  });

  it('computes aggregates over the default frame: running with ORDER BY, the partition without', async () => {
    expect(
      await rows(
        'SELECT id, sum(v) OVER (PARTITION BY g ORDER BY v), count(*) OVER (PARTITION BY g), count(v) OVER (PARTITION BY g ORDER BY v DESC), avg(v) OVER (PARTITION BY g), min(t) OVER (ORDER BY v NULLS FIRST), max(v) OVER () FROM wf ORDER BY id',
      ),
    ).toEqual([
      [1, '10', '3', '3', '16.6666666666666667', 'a', 20],
      [2, '50', '3', '2', '16.6666666666666667', 'a', 20],
      [3, '50', '3', '2', '16.6666666666666667', 'a', 20],
      [4, '5', '2', '1', '5.0000000000000000', 'd', 20],
      [5, '5', '2', '0', '5.0000000000000000', 'e', 20],
      [6, '14', '2', '2', '7.0000000000000000', 'd', 20],
      [7, '14', '2', '2', '7.0000000000000000', 'd', 20],
    ]);
    expect(await rows('SELECT id, sum(v) FILTER (WHERE v > 5) OVER (ORDER BY id) FROM wf ORDER BY id')).toEqual([
      [1, '10'],
      [2, '30'],
      [3, '50'],
      [4, '50'],
      [5, '50'],
      [6, '57'],
      [7, '64'],
    ]);
    expect(await rows('SELECT row_number() OVER (), sum(v) OVER () FROM wf WHERE false')).toEqual([]);
  });

  it('runs over grouped rows, with named windows, in ORDER BY, before DISTINCT and LIMIT', async () => {
    expect(await rows('SELECT g, count(*), sum(count(*)) OVER (), rank() OVER (ORDER BY sum(v) DESC) FROM wf GROUP BY g ORDER BY g NULLS FIRST')).toEqual([
      [null, '2', '7', '2'],
      [1, '3', '7', '1'],
      [2, '2', '7', '3'],
    ]);
    expect(await rows('SELECT id, sum(v) OVER w, row_number() OVER (w2 ORDER BY id DESC) FROM wf WINDOW w AS (PARTITION BY g ORDER BY id), w2 AS (PARTITION BY g) ORDER BY id')).toEqual([
      [1, '10', '3'],
      [2, '30', '2'],
      [3, '50', '1'],
      [4, '5', '2'],
      [5, '5', '1'],
      [6, '7', '2'],
      [7, '14', '1'],
    ]);
    expect(await rows('SELECT id, v FROM wf ORDER BY row_number() OVER (ORDER BY v DESC NULLS LAST, id) LIMIT 3')).toEqual([
      [2, 20],
      [3, 20],
      [1, 10],
    ]);
    expect(await rows('SELECT DISTINCT g, count(*) OVER (PARTITION BY g) FROM wf ORDER BY 1')).toEqual([
      [1, '3'],
      [2, '2'],
      [null, '2'],
    ]);
    expect(await rows('SELECT id, 1 + row_number() OVER (PARTITION BY g ORDER BY id) * 10 AS x FROM wf ORDER BY x DESC, id LIMIT 4')).toEqual([
      [3, '31'],
      [2, '21'],
      [5, '21'],
      [7, '21'],
    ]);
  });

  it('refuses window functions where PostgreSQL does, and what it does not have', async () => {
    const refused = async (sql: string) => {
      const err = await sqlError(db.query(sql));
      return [err.code, err.message];
    };
    expect(await refused('SELECT id FROM wf WHERE row_number() OVER () > 1')).toEqual(['42P20', 'window functions are not allowed in WHERE']);
    expect(await refused('SELECT g FROM wf GROUP BY row_number() OVER ()')).toEqual(['42P20', 'window functions are not allowed in GROUP BY']);
    expect(await refused('SELECT g FROM wf GROUP BY g HAVING rank() OVER () > 1')).toEqual(['42P20', 'window functions are not allowed in HAVING']);
    expect(await refused('SELECT sum(row_number() OVER ()) FROM wf')).toEqual(['42803', 'aggregate function calls cannot contain window function calls']);
    expect(await refused('SELECT row_number() OVER (ORDER BY row_number() OVER ()) FROM wf')).toEqual(['42P20', 'window functions are not allowed in window definitions']);
    expect(await refused('SELECT lower(t) OVER () FROM wf')).toEqual(['42809', 'OVER specified, but lower is not a window function nor an aggregate function']);
    expect(await refused('SELECT sum(v) OVER nope FROM wf')).toEqual(['42704', 'window "nope" does not exist']);
    // Frames (GROUPS and EXCLUDE in grouping-sets.test.ts) and lag/lead/ntile/first_value/… are compared with PostgreSQL in sql-functions.test.ts.
    expect(await refused('SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v) OVER () FROM wf')).toEqual(['0A000', 'OVER is not supported for ordered-set aggregate percentile_cont']);
  });
});

describe('WITH', () => {
  const rows = async (sql: string) => (await db.query({ text: sql, rowMode: 'array' })).rows as unknown[][];

  beforeAll(async () => {
    await db.query('CREATE TABLE node (id integer PRIMARY KEY, label text, parent integer)');
    await db.query("INSERT INTO node VALUES (1, 'root', NULL), (2, 'c1', 1), (3, 'c2', 1), (4, 'g1', 2), (5, 'g2', 4)");
  });

  it('reads WITH queries once or several times, each seeing the earlier ones, also from subqueries', async () => {
    expect(await rows('WITH x AS (SELECT id, label FROM node WHERE id > 2), y AS (SELECT id * 10 AS z FROM x) SELECT * FROM y ORDER BY z')).toEqual([[30], [40], [50]]);
    expect(await rows('WITH x(k) AS (SELECT id FROM node) SELECT x1.k, x2.k FROM x x1 JOIN x x2 ON x2.k = x1.k + 1 ORDER BY 1')).toEqual([
      [1, 2],
      [2, 3],
      [3, 4],
      [4, 5],
    ]);
    // Read twice, a WITH query is computed once: both readers see the same random().
    expect(await rows('WITH x AS (SELECT random() AS r) SELECT a.r = b.r FROM x a, x b')).toEqual([[true]]);
    expect(await rows('WITH node AS (SELECT 42 AS id) SELECT id FROM node')).toEqual([[42]]);
    expect(await rows('WITH x AS (SELECT 1 AS v) SELECT (SELECT v FROM x) + 1, EXISTS (SELECT 1 FROM x WHERE v = 1)')).toEqual([[2, true]]);
    expect(await rows('WITH x AS (SELECT 1 AS v) SELECT * FROM x UNION ALL SELECT 2 ORDER BY 1 DESC')).toEqual([[2], [1]]);
    expect((await sqlError(db.query('WITH x AS (SELECT 1), x AS (SELECT 2) SELECT * FROM x'))).code).toBe('42712');
    expect((await sqlError(db.query('WITH x(a, b, c) AS (SELECT 1, 2) SELECT * FROM x'))).code).toBe('42P10');
  });

  it('runs WITH RECURSIVE with UNION ALL and UNION, lazily under a LIMIT', async () => {
    expect(await rows('WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT sum(n), count(*) FROM r')).toEqual([['15', '5']]);
    expect(await rows('WITH RECURSIVE r(n) AS (VALUES (1) UNION SELECT (n + 1) % 4 FROM r) SELECT n FROM r ORDER BY n')).toEqual([[0], [1], [2], [3]]);
    expect(
      await rows(
        'WITH RECURSIVE tree AS (SELECT id, label, 0 AS depth FROM node WHERE parent IS NULL UNION ALL SELECT node.id, node.label, tree.depth + 1 FROM node JOIN tree ON node.parent = tree.id) SELECT * FROM tree ORDER BY depth, id',
      ),
    ).toEqual([
      [1, 'root', 0],
      [2, 'c1', 1],
      [3, 'c2', 1],
      [4, 'g1', 2],
      [5, 'g2', 3],
    ]);
    expect(await rows('WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT * FROM r LIMIT 3')).toEqual([[1], [2], [3]]);
    expect(await rows("WITH RECURSIVE r(s) AS (SELECT 'a' UNION ALL SELECT s || 'a' FROM r WHERE length(s) < 3) SELECT * FROM r")).toEqual([['a'], ['aa'], ['aaa']]);
  });

  it('refuses malformed recursion as PostgreSQL does, and stops a runaway one with 54001', async () => {
    const code = async (sql: string) => (await sqlError(db.query(sql))).code;
    expect(await code('WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n::bigint + 1 FROM r WHERE n < 3) SELECT * FROM r')).toBe('42804');
    expect(await code('WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT count(*) FROM r) SELECT * FROM r')).toBe('42P19');
    expect(await code('WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT (SELECT n + 1 FROM r)) SELECT * FROM r')).toBe('42P19');
    expect(await code('WITH RECURSIVE a AS (SELECT * FROM b), b AS (SELECT * FROM a) SELECT * FROM a')).toBe('0A000');
    const runaway = await sqlError(db.query('WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r'));
    expect(runaway.code).toBe('54001');
    expect(runaway.message).toContain('"r"');
    expect(await rows('SELECT 1')).toEqual([[1]]);
  });
});

describe('views', () => {
  const rows = async (sql: string) => (await db.query({ text: sql, rowMode: 'array' })).rows as unknown[][];
  const code = async (sql: string) => (await sqlError(db.query(sql))).code;

  beforeAll(async () => {
    await db.query('CREATE TABLE vt (a integer PRIMARY KEY, b text)');
    await db.query("INSERT INTO vt VALUES (1, 'x'), (2, 'y'), (3, 'z')");
  });

  it('creates views over tables and views, reads, joins and renames their columns', async () => {
    await db.query('CREATE VIEW vv AS SELECT a, b FROM vt WHERE a > 1');
    await db.query('CREATE VIEW vv2 (k, label) AS SELECT a * 10, upper(b) FROM vv');
    expect(await rows('SELECT * FROM vv ORDER BY a')).toEqual([
      [2, 'y'],
      [3, 'z'],
    ]);
    expect(await rows('SELECT vt.a, vv2.label FROM vt JOIN vv2 ON vv2.k = vt.a * 10 ORDER BY 1')).toEqual([
      [2, 'Y'],
      [3, 'Z'],
    ]);
    expect(await rows('SELECT x.n FROM vv2 AS x(n) WHERE x.n > 20')).toEqual([[30]]);
    // A view reads the table as it is now.
    await db.query("INSERT INTO vt VALUES (4, 'w')");
    expect(await rows('SELECT count(*) FROM vv2')).toEqual([['3']]);
    await db.query("CREATE VIEW vw AS WITH q AS (SELECT 5 AS f) SELECT f FROM q");
    expect(await rows('SELECT * FROM vw')).toEqual([[5]]);
  });

  it('replaces a view only by one keeping its columns', async () => {
    await db.query('CREATE VIEW vr AS SELECT a FROM vt');
    expect(await code('CREATE VIEW vr AS SELECT 1')).toBe('42P07');
    await db.query('CREATE OR REPLACE VIEW vr AS SELECT a, b FROM vt WHERE a = 1');
    expect(await rows('SELECT * FROM vr')).toEqual([[1, 'x']]);
    expect(await code('CREATE OR REPLACE VIEW vr AS SELECT b FROM vt')).toBe('42P16');
    expect(await code('CREATE OR REPLACE VIEW vt AS SELECT 1')).toBe('42809');
  });

  it('drops views, and refuses to drop what a view reads unless CASCADE', async () => {
    await db.query('CREATE TABLE vd (a integer)');
    await db.query('CREATE VIEW vd1 AS SELECT a FROM vd');
    await db.query('CREATE VIEW vd2 AS SELECT a FROM vd1');
    expect(await code('DROP TABLE vd1')).toBe('42809');
    expect(await code('DROP VIEW vd')).toBe('42809');
    expect(await code('DROP VIEW nope')).toBe('42P01');
    expect((await db.query('DROP VIEW IF EXISTS nope')).command).toBe('DROP');
    expect(await code('DROP TABLE vd')).toBe('2BP01');
    expect(await code('DROP VIEW vd1')).toBe('2BP01');
    await db.query('DROP VIEW vd2');
    await db.query('DROP TABLE vd CASCADE');
    expect(await code('SELECT * FROM vd1')).toBe('42P01');
  });

  it('shows a view made through one pod to a session of another', async () => {
    const other = await startStampedPod(certs, tenant, kv.address);
    const client = await connect(certs, other);
    try {
      await db.query('CREATE VIEW vp AS SELECT b FROM vt WHERE a = 2');
      expect((await client.query('SELECT b FROM vp')).rows).toEqual([{ b: 'y' }]);
      await client.query('DROP VIEW vp');
      expect(await code('SELECT b FROM vp')).toBe('42P01');
    } finally {
      await client.end();
      await other.shutdown();
    }
  });
});

async function metric(name: string): Promise<number> {
  const ops = pod.addresses.ops;
  const text = await (await fetch(`http://127.0.0.1:${ops?.port ?? 0}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? 0);
}
