// A server process that cannot outlive the bench: it runs as the background
// job of a shell that watches its stdin (as shared/testing/postgres.ts runs
// PostgreSQL). When the bench closes that pipe, or dies however it dies, the
// shell sends the server SIGTERM, and once the server has exited it removes
// the server's temp dir. The shell writes the server's pid to a file there,
// so that the bench can read the server's CPU time from /proc.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const WATCHER = `exec 3<&0
"$@" </dev/null 3<&- &
pid=$!
echo "$pid" >"$SHOAL_WATCH_PIDFILE"
( while read -r _ <&3; do :; done; kill -TERM "$pid" ) >/dev/null 2>&1 &
guard=$!
wait "$pid"
status=$?
kill "$guard" 2>/dev/null
wait "$guard"
rm -rf "$SHOAL_WATCH_DIR"
exit $status`;

export interface Identity {
  uid: number;
  gid: number;
}

/** As root, the identity of `user` (servers such as PgBouncer refuse to run as root); otherwise undefined (run as ourselves). */
export function identityFor(user: string): Identity | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync('id', [flag, user], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  const gid = id('-g');
  if (!Number.isInteger(uid) || uid <= 0 || !Number.isInteger(gid)) {
    throw new Error(`running as root, and no '${user}' user to run the server as (the Debian postgresql package creates it)`);
  }
  return { uid, gid };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface WatchedOptions {
  /** Program and arguments of the server. */
  command: readonly string[];
  /** The server's temp dir, removed by the watcher when the server has exited; must be writable by `identity`. */
  dir: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  identity?: Identity;
}

export class Watched {
  private output = '';
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exited: Promise<void>;
  private stopping: Promise<void> | undefined;
  private serverPid: number | undefined;

  constructor(
    readonly name: string,
    private readonly proc: ChildProcess,
    private readonly pidFile: string,
  ) {
    const keep = (chunk: Buffer) => (this.output = (this.output + chunk.toString('utf8')).slice(-50_000));
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    this.exited = new Promise((resolve) =>
      proc.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve();
      }),
    );
  }

  static start(name: string, options: WatchedOptions): Watched {
    const proc = spawn('/bin/sh', ['-c', WATCHER, `${name}-watcher`, ...options.command], {
      cwd: options.cwd,
      env: { ...options.env, SHOAL_WATCH_DIR: options.dir, SHOAL_WATCH_PIDFILE: join(options.dir, 'watched.pid') },
      stdio: ['pipe', 'pipe', 'pipe'],
      ...options.identity,
    });
    return new Watched(name, proc, join(options.dir, 'watched.pid'));
  }

  /** What the server printed (its last 50 kB of stdout and stderr). */
  get log(): string {
    return this.output;
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  describeExit(): string {
    return this.exitInfo ? `code ${this.exitInfo.code}, signal ${this.exitInfo.signal}` : 'running';
  }

  /** The server's pid (not the watcher shell's), once the watcher has written it. */
  get pid(): number | undefined {
    if (this.serverPid === undefined) {
      try {
        const pid = Number(readFileSync(this.pidFile, 'utf8').trim());
        if (Number.isInteger(pid) && pid > 0) this.serverPid = pid;
      } catch {
        // Not written yet.
      }
    }
    return this.serverPid;
  }

  /** Resolves when `test` holds for the output; rejects when the server exits first or after `timeoutMs`. */
  async waitFor(what: string, test: (output: string) => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await test(this.output)) return;
      if (this.exitInfo) throw new Error(`${this.name} exited (${this.describeExit()}) before ${what}:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: no ${what} within ${timeoutMs} ms:\n${this.output}`);
      await sleep(100);
    }
  }

  /** Closes the watcher's stdin (the server gets SIGTERM); SIGKILL after `graceMs`. Safe to call more than once. */
  stop(graceMs = 15_000): Promise<void> {
    this.stopping ??= (async () => {
      if (!this.exitInfo) {
        this.proc.stdin?.end();
        const timedOut = await Promise.race([this.exited.then(() => false), sleep(graceMs).then(() => true)]);
        if (timedOut) {
          const pid = this.pid;
          if (pid) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              // Already gone.
            }
          }
          this.proc.kill('SIGKILL');
          await this.exited;
        }
      }
      this.proc.stdin?.destroy();
    })();
    return this.stopping;
  }
}
