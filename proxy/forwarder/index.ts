// One client connection through the proxy: read the startup packet (TLS if
// asked for), identify the tenant, check the address and the login
// throttle, find a running pod (resuming the tenant if it has none), dial it
// over TLS, relay the authentication exchange while swapping the pod's
// BackendKeyData for the proxy's own, then pipe bytes both ways.
import { randomInt } from 'node:crypto';
import { connect as tcpConnect, type Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { ENCRYPTION_ACCEPT, ENCRYPTION_REJECT, PgWireError, SQLSTATE, encode, type NoticeFields } from '../../shared/pgwire/index.js';
import { splitHostPort } from '../../shared/config/index.js';
import type { Logger } from '../../shared/log/index.js';
import { decide as aclDecide, type Acl } from '../acl/index.js';
import type { Balancer } from '../balancer/index.js';
import { DialError, dialPlain, dialPod } from '../connector/index.js';
import type { TenantDirectory } from '../directory/index.js';
import { ResumeError, type ResumeCoordinator } from '../resume/index.js';
import { HOW_TO_IDENTIFY, identifyTenant } from '../routing/index.js';
import { THROTTLE_HINT, THROTTLE_MESSAGE, throttleKey, type LoginThrottle } from '../throttle/index.js';
import { encodeCancel, encodeStartup, readStartup } from './startup.js';

/** Where a proxy-issued cancel key leads: the pod and the key it gave the session. */
export interface CancelTarget {
  readonly address: string;
  readonly processId: number;
  readonly secretKey: number;
}

export class CancelRegistry {
  private readonly targets = new Map<string, CancelTarget>();

  issue(target: CancelTarget): { processId: number; secretKey: number; release: () => void } {
    for (;;) {
      const processId = randomInt(1, 2 ** 31 - 1);
      const secretKey = randomInt(-(2 ** 31), 2 ** 31 - 1);
      const id = `${processId}:${secretKey}`;
      if (this.targets.has(id)) continue;
      this.targets.set(id, target);
      return { processId, secretKey, release: () => this.targets.delete(id) };
    }
  }

  find(processId: number, secretKey: number): CancelTarget | undefined {
    return this.targets.get(`${processId}:${secretKey}`);
  }
}

export type FailureReason = 'protocol' | 'identify' | 'unknown-tenant' | 'acl' | 'throttled' | 'resume' | 'no-pod' | 'dial' | 'auth' | 'backend-closed';

export interface ForwarderHooks {
  onRouted?: (tenant: string, method: string) => void;
  onFailure?: (reason: FailureReason) => void;
  onDial?: (ms: number) => void;
  onResume?: (ms: number) => void;
}

export interface ForwarderDeps {
  readonly directory: TenantDirectory;
  readonly balancer: Balancer;
  readonly throttle: LoginThrottle;
  readonly resume: ResumeCoordinator;
  readonly cancels: CancelRegistry;
  /**
   * Host CA (PEM): pod certificates must chain to it and name the tenant.
   * Undefined in static mode, where backends are any Postgres servers reached over plain TCP.
   */
  readonly podCa: string | undefined;
  /** The proxy's own serving certificate; without it SSLRequest is answered 'N'. */
  readonly clientTls?: SecureContext;
  readonly acl?: () => Acl | undefined;
  readonly startupTimeoutMs: number;
  readonly log: Logger;
  readonly hooks?: ForwarderHooks;
}

class Refused extends Error {
  constructor(
    readonly reason: FailureReason,
    readonly fields: NoticeFields,
  ) {
    super(fields.message);
  }
}

const refuse = (reason: FailureReason, code: string, message: string, hint?: string): Refused =>
  new Refused(reason, { severity: 'FATAL', code, message, ...(hint === undefined ? {} : { hint }) });

export async function serveClient(raw: Socket, deps: ForwarderDeps): Promise<void> {
  raw.setNoDelay(true);
  // A client may leave while the proxy dials; a pod connection opened for it then must not linger.
  let gone = false;
  raw.once('close', () => (gone = true));
  let client: Socket = raw;
  let sni: string | undefined;
  // Gains the tenant as a field once it is known: every line about a connection says whose it is.
  let log = deps.log.child({ client: raw.remoteAddress });
  const deadline = Date.now() + deps.startupTimeoutMs;
  try {
    let read = await readStartup(client, deadline);
    for (let i = 0; i < 2 && read.packet.type !== 'startup' && read.packet.type !== 'cancelRequest'; i++) {
      if (read.rest.length > 0) throw refuse('protocol', '08P01', 'received unencrypted data after encryption request');
      if (read.packet.type === 'sslRequest' && deps.clientTls && !(client instanceof TLSSocket)) {
        client.write(ENCRYPTION_ACCEPT);
        const tls = new TLSSocket(client, { isServer: true, secureContext: deps.clientTls });
        // The startup deadline covers the handshake too: a client that asks for TLS and then
        // stalls must not hold a socket (and a handshake that ends in a plain close must not hang).
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new PgWireError(SQLSTATE.PROTOCOL_VIOLATION, 'timeout waiting for the TLS handshake')), Math.max(0, deadline - Date.now()));
          const fail = (err?: Error) => {
            clearTimeout(timer);
            reject(err ?? new PgWireError(SQLSTATE.PROTOCOL_VIOLATION, 'connection closed during the TLS handshake'));
          };
          tls.once('secure', () => {
            clearTimeout(timer);
            tls.off('error', fail);
            tls.off('close', onClose);
            resolve();
          });
          const onClose = () => fail();
          tls.once('error', fail);
          tls.once('close', onClose);
        });
        sni = typeof tls.servername === 'string' ? tls.servername : undefined;
        client = tls;
      } else {
        client.write(ENCRYPTION_REJECT);
      }
      read = await readStartup(client, deadline);
    }
    const packet = read.packet;
    if (packet.type === 'cancelRequest') return forwardCancel(packet.processId, packet.secretKey, deps, client);
    if (packet.type !== 'startup') throw refuse('protocol', '08P01', 'unexpected encryption request');

    const who = identifyTenant(packet.params, sni);
    if (!who.ok) throw refuse('identify', '08004', who.message, HOW_TO_IDENTIFY);
    const tenant = who.tenant;
    log = log.child({ tenant });
    const entry = deps.directory.lookup(tenant);
    if (!entry) throw refuse('unknown-tenant', '08004', `cluster "${tenant}" does not exist`, `Check the cluster name; ${HOW_TO_IDENTIFY}.`);
    deps.hooks?.onRouted?.(tenant, who.method);
    const ip = normalizeIp(raw.remoteAddress ?? '');
    const acl = deps.acl?.();
    if (acl) {
      const verdict = aclDecide(acl, tenant, ip);
      if (!verdict.allowed) throw refuse('acl', '28000', `connection from ${ip} to cluster "${tenant}" is not allowed`, verdict.reason);
    }
    const attempt = deps.throttle.check(throttleKey(ip, tenant), Date.now());
    if (!attempt.allowed) throw refuse('throttled', '08004', THROTTLE_MESSAGE, `${THROTTLE_HINT} Retry in ${Math.ceil(attempt.retryAfterMs / 1000)} s.`);

    let outcome: 'success' | 'failure' | 'abandoned' = 'abandoned';
    try {
      let running = entry;
      const waitStart = performance.now();
      try {
        running = await deps.resume.waitForRunningPod(tenant);
      } catch (err) {
        if (err instanceof ResumeError) throw refuse('resume', '57P03', err.message);
        throw err;
      }
      if (running !== entry) {
        const waitedMs = performance.now() - waitStart;
        deps.hooks?.onResume?.(waitedMs);
        log.info({ waitedMs: Math.round(waitedMs) }, 'tenant resumed for this client');
      }
      // A pod may turn the client away at the door (it began draining, or died,
      // after the directory last said "running"): nothing has reached the client
      // yet, so another running pod is tried, each pod once.
      const tried = new Set<string>();
      for (;;) {
        const assignment = deps.balancer.assign(running, tried);
        if (!assignment) throw refuse('no-pod', '57P03', `cluster "${tenant}" has no running SQL pod`, 'Retry in a moment.');
        tried.add(assignment.pod.name);
        try {
          const dialStart = performance.now();
          let pod: Socket;
          try {
            pod = deps.podCa === undefined ? await dialPlain(assignment.pod.address) : await dialPod(assignment.pod.address, tenant, { ca: deps.podCa });
          } catch (err) {
            if (err instanceof DialError) {
              log.warn({ pod: assignment.pod.name, code: err.code }, err.message);
              throw refuse('dial', '08006', `could not reach a SQL pod of cluster "${tenant}"`, 'Retry in a moment.');
            }
            throw err;
          }
          deps.hooks?.onDial?.(performance.now() - dialStart);
          if (gone) {
            pod.destroy();
            return;
          }
          pod.on('error', () => pod.destroy());
          pod.setNoDelay(true);
          pod.write(encodeStartup(who.params));
          if (read.rest.length) pod.write(read.rest);
          const result = await relayAuthentication(client, pod, assignment.pod.address, deps.cancels);
          if (result.outcome === 'turned-away') {
            pod.destroy();
            result.release();
            const next = deps.directory.lookup(tenant);
            const untried = next?.pods.some((p) => p.state === 'running' && !tried.has(p.name)) ?? false;
            log.info({ pod: assignment.pod.name, retry: untried }, 'SQL pod turned the client away at the door');
            if (next && untried) {
              running = next;
              continue;
            }
            // No other pod to try: the client hears the pod's own refusal, or ours if it said nothing.
            if (result.pending.length === 0) throw refuse('no-pod', '57P03', `cluster "${tenant}" has no SQL pod that takes connections now`, 'Retry in a moment.');
            closeWith(client, result.pending);
            deps.hooks?.onFailure?.('no-pod');
            return;
          }
          outcome = result.outcome;
          const verdict = deps.throttle.report(attempt.ticket, outcome, Date.now());
          if (outcome !== 'success') {
            log.info({ pod: assignment.pod.name, outcome, throttled: verdict === 'throttled' }, 'login refused by the SQL pod');
            if (verdict === 'throttled') closeWith(client, encode((w) => w.errorResponse({ severity: 'FATAL', code: '08004', message: THROTTLE_MESSAGE, hint: THROTTLE_HINT })));
            else closeWith(client, result.pending);
            pod.destroy();
            deps.hooks?.onFailure?.('auth');
            return;
          }
          client.write(result.pending);
          log.debug({ pod: assignment.pod.name }, 'session started');
          await pipeBoth(client, pod);
          log.debug({ pod: assignment.pod.name }, 'session ended');
          result.release();
          return;
        } finally {
          assignment.release();
        }
      }
    } finally {
      if (outcome === 'abandoned') deps.throttle.report(attempt.ticket, 'abandoned', Date.now());
    }
  } catch (err) {
    const refused = err instanceof Refused ? err : err instanceof PgWireError ? refuse('protocol', err.code, err.message) : undefined;
    if (!refused) {
      log.error({ err }, 'proxy connection failed');
      client.destroy();
      return;
    }
    // Garbage on the port is not news; a refusal of a known client is.
    log[refused.reason === 'protocol' ? 'debug' : 'info']({ reason: refused.reason, code: refused.fields.code }, `refused: ${refused.fields.message}`);
    deps.hooks?.onFailure?.(refused.reason);
    if (!client.destroyed) closeWith(client, encode((w) => w.errorResponse(refused.fields)));
  }
}

/** How long a refused client may take to hang up after its last message. */
const HANG_UP_GRACE_MS = 2000;

/**
 * Sends the last message and closes. The socket keeps reading (and dropping)
 * what the client still sends — node-postgres answers an error with
 * Terminate — so its hang-up is seen; a client that never hangs up is cut.
 */
function closeWith(client: Socket, last: Buffer): void {
  client.end(last);
  client.resume();
  setTimeout(() => client.destroy(), HANG_UP_GRACE_MS).unref();
}

interface AuthResult {
  /**
   * 'failure' only for a refused credential (28xxx): a client that hangs up at
   * the password prompt (psql does, then asks) or a wrong database name is not
   * guessing passwords, so the throttle hears 'abandoned'.
   *
   * 'turned-away': the pod refused before the client saw anything of it (57P03
   * draining, 57P01 shutting down, or it closed): another pod may be tried.
   */
  readonly outcome: 'success' | 'failure' | 'abandoned' | 'turned-away';
  /** Bytes to send the client (up to and including ReadyForQuery, or the error). */
  readonly pending: Buffer;
  readonly release: () => void;
}

/**
 * Client bytes go to the pod as they come; pod messages are read one by one
 * until ReadyForQuery (or an error before AuthenticationOk), so that
 * BackendKeyData can be replaced by a proxy-issued key.
 */
function relayAuthentication(client: Socket, pod: Socket, address: string, cancels: CancelRegistry): Promise<AuthResult> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const out: Buffer[] = [];
    let authOk = false;
    let relayed = false;
    let release = () => undefined as void;
    const toPod = (chunk: Buffer) => pod.write(chunk);
    const onPodData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 5) {
        const type = String.fromCharCode(buf[0] ?? 0);
        const length = buf.readInt32BE(1);
        if (buf.length < length + 1) break;
        const frame = buf.subarray(0, length + 1);
        buf = buf.subarray(length + 1);
        if (type === 'K') {
          const issued = cancels.issue({ address, processId: frame.readInt32BE(5), secretKey: frame.readInt32BE(9) });
          release = issued.release;
          out.push(encode((w) => w.backendKeyData(issued.processId, issued.secretKey)));
          continue;
        }
        out.push(Buffer.from(frame));
        if (type === 'R' && frame.readInt32BE(5) === 0) authOk = true;
        if (type === 'R' && !authOk) {
          // An authentication request: the client must see it now to answer it.
          client.write(Buffer.concat(out.splice(0)));
          relayed = true;
        }
        if (type === 'E' && !authOk) {
          const code = errorCode(frame);
          if (!relayed && (code === '57P03' || code === '57P01')) return done('turned-away');
          return done(code.startsWith('28') ? 'failure' : 'abandoned');
        }
        if (type === 'Z') {
          if (buf.length) out.push(buf);
          return done('success');
        }
      }
    };
    const onClose = () => {
      done('abandoned');
    };
    const onPodClose = () => {
      done(relayed || out.length > 0 ? 'abandoned' : 'turned-away');
    };
    const done = (outcome: AuthResult['outcome']) => {
      client.off('data', toPod);
      pod.off('data', onPodData);
      pod.off('close', onPodClose);
      client.off('close', onClose);
      pod.pause();
      client.pause();
      resolve({ outcome, pending: Buffer.concat(out), release });
    };
    client.on('data', toPod);
    client.once('close', onClose);
    pod.on('data', onPodData);
    pod.once('close', onPodClose);
    pod.once('error', reject);
    client.resume();
  });
}

/** The SQLSTATE ('C' field) of an ErrorResponse frame. */
function errorCode(frame: Buffer): string {
  let at = 5;
  while (at < frame.length && frame[at] !== 0) {
    const field = String.fromCharCode(frame[at] ?? 0);
    const end = frame.indexOf(0, at + 1);
    if (end < 0) break;
    if (field === 'C') return frame.toString('utf8', at + 1, end);
    at = end + 1;
  }
  return '';
}

/** Relays both ways with backpressure until either side closes; no per-message work. */
function pipeBoth(client: Socket, pod: Socket): Promise<void> {
  return new Promise((resolve) => {
    let open = 2;
    const closed = () => {
      if (--open === 0) resolve();
    };
    client.once('close', () => {
      pod.destroy();
      closed();
    });
    pod.once('close', () => {
      client.end();
      closed();
    });
    client.on('error', () => pod.destroy());
    pod.on('error', () => client.destroy());
    relay(client, pod);
    relay(pod, client);
  });
}

/**
 * One direction: each chunk is written on as it comes, and reading stops while
 * the other side's buffer is full. stream.pipe does the same with more
 * bookkeeping per chunk; this is the proxy's hottest path.
 */
function relay(from: Socket, to: Socket): void {
  from.on('data', (chunk: Buffer) => {
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => from.resume());
  from.once('end', () => to.end());
  // The authentication relay paused both sockets; a 'data' listener alone does not undo an explicit pause.
  from.resume();
}

function forwardCancel(processId: number, secretKey: number, deps: ForwarderDeps, client: Socket): void {
  client.destroy();
  const target = deps.cancels.find(processId, secretKey);
  if (!target) return;
  const socket = tcpConnect(splitHostPort(target.address));
  socket.on('error', () => socket.destroy());
  socket.end(encodeCancel(target.processId, target.secretKey));
}

function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}
