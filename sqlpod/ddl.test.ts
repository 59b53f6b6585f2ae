// Schema changes on tables that hold rows, and the maintenance commands tools
// send: ALTER TABLE … ADD [CONSTRAINT] PRIMARY KEY / UNIQUE, TRUNCATE,
// VACUUM / ANALYZE, storage parameters. A real kvpod and pod, node-postgres.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCerts, startTestKvpod, type TestCerts, type TestKvpod } from '../kvpod/testing/fixtures.js';
import type { SqlPod } from './pod.js';
import { connect, createTenant, sqlError, startStampedPod, type TestTenant } from './testing/fixtures.js';

let certs: TestCerts;
let kv: TestKvpod;
let tenant: TestTenant;
let pod: SqlPod;
let db: pg.Client;

beforeAll(async () => {
  certs = await createTestCerts();
  kv = await startTestKvpod(certs);
  tenant = await createTenant(certs, kv.address, 'ddl');
  pod = await startStampedPod(certs, tenant, kv.address);
  db = await connect(certs, pod);
});

afterAll(async () => {
  await db?.end();
  await pod?.shutdown();
  await kv?.stop();
});

const rows = async (sql: string, params: unknown[] = []): Promise<unknown[][]> => (await db.query({ text: sql, values: params, rowMode: 'array' })).rows as unknown[][];

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${pod.addresses.ops?.port ?? 0}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? 0);
}

/** KV rows a statement read: the pod's counter before and after. */
async function rowsRead(sql: string, params: unknown[] = []): Promise<{ rows: unknown[][]; read: number }> {
  const before = await metric('shoal_sqlpod_kv_rows_read_total');
  const result = await rows(sql, params);
  return { rows: result, read: (await metric('shoal_sqlpod_kv_rows_read_total')) - before };
}

describe('ALTER TABLE ADD PRIMARY KEY on a table with rows', () => {
  it('rekeys the rows by the new key, keeps every column and rebuilds the secondary indexes', async () => {
    await db.query('CREATE TABLE acct (aid int NOT NULL, bid int, balance int, note text)');
    await db.query('CREATE INDEX acct_bid ON acct (bid)');
    await db.query('CREATE UNIQUE INDEX acct_note ON acct (note)');
    const values = Array.from({ length: 300 }, (_, i) => `(${300 - i}, ${i % 7}, ${i * 10}, ${i % 50 === 0 ? 'NULL' : `'n${i}'`})`).join(',');
    await db.query(`INSERT INTO acct VALUES ${values}`);
    expect((await db.query('ALTER TABLE acct ADD PRIMARY KEY (aid)')).command).toBe('ALTER');

    expect(await rows('SELECT count(*), sum(balance), count(note) FROM acct')).toEqual([['300', '448500', '294']]);
    expect((await db.query('SELECT * FROM acct WHERE aid = 1')).fields.map((f) => f.name)).toEqual(['aid', 'bid', 'balance', 'note']);
    // A point read by the new key reads one row (and the catalog version): the rows are keyed by aid now.
    const point = await rowsRead('SELECT bid, balance, note FROM acct WHERE aid = $1', [1]);
    expect(point.rows).toEqual([[299 % 7, 2990, 'n299']]);
    expect(point.read).toBeLessThanOrEqual(2);
    // Index entries lead to the rows under their new keys.
    expect(await rows('SELECT count(*), min(aid), max(aid) FROM acct WHERE bid = 3')).toEqual([['43', 3, 297]]);
    expect(await rows("SELECT aid, balance FROM acct WHERE note = 'n7'")).toEqual([[293, 70]]);
    await db.query("UPDATE acct SET bid = 100 WHERE note = 'n7'");
    expect(await rows('SELECT aid FROM acct WHERE bid = 100')).toEqual([[293]]);
    expect(await rows('SELECT aid, note FROM acct WHERE note IS NULL ORDER BY aid')).toEqual([[50, null], [100, null], [150, null], [200, null], [250, null], [300, null]]);

    const dup = await sqlError(db.query('INSERT INTO acct VALUES (5, 1, 0, NULL)'));
    expect(dup.code).toBe('23505');
    expect(dup.message).toBe('duplicate key value violates unique constraint "acct_pkey"');
    expect(dup.detail).toBe('Key (aid)=(5) already exists.');
    const dupNote = await sqlError(db.query("INSERT INTO acct VALUES (1000, 1, 0, 'n7')"));
    expect(dupNote.code).toBe('23505');
    expect(dupNote.message).toBe('duplicate key value violates unique constraint "acct_note"');
    const nul = await sqlError(db.query('INSERT INTO acct (bid) VALUES (1)'));
    expect(nul.code).toBe('23502');
    await db.query("INSERT INTO acct VALUES (301, 1, 5, 'new')");
    expect(await rows('SELECT aid FROM acct WHERE aid > 299 ORDER BY aid')).toEqual([[300], [301]]);
  });

  it('refuses duplicate keys with 23505 and NULL keys with 23502, and leaves the table as it was', async () => {
    await db.query('CREATE TABLE dupes (id int, v text)');
    await db.query("INSERT INTO dupes VALUES (1, 'a'), (2, 'b'), (2, 'c'), (3, 'd')");
    const dup = await sqlError(db.query('ALTER TABLE dupes ADD PRIMARY KEY (id)'));
    expect(dup.code).toBe('23505');
    expect(dup.message).toBe('could not create unique index "dupes_pkey"');
    expect(dup.detail).toBe('Key (id)=(2) is duplicated.');
    // Still keyed by the hidden row id: more duplicates go in.
    await db.query("INSERT INTO dupes VALUES (2, 'e')");
    expect(await rows('SELECT count(*) FROM dupes WHERE id = 2')).toEqual([['3']]);

    await db.query('CREATE TABLE nulls (id int, v text)');
    await db.query("INSERT INTO nulls VALUES (1, 'a'), (NULL, 'b')");
    const nul = await sqlError(db.query('ALTER TABLE nulls ADD PRIMARY KEY (id)'));
    expect(nul.code).toBe('23502');
    expect(nul.message).toBe('column "id" of relation "nulls" contains null values');
    await db.query("INSERT INTO nulls VALUES (NULL, 'c')");
    expect(await rows('SELECT count(*) FROM nulls')).toEqual([['3']]);
  });

  it('takes ADD CONSTRAINT name PRIMARY KEY over several columns, also inside a transaction with its own rows', async () => {
    await db.query('CREATE TABLE pairs (a int, b text, c int)');
    await db.query("INSERT INTO pairs VALUES (1, 'x', 10), (1, 'y', 11)");
    await db.query('BEGIN');
    await db.query("INSERT INTO pairs VALUES (2, 'x', 12)");
    await db.query('ALTER TABLE pairs ADD CONSTRAINT pairs_ab PRIMARY KEY (a, b)');
    expect(await rows("SELECT c FROM pairs WHERE a = 2 AND b = 'x'")).toEqual([[12]]);
    await db.query('COMMIT');
    expect(await rows('SELECT a, b, c FROM pairs ORDER BY a, b')).toEqual([
      [1, 'x', 10],
      [1, 'y', 11],
      [2, 'x', 12],
    ]);
    const dup = await sqlError(db.query("INSERT INTO pairs VALUES (1, 'y', 0)"));
    expect(dup.message).toBe('duplicate key value violates unique constraint "pairs_ab"');
    expect(dup.detail).toBe('Key (a, b)=(1, y) already exists.');
  });

  it('rolls back with its transaction: the rows are keyed as before', async () => {
    await db.query('CREATE TABLE undo (id int, v int)');
    await db.query('INSERT INTO undo VALUES (1, 1), (2, 2)');
    await db.query('BEGIN');
    await db.query('ALTER TABLE undo ADD PRIMARY KEY (id)');
    await db.query('ROLLBACK');
    await db.query('INSERT INTO undo VALUES (1, 3)');
    expect(await rows('SELECT v FROM undo WHERE id = 1 ORDER BY v')).toEqual([[1], [3]]);
  });

  it('refuses a second primary key, unknown columns, and constraints it does not have', async () => {
    await db.query('CREATE TABLE keyed (id int PRIMARY KEY, v int)');
    const second = await sqlError(db.query('ALTER TABLE keyed ADD PRIMARY KEY (v)'));
    expect([second.code, second.message]).toEqual(['42P16', 'multiple primary keys for table "keyed" are not allowed']);
    const unknown = await sqlError(db.query('ALTER TABLE undo ADD PRIMARY KEY (nope)'));
    expect([unknown.code, unknown.message]).toEqual(['42703', 'column "nope" named in key does not exist']);
    const exclude = await sqlError(db.query('ALTER TABLE undo ADD CONSTRAINT ex EXCLUDE USING btree (v WITH =)'));
    expect(exclude.code).toBe('0A000');
    expect(exclude.message).toContain('EXCLUDE');
    const taken = await sqlError(db.query('ALTER TABLE undo ADD CONSTRAINT keyed PRIMARY KEY (id)'));
    expect([taken.code, taken.message]).toEqual(['42P07', 'relation "keyed" already exists']);
  });

  it('adds a UNIQUE constraint: existing rows are indexed, later duplicates refused', async () => {
    await db.query('CREATE TABLE uq (id int PRIMARY KEY, code text)');
    await db.query("INSERT INTO uq VALUES (1, 'a'), (2, 'b'), (3, NULL), (4, NULL)");
    await db.query('ALTER TABLE uq ADD UNIQUE (code)');
    const dup = await sqlError(db.query("INSERT INTO uq VALUES (5, 'b')"));
    expect(dup.message).toBe('duplicate key value violates unique constraint "uq_code_key"');
    expect(await rows("SELECT id FROM uq WHERE code = 'b'")).toEqual([[2]]);
    await db.query("INSERT INTO uq VALUES (6, 'a2')");
    const taken = await sqlError(db.query('ALTER TABLE uq ADD CONSTRAINT uq_code_key UNIQUE (id)'));
    expect([taken.code, taken.message]).toEqual(['42P07', 'relation "uq_code_key" already exists']);
    await db.query('CREATE TABLE uq2 (id int PRIMARY KEY, v int)');
    await db.query('INSERT INTO uq2 VALUES (1, 7), (2, 8), (3, 7)');
    const dupRows = await sqlError(db.query('ALTER TABLE uq2 ADD UNIQUE (v)'));
    expect([dupRows.code, dupRows.message, dupRows.detail]).toEqual(['23505', 'could not create unique index "uq2_v_key"', 'Key (v)=(7) is duplicated.']);
    await db.query('INSERT INTO uq2 VALUES (4, 7)');
  });
});

describe('TRUNCATE', () => {
  it('empties several tables with their indexes; RESTART IDENTITY restarts owned sequences', async () => {
    await db.query('CREATE TABLE t1 (id serial PRIMARY KEY, email text UNIQUE)');
    await db.query('CREATE TABLE t2 (v int)');
    await db.query("INSERT INTO t1 (email) VALUES ('a'), ('b')");
    await db.query('INSERT INTO t2 VALUES (1), (2), (3)');
    expect((await db.query('TRUNCATE t1, t2')).command).toBe('TRUNCATE');
    expect(await rows('SELECT (SELECT count(*) FROM t1), (SELECT count(*) FROM t2)')).toEqual([['0', '0']]);
    // The unique index was emptied too, and the sequence went on.
    await db.query("INSERT INTO t1 (email) VALUES ('a')");
    expect(await rows("SELECT id FROM t1 WHERE email = 'a'")).toEqual([[3]]);
    await db.query('TRUNCATE TABLE t1 RESTART IDENTITY');
    await db.query("INSERT INTO t1 (email) VALUES ('z')");
    expect(await rows('SELECT id, email FROM t1')).toEqual([[1, 'z']]);
  });

  it('is transactional: a rolled-back TRUNCATE leaves the rows, and a transaction sees its own', async () => {
    await db.query('CREATE TABLE keep (v int)');
    await db.query('INSERT INTO keep VALUES (1), (2)');
    await db.query('BEGIN');
    await db.query('TRUNCATE keep');
    expect(await rows('SELECT count(*) FROM keep')).toEqual([['0']]);
    await db.query('INSERT INTO keep VALUES (9)');
    expect(await rows('SELECT v FROM keep')).toEqual([[9]]);
    await db.query('ROLLBACK');
    expect(await rows('SELECT v FROM keep ORDER BY v')).toEqual([[1], [2]]);
  });

  it('refuses what is not a table', async () => {
    await db.query('CREATE VIEW keep_v AS SELECT v FROM keep');
    expect((await sqlError(db.query('TRUNCATE keep_v'))).code).toBe('42809');
    expect((await sqlError(db.query('TRUNCATE nosuch'))).code).toBe('42P01');
  });
});

describe('VACUUM and ANALYZE', () => {
  it('accepts them as no-ops after PostgreSQL\'s checks', async () => {
    await db.query('CREATE TABLE vac (id int PRIMARY KEY, v text)');
    expect((await db.query('VACUUM ANALYZE vac')).command).toBe('VACUUM');
    expect((await db.query('VACUUM')).command).toBe('VACUUM');
    expect((await db.query('VACUUM (VERBOSE, ANALYZE) vac (v)')).command).toBe('VACUUM');
    expect((await db.query('ANALYZE vac')).command).toBe('ANALYZE');
    expect((await sqlError(db.query('VACUUM nosuch'))).code).toBe('42P01');
    expect((await sqlError(db.query('ANALYZE vac (nope)'))).code).toBe('42703');
    expect((await sqlError(db.query('VACUUM (FROBNICATE) vac'))).code).toBe('42601');
    await db.query('BEGIN');
    expect((await db.query('ANALYZE vac')).command).toBe('ANALYZE');
    const inBlock = await sqlError(db.query('VACUUM vac'));
    expect([inBlock.code, inBlock.message]).toEqual(['25001', 'VACUUM cannot run inside a transaction block']);
    await db.query('ROLLBACK');
  });
});

describe('storage parameters', () => {
  it('accepts the ones PostgreSQL knows and ignores them; refuses unknown names and bad values with 22023', async () => {
    await db.query('CREATE TABLE ff (id int NOT NULL, v text) WITH (fillfactor=100, autovacuum_enabled = false, toast.autovacuum_enabled = false)');
    await db.query("INSERT INTO ff VALUES (1, 'a')");
    await db.query('ALTER TABLE ff ADD PRIMARY KEY (id) WITH (fillfactor = 90)');
    expect(await rows('SELECT v FROM ff WHERE id = 1')).toEqual([['a']]);
    const low = await sqlError(db.query('CREATE TABLE ff2 (id int) WITH (fillfactor = 5)'));
    expect([low.code, low.message, low.detail]).toEqual(['22023', 'value 5 out of bounds for option "fillfactor"', 'Valid values are between "10" and "100".']);
    const unknown = await sqlError(db.query('CREATE TABLE ff3 (id int) WITH (frobnicate = 1)'));
    expect([unknown.code, unknown.message]).toEqual(['22023', 'unrecognized parameter "frobnicate"']);
  });
});

describe('serial columns and literal defaults, as ORMs write them', () => {
  it('gives a serial column outside public a default that finds its sequence whatever the search_path', async () => {
    await db.query('CREATE SCHEMA IF NOT EXISTS tool');
    await db.query('CREATE TABLE IF NOT EXISTS tool.runs (id SERIAL PRIMARY KEY, what text NOT NULL)');
    await db.query("INSERT INTO tool.runs (what) VALUES ('first'), ('second')");
    await db.query("SET search_path = 'tool'");
    await db.query("INSERT INTO runs (what) VALUES ('third')");
    await db.query('RESET search_path');
    expect(await rows('SELECT id, what FROM tool.runs ORDER BY id')).toEqual([[1, 'first'], [2, 'second'], [3, 'third']]);
    expect(await rows("SELECT column_default FROM information_schema.columns WHERE table_schema = 'tool' AND column_name = 'id'")).toEqual([["nextval('tool.runs_id_seq'::regclass)"]]);
  });

  it("shows string literal defaults folded to the column's type, as PostgreSQL does", async () => {
    // knex writes DEFAULT '1' for true and quotes numbers.
    await db.query("CREATE TABLE lit (a boolean DEFAULT '1', b boolean DEFAULT 'no', c int DEFAULT '007', d int DEFAULT '-3', e numeric DEFAULT '1.50', f numeric(6,2) DEFAULT '0', g bigint DEFAULT '0')");
    expect(await rows("SELECT column_default FROM information_schema.columns WHERE table_name = 'lit' ORDER BY ordinal_position")).toEqual([
      ['true'],
      ['false'],
      ['7'],
      ["'-3'::integer"],
      ['1.50'],
      ["'0'::numeric"],
      ["'0'::bigint"],
    ]);
    await db.query('INSERT INTO lit DEFAULT VALUES');
    expect(await rows('SELECT * FROM lit')).toEqual([[true, false, 7, -3, '1.50', '0.00', '0']]);
  });
});
