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
  /** Stops listening and drops keep-alive connections, so close does not wait on idle clients. */
  close(): Promise<void>;
}

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
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
