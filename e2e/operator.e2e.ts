// Shoal on a real cluster, as a user meets it: kubectl apply a CrdbTenant,
// connect with psql through the proxy Service, watch it resume, scale on load,
// drain and go away. e2e/global-setup.ts installs the chart.
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { crdbTenantPath } from '../shared/kube/crdbtenant.js';
import { secretSchema, tenantSecretName } from '../operator/tenants/secret.js';
import { NS, api, apply, closeSessions, condition, connect, keyspaces, pods, podsOf, runningPodsOf, scale, stateOf, tenant, until } from './harness.js';

afterAll(closeSessions);

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
      const pool = await pods('shoal.dev/pool=prewarmed');
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
    await api().delete(crdbTenantPath(NS, 'globex'));
    await until('globex gone', async () => (await tenant('globex')) === undefined);
    expect(await podsOf('globex')).toHaveLength(0);
    await expect(api().get(`/api/v1/namespaces/${NS}/secrets/${tenantSecretName('globex')}`, secretSchema)).rejects.toMatchObject({ status: 404 });
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

describe('keyspace retention', () => {
  it('keeps a retained keyspace: applied again, the tenant has its ID and its data back', async () => {
    const ready = (name: string) => until(`${name} Ready`, async () => condition(await tenant(name), 'Ready') === 'True');
    await apply('keeper', { keyspaceRetention: 'Retain' });
    await ready('keeper');
    const c = await connect('keeper');
    await c.query('CREATE TABLE ledger (id int PRIMARY KEY, note text)');
    await c.query("INSERT INTO ledger VALUES (1, 'kept')");
    await c.end();
    const id = (await tenant('keeper'))?.status?.tenantId;
    const before = await keyspaces();
    await api().delete(crdbTenantPath(NS, 'keeper'));
    await until('keeper gone', async () => (await tenant('keeper')) === undefined);
    expect(await keyspaces()).toEqual(before);
    // A new Secret (new password) for the adopted keyspace: the stamp makes it the admin's.
    await apply('keeper', { keyspaceRetention: 'Retain' });
    await ready('keeper');
    const again = await connect('keeper');
    expect((await tenant('keeper'))?.status?.tenantId).toBe(id);
    expect((await again.query('SELECT note FROM ledger')).rows).toEqual([{ note: 'kept' }]);
    await again.end();
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
    expect((await podsOf('surge')).filter((p) => stateOf(p) === 'draining')).toHaveLength(1);
    for (const c of sessions) expect((await c.query('SELECT count(*)::int AS n FROM ticks')).rows).toEqual([{ n: 1 }]);
    await Promise.all(sessions.map((c) => c.end()));
    await until('the drained pod deleted once its sessions ended', async () => (await podsOf('surge')).length === 1, 60_000);
  });
});

describe('spec.sqlPodResources', () => {
  // What the kubelet reports it has given the container, beside what the spec asks for.
  const resized = z.object({
    spec: z.object({ containers: z.array(z.object({ name: z.string(), resources: z.record(z.string(), z.record(z.string(), z.string())).optional() })) }),
    status: z.object({
      conditions: z.array(z.object({ type: z.string(), status: z.string(), reason: z.string().optional() })).optional(),
      containerStatuses: z.array(z.object({ name: z.string(), resources: z.record(z.string(), z.record(z.string(), z.string())).optional() })).optional(),
    }),
  });
  const podOf = async (name: string) => {
    const [pod] = await runningPodsOf(name);
    if (!pod) throw new Error(`${name} has no running pod`);
    return api().get(`/api/v1/namespaces/${NS}/pods/${pod.metadata.name}`, resized);
  };

  it("resizes the tenant's bound pod in place, and the kubelet gives the container those resources", async () => {
    // The pool's Burstable requests (100m, 256Mi; limit 1Gi) become the tenant's.
    await apply('sized', { sqlPodResources: { requests: { cpu: '150m', memory: '320Mi' }, limits: { memory: '1536Mi' } } });
    const c = await connect('sized');
    const pod = await until('the kubelet actuated the resize', async () => {
      const p = await podOf('sized');
      const actual = p.status.containerStatuses?.find((s) => s.name === 'sqlpod')?.resources;
      return actual?.requests?.cpu === '150m' && actual.limits?.memory === '1536Mi' && p;
    });
    expect(pod.spec.containers.find((x) => x.name === 'sqlpod')?.resources).toEqual({ requests: { cpu: '150m', memory: '320Mi' }, limits: { memory: '1536Mi' } });
    const applied = await until('ResourcesApplied', async () => {
      const t = await tenant('sized');
      return condition(t, 'ResourcesApplied') === 'True' && t;
    });
    expect(applied.status?.conditions?.find((x) => x.type === 'ResourcesApplied')?.reason).toBe('Applied');
    // Resized in place: the same session, the same container.
    expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await c.end();
  });

  it('says so in a condition when the node cannot fit the resources, and the pod keeps serving', async () => {
    await apply('oversized', { sqlPodResources: { requests: { cpu: '64' } } });
    const c = await connect('oversized');
    const t = await until('ResizeInfeasible', async () => {
      const x = await tenant('oversized');
      return x?.status?.conditions?.find((k) => k.type === 'ResourcesApplied' && k.reason === 'ResizeInfeasible') && x;
    });
    expect(condition(t, 'ResourcesApplied')).toBe('False');
    expect(condition(t, 'Ready')).toBe('True');
    expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await c.end();
    await api().delete(crdbTenantPath(NS, 'oversized'));
  });
});
