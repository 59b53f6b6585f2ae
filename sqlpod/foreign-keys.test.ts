// FOREIGN KEY constraints end to end through a real SQL pod, each script run
// statement by statement on Shoal and on a real PostgreSQL
// (shared/testing/postgres.ts): the same rows, or the same SQLSTATE, message
// and detail. Then what PostgreSQL cannot be compared on: two sessions racing
// a parent delete against a child insert, and the KV round trips a bulk
// child insert costs.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCerts, startTestKvpod, type TestCerts, type TestKvpod } from '../kvpod/testing/fixtures.js';
import { startPostgres, type LocalPostgres } from '../shared/testing/postgres.js';
import type { SqlPod } from './pod.js';
import { descriptorSchema } from './sql/catalog/descriptors.js';
import { connect, createTenant, sqlError, startStampedPod } from './testing/fixtures.js';

let certs: TestCerts;
let kv: TestKvpod;
let pod: SqlPod;
let shoal: pg.Client;
let postgres: LocalPostgres;
let reference: pg.Client;

beforeAll(async () => {
  certs = await createTestCerts();
  [kv, postgres] = await Promise.all([startTestKvpod(certs), startPostgres({ settings: { fsync: 'off', TimeZone: 'UTC' } })]);
  const tenant = await createTenant(certs, kv.address, 'fks');
  pod = await startStampedPod(certs, tenant, kv.address);
  shoal = await connect(certs, pod);
  reference = new pg.Client({ connectionString: postgres.url() });
  await reference.connect();
}, 120_000);

afterAll(async () => {
  await shoal?.end();
  await reference?.end();
  await pod?.shutdown();
  await kv?.stop();
  await postgres?.stop();
});

type Outcome = { rows: unknown[][] } | { code: string | undefined; message: string; detail: string | undefined };

async function outcome(client: pg.Client, sql: string): Promise<Outcome> {
  try {
    const r = await client.query({ text: sql, rowMode: 'array' });
    return { rows: r.rows as unknown[][] };
  } catch (err) {
    if (err instanceof pg.DatabaseError) return { code: err.code, message: err.message, detail: err.detail };
    throw err;
  }
}

/** Runs the statements in order on both; every outcome must match PostgreSQL's. */
function script(name: string, statements: readonly string[]): void {
  it(name, async () => {
    for (const sql of statements) {
      const expected = await outcome(reference, sql);
      expect({ sql, outcome: await outcome(shoal, sql) }).toEqual({ sql, outcome: expected });
    }
  });
}

describe('compared with PostgreSQL', () => {
  script('inline REFERENCES with NO ACTION: inserts, updates and deletes on both sides', [
    'CREATE TABLE users (id integer PRIMARY KEY, name text)',
    'CREATE TABLE posts (id integer PRIMARY KEY, author_id integer REFERENCES users, title text)',
    "INSERT INTO users VALUES (1, 'ann'), (2, 'bob'), (3, 'cy')",
    "INSERT INTO posts VALUES (10, 1, 'a'), (11, 1, 'b'), (12, 2, 'c')",
    "INSERT INTO posts VALUES (13, 7, 'x')",
    "INSERT INTO posts VALUES (13, NULL, 'no author')",
    "INSERT INTO posts VALUES (14, 3, 'ok'), (15, 8, 'bad'), (16, 2, 'ok')",
    'SELECT id, author_id, title FROM posts ORDER BY id',
    'DELETE FROM users WHERE id = 1',
    'DELETE FROM users WHERE id = 3',
    'UPDATE users SET id = 20 WHERE id = 2',
    "UPDATE users SET name = 'bobby' WHERE id = 2",
    'UPDATE users SET id = 30 WHERE id = 30',
    'UPDATE posts SET author_id = 99 WHERE id = 10',
    'UPDATE posts SET author_id = 2 WHERE id = 10',
    'DELETE FROM posts WHERE author_id = 1',
    'DELETE FROM users WHERE id = 1',
    'SELECT id, name FROM users ORDER BY id',
    'SELECT id, author_id FROM posts ORDER BY id',
  ]);

  script('ON DELETE / ON UPDATE CASCADE, through two levels', [
    'CREATE TABLE c_authors (id integer PRIMARY KEY)',
    'CREATE TABLE c_books (id integer PRIMARY KEY, author integer REFERENCES c_authors ON DELETE CASCADE ON UPDATE CASCADE)',
    'CREATE TABLE c_pages (book integer REFERENCES c_books (id) ON DELETE CASCADE ON UPDATE CASCADE, n integer, PRIMARY KEY (book, n))',
    'INSERT INTO c_authors VALUES (1), (2)',
    'INSERT INTO c_books VALUES (10, 1), (11, 1), (12, 2)',
    'INSERT INTO c_pages VALUES (10, 1), (10, 2), (11, 1), (12, 1)',
    'UPDATE c_authors SET id = 5 WHERE id = 1',
    'SELECT id, author FROM c_books ORDER BY id',
    'UPDATE c_books SET id = id + 100 WHERE author = 5',
    'SELECT book, n FROM c_pages ORDER BY book, n',
    'DELETE FROM c_authors WHERE id = 5',
    'SELECT id, author FROM c_books ORDER BY id',
    'SELECT book, n FROM c_pages ORDER BY book, n',
  ]);

  script('SET NULL, SET DEFAULT and RESTRICT', [
    'CREATE TABLE s_parent (id integer PRIMARY KEY)',
    'INSERT INTO s_parent VALUES (0), (1), (2), (3)',
    'CREATE TABLE s_null (id integer PRIMARY KEY, p integer REFERENCES s_parent ON DELETE SET NULL ON UPDATE SET NULL)',
    'CREATE TABLE s_default (id integer PRIMARY KEY, p integer DEFAULT 0 REFERENCES s_parent ON DELETE SET DEFAULT)',
    'CREATE TABLE s_restrict (id integer PRIMARY KEY, p integer REFERENCES s_parent ON DELETE RESTRICT ON UPDATE RESTRICT)',
    'INSERT INTO s_null VALUES (1, 1), (2, 2)',
    'INSERT INTO s_default VALUES (1, 1), (2, 2)',
    'INSERT INTO s_restrict VALUES (1, 3)',
    'DELETE FROM s_parent WHERE id = 1',
    'UPDATE s_parent SET id = 12 WHERE id = 2',
    'SELECT id, p FROM s_null ORDER BY id',
    'SELECT id, p FROM s_default ORDER BY id',
    'DELETE FROM s_parent WHERE id = 3',
    'UPDATE s_parent SET id = 13 WHERE id = 3',
    'DELETE FROM s_parent WHERE id = 0',
    'CREATE TABLE s_notnull (id integer PRIMARY KEY, p integer NOT NULL REFERENCES s_parent ON DELETE SET NULL)',
    'INSERT INTO s_notnull VALUES (1, 12)',
    'DELETE FROM s_parent WHERE id = 12',
    'CREATE TABLE s_baddefault (id integer PRIMARY KEY, p integer DEFAULT 42 REFERENCES s_parent ON DELETE SET DEFAULT)',
    'INSERT INTO s_baddefault VALUES (1, 3)',
    'DELETE FROM s_restrict',
    'DELETE FROM s_parent WHERE id = 3',
    'DELETE FROM s_baddefault',
    'DELETE FROM s_parent WHERE id = 3',
    'SELECT id FROM s_parent ORDER BY id',
  ]);

  script('composite keys against a unique constraint, NULLs (MATCH SIMPLE), other column types', [
    'CREATE TABLE k_parent (a integer, b text, v integer, UNIQUE (a, b))',
    "INSERT INTO k_parent VALUES (1, 'x', 0), (2, 'y', 0)",
    'CREATE TABLE k_child (id integer PRIMARY KEY, ca integer, cb text, FOREIGN KEY (ca, cb) REFERENCES k_parent (a, b))',
    "INSERT INTO k_child VALUES (1, 1, 'x'), (2, NULL, 'zzz'), (3, 9, NULL)",
    "INSERT INTO k_child VALUES (4, 1, 'y')",
    "INSERT INTO k_child VALUES (4, 2, 'y')",
    "DELETE FROM k_parent WHERE a = 2",
    "DELETE FROM k_parent WHERE a = 1",
    'CREATE TABLE k_reversed (id integer PRIMARY KEY, cb text, ca integer, FOREIGN KEY (cb, ca) REFERENCES k_parent (b, a))',
    "INSERT INTO k_reversed VALUES (1, 'x', 1)",
    "INSERT INTO k_reversed VALUES (2, 'x', 2)",
    'CREATE TABLE k_big (id bigint PRIMARY KEY)',
    'INSERT INTO k_big VALUES (5000000000), (7)',
    'CREATE TABLE k_small (id integer PRIMARY KEY, big integer REFERENCES k_big)',
    'INSERT INTO k_small VALUES (1, 7)',
    'INSERT INTO k_small VALUES (2, 8)',
    'DELETE FROM k_big WHERE id = 7',
    'SELECT id, ca, cb FROM k_child ORDER BY id',
  ]);

  script('self-reference: a tree inserted in one statement, deleted by cascade', [
    'CREATE TABLE tree (id integer PRIMARY KEY, parent integer REFERENCES tree ON DELETE CASCADE)',
    'INSERT INTO tree VALUES (1, NULL), (2, 1), (3, 1), (4, 2), (5, 4), (6, NULL)',
    'INSERT INTO tree VALUES (7, 70)',
    'UPDATE tree SET parent = 6 WHERE id = 3',
    'DELETE FROM tree WHERE id = 1',
    'SELECT id, parent FROM tree ORDER BY id',
    'CREATE TABLE chain (id integer PRIMARY KEY, next integer REFERENCES chain)',
    'INSERT INTO chain VALUES (1, 2), (2, 1)',
    'DELETE FROM chain WHERE id = 1',
    'DELETE FROM chain',
    'SELECT count(*) FROM chain',
  ]);

  script('ALTER TABLE ADD CONSTRAINT on existing rows, DROP CONSTRAINT, default names', [
    'CREATE TABLE a_parent (id integer PRIMARY KEY, code text UNIQUE)',
    "INSERT INTO a_parent VALUES (1, 'one'), (2, 'two')",
    "CREATE TABLE a_child (id integer PRIMARY KEY, pid integer, code text)",
    "INSERT INTO a_child VALUES (1, 1, 'one'), (2, 3, 'two'), (3, NULL, 'nope')",
    'ALTER TABLE a_child ADD CONSTRAINT a_child_pid_fk FOREIGN KEY (pid) REFERENCES a_parent (id)',
    'DELETE FROM a_child WHERE id = 2',
    'ALTER TABLE a_child ADD CONSTRAINT a_child_pid_fk FOREIGN KEY (pid) REFERENCES a_parent (id) ON DELETE CASCADE',
    'ALTER TABLE a_child ADD FOREIGN KEY (code) REFERENCES a_parent (code)',
    'DELETE FROM a_child WHERE id = 3',
    'ALTER TABLE a_child ADD FOREIGN KEY (code) REFERENCES a_parent (code)',
    'ALTER TABLE a_child ADD FOREIGN KEY (pid) REFERENCES a_parent',
    "SELECT conname, contype, confupdtype, confdeltype, confmatchtype, conkey::text, confkey::text, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'a_child'::regclass ORDER BY conname",
    "INSERT INTO a_child VALUES (5, 2, 'nine')",
    'ALTER TABLE a_child DROP CONSTRAINT a_child_code_fkey',
    "INSERT INTO a_child VALUES (5, 2, 'nine')",
    'ALTER TABLE a_child DROP CONSTRAINT a_child_code_fkey',
    'ALTER TABLE a_child DROP CONSTRAINT IF EXISTS a_child_code_fkey',
    'DELETE FROM a_parent WHERE id = 1',
    'SELECT id, pid, code FROM a_child ORDER BY id',
    'ALTER TABLE a_child ADD CONSTRAINT a_child_pid_fk FOREIGN KEY (pid) REFERENCES a_parent (id)',
    'ALTER TABLE a_child ADD COLUMN p3 integer DEFAULT 99 REFERENCES a_parent',
    'ALTER TABLE a_child ADD COLUMN p2 integer REFERENCES a_parent',
    'INSERT INTO a_child (id, p2) VALUES (7, 5)',
    'ALTER TABLE a_child DROP COLUMN p2',
    'INSERT INTO a_child (id, p2) VALUES (7, 5)',
    "SELECT conname FROM pg_constraint WHERE conrelid = 'a_child'::regclass AND contype = 'f' ORDER BY 1",
    'CREATE TABLE dc_parent (id integer PRIMARY KEY, code text UNIQUE)',
    'CREATE TABLE dc_child (id integer PRIMARY KEY, code text REFERENCES dc_parent (code))',
    'ALTER TABLE dc_parent DROP COLUMN code',
    'ALTER TABLE dc_parent DROP COLUMN code CASCADE',
    "INSERT INTO dc_child VALUES (1, 'free now')",
    "SELECT count(*) FROM pg_constraint WHERE conrelid = 'dc_child'::regclass AND contype = 'f'",
  ]);

  script('definition errors', [
    'CREATE TABLE d_parent (id integer PRIMARY KEY, code text, n integer)',
    'CREATE TABLE d_nokey (v integer)',
    'CREATE TABLE d_1 (x integer REFERENCES d_parent (n))',
    'CREATE TABLE d_2 (x text REFERENCES d_parent)',
    'CREATE TABLE d_3 (x integer REFERENCES d_missing)',
    'CREATE TABLE d_4 (x integer, FOREIGN KEY (y) REFERENCES d_parent)',
    'CREATE TABLE d_5 (x integer REFERENCES d_parent (nope))',
    'CREATE TABLE d_6 (x integer, y integer, FOREIGN KEY (x, y) REFERENCES d_parent)',
    'CREATE TABLE d_7 (x integer REFERENCES d_nokey)',
    'CREATE TABLE d_8 (x bigint REFERENCES d_parent, y numeric REFERENCES d_parent)',
    'INSERT INTO d_parent VALUES (1)',
    'INSERT INTO d_8 VALUES (1, 1), (NULL, 1.0)',
    'INSERT INTO d_8 VALUES (2, NULL)',
    'CREATE TABLE d_9 (x integer, y text, FOREIGN KEY (x, y) REFERENCES d_parent (id, code) MATCH FULL)',
    'CREATE UNIQUE INDEX d_parent_id_code ON d_parent (id, code)',
    'CREATE TABLE d_9 (x integer, y text, FOREIGN KEY (x, y) REFERENCES d_parent (id, code) MATCH FULL)',
    "UPDATE d_parent SET code = 'c' WHERE id = 1",
    "INSERT INTO d_9 VALUES (NULL, NULL), (1, 'c')",
    'INSERT INTO d_9 VALUES (1, NULL)',
    "SELECT pg_get_constraintdef(oid), confmatchtype FROM pg_constraint WHERE conrelid = 'd_9'::regclass",
    'CREATE TABLE d_10 (x integer REFERENCES d_parent NOT DEFERRABLE INITIALLY IMMEDIATE)',
  ]);

  script('information_schema and pg_constraint as introspection reads them', [
    'CREATE TABLE i_org (id integer PRIMARY KEY, slug text, region integer, UNIQUE (region, slug))',
    'CREATE TABLE i_member (org integer NOT NULL REFERENCES i_org ON DELETE CASCADE, uid integer, r integer, s text, PRIMARY KEY (org, uid), CONSTRAINT i_member_rs FOREIGN KEY (s, r) REFERENCES i_org (slug, region) ON UPDATE SET NULL)',
    "SELECT constraint_name, table_name, constraint_type, is_deferrable, initially_deferred, enforced FROM information_schema.table_constraints WHERE table_name LIKE 'i\\_%' AND constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY') ORDER BY 1",
    "SELECT constraint_name, table_name, column_name, ordinal_position, position_in_unique_constraint FROM information_schema.key_column_usage WHERE table_name LIKE 'i\\_%' AND constraint_name NOT LIKE '%\\_key' ORDER BY 1, 4",
    "SELECT constraint_name, unique_constraint_schema, unique_constraint_name, match_option, update_rule, delete_rule FROM information_schema.referential_constraints WHERE constraint_name LIKE 'i\\_%' ORDER BY 1",
    "SELECT table_name, column_name, constraint_name FROM information_schema.constraint_column_usage WHERE constraint_name LIKE 'i\\_%' AND constraint_name NOT LIKE '%\\_key' ORDER BY 3, 2",
    "SELECT conname, confrelid::regclass::text, confupdtype, confdeltype, conkey::text, confkey::text, pg_get_constraintdef(oid, true) FROM pg_constraint WHERE conrelid = 'i_member'::regclass AND contype = 'f' ORDER BY conname",
    "SELECT c.conname, c.conrelid::regclass::text FROM pg_constraint c WHERE c.confrelid = 'i_org'::regclass AND c.contype = 'f' ORDER BY 1",
  ]);

  script('DROP TABLE and TRUNCATE of referenced tables', [
    'CREATE TABLE t_parent (id integer PRIMARY KEY)',
    'CREATE TABLE t_child (id integer PRIMARY KEY, p integer REFERENCES t_parent)',
    'INSERT INTO t_parent VALUES (1)',
    'INSERT INTO t_child VALUES (1, 1)',
    'DROP TABLE t_parent',
    'TRUNCATE t_parent',
    'TRUNCATE t_parent, t_child',
    'INSERT INTO t_parent VALUES (1)',
    'INSERT INTO t_child VALUES (1, 1)',
    'TRUNCATE t_parent CASCADE',
    'SELECT count(*) FROM t_child',
    'INSERT INTO t_parent VALUES (1)',
    'INSERT INTO t_child VALUES (1, 1)',
    'DROP TABLE t_parent CASCADE',
    'INSERT INTO t_child VALUES (2, 99)',
    "SELECT count(*) FROM pg_constraint WHERE conrelid = 't_child'::regclass AND contype = 'f'",
    'CREATE TABLE t_a (id integer PRIMARY KEY)',
    'CREATE TABLE t_b (id integer PRIMARY KEY, a integer REFERENCES t_a)',
    'DROP TABLE t_a, t_b',
    'CREATE TABLE t_self (id integer PRIMARY KEY, up integer REFERENCES t_self)',
    'DROP TABLE t_self',
  ]);
});

describe('beyond PostgreSQL comparison', () => {
  it('loads a table descriptor written before foreign keys existed, and one with them', () => {
    const old = {
      kind: 'table',
      id: 100,
      name: 'old',
      databaseId: 1,
      schemaId: 2,
      columns: [{ id: 1, name: 'id', typeOid: 23, typmod: -1, notNull: true, defaultExpr: null, hidden: false, missingValue: null }],
      primaryKey: { id: 1, name: 'old_pkey', unique: true, columnIds: [1], descending: [false] },
      indexes: [],
      checks: [],
      nextColumnId: 2,
      nextIndexId: 2,
    };
    const parsed = descriptorSchema.parse(old);
    expect(parsed.kind === 'table' && parsed.foreignKeys).toBeUndefined();
    const fk = { name: 'old_id_fkey', columnIds: [1], refTableId: 100, refColumnIds: [1], onDelete: 'c', onUpdate: 'a' };
    expect(descriptorSchema.parse({ ...old, foreignKeys: [fk] })).toMatchObject({ foreignKeys: [fk] });
    expect(() => descriptorSchema.parse({ ...old, foreignKeys: [{ ...fk, onDelete: 'x' }] })).toThrow();
  });

  it('refuses what it does not implement, naming it', async () => {
    await shoal.query('CREATE TABLE n_parent (id integer PRIMARY KEY)');
    for (const [sql, message] of [
      ['CREATE TABLE n_1 (x integer REFERENCES n_parent DEFERRABLE)', 'DEFERRABLE constraints are not supported'],
      ['CREATE TABLE n_2 (x integer, FOREIGN KEY (x) REFERENCES n_parent DEFERRABLE INITIALLY DEFERRED)', 'DEFERRABLE foreign keys are not supported'],
      ['CREATE TABLE n_3 (x integer, y integer, FOREIGN KEY (x, y) REFERENCES n_parent ON DELETE SET NULL (x))', 'ON DELETE SET NULL or SET DEFAULT with a column list is not supported'],
    ] as const) {
      const err = await sqlError(shoal.query(sql));
      expect([err.code, err.message]).toEqual(['0A000', message]);
    }
  });

  it.each([
    ['the deleting session commits first', false],
    ['the inserting session commits first', true],
  ])('a parent deleted while another session inserts a child, %s: never both commit', async (_, inserterFirst) => {
    const other = await connect(certs, pod);
    try {
      await shoal.query('DROP TABLE IF EXISTS r_child, r_parent');
      await shoal.query('CREATE TABLE r_parent (id integer PRIMARY KEY)');
      await shoal.query('CREATE TABLE r_child (id integer PRIMARY KEY, p integer REFERENCES r_parent)');
      await shoal.query('INSERT INTO r_parent VALUES (1)');
      await shoal.query('BEGIN');
      await other.query('BEGIN');
      await shoal.query('DELETE FROM r_parent WHERE id = 1');
      await other.query('INSERT INTO r_child VALUES (1, 1)');
      const outcomes = [];
      for (const client of inserterFirst ? [other, shoal] : [shoal, other]) {
        try {
          await client.query('COMMIT');
          outcomes.push('committed');
        } catch (err) {
          outcomes.push((err as pg.DatabaseError).code);
          await client.query('ROLLBACK').catch(() => undefined);
        }
      }
      expect(outcomes).toContain('committed');
      expect(outcomes.filter((o) => o === '40001' || o === '23503')).toHaveLength(1);
      const [parents, children] = [await shoal.query<{ n: number }>('SELECT count(*)::int AS n FROM r_parent'), await shoal.query<{ n: number }>('SELECT count(*)::int AS n FROM r_child')];
      // One of the two happened, not both: a child without its parent would be the anomaly.
      expect([parents.rows[0]?.n, children.rows[0]?.n]).not.toEqual([0, 1]);
    } finally {
      await other.end();
    }
  });

  it('a 1,000-row child insert costs a handful of KV round trips, not one per row', async () => {
    await shoal.query('CREATE TABLE b_parent (id integer PRIMARY KEY)');
    await shoal.query('INSERT INTO b_parent SELECT g FROM generate_series(1, 100) g');
    await shoal.query('CREATE TABLE b_child (id integer PRIMARY KEY, p integer REFERENCES b_parent)');
    await shoal.query('CREATE TABLE b_plain (id integer PRIMARY KEY, p integer)');
    const trips = async (sql: string) => {
      const r = await shoal.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE) ${sql}`);
      const line = r.rows.map((x) => x['QUERY PLAN']).find((l) => l.startsWith('Total KV Reads')) ?? '';
      return Number(/round trips=(\d+)/.exec(line)?.[1]);
    };
    const plain = await trips('INSERT INTO b_plain SELECT g, g % 100 + 1 FROM generate_series(1, 1000) g');
    const checked = await trips('INSERT INTO b_child SELECT g, g % 100 + 1 FROM generate_series(1, 1000) g');
    expect((await shoal.query<{ n: number }>('SELECT count(*)::int AS n FROM b_child')).rows[0]?.n).toBe(1000);
    console.log(`KV round trips for 1,000 rows: ${plain} without a foreign key, ${checked} with one`);
    expect(checked - plain).toBeGreaterThan(0);
    expect(checked - plain).toBeLessThanOrEqual(3);
  });
});
