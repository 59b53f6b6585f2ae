// Binding, draining and removing SQL pods against a real API server and real
// SQL pods. There is no kubelet here: each pool pod is a real unbound SqlPod
// process-in-a-test, and the test writes the Pod object and its status the
// way the ReplicaSet controller and the kubelet would (IP 127.0.0.1, the
// pod's real ports, Ready).
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { clientWith, createTestCerts, startTestKvpod, type TestCerts, type TestKvpod } from '../../kvpod/testing/fixtures.js';
import { freePort } from '../../shared/net/index.js';
import type { KubeApi} from '../../shared/kube/api.js';
import { KubeApiError } from '../../shared/kube/api.js';
import { crdbTenantPath, crdbTenantSchema, crdbTenantsPath } from '../../shared/kube/crdbtenant.js';
import { sqlPodSchema, type SqlPodObject } from '../../shared/kube/sqlpod.js';
import type { KvClient } from '../../shared/kv/client/index.js';
import { createLogger } from '../../shared/log/index.js';
import { readPodLoad } from '../../shared/podctl/index.js';
import { startShoalApiServer, type TestApiServer } from '../../shared/testing/kube-apiserver.js';
import { until } from '../../shared/testing/until.js';
import type { SqlPod } from '../../sqlpod/pod.js';
import { startUnboundPod } from '../../sqlpod/testing/fixtures.js';
import { TenantController } from '../controller.js';
import { EventRecorder } from '../kube/events.js';
import { readTenantSecret, secretSchema, tenantSecretName } from '../tenants/secret.js';

const NS = 'shoal';
const podsPath = `/api/v1/namespaces/${NS}/pods`;
let server: TestApiServer;
let api: KubeApi;
let certs: TestCerts;
let kv: TestKvpod;
let admin: KvClient;
const controllers: TenantController[] = [];
const processes = new Map<string, SqlPod>();
let serial = 0;


/**
 * A pool pod: a real unbound SQL pod, and the Pod object a ReplicaSet would
 * have made for it (or, with `as`, the one a dead operator left half-plucked);
 * without `resources` it is a BestEffort pod.
 */
async function poolPod(as?: { readonly tenant: string; readonly uid: string }, resources?: { requests?: Record<string, string>; limits?: Record<string, string> }): Promise<string> {
  const name = `pool-${++serial}`;
  const sqlPort = await freePort();
  const pod = await startUnboundPod(certs, { sqlListen: `127.0.0.1:${sqlPort}` });
  processes.set(name, pod);
  await api.create(podsPath, {
    metadata: {
      name,
      labels: { 'shoal.dev/component': 'sqlpod', 'shoal.dev/pool': 'prewarmed' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'pool-rs', uid: '00000000-0000-0000-0000-000000000001', controller: true }],
    },
    spec: {
      containers: [
        {
          name: 'sqlpod',
          image: 'localhost/shoal/shoal:0.1.0',
          ports: [
            { name: 'sql', containerPort: sqlPort },
            { name: 'control', containerPort: pod.addresses.control?.port ?? 0 },
            { name: 'ops', containerPort: pod.addresses.ops?.port ?? 0 },
          ],
          ...(resources ? { resources } : {}),
        },
      ],
    },
  });
  // Half-plucked pods are made from a pod that never looked ready to the pool, so no reconcile takes it first.
  const ready = as ? 'False' : 'True';
  await api.patch(`${podsPath}/${name}/status`, { status: { phase: 'Running', podIP: '127.0.0.1', podIPs: [{ ip: '127.0.0.1' }], conditions: [{ type: 'Ready', status: ready }] } }, 'application/merge-patch+json');
  if (as) {
    await api.patch(
      `${podsPath}/${name}`,
      { metadata: { labels: { 'shoal.dev/pool': null, 'shoal.dev/tenant': as.tenant, 'shoal.dev/state': 'stamping' }, ownerReferences: [{ apiVersion: 'shoal.dev/v1alpha1', kind: 'CrdbTenant', name: as.tenant, uid: as.uid, controller: true }] } },
      'application/merge-patch+json',
    );
  }
  return name;
}

const listPods = async (): Promise<SqlPodObject[]> => (await api.list(podsPath, sqlPodSchema)).items;
const podsOf = async (tenant: string) => (await listPods()).filter((p) => p.metadata.labels?.['shoal.dev/tenant'] === tenant);
const getPod = (name: string) =>
  api.get(`${podsPath}/${name}`, sqlPodSchema).catch((e: unknown) => {
    if (e instanceof KubeApiError && e.status === 404) return undefined;
    throw e;
  });
const loadOf = (name: string) => readPodLoad(`127.0.0.1:${processes.get(name)?.addresses.ops?.port ?? 0}`);
const scale = (tenant: string, replicas: number) => api.patch(crdbTenantPath(NS, tenant), { spec: { replicas } }, 'application/merge-patch+json');
const reasons = async (tenant: string) =>
  (await api.list(`/api/v1/namespaces/${NS}/events`, z.object({ involvedObject: z.object({ name: z.string() }), reason: z.string() }))).items.filter((e) => e.involvedObject.name === tenant).map((e) => e.reason);

async function apply(name: string, spec: Record<string, unknown>): Promise<void> {
  await api.create(crdbTenantsPath(NS), { apiVersion: 'shoal.dev/v1alpha1', kind: 'CrdbTenant', metadata: { name }, spec });
}

async function startController(instance: string): Promise<TenantController> {
  const log = createLogger('operator', 'silent');
  const c = new TenantController({
    api,
    namespace: NS,
    keyspaces: admin,
    ca: certs.ca,
    operator: { caPem: certs.ca.certPem, ...(await certs.operator()) },
    kvAddresses: [kv.address],
    // Long enough that no pod here is removed at its deadline: the tests show removal on exit and restart.
    drainLimitMs: 60_000,
    events: new EventRecorder(api, 'shoal-operator', instance, log),
    log,
    retry: { baseDelayMs: 50, maxDelayMs: 1000 },
  });
  controllers.push(c);
  await c.start();
  return c;
}

/** A session straight to a bound pod's SQL port, as the tenant's admin (the proxy is not under test here). */
async function connectTo(podName: string, tenant: string): Promise<pg.Client> {
  const t = await api.get(crdbTenantPath(NS, tenant), crdbTenantSchema);
  const secret = await api.get(`/api/v1/namespaces/${NS}/secrets/${tenantSecretName(tenant)}`, secretSchema);
  const creds = readTenantSecret(secret, t.status?.tenantId ?? 0);
  const pod = await getPod(podName);
  const port = pod?.spec?.containers[0]?.ports?.find((p) => p.name === 'sql')?.containerPort;
  if (!creds || !port) throw new Error('no credentials or no SQL port');
  const client = new pg.Client({ host: '127.0.0.1', port, user: creds.username, password: creds.password, database: 'defaultdb', ssl: { ca: creds.caCert, checkServerIdentity: () => undefined } });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

beforeAll(async () => {
  ({ server, api } = await startShoalApiServer(NS));
  certs = await createTestCerts();
  kv = await startTestKvpod(certs);
  admin = clientWith(certs, await certs.operator(), [kv.address]);
  await startController('a');
}, 180_000);

afterAll(async () => {
  await Promise.all(controllers.map((c) => c.stop()));
  await Promise.all([...processes.values()].map((p) => p.shutdown()));
  admin?.close();
  await kv?.stop();
  await server?.stop();
});

describe('binding', () => {
  it('plucks a ready pool pod, makes the tenant its controller, stamps it and labels it running', async () => {
    const pod = await poolPod();
    await apply('acme', { replicas: 1 });
    const [bound] = await until('acme running', async () => {
      const pods = await podsOf('acme');
      return pods.length === 1 && pods[0]?.metadata.labels?.['shoal.dev/state'] === 'running' && pods;
    });
    expect(bound?.metadata.name).toBe(pod);
    expect(bound?.metadata.labels?.['shoal.dev/pool']).toBeUndefined();
    // Status is written at the end of the reconcile that bound the pod.
    const tenant = await until('acme status', async () => {
      const t = await api.get(crdbTenantPath(NS, 'acme'), crdbTenantSchema);
      return t.status?.tenantId !== undefined && t;
    });
    expect(bound?.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'CrdbTenant', name: 'acme', uid: tenant.metadata.uid, controller: true })]);
    expect(await loadOf(pod)).toMatchObject({ state: 'running', tenantName: 'acme', tenantId: tenant.status?.tenantId });

    const client = await connectTo(pod, 'acme');
    await client.query('CREATE TABLE t (id int PRIMARY KEY)');
    await client.query('INSERT INTO t VALUES (1)');
    expect((await client.query('SELECT count(*)::int AS n FROM t')).rows).toEqual([{ n: 1 }]);
    await client.end();

    const status = await until('status caught up', async () => {
      const t = await api.get(crdbTenantPath(NS, 'acme'), crdbTenantSchema);
      return t.status?.readyReplicas === 1 && t.status;
    });
    expect(status).toMatchObject({ state: 'Running', replicas: 1, pods: [{ name: pod, state: 'running' }] });
    expect(await reasons('acme')).toContain('PodBound');
  });

  it('never binds one pod twice: two tenants reconciled at once racing for too few pods', async () => {
    await Promise.all([poolPod(), poolPod(), poolPod()]);
    await Promise.all([apply('globex', { replicas: 2 }), apply('initech', { replicas: 2 })]);
    await until('three pods bound', async () => {
      const bound = (await listPods()).filter((p) => p.metadata.labels?.['shoal.dev/state'] === 'running' && p.metadata.labels['shoal.dev/tenant'] !== 'acme');
      return bound.length === 3;
    });
    // What each pod says it serves matches its labels, and nobody got a fourth.
    const bound = (await listPods()).filter((p) => ['globex', 'initech'].includes(p.metadata.labels?.['shoal.dev/tenant'] ?? ''));
    expect(bound).toHaveLength(3);
    for (const p of bound) expect((await loadOf(p.metadata.name)).tenantName).toBe(p.metadata.labels?.['shoal.dev/tenant']);
    expect([...(await reasons('globex')), ...(await reasons('initech'))]).toContain('PoolEmpty');
    expect([...(await reasons('globex')), ...(await reasons('initech'))]).not.toContain('StampFailed');
    // A new pool pod completes the short tenant.
    await poolPod();
    await until('four pods bound', async () => (await podsOf('globex')).length + (await podsOf('initech')).length === 4);
  });

  it('deletes a pod whose stamp fails instead of offering it to anyone, and uses another', async () => {
    const broken = await poolPod();
    // Its process is gone, but its Pod object still says Ready (the kubelet has not noticed yet).
    await processes.get(broken)?.shutdown();
    const good = await poolPod();
    await apply('hooli', { replicas: 1 });
    await until('hooli running', async () => (await podsOf('hooli')).some((p) => p.metadata.name === good && p.metadata.labels?.['shoal.dev/state'] === 'running')).catch(async (e: unknown) => {
      console.log(JSON.stringify((await listPods()).map((p) => [p.metadata.name, p.metadata.labels]), null, 0));
      console.log(JSON.stringify((await api.list(`/api/v1/namespaces/${NS}/events`, z.object({ involvedObject: z.object({ name: z.string() }), reason: z.string(), message: z.string() }))).items.map((e) => [e.involvedObject.name, e.reason, e.message])));
      throw e;
    });
    await until('the broken pod deleted', async () => (await getPod(broken)) === undefined);
    expect(await reasons('hooli')).toEqual(expect.arrayContaining(['StampFailed', 'PodBound']));
  });
});

describe('stamping connections', () => {
  it('stamps over the connection it opened while the pod waited in the pool', async () => {
    // Each finished request to the pod: its path, and whether it went over a connection an earlier request had opened.
    const requests: [string, boolean][] = [];
    let control = '';
    const record = (message: unknown) => {
      const { request } = message as { request: { reusedSocket: boolean; path: string; getHeader(name: string): unknown } };
      if (request.getHeader('host') === control) requests.push([request.path, request.reusedSocket]);
    };
    subscribe('http.client.response.finish', record);
    try {
      const name = await poolPod();
      control = `127.0.0.1:${processes.get(name)?.addresses.control?.port ?? 0}`;
      await until('the connection opened while the pod is in the pool', () => Promise.resolve(requests.some(([path]) => path === '/readyz')));
      await apply('prewarmed', { replicas: 1 });
      await until('prewarmed running', async () => (await getPod(name))?.metadata.labels?.['shoal.dev/state'] === 'running');
      // The stamp went over the connection the one /readyz had opened; the pluck's own watch event opened no second one.
      expect(requests).toEqual([
        ['/readyz', false],
        ['/stamp', true],
      ]);
      expect(controllers[0]?.connections.size).toBe(0);
    } finally {
      unsubscribe('http.client.response.finish', record);
    }
  });
});

describe('scaling down and back up', () => {
  it('undrains a draining pod rather than plucking a new one, without ending its session', async () => {
    const [pod] = (await podsOf('acme')).map((p) => p.metadata.name);
    if (!pod) throw new Error('acme has no pod');
    const session = await connectTo(pod, 'acme');
    await scale('acme', 0);
    await until('acme draining', async () => (await getPod(pod))?.metadata.labels?.['shoal.dev/state'] === 'draining');
    // The label goes first (the proxy stops sending sessions), then the pod is told.
    await until('the pod itself draining', async () => (await loadOf(pod)).state === 'draining');
    await scale('acme', 1);
    await until('acme running again', async () => (await getPod(pod))?.metadata.labels?.['shoal.dev/state'] === 'running');
    expect((await loadOf(pod)).state).toBe('running');
    expect((await session.query('SELECT count(*)::int AS n FROM t')).rows).toEqual([{ n: 1 }]);
    expect((await podsOf('acme')).map((p) => p.metadata.name)).toEqual([pod]);
    expect(await reasons('acme')).toContain('PodUndrained');
    await session.end();
  });

  it('drains on scale-down and deletes the pod once its process has exited and been restarted', async () => {
    const [pod] = (await podsOf('acme')).map((p) => p.metadata.name);
    if (!pod) throw new Error('acme has no pod');
    await scale('acme', 0);
    // No session: the pod drains at once and its process exits.
    await processes.get(pod)?.exited;
    // The kubelet restarts the container (restartPolicy Always) and says so.
    await api.patch(`${podsPath}/${pod}/status`, { status: { containerStatuses: [{ name: 'sqlpod', restartCount: 1, ready: false, image: 'x', imageID: '', started: false, state: { running: {} } }] } }, 'application/merge-patch+json');
    await until('the drained pod deleted', async () => (await getPod(pod)) === undefined);
    const t = await until('acme suspended', async () => {
      const c = await api.get(crdbTenantPath(NS, 'acme'), crdbTenantSchema);
      return c.status?.state === 'Suspended' && c;
    });
    expect(t.status?.replicas).toBe(0);
  });
});

describe('recovery and deletion', () => {
  it('finishes a bind an operator died in the middle of: a pod plucked but not stamped gets stamped', async () => {
    const t = await api.get(crdbTenantPath(NS, 'hooli'), crdbTenantSchema);
    // As a dead operator left it: plucked (labels, owner) but never stamped.
    const name = await poolPod({ tenant: 'hooli', uid: t.metadata.uid ?? '' });
    await scale('hooli', 2);
    await until('the interrupted pod stamped and running', async () => (await getPod(name))?.metadata.labels?.['shoal.dev/state'] === 'running');
    expect((await loadOf(name)).tenantName).toBe('hooli');
  });

  it('deletes the pods of a deleted tenant before destroying its keyspace', async () => {
    const id = (await api.get(crdbTenantPath(NS, 'hooli'), crdbTenantSchema)).status?.tenantId;
    const pods = (await podsOf('hooli')).map((p) => p.metadata.name);
    expect(pods.length).toBeGreaterThan(0);
    await api.delete(crdbTenantPath(NS, 'hooli'));
    await until('hooli gone', () => api.get(crdbTenantPath(NS, 'hooli'), crdbTenantSchema).then(() => false, () => true));
    for (const p of pods) expect(await getPod(p)).toBeUndefined();
    expect((await admin.listTenants()).find((r) => r.tenantId === id)?.state).toBe('TENANT_STATE_DROPPED');
  });
});

describe('sqlPodResources', () => {
  const resourcesApplied = async (tenant: string) => (await api.get(crdbTenantPath(NS, tenant), crdbTenantSchema)).status?.conditions?.find((c) => c.type === 'ResourcesApplied');
  const sqlContainer = async (name: string) => (await getPod(name))?.spec?.containers.find((c) => c.name === 'sqlpod');

  it("resizes a bound pod in place to the tenant's resources, keeping what the spec leaves out, and follows a spec change", async () => {
    const name = await poolPod(undefined, { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } });
    await apply('sized', { replicas: 1, sqlPodResources: { requests: { cpu: '0.5' }, limits: { memory: '2Gi' } } });
    await until('sized running', async () => (await getPod(name))?.metadata.labels?.['shoal.dev/state'] === 'running');
    // The API server keeps quantities in canonical form: "0.5" reads back as "500m".
    await until('the pod resized', async () => (await sqlContainer(name))?.resources?.requests?.cpu === '500m');
    expect((await sqlContainer(name))?.resources).toEqual({ requests: { cpu: '500m', memory: '256Mi' }, limits: { memory: '2Gi' } });
    const applied = await until('ResourcesApplied', async () => {
      const c = await resourcesApplied('sized');
      return c?.status === 'True' && c;
    });
    expect(applied).toMatchObject({ reason: 'Applied', message: '1 pod(s) at requests cpu=0.5; limits memory=2Gi' });
    expect(await reasons('sized')).toContain('PodResized');

    await api.patch(crdbTenantPath(NS, 'sized'), { spec: { sqlPodResources: { requests: { cpu: '250m' } } } }, 'application/merge-patch+json');
    await until('the pod resized again', async () => (await sqlContainer(name))?.resources?.requests?.cpu === '250m');
    expect((await loadOf(name)).state).toBe('running');
  });

  it("keeps a pod serving with the pool's resources when the resize is refused, and says why in a condition and an Event", async () => {
    const name = await poolPod();
    await apply('unsizable', { replicas: 1, sqlPodResources: { requests: { cpu: '500m' } } });
    const refused = await until('ResizeRefused', async () => {
      const c = await resourcesApplied('unsizable');
      return c?.reason === 'ResizeRefused' && c;
    });
    expect(refused.status).toBe('False');
    expect(refused.message).toContain(`pod ${name} cannot be resized to requests cpu=500m`);
    expect(refused.message).toMatch(/QoS/i);
    expect(await reasons('unsizable')).toContain('ResizeRefused');
    expect((await sqlContainer(name))?.resources ?? {}).toEqual({});
    const session = await connectTo(name, 'unsizable');
    expect((await session.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await session.end();
    // Ready is about serving SQL, which the pod does.
    const t = await api.get(crdbTenantPath(NS, 'unsizable'), crdbTenantSchema);
    expect(t.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  });
});
