// The stamping endpoint of an unbound SQL pod (design brief, "Life of a SQL pod"):
// HTTPS with mutual TLS; only the operator may stamp, and only once. After a
// successful stamp the endpoint closes for good.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { StampError, parseStamp, verifyStamp, type Stamp } from './stamp.js';

export const DEFAULT_STAMP_BODY_LIMIT = 64 * 1024;

/**
 * How long an idle connection to the endpoint stays open: long, because the
 * operator opens one while the pod waits in the pool and stamps through it
 * (shared/podctl CONTROL_IDLE_MS closes its side first).
 */
export const STAMPING_IDLE_MS = 5 * 60_000;

export interface StampingServerOptions {
  /** Host CA certificate (PEM): client certificates and the stamp's certificates must chain to it. */
  caPem: string;
  /** This pod's certificate and key for the endpoint itself. */
  certPem: string;
  keyPem: string;
  /** Binds the pod to the tenant (opens the SQL port, ...). Called at most once with success. */
  onStamp: (stamp: Stamp) => Promise<void>;
  bodyLimitBytes?: number;
  now?: () => Date;
}

export type StampingPhase = 'ready' | 'stamping' | 'stamped';

export interface StampingEndpoint {
  address: AddressInfo;
  /** Resolves once the listener and all its connections are closed (after a stamp, or close()). */
  closed: Promise<void>;
  phase(): StampingPhase;
  close(): Promise<void>;
}

export type StampingErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'INVALID_JSON'
  | 'ALREADY_STAMPED'
  | 'STAMP_FAILED'
  | StampError['code'];

/** A refusal of the stamping endpoint: the HTTP status, and the code and message of its JSON body. */
export class StampingError extends Error {
  override readonly name = 'StampingError';
  constructor(
    readonly status: number,
    readonly code: StampingErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function field(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** Pure: the operator is OU=Operators, CN=shoal-operator on a certificate the TLS layer verified. */
export function checkOperator(authorized: boolean, authorizationError: string | undefined, cert: PeerCertificate | undefined): StampingError | undefined {
  // getPeerCertificate() returns {} when the client sent no certificate.
  const subject = cert && Object.keys(cert).length > 0 ? cert.subject : undefined;
  if (!subject) return new StampingError(403, 'UNAUTHENTICATED', 'a client certificate is required: only the operator may stamp this pod');
  if (!authorized) {
    return new StampingError(403, 'UNAUTHENTICATED', `client certificate not trusted: ${authorizationError ?? 'not verified against the host CA'}`);
  }
  const cn = field(subject.CN)[0] ?? '';
  const ous = field(subject.OU);
  if (cn === 'shoal-operator' && ous.includes('Operators')) return undefined;
  return new StampingError(403, 'FORBIDDEN', `certificate CN="${cn}" OU="${ous.join(',')}" is not the operator; only the operator may stamp this pod`);
}

// Typed as an Error, but on the server side node sets the OpenSSL code as a string
// (e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE).
function reasonOf(authorizationError: unknown): string | undefined {
  if (typeof authorizationError === 'string') return authorizationError;
  if (authorizationError instanceof Error) return authorizationError.message;
  return undefined;
}

function send(res: ServerResponse, status: number, body: unknown, close = false): void {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (close) headers.connection = 'close';
  res.writeHead(status, headers).end(`${JSON.stringify(body)}\n`);
}

function sendError(res: ServerResponse, e: StampingError, close = false): void {
  send(res, e.status, { error: { code: e.code, message: e.message } }, close);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(new StampingError(413, 'PAYLOAD_TOO_LARGE', `body of ${declared} bytes exceeds the limit of ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return; // keep reading and dropping, so the client gets the 413 rather than a reset
      size += chunk.length;
      if (size > limit) {
        over = true;
        reject(new StampingError(413, 'PAYLOAD_TOO_LARGE', `body exceeds the limit of ${limit} bytes`));
      } else {
        chunks.push(chunk);
      }
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

export function createStampingServer(opts: StampingServerOptions): { start(host: string, port: number): Promise<StampingEndpoint> } {
  const limit = opts.bodyLimitBytes ?? DEFAULT_STAMP_BODY_LIMIT;
  const now = opts.now ?? (() => new Date());
  // 'stamping' covers the callback: a second stamp racing the first must be refused too.
  let phase: StampingPhase = 'ready';

  async function stamp(req: IncomingMessage, res: ServerResponse, server: Server): Promise<void> {
    const socket = req.socket as TLSSocket;
    const denied = checkOperator(socket.authorized, reasonOf(socket.authorizationError), socket.getPeerCertificate());
    if (denied) throw denied;
    if (phase !== 'ready') throw new StampingError(409, 'ALREADY_STAMPED', 'this pod is already stamped; a pod is stamped once');

    let raw: unknown;
    try {
      raw = JSON.parse((await readBody(req, limit)).toString('utf8'));
    } catch (e) {
      if (e instanceof StampingError) throw e;
      throw new StampingError(400, 'INVALID_JSON', `body is not JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
    let parsed: Stamp;
    try {
      parsed = parseStamp(raw);
      verifyStamp(parsed, opts.caPem, now());
    } catch (e) {
      if (e instanceof StampError) throw new StampingError(400, e.code, e.message);
      throw e;
    }
    // Re-check: another stamp may have got here while this body was being read.
    if (phase !== 'ready') throw new StampingError(409, 'ALREADY_STAMPED', 'this pod is already stamped; a pod is stamped once');
    phase = 'stamping';
    try {
      await opts.onStamp(parsed);
    } catch (e) {
      // Nothing was bound, so the operator may retry (or give up and delete the pod).
      phase = 'ready';
      throw new StampingError(500, 'STAMP_FAILED', `stamping failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    phase = 'stamped';
    // Close once the operator has its answer; the brief: "the pod closes that endpoint".
    res.once('finish', () => {
      server.close();
      server.closeIdleConnections();
    });
    send(res, 200, { state: 'running', tenantId: parsed.tenantId, tenantName: parsed.tenantName }, true);
  }

  function handle(req: IncomingMessage, res: ServerResponse, server: Server): void {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/readyz') {
      // Open to anyone: kubelet's HTTPS probes carry no client certificate, and the answer reveals nothing.
      if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, new StampingError(405, 'METHOD_NOT_ALLOWED', 'use GET /readyz'));
      const ready = phase === 'ready';
      return send(res, ready ? 200 : 503, { ready, phase });
    }
    if (path !== '/stamp') return sendError(res, new StampingError(404, 'NOT_FOUND', `no route ${path ?? ''}; routes: POST /stamp, GET /readyz`));
    if (req.method !== 'POST') return sendError(res, new StampingError(405, 'METHOD_NOT_ALLOWED', 'use POST /stamp'));
    stamp(req, res, server).catch((e: unknown) => {
      const err = e instanceof StampingError ? e : new StampingError(500, 'STAMP_FAILED', e instanceof Error ? e.message : String(e));
      if (res.headersSent) return res.destroy();
      // The body may be unread (refused before or while reading): drop it so the client gets this
      // answer rather than a reset; after a 413 the connection is not worth keeping.
      req.resume();
      sendError(res, err, err.status === 413);
    });
  }

  return {
    start(host, port) {
      const server = createServer(
        {
          ca: opts.caPem,
          cert: opts.certPem,
          key: opts.keyPem,
          requestCert: true,
          // Verified in the handler instead, so an untrusted caller gets a 403 that says why
          // rather than a bare handshake failure.
          rejectUnauthorized: false,
        },
        (req, res) => handle(req, res, server),
      );
      server.keepAliveTimeout = STAMPING_IDLE_MS;
      const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve({
            address: server.address() as AddressInfo,
            closed,
            phase: () => phase,
            close: () => {
              if (server.listening) server.close();
              server.closeAllConnections();
              return closed;
            },
          });
        });
      });
    },
  };
}
