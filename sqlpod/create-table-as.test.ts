// CREATE TABLE … AS and SELECT … INTO against a real PostgreSQL: the same
// outcome for every statement (rows and command tag, or SQLSTATE), the same
// column names and types (with typmods) in the catalog, the same rows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sameTaggedOnBoth, startBesidePostgres, type BesidePostgres, type TaggedOutcome } from './testing/beside-postgres.js';
import { sqlError } from './testing/fixtures.js';

let side: BesidePostgres;

beforeAll(async () => {
  side = await startBesidePostgres('ctas', {
    setup: [
      'CREATE TABLE src (id int PRIMARY KEY, name varchar(20) NOT NULL, price numeric(10,2), at timestamptz(3), code char(3), tags text[], big bigint, ok boolean)',
      "INSERT INTO src SELECT g, 'n' || g, g * 1.5, '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 hour', 'c' || (g % 10), ARRAY['a', 'b' || g], g::bigint * 1000000000, g % 2 = 0 FROM generate_series(1, 20) g",
    ],
  });
}, 120_000);

afterAll(async () => {
  await side?.stop();
});

async function script(statements: readonly string[]): Promise<TaggedOutcome[]> {
  await Promise.all([side.shoal.query('ROLLBACK'), side.reference.query('ROLLBACK')]);
  return sameTaggedOnBoth(side, statements);
}

const columnsOf = (table: string): string =>
  `SELECT column_name, data_type, character_maximum_length, numeric_precision, numeric_scale, datetime_precision, is_nullable FROM information_schema.columns WHERE table_name = '${table}' ORDER BY ordinal_position`;

describe('CREATE TABLE … AS', () => {
  it('creates the table with the query column types and typmods, fills it, and tags SELECT n', async () => {
    const out = await script([
      'CREATE TABLE copy1 AS SELECT * FROM src WHERE id <= 5',
      columnsOf('copy1'),
      'SELECT * FROM copy1 ORDER BY id',
      'CREATE TABLE copy2 AS SELECT id * 2 AS twice, name || \'!\' AS shout, price + 1, 1.5 AS lit, \'x\' AS unk, count(*) OVER () AS n, now()::date AS d FROM src WHERE id <= 3',
      columnsOf('copy2'),
      'SELECT twice, shout, "?column?", lit, unk, n FROM copy2 ORDER BY twice',
      // No primary key: the same rows can go in again.
      'INSERT INTO copy1 SELECT * FROM copy1',
      'SELECT count(*) FROM copy1',
    ]);
    expect(out[0]).toEqual({ rows: [], tag: 'SELECT 5' });
  });

  it('takes column name lists, WITH NO DATA, IF NOT EXISTS, and runs in the transaction', async () => {
    await script([
      'CREATE TABLE named (a, b) AS SELECT id, name FROM src WHERE id < 4',
      columnsOf('named'),
      'SELECT * FROM named ORDER BY a',
      'CREATE TABLE partial (a) AS SELECT id, name FROM src WHERE id < 3',
      columnsOf('partial'),
      'CREATE TABLE toomany (a, b, c) AS SELECT id, name FROM src',
      'CREATE TABLE empty AS SELECT * FROM src WITH NO DATA',
      'SELECT count(*) FROM empty',
      columnsOf('empty'),
      'CREATE TABLE named AS SELECT 1',
      'CREATE TABLE IF NOT EXISTS named AS SELECT 1',
      'SELECT count(*) FROM named',
      'CREATE TABLE dup AS SELECT id, id FROM src',
      'CREATE TABLE nope AS SELECT * FROM no_such_table',
      'BEGIN',
      'CREATE TABLE inblock AS SELECT id FROM src WHERE id > 18',
      'INSERT INTO inblock VALUES (100)',
      'SELECT * FROM inblock ORDER BY id',
      'ROLLBACK',
      'SELECT * FROM inblock',
    ]);
  });

  it('SELECT … INTO creates the table too; TEMP is refused as TEMP tables are', async () => {
    const out = await script([
      'SELECT id, name AS label INTO into1 FROM src WHERE id % 5 = 0',
      'SELECT * FROM into1 ORDER BY id',
      columnsOf('into1'),
      'SELECT 1 AS one INTO TABLE into2',
      'SELECT * FROM into2',
    ]);
    expect(out[0]).toEqual({ rows: [], tag: 'SELECT 4' });
    expect(await sqlError(side.shoal.query('SELECT 1 INTO TEMP t9'))).toMatchObject({ code: '0A000' });
    expect(await sqlError(side.shoal.query('CREATE TEMP TABLE t9 AS SELECT 1'))).toMatchObject({ code: '0A000', message: 'temporary tables are not supported' });
    expect(await sqlError(side.shoal.query('CREATE MATERIALIZED VIEW mv AS SELECT 1'))).toMatchObject({ code: '0A000' });
  });
});
