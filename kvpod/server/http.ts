// Plain HTTP for operations: Prometheus scrapes, liveness and readiness.
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface OpsEndpoints {
  registry: Registry;
  ready: () => boolean;
}

export function startOpsServer(host: string, port: number, ops: OpsEndpoints): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      ops.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': ops.registry.contentType }).end(body),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const ready = ops.ready();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : 'not ready\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
