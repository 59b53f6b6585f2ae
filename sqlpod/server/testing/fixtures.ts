// A wire server over the toy engine on 127.0.0.1, recording what its hooks report.
import pg from 'pg';
import { createPgServer, type PgServer, type PgServerOptions } from '../index.js';
import type { RefusalReason } from '../hooks.js';
import { ToyEngine } from './toy-engine.js';

export const PASSWORD = 'correct horse battery staple';

export interface HookLog {
  statements: string[];
  errors: string[];
  opened: number;
  closed: number;
  counts: number[];
  refused: RefusalReason[];
}

export interface ToyServer {
  server: PgServer;
  engine: ToyEngine;
  port: number;
  hooks: HookLog;
  /** A node-postgres client for alice (not yet connected). */
  client(config?: pg.ClientConfig): pg.Client;
  close(): Promise<void>;
}

export async function startToyServer(options: Partial<Omit<PgServerOptions, 'engine' | 'hooks'>> = {}): Promise<ToyServer> {
  const engine = new ToyEngine({
    roles: {
      alice: { password: PASSWORD },
      nologin: { password: PASSWORD, canLogin: false },
      nopassword: {},
    },
    databases: ['app', 'alice'],
  });
  const hooks: HookLog = { statements: [], errors: [], opened: 0, closed: 0, counts: [], refused: [] };
  const server = await createPgServer({
    engine,
    host: '127.0.0.1',
    port: 0,
    ...options,
    hooks: {
      onStatement: (kind) => hooks.statements.push(kind),
      onError: (code) => hooks.errors.push(code),
      onSessionOpened: () => hooks.opened++,
      onSessionClosed: () => hooks.closed++,
      onSessionCountChange: (n) => hooks.counts.push(n),
      onConnectionRefused: (reason) => hooks.refused.push(reason),
    },
  });
  const port = server.address.port;
  return {
    server,
    engine,
    port,
    hooks,
    client: (config = {}) => new pg.Client({ host: '127.0.0.1', port, user: 'alice', password: PASSWORD, database: 'app', ...config }),
    close: () => server.close({ force: true }),
  };
}

/** Polls until `check` holds (server-side effects of a client's action land asynchronously). */
export async function eventually(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
