// Shoal on a real cluster, as a user meets it: helm install the chart, kubectl
// apply a CrdbTenant, connect with psql through the proxy Service, watch it
// resume, scale, drain and go away. KUBECONFIG names the cluster (make e2e:
// the local one; make e2e-kind: kind); the image must already be in it, and
// an earlier run gone (e2e/run.sh removes it).
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { KubeApi, KubeApiError } from '../shared/kube/api.js';
import { crdbTenantPath, crdbTenantSchema, crdbTenantsPath, type CrdbTenant } from '../shared/kube/crdbtenant.js';
import { sqlPodSchema } from '../shared/kube/sqlpod.js';
import { readTenantSecret, secretSchema, tenantSecretName } from '../operator/tenants/secret.js';

const run = promisify(execFile);
const NS = process.env.SHOAL_E2E_NAMESPACE ?? 'shoal-e2e';
const KUBECONFIG = process.env.KUBECONFIG ?? 'state/cluster/kubeconfig';
const HELM = process.env.SHOAL_HELM ?? 'helm';
const KUBECTL = process.env.SHOAL_KUBECTL ?? 'kubectl';
/** Extra `helm install` flags from the runner (the local cluster's storage class, kind's image policy, …). */
const HELM_FLAGS = (process.env.SHOAL_E2E_HELM_FLAGS ?? '').split(' ').filter((f) => f !== '');
let api: KubeApi;
let proxyHost: string;
const sessions: pg.Client[] = [];
const forwards: { kill(): void }[] = [];

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const tenant = (name: string) =>
  api.get(crdbTenantPath(NS, name), crdbTenantSchema).catch((e: unknown) => {
    if (e instanceof KubeApiError && e.status === 404) return undefined;
    throw e;
  });
const condition = (t: CrdbTenant | undefined, type: string) => t?.status?.conditions?.find((c) => c.type === type)?.status;
const podsOf = async (name: string) => (await api.list(`/api/v1/namespaces/${NS}/pods`, sqlPodSchema, { labelSelector: `shoal.dev/tenant=${name}` })).items;
const runningPodsOf = async (name: string) => (await podsOf(name)).filter((p) => p.metadata.labels?.['shoal.dev/state'] === 'running' && !p.metadata.deletionTimestamp);
/** Tenant keyspaces on the kvpod by state, from its shoal_kv_tenants gauge (read through the API server's pod proxy). */
async function keyspaces(): Promise<{ active: number; dropped: number }> {
  const { stdout } = await run(KUBECTL, ['get', '--raw', `/api/v1/namespaces/${NS}/pods/shoal-kvpod-0:26258/proxy/metrics`], { env: { ...process.env, KUBECONFIG } });
  const gauge = (state: string) => Number(new RegExp(`^shoal_kv_tenants\\{state="${state}"\\} (\\d+)$`, 'm').exec(stdout)?.[1] ?? NaN);
  return { active: gauge('active'), dropped: gauge('dropped') };
}
const scale = (name: string, replicas: number) => api.patch(crdbTenantPath(NS, name), { spec: { replicas } }, 'application/merge-patch+json');

async function connect(name: string): Promise<pg.Client> {
  const t = await until(`${name} has an ID`, async () => (await tenant(name))?.status?.tenantId);
  const creds = readTenantSecret(await api.get(`/api/v1/namespaces/${NS}/secrets/${tenantSecretName(name)}`, secretSchema), t);
  if (!creds) throw new Error(`no credentials for ${name}`);
  const [host, port] = proxyHost.split(':');
  const client = new pg.Client({
    host,
    port: Number(port),
    user: creds.username,
    password: creds.password,
    database: 'defaultdb',
    options: `--cluster=${name}`,
    ssl: { ca: creds.caCert, checkServerIdentity: () => undefined },
    connectionTimeoutMillis: 60_000,
  });
  client.on('error', () => undefined);
  await client.connect();
  sessions.push(client);
  return client;
}

async function apply(name: string, spec: Record<string, unknown> = {}): Promise<void> {
  await api.create(crdbTenantsPath(NS), { apiVersion: 'shoal.dev/v1alpha1', kind: 'CrdbTenant', metadata: { name }, spec });
}

beforeAll(async () => {
  api = KubeApi.fromKubeconfig(KUBECONFIG);
  const env = { ...process.env, KUBECONFIG };
  const values = join(mkdtempSync(join(tmpdir(), 'shoal-e2e-')), 'values.yaml');
  writeFileSync(values, ['pool:', '  size: 2', 'proxy:', '  replicas: 1', 'operator:', '  replicas: 2', '  sampleInterval: 2s', '  cpuWindow: 6s', '  scaleDownStabilization: 8s', 'drainLimit: 30s', ''].join('\n'));
  await run(HELM, ['install', 'shoal', 'charts/shoal', '-n', NS, '--create-namespace', '-f', values, ...HELM_FLAGS, '--wait', '--timeout', '10m'], { env, maxBuffer: 16 << 20 });
  const svc = await api.get(`/api/v1/namespaces/${NS}/services/shoal-proxy`, z.object({ spec: z.object({ clusterIP: z.string(), ports: z.array(z.object({ port: z.number() })) }) }));
  proxyHost = process.env.SHOAL_E2E_PROXY ?? `${svc.spec.clusterIP}:${svc.spec.ports[0]?.port ?? 5432}`;
  if (process.env.SHOAL_E2E_PORT_FORWARD) {
    // kind: the Service is not reachable from the host; kubectl port-forward is.
    const child = spawn('kubectl', ['-n', NS, 'port-forward', 'svc/shoal-proxy', `${process.env.SHOAL_E2E_PORT_FORWARD}:5432`], { env, stdio: 'ignore' });
    forwards.push(child);
    proxyHost = `127.0.0.1:${process.env.SHOAL_E2E_PORT_FORWARD}`;
  }
  // A new Service answers once kube-proxy has programmed its endpoints, a moment after helm's --wait.
  await until(`the proxy accepting connections at ${proxyHost}`, () => canConnect(proxyHost), 60_000);
});

function canConnect(address: string): Promise<boolean> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

afterAll(async () => {
  await Promise.all(sessions.map((s) => s.end().catch(() => undefined)));
  forwards.forEach((f) => f.kill());
});

describe('a tenant from kubectl apply to psql', () => {
  it('gets Ready (suspended: no pod, so no compute) after kubectl apply', async () => {
    await apply('acme', { idleTimeout: '20s' });
    const t = await until('acme Ready', async () => {
      const c = await tenant('acme');
      return condition(c, 'Ready') === 'True' && c;
    });
    expect(t.status?.state).toBe('Suspended');
    expect(await podsOf('acme')).toHaveLength(0);
  });

  it('resumes on the first connection through the proxy Service; create, insert, select', async () => {
    const c = await connect('acme');
    await c.query('CREATE TABLE orders (id int PRIMARY KEY, item text)');
    await c.query("INSERT INTO orders VALUES (1, 'anchor'), (2, 'rope')");
    expect((await c.query('SELECT item FROM orders ORDER BY id')).rows).toEqual([{ item: 'anchor' }, { item: 'rope' }]);
    expect(await runningPodsOf('acme')).toHaveLength(1);
    // The ReplicaSet released the plucked pod and started a replacement.
    await until('the pool refilled', async () => {
      const pool = (await api.list(`/api/v1/namespaces/${NS}/pods`, sqlPodSchema, { labelSelector: 'shoal.dev/pool=prewarmed' })).items;
      return pool.filter((p) => p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')).length === 2;
    });
    await c.end();
  });

  it('keeps two tenants apart', async () => {
    await apply('globex');
    const g = await connect('globex');
    await expect(g.query('SELECT * FROM orders')).rejects.toThrow(/relation "orders" does not exist/);
    await g.end();
  });

  it('follows kubectl scale up and down, draining without cutting a session', async () => {
    await scale('acme', 2);
    await until('two acme pods', async () => (await runningPodsOf('acme')).length === 2);
    const held = await connect('acme');
    await scale('acme', 1);
    await until('one acme pod running', async () => (await runningPodsOf('acme')).length === 1);
    expect((await held.query('SELECT count(*)::int AS n FROM orders')).rows).toEqual([{ n: 2 }]);
    await held.end();
  });

  it('is scaled to zero once idle for its idle timeout, and resumed by the next connection', async () => {
    await until('acme suspended', async () => (await tenant('acme'))?.status?.state === 'Suspended', 240_000);
    expect(await runningPodsOf('acme')).toHaveLength(0);
    const c = await connect('acme');
    expect((await c.query('SELECT count(*)::int AS n FROM orders')).rows).toEqual([{ n: 2 }]);
    await c.end();
  });

  it('is deleted with its pods, Secret and keyspace', async () => {
    const old = await connect('globex');
    await old.query('CREATE TABLE stash (id int PRIMARY KEY)');
    await old.query('INSERT INTO stash VALUES (1)');
    await old.end();
    const before = await keyspaces();
    const globexId = (await tenant('globex'))?.status?.tenantId;
    await api.delete(crdbTenantPath(NS, 'globex'));
    await until('globex gone', async () => (await tenant('globex')) === undefined);
    expect(await podsOf('globex')).toHaveLength(0);
    await expect(api.get(`/api/v1/namespaces/${NS}/secrets/${tenantSecretName('globex')}`, secretSchema)).rejects.toMatchObject({ status: 404 });
    // The kvpod dropped the keyspace (keyspaceRetention defaults to Delete) …
    expect(await keyspaces()).toEqual({ active: before.active - 1, dropped: before.dropped + 1 });
    // … so a new globex is a new tenant: a new ID (never reused) and none of the old data.
    await apply('globex');
    const g = await connect('globex');
    expect((await tenant('globex'))?.status?.tenantId).not.toBe(globexId);
    await expect(g.query('SELECT * FROM stash')).rejects.toThrow(/relation "stash" does not exist/);
    await g.end();
  });
});

describe('autoscaling on CPU', () => {
  it('adds a pod under load, and drains one when the load is gone without ending a session', async () => {
    await apply('surge', { idleTimeout: '0', maxReplicas: 2, autoscaling: { targetAverageCpuPerPod: 0.1, targetPeakCpuPerPod: 0.15 } });
    const busy = [await connect('surge'), await connect('surge')];
    await busy[0]?.query('CREATE TABLE ticks (id int PRIMARY KEY, v text)');
    await busy[0]?.query("INSERT INTO ticks VALUES (1, 'a')");
    let loading = true;
    const load = busy.map(async (c) => {
      while (loading) await c.query('SELECT count(*) FROM ticks WHERE v = $1', ['a']);
    });
    try {
      await until('a second surge pod under load', async () => (await runningPodsOf('surge')).length === 2, 90_000);
    } finally {
      loading = false;
      await Promise.all(load);
    }
    // Least connections: the proxy sends a new session to the new pod, so both pods hold sessions.
    const sessions = [...busy, await connect('surge')];
    await until('surge scaled back to one running pod', async () => (await runningPodsOf('surge')).length === 1, 90_000);
    expect((await podsOf('surge')).filter((p) => p.metadata.labels?.['shoal.dev/state'] === 'draining')).toHaveLength(1);
    for (const c of sessions) expect((await c.query('SELECT count(*)::int AS n FROM ticks')).rows).toEqual([{ n: 1 }]);
    await Promise.all(sessions.map((c) => c.end()));
    await until('the drained pod deleted once its sessions ended', async () => (await podsOf('surge')).length === 1, 60_000);
  });
});
