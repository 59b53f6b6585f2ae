// A throwaway PostgreSQL server for tests and benchmarks, from the Debian
// packages: a fresh cluster in a temp dir, on 127.0.0.1 and a free port, with
// trust authentication for the superuser `postgres`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

const PG_ROOT = '/usr/lib/postgresql';
const INSTALL_HINT = 'apt-get update && apt-get install -y postgresql';
/** PostgreSQL refuses to run as root; as root, the servers run as this user (created by the Debian package). */
const SERVER_USER = 'postgres';

export interface LocalPostgres {
  /** A connection URL for `database` (default `postgres`) as the superuser `postgres`, no password. */
  url(database?: string): string;
  port: number;
  host: string;
  dataDir: string;
  /** Fast shutdown, then the temp dir is removed. Safe to call more than once. */
  stop(): Promise<void>;
}

export interface PostgresOptions {
  /** Server settings passed as `-c name=value`, e.g. `{ fsync: 'off' }` where durability does not matter. */
  settings?: Record<string, string>;
  startTimeoutMs?: number;
}

function versionDirs(): string[] {
  if (!existsSync(PG_ROOT)) return [];
  return readdirSync(PG_ROOT)
    .filter((d) => /^\d+(\.\d+)?$/.test(d))
    .sort((a, b) => Number(b) - Number(a));
}

/** A program of the newest installed PostgreSQL version that has it, e.g. `pgbench`; undefined when none does. */
export function findPostgresBinary(name: string): string | undefined {
  for (const version of versionDirs()) {
    const path = join(PG_ROOT, version, 'bin', name);
    if (existsSync(path)) return path;
  }
  return undefined;
}

/** The bin directory of the newest installed PostgreSQL server; throws, naming the apt-get command, when there is none. */
export function ensurePostgresInstalled(): string {
  for (const version of versionDirs()) {
    const bin = join(PG_ROOT, version, 'bin');
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'postgres'))) return bin;
  }
  throw new Error(`PostgreSQL server binaries (initdb, postgres) not found under ${PG_ROOT}/<version>/bin; install them with: ${INSTALL_HINT}`);
}

export function isPostgresInstalled(): boolean {
  try {
    ensurePostgresInstalled();
    return true;
  } catch {
    return false;
  }
}

interface Identity {
  uid: number;
  gid: number;
}

function serverIdentity(): Identity | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync('id', [flag, SERVER_USER], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  const gid = id('-g');
  if (!Number.isInteger(uid) || uid <= 0 || !Number.isInteger(gid)) {
    throw new Error(`running as root, and PostgreSQL refuses to: no '${SERVER_USER}' user to run it as (it comes with the Debian package: ${INSTALL_HINT})`);
  }
  return { uid, gid };
}

async function freePort(): Promise<number> {
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

async function run(file: string, args: string[], identity: Identity | undefined, cwd: string): Promise<void> {
  const child = spawn(file, args, { cwd, env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'], ...identity });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-10_000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`${file} exited with ${code}:\n${output}`);
}

// Runs the server as a background job of a shell that watches its stdin: when
// this process goes away, however it dies, the pipe closes and the shell asks
// the server for a fast shutdown, then removes the temp dir.
const WATCHER = `exec 3<&0
"$@" </dev/null 3<&- &
pid=$!
( cat <&3 >/dev/null; kill -INT "$pid" ) >/dev/null 2>&1 &
wait "$pid"
status=$?
rm -rf "$SHOAL_PG_ROOT"
exit $status`;

/** Servers of this process still running, shut down on exit and on SIGINT / SIGTERM. */
const running = new Set<Server>();

function onExit(): void {
  for (const server of running) server.signalShutdown();
}

function onSignal(signal: NodeJS.Signals): void {
  onExit();
  // Only when nobody else handles the signal does it keep its default meaning: end the process.
  if (process.listenerCount(signal) === 1) {
    unregister();
    process.kill(process.pid, signal);
  }
}

function register(server: Server): void {
  if (running.size === 0) {
    process.on('exit', onExit);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  running.add(server);
}

function unregister(server?: Server): void {
  if (server) running.delete(server);
  if (server && running.size > 0) return;
  process.off('exit', onExit);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}

class Server implements LocalPostgres {
  readonly host = '127.0.0.1';
  private output = '';
  private readonly exited: Promise<void>;
  private hasExited = false;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly proc: ChildProcess,
    readonly port: number,
    readonly root: string,
    readonly dataDir: string,
  ) {
    const keep = (chunk: Buffer) => (this.output = (this.output + chunk.toString('utf8')).slice(-20_000));
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    this.exited = new Promise((resolve) =>
      proc.once('exit', () => {
        this.hasExited = true;
        resolve();
      }),
    );
  }

  url(database = 'postgres'): string {
    return `postgresql://postgres@${this.host}:${this.port}/${encodeURIComponent(database)}`;
  }

  get log(): string {
    return this.output;
  }

  /** Synchronous, for exit handlers: asks the postmaster for a fast shutdown. */
  signalShutdown(): void {
    try {
      const pid = Number(readFileSync(join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      if (pid > 0) process.kill(pid, 'SIGINT');
    } catch {
      // Not started far enough to have a pid file, or already gone.
    }
    this.proc.stdin?.destroy();
  }

  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.hasExited) throw new Error(`postgres exited during startup:\n${this.output}`);
      const client = new pg.Client({ connectionString: this.url(), connectionTimeoutMillis: 2000 });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.query('SELECT 1');
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`postgres did not accept connections within ${timeoutMs} ms (${String(err)}):\n${this.output}`);
      } finally {
        await client.end().catch(() => undefined);
      }
      await sleep(100);
    }
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      // Closing stdin makes the watcher shell ask for a fast shutdown (see WATCHER).
      this.proc.stdin?.end();
      const timedOut = await Promise.race([this.exited.then(() => false), sleep(15_000).then(() => true)]);
      if (timedOut) {
        this.signalShutdown();
        this.proc.kill('SIGKILL');
        await this.exited;
      }
      unregister(this);
      rmSync(this.root, { recursive: true, force: true });
    })();
    return this.stopping;
  }
}

class PortTaken extends Error {}

async function startOnce(bin: string, identity: Identity | undefined, options: PostgresOptions): Promise<LocalPostgres> {
  const root = mkdtempSync(join(tmpdir(), 'shoal-pg-'));
  const dataDir = join(root, 'data');
  const socketDir = join(root, 'sock');
  try {
    mkdirSync(socketDir);
    if (identity) for (const dir of [root, socketDir]) chownSync(dir, identity.uid, identity.gid);
    await run(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'], identity, root);
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
  const settings = Object.entries({ listen_addresses: '127.0.0.1', unix_socket_directories: socketDir, ...options.settings });
  const port = await freePort();
  const args = [join(bin, 'postgres'), '-D', dataDir, '-p', String(port), ...settings.flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const proc = spawn('/bin/sh', ['-c', WATCHER, 'postgres-watcher', ...args], {
    cwd: root,
    env: { ...process.env, LC_ALL: 'C', SHOAL_PG_ROOT: root },
    stdio: ['pipe', 'pipe', 'pipe'],
    ...identity,
  });
  const server = new Server(proc, port, root, dataDir);
  register(server);
  try {
    await server.waitReady(options.startTimeoutMs ?? 30_000);
    return server;
  } catch (err) {
    await server.stop();
    throw /could not bind|already in use/i.test(server.log) ? new PortTaken(String(err)) : err;
  }
}

export async function startPostgres(options: PostgresOptions = {}): Promise<LocalPostgres> {
  const bin = ensurePostgresInstalled();
  const identity = serverIdentity();
  // Another process may take the free port before the server binds it; then start over on another one.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(bin, identity, options);
    } catch (err) {
      if (!(err instanceof PortTaken) || attempt >= 3) throw err;
    }
  }
}
