// The SQL pod's PostgreSQL server: the listener, TLS, the registry of
// sessions (counting, cancellation), draining and shutdown.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import { createLogger, type Logger } from '../../shared/log/index.js';
import { DEFAULT_MAX_MESSAGE_LENGTH } from '../../shared/pgwire/index.js';
import type { SqlEngine } from '../sql/session-api.js';
import type { AuthMethod } from './auth.js';
import { Connection, type ServerCore } from './connection.js';
import { safeHooks, type PgServerHooks, type SafeHooks } from './hooks.js';

/** PostgreSQL's default max_connections. */
export const DEFAULT_MAX_SESSIONS = 100;
/** PostgreSQL's default authentication_timeout. */
export const DEFAULT_AUTH_TIMEOUT_MS = 60_000;

export interface PgServerLimits {
  /** Largest message a client may send, in bytes (default 64 MiB). */
  maxMessageLength?: number;
  /** Sessions, counting those still logging in, beyond which clients get 53300 (default 100). */
  maxSessions?: number;
  /** From connect to ReadyForQuery, in ms; slower clients are disconnected (default 60 s). */
  authTimeoutMs?: number;
}

export interface PgServerOptions {
  engine: SqlEngine;
  host: string;
  /** 0 picks a free port; see PgServer.address. */
  port: number;
  /** Serving certificate; without it SSLRequest is answered 'N'. */
  tls?: SecureContext | { cert: string | Buffer; key: string | Buffer };
  /** Default 'scram-sha-256'; cleartext 'password' is accepted only over TLS. */
  authMethod?: AuthMethod;
  /** Refuse clients that did not negotiate TLS (default false). */
  requireTls?: boolean;
  logger?: Logger;
  limits?: PgServerLimits;
  hooks?: PgServerHooks;
  /**
   * Secret behind the fake SCRAM salts of unknown users. Give all pods of a
   * tenant the same one, or a prober could compare salts across pods.
   */
  scramMockSecret?: Buffer;
}

export interface PgServer {
  readonly address: AddressInfo;
  /** Open sessions (authenticated, not yet closed). */
  readonly sessionCount: number;
  readonly draining: boolean;
  /** New clients get 57P03 (after their startup packet); open sessions carry on; cancels still work. */
  drain(): void;
  undrain(): void;
  /**
   * Stops listening and resolves once every connection is gone and its
   * session closed. Without force, open sessions are waited for; with force
   * they get 57P01 and are closed (running statements cancelled).
   */
  close(options?: { force?: boolean }): Promise<void>;
}

function secureContextOf(tls: PgServerOptions['tls']): SecureContext | undefined {
  if (tls === undefined) return undefined;
  return 'key' in tls ? createSecureContext({ cert: tls.cert, key: tls.key }) : tls;
}

/** Equal-length comparison that takes the same time wherever the keys differ. */
function sameKey(a: number, b: number): boolean {
  const x = Buffer.alloc(4);
  const y = Buffer.alloc(4);
  x.writeInt32BE(a);
  y.writeInt32BE(b);
  return timingSafeEqual(x, y);
}

class PgServerImpl implements PgServer, ServerCore {
  readonly engine: SqlEngine;
  readonly authMethod: AuthMethod;
  readonly requireTls: boolean;
  readonly secureContext: SecureContext | undefined;
  readonly maxMessageLength: number;
  readonly authTimeoutMs: number;
  readonly scramMockSecret: Buffer | undefined;
  readonly hooks: SafeHooks;
  readonly log: Logger;
  draining = false;
  address!: AddressInfo;

  private readonly maxSessions: number;
  private readonly listener: Server;
  private readonly connections = new Set<Connection>();
  private readonly slots = new Set<Connection>();
  private readonly sessions = new Map<number, { conn: Connection; secretKey: number }>();
  private readonly processIds = new Map<Connection, number>();
  private lastProcessId = 0;
  private listenerClosed: Promise<void> | undefined;

  constructor(options: PgServerOptions) {
    this.engine = options.engine;
    this.authMethod = options.authMethod ?? 'scram-sha-256';
    this.requireTls = options.requireTls ?? false;
    this.secureContext = secureContextOf(options.tls);
    this.maxMessageLength = options.limits?.maxMessageLength ?? DEFAULT_MAX_MESSAGE_LENGTH;
    this.maxSessions = options.limits?.maxSessions ?? DEFAULT_MAX_SESSIONS;
    this.authTimeoutMs = options.limits?.authTimeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS;
    this.scramMockSecret = options.scramMockSecret;
    this.log = options.logger ?? createLogger('sqlpod-server', 'silent');
    this.hooks = safeHooks(options.hooks ?? {}, this.log);
    if (!this.secureContext && (this.requireTls || this.authMethod === 'password')) {
      throw new RangeError('requireTls and authMethod "password" need a serving certificate (tls)');
    }
    if (!Number.isInteger(this.maxSessions) || this.maxSessions < 1) throw new RangeError('limits.maxSessions must be a positive integer');
    this.listener = createServer({ noDelay: true, keepAlive: true }, (socket) => this.accept(socket));
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  async listen(host: string, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.listener.once('error', reject);
      this.listener.listen(port, host, () => {
        this.listener.off('error', reject);
        resolve();
      });
    });
    this.address = this.listener.address() as AddressInfo;
    this.listener.on('error', (err) => this.log.error({ err }, 'listener error'));
    this.log.info({ address: this.address }, 'PostgreSQL server listening');
  }

  drain(): void {
    if (!this.draining) this.log.info({ sessions: this.sessions.size }, 'draining: refusing new sessions');
    this.draining = true;
  }

  undrain(): void {
    if (this.draining) this.log.info('no longer draining');
    this.draining = false;
  }

  async close(options: { force?: boolean } = {}): Promise<void> {
    this.listenerClosed ??= new Promise((resolve) => this.listener.close(() => resolve()));
    if (options.force) for (const conn of this.connections) conn.terminate();
    await Promise.all([this.listenerClosed, ...[...this.connections].map((c) => c.closed)]);
  }

  /**
   * A connection past the draining check holds a slot from then on, through
   * authentication: the count the pod drains by includes it, so a drain that
   * starts while a client authenticates waits for that client instead of
   * cutting it off (it was let in before the drain).
   */
  reserveSlot(conn: Connection): boolean {
    if (this.slots.size >= this.maxSessions) return false;
    this.slots.add(conn);
    this.hooks.onSessionCountChange(this.slots.size);
    return true;
  }

  registerSession(conn: Connection): { processId: number; secretKey: number } {
    let processId = this.lastProcessId;
    do processId = processId >= 0x7fff_ffff ? 1 : processId + 1;
    while (this.sessions.has(processId));
    this.lastProcessId = processId;
    const secretKey = randomBytes(4).readInt32BE(0);
    this.sessions.set(processId, { conn, secretKey });
    this.processIds.set(conn, processId);
    this.hooks.onSessionOpened();
    return { processId, secretKey };
  }

  cancel(processId: number, secretKey: number): void {
    const entry = this.sessions.get(processId);
    // Compare against something even when the id is unknown, so timing tells nothing.
    const matches = sameKey(entry?.secretKey ?? ~secretKey, secretKey) && entry !== undefined;
    if (!matches) {
      this.log.info({ processId }, 'cancel request matches no session');
      return;
    }
    this.log.debug({ processId }, 'cancel request');
    entry.conn.cancelStatement();
  }

  release(conn: Connection): void {
    this.connections.delete(conn);
    const hadSlot = this.slots.delete(conn);
    const processId = this.processIds.get(conn);
    if (processId !== undefined) {
      this.processIds.delete(conn);
      this.sessions.delete(processId);
      this.hooks.onSessionClosed();
    }
    if (hadSlot) this.hooks.onSessionCountChange(this.slots.size);
  }

  private accept(socket: Socket): void {
    this.connections.add(new Connection(socket, this));
  }
}

/** Starts a PostgreSQL server for `engine`; resolves once it listens. */
export async function createPgServer(options: PgServerOptions): Promise<PgServer> {
  const server = new PgServerImpl(options);
  await server.listen(options.host, options.port);
  return server;
}
