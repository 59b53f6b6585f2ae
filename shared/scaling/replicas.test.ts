import { describe, expect, it } from 'vitest';
import { CpuWindow, type CpuStats } from './cpu-window.js';
import { DEFAULT_SCALING_POLICY, desiredReplicas, idleSince, type ReplicaInput, type ScaleRule } from './replicas.js';

const S = 1_000;
const M = 60_000;
const NOW = 1_700_000_000_000;

const cpu = (average: number, peak: number, coverage = 1): CpuStats => ({ average, peak, coverage });

// One pod, light load, one open session, never scaled: every row changes only what it is about.
const base: ReplicaInput = {
  now: NOW,
  currentReplicas: 1,
  minReplicas: 0,
  maxReplicas: 10,
  cpu: cpu(0.3, 0.5),
  sessions: 1,
  idleSince: null,
  lastScaleAt: null,
};

interface Case {
  name: string;
  input: Partial<ReplicaInput>;
  replicas: number;
  rule: ScaleRule;
  reason?: string;
}

const cases: Case[] = [
  // Scaling up: at once, on the peak or the average, whatever the history.
  {
    name: 'one pod at a light load stays at one',
    input: {},
    replicas: 1,
    rule: 'steady',
    reason: 'average 0.3 and peak 0.5 cores fit 1 pod at 0.6 / 0.9 per pod',
  },
  {
    name: 'a spike to 2.4 cores scales up at once: 2.4 over 0.9 per pod needs 3 pods',
    input: { cpu: cpu(0.4, 2.4) },
    replicas: 3,
    rule: 'scale-up',
    reason: 'peak 2.4 cores over 0.9 per pod: 3 pods',
  },
  {
    name: 'a sustained average scales up even when the peak alone would not',
    input: { currentReplicas: 2, cpu: cpu(1.5, 1.7) },
    replicas: 3,
    rule: 'scale-up',
    reason: 'average 1.5 cores over 0.6 per pod: 3 pods',
  },
  {
    name: 'a scale-up does not wait for the stabilization window',
    input: { cpu: cpu(0.4, 2.4), lastScaleAt: NOW - 10 * S },
    replicas: 3,
    rule: 'scale-up',
  },
  {
    name: 'a scale-up does not wait for a long history',
    input: { cpu: cpu(2.4, 2.4, 0.03) },
    replicas: 4,
    rule: 'scale-up',
  },
  {
    name: 'load exactly at both targets does not buy an extra pod',
    input: { currentReplicas: 3, cpu: cpu(1.8, 2.7) },
    replicas: 3,
    rule: 'steady',
  },
  {
    name: 'a hair over the average target buys one more pod',
    input: { currentReplicas: 3, cpu: cpu(1.81, 2.7) },
    replicas: 4,
    rule: 'scale-up',
  },
  {
    name: 'custom targets change the arithmetic: 2.4 cores at 1.2 per pod need 2 pods',
    input: { cpu: cpu(0.4, 2.4), policy: { targetPeakCpuPerPod: 1.2 } },
    replicas: 2,
    rule: 'scale-up',
    reason: 'peak 2.4 cores over 1.2 per pod: 2 pods',
  },

  // Scaling down: both signals must allow it, after the stabilization window, on enough history.
  {
    name: 'calm load scales three pods down to one once the last change is old enough',
    input: { currentReplicas: 3, cpu: cpu(0.5, 0.8), lastScaleAt: NOW - 6 * M },
    replicas: 1,
    rule: 'scale-down',
    reason: 'average 0.5 and peak 0.8 cores fit 1 pod at 0.6 / 0.9 per pod',
  },
  {
    name: 'a tenant never scaled before may scale down',
    input: { currentReplicas: 3, cpu: cpu(0.5, 0.8) },
    replicas: 1,
    rule: 'scale-down',
  },
  {
    name: 'the peak holds a scale-down that the average alone would allow',
    input: { currentReplicas: 3, cpu: cpu(0.5, 2.0) },
    replicas: 3,
    rule: 'steady',
  },
  {
    name: 'the average holds a scale-down that the peak alone would allow',
    input: { currentReplicas: 3, cpu: cpu(1.5, 1.6) },
    replicas: 3,
    rule: 'steady',
  },
  {
    name: 'a scale-down goes as far as both signals allow: the peak keeps 2 of 4 pods',
    input: { currentReplicas: 4, cpu: cpu(0.5, 1.7) },
    replicas: 2,
    rule: 'scale-down',
  },
  {
    name: 'a scale-down waits while the last change is younger than the stabilization window',
    input: { currentReplicas: 3, cpu: cpu(0.5, 0.8), lastScaleAt: NOW - 4 * M },
    replicas: 3,
    rule: 'scale-down-held',
    reason: 'average 0.5 and peak 0.8 cores fit 1 pod at 0.6 / 0.9 per pod; scale-down held: last change 4m ago, stabilization 5m',
  },
  {
    name: 'a scale-down may happen exactly when the stabilization window ends',
    input: { currentReplicas: 3, cpu: cpu(0.5, 0.8), lastScaleAt: NOW - 5 * M },
    replicas: 1,
    rule: 'scale-down',
  },
  {
    name: 'a scale-down waits while samples cover too little of the window (a gap, or a restarted operator)',
    input: { currentReplicas: 3, cpu: cpu(0.5, 0.8, 0.5) },
    replicas: 3,
    rule: 'scale-down-held',
    reason: 'average 0.5 and peak 0.8 cores fit 1 pod at 0.6 / 0.9 per pod; scale-down held: samples cover 50% of the window, need 80%',
  },
  {
    name: 'a stabilization window of 0 lets a scale-down follow a change at once',
    input: { currentReplicas: 3, cpu: cpu(0.5, 0.8), lastScaleAt: NOW, policy: { scaleDownStabilizationMs: 0 } },
    replicas: 1,
    rule: 'scale-down',
  },
  {
    name: 'a tenant with sessions and no CPU keeps one pod',
    input: { currentReplicas: 2, cpu: cpu(0, 0), sessions: 3 },
    replicas: 1,
    rule: 'scale-down',
    reason: 'average 0 and peak 0 cores fit 0 pods at 0.6 / 0.9 per pod; 3 open sessions keep 1 pod',
  },
  {
    name: 'a tenant without sessions keeps one pod until the idle timeout',
    input: { currentReplicas: 2, cpu: cpu(0, 0), sessions: 0, idleSince: NOW - 1 * M },
    replicas: 1,
    rule: 'scale-down',
    reason: 'average 0 and peak 0 cores fit 0 pods at 0.6 / 0.9 per pod; 1 pod until no session for 5m',
  },

  // Idle: no session for the idle timeout → zero (or minReplicas).
  {
    name: 'no session for the idle timeout scales to zero, whatever the CPU',
    input: { currentReplicas: 2, cpu: cpu(0.1, 1.5), sessions: 0, idleSince: NOW - 5 * M },
    replicas: 0,
    rule: 'idle',
    reason: 'no session for 5m (idle timeout 5m)',
  },
  {
    name: 'one second short of the idle timeout keeps the pod',
    input: { cpu: cpu(0, 0), sessions: 0, idleSince: NOW - 5 * M + S },
    replicas: 1,
    rule: 'steady',
  },
  {
    name: 'idle scale-to-zero does not wait for the stabilization window',
    input: { currentReplicas: 2, sessions: 0, idleSince: NOW - 7 * M, lastScaleAt: NOW - 10 * S },
    replicas: 0,
    rule: 'idle',
  },
  {
    name: 'an idle tenant with minReplicas 1 goes to one pod, not zero',
    input: { currentReplicas: 3, minReplicas: 1, sessions: 0, idleSince: NOW - 6 * M },
    replicas: 1,
    rule: 'min-replicas',
    reason: 'no session for 6m (idle timeout 5m); raised to minReplicas 1',
  },
  {
    name: 'idle timeout 0 means never: a day without sessions keeps one pod',
    input: { cpu: cpu(0, 0), sessions: 0, idleSince: NOW - 24 * 60 * M, policy: { idleTimeoutMs: 0 } },
    replicas: 1,
    rule: 'steady',
    reason: 'average 0 and peak 0 cores fit 0 pods at 0.6 / 0.9 per pod; 1 pod (idle timeout off)',
  },
  {
    name: 'a custom idle timeout of one minute scales to zero after one minute',
    input: { sessions: 0, idleSince: NOW - 1 * M, policy: { idleTimeoutMs: M } },
    replicas: 0,
    rule: 'idle',
    reason: 'no session for 1m (idle timeout 1m)',
  },
  {
    name: 'a tenant with a session never goes to zero, even with a stale idle start',
    input: { cpu: cpu(0, 0), sessions: 1, idleSince: NOW - 60 * M },
    replicas: 1,
    rule: 'steady',
  },
  {
    name: 'a tenant without sessions but with no known idle start is not idle',
    input: { cpu: cpu(0, 0), sessions: 0, idleSince: null },
    replicas: 1,
    rule: 'steady',
  },

  // Suspended: only a connection brings a tenant back from zero.
  {
    name: 'a suspended tenant stays at zero even with old load still in the window',
    input: { currentReplicas: 0, cpu: cpu(1.2, 2.4), sessions: 0 },
    replicas: 0,
    rule: 'suspended',
  },
  {
    name: 'a suspended tenant with minReplicas 2 is brought up to 2',
    input: { currentReplicas: 0, minReplicas: 2, cpu: undefined, sessions: 0 },
    replicas: 2,
    rule: 'min-replicas',
  },
  {
    name: 'sessions still open on draining pods of a tenant scaled to zero bring one pod back',
    input: { currentReplicas: 0, cpu: cpu(0.1, 0.2), sessions: 2 },
    replicas: 1,
    rule: 'scale-up',
    reason: 'peak 0.2 cores over 0.9 per pod: 1 pod',
  },
  {
    name: 'open sessions bring one pod back even with no CPU sample',
    input: { currentReplicas: 0, cpu: undefined, sessions: 2 },
    replicas: 1,
    rule: 'scale-up',
    reason: 'no CPU sample in the window; 2 open sessions keep 1 pod',
  },

  // No data: keep what there is.
  {
    name: 'with no CPU sample in the window the count stays as it is',
    input: { currentReplicas: 3, cpu: undefined },
    replicas: 3,
    rule: 'no-samples',
    reason: 'no CPU sample in the window',
  },

  // Bounds.
  {
    name: 'a peak of 12 cores wants 14 pods but is capped at maxReplicas 10',
    input: { cpu: cpu(3, 12) },
    replicas: 10,
    rule: 'max-replicas',
    reason: 'peak 12 cores over 0.9 per pod: 14 pods; capped at maxReplicas 10',
  },
  {
    name: 'maxReplicas lowered below the current count applies at once, stabilization or not',
    input: { currentReplicas: 5, maxReplicas: 3, cpu: cpu(2.5, 4), lastScaleAt: NOW },
    replicas: 3,
    rule: 'max-replicas',
  },
  {
    name: 'a light load is raised to minReplicas 2',
    input: { minReplicas: 2 },
    replicas: 2,
    rule: 'min-replicas',
    reason: 'average 0.3 and peak 0.5 cores fit 1 pod at 0.6 / 0.9 per pod; raised to minReplicas 2',
  },
  {
    name: 'minReplicas = maxReplicas pins the count against any load',
    input: { currentReplicas: 3, minReplicas: 3, maxReplicas: 3, cpu: cpu(5, 9) },
    replicas: 3,
    rule: 'max-replicas',
  },
  {
    name: 'maxReplicas 0 keeps the tenant off even with a session',
    input: { maxReplicas: 0, sessions: 1 },
    replicas: 0,
    rule: 'max-replicas',
  },
];

describe('desiredReplicas', () => {
  it.each(cases)('$name', ({ input, replicas, rule, reason }) => {
    const got = desiredReplicas({ ...base, ...input });
    expect({ replicas: got.replicas, rule: got.rule }).toEqual({ replicas, rule });
    if (reason !== undefined) expect(got.reason).toBe(reason);
    expect(got.reason).not.toBe('');
  });

  it.each<[string, Partial<ReplicaInput>]>([
    ['minReplicas above maxReplicas', { minReplicas: 4, maxReplicas: 3 }],
    ['a negative replica count', { currentReplicas: -1 }],
    ['a fractional session count', { sessions: 0.5 }],
    ['a NaN now', { now: NaN }],
    ['a NaN idle start', { idleSince: NaN }],
    ['an infinite last change', { lastScaleAt: Infinity }],
    ['a NaN peak', { cpu: cpu(0.1, NaN) }],
    ['a negative average', { cpu: cpu(-0.1, 0.2) }],
    ['a coverage above 1', { cpu: cpu(0.1, 0.2, 1.5) }],
    ['a zero CPU target', { policy: { targetAverageCpuPerPod: 0 } }],
    ['a negative idle timeout', { policy: { idleTimeoutMs: -1 } }],
    ['a NaN stabilization window', { policy: { scaleDownStabilizationMs: NaN } }],
    ['a minimum coverage above 1', { policy: { scaleDownMinCoverage: 2 } }],
  ])('refuses %s', (_, input) => {
    expect(() => desiredReplicas({ ...base, ...input })).toThrow(RangeError);
  });

  it('defaults to 0.6 / 0.9 cores per pod, a 5-minute idle timeout and a 5-minute stabilization window', () => {
    expect(DEFAULT_SCALING_POLICY).toEqual({
      targetAverageCpuPerPod: 0.6,
      targetPeakCpuPerPod: 0.9,
      idleTimeoutMs: 5 * M,
      scaleDownStabilizationMs: 5 * M,
      scaleDownMinCoverage: 0.8,
    });
  });
});

describe('idleSince', () => {
  it.each([
    { name: 'a tenant with sessions is not idle', previous: null, sessions: 2, replicas: 1, idle: null },
    { name: 'a tenant with sessions is not idle, whatever it was before', previous: NOW - M, sessions: 1, replicas: 1, idle: null },
    { name: 'the first tick without sessions starts the idle clock now', previous: null, sessions: 0, replicas: 1, idle: NOW },
    { name: 'later ticks without sessions keep the start', previous: NOW - 3 * M, sessions: 0, replicas: 2, idle: NOW - 3 * M },
    { name: 'a suspended tenant has no idle clock running', previous: NOW - 9 * M, sessions: 0, replicas: 0, idle: null },
    { name: 'a tenant just resumed starts its idle clock afresh', previous: null, sessions: 0, replicas: 1, idle: NOW },
  ])('$name', ({ previous, sessions, replicas, idle }) => {
    expect(idleSince({ previous, sessions, replicas, now: NOW })).toBe(idle);
  });

  it.each([
    ['negative sessions', { previous: null, sessions: -1, replicas: 1, now: NOW }],
    ['fractional sessions', { previous: null, sessions: 1.5, replicas: 1, now: NOW }],
    ['a NaN now', { previous: null, sessions: 0, replicas: 1, now: NaN }],
  ])('refuses %s', (_, input) => {
    expect(() => idleSince(input)).toThrow(RangeError);
  });
});

// The autoscaler's loop, as the operator runs it: a sample every 10 s, then a decision.
interface Tick {
  /** Seconds since the start. */
  t: number;
  cores: number;
  sessions: number;
  /** Someone else (the proxy) sets the replica count before this tick. */
  setReplicas?: number;
}

function simulate(ticks: readonly Tick[], start: { replicas: number }): { t: number; replicas: number; rule: ScaleRule }[] {
  let window = CpuWindow.empty();
  let replicas = start.replicas;
  let lastScaleAt: number | null = null;
  let idle: number | null = null;
  const changes: { t: number; replicas: number; rule: ScaleRule }[] = [];
  for (const tick of ticks) {
    const now = NOW + tick.t * S;
    if (tick.setReplicas !== undefined) {
      replicas = tick.setReplicas;
      lastScaleAt = now;
    }
    // Spread the tenant's load over its pods; a tenant at zero has none.
    const pods = Object.fromEntries(Array.from({ length: replicas }, (_, i) => [`pod-${i}`, tick.cores / replicas]));
    window = window.withSample({ at: now, pods });
    idle = idleSince({ previous: idle, sessions: tick.sessions, replicas, now });
    const decision = desiredReplicas({
      now,
      currentReplicas: replicas,
      minReplicas: 0,
      maxReplicas: 10,
      cpu: window.stats(now),
      sessions: tick.sessions,
      idleSince: idle,
      lastScaleAt,
    });
    if (decision.replicas !== replicas) {
      replicas = decision.replicas;
      lastScaleAt = now;
      changes.push({ t: tick.t, replicas, rule: decision.rule });
    }
  }
  return changes;
}

function ticks(seconds: number, at: (t: number) => Omit<Tick, 't'>): Tick[] {
  return Array.from({ length: seconds / 10 + 1 }, (_, k) => ({ t: k * 10, ...at(k * 10) }));
}

describe('desiredReplicas over time', () => {
  it('a 20-second spike scales up at its first sample and back down once it has left the window', () => {
    const changes = simulate(
      ticks(600, (t) => ({ cores: t === 300 || t === 310 ? 2.4 : 0.3, sessions: 4 })),
      { replicas: 1 },
    );
    // The 310 s reading leaves the window after 610 s; by then the last change (300 s) is 5 minutes old.
    expect(changes).toEqual([{ t: 300, replicas: 3, rule: 'scale-up' }]);
    const longer = simulate(
      ticks(900, (t) => ({ cores: t === 300 || t === 310 ? 2.4 : 0.3, sessions: 4 })),
      { replicas: 1 },
    );
    expect(longer).toEqual([
      { t: 300, replicas: 3, rule: 'scale-up' },
      { t: 620, replicas: 1, rule: 'scale-down' },
    ]);
  });

  it('a fresh operator does not scale down on its first samples: it waits for 80% of the window', () => {
    const changes = simulate(ticks(400, () => ({ cores: 0.2, sessions: 1 })), { replicas: 4 });
    expect(changes).toEqual([{ t: 240, replicas: 1, rule: 'scale-down' }]);
  });

  it('a slow ramp to 3 cores adds pods one threshold at a time and never removes one', () => {
    const changes = simulate(ticks(600, (t) => ({ cores: (3 * t) / 600, sessions: 10 })), { replicas: 1 });
    expect(changes.map((c) => c.replicas)).toEqual([2, 3, 4]);
    expect(changes.every((c) => c.rule === 'scale-up')).toBe(true);
  });

  it('bursty load is sized for its bursts and stays there', () => {
    // Every third sample is a 2.7-core burst: the peak needs 3 pods, the average (1.1 cores) only 2.
    const changes = simulate(ticks(900, (t) => ({ cores: (t / 10) % 3 === 2 ? 2.7 : 0.3, sessions: 5 })), { replicas: 1 });
    expect(changes).toEqual([{ t: 20, replicas: 3, rule: 'scale-up' }]);
  });

  it('the last session closing scales the tenant to zero after the idle timeout, and a resume is not undone', () => {
    const changes = simulate(
      ticks(1500, (t) => ({
        cores: t < 600 ? 0.1 : 0,
        sessions: t < 600 ? 2 : 0,
        // The proxy resumes the tenant at 1200 s; its client's session opens 20 s later.
        ...(t === 1200 ? { setReplicas: 1 } : {}),
        ...(t >= 1220 && t < 1300 ? { sessions: 1, cores: 0.1 } : {}),
      })),
      { replicas: 1 },
    );
    // The client leaves at 1300 s: idle again until 1600 s, beyond this run.
    expect(changes).toEqual([{ t: 900, replicas: 0, rule: 'idle' }]);
  });
});
