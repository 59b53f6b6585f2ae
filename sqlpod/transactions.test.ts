// Savepoints and settings in transactions against a real PostgreSQL: each
// script runs statement by statement on both, and every outcome (rows, or
// the SQLSTATE of the error) must be the same, as must what is left after it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sameOnBoth, type Outcome, startBesidePostgres, type BesidePostgres } from './testing/beside-postgres.js';

let side: BesidePostgres;

beforeAll(async () => {
  side = await startBesidePostgres('transactions');
}, 120_000);

afterAll(async () => {
  await side?.stop();
});

/** Runs the statements on both in order; returns Shoal's outcomes. */
const script = (statements: readonly string[]): Promise<Outcome[]> => sameOnBoth(side, statements);

describe('savepoints', () => {
  it('rolls back the writes made after a savepoint and keeps the ones before', async () => {
    await script([
      'CREATE TABLE basic (id int PRIMARY KEY, v text UNIQUE)',
      'BEGIN',
      "INSERT INTO basic VALUES (1, 'a')",
      'SAVEPOINT one',
      "INSERT INTO basic VALUES (2, 'b')",
      "UPDATE basic SET v = 'A' WHERE id = 1",
      'SELECT * FROM basic ORDER BY id',
      'ROLLBACK TO SAVEPOINT one',
      'SELECT * FROM basic ORDER BY id',
      // The unique index entry of the rolled-back row is gone too.
      "INSERT INTO basic VALUES (3, 'b')",
      'ROLLBACK TO one',
      'SELECT * FROM basic ORDER BY id',
      "INSERT INTO basic VALUES (4, 'd')",
      'COMMIT',
      'SELECT * FROM basic ORDER BY id',
    ]);
  });

  it('recovers a block from an error: ROLLBACK TO leaves the failed state', async () => {
    const out = await script([
      'CREATE TABLE recover (id int PRIMARY KEY, n int CHECK (n > 0))',
      'BEGIN',
      'INSERT INTO recover VALUES (1, 1)',
      'SAVEPOINT s',
      'INSERT INTO recover VALUES (2, 2), (1, 3)',
      'SELECT count(*) FROM recover',
      'RELEASE s',
      'ROLLBACK TO s',
      'SELECT * FROM recover ORDER BY id',
      'INSERT INTO recover VALUES (3, -1)',
      'ROLLBACK TO s',
      'INSERT INTO recover VALUES (3, 3)',
      'RELEASE SAVEPOINT s',
      'COMMIT',
      'SELECT * FROM recover ORDER BY id',
    ]);
    expect(out[4]).toEqual({ code: '23505' });
    expect(out[5]).toEqual({ code: '25P02' });
    expect(out.at(-1)).toEqual({ rows: [[1, 1], [3, 3]] });
  });

  it('nests savepoints; RELEASE and ROLLBACK TO end the later ones; a reused name hides the older one', async () => {
    await script([
      'CREATE TABLE nest (id int PRIMARY KEY)',
      'BEGIN',
      'SAVEPOINT a',
      'INSERT INTO nest VALUES (1)',
      'SAVEPOINT b',
      'INSERT INTO nest VALUES (2)',
      'SAVEPOINT c',
      'INSERT INTO nest VALUES (3)',
      'ROLLBACK TO b',
      'SELECT * FROM nest ORDER BY id',
      'ROLLBACK TO c',
      'ROLLBACK TO a',
      'SELECT * FROM nest ORDER BY id',
      'INSERT INTO nest VALUES (10)',
      'SAVEPOINT a',
      'INSERT INTO nest VALUES (11)',
      'ROLLBACK TO a',
      'SELECT * FROM nest ORDER BY id',
      'RELEASE a',
      'ROLLBACK TO a',
      'SELECT * FROM nest ORDER BY id',
      'SAVEPOINT x',
      'INSERT INTO nest VALUES (20)',
      'SAVEPOINT y',
      'RELEASE x',
      'ROLLBACK TO y',
      'ROLLBACK',
      'SELECT count(*) FROM nest',
    ]);
  });

  it('refuses savepoint statements outside a transaction block and unknown names', async () => {
    const out = await script(['SAVEPOINT s', 'RELEASE s', 'ROLLBACK TO s', 'BEGIN', 'RELEASE nope', 'SELECT 1', 'ROLLBACK']);
    expect(out.slice(0, 3)).toEqual([{ code: '25P01' }, { code: '25P01' }, { code: '25P01' }]);
    expect(out[4]).toEqual({ code: '3B001' });
  });

  it('rolls back deletes, a TRUNCATE and a schema change made after the savepoint', async () => {
    await script([
      'CREATE TABLE keep (id int PRIMARY KEY, v int)',
      'INSERT INTO keep SELECT g, g * 10 FROM generate_series(1, 50) g',
      'BEGIN',
      'SAVEPOINT s',
      'DELETE FROM keep WHERE id % 2 = 0',
      'TRUNCATE keep',
      'SELECT count(*) FROM keep',
      'ROLLBACK TO s',
      'SELECT count(*), sum(v) FROM keep',
      'CREATE TABLE scratch (id int PRIMARY KEY)',
      'INSERT INTO scratch VALUES (1)',
      'ALTER TABLE keep ADD COLUMN w int DEFAULT 7',
      'SELECT w FROM keep WHERE id = 1',
      'ROLLBACK TO s',
      'SELECT * FROM scratch',
      'ROLLBACK TO s',
      'SELECT w FROM keep WHERE id = 1',
      'ROLLBACK TO s',
      'CREATE TABLE scratch (id text PRIMARY KEY)',
      "INSERT INTO scratch VALUES ('kept')",
      'COMMIT',
      'SELECT * FROM scratch',
      'SELECT count(*) FROM keep',
    ]);
  });

  it('never sends rolled-back writes: another session sees only what was committed', async () => {
    await script(['CREATE TABLE seen (id int PRIMARY KEY)']);
    const other = await side.connectShoal();
    await side.shoal.query('BEGIN');
    await side.shoal.query('INSERT INTO seen VALUES (1)');
    await side.shoal.query('SAVEPOINT s');
    await side.shoal.query('INSERT INTO seen VALUES (2)');
    await side.shoal.query('ROLLBACK TO s');
    await side.shoal.query('COMMIT');
    expect((await other.query('SELECT id FROM seen ORDER BY id')).rows).toEqual([{ id: 1 }]);
  });
});

describe('settings in transactions', () => {
  it('SET LOCAL lasts to the end of the block; SET survives COMMIT but not ROLLBACK', async () => {
    const out = await script([
      "SET application_name = 'outer'",
      'BEGIN',
      "SET LOCAL application_name = 'local'",
      'SHOW application_name',
      "SET LOCAL statement_timeout = '5s'",
      'SHOW statement_timeout',
      'COMMIT',
      'SHOW application_name',
      'SHOW statement_timeout',
      'BEGIN',
      "SET application_name = 'in block'",
      'ROLLBACK',
      'SHOW application_name',
      'BEGIN',
      "SET application_name = 'kept'",
      'COMMIT',
      'SHOW application_name',
      'BEGIN',
      "SET LOCAL application_name = 'local'",
      "SET application_name = 'after local'",
      'COMMIT',
      'SHOW application_name',
      "SET LOCAL application_name = 'no block'",
      'SHOW application_name',
      'BEGIN',
      "SET app.custom = 'x'",
      'ROLLBACK',
      'SHOW app.custom',
    ]);
    expect(out[3]).toEqual({ rows: [['local']] });
    expect(out[7]).toEqual({ rows: [['outer']] });
    expect(out[12]).toEqual({ rows: [['outer']] });
    expect(out[16]).toEqual({ rows: [['kept']] });
    expect(out[21]).toEqual({ rows: [['after local']] });
  });

  it('ROLLBACK TO a savepoint undoes the settings changed after it; a failed block restores them at its end', async () => {
    await script([
      "SET search_path = public",
      'BEGIN',
      "SET search_path = nowhere, public",
      'SAVEPOINT s',
      "SET LOCAL search_path = elsewhere",
      "SET extra_float_digits = 3",
      'SHOW search_path',
      'ROLLBACK TO s',
      'SHOW search_path',
      'SHOW extra_float_digits',
      "SET application_name = 'doomed'",
      'SELECT 1 / 0',
      'COMMIT',
      'SHOW search_path',
      'SHOW application_name',
    ]);
  });
});

describe('current_setting and set_config', () => {
  it('read and change settings from a query, locally or for the session', async () => {
    const out = await script([
      "SET TimeZone = 'UTC'",
      "SELECT current_setting('search_path'), current_setting('TimeZone'), current_setting('application_name')",
      "SELECT set_config('application_name', 'from query', false)",
      'SHOW application_name',
      'BEGIN',
      "SELECT set_config('application_name', 'local one', true), current_setting('application_name')",
      'COMMIT',
      "SELECT current_setting('application_name')",
      "SELECT set_config('app.tenant', '42', false), current_setting('app.tenant')",
      "SELECT current_setting('no_such_setting')",
      "SELECT current_setting('no_such_setting', true) IS NULL",
      "SELECT set_config(NULL, 'x', false)",
      "SELECT set_config('application_name', NULL, false), current_setting('application_name')",
    ]);
    expect(out[7]).toEqual({ rows: [['from query']] });
    expect(out[9]).toEqual({ code: '42704' });
  });

  it('a prepared statement reads the setting of each run, not of its planning', async () => {
    const read = { name: 'read_app_name', text: "SELECT current_setting('application_name') AS v" };
    await side.shoal.query("SET application_name = 'first'");
    expect((await side.shoal.query(read)).rows).toEqual([{ v: 'first' }]);
    await side.shoal.query("SET application_name = 'second'");
    expect((await side.shoal.query(read)).rows).toEqual([{ v: 'second' }]);
  });
});

describe('what migration tools send', () => {
  it('infers an untyped $n compared with ANY as an array of the other side', async () => {
    for (const [sql, values] of [
      ["SELECT 1 AS one WHERE 'a' = ANY($1)", [['a', 'b']]],
      ['SELECT n.nspname FROM pg_namespace n WHERE n.nspname = ANY ( $1 ) ORDER BY 1', [['public', 'nope']]],
      ['SELECT x FROM generate_series(1, 5) x WHERE x <> ALL($1) ORDER BY x', [[2, 4]]],
    ] as const) {
      const [mine, theirs] = await Promise.all([side.shoal.query(sql, [...values]), side.reference.query(sql, [...values])]);
      expect({ sql, rows: mine.rows }).toEqual({ sql, rows: theirs.rows });
    }
  });

  it('quotes a mixed-case serial sequence in the column default, and its nextval finds it', async () => {
    await script([
      'CREATE TABLE "Post" (id serial PRIMARY KEY, "Title" text)',
      `INSERT INTO "Post" ("Title") VALUES ('a'), ('b')`,
      'SELECT id, "Title" FROM "Post" ORDER BY id',
      "SELECT column_default FROM information_schema.columns WHERE table_name = 'Post' AND column_name = 'id'",
      "SELECT nextval('\"Post_id_seq\"')",
      "SELECT nextval('Post_id_seq')",
    ]);
  });
});

