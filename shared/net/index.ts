// Loopback ports for processes a caller starts itself (the demo's pods, tests' servers).
import { createServer } from 'node:net';

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
