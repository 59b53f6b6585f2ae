// Small networking helpers: loopback ports for processes a caller starts
// itself (the demo's pods, tests' servers), and HTTP(S) endpoints that listen
// and close the same way everywhere.
import type { Server as HttpServer } from 'node:http';
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
