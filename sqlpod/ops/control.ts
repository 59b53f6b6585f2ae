// A bound pod's control endpoint: HTTPS with mutual TLS, operator only, on the
// address the stamping endpoint used. POST /drain [?limitMs=N], POST /undrain,
// GET /state; POST /stamp answers that the pod is already stamped.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { checkOperator } from '../lifecycle/index.js';
import { listenHttp, type HttpEndpoint } from '../../shared/net/index.js';

export interface ControlActions {
  drain(limitMs: number | undefined): { ok: true; state: unknown } | { ok: false; code: string; message: string };
  undrain(): { ok: true; state: unknown } | { ok: false; code: string; message: string };
  state(): unknown;
}

export type ControlEndpoint = HttpEndpoint;

export async function startControlEndpoint(
  tls: { caPem: string; certPem: string; keyPem: string },
  host: string,
  port: number,
  actions: ControlActions,
): Promise<ControlEndpoint> {
  const server: Server = createServer(
    { ca: tls.caPem, cert: tls.certPem, key: tls.keyPem, requestCert: true, rejectUnauthorized: false },
    (req, res) => handle(req, res, actions),
  );
  return listenHttp(server, host, port);
}

function handle(req: IncomingMessage, res: ServerResponse, actions: ControlActions): void {
  const url = new URL(req.url ?? '/', 'https://pod');
  const route = `${req.method ?? 'GET'} ${url.pathname}`;
  if (route === 'GET /readyz') return send(res, 200, { state: actions.state() });
  const socket = req.socket as TLSSocket;
  const authError = socket.authorizationError as unknown;
  const denied = checkOperator(socket.authorized, typeof authError === 'string' ? authError : authError instanceof Error ? authError.message : undefined, socket.getPeerCertificate());
  if (denied) return send(res, denied.status, { error: { code: denied.code, message: denied.message.replace('stamp this pod', 'control this pod') } });
  req.resume();
  switch (route) {
    case 'GET /state':
      return send(res, 200, { state: actions.state() });
    case 'POST /drain': {
      const raw = url.searchParams.get('limitMs');
      const limit = raw === null ? undefined : Number(raw);
      if (limit !== undefined && (!Number.isFinite(limit) || limit < 0)) {
        return send(res, 400, { error: { code: 'INVALID_ARGUMENT', message: `limitMs must be a number of milliseconds >= 0, got ${raw ?? ''}` } });
      }
      return answer(res, actions.drain(limit));
    }
    case 'POST /undrain':
      return answer(res, actions.undrain());
    case 'POST /stamp':
      return send(res, 409, { error: { code: 'ALREADY_STAMPED', message: 'this pod is already stamped; a pod is stamped once' } });
    default:
      return send(res, 404, { error: { code: 'NOT_FOUND', message: `no route ${route}; routes: POST /drain, POST /undrain, GET /state` } });
  }
}

function answer(res: ServerResponse, result: ReturnType<ControlActions['drain']>): void {
  if (result.ok) return send(res, 200, { state: result.state });
  send(res, 409, { error: { code: result.code, message: result.message } });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}
