import { describe, expect, it } from 'vitest';
import type { SqlPodObject } from '../../shared/kube/sqlpod.js';
import type { PodLoad } from '../../shared/podctl/index.js';
import { CpuWindow, desiredReplicas, idleSince } from '../../shared/scaling/index.js';
import { acceptLoad, aggregate, observe, sampleTargets, scaleEventReason, scaleMessage, withReplicas, type PodReading, type TenantTrack } from './plan.js';

const S = 1_000;
const M = 60_000;
const NOW = 1_700_000_000_000;

function pod(name: string, state: string | undefined, ip: string | undefined, extra: { deleting?: boolean; opsPort?: number } = {}): SqlPodObject {
  return {
    metadata: {
      name,
      labels: { 'shoal.dev/component': 'sqlpod', 'shoal.dev/tenant': 'acme', ...(state ? { 'shoal.dev/state': state } : {}) },
      ...(extra.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}),
    },
    ...(extra.opsPort ? { spec: { containers: [{ name: 'sqlpod', ports: [{ name: 'ops', containerPort: extra.opsPort }] }] } } : {}),
    ...(ip ? { status: { podIP: ip } } : {}),
  };
}

const load = (cpuCores: number, sessions: number, tenantName: string | null = 'acme', state: PodLoad['state'] = 'running'): PodLoad => ({
  state,
  tenantId: tenantName === null ? null : 7,
  tenantName,
  sessions,
  cpuCores,
  windowMs: 1000,
});

describe('sampleTargets', () => {
  it.each([
    { name: 'a running pod is read on its ops port', pods: [pod('a', 'running', '10.0.0.1')], targets: [{ pod: 'a', address: '10.0.0.1:8080' }] },
    { name: 'a draining pod is read too: its sessions and CPU are still the tenant’s', pods: [pod('d', 'draining', '10.0.0.2')], targets: [{ pod: 'd', address: '10.0.0.2:8080' }] },
    { name: 'a stamping pod is not read yet', pods: [pod('s', 'stamping', '10.0.0.3')], targets: [] },
    { name: 'a pod without a state label counts as stamping', pods: [pod('s', undefined, '10.0.0.3')], targets: [] },
    { name: 'a pod being deleted counts as draining, even if its label says stamping', pods: [pod('x', 'stamping', '10.0.0.4', { deleting: true })], targets: [{ pod: 'x', address: '10.0.0.4:8080' }] },
    { name: 'a pod with no IP is a target without an address (an unanswered read)', pods: [pod('n', 'running', undefined)], targets: [{ pod: 'n', address: undefined }] },
    { name: 'a named ops port wins over the default', pods: [pod('p', 'running', 'fd00::1', { opsPort: 9090 })], targets: [{ pod: 'p', address: '[fd00::1]:9090' }] },
    {
      name: 'targets come sorted by name',
      pods: [pod('pod-b', 'running', '10.0.0.2'), pod('pod-a', 'draining', '10.0.0.1')],
      targets: [{ pod: 'pod-a', address: '10.0.0.1:8080' }, { pod: 'pod-b', address: '10.0.0.2:8080' }],
    },
    { name: 'no pods, no targets', pods: [], targets: [] },
  ])('$name', ({ pods, targets }) => {
    expect(sampleTargets(pods)).toEqual(targets);
  });
});

describe('acceptLoad', () => {
  it.each([
    { name: 'an answer from a pod serving the tenant counts', load: load(0.5, 2), accepted: true },
    { name: 'a draining pod of the tenant counts', load: load(0.5, 2, 'acme', 'draining'), accepted: true },
    { name: 'a pod that came back unbound (restarted) does not', load: load(0, 0, null, 'unbound'), accepted: false },
    { name: 'a pod serving another tenant (a reused IP) does not', load: load(3, 9, 'other'), accepted: false },
    { name: 'no answer is no answer', load: undefined, accepted: false },
  ])('$name', ({ load: l, accepted }) => {
    expect(acceptLoad(l, 'acme')).toBe(accepted ? l : undefined);
  });
});

describe('aggregate', () => {
  const r = (name: string, now?: PodLoad, previous?: PodLoad): PodReading => ({ pod: name, load: now, previous });
  it.each([
    { name: 'answers add up: CPU per pod, sessions in total', readings: [r('a', load(0.5, 2)), r('b', load(1.25, 3))], cpu: { a: 0.5, b: 1.25 }, sessions: 5 },
    { name: 'this round’s answer wins over the previous one', readings: [r('a', load(0.9, 1), load(0.1, 8))], cpu: { a: 0.9 }, sessions: 1 },
    {
      name: 'a pod that did not answer is null for the CPU window and keeps its last sessions',
      readings: [r('a', load(0.5, 0)), r('b', undefined, load(0.7, 4))],
      cpu: { a: 0.5, b: null },
      sessions: 4,
    },
    { name: 'a pod never read counts no session', readings: [r('a', undefined)], cpu: { a: null }, sessions: 0 },
    { name: 'a draining pod’s sessions and CPU count', readings: [r('a', load(0.2, 0)), r('d', load(0.4, 3, 'acme', 'draining'))], cpu: { a: 0.2, d: 0.4 }, sessions: 3 },
    { name: 'no pods: no CPU entries, no sessions', readings: [], cpu: {}, sessions: 0 },
  ])('$name', ({ readings, cpu, sessions }) => {
    expect(aggregate(readings)).toEqual({ cpu, sessions });
  });
});

describe('per-tenant bookkeeping', () => {
  const window = CpuWindow.empty().withSample({ at: NOW - 10 * S, pods: { a: 0.4 } });
  const track = (over: Partial<TenantTrack> = {}): TenantTrack => ({ uid: 'u1', replicas: 2, lastScaleAt: NOW - 30 * M, idleSince: NOW - 4 * M, cpu: window, ...over });
  const fresh = () => CpuWindow.empty();

  it('a tenant seen for the first time starts with no known change, no idle clock and an empty window', () => {
    const t = observe(undefined, { uid: 'u1', replicas: 3 }, NOW, fresh);
    expect(t).toMatchObject({ uid: 'u1', replicas: 3, lastScaleAt: null, idleSince: null });
    expect(t.cpu.size).toBe(0);
  });

  it('the same count again changes nothing, not even the time of the last change', () => {
    const before = track();
    expect(observe(before, { uid: 'u1', replicas: 2 }, NOW, fresh)).toBe(before);
  });

  it.each([
    { name: 'kubectl scales 2 → 3: the change is dated now, the idle clock and the window stay', from: 2, to: 3, idle: NOW - 4 * M },
    { name: 'kubectl scales 2 → 1: dated now as well', from: 2, to: 1, idle: NOW - 4 * M },
    { name: 'the proxy resumes 0 → 1: dated now, and the idle clock starts over', from: 0, to: 1, idle: null },
    { name: 'someone suspends 2 → 0: dated now, the idle clock stops', from: 2, to: 0, idle: null },
  ])('$name', ({ from, to, idle }) => {
    const t = observe(track({ replicas: from }), { uid: 'u1', replicas: to }, NOW, fresh);
    expect(t).toMatchObject({ replicas: to, lastScaleAt: NOW, idleSince: idle });
    expect(t.cpu).toBe(window);
  });

  it('a tenant deleted and created again under its name starts over', () => {
    const t = observe(track(), { uid: 'u2', replicas: 2 }, NOW, fresh);
    expect(t).toMatchObject({ uid: 'u2', lastScaleAt: null, idleSince: null });
    expect(t.cpu.size).toBe(0);
  });

  it('our own write is a change like any other: withReplicas dates it and stops the idle clock at zero', () => {
    expect(withReplicas(track({ replicas: 1 }), 0, NOW)).toMatchObject({ replicas: 0, lastScaleAt: NOW, idleSince: null });
    expect(withReplicas(track({ replicas: 1 }), 1, NOW)).toEqual(track({ replicas: 1 }));
  });

  it('a tenant the autoscaler suspended and the proxy resumed before the next tick gets a whole idle timeout', () => {
    const policy = { idleTimeoutMs: 5 * M };
    // Idle for 5 minutes at 1 pod: suspended at NOW.
    let t = track({ replicas: 1, idleSince: NOW - 5 * M });
    expect(desiredReplicas({ now: NOW, currentReplicas: 1, minReplicas: 0, maxReplicas: 8, cpu: undefined, sessions: 0, idleSince: t.idleSince, lastScaleAt: t.lastScaleAt, policy }).rule).toBe('idle');
    t = withReplicas(t, 0, NOW);
    // The proxy wrote 1 before the next tick, which sees 1 and no session yet.
    for (const at of [NOW + 10 * S, NOW + 2 * M, NOW + 5 * M]) {
      t = observe(t, { uid: 'u1', replicas: 1 }, at, fresh);
      t = { ...t, idleSince: idleSince({ previous: t.idleSince, sessions: 0, replicas: t.replicas, now: at }) };
      const d = desiredReplicas({ now: at, currentReplicas: 1, minReplicas: 0, maxReplicas: 8, cpu: undefined, sessions: 0, idleSince: t.idleSince, lastScaleAt: t.lastScaleAt, policy });
      expect(d.replicas, `at +${(at - NOW) / S}s`).toBe(1);
    }
    expect(t.lastScaleAt).toBe(NOW + 10 * S);
    const later = NOW + 10 * S + 5 * M;
    expect(desiredReplicas({ now: later, currentReplicas: 1, minReplicas: 0, maxReplicas: 8, cpu: undefined, sessions: 0, idleSince: t.idleSince, lastScaleAt: t.lastScaleAt, policy }).rule).toBe('idle');
  });
});

describe('Events', () => {
  it.each([
    { from: 2, to: 3, reason: 'ScaledUp', message: '2 → 3 pods: peak 2.4 cores' },
    { from: 0, to: 1, reason: 'ScaledUp', message: '0 → 1 pod: peak 2.4 cores' },
    { from: 3, to: 2, reason: 'ScaledDown', message: '3 → 2 pods: peak 2.4 cores' },
    { from: 1, to: 0, reason: 'Suspended', message: '1 → 0 pods: peak 2.4 cores' },
  ])('$from → $to is $reason', ({ from, to, reason, message }) => {
    expect(scaleEventReason(from, to)).toBe(reason);
    expect(scaleMessage(from, to, 'peak 2.4 cores')).toBe(message);
  });
});
