// Row locks among the transactions of one SQL pod, beside a real PostgreSQL:
// every scenario runs on both, one after the other, and must end the same
// way (which statement waits, what it then sees, which error ends a wait).
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onBoth, stillWaiting, startBesidePostgres, type BesidePostgres } from './testing/beside-postgres.js';
import { sqlError } from './testing/fixtures.js';

let side: BesidePostgres;

beforeAll(async () => {
  side = await startBesidePostgres('row-locks');
}, 120_000);

afterAll(async () => {
  await side?.stop();
});

async function table(client: pg.Client, name: string, rows: readonly [number, number][]): Promise<void> {
  await client.query(`DROP TABLE IF EXISTS ${name}`);
  await client.query(`CREATE TABLE ${name} (id int PRIMARY KEY, n int NOT NULL)`);
  await client.query(`INSERT INTO ${name} VALUES ${rows.map(([id, n]) => `(${id}, ${n})`).join(', ')}`);
}

async function rowsOf(client: pg.Client, name: string): Promise<unknown[][]> {
  return (await client.query({ text: `SELECT id, n FROM ${name} ORDER BY id`, rowMode: 'array' })).rows as unknown[][];
}

describe('row locks', () => {
  it('an UPDATE waits for the transaction holding the row, then updates the row that one committed', async () => {
    const out = await onBoth(side, async (connect) => {
      const [a, b, c] = [await connect(), await connect(), await connect()];
      await table(a, 'waits', [[1, 1], [2, 1]]);
      await a.query('BEGIN');
      await a.query('UPDATE waits SET n = n + 1 WHERE id = 1');
      const blocked = b.query({ text: 'UPDATE waits SET n = n * 10 WHERE id = 1 RETURNING n', rowMode: 'array' });
      const waited = await stillWaiting(blocked);
      // Another row is not locked.
      await c.query('UPDATE waits SET n = 7 WHERE id = 2');
      await a.query('COMMIT');
      return { waited, returned: (await blocked).rows, rows: await rowsOf(a, 'waits') };
    });
    expect(out).toEqual({ waited: true, returned: [[20]], rows: [[1, 20], [2, 7]] });
  });

  it('a DELETE that waited checks its condition again on the committed row; a rolled-back holder leaves the row as it was', async () => {
    const out = await onBoth(side, async (connect) => {
      const [a, b] = [await connect(), await connect()];
      await table(a, 'recheck', [[1, 1], [2, 1]]);
      await a.query('BEGIN');
      await a.query('UPDATE recheck SET n = 5 WHERE id = 1');
      await a.query('UPDATE recheck SET n = 9 WHERE id = 2');
      const deleted = b.query('DELETE FROM recheck WHERE n = 1');
      const waited = await stillWaiting(deleted);
      await a.query('COMMIT');
      const deletedCount = (await deleted).rowCount;
      await a.query('BEGIN');
      await a.query('UPDATE recheck SET n = 100 WHERE id = 1');
      const updated = b.query({ text: 'UPDATE recheck SET n = n + 1 WHERE id = 1 RETURNING n', rowMode: 'array' });
      const waitedAgain = await stillWaiting(updated);
      await a.query('ROLLBACK');
      return { waited, deletedCount, waitedAgain, returned: (await updated).rows, rows: await rowsOf(a, 'recheck') };
    });
    expect(out).toEqual({ waited: true, deletedCount: 0, waitedAgain: true, returned: [[6]], rows: [[1, 6], [2, 9]] });
  });

  it('clients that all update the same rows in blocks wait for each other and every block commits', { timeout: 60_000 }, async () => {
    const CLIENTS = 6;
    const BLOCKS = 8;
    const out = await onBoth(side, async (connect) => {
      const clients = await Promise.all(Array.from({ length: CLIENTS }, () => connect()));
      const [first] = clients;
      if (!first) throw new Error('no client');
      await table(first, 'branch', [[1, 0], [2, 0]]);
      await first.query('DROP TABLE IF EXISTS ledger');
      await first.query('CREATE TABLE ledger (client int, block int, balance int)');
      const failures: string[] = [];
      await Promise.all(
        clients.map(async (client, c) => {
          for (let block = 0; block < BLOCKS; block++) {
            try {
              await client.query('BEGIN');
              // As pgbench's TPC-B: a read-modify-write of the hot row, a read back, another hot row, an insert.
              await client.query('UPDATE branch SET n = n + 1 WHERE id = 1');
              const { rows } = await client.query<{ n: number }>('SELECT n FROM branch WHERE id = 1');
              await client.query('UPDATE branch SET n = n + 2 WHERE id = 2');
              await client.query('INSERT INTO ledger VALUES ($1, $2, $3)', [c, block, rows[0]?.n]);
              await client.query('COMMIT');
            } catch (err) {
              failures.push((err as pg.DatabaseError).code ?? String(err));
              await client.query('ROLLBACK');
            }
          }
        }),
      );
      const ledger = (await first.query<{ balances: number; distinct: number }>('SELECT count(*)::int AS balances, count(DISTINCT balance)::int AS distinct FROM ledger')).rows[0];
      return { failures, rows: await rowsOf(first, 'branch'), ledger };
    });
    const total = CLIENTS * BLOCKS;
    // Each block saw the hot row right after its own increment: every balance from 1 to the total once.
    expect(out).toEqual({ failures: [], rows: [[1, total], [2, 2 * total]], ledger: { balances: total, distinct: total } });
  });

  it('an INSERT of a key another transaction is inserting waits, then fails with 23505 or runs its ON CONFLICT action', async () => {
    const out = await onBoth(side, async (connect) => {
      const [a, b] = [await connect(), await connect()];
      await table(a, 'inserts', [[0, 0]]);
      const waitFor = async (work: () => Promise<unknown>, end: 'COMMIT' | 'ROLLBACK', held: string) => {
        await a.query('BEGIN');
        await a.query(held);
        const pending = work();
        const waited = await stillWaiting(pending);
        await a.query(end);
        const result = await pending.then(
          (r): unknown[] => (r as pg.QueryResult<unknown[]>).rows,
          (e: unknown) => (e as pg.DatabaseError).code,
        );
        return { waited, result };
      };
      const upsert = (id: number, n: number) => () =>
        b.query({ text: `INSERT INTO inserts VALUES (${id}, ${n}) ON CONFLICT (id) DO UPDATE SET n = inserts.n + excluded.n RETURNING n`, rowMode: 'array' });
      return {
        duplicate: await waitFor(() => b.query('INSERT INTO inserts VALUES (1, 2)'), 'COMMIT', 'INSERT INTO inserts VALUES (1, 1)'),
        afterRollback: await waitFor(() => b.query({ text: 'INSERT INTO inserts VALUES (2, 2) RETURNING n', rowMode: 'array' }), 'ROLLBACK', 'INSERT INTO inserts VALUES (2, 1)'),
        upsertAfterInsert: await waitFor(upsert(3, 5), 'COMMIT', 'INSERT INTO inserts VALUES (3, 1)'),
        upsertAfterUpdate: await waitFor(upsert(1, 1), 'COMMIT', 'UPDATE inserts SET n = 10 WHERE id = 1'),
        rows: await rowsOf(a, 'inserts'),
      };
    });
    expect(out).toEqual({
      duplicate: { waited: true, result: '23505' },
      afterRollback: { waited: true, result: [[2]] },
      upsertAfterInsert: { waited: true, result: [[6]] },
      upsertAfterUpdate: { waited: true, result: [[11]] },
      rows: [[0, 0], [1, 11], [2, 2], [3, 6]],
    });
  });

  it('concurrent upserts of one counter all land', { timeout: 60_000 }, async () => {
    const out = await onBoth(side, async (connect) => {
      const clients = await Promise.all(Array.from({ length: 6 }, () => connect()));
      const [first] = clients;
      if (!first) throw new Error('no client');
      await first.query('DROP TABLE IF EXISTS counters');
      await first.query('CREATE TABLE counters (name text PRIMARY KEY, n int NOT NULL)');
      const failures: string[] = [];
      await Promise.all(
        clients.map(async (client) => {
          for (let i = 0; i < 8; i++) {
            await client
              .query("INSERT INTO counters VALUES ('hits', 1) ON CONFLICT (name) DO UPDATE SET n = counters.n + 1")
              .catch((err: unknown) => failures.push((err as pg.DatabaseError).code ?? String(err)));
          }
        }),
      );
      return { failures, rows: (await first.query({ text: 'SELECT name, n FROM counters', rowMode: 'array' })).rows };
    });
    expect(out).toEqual({ failures: [], rows: [['hits', 48]] });
  });

  it('a deadlock fails one of the two transactions with 40P01, which gives up its rows, and the other commits', { timeout: 30_000 }, async () => {
    const out = await onBoth(side, async (connect) => {
      const [a, b] = [await connect(), await connect()];
      await table(a, 'deadlock', [[1, 0], [2, 0]]);
      await a.query('BEGIN');
      await b.query('BEGIN');
      await a.query('UPDATE deadlock SET n = 1 WHERE id = 1');
      await b.query('UPDATE deadlock SET n = 2 WHERE id = 2');
      const aWaits = a.query('UPDATE deadlock SET n = 1 WHERE id = 2');
      await stillWaiting(aWaits, 100);
      const bWaits = b.query('UPDATE deadlock SET n = 2 WHERE id = 1');
      const [aOut, bOut] = await Promise.allSettled([aWaits, bWaits]);
      const outcomes = [aOut, bOut].map((o) => (o.status === 'fulfilled' ? 'ok' : ((o.reason as pg.DatabaseError).code ?? '?')));
      await a.query(aOut.status === 'fulfilled' ? 'COMMIT' : 'ROLLBACK');
      await b.query(bOut.status === 'fulfilled' ? 'COMMIT' : 'ROLLBACK');
      // Which one PostgreSQL picks depends on whose deadlock_timeout runs out first; the outcome shape is the same.
      const winner = aOut.status === 'fulfilled' ? 1 : 2;
      return { outcomes: [...outcomes].sort(), survivorOwnsBoth: (await rowsOf(a, 'deadlock')).every((r) => r[1] === winner) };
    });
    expect(out).toEqual({ outcomes: ['40P01', 'ok'], survivorOwnsBoth: true });
  });

  it('lock_timeout (55P03), statement_timeout (57014) and a closed connection end a wait; the session goes on', async () => {
    const out = await onBoth(side, async (connect) => {
      const [a, b, c] = [await connect(), await connect(), await connect()];
      await table(a, 'timeouts', [[1, 0]]);
      await a.query('BEGIN');
      await a.query('UPDATE timeouts SET n = 1 WHERE id = 1');
      await b.query("SET lock_timeout = '150ms'");
      const lockTimeout = (await sqlError(b.query('UPDATE timeouts SET n = 2 WHERE id = 1'))).code;
      await b.query('SET lock_timeout = 0');
      await b.query("SET statement_timeout = '150ms'");
      const statementTimeout = (await sqlError(b.query('DELETE FROM timeouts'))).code;
      await b.query('SET statement_timeout = 0');
      const waiting = c.query({ text: 'UPDATE timeouts SET n = n + 10 WHERE id = 1 RETURNING n', rowMode: 'array' });
      const waited = await stillWaiting(waiting);
      // The holder's connection goes away with its block open: the block rolls back and its rows are free.
      await a.end();
      return { lockTimeout, statementTimeout, waited, returned: (await waiting).rows, rows: await rowsOf(b, 'timeouts') };
    });
    expect(out).toEqual({ lockTimeout: '55P03', statementTimeout: '57014', waited: true, returned: [[10]], rows: [[1, 10]] });
  });
});
