// The Kubernetes tenant directory against a real API server (etcd +
// kube-apiserver v1.33): CrdbTenants and labelled pods kept current by list +
// watch, 410 after an etcd compaction answered by a relist, resume through the
// scale subresource, and the proxy routing and resuming with it.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTestCerts, startTestKvpod, type TestCerts, type TestKvpod } from '../../kvpod/testing/fixtures.js';
import type { KubeApi } from '../../shared/kube/api.js';
import { createLogger } from '../../shared/log/index.js';
import { compactEtcd, startShoalApiServer, type TestApiServer } from '../../shared/testing/kube-apiserver.js';
import type { SqlPod } from '../../sqlpod/pod.js';
import { ADMIN, createTenant, startStampedPod } from '../../sqlpod/testing/fixtures.js';
import { startProxy } from '../server.js';
import { startProxyChild } from '../testing/process.js';
import type { DirectoryChange } from './index.js';
import { KubernetesDirectory } from './kubernetes.js';

const NS = 'shoal';
let server: TestApiServer;
let api: KubeApi;
const directories: KubernetesDirectory[] = [];

const ct = (name: string, replicas = 0) => ({ apiVersion: 'shoal.dev/v1alpha1', kind: 'CrdbTenant', metadata: { name }, spec: { replicas } });
const tenantsPath = `/apis/shoal.dev/v1alpha1/namespaces/${NS}/crdbtenants`;
const podsPath = `/api/v1/namespaces/${NS}/pods`;

async function sqlPod(name: string, tenant: string, state: string, ip: string, port = 5433): Promise<void> {
  await api.create(podsPath, {
    metadata: { name, labels: { 'shoal.dev/component': 'sqlpod', 'shoal.dev/tenant': tenant, 'shoal.dev/state': state } },
    spec: { containers: [{ name: 'sqlpod', image: 'localhost/shoal/shoal:0.1.0', ports: [{ name: 'sql', containerPort: port }] }] },
  });
  // No kubelet here: the test writes the status a kubelet would.
  await api.patch(`${podsPath}/${name}/status`, { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } }, 'application/merge-patch+json');
}

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const replicasOf = async (name: string) => (await api.get(`${tenantsPath}/${name}`, z.object({ spec: z.object({ replicas: z.number() }) }))).spec.replicas;

function directory(extra: Partial<ConstructorParameters<typeof KubernetesDirectory>[0]> = {}): KubernetesDirectory {
  const d = new KubernetesDirectory({ api, namespace: NS, ...extra });
  directories.push(d);
  return d;
}

beforeAll(async () => {
  ({ server, api } = await startShoalApiServer(NS));
}, 180_000);

afterAll(async () => {
  await Promise.all(directories.map((d) => d.stop()));
  await server?.stop();
});

describe('KubernetesDirectory on a real API server', () => {
  it('refuses invalid CrdbTenants at admission with the CRD\'s messages', async () => {
    const refused = async (body: unknown) => ((await api.create(tenantsPath, body).then(() => undefined, (e: unknown) => e)) as Error | undefined)?.message ?? 'accepted';
    expect(await refused(ct('system'))).toContain("not 'system'");
    expect(await refused({ ...ct('toomany'), spec: { replicas: 9, maxReplicas: 3 } })).toContain('replicas must not exceed maxReplicas');
    expect(await refused({ ...ct('inverted'), spec: { minReplicas: 4, maxReplicas: 2 } })).toContain('minReplicas must not exceed maxReplicas');
  });

  it('keeps tenants and their pods current: a tenant without pods is suspended, labels and deletions show up', async () => {
    await api.create(tenantsPath, ct('acme'));
    await api.create(tenantsPath, ct('globex'));
    const d = directory();
    const changes: DirectoryChange[] = [];
    d.subscribe((c) => changes.push(c));
    await d.waitForSync();
    expect(d.lookup('acme')).toEqual({ name: 'acme', pods: [] });
    expect(d.lookup('initech')).toBeUndefined();

    await sqlPod('acme-sql-1', 'acme', 'stamping', '10.244.0.7');
    await until('stamping pod', () => d.lookup('acme')?.pods[0]?.state === 'stamping');
    expect(d.lookup('acme')?.pods).toEqual([{ name: 'acme-sql-1', tenant: 'acme', state: 'stamping', address: '10.244.0.7:5433' }]);
    await api.patch(`${podsPath}/acme-sql-1`, { metadata: { labels: { 'shoal.dev/state': 'running' } } }, 'application/merge-patch+json');
    await until('running pod', () => d.lookup('acme')?.pods[0]?.state === 'running');

    await api.delete(`${podsPath}/acme-sql-1?gracePeriodSeconds=0`);
    await until('pod gone', () => d.lookup('acme')?.pods.length === 0);

    await api.delete(`${tenantsPath}/globex`);
    await until('tenant gone', () => d.lookup('globex') === undefined);
    expect(changes.some((c) => c.tenant === 'globex' && c.entry === undefined)).toBe(true);
  });

  it('relists when its resourceVersion expires (410 after an etcd compaction), and stays correct', async () => {
    // Watches end every 1–2 s, so the next one starts from the version it last saw.
    const d = directory({ watchTimeoutSeconds: 1 });
    await d.waitForSync();
    // Changes elsewhere move etcd's revision past everything this namespace's watches saw.
    await api.create('/api/v1/namespaces', { metadata: { name: 'elsewhere' } });
    for (let i = 0; i < 5; i++) await api.create('/api/v1/namespaces/elsewhere/configmaps', { metadata: { name: `cm-${i}` } });
    await compactEtcd(server.etcdUrl);
    await until('a 410 and a relist', () => d.pods.stats.gone > 0 && d.pods.stats.lists > 1, 15_000);
    // Still current after the relist.
    await sqlPod('acme-sql-2', 'acme', 'running', '10.244.0.8');
    await until('pod after relist', () => d.lookup('acme')?.pods[0]?.name === 'acme-sql-2');
    await api.delete(`${podsPath}/acme-sql-2?gracePeriodSeconds=0`);
    await until('pod gone after relist', () => d.lookup('acme')?.pods.length === 0);
  }, 30_000);

  it('resumes through the scale subresource from 0 to 1, and never lowers a higher count', async () => {
    await api.create(tenantsPath, ct('sleepy'));
    const d = directory();
    await d.waitForSync();
    await d.resume('sleepy');
    expect(await replicasOf('sleepy')).toBe(1);
    await d.resume('sleepy');
    expect(await replicasOf('sleepy')).toBe(1);
    await api.patch(`${tenantsPath}/sleepy`, { spec: { replicas: 3 } }, 'application/merge-patch+json');
    await d.resume('sleepy');
    expect(await replicasOf('sleepy')).toBe(3);
    await expect(d.resume('nobody')).rejects.toThrow(/"nobody" does not exist/);
  });

  it("resumes with one request when its informer's copy is current, and with a fresh read when it is stale", async () => {
    await api.create(tenantsPath, ct('drowsy'));
    const calls: string[] = [];
    const spying = new Proxy(api, {
      get: (target, prop, receiver) => {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function' || (prop !== 'get' && prop !== 'replace')) return value;
        return (...args: unknown[]): unknown => {
          calls.push(prop);
          return Reflect.apply(value as (...a: unknown[]) => unknown, target, args);
        };
      },
    });
    const d = directory({ api: spying });
    await d.waitForSync();
    calls.length = 0;
    await d.resume('drowsy');
    expect(calls).toEqual(['replace']);
    expect(await replicasOf('drowsy')).toBe(1);
    // Suspended again, as the informer sees; then scaled up and down behind its back: its copy is stale.
    await api.patch(`${tenantsPath}/drowsy`, { spec: { replicas: 0 } }, 'application/merge-patch+json');
    await until('the informer saw the suspension', () => d.tenants.get(`${NS}/drowsy`)?.spec?.replicas === 0);
    await d.tenants.stop();
    await api.patch(`${tenantsPath}/drowsy`, { spec: { replicas: 3 } }, 'application/merge-patch+json');
    await api.patch(`${tenantsPath}/drowsy`, { spec: { replicas: 0 } }, 'application/merge-patch+json');
    calls.length = 0;
    await d.resume('drowsy');
    // The write at the stale version is refused (409); a read decides.
    expect(calls).toEqual(['replace', 'get', 'replace']);
    expect(await replicasOf('drowsy')).toBe(1);
  });
});

describe('the proxy with the Kubernetes directory', () => {
  let certs: TestCerts;
  let kv: TestKvpod;
  const pods: SqlPod[] = [];

  beforeAll(async () => {
    certs = await createTestCerts();
    kv = await startTestKvpod(certs);
  });

  afterAll(async () => {
    await Promise.all(pods.map((p) => p.shutdown()));
    await kv?.stop();
  });

  it('routes to the pod the API lists, and resumes a suspended tenant by raising its replicas while the client waits', async () => {
    const tenant = await createTenant(certs, kv.address, 'wakeme');
    await api.create(tenantsPath, ct('wakeme'));
    const d = directory();
    await d.waitForSync();
    const proxy = await startProxy({ host: '127.0.0.1', port: 0, directory: d, podCa: certs.ca.certPem, log: createLogger('proxy', 'silent') });
    try {
      // Stands in for the operator: when replicas leaves 0, a pod is stamped and listed as running.
      const operator = (async () => {
        const deadline = Date.now() + 20_000;
        while ((await replicasOf('wakeme')) < 1) {
          if (Date.now() > deadline) throw new Error('no resume');
          await new Promise((r) => setTimeout(r, 50));
        }
        const pod = await startStampedPod(certs, tenant, kv.address);
        pods.push(pod);
        await sqlPod('wakeme-sql-1', 'wakeme', 'running', '127.0.0.1', pod.addresses.sql?.port ?? 0);
      })();
      const client = new pg.Client({ host: '127.0.0.1', port: proxy.address.port, user: ADMIN.username, password: ADMIN.password, database: 'defaultdb', options: '--cluster=wakeme' });
      await client.connect();
      expect((await client.query('SELECT 1 AS resumed')).rows).toEqual([{ resumed: 1 }]);
      await client.end();
      await operator;
      expect(await replicasOf('wakeme')).toBe(1);
    } finally {
      await proxy.close(0);
    }
  }, 60_000);

  it('runs as the proxy process in Kubernetes mode (--kubeconfig, --namespace, --ca-cert)', async () => {
    const proxy = await startProxyChild(['--kubeconfig', server.kubeconfig, '--namespace', NS, '--ca-cert', certs.caPath], 40_000);
    try {
      expect(proxy.output()).toContain('"tenants":"kubernetes"');
      const client = new pg.Client({ host: '127.0.0.1', port: proxy.port, user: ADMIN.username, password: ADMIN.password, database: 'wakeme.defaultdb' });
      await client.connect();
      expect((await client.query('SELECT 2 AS via_process')).rows).toEqual([{ via_process: 2 }]);
      await client.end();
      proxy.child.kill('SIGTERM');
      expect(await proxy.exited).toBe(0);
    } finally {
      proxy.kill();
    }
  }, 60_000);
});
