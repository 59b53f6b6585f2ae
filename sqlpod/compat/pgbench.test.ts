// Real pgbench (PostgreSQL 15's, from the Debian package) through the proxy to a SQL pod:
// `pgbench -i` with the default steps and with server-side generation, then
// a short run of each built-in script in each query mode. What it sends
// (captured from PostgreSQL with log_statement=all): DROP TABLE IF EXISTS,
// CREATE TABLE … WITH (fillfactor=100), BEGIN, TRUNCATE, INSERT … VALUES or
// INSERT … SELECT … FROM generate_series, COPY … FROM STDIN WITH (FREEZE ON),
// COMMIT, VACUUM ANALYZE, ALTER TABLE … ADD PRIMARY KEY on the loaded tables;
// before a run: SELECT count(*) FROM pgbench_branches, a pg_catalog query
// for partitions (an error there is ignored), VACUUM, TRUNCATE pgbench_history.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxiedShoal, type ProxiedShoal } from '../testing/through-proxy.js';

const PGBENCH = '/usr/bin/pgbench';

// pgbench -i loads 100,000 accounts in one transaction and then rewrites them
// under their new primary key in another: kvpod's default per-commit limits
// hold that (the read set of the uniqueness checks goes condensed).

let stack: ProxiedShoal;
let db: pg.Client;

beforeAll(async () => {
  stack = await startProxiedShoal('pgbench');
  db = new pg.Client({ connectionString: stack.url() });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  await stack?.stop();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function pgbench(args: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(PGBENCH, [...args, stack.url()], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-20_000)));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const count = async (sql: string): Promise<number> => Number((await db.query<{ n: string }>(sql)).rows[0]?.n);

async function sqlstate(sql: string): Promise<string | undefined> {
  try {
    await db.query(sql);
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

async function expectInitialized(): Promise<void> {
  expect(await count('SELECT count(*) AS n FROM pgbench_accounts')).toBe(100_000);
  expect(await count('SELECT count(*) AS n FROM pgbench_tellers')).toBe(10);
  expect(await count('SELECT count(*) AS n FROM pgbench_branches')).toBe(1);
  expect(await count('SELECT count(*) AS n FROM pgbench_history')).toBe(0);
  expect(await count('SELECT count(DISTINCT aid) AS n FROM pgbench_accounts WHERE aid BETWEEN 1 AND 100000 AND bid = 1 AND abalance = 0')).toBe(100_000);
  expect((await db.query('SELECT tid, bid, tbalance FROM pgbench_tellers WHERE tid IN (1, 10) ORDER BY tid')).rows).toEqual([
    { tid: 1, bid: 1, tbalance: 0 },
    { tid: 10, bid: 1, tbalance: 0 },
  ]);
  // The primary keys exist and are enforced, under PostgreSQL's constraint names.
  for (const [table, values, pkey] of [
    ['pgbench_accounts', "(77777, 1, 0, '')", 'pgbench_accounts_pkey'],
    ['pgbench_tellers', "(3, 1, 0, '')", 'pgbench_tellers_pkey'],
    ['pgbench_branches', "(1, 0, '')", 'pgbench_branches_pkey'],
  ] as const) {
    const err = await db.query(`INSERT INTO ${table} VALUES ${values}`).then(
      () => null,
      (e: unknown) => e as { code?: string; constraint?: string; message: string },
    );
    expect(err?.code, `${table}: ${err?.message ?? 'inserted a duplicate key'}`).toBe('23505');
    expect(err?.message).toContain(pkey);
  }
  expect(await sqlstate("INSERT INTO pgbench_accounts (bid, abalance, filler) VALUES (1, 0, '')")).toBe('23502');
}

interface Summary {
  processed: number;
  failed: number;
  serializationFailures: number;
}

/** Runs a built-in script for a few seconds; it must finish normally and every failure must be a serialization failure. */
async function runScript(script: readonly string[], mode: string, extra: readonly string[] = []): Promise<Summary> {
  const r = await pgbench([...script, '-M', mode, '-c', '4', '-j', '2', '-T', '3', '--failures-detailed', ...extra]);
  const out = `${r.stdout}\n${r.stderr}`;
  expect(r.code, out).toBe(0);
  expect(out).not.toMatch(/client \d+ aborted/);
  const number = (re: RegExp): number => {
    const m = re.exec(r.stdout);
    expect(m, `${re.source} in:\n${out}`).not.toBeNull();
    return Number(m?.[1]);
  };
  const summary = {
    processed: number(/^number of transactions actually processed: (\d+)$/m),
    failed: number(/^number of failed transactions: (\d+) \(/m),
    serializationFailures: number(/^number of serialization failures: (\d+) \(/m),
  };
  expect(number(/^number of deadlock failures: (\d+) \(/m)).toBe(0);
  expect(summary.processed).toBeGreaterThan(0);
  expect(summary.failed).toBe(summary.serializationFailures);
  return summary;
}

interface Balances {
  accounts: number;
  tellers: number;
  branches: number;
  history: number;
  historyRows: number;
}

async function balances(): Promise<Balances> {
  const row = (
    await db.query<Record<keyof Balances, string | null>>(
      `SELECT (SELECT coalesce(sum(abalance), 0) FROM pgbench_accounts) AS accounts,
              (SELECT coalesce(sum(tbalance), 0) FROM pgbench_tellers) AS tellers,
              (SELECT coalesce(sum(bbalance), 0) FROM pgbench_branches) AS branches,
              (SELECT coalesce(sum(delta), 0) FROM pgbench_history) AS history,
              (SELECT count(*) FROM pgbench_history) AS "historyRows"`,
    )
  ).rows[0];
  return {
    accounts: Number(row?.accounts),
    tellers: Number(row?.tellers),
    branches: Number(row?.branches),
    history: Number(row?.history),
    historyRows: Number(row?.historyRows),
  };
}

const MODES = ['simple', 'extended', 'prepared'] as const;

describe.skipIf(!existsSync(PGBENCH))('pgbench against a SQL pod', () => {
  let committed = 0;

  it('initializes with the default steps (dtgvp): tables, COPY, VACUUM, primary keys added to loaded tables', { timeout: 300_000 }, async () => {
    const r = await pgbench(['-i', '-s', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('creating primary keys...');
    expect(r.stderr).toMatch(/done in [\d.]+ s \(drop tables .*client-side generate .*vacuum .*primary keys/);
    await expectInitialized();
  });

  it('runs the TPC-B-like script in every query mode: clients wait for the branch row, none fails, the balances stay consistent', { timeout: 120_000 }, async () => {
    // The first run as pgbench runs by default (it vacuums and empties pgbench_history first); the others keep the history (-n).
    let conflicts = 0;
    for (const [i, mode] of MODES.entries()) {
      const s = await runScript(['-b', 'tpcb-like'], mode, i === 0 ? [] : ['-n']);
      committed += s.processed;
      conflicts += s.serializationFailures;
      const b = await balances();
      expect(b.historyRows, `after -M ${mode}`).toBe(committed);
      expect(b.tellers).toBe(b.accounts);
      expect(b.branches).toBe(b.accounts);
      expect(b.history).toBe(b.accounts);
    }
    // Four clients updating the one branch row overlap all the time; on one pod they wait for its row lock
    // and read it again (sqlpod/sql/row-locks), so none fails with 40001.
    expect(conflicts).toBe(0);
  });

  it('runs the simple-update script (-N) in every query mode', { timeout: 120_000 }, async () => {
    const before = await balances();
    for (const mode of MODES) {
      committed += (await runScript(['-N'], mode, ['-n'])).processed;
      const b = await balances();
      expect(b.historyRows, `after -M ${mode}`).toBe(committed);
      expect(b.history).toBe(b.accounts);
      // -N leaves tellers and branches alone.
      expect(b.tellers).toBe(before.tellers);
      expect(b.branches).toBe(before.branches);
    }
  });

  it('runs the select-only script (-S) in every query mode without failures or writes', { timeout: 120_000 }, async () => {
    const before = await balances();
    for (const mode of MODES) {
      const s = await runScript(['-S'], mode, ['-n']);
      expect(s.failed).toBe(0);
    }
    expect(await balances()).toEqual(before);
  });

  it('initializes with server-side generation (-I dtGvp): INSERT … SELECT FROM generate_series', { timeout: 300_000 }, async () => {
    const r = await pgbench(['-i', '-I', 'dtGvp']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('generating data (server-side)...');
    await expectInitialized();
  });
});
