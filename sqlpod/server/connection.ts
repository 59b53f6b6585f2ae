// One client connection: bytes in and out, the optional TLS upgrade, and the
// state machine startup → authentication → ready. Messages are handled one
// at a time, in order, each engine call awaited before the next message.
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Logger } from '../../shared/log/index.js';
import {
  BackendWriter,
  ENCRYPTION_ACCEPT,
  ENCRYPTION_REJECT,
  FrontendParser,
  PgWireError,
  SQLSTATE as WIRE_SQLSTATE,
  type FrontendPacket,
  type StartupPacket,
} from '../../shared/pgwire/index.js';
import { SQLSTATE, SqlError } from '../sql/errors.js';
import type { SessionOptions, SqlEngine, SqlSession } from '../sql/session-api.js';
import { Authenticator, type AuthMethod } from './auth.js';
import { noNul, toErrorResponse } from './errors.js';
import type { RefusalReason, SafeHooks } from './hooks.js';
import { OUTPUT_CHUNK, QueryProtocol, type QueryIO, type QueryMessage } from './query.js';

/** Parsed but unhandled messages beyond which reading pauses: a pipelining client cannot grow the queue without bound. */
const QUEUE_HIGH = 256;
/** Before authentication only small messages make sense (PostgreSQL caps auth tokens at 64 KiB too). */
const MAX_UNAUTHENTICATED_BYTES = 65_536;
/** How long a closed connection waits for the client to hang up before the socket is destroyed. */
const LINGER_MS = 5_000;

/** What a connection needs from its server. */
export interface ServerCore {
  readonly engine: SqlEngine;
  readonly authMethod: AuthMethod;
  readonly requireTls: boolean;
  readonly secureContext: SecureContext | undefined;
  readonly maxMessageLength: number;
  readonly authTimeoutMs: number;
  readonly scramMockSecret: Buffer | undefined;
  readonly hooks: SafeHooks;
  readonly log: Logger;
  readonly draining: boolean;
  /** Takes one of the limited session slots; false when none is left. */
  reserveSlot(conn: Connection): boolean;
  /** Counts the ready session and makes it cancellable; returns its BackendKeyData. */
  registerSession(conn: Connection): { processId: number; secretKey: number };
  cancel(processId: number, secretKey: number): void;
  /** The connection is gone and its session closed: free its slot and registration. */
  release(conn: Connection): void;
}

type State = 'startup' | 'authenticating' | 'ready' | 'closed';

const QUERY_MESSAGES = new Set<string>(['query', 'parse', 'bind', 'describe', 'execute', 'close', 'sync', 'flush']);
const isQueryMessage = (p: FrontendPacket): p is QueryMessage => QUERY_MESSAGES.has(p.type);

/** Splits the startup parameters as PostgreSQL does: the database defaults to the user name. */
export function sessionOptions(params: Readonly<Record<string, string>>): SessionOptions {
  const user = params['user'] ?? '';
  const parameters = new Map<string, string>();
  for (const [k, v] of Object.entries(params)) if (k !== 'user' && k !== 'database') parameters.set(k, v);
  return { user, database: params['database'] || user, parameters };
}

export class Connection {
  /** Resolves once the session (if any) is closed and the server has forgotten this connection. */
  readonly closed: Promise<void>;
  private resolveClosed: () => void = () => undefined;
  private log: Logger;
  private stream: Socket;
  private parser: FrontendParser;
  private tls = false;
  private state: State = 'startup';
  private readonly out = new BackendWriter();
  private readonly queue: (FrontendPacket | PgWireError)[] = [];
  private inputBroken = false;
  private pumping = false;
  private inEngine = 0;
  private released = false;
  private readonly abort = new AbortController();
  private readonly authTimer: NodeJS.Timeout;
  private options: SessionOptions | undefined;
  private auth: Authenticator | undefined;
  private session: SqlSession | undefined;
  private queries: QueryProtocol | undefined;
  private readonly io: QueryIO;
  /** Wakes a statement waiting in read() for the client's next message (COPY FROM STDIN). */
  private wake: (() => void) | undefined;

  constructor(
    private readonly raw: Socket,
    private readonly core: ServerCore,
  ) {
    this.stream = raw;
    this.parser = new FrontendParser({ maxMessageLength: core.maxMessageLength });
    this.log = core.log.child({ remote: `${raw.remoteAddress ?? '?'}:${raw.remotePort ?? '?'}` });
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.io = {
      out: this.out,
      signal: this.abort.signal,
      engine: (call) => this.engineCall(call),
      flush: () => this.flush(),
      checkpoint: () => this.checkpoint(),
      send: (bytes) => this.send(bytes),
      read: () => this.read(),
    };
    raw.on('error', this.onSocketError);
    raw.on('close', this.onSocketClose);
    this.listen(raw);
    // PostgreSQL's authentication_timeout: a client that never finishes logging in holds no socket for long.
    this.authTimer = setTimeout(() => {
      this.log.info('closing a connection that did not authenticate in time');
      this.shutdown();
    }, core.authTimeoutMs);
    this.authTimer.unref();
  }

  /** The server's administrator shutdown: the client gets 57P01 and the session is closed. */
  terminate(): void {
    if (this.state === 'closed') return;
    // Before the startup packet the client expects no message, and would not understand one.
    if (this.state === 'startup') return this.shutdown();
    this.fatal(new SqlError(SQLSTATE.ADMIN_SHUTDOWN, 'terminating connection due to administrator command', { severity: 'FATAL' }), 'shutdown');
  }

  /** A matching CancelRequest arrived for this session. */
  cancelStatement(): void {
    this.session?.cancel();
  }

  private listen(stream: Socket): void {
    stream.on('data', this.onData);
    stream.on('drain', this.onDrain);
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.state === 'closed' || this.inputBroken) return;
    try {
      for (const packet of this.parser.feed(chunk)) this.queue.push(packet);
      if (this.state !== 'ready' && this.parser.buffered > MAX_UNAUTHENTICATED_BYTES) {
        throw new PgWireError(WIRE_SQLSTATE.PROTOCOL_VIOLATION, 'message too long before authentication');
      }
    } catch (err) {
      // The parser is unusable after a failure. The error queues behind the messages already parsed,
      // which are answered first; those in the same read as the bad one are lost with it.
      this.inputBroken = true;
      if (!(err instanceof PgWireError)) this.log.error({ err }, 'frontend parser failed');
      this.queue.push(err instanceof PgWireError ? err : new PgWireError(WIRE_SQLSTATE.PROTOCOL_VIOLATION, 'invalid message'));
    }
    this.updateReading();
    this.wake?.();
    void this.pump();
  };

  private readonly onDrain = (): void => this.updateReading();

  private readonly onSocketError = (err: Error): void => {
    this.log.debug({ err }, 'socket error');
    this.shutdown();
  };

  private readonly onSocketClose = (): void => this.shutdown();

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.state !== 'closed') {
        if (this.stream.writableNeedDrain) {
          await this.drained();
          continue;
        }
        const item = this.queue.shift();
        if (item === undefined) break;
        this.updateReading();
        await this.process(item);
        if (this.out.length >= OUTPUT_CHUNK) this.flush();
      }
      this.flush();
    } catch (err) {
      this.log.error({ err }, 'connection handler failed');
      this.fatal(new SqlError(SQLSTATE.INTERNAL_ERROR, 'internal error in the wire server'), 'protocol-violation');
    } finally {
      this.pumping = false;
      if (this.state === 'closed') void this.release();
    }
  }

  private async process(item: FrontendPacket | PgWireError): Promise<void> {
    if (item instanceof PgWireError) return this.fatal(item, 'protocol-violation');
    switch (this.state) {
      case 'startup':
        return this.onFirstPacket(item);
      case 'authenticating':
        return this.onAuthMessage(item);
      case 'ready':
        return this.onReadyMessage(item);
      case 'closed':
        return;
    }
  }

  private async onFirstPacket(packet: FrontendPacket): Promise<void> {
    switch (packet.type) {
      case 'sslRequest':
        if (this.tls) {
          // What PostgreSQL answers too: after TLS the code is just an unknown protocol version.
          return this.fatal(
            new PgWireError(WIRE_SQLSTATE.FEATURE_NOT_SUPPORTED, 'unsupported frontend protocol 1234.5679: server supports 3.0'),
            'protocol-violation',
          );
        }
        if (this.core.secureContext) this.startTls(this.core.secureContext);
        else this.writeRaw(ENCRYPTION_REJECT);
        return;
      case 'gssEncRequest':
        this.writeRaw(ENCRYPTION_REJECT);
        return;
      case 'cancelRequest':
        // PostgreSQL never answers a CancelRequest, whether or not it matched.
        this.core.cancel(packet.processId, packet.secretKey);
        return this.shutdown();
      case 'startup':
        return this.onStartup(packet);
      default:
        return this.fatal(new PgWireError(WIRE_SQLSTATE.PROTOCOL_VIOLATION, `unexpected message "${packet.type}" before startup`), 'protocol-violation');
    }
  }

  private startTls(secureContext: SecureContext): void {
    this.raw.off('data', this.onData);
    this.raw.off('drain', this.onDrain);
    this.raw.write(ENCRYPTION_ACCEPT);
    // The parser already refused bytes that came behind the SSLRequest, so the raw
    // socket holds nothing unread: everything from here on is the TLS handshake.
    const tls = new TLSSocket(this.raw, { isServer: true, secureContext });
    tls.on('error', this.onSocketError);
    tls.on('close', this.onSocketClose);
    this.stream = tls;
    this.parser = new FrontendParser({ maxMessageLength: this.core.maxMessageLength });
    this.tls = true;
    this.listen(tls);
  }

  private async onStartup(packet: Extract<StartupPacket, { type: 'startup' }>): Promise<void> {
    if (packet.minorVersion > 0 || packet.protocolOptions.length > 0) {
      this.out.negotiateProtocolVersion(0, packet.protocolOptions);
    }
    const options = sessionOptions(packet.params);
    this.log = this.log.child({ user: options.user, database: options.database });
    if (this.core.draining) {
      const err = new SqlError(SQLSTATE.CANNOT_CONNECT_NOW, 'the SQL pod is draining; reconnect to be routed to another pod', { severity: 'FATAL' });
      return this.fatal(err, 'draining');
    }
    if (!this.tls && (this.core.requireTls || this.core.authMethod === 'password')) {
      const why = this.core.requireTls ? 'this server accepts only TLS connections' : 'password authentication requires a TLS connection';
      return this.fatal(new PgWireError(WIRE_SQLSTATE.INVALID_AUTHORIZATION_SPECIFICATION, `${why}; reconnect with sslmode=require`), 'tls-required');
    }
    if (!this.core.reserveSlot(this)) {
      return this.fatal(new SqlError(SQLSTATE.TOO_MANY_CONNECTIONS, 'sorry, too many clients already', { severity: 'FATAL' }), 'too-many-connections');
    }
    let role;
    try {
      role = await this.engineCall(this.core.engine.findRole(options.user));
    } catch (err) {
      return this.fatal(err, 'session-refused');
    }
    this.options = options;
    this.auth = new Authenticator({
      method: this.core.authMethod,
      user: options.user,
      role,
      ...(this.core.scramMockSecret ? { mockSecret: this.core.scramMockSecret } : {}),
    });
    this.auth.start(this.out);
    this.state = 'authenticating';
  }

  private async onAuthMessage(packet: FrontendPacket): Promise<void> {
    // A client that gives up at the password prompt (psql does) just says goodbye.
    if (packet.type === 'terminate') return this.shutdown();
    if (packet.type !== 'password' || !this.auth || !this.options) {
      return this.fatal(new PgWireError(WIRE_SQLSTATE.PROTOCOL_VIOLATION, `expected a password response, got message "${packet.type}"`), 'protocol-violation');
    }
    let done: boolean;
    try {
      done = this.auth.next(packet.payload, this.out);
    } catch (err) {
      const failed = err instanceof PgWireError && err.code === WIRE_SQLSTATE.INVALID_PASSWORD;
      return this.fatal(err, failed ? 'authentication-failed' : 'protocol-violation');
    }
    if (!done) return;
    this.auth = undefined;
    // As in PostgreSQL, a missing database is reported after AuthenticationOk.
    this.out.authenticationOk();
    let session: SqlSession;
    try {
      session = await this.engineCall(this.core.engine.openSession(this.options));
    } catch (err) {
      return this.fatal(err, 'session-refused');
    }
    this.session = session;
    if (this.state === 'closed') return;
    const params = new Map(this.core.engine.initialParameters());
    if (!params.has('session_authorization')) params.set('session_authorization', this.options.user);
    for (const [k, v] of session.takeParameterChanges()) params.set(k, v);
    for (const [k, v] of params) this.out.parameterStatus(noNul(k), noNul(v));
    const key = this.core.registerSession(this);
    this.log = this.log.child({ pid: key.processId });
    this.out.backendKeyData(key.processId, key.secretKey).readyForQuery(session.transactionStatus);
    this.queries = new QueryProtocol(session, this.io, this.core.hooks, this.log);
    this.state = 'ready';
    clearTimeout(this.authTimer);
    this.log.debug('session ready');
  }

  private async onReadyMessage(packet: FrontendPacket): Promise<void> {
    if (isQueryMessage(packet) && this.queries) {
      if (!(await this.queries.handle(packet))) this.shutdown();
      return;
    }
    switch (packet.type) {
      case 'terminate':
        return this.shutdown();
      case 'copyData':
      case 'copyDone':
      case 'copyFail':
        if (this.queries?.absorbsCopy(packet.type)) return;
        return this.fatal(new PgWireError(WIRE_SQLSTATE.PROTOCOL_VIOLATION, `unexpected ${packet.type} message: no COPY is in progress`), undefined);
      default:
        return this.fatal(new PgWireError(WIRE_SQLSTATE.PROTOCOL_VIOLATION, `unexpected message "${packet.type}"`), undefined);
    }
  }

  /** Sends a FATAL ErrorResponse and closes; `reason` is reported if this connection never became a session. */
  private fatal(err: unknown, reason: RefusalReason | undefined): void {
    if (this.state === 'closed') return;
    const { fields, internal } = toErrorResponse(err, undefined);
    if (internal) this.log.error({ err }, 'unexpected failure');
    this.core.hooks.onError(fields.code);
    if (reason !== undefined && this.state !== 'ready') this.core.hooks.onConnectionRefused(reason);
    this.log.info({ code: fields.code, reason }, fields.message);
    this.out.errorResponse({ ...fields, severity: 'FATAL' });
    this.shutdown();
  }

  /**
   * Ends the connection: writes what is pending, closes the socket, and
   * releases the session once no engine call is running (a running
   * statement is cancelled: it must not outlive its client).
   */
  private shutdown(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.authTimer);
    this.queue.length = 0;
    const pending = this.out.length > 0 ? this.out.flush() : undefined;
    this.abort.abort();
    if (this.inEngine > 0) this.session?.cancel();
    const stream = this.stream;
    if (!stream.destroyed) {
      if (pending) stream.end(pending);
      else stream.end();
      // Keep reading (and dropping) so the client's hang-up is seen, and do not wait for it forever.
      stream.resume();
      setTimeout(() => stream.destroy(), LINGER_MS).unref();
    }
    if (!this.pumping) void this.release();
  }

  private async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (this.session) {
      try {
        await this.session.close();
      } catch (err) {
        this.log.warn({ err }, 'closing the session failed');
      }
    }
    this.core.release(this);
    this.resolveClosed();
  }

  /**
   * Awaits an engine call. When the engine really waits (storage, locks), the
   * answers already written go out meanwhile; when it answers at once, they
   * stay buffered, so a pipelining client gets one write per batch.
   */
  private async engineCall<T>(call: Promise<T>): Promise<T> {
    const early = this.out.length > 0 ? setImmediate(() => this.flush()) : undefined;
    this.inEngine++;
    try {
      return await call;
    } finally {
      this.inEngine--;
      if (early) clearImmediate(early);
    }
  }

  private flush(): void {
    if (this.out.length === 0) return;
    const bytes = this.out.flush();
    if (this.state === 'closed' || this.stream.destroyed) return;
    if (!this.stream.write(bytes)) this.updateReading();
  }

  private send(bytes: Buffer): void {
    this.flush();
    if (this.state === 'closed' || this.stream.destroyed) return;
    if (!this.stream.write(bytes)) this.updateReading();
  }

  /**
   * The next message for a statement that reads the client's input itself
   * (COPY FROM STDIN) while the pump waits for it. A codec error stays queued
   * for the pump, which ends the session with it; Terminate ends it here.
   */
  private async read(): Promise<FrontendPacket | null> {
    for (;;) {
      if (this.state === 'closed') return null;
      const item = this.queue.shift();
      if (item instanceof PgWireError) {
        this.queue.unshift(item);
        return null;
      }
      if (item !== undefined) {
        this.updateReading();
        if (item.type !== 'terminate') return item;
        this.shutdown();
        return null;
      }
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.abort.signal.removeEventListener('abort', done);
          this.wake = undefined;
          resolve();
        };
        this.wake = done;
        if (this.abort.signal.aborted) return done();
        this.abort.signal.addEventListener('abort', done);
      });
    }
  }

  private writeRaw(bytes: Buffer): void {
    this.flush();
    this.stream.write(bytes);
  }

  private async checkpoint(): Promise<void> {
    this.flush();
    if (this.stream.writableNeedDrain) await this.drained();
  }

  /** Resolves on 'drain', or when the connection closes (nothing will drain then). */
  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.stream.off('drain', done);
        this.abort.signal.removeEventListener('abort', done);
        resolve();
      };
      if (this.abort.signal.aborted) return resolve();
      this.stream.on('drain', done);
      this.abort.signal.addEventListener('abort', done);
    });
  }

  /** Reads only while the client's answers get out and the queue is short. */
  private updateReading(): void {
    if (this.state === 'closed') return;
    const hold = this.stream.writableNeedDrain || this.queue.length >= QUEUE_HIGH;
    if (hold && !this.stream.isPaused()) this.stream.pause();
    else if (!hold && this.stream.isPaused()) this.stream.resume();
  }
}
