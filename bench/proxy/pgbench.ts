// pgbench's built-in select-only transaction (`-S`), with and without a new
// connection per transaction (`-C`). bench/sql/pgbench.ts's runPgbench runs
// custom scripts only (`-f`) and has no `-C`, so this runs pgbench itself and
// reuses that module's binary lookup and summary parser.
import { spawn } from 'node:child_process';
import { findPgbench, parsePgbenchOutput, type PgbenchResult, type QueryMode } from '../sql/pgbench.js';

export type Connect = 'persistent' | 'connect';

export interface SelectOnlyRun {
  url: string;
  seconds: number;
  clients: number;
  threads: number;
  mode: QueryMode;
  /** 'connect': pgbench -C, a new connection (and login) per transaction. */
  connect: Connect;
}

export interface SelectOnlyResult extends PgbenchResult {
  /**
   * pgbench's "average connection time" (-C: per transaction) or "initial
   * connection time" (persistent: all clients' connections at the start), ms.
   */
  connectionMs: number | undefined;
}

/** Runs pgbench with `args`; resolves with its output, rejects when it exits non-zero. `signal` stops it (SIGTERM). */
export async function pgbench(args: readonly string[], signal?: AbortSignal): Promise<string> {
  const child = spawn(findPgbench(), args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' }, ...(signal ? { signal } : {}) });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-50_000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`pgbench ${args.join(' ')} exited with ${code}:\n${output}`);
  return output;
}

export function selectOnlyArgs(run: SelectOnlyRun): string[] {
  return [
    '-n',
    '-S',
    '-c',
    String(run.clients),
    '-j',
    String(Math.min(run.threads, run.clients)),
    '-T',
    String(run.seconds),
    '-M',
    run.mode,
    ...(run.connect === 'connect' ? ['-C'] : []),
    run.url,
  ];
}

export function parseConnectionMs(output: string): number | undefined {
  const m = /^(?:average|initial) connection time = ([\d.]+) ms/m.exec(output);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

export async function runSelectOnly(run: SelectOnlyRun, signal?: AbortSignal): Promise<SelectOnlyResult> {
  const output = await pgbench(selectOnlyArgs(run), signal);
  return { ...parsePgbenchOutput(output), connectionMs: parseConnectionMs(output) };
}

/** `pgbench -i -s <scale>`: the pgbench tables, loaded once and shared by every target (they all reach one server). */
export async function initPgbench(url: string, scale: number, signal?: AbortSignal): Promise<void> {
  await pgbench(['-i', '-q', '-s', String(scale), url], signal);
}
