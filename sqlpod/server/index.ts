// The SQL pod's PostgreSQL wire-protocol server: accepts clients (directly or
// through the proxy), authenticates them and drives the engine through the
// contract in sqlpod/sql/session-api.ts.
export {
  createPgServer,
  DEFAULT_AUTH_TIMEOUT_MS,
  DEFAULT_MAX_SESSIONS,
  type PgServer,
  type PgServerLimits,
  type PgServerOptions,
} from './server.js';
export type { AuthMethod } from './auth.js';
export type { PgServerHooks, RefusalReason } from './hooks.js';
