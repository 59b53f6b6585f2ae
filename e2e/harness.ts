// What the e2e files share: the cluster's API, the tenants and pods as a user
// sees them, and psql-like sessions through the proxy Service.
import { execFile } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';
import { promisify } from 'node:util';
import pg from 'pg';
import { inject } from 'vitest';
import { KubeApi, KubeApiError } from '../shared/kube/api.js';
import { crdbTenantPath, crdbTenantSchema, crdbTenantsPath, type CrdbTenant } from '../shared/kube/crdbtenant.js';
import { STATE_LABEL, TENANT_LABEL, sqlPodSchema, type SqlPodObject } from '../shared/kube/sqlpod.js';
import { readTenantSecret, secretSchema, tenantSecretName } from '../operator/tenants/secret.js';

export const run = promisify(execFile);
export const NS = process.env.SHOAL_E2E_NAMESPACE ?? 'shoal-e2e';
export const KUBECONFIG = process.env.KUBECONFIG ?? 'state/cluster/kubeconfig';
export const HELM = process.env.SHOAL_HELM ?? 'helm';
export const KUBECTL = process.env.SHOAL_KUBECTL ?? 'kubectl';

let cachedApi: KubeApi | undefined;
export const api = (): KubeApi => (cachedApi ??= KubeApi.fromKubeconfig(KUBECONFIG));
const sessions: pg.Client[] = [];

export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export function canConnect(address: string): Promise<boolean> {
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

export const kubectl = (...args: string[]) => run(KUBECTL, ['-n', NS, ...args], { env: { ...process.env, KUBECONFIG }, maxBuffer: 16 << 20 });

export const tenant = (name: string): Promise<CrdbTenant | undefined> =>
  api()
    .get(crdbTenantPath(NS, name), crdbTenantSchema)
    .catch((e: unknown) => {
      if (e instanceof KubeApiError && e.status === 404) return undefined;
      throw e;
    });
export const condition = (t: CrdbTenant | undefined, type: string) => t?.status?.conditions?.find((c) => c.type === type)?.status;
/** Pods by label selector, read as SQL pods are (metadata, IP, conditions, restarts). */
export const pods = async (labelSelector: string) => (await api().list(`/api/v1/namespaces/${NS}/pods`, sqlPodSchema, { labelSelector })).items;
export const podsOf = (name: string) => pods(`${TENANT_LABEL}=${name}`);
export const stateOf = (pod: SqlPodObject) => pod.metadata.labels?.[STATE_LABEL];
export const runningPodsOf = async (name: string) => (await podsOf(name)).filter((p) => stateOf(p) === 'running' && !p.metadata.deletionTimestamp);
export const scale = (name: string, replicas: number) => api().patch(crdbTenantPath(NS, name), { spec: { replicas } }, 'application/merge-patch+json');

export async function apply(name: string, spec: Record<string, unknown> = {}): Promise<void> {
  await api().create(crdbTenantsPath(NS), { apiVersion: 'shoal.dev/v1alpha1', kind: 'CrdbTenant', metadata: { name }, spec });
}

/** Tenant keyspaces on the kvpod by state, from its shoal_kv_tenants gauge (read through the API server's pod proxy). */
export async function keyspaces(): Promise<{ active: number; dropped: number }> {
  const { stdout } = await kubectl('get', '--raw', `/api/v1/namespaces/${NS}/pods/shoal-kvpod-0:26258/proxy/metrics`);
  const gauge = (state: string) => Number(new RegExp(`^shoal_kv_tenants\\{state="${state}"\\} (\\d+)$`, 'm').exec(stdout)?.[1] ?? NaN);
  return { active: gauge('active'), dropped: gauge('dropped') };
}

/** A session as the tenant's admin through the proxy Service (`--cluster=<name>`), closed by closeSessions(). */
export async function connect(name: string): Promise<pg.Client> {
  const t = await until(`${name} has an ID`, async () => (await tenant(name))?.status?.tenantId);
  const creds = readTenantSecret(await api().get(`/api/v1/namespaces/${NS}/secrets/${tenantSecretName(name)}`, secretSchema), t);
  if (!creds) throw new Error(`no credentials for ${name}`);
  const [host, port] = inject('proxyHost').split(':');
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

export async function closeSessions(): Promise<void> {
  await Promise.all(sessions.splice(0).map((s) => s.end().catch(() => undefined)));
}
