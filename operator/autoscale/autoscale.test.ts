// The autoscaler against a real API server (etcd + kube-apiserver v1.33): the
// CrdbTenants and labelled SQL pods are real objects, spec.replicas is written
// through the real scale subresource with its optimistic concurrency, and the
// Events land in the API. The pods' /load answers are scripted per ops address
// and the clock is the test's, so five-minute windows pass in one tick each.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { KubeApi} from '../../shared/kube/api.js';
import { KubeApiError } from '../../shared/kube/api.js';
import { crdbTenantPath, crdbTenantSchema, crdbTenantsPath, type CrdbTenant } from '../../shared/kube/crdbtenant.js';
import { TENANT_LABEL, sqlPodSchema, type SqlPodObject } from '../../shared/kube/sqlpod.js';
import { createLogger } from '../../shared/log/index.js';
import type { PodLoad } from '../../shared/podctl/index.js';
import type { ReplicaDecision } from '../../shared/scaling/index.js';
import { startShoalApiServer, type TestApiServer } from '../../shared/testing/kube-apiserver.js';
import { until } from '../../shared/testing/until.js';
import { EventRecorder } from '../kube/events.js';
import { Autoscaler, type AutoscalerDeps } from './index.js';

const NS = 'shoal';
const S = 1_000;
const M = 60_000;
const T0 = 1_700_000_000_000;
const podsPath = `/api/v1/namespaces/${NS}/pods`;
const log = createLogger('operator', 'silent');

let server: TestApiServer;
let api: KubeApi;
let events: EventRecorder;

/** The informers' view, refreshed by the test before each tick (so a test can also hold it stale on purpose). */
const view: { tenants: CrdbTenant[]; pods: SqlPodObject[] } = { tenants: [], pods: [] };
/** Scripted /load answers by ops address; an Error is a pod that does not answer. */
const answers = new Map<string, PodLoad | Error>();

async function refresh(): Promise<void> {
  view.tenants = (await api.list(crdbTenantsPath(NS), crdbTenantSchema)).items;
  view.pods = (await api.list(podsPath, sqlPodSchema, { labelSelector: 'shoal.dev/component=sqlpod' })).items;
}

async function readLoad(address: string): Promise<PodLoad> {
  const answer = answers.get(address);
  if (answer === undefined) throw new Error(`connect ECONNREFUSED ${address}`);
  if (answer instanceof Error) throw answer;
  return Promise.resolve(answer);
}

async function tenant(name: string, spec: Record<string, unknown>): Promise<void> {
  await api.create(crdbTenantsPath(NS), { apiVersion: 'shoal.dev/v1alpha1', kind: 'CrdbTenant', metadata: { name }, spec });
}

/** A bound SQL pod as the converger leaves it; with an IP (written as a kubelet would) unless `ip` is undefined. */
async function sqlPod(name: string, tenantName: string, ip: string | undefined, state = 'running'): Promise<void> {
  await api.create(podsPath, {
    metadata: { name, labels: { 'shoal.dev/component': 'sqlpod', 'shoal.dev/tenant': tenantName, 'shoal.dev/state': state } },
    spec: { containers: [{ name: 'sqlpod', image: 'localhost/shoal/shoal:0.1.0' }] },
  });
  if (ip) await api.patch(`${podsPath}/${name}/status`, { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } }, 'application/merge-patch+json');
}

/** What the pod at `ip` answers on /load from now on. */
function answer(ip: string, tenantName: string, cpuCores: number, sessions: number): PodLoad {
  const load: PodLoad = { state: 'running', tenantId: 7, tenantName, sessions, cpuCores, windowMs: 1000 };
  answers.set(`${ip}:8080`, load);
  return load;
}

const replicasOf = async (name: string) => (await api.get(crdbTenantPath(NS, name), crdbTenantSchema)).spec.replicas;

/** How the proxy resumes: GET the Scale, PUT it back with replicas 1 and the resourceVersion read. */
async function proxyResume(name: string): Promise<void> {
  const path = `${crdbTenantPath(NS, name)}/scale`;
  const scale = await api.get(path, z.looseObject({ spec: z.looseObject({ replicas: z.number().optional() }) }));
  await api.replace(path, { ...scale, spec: { ...scale.spec, replicas: 1 } });
}

const eventSchema = z.object({ involvedObject: z.object({ kind: z.string(), name: z.string() }), reason: z.string(), type: z.string(), message: z.string(), count: z.number().optional() });
const eventsOf = async (name: string) => (await api.list(`/api/v1/namespaces/${NS}/events`, eventSchema)).items.filter((e) => e.involvedObject.name === name);


const eventWith = (name: string, reason: string, count = 1) =>
  until(`${reason} Event of ${name}`, async () => (await eventsOf(name)).find((e) => e.reason === reason && (e.count ?? 1) >= count));

/** An autoscaler over some tenants only (the namespace is shared by the tests), on the test's clock. */
function harness(names: readonly string[], deps: Partial<AutoscalerDeps> = {}) {
  let clock = T0;
  const decisions: { tenant: string; at: number; decision: ReplicaDecision }[] = [];
  const autoscaler = new Autoscaler({
    api,
    namespace: NS,
    tenants: () => view.tenants.filter((t) => names.includes(t.metadata.name)),
    podsOf: (t) => view.pods.filter((p) => p.metadata.labels?.[TENANT_LABEL] === t),
    sampleIntervalMs: 10 * S,
    readLoad,
    events,
    log,
    now: () => clock,
    onDecision: (tenant, decision) => decisions.push({ tenant, at: clock, decision }),
    ...deps,
  });
  const h = {
    autoscaler,
    decisions,
    get now() {
      return clock;
    },
    /** Moves the clock on and runs one tick on a fresh view. */
    async tick(stepMs = 10 * S): Promise<void> {
      clock += stepMs;
      await refresh();
      await autoscaler.tick();
    },
    /** Ticks until the clock reaches `at` (inclusive). */
    async tickUntil(at: number, stepMs = 10 * S): Promise<void> {
      while (clock + stepMs <= at) await h.tick(stepMs);
    },
    lastDecision: (tenant: string) => decisions.filter((d) => d.tenant === tenant).at(-1)?.decision,
  };
  return h;
}

beforeAll(async () => {
  ({ server, api } = await startShoalApiServer(NS));
  events = new EventRecorder(api, 'shoal-operator', 'test', log);
}, 180_000);

afterAll(async () => {
  await server?.stop();
});

describe('Autoscaler on a real API server', () => {
  it('scales up through /scale at once when the 5-minute peak goes over the target, with a ScaledUp Event', async () => {
    await tenant('up', { replicas: 1 });
    await sqlPod('up-0', 'up', '10.1.0.1');
    const load = answer('10.1.0.1', 'up', 0.3, 2);
    const h = harness(['up']);
    await h.tickUntil(T0 + 60 * S);
    expect(h.lastDecision('up')?.rule).toBe('steady');
    expect(await replicasOf('up')).toBe(1);
    expect(h.autoscaler.loadOf('up-0')).toEqual(load);

    answer('10.1.0.1', 'up', 2.4, 2);
    await h.tick();
    expect(await replicasOf('up')).toBe(3);
    const e = await eventWith('up', 'ScaledUp');
    expect(e).toMatchObject({ type: 'Normal', involvedObject: { kind: 'CrdbTenant' }, message: '1 → 3 pods: peak 2.4 cores over 0.9 per pod: 3 pods' });
    expect(h.lastDecision('up')).toMatchObject({ replicas: 3, rule: 'scale-up' });
  });

  it('scales down only once the stabilization window after the last change has passed, with a ScaledDown Event', async () => {
    await tenant('down', { replicas: 2 });
    await sqlPod('down-0', 'down', '10.2.0.1');
    await sqlPod('down-1', 'down', '10.2.0.2');
    answer('10.2.0.1', 'down', 0.75, 1);
    answer('10.2.0.2', 'down', 0.75, 1);
    const h = harness(['down'], { cpuWindowMs: 1 * M });
    await h.tick();
    const scaledUpAt = h.now;
    expect(await replicasOf('down')).toBe(3);
    expect((await eventWith('down', 'ScaledUp')).message).toBe('2 → 3 pods: average 1.5 cores over 0.6 per pod: 3 pods');

    // The converger adds the third pod; the load falls to 0.3 cores in all.
    await sqlPod('down-2', 'down', '10.2.0.3');
    for (const ip of ['10.2.0.1', '10.2.0.2', '10.2.0.3']) answer(ip, 'down', 0.1, 1);
    // A minute later the window shows only the low load, but the last change is younger than 5 minutes.
    await h.tickUntil(scaledUpAt + 5 * M - 10 * S);
    expect(await replicasOf('down')).toBe(3);
    expect(h.lastDecision('down')).toMatchObject({ replicas: 3, rule: 'scale-down-held' });
    expect(h.lastDecision('down')?.reason).toContain('stabilization 5m');

    await h.tick();
    expect(h.now).toBe(scaledUpAt + 5 * M);
    expect(await replicasOf('down')).toBe(1);
    expect((await eventWith('down', 'ScaledDown')).message).toBe('3 → 1 pod: average 0.3 and peak 0.3 cores fit 1 pod at 0.6 / 0.9 per pod');
  });

  it('restarts the stabilization window when another writer changes the count (kubectl scale)', async () => {
    await tenant('manual', { replicas: 1 });
    await sqlPod('manual-0', 'manual', '10.2.1.1');
    answer('10.2.1.1', 'manual', 0.1, 1);
    const h = harness(['manual'], { cpuWindowMs: 1 * M });
    // Long enough for a fully covered window: a scale-down would not wait for history.
    await h.tickUntil(T0 + 2 * M);
    expect(h.lastDecision('manual')?.rule).toBe('steady');

    await api.patch(crdbTenantPath(NS, 'manual'), { spec: { replicas: 4 } }, 'application/merge-patch+json');
    await h.tick();
    const changeSeenAt = h.now;
    await h.tickUntil(changeSeenAt + 5 * M - 10 * S);
    expect(await replicasOf('manual')).toBe(4);
    expect(h.lastDecision('manual')?.reason).toContain('last change 4m50s ago, stabilization 5m');

    await h.tick();
    expect(await replicasOf('manual')).toBe(1);
    expect((await eventWith('manual', 'ScaledDown')).message).toBe('4 → 1 pod: average 0.1 and peak 0.1 cores fit 1 pod at 0.6 / 0.9 per pod');
  });

  it('suspends a tenant with no session for its idle timeout; idleTimeout "0" never suspends', async () => {
    await tenant('idle', { replicas: 1 });
    await tenant('never', { replicas: 1, idleTimeout: '0' });
    await sqlPod('idle-0', 'idle', '10.3.0.1');
    await sqlPod('never-0', 'never', '10.3.0.2');
    answer('10.3.0.1', 'idle', 0.05, 0);
    answer('10.3.0.2', 'never', 0.05, 0);
    const h = harness(['idle', 'never']);
    await h.tick();
    const idleFrom = h.now;
    await h.tickUntil(idleFrom + 5 * M - 10 * S);
    expect(await replicasOf('idle')).toBe(1);

    await h.tick();
    expect(await replicasOf('idle')).toBe(0);
    expect((await eventWith('idle', 'Suspended')).message).toBe('1 → 0 pods: no session for 5m (idle timeout 5m)');

    await h.tickUntil(idleFrom + 60 * M, M);
    expect(await replicasOf('never')).toBe(1);
    expect(h.lastDecision('never')?.rule).toBe('steady');
    expect(await eventsOf('never')).toEqual([]);
  });

  it('does not suspend again a tenant another writer resumed before its idle timeout has passed anew', async () => {
    await tenant('resume', { replicas: 1 });
    await sqlPod('resume-0', 'resume', '10.4.0.1');
    answer('10.4.0.1', 'resume', 0.05, 0);
    const h = harness(['resume']);
    await h.tickUntil(T0 + 5 * M + 10 * S);
    expect(await replicasOf('resume')).toBe(0);
    await eventWith('resume', 'Suspended');

    // Before the next tick: the drained pod goes, a client connects and the proxy
    // resumes the tenant, and the converger binds a pod the client has no session on yet.
    await api.delete(`${podsPath}/resume-0?gracePeriodSeconds=0`);
    await proxyResume('resume');
    await sqlPod('resume-1', 'resume', '10.4.0.2');
    answer('10.4.0.2', 'resume', 0.05, 0);
    await h.tick();
    const resumeSeenAt = h.now;
    await h.tickUntil(resumeSeenAt + 5 * M - 10 * S);
    expect(await replicasOf('resume')).toBe(1);
    expect(h.decisions.filter((d) => d.at >= resumeSeenAt).every((d) => d.decision.replicas === 1)).toBe(true);
    expect((await eventsOf('resume')).find((e) => e.reason === 'Suspended')?.count ?? 1).toBe(1);

    // A whole idle timeout after the resume was seen, still without a session: suspended again.
    await h.tick();
    expect(await replicasOf('resume')).toBe(0);
    await eventWith('resume', 'Suspended', 2);
  });

  it('keeps the count within minReplicas and maxReplicas', async () => {
    await tenant('bounded', { replicas: 0, minReplicas: 2, maxReplicas: 3 });
    const h = harness(['bounded']);
    await h.tick();
    expect(await replicasOf('bounded')).toBe(2);
    expect((await eventWith('bounded', 'ScaledUp')).message).toBe('0 → 2 pods: suspended with no session: the next connection resumes it; raised to minReplicas 2');

    await sqlPod('bounded-0', 'bounded', '10.5.0.1');
    await sqlPod('bounded-1', 'bounded', '10.5.0.2');
    answer('10.5.0.1', 'bounded', 2, 1);
    answer('10.5.0.2', 'bounded', 2, 1);
    await h.tick();
    expect(await replicasOf('bounded')).toBe(3);
    expect((await eventsOf('bounded')).map((e) => e.message)).toContain('2 → 3 pods: peak 4 cores over 0.9 per pod: 5 pods; capped at maxReplicas 3');

    // Idle long enough to suspend, were it not for minReplicas.
    await sqlPod('bounded-2', 'bounded', '10.5.0.3');
    for (const ip of ['10.5.0.1', '10.5.0.2', '10.5.0.3']) answer(ip, 'bounded', 0, 0);
    await h.tickUntil(h.now + 20 * M, 30 * S);
    expect(await replicasOf('bounded')).toBe(2);
    expect((await eventWith('bounded', 'ScaledDown')).message).toMatch(/^3 → 2 pods: .*; raised to minReplicas 2$/);
    expect(h.decisions.every((d) => d.decision.replicas >= 2 && d.decision.replicas <= 3)).toBe(true);
    expect((await eventsOf('bounded')).some((e) => e.reason === 'Suspended')).toBe(false);
  });

  it('never overwrites a count another writer set between its GET and its PUT of the Scale', async () => {
    await tenant('race', { replicas: 1 });
    await sqlPod('race-0', 'race', '10.6.0.1');
    answer('10.6.0.1', 'race', 2.4, 3);
    // Another writer bumps the count right after the autoscaler read the Scale.
    let racing = true;
    const refused: unknown[] = [];
    const racy = Object.create(api) as KubeApi;
    racy.get = async <T>(path: string, schema: z.ZodType<T>): Promise<T> => {
      const got = await api.get(path, schema);
      if (racing && path.endsWith('/scale')) await api.patch(crdbTenantPath(NS, 'race'), { spec: { replicas: 5 } }, 'application/merge-patch+json');
      return got;
    };
    racy.replace = async (path: string, body: unknown): Promise<unknown> => {
      try {
        return await api.replace(path, body);
      } catch (err) {
        refused.push(err);
        throw err;
      }
    };
    const h = harness(['race'], { api: racy });
    await h.tick();
    expect(h.lastDecision('race')).toMatchObject({ replicas: 4, rule: 'scale-up' });
    expect(refused).toEqual([expect.objectContaining({ status: 409, reason: 'Conflict' })]);
    expect(refused[0]).toBeInstanceOf(KubeApiError);
    expect(await replicasOf('race')).toBe(5);

    // Next round: 5 is the count now, and a scale-down from it waits for the stabilization window.
    racing = false;
    await h.tick();
    expect(await replicasOf('race')).toBe(5);
    expect(h.lastDecision('race')?.rule).toBe('scale-down-held');
    expect(await eventsOf('race')).toEqual([]);
  });

  it('does not write a count decided from a stale view over a newer one (kubectl scaled meanwhile)', async () => {
    await tenant('stale', { replicas: 1 });
    await sqlPod('stale-0', 'stale', '10.6.1.1');
    answer('10.6.1.1', 'stale', 2.4, 3);
    const h = harness(['stale']);
    await refresh();
    // The informer still shows 1 when the tick runs; the API already says 6.
    await api.patch(crdbTenantPath(NS, 'stale'), { spec: { replicas: 6 } }, 'application/merge-patch+json');
    await h.autoscaler.tick();
    expect(h.lastDecision('stale')?.replicas).toBe(4);
    expect(await replicasOf('stale')).toBe(6);
    expect(await eventsOf('stale')).toEqual([]);
  });

  it('skips a pod whose /load fails and still decides for it and for the other tenants in the same tick', async () => {
    await tenant('flaky', { replicas: 2 });
    await tenant('hung', { replicas: 1 });
    await sqlPod('flaky-0', 'flaky', '10.7.0.1');
    await sqlPod('flaky-1', 'flaky', '10.7.0.2');
    await sqlPod('flaky-2', 'flaky', undefined, 'draining');
    await sqlPod('hung-0', 'hung', '10.7.1.1');
    const load = answer('10.7.0.1', 'flaky', 1.6, 1);
    answers.set('10.7.0.2:8080', new Error('connect ECONNREFUSED 10.7.0.2:8080'));
    answers.set('10.7.1.1:8080', new Error('timed out after 1000 ms'));
    const h = harness(['flaky', 'hung']);
    await h.tick();
    expect(await replicasOf('flaky')).toBe(3);
    expect((await eventWith('flaky', 'ScaledUp')).message).toBe('2 → 3 pods: average 1.6 cores over 0.6 per pod: 3 pods');
    expect(h.lastDecision('hung')).toMatchObject({ replicas: 1, rule: 'steady' });
    expect(h.autoscaler.loadOf('flaky-0')).toEqual(load);
    expect(h.autoscaler.loadOf('flaky-1')).toBeUndefined();

    // A pod that has gone is forgotten.
    await api.delete(`${podsPath}/flaky-0?gracePeriodSeconds=0`);
    await h.tick();
    expect(h.autoscaler.loadOf('flaky-0')).toBeUndefined();
  });

  it('ticks on its timer without overlapping, survives a failing view, and stop() waits for the tick in flight', async () => {
    await tenant('timer', { replicas: 1 });
    await sqlPod('timer-0', 'timer', '10.8.0.1');
    await refresh();
    let reads = 0;
    let inRead = 0;
    let overlapped = false;
    let calls = 0;
    const h = harness(['timer'], {
      sampleIntervalMs: 20,
      now: Date.now,
      tenants: () => {
        if (++calls === 2) throw new Error('informer exploded');
        return view.tenants.filter((t) => t.metadata.name === 'timer');
      },
      readLoad: async () => {
        if (++inRead > 1) overlapped = true;
        await new Promise((r) => setTimeout(r, 60));
        inRead--;
        reads++;
        return { state: 'running', tenantId: 7, tenantName: 'timer', sessions: 1, cpuCores: 0.1, windowMs: 1000 };
      },
    });
    h.autoscaler.start();
    await until('three reads', () => Promise.resolve(reads >= 3));
    await h.autoscaler.stop();
    const after = reads;
    expect(inRead).toBe(0);
    await new Promise((r) => setTimeout(r, 150));
    expect(reads).toBe(after);
    expect(overlapped).toBe(false);
    expect(calls).toBeGreaterThan(2);
    expect(await replicasOf('timer')).toBe(1);
  });
});
