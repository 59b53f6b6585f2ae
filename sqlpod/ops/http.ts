// The pod's plain-HTTP operations endpoint: Prometheus metrics, the instant
// load figure the autoscaler and proxy poll, and health probes.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { PodMetrics } from './metrics.js';
import { listenHttp, type HttpEndpoint } from '../../shared/net/index.js';

export interface OpsView {
  /** What /load reports: lifecycle phase, sessions, CPU. */
  load(): Record<string, unknown>;
  /** Ready for what this phase needs: stamping when unbound, sessions when running. */
  ready(): boolean;
}

export type OpsEndpoint = HttpEndpoint;

export async function startOpsEndpoint(host: string, port: number, metrics: PodMetrics, view: OpsView): Promise<OpsEndpoint> {
  const server = createServer((req, res) => {
    handle(req, res, metrics, view).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });
  return listenHttp(server, host, port);
}

async function handle(req: IncomingMessage, res: ServerResponse, metrics: PodMetrics, view: OpsView): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { 'content-type': 'text/plain' }).end('GET only\n');
    return;
  }
  switch (path) {
    case '/metrics':
      res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(await metrics.registry.metrics());
      return;
    case '/load':
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(`${JSON.stringify(view.load())}\n`);
      return;
    case '/healthz':
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    case '/readyz': {
      const ready = view.ready();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : 'not ready\n');
      return;
    }
    default:
      res.writeHead(404, { 'content-type': 'text/plain' }).end('routes: /metrics /load /healthz /readyz\n');
  }
}
