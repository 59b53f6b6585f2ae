// The proxy's listener: one forwarder per connection, a count of open ones,
// and a graceful close that stops accepting and lets sessions finish.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import type { Logger } from '../shared/log/index.js';
import type { Acl } from './acl/index.js';
import { Balancer } from './balancer/index.js';
import type { TenantDirectory } from './directory/index.js';
import { CancelRegistry, serveClient, type ForwarderHooks } from './forwarder/index.js';
import { ResumeCoordinator } from './resume/index.js';
import { LoginThrottle, type ThrottleOptions } from './throttle/index.js';

export interface ProxyOptions {
  readonly host: string;
  readonly port: number;
  readonly directory: TenantDirectory;
  /** Host CA (PEM) that pod certificates must chain to; undefined for static mode (plain TCP backends). */
  readonly podCa: string | undefined;
  readonly clientTls?: SecureContext;
  readonly acl?: () => Acl | undefined;
  readonly throttle?: ThrottleOptions;
  readonly resumeDeadlineMs?: number;
  readonly startupTimeoutMs?: number;
  readonly log: Logger;
  readonly hooks?: ForwarderHooks & { onAccepted?: () => void; onClosed?: () => void };
}

export interface Proxy {
  readonly address: AddressInfo;
  readonly connections: number;
  readonly balancer: Balancer;
  /** Stops accepting; open sessions may run for `graceMs`, then are cut. */
  close(graceMs?: number): Promise<void>;
}

export async function startProxy(options: ProxyOptions): Promise<Proxy> {
  const balancer = new Balancer();
  const sockets = new Set<Socket>();
  const deps = {
    directory: options.directory,
    balancer,
    throttle: new LoginThrottle(options.throttle),
    resume: new ResumeCoordinator({ directory: options.directory, resume: (t) => options.directory.resume(t), deadlineMs: options.resumeDeadlineMs }),
    cancels: new CancelRegistry(),
    podCa: options.podCa,
    ...(options.clientTls ? { clientTls: options.clientTls } : {}),
    ...(options.acl ? { acl: options.acl } : {}),
    startupTimeoutMs: options.startupTimeoutMs ?? 10_000,
    log: options.log,
    ...(options.hooks ? { hooks: options.hooks } : {}),
  };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    options.hooks?.onAccepted?.();
    socket.on('error', () => socket.destroy());
    socket.once('close', () => {
      sockets.delete(socket);
      options.hooks?.onClosed?.();
    });
    serveClient(socket, deps).catch((err: unknown) => {
      options.log.error({ err }, 'proxy connection crashed');
      socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    address: server.address() as AddressInfo,
    get connections() {
      return sockets.size;
    },
    balancer,
    async close(graceMs = 10_000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const deadline = setTimeout(() => {
        for (const s of sockets) s.destroy();
      }, graceMs);
      await closed;
      clearTimeout(deadline);
    },
  };
}
