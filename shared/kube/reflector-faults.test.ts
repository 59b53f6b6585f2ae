// Failures a healthy API server does not produce on demand: a watch that goes
// silent (a hung connection, a dead proxy in between) and watches that keep
// failing. A small HTTPS server plays the API server for these two only; the
// normal paths are tested against the real one (proxy/directory/kubernetes-api.test.ts).
import { writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestCerts } from '../../kvpod/testing/fixtures.js';
import { KubeApi, objectMetaSchema } from './api.js';
import { Reflector } from './reflector.js';
import { z } from 'zod';

const item = z.object({ metadata: objectMetaSchema });
const servers: Server[] = [];
const reflectors: Reflector<z.infer<typeof item>>[] = [];

afterEach(async () => {
  await Promise.all(reflectors.splice(0).map((r) => r.stop()));
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

/** An API server that lists one pod and answers watches with `watch(n)` (n counts watch requests). */
async function fakeApi(watch: (n: number, res: ServerResponse) => void): Promise<{ api: KubeApi; watches: () => number }> {
  const certs = await createTestCerts();
  const serving = await certs.issue({ kind: 'kvpod-server', hosts: ['127.0.0.1'] });
  let watches = 0;
  const server = createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
    if ((req.url ?? '').includes('watch=1')) {
      watch(++watches, res);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ metadata: { resourceVersion: '10' }, items: [{ metadata: { name: 'p1', namespace: 'ns', resourceVersion: '10' } }] }));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const kubeconfig = join(certs.dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: `https://127.0.0.1:${port}`, 'certificate-authority': certs.caPath } }],
      users: [{ name: 'nobody', user: {} }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'nobody' } }],
      'current-context': 'fake',
    }),
  );
  return { api: KubeApi.fromKubeconfig(kubeconfig), watches: () => watches };
}

async function until(what: string, probe: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Reflector under faults', () => {
  it('aborts a watch that goes silent past its timeout and watches again from the same version', async () => {
    // Headers, then nothing: the server neither sends events nor ends the stream.
    const { api, watches } = await fakeApi((_n, res) => res.writeHead(200, { 'content-type': 'application/json' }).flushHeaders());
    const r = new Reflector({ api, path: '/api/v1/namespaces/ns/pods', item, watchTimeoutSeconds: 1, watchdogGraceMs: 200, onEvent: () => undefined });
    reflectors.push(r);
    await r.waitForSync();
    await until('two watchdog aborts', () => r.stats.watchdogAborts >= 2, 15_000);
    expect(watches()).toBeGreaterThanOrEqual(2);
    // A silent watch is not a reason to relist: the version it had is still good.
    expect(r.stats.lists).toBe(1);
    expect(r.list().map((o) => o.metadata.name)).toEqual(['p1']);
  }, 20_000);

  it('backs off exponentially while watches keep failing, and recovers', async () => {
    const { api, watches } = await fakeApi((n, res) => {
      if (n <= 4) {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: 500, reason: 'InternalError', message: 'etcd unavailable' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'p2', namespace: 'ns', resourceVersion: '11' } } })}\n`);
    });
    const waits: number[] = [];
    const r = new Reflector({
      api,
      path: '/api/v1/namespaces/ns/pods',
      item,
      backoff: { initialMs: 40, maxMs: 1000 },
      onEvent: () => undefined,
      onError: (err, next) => {
        expect(String(err)).toContain('etcd unavailable');
        waits.push(next);
      },
    });
    reflectors.push(r);
    await until('the fifth watch delivering an event', () => r.get('ns/p2') !== undefined);
    expect(watches()).toBe(5);
    expect(waits).toHaveLength(4);
    // Full jitter within a doubling ceiling: attempt k waits between 40·2^(k-1)/2 and 40·2^(k-1).
    waits.forEach((w, i) => {
      const ceiling = 40 * 2 ** i;
      expect(w).toBeGreaterThanOrEqual(ceiling / 2);
      expect(w).toBeLessThanOrEqual(ceiling);
    });
  });
});
