// SQL-level cursors (DECLARE, FETCH, MOVE, CLOSE) and prepared statements
// (PREPARE, EXECUTE, DEALLOCATE) against a real PostgreSQL: each script runs
// statement by statement on both, and every outcome (rows and command tag,
// or the SQLSTATE of the error) must be the same.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sameTaggedOnBoth, startBesidePostgres, type BesidePostgres, type TaggedOutcome } from './testing/beside-postgres.js';

let side: BesidePostgres;

beforeAll(async () => {
  side = await startBesidePostgres('cursors', {
    setup: ['CREATE TABLE nums (id int PRIMARY KEY, v text NOT NULL)', "INSERT INTO nums SELECT g, 'v' || g FROM generate_series(1, 10) g"],
  });
}, 120_000);

afterAll(async () => {
  await side?.stop();
});

/** Runs the statements on both in order; returns Shoal's outcomes. */
async function script(statements: readonly string[], client = side.shoal, reference = side.reference): Promise<TaggedOutcome[]> {
  // A failed script leaves no block open for the next one.
  await Promise.all([client.query('ROLLBACK'), reference.query('ROLLBACK')]);
  return sameTaggedOnBoth(side, statements, { shoal: client, reference });
}

describe('cursors', () => {
  it('fetches forward with every count form a NO SCROLL cursor takes, with PostgreSQL tags', async () => {
    const out = await script([
      'BEGIN',
      'DECLARE c NO SCROLL CURSOR FOR SELECT id, v FROM nums ORDER BY id',
      'FETCH c',
      'FETCH NEXT FROM c',
      'FETCH 2 FROM c',
      'FETCH FORWARD 2 IN c',
      'MOVE 1 c',
      'MOVE FORWARD 0 c',
      'FETCH RELATIVE 2 c',
      'FETCH ABSOLUTE 10 c',
      'MOVE FORWARD ALL c',
      'FETCH c',
      'FETCH ALL c',
      'MOVE 0 c',
      'CLOSE c',
      'FETCH c',
      'ROLLBACK',
    ]);
    expect(out[5]).toMatchObject({ tag: 'FETCH 2' });
    expect(out[6]).toMatchObject({ tag: 'MOVE 1' });
    expect(out[15]).toEqual({ code: '34000' });
  });

  it('refuses going backward on a NO SCROLL cursor as PostgreSQL does', async () => {
    // FETCH 0 re-reads the current row: backward too.
    for (const fetch of ['FETCH 0 c', 'FETCH RELATIVE 0 c', 'FETCH PRIOR c', 'FETCH BACKWARD 1 c', 'FETCH -1 c', 'FETCH FIRST c', 'FETCH ABSOLUTE 1 c', 'FETCH LAST c', 'MOVE BACKWARD ALL c', 'FETCH RELATIVE -1 c']) {
      await script(['BEGIN', 'DECLARE c NO SCROLL CURSOR FOR SELECT id FROM nums ORDER BY id', 'FETCH 3 c', fetch, 'ROLLBACK']);
    }
    // Before anything was read, rewinding is no movement at all.
    await script(['BEGIN', 'DECLARE c NO SCROLL CURSOR FOR SELECT id FROM nums ORDER BY id', 'FETCH FIRST c', 'FETCH ABSOLUTE 4 c', 'FETCH LAST c', 'ROLLBACK']);
  });

  it('moves every way on a SCROLL cursor', async () => {
    await script([
      'BEGIN',
      'DECLARE s SCROLL CURSOR FOR SELECT id FROM nums WHERE id <= 6 ORDER BY id',
      'FETCH PRIOR s',
      'FETCH 2 s',
      'FETCH PRIOR s',
      'FETCH BACKWARD 5 s',
      'FETCH LAST s',
      'FETCH NEXT s',
      'FETCH PRIOR s',
      'FETCH FIRST s',
      'FETCH ABSOLUTE 4 s',
      'FETCH ABSOLUTE -2 s',
      'FETCH ABSOLUTE 0 s',
      'FETCH RELATIVE 3 s',
      'FETCH RELATIVE -1 s',
      'FETCH RELATIVE 0 s',
      'FETCH 0 s',
      'FETCH -2 s',
      'FETCH BACKWARD -2 s',
      'MOVE BACKWARD ALL s',
      'FETCH ALL s',
      'FETCH BACKWARD ALL s',
      'MOVE ABSOLUTE 10 s',
      'FETCH PRIOR s',
      'MOVE LAST s',
      'MOVE RELATIVE -2 s',
      'FETCH 1 s',
      'MOVE BACKWARD ALL s',
      'FETCH ABSOLUTE -7 s',
      'FETCH NEXT s',
      'COMMIT',
    ]);
  });

  it('is only valid in a transaction block, unless WITH HOLD; names are unique; CLOSE ALL closes them all', async () => {
    const out = await script([
      'DECLARE c CURSOR FOR SELECT 1',
      'DECLARE c CURSOR WITHOUT HOLD FOR SELECT 1',
      'FETCH c',
      'CLOSE c',
      'BEGIN',
      'DECLARE c CURSOR FOR SELECT 1',
      'DECLARE d CURSOR FOR VALUES (1), (2)',
      'FETCH ALL d',
      'CLOSE ALL',
      'FETCH d',
      'ROLLBACK',
      'BEGIN',
      'DECLARE c CURSOR FOR SELECT 1',
      'DECLARE c CURSOR FOR SELECT 2',
      'ROLLBACK',
      'BEGIN',
      'DECLARE c CURSOR FOR SELECT 1',
      'COMMIT',
      'FETCH c',
    ]);
    expect(out.slice(0, 4)).toEqual([{ code: '25P01' }, { code: '25P01' }, { code: '34000' }, { code: '34000' }]);
    expect(out[13]).toEqual({ code: '42P03' });
  });

  it('keeps WITH HOLD cursors past COMMIT, and closes those of a block that rolls back', async () => {
    await script([
      'BEGIN',
      'DECLARE h CURSOR WITH HOLD FOR SELECT id, v FROM nums ORDER BY id',
      'FETCH 2 h',
      'COMMIT',
      'FETCH 3 h',
      "INSERT INTO nums VALUES (100, 'late')",
      'FETCH ALL h',
      'FETCH h',
      'CLOSE h',
      'DECLARE h2 SCROLL CURSOR WITH HOLD FOR SELECT id FROM nums WHERE id < 5 ORDER BY id',
      'FETCH LAST h2',
      'FETCH ABSOLUTE 2 h2',
      'BEGIN',
      'DECLARE h3 CURSOR WITH HOLD FOR SELECT 1',
      'FETCH PRIOR h2',
      'ROLLBACK',
      'FETCH h3',
      // The committed one survives, where it was moved to.
      'FETCH NEXT h2',
      'CLOSE ALL',
      'DELETE FROM nums WHERE id = 100',
    ]);
  });

  it('reads as of DECLARE: later writes of the transaction are not seen', async () => {
    await script([
      'BEGIN',
      'DECLARE c CURSOR FOR SELECT id, v FROM nums WHERE id > 8 ORDER BY id',
      "INSERT INTO nums VALUES (11, 'eleven')",
      "UPDATE nums SET v = 'changed' WHERE id = 10",
      'DELETE FROM nums WHERE id = 9',
      'FETCH ALL c',
      'DECLARE d CURSOR FOR SELECT id, v FROM nums WHERE id > 8 ORDER BY id',
      'FETCH ALL d',
      'ROLLBACK',
    ]);
  });

  it('closes cursors declared after a savepoint rolled back to, and keeps the older ones', async () => {
    await script([
      'BEGIN',
      'DECLARE a CURSOR FOR SELECT id FROM nums ORDER BY id',
      'SAVEPOINT s',
      'DECLARE b CURSOR FOR SELECT id FROM nums ORDER BY id',
      'FETCH 2 a',
      'FETCH b',
      'ROLLBACK TO s',
      'FETCH b',
      'ROLLBACK TO s',
      'FETCH a',
      'SAVEPOINT t',
      'DECLARE b CURSOR FOR SELECT 1',
      'RELEASE t',
      'FETCH b',
      'ROLLBACK TO s',
      'FETCH b',
      'COMMIT',
    ]);
  });

  it('fails the block on an error inside the cursor, at FETCH as PostgreSQL does', async () => {
    // Rows are computed a batch at a time: an error shows at the FETCH that reaches its batch, not its row.
    const out = await script(['BEGIN', 'DECLARE z CURSOR FOR SELECT 10 / (id - 1) FROM nums ORDER BY id', 'FETCH 2 z', 'FETCH z', 'ROLLBACK', 'FETCH z']);
    expect(out[2]).toEqual({ code: '22012' });
    expect(out[3]).toEqual({ code: '25P02' });
  });

  it('sends a BINARY cursor\'s rows in binary', async () => {
    const raw = async (client: pg.Client): Promise<unknown[]> => {
      await client.query('BEGIN');
      await client.query("DECLARE b BINARY CURSOR FOR SELECT id, v, id::float8 / 4 FROM nums WHERE id <= 2 ORDER BY id");
      const r = await client.query({ text: 'FETCH ALL b', rowMode: 'array', types: { getTypeParser: () => (v: string | Buffer) => Buffer.from(v).toString('hex') } });
      await client.query('COMMIT');
      return [r.fields.map((f) => f.format), r.rows];
    };
    const mine = await raw(side.shoal);
    expect(mine[0]).toEqual(['binary', 'binary', 'binary']);
    expect(mine).toEqual(await raw(side.reference));
  });

  it('streams through the extended protocol too (node-postgres with parameters)', async () => {
    const run = async (client: pg.Client): Promise<unknown[]> => {
      await client.query('BEGIN');
      await client.query({ text: 'DECLARE p CURSOR FOR SELECT id FROM nums WHERE id > $1 ORDER BY id', values: [6] });
      const got = [(await client.query('FETCH 2 p')).rows, (await client.query({ text: 'FETCH ALL p', values: [] })).rows];
      await client.query('COMMIT');
      return got;
    };
    expect(await run(side.shoal)).toEqual(await run(side.reference));
  });
});

describe('PREPARE and EXECUTE', () => {
  it('prepares with declared or inferred parameter types and executes with arguments', async () => {
    const out = await script([
      'PREPARE q (int) AS SELECT id, v FROM nums WHERE id <= $1 ORDER BY id',
      'EXECUTE q(3)',
      "EXECUTE q('2')",
      'EXECUTE q(1 + 1)',
      'PREPARE r AS SELECT v FROM nums WHERE id = $1',
      'EXECUTE r(4)',
      "PREPARE ins (int, text) AS INSERT INTO nums VALUES ($1, $2) RETURNING id",
      "EXECUTE ins(50, 'fifty')",
      'PREPARE upd AS UPDATE nums SET v = $2 WHERE id = $1',
      "EXECUTE upd(50, 'FIFTY')",
      'PREPARE del AS DELETE FROM nums WHERE id >= $1',
      'EXECUTE del(50)',
      'DEALLOCATE upd',
      'DEALLOCATE PREPARE del',
      'EXECUTE del(1)',
      'DEALLOCATE ALL',
      'EXECUTE q(1)',
    ]);
    expect(out[1]).toMatchObject({ tag: 'SELECT 3' });
    expect(out[7]).toMatchObject({ tag: 'INSERT 1' });
    expect(out[14]).toEqual({ code: '26000' });
  });

  it('refuses duplicates, unknown names, wrong argument counts and types as PostgreSQL does', async () => {
    const out = await script([
      'PREPARE d (int) AS SELECT $1',
      'PREPARE d (int) AS SELECT $1',
      'EXECUTE nope',
      'EXECUTE d',
      'EXECUTE d(1, 2)',
      "EXECUTE d(now())",
      'EXECUTE d(2.7)',
      'DEALLOCATE nope',
      'PREPARE bad AS SELECT * FROM no_such_table',
      'EXECUTE bad',
      'DEALLOCATE d',
    ]);
    expect(out.slice(1, 6)).toEqual([{ code: '42P05' }, { code: '26000' }, { code: '42601' }, { code: '42601' }, { code: '42804' }]);
  });

  it('outlives transactions, rolled back or not', async () => {
    await script(['BEGIN', 'PREPARE t1 AS SELECT 1', 'ROLLBACK', 'EXECUTE t1', 'BEGIN', 'DEALLOCATE t1', 'ROLLBACK', 'EXECUTE t1', 'DEALLOCATE t1']);
  });

  it('declares a cursor over a prepared statement', async () => {
    await script(['PREPARE pq AS SELECT id FROM nums ORDER BY id', 'BEGIN', 'DECLARE pc CURSOR FOR SELECT id FROM nums ORDER BY id', 'FETCH 2 pc', 'EXECUTE pq', 'COMMIT', 'DEALLOCATE pq']);
  });
});
