// How many SQL pods a tenant needs (design brief, "Desired pod count"): CPU
// against per-pod targets, bounded by the tenant's min/max, scaled to zero when
// idle. Pure: every input, `now` included, comes from the caller.
import type { CpuStats } from './cpu-window.js';

export interface ScalingPolicy {
  /** Cores per pod the 5-minute average should stay under. */
  readonly targetAverageCpuPerPod: number;
  /** Cores per pod the 5-minute peak should stay under: the headroom for bursts. */
  readonly targetPeakCpuPerPod: number;
  /** With no session for this long the tenant is scaled to zero (to minReplicas); 0 = never. */
  readonly idleTimeoutMs: number;
  /** A scale-down waits until the last change of the replica count is at least this old. */
  readonly scaleDownStabilizationMs: number;
  /** A scale-down also waits until samples cover at least this fraction of the CPU window. */
  readonly scaleDownMinCoverage: number;
}

export const DEFAULT_SCALING_POLICY: ScalingPolicy = {
  targetAverageCpuPerPod: 0.6,
  targetPeakCpuPerPod: 0.9,
  idleTimeoutMs: 5 * 60_000,
  scaleDownStabilizationMs: 5 * 60_000,
  scaleDownMinCoverage: 0.8,
};

export interface ReplicaInput {
  readonly now: number;
  /** The tenant's replica count as it stands (spec.replicas). */
  readonly currentReplicas: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** From the tenant's CpuWindow; undefined when it has no sample in the window. */
  readonly cpu: CpuStats | undefined;
  /** Open sessions across all the tenant's pods, draining ones included. */
  readonly sessions: number;
  /** From idleSince(): when the tenant's last session closed; null while it has sessions. */
  readonly idleSince: number | null;
  /** When the replica count last changed, by any writer (autoscaler, proxy, kubectl); null if never or unknown. */
  readonly lastScaleAt: number | null;
  readonly policy?: Partial<ScalingPolicy>;
}

/** Which rule decided: for the Kubernetes Event's reason, metrics and tests. */
export type ScaleRule =
  | 'scale-up' // CPU (or an open session) needs more pods: applied at once
  | 'scale-down' // average and peak both fit fewer pods, and the history is long and calm enough
  | 'scale-down-held' // they fit fewer pods, but the stabilization window or a thin history holds it
  | 'steady' // CPU fits the current count
  | 'no-samples' // no CPU sample in the window: nothing to go on, keep the count
  | 'idle' // no session for the idle timeout: scale to zero
  | 'suspended' // at zero without sessions: only a connection (the proxy) resumes it
  | 'min-replicas' // the proposal was below minReplicas
  | 'max-replicas'; // the proposal was above maxReplicas

export interface ReplicaDecision {
  readonly replicas: number;
  readonly rule: ScaleRule;
  /** One sentence for the Event's message and the log, e.g. "peak 2.4 cores over 0.9 per pod: 3 pods". */
  readonly reason: string;
}

// Float division lands just above whole numbers (1.8 / 0.6 = 3.0000000000000004);
// a load exactly at the target must not buy an extra pod.
const EPSILON = 1e-9;

/** The replica count the tenant should have now, and why. */
export function desiredReplicas(input: ReplicaInput): ReplicaDecision {
  const policy = resolvePolicy(input.policy);
  checkInput(input);
  const proposal = propose(input, policy);
  if (proposal.replicas > input.maxReplicas) {
    return { replicas: input.maxReplicas, rule: 'max-replicas', reason: `${proposal.reason}; capped at maxReplicas ${input.maxReplicas}` };
  }
  if (proposal.replicas < input.minReplicas) {
    return { replicas: input.minReplicas, rule: 'min-replicas', reason: `${proposal.reason}; raised to minReplicas ${input.minReplicas}` };
  }
  return proposal;
}

function propose(input: ReplicaInput, policy: ScalingPolicy): ReplicaDecision {
  const { now, currentReplicas: current, sessions, cpu } = input;
  if (sessions === 0 && policy.idleTimeoutMs > 0 && input.idleSince !== null && now - input.idleSince >= policy.idleTimeoutMs) {
    return { replicas: 0, rule: 'idle', reason: `no session for ${formatDuration(now - input.idleSince)} (idle timeout ${formatDuration(policy.idleTimeoutMs)})` };
  }
  // Waking a tenant is the proxy's job, when a client comes: old CPU samples
  // from before a suspension must not bring pods back for nobody.
  if (current === 0 && sessions === 0) {
    return { replicas: 0, rule: 'suspended', reason: 'suspended with no session: the next connection resumes it' };
  }

  let need: number;
  let reason: string;
  if (cpu === undefined) {
    need = current;
    reason = 'no CPU sample in the window';
  } else {
    const byAverage = podsFor(cpu.average, policy.targetAverageCpuPerPod);
    const byPeak = podsFor(cpu.peak, policy.targetPeakCpuPerPod);
    need = Math.max(byAverage, byPeak);
    reason =
      need > current
        ? byPeak >= byAverage
          ? `peak ${formatCores(cpu.peak)} cores over ${formatCores(policy.targetPeakCpuPerPod)} per pod: ${pods(need)}`
          : `average ${formatCores(cpu.average)} cores over ${formatCores(policy.targetAverageCpuPerPod)} per pod: ${pods(need)}`
        : `average ${formatCores(cpu.average)} and peak ${formatCores(cpu.peak)} cores fit ${pods(need)} ` +
          `at ${formatCores(policy.targetAverageCpuPerPod)} / ${formatCores(policy.targetPeakCpuPerPod)} per pod`;
  }
  // Below one pod only through the idle rule: a tenant with a session keeps a
  // pod, and one without keeps it until the idle timeout says otherwise.
  if (need < 1) {
    need = 1;
    reason +=
      sessions > 0
        ? `; ${sessions} open ${sessions === 1 ? 'session keeps' : 'sessions keep'} 1 pod`
        : policy.idleTimeoutMs > 0
          ? `; 1 pod until no session for ${formatDuration(policy.idleTimeoutMs)}`
          : '; 1 pod (idle timeout off)';
  }

  if (need > current) return { replicas: need, rule: 'scale-up', reason };
  if (need === current) return { replicas: current, rule: cpu === undefined ? 'no-samples' : 'steady', reason };

  const sinceChange = input.lastScaleAt === null ? Infinity : now - input.lastScaleAt;
  if (sinceChange < policy.scaleDownStabilizationMs) {
    return {
      replicas: current,
      rule: 'scale-down-held',
      reason: `${reason}; scale-down held: last change ${formatDuration(sinceChange)} ago, stabilization ${formatDuration(policy.scaleDownStabilizationMs)}`,
    };
  }
  // `need < current` implies CPU stats: without them need is the current count.
  const coverage = cpu?.coverage ?? 0;
  if (coverage < policy.scaleDownMinCoverage) {
    return {
      replicas: current,
      rule: 'scale-down-held',
      reason: `${reason}; scale-down held: samples cover ${formatPercent(coverage)} of the window, need ${formatPercent(policy.scaleDownMinCoverage)}`,
    };
  }
  return { replicas: need, rule: 'scale-down', reason };
}

export interface IdleInput {
  /** What idleSince() returned last time (null at first). */
  readonly previous: number | null;
  /** Open sessions across all the tenant's pods now. */
  readonly sessions: number;
  /** The tenant's replica count now. */
  readonly replicas: number;
  readonly now: number;
}

/**
 * When the tenant's idle stretch began: null while it has sessions. The clock
 * runs only while the tenant has replicas, so a tenant just resumed (by the
 * proxy, before its client's session is open) gets a whole idle timeout
 * instead of being suspended again at once.
 */
export function idleSince(input: IdleInput): number | null {
  if (!Number.isSafeInteger(input.sessions) || input.sessions < 0) throw new RangeError(`sessions must be an integer >= 0, got ${input.sessions}`);
  if (!Number.isFinite(input.now)) throw new RangeError(`now must be a finite timestamp, got ${input.now}`);
  if (input.sessions > 0 || input.replicas === 0) return null;
  return input.previous ?? input.now;
}

function podsFor(cores: number, perPod: number): number {
  return Math.max(0, Math.ceil(cores / perPod - EPSILON));
}

function resolvePolicy(overrides: Partial<ScalingPolicy> = {}): ScalingPolicy {
  const policy: ScalingPolicy = { ...DEFAULT_SCALING_POLICY, ...overrides };
  for (const key of ['targetAverageCpuPerPod', 'targetPeakCpuPerPod'] as const) {
    if (!Number.isFinite(policy[key]) || policy[key] <= 0) throw new RangeError(`${key} must be a positive number of cores, got ${policy[key]}`);
  }
  for (const key of ['idleTimeoutMs', 'scaleDownStabilizationMs'] as const) {
    if (!Number.isFinite(policy[key]) || policy[key] < 0) throw new RangeError(`${key} must be a number of milliseconds >= 0, got ${policy[key]}`);
  }
  if (!(policy.scaleDownMinCoverage >= 0 && policy.scaleDownMinCoverage <= 1)) {
    throw new RangeError(`scaleDownMinCoverage must be in [0, 1], got ${policy.scaleDownMinCoverage}`);
  }
  return policy;
}

function checkInput(input: ReplicaInput): void {
  if (!Number.isFinite(input.now)) throw new RangeError(`now must be a finite timestamp, got ${input.now}`);
  for (const key of ['currentReplicas', 'minReplicas', 'maxReplicas', 'sessions'] as const) {
    if (!Number.isSafeInteger(input[key]) || input[key] < 0) throw new RangeError(`${key} must be an integer >= 0, got ${input[key]}`);
  }
  for (const key of ['idleSince', 'lastScaleAt'] as const) {
    const at = input[key];
    if (at !== null && !Number.isFinite(at)) throw new RangeError(`${key} must be null or a finite timestamp, got ${at}`);
  }
  if (input.minReplicas > input.maxReplicas) {
    throw new RangeError(`minReplicas (${input.minReplicas}) must not exceed maxReplicas (${input.maxReplicas})`);
  }
  if (input.cpu !== undefined) {
    const { average, peak, coverage } = input.cpu;
    if (![average, peak].every((v) => Number.isFinite(v) && v >= 0)) throw new RangeError(`CPU average and peak must be finite and >= 0, got ${average} and ${peak}`);
    if (!(coverage >= 0 && coverage <= 1)) throw new RangeError(`CPU coverage must be in [0, 1], got ${coverage}`);
  }
}

function pods(n: number): string {
  return n === 1 ? '1 pod' : `${n} pods`;
}

function formatCores(cores: number): string {
  return String(Number(cores.toFixed(2)));
}

function formatPercent(fraction: number): string {
  return `${Math.round(fraction * 100)}%`;
}

/** 300000 → "5m", 150000 → "2m30s", 4500 → "4.5s". */
function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1_000).toFixed(1))}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1_000);
  if (seconds === 60) return `${minutes + 1}m`;
  return seconds === 0 ? `${minutes}m` : `${minutes}m${seconds}s`;
}
