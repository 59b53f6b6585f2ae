// Dialing a tenant's SQL pod: TCP, the pod's TLS (negotiated with SSLRequest,
// as any Postgres client would), and the check the design brief asks for:
// the pod's certificate, issued by the host CA, must name the tenant the
// client asked for. Otherwise a pod of one tenant could be handed another
// tenant's session (a stale directory entry, a reused IP address).
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type PeerCertificate, type TLSSocket } from 'node:tls';
import { SQLPOD_URI_PREFIX } from '../../shared/certs/index.js';
import { splitHostPort } from '../../shared/config/index.js';
import { SSL_REQUEST_CODE } from '../../shared/pgwire/index.js';

export type DialErrorCode = 'UNREACHABLE' | 'NO_TLS' | 'UNTRUSTED' | 'WRONG_TENANT' | 'TIMEOUT';

export class DialError extends Error {
  override readonly name = 'DialError';
  constructor(
    readonly code: DialErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Pure: the pod certificate's subject CN and its shoal://tenant/<id>/<name> URI both name `tenant`. */
export function certificateNamesTenant(cert: Pick<PeerCertificate, 'subject' | 'subjectaltname'>, tenant: string): string | undefined {
  const cn = cert.subject?.CN;
  const uris = (cert.subjectaltname ?? '')
    .split(/,\s*/)
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
  const named = uris.filter((u) => u.startsWith(SQLPOD_URI_PREFIX)).map((u) => u.slice(SQLPOD_URI_PREFIX.length).split('/')[1]);
  if (named.length === 0) return `certificate has no ${SQLPOD_URI_PREFIX}<id>/<name> URI: not a SQL pod's certificate`;
  if (!named.every((n) => n === tenant)) return `certificate is for tenant "${named.join('", "')}", not "${tenant}"`;
  if (cn !== tenant) return `certificate CN "${Array.isArray(cn) ? cn.join(',') : (cn ?? '')}" is not "${tenant}"`;
  return undefined;
}

export interface DialOptions {
  /** Host CA certificate (PEM): the pod's serving certificate must chain to it. */
  readonly ca: string | Buffer;
  /** Gives up on a pod that does not answer (default 5 s). */
  readonly timeoutMs?: number;
}

/** Connects to a SQL pod at host:port over TLS and checks that it serves `tenant`. */
export async function dialPod(address: string, tenant: string, options: DialOptions): Promise<TLSSocket> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const tcp = await dialPlain(address, timeoutMs);
  try {
    const request = Buffer.alloc(8);
    request.writeInt32BE(8, 0);
    request.writeInt32BE(SSL_REQUEST_CODE, 4);
    tcp.write(request);
    const answer = await readByte(tcp, timeoutMs, address);
    if (answer !== 'S') throw new DialError('NO_TLS', `pod ${address} refused TLS; SQL pods must serve TLS`);
    return await new Promise<TLSSocket>((resolve, reject) => {
      const tls = tlsConnect({
        socket: tcp,
        ca: options.ca,
        // The pod's identity is its tenant, checked below, not a host name.
        checkServerIdentity: (_host, cert) => {
          const wrong = certificateNamesTenant(cert, tenant);
          return wrong === undefined ? undefined : new DialError('WRONG_TENANT', `pod ${address}: ${wrong}`);
        },
      });
      tls.once('secureConnect', () => resolve(tls));
      tls.once('error', (err: Error) => {
        tls.destroy();
        reject(err instanceof DialError ? err : new DialError('UNTRUSTED', `pod ${address}: ${err.message}`));
      });
    });
  } catch (err) {
    tcp.destroy();
    throw err;
  }
}

/** Plain TCP to any Postgres server (static routing mode, where backends are not SQL pods). */
export function dialPlain(address: string, timeoutMs = 5000): Promise<Socket> {
  const { host, port } = splitHostPort(address);
  return new Promise<Socket>((resolve, reject) => {
    const s = tcpConnect({ host, port });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new DialError('TIMEOUT', `backend ${address} did not accept within ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      reject(new DialError('UNREACHABLE', `backend ${address}: ${err.message}`));
    });
  });
}

function readByte(socket: Socket, timeoutMs: number, address: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new DialError('TIMEOUT', `pod ${address} did not answer SSLRequest within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      // The pod sends nothing after 'S' until the TLS handshake; keep the rest (none) for the TLS layer.
      if (chunk.length > 1) socket.unshift(chunk.subarray(1));
      finish(undefined, String.fromCharCode(chunk[0] ?? 0));
    };
    const onError = (err: Error) => finish(new DialError('UNREACHABLE', `pod ${address}: ${err.message}`));
    const onClose = () => finish(new DialError('UNREACHABLE', `pod ${address} closed the connection`));
    const finish = (err: Error | undefined, value?: string) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.pause();
      if (err) reject(err);
      else resolve(value ?? '');
    };
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}
