// Runs PostgreSQL's pgbench with a custom script against a connection URL and
// reads its throughput and latency.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { findPostgresBinary } from '../../shared/testing/postgres.js';

export type QueryMode = 'simple' | 'extended';

export interface PgbenchRun {
  url: string;
  /** The transaction script (pgbench's own language: `\set`, SQL ending in `;`). */
  script: string;
  seconds: number;
  mode: QueryMode;
  clients?: number;
  threads?: number;
}

export interface PgbenchResult {
  tps: number;
  latencyAvgMs: number;
  transactions: number;
  failedTransactions: number;
}

export function findPgbench(): string {
  const path = findPostgresBinary('pgbench');
  if (!path) throw new Error('pgbench not found under /usr/lib/postgresql/<version>/bin; install it with: shared/testing/ensure-postgres.sh');
  return path;
}

/** The figures of pgbench's summary; throws when one is missing (the run failed). */
export function parsePgbenchOutput(output: string): PgbenchResult {
  const number = (re: RegExp, what: string): number => {
    const m = re.exec(output);
    if (!m?.[1]) throw new Error(`pgbench output has no ${what}:\n${output}`);
    return Number(m[1]);
  };
  return {
    tps: number(/^tps = ([\d.]+)/m, 'tps'),
    latencyAvgMs: number(/^latency average = ([\d.]+) ms/m, 'latency average'),
    transactions: number(/^number of transactions actually processed: (\d+)/m, 'transaction count'),
    // Only PostgreSQL 15 and later count failed transactions.
    failedTransactions: Number(/^number of failed transactions: (\d+)/m.exec(output)?.[1] ?? 0),
  };
}

export async function runPgbench(run: PgbenchRun): Promise<PgbenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-pgbench-'));
  try {
    const scriptPath = join(dir, 'script.sql');
    writeFileSync(scriptPath, run.script);
    const args = ['-n', '-f', scriptPath, '-c', String(run.clients ?? 8), '-j', String(run.threads ?? 2), '-T', String(run.seconds), '-M', run.mode, run.url];
    return parsePgbenchOutput(await pgbenchOutput(args));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** pgbench's built-in scripts (-b). */
export type BuiltinScript = 'tpcb-like' | 'simple-update' | 'select-only';

export interface BuiltinRun extends Omit<PgbenchRun, 'script'> {
  builtin: BuiltinScript;
}

/**
 * A built-in script as pgbench runs it by default: first VACUUM of the
 * tellers and branches and TRUNCATE of the history (no -n), then the run.
 * Its tables come from runPgbenchInit.
 */
export async function runBuiltin(run: BuiltinRun): Promise<PgbenchResult> {
  const args = ['-b', run.builtin, '-c', String(run.clients ?? 8), '-j', String(run.threads ?? 2), '-T', String(run.seconds), '-M', run.mode, run.url];
  return parsePgbenchOutput(await pgbenchOutput(args));
}

/** `pgbench -i -s <scale>` with the default steps (dtgvp); resolves with its wall time in ms. */
export async function runPgbenchInit(url: string, scale: number): Promise<number> {
  const started = performance.now();
  await pgbenchOutput(['-i', '-s', String(scale), url]);
  return performance.now() - started;
}

/** stdout and the end of stderr; throws with both when pgbench exits with an error. */
async function pgbenchOutput(args: readonly string[]): Promise<string> {
  const child = spawn(findPgbench(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-50_000)));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`pgbench ${args.slice(0, -1).join(' ')} exited with ${code}:\n${output}`);
  return output;
}
