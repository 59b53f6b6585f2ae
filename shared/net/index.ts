// Small networking helpers: loopback ports for processes a caller starts
// itself (the demo's pods, tests' servers), and HTTP(S) endpoints that listen
// and close the same way everywhere.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { Registry } from 'prom-client';
import { createServer, type AddressInfo } from 'node:net';

/** A port on 127.0.0.1 that nothing listened on a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port from an ephemeral listener');
  return address.port;
}

export interface HttpEndpoint {
  readonly address: AddressInfo;
  /**
   * Stops listening and drops idle keep-alive connections at once; a request
   * in flight gets its answer (a drain that makes the pod exit still answers
   * "draining") unless it takes longer than the grace.
   */
  close(): Promise<void>;
}

/** How long close() lets requests in flight finish. */
const CLOSE_GRACE_MS = 1000;

/** Listens on host:port (0 picks one); rejects if it cannot, e.g. the port is taken. */
export async function listenHttp(server: HttpServer, host: string, port: number): Promise<HttpEndpoint> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    address: server.address() as AddressInfo,
    close: () =>
      new Promise<void>((resolve) => {
        const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

/** The plain-HTTP operations endpoint of the proxy and the operator: /metrics, /healthz, /readyz. */
export function startOpsEndpoint(host: string, port: number, registry: Registry, ready: () => boolean): Promise<HttpEndpoint> {
  const server = createHttpServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
      return;
    }
    if (path === '/healthz') return void res.writeHead(200).end('ok\n');
    if (path === '/readyz') return void res.writeHead(ready() ? 200 : 503).end(ready() ? 'ready\n' : 'not ready\n');
    res.writeHead(404).end('routes: /metrics /healthz /readyz\n');
  });
  return listenHttp(server, host, port);
}
