// The demo as a user runs it: a child process whose output is read line by
// line, and psql against the addresses it prints.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface DemoProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** Every line printed so far, stdout and stderr. */
  readonly lines: string[];
  /** Resolves with the first line (from `from` on) that matches; rejects on exit or timeout. */
  waitFor(pattern: RegExp, timeoutMs?: number, from?: number): Promise<RegExpMatchArray>;
  /** The psql URL it printed for `tenant`. */
  url(tenant: string): string;
  output(): string;
}

export function startDemo(args: string[], env: NodeJS.ProcessEnv = {}): DemoProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'demo/main.ts', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const feed = (stream: NodeJS.ReadableStream | null) => {
    let partial = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
      for (const w of [...waiters]) w();
    });
  };
  feed(child.stdout);
  feed(child.stderr);
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exitCode = code;
      // Let the pipes drain before the waiters learn of the exit.
      setTimeout(() => {
        resolve(code);
        for (const w of [...waiters]) w();
      }, 50);
    }),
  );
  const output = () => lines.join('\n');
  return {
    child,
    exited,
    lines,
    output,
    waitFor(pattern, timeoutMs = 30_000, from = 0) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; output:\n${output()}`));
        }, timeoutMs);
        const check = () => {
          for (const line of lines.slice(from)) {
            const m = line.match(pattern);
            if (m) {
              clearTimeout(timer);
              waiters.delete(check);
              resolve(m);
              return;
            }
          }
          if (exitCode !== undefined) {
            clearTimeout(timer);
            waiters.delete(check);
            reject(new Error(`demo exited (code ${exitCode}) before printing ${pattern}; output:\n${output()}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
    url(tenant) {
      const line = lines.find((l) => l.includes(`options=--cluster%3D${tenant}"`));
      const m = line?.match(/psql "([^"]+)"/);
      if (!m?.[1]) throw new Error(`no psql line for ${tenant}; output:\n${output()}`);
      return m[1];
    },
  };
}

export interface PsqlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs psql unaligned and tuples-only: one row per line, columns split by '|'. */
export function psql(url: string, ...commands: string[]): Promise<PsqlResult> {
  const args = ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', url, ...commands.flatMap((c) => ['-c', c])];
  return new Promise((resolve) => {
    execFile('psql', args, { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout: stdout.trim(), stderr: stderr.trim() });
    });
  });
}

/** PIDs of the processes whose parent is `pid`. */
export function childrenOf(pid: number): Promise<number[]> {
  return new Promise((resolve) => {
    execFile('ps', ['-o', 'pid=', '--ppid', String(pid)], (_err, stdout) => {
      resolve(
        stdout
          .split('\n')
          .map((s) => Number(s.trim()))
          .filter((n) => n > 0),
      );
    });
  });
}

/** Running (a zombie waiting for its reaper is not): from /proc, where the state follows the name in parentheses. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** `ps` lines of the given processes, for a failure message that says what survived. */
export function describeProcesses(pids: number[]): Promise<string[]> {
  if (pids.length === 0) return Promise.resolve([]);
  return new Promise((resolve) => {
    execFile('ps', ['-o', 'pid=,stat=,args=', '-p', pids.join(',')], (_err, stdout) => resolve(stdout.split('\n').filter((l) => l.trim() !== '')));
  });
}
