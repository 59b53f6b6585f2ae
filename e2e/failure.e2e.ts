// The operator under failure on a real cluster, against the real ReplicaSet
// controller and two operator replicas: tenants resuming at once never share
// a pod; losing the leader hands over to the standby; the leader SIGKILLed at
// random points while it binds and drains, then restarted by the kubelet,
// converges with nothing leaked and nothing bound twice.
import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { podLoadSchema, type PodLoad } from '../shared/podctl/index.js';
import { POOL_LABEL, TENANT_LABEL, isPodReady, restartsOf, type SqlPodObject } from '../shared/kube/sqlpod.js';
import { crdbTenantSchema, crdbTenantsPath } from '../shared/kube/crdbtenant.js';
import { NS, api, apply, closeSessions, condition, connect, keyspaces, kubectl, pods, podsOf, scale, stateOf, tenant, until } from './harness.js';

const LEASE = 'shoal-operator';
const POOL_SIZE = 2;
const STORM = ['storm-a', 'storm-b', 'storm-c'];

afterAll(closeSessions);

const leaseSchema = z.object({ spec: z.object({ holderIdentity: z.string().optional() }) });
const leader = async () => (await api().get(`/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${LEASE}`, leaseSchema)).spec.holderIdentity ?? '';
const OPERATOR = 'shoal.dev/component=operator';
const operatorPods = async () => (await pods(OPERATOR)).filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** PIDs on this host of an operator replica's process (found by its SHOAL_IDENTITY); none on kind, whose nodes are containers. */
function processesOf(replica: string): number[] {
  const marker = `SHOAL_IDENTITY=${replica}\0`;
  return readdirSync('/proc').flatMap((pid) => {
    if (!/^\d+$/.test(pid)) return [];
    try {
      return readFileSync(`/proc/${pid}/environ`, 'utf8').includes(marker) ? [Number(pid)] : [];
    } catch {
      return []; // gone meanwhile
    }
  });
}

/** The Lease holder once it is a live replica (a killed leader holds the Lease until it expires or its restart renews it). */
async function liveLeader(): Promise<string> {
  const onThisHost = (await operatorPods()).some((p) => processesOf(p).length > 0);
  return until(
    'a live leader',
    async () => {
      const holder = await leader();
      return (await operatorPods()).includes(holder) && (!onThisHost || processesOf(holder).length > 0) && holder;
    },
    120_000,
  );
}

/**
 * SIGKILL for a replica's process: no Lease release, no cleanup, whatever it
 * was doing cut off mid-way; the kubelet restarts it. On kind, where the
 * process is out of reach, a forced pod deletion.
 */
async function kill(replica: string): Promise<'sigkill' | 'forced-delete'> {
  const pids = processesOf(replica);
  if (pids.length === 0) {
    await kubectl('delete', 'pod', replica, '--grace-period=0', '--force', '--ignore-not-found');
    return 'forced-delete';
  }
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  return 'sigkill';
}

const operatorRestarts = async () => (await pods(OPERATOR)).reduce((n, p) => n + restartsOf(p), 0);

/**
 * Each tenant has exactly spec.replicas running pods, all ready, and reports
 * it Ready; the pool holds POOL_SIZE ready pods and nothing else: no pod still
 * starting or handed back to the pool, which would not answer for itself yet.
 */
async function settled(names: readonly string[]): Promise<boolean> {
  for (const name of names) {
    const t = await tenant(name);
    const want = t?.spec.replicas ?? -1;
    const mine = await podsOf(name);
    if (mine.length !== want || mine.some((p) => stateOf(p) !== 'running' || p.metadata.deletionTimestamp || !isPodReady(p))) return false;
    if (t?.status?.readyReplicas !== want || condition(t, 'Ready') !== 'True') return false;
  }
  const unbound = (await pods('shoal.dev/component=sqlpod')).filter((p) => !p.metadata.deletionTimestamp && p.metadata.labels?.[TENANT_LABEL] === undefined);
  return unbound.length === POOL_SIZE && unbound.every(isPodReady);
}

/** What a SQL pod itself says it serves, through the API server's pod proxy. */
const loadOf = async (pod: SqlPodObject): Promise<PodLoad | 'gone'> => {
  try {
    return await api().get(`/api/v1/namespaces/${NS}/pods/${pod.metadata.name}:8080/proxy/load`, podLoadSchema);
  } catch (e) {
    // Another tenant's pod may have begun draining (scale to zero) since the listing: it no longer serves, and says nothing.
    const now = (await pods('shoal.dev/component=sqlpod')).find((p) => p.metadata.uid === pod.metadata.uid);
    if (!now || now.metadata.deletionTimestamp || stateOf(now) === 'draining') return 'gone';
    throw new Error(`${pod.metadata.name} (ready ${isPodReady(now)}, restarts ${restartsOf(now)}, state ${stateOf(now) ?? 'unbound'}) does not answer: ${String(e)}`);
  }
};

/**
 * Every SQL pod is either a pool pod (the ReplicaSet's, unbound) or one
 * tenant's (that CrdbTenant its only controller, stamped for that tenant and
 * no other); no keyspace was made twice.
 */
async function expectNothingLeakedOrBoundTwice(): Promise<void> {
  const tenants = (await api().list(crdbTenantsPath(NS), crdbTenantSchema)).items;
  const byName = new Map(tenants.map((t) => [t.metadata.name, t]));
  for (const pod of await pods('shoal.dev/component=sqlpod')) {
    if (pod.metadata.deletionTimestamp) continue;
    const name = pod.metadata.name;
    const owners = (pod.metadata.ownerReferences ?? []).filter((o) => o.controller);
    const load = await loadOf(pod);
    if (load === 'gone') continue;
    const bound = pod.metadata.labels?.[TENANT_LABEL];
    if (bound === undefined) {
      expect(pod.metadata.labels?.[POOL_LABEL], `${name} is in neither the pool nor a tenant`).toBe('prewarmed');
      expect(owners.map((o) => o.kind), `${name}'s controller`).toEqual(['ReplicaSet']);
      expect(load.state, `${name} is a pool pod`).toBe('unbound');
      continue;
    }
    const t = byName.get(bound);
    expect(t, `${name} is bound to ${bound}, which does not exist`).toBeDefined();
    expect(pod.metadata.labels?.[POOL_LABEL], `${name} is bound and still in the pool`).toBeUndefined();
    expect(owners.map((o) => [o.kind, o.name, o.uid]), `${name}'s controller`).toEqual([['CrdbTenant', bound, t?.metadata.uid]]);
    expect([load.tenantName, load.tenantId], `${name} serves`).toEqual([bound, t?.status?.tenantId]);
  }
  const ids = tenants.map((t) => t.status?.tenantId);
  expect(new Set(ids).size, 'tenant IDs').toBe(tenants.length);
}

describe('the operator under failure', () => {
  let keyspacesBefore = 0;

  it('never binds one pod to two tenants when they resume at once against the ReplicaSet', async () => {
    keyspacesBefore = (await keyspaces()).active - (await api().list(crdbTenantsPath(NS), crdbTenantSchema)).items.length;
    for (const name of STORM) await apply(name, { idleTimeout: '0' });
    await until('the storm tenants Ready', async () => (await Promise.all(STORM.map(tenant))).every((t) => condition(t, 'Ready') === 'True'));
    // Six pods wanted at once from a pool of two: plucks race each other and the ReplicaSet's refills.
    await Promise.all(STORM.map((name) => scale(name, 2)));
    await until('two running pods for each storm tenant and a full pool', () => settled(STORM), 300_000);
    await expectNothingLeakedOrBoundTwice();
  });

  it('hands over to the standby replica when the leader goes away', async () => {
    const before = await until('a leader', async () => (await leader()) || undefined);
    expect(await operatorPods()).toContain(before);
    await kubectl('delete', 'pod', before, '--wait=false');
    const after = await until('a new leader', async () => {
      const now = await leader();
      return now !== '' && now !== before && now;
    });
    expect(after).not.toBe(before);
    // The new leader does the work: a scale-down is carried out.
    await scale('storm-c', 1);
    await until('storm-c at one pod', () => settled(['storm-c']), 120_000);
  });

  it('converges after the leader is killed at random points while binding and draining', async () => {
    // Each round changes every storm tenant's pod count, then kills whoever leads a random moment later.
    const rounds: readonly (readonly number[])[] = [
      [3, 0, 2],
      [1, 2, 0],
      [0, 3, 1],
      [2, 1, 3],
    ];
    const restartsBefore = await operatorRestarts();
    const kills: string[] = [];
    for (const counts of rounds) {
      const victim = await liveLeader();
      await Promise.all(STORM.map((name, i) => scale(name, counts[i] ?? 0)));
      await sleep(Math.floor(Math.random() * 1500));
      kills.push(await kill(victim));
    }
    if (kills.every((k) => k === 'sigkill')) {
      // Every kill was a SIGKILL on this host, each answered by the kubelet with a restart (after its crash-loop back-off).
      await until('the kubelet restarting every killed operator', async () => (await operatorRestarts()) - restartsBefore >= rounds.length, 180_000);
    }
    await until('every storm tenant at its pod count, with a full pool', () => settled(STORM), 300_000);
    await expectNothingLeakedOrBoundTwice();
    expect((await keyspaces()).active - (await api().list(crdbTenantsPath(NS), crdbTenantSchema)).items.length).toBe(keyspacesBefore);
    // And the tenants serve: a session through the proxy to each one with pods.
    for (const name of STORM) {
      const c = await connect(name);
      expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      await c.end();
    }
  });
});
