// A throwaway PgBouncer (the Debian package; bench/proxy/ensure-pgbouncer.sh
// installs it) in session pool mode in front of one PostgreSQL server: its own
// ini and userlist in a temp dir, 127.0.0.1 and a free port, run as the
// postgres user when we are root (PgBouncer refuses to run as root).
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, identityFor, Watched } from './watched.js';

const CANDIDATES = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer', '/usr/local/sbin/pgbouncer'];

export function findPgbouncer(): string {
  const path = CANDIDATES.find((p) => existsSync(p));
  if (!path) throw new Error(`pgbouncer not found (${CANDIDATES.join(', ')}); install it with: bench/proxy/ensure-pgbouncer.sh`);
  return path;
}

export interface PgbouncerOptions {
  /** The PostgreSQL server behind it (trust authentication for user postgres). */
  backendPort: number;
  /** Server connections per (database, user) pair and the client limit; at least the bench's most clients. */
  poolSize: number;
  maxClients: number;
}

export interface LocalPgbouncer {
  url(database?: string): string;
  port: number;
  pid: number | undefined;
  /** Its exit status (or 'running') and the last of its output, for failure messages. */
  describe(): string;
  /** The pgbouncer.ini it runs with. */
  config: string;
  stop(): Promise<void>;
}

/**
 * The ini: every database of the backend (`*`), session pooling, trust
 * authentication (the user must still be in the auth file), and no logging
 * per connection (PostgreSQL does not log connections by default either, and
 * the connect-per-transaction runs open thousands).
 */
export function pgbouncerIni(o: { dir: string; port: number } & PgbouncerOptions): string {
  return `[databases]
* = host=127.0.0.1 port=${o.backendPort}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${o.port}
unix_socket_dir =
pidfile =
logfile =
auth_type = trust
auth_file = ${join(o.dir, 'userlist.txt')}
pool_mode = session
max_client_conn = ${o.maxClients}
default_pool_size = ${o.poolSize}
min_pool_size = 0
reserve_pool_size = 0
max_db_connections = 0
log_connections = 0
log_disconnections = 0
log_pooler_errors = 1
`;
}

export async function startPgbouncer(options: PgbouncerOptions): Promise<LocalPgbouncer> {
  const bin = findPgbouncer();
  const identity = identityFor('postgres');
  const dir = mkdtempSync(join(tmpdir(), 'shoal-pgbouncer-'));
  let server: Watched | undefined;
  const stop = async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = await freePort();
    const config = pgbouncerIni({ dir, port, ...options });
    const files = { 'pgbouncer.ini': config, 'userlist.txt': '"postgres" ""\n' };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text, { mode: 0o600 });
    if (identity) for (const path of [dir, ...Object.keys(files).map((f) => join(dir, f))]) chownSync(path, identity.uid, identity.gid);
    server = Watched.start('pgbouncer', {
      command: [bin, join(dir, 'pgbouncer.ini')],
      dir,
      cwd: dir,
      env: { ...process.env, LC_ALL: 'C' },
      ...(identity ? { identity } : {}),
    });
    const url = (database = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${encodeURIComponent(database)}`;
    await server.waitFor('answer through pgbouncer', () => answers(url()), 30_000);
    const running = server;
    return {
      url,
      port,
      get pid() {
        return running.pid;
      },
      describe: () => `${running.describeExit()}; its output ends:\n${running.log.slice(-4000)}`,
      config,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** True when `SELECT 1` works through `url`. */
export async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
