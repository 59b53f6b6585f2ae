// Plain-HTTP operations endpoint: /metrics, /healthz, /readyz.
import { createServer } from 'node:http';
import { listenHttp, type HttpEndpoint } from '../../shared/net/index.js';
import type { OperatorMetrics } from './metrics.js';

export function startOpsEndpoint(host: string, port: number, metrics: OperatorMetrics, ready: () => boolean): Promise<HttpEndpoint> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
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
