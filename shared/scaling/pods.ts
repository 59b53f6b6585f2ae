// Which pods to bind, undrain and drain once the desired count is known (design
// brief, "Life of a SQL pod" and "Desired pod count"). Every choice is
// deterministic, so a retried reconcile, or the operator and the local
// orchestrator, pick the same pods from the same view.

/** A pod of the prewarmed pool (label `shoal.dev/pool: prewarmed`): unbound by definition. */
export interface PoolPod {
  readonly name: string;
  /** Ready to be stamped (its readiness probe passes). */
  readonly ready: boolean;
  /** Creation time in milliseconds. */
  readonly createdAt: number;
  /** Being deleted (Kubernetes: deletionTimestamp set; its Ready condition may lag behind). */
  readonly terminating?: boolean;
}

/**
 * Up to `count` pods to pluck from the pool, in order: ready ones that are not
 * being deleted, oldest first (ready the longest, so the likeliest healthy),
 * then by name.
 */
export function choosePodsToBind<P extends PoolPod>(pool: readonly P[], count: number): P[] {
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`count must be an integer >= 0, got ${count}`);
  return pool
    .filter((p) => p.ready && p.terminating !== true)
    .sort((a, b) => a.createdAt - b.createdAt || byName(a, b))
    .slice(0, count);
}

/** The pod to pluck for one binding; undefined when the pool has no ready pod. */
export function choosePodToBind<P extends PoolPod>(pool: readonly P[]): P | undefined {
  return choosePodsToBind(pool, 1)[0];
}

/** The `shoal.dev/state` of a bound pod. */
export type TenantPodState = 'stamping' | 'running' | 'draining';

/** A pod bound to the tenant, as its labels and last `/load` describe it. */
export interface TenantPod {
  readonly name: string;
  readonly state: TenantPodState;
  /** Recent CPU (e.g. CpuWindow.podAverages, or the last `/load` reading). */
  readonly cpuCores: number;
  readonly sessions: number;
  /** A draining pod exits at this time (ms) at the latest. */
  readonly drainDeadline?: number;
}

export type ScaleAction =
  | { readonly kind: 'undrain'; readonly pod: string }
  | { readonly kind: 'pluck'; readonly count: number }
  | { readonly kind: 'drain'; readonly pod: string };

/**
 * The actions that bring the tenant's pods to `desired`. Running and stamping
 * pods count; draining pods are on their way out.
 *
 * Up: undrain first, since a draining pod is warm and its sessions then need
 * not end; the ones with the most sessions first (the most to lose), then the
 * busiest, then by name. A pod past its drain deadline is exiting and cannot be
 * undrained. Pluck new pods for the rest.
 *
 * Down: drain running pods with the lowest CPU first (the least work to move),
 * then the fewest sessions, then by name. A stamping pod cannot be drained yet;
 * once running it will be the idlest pod, so the share of the surplus it stands
 * for waits for it rather than ending sessions on a running pod now.
 */
export function planScale(pods: readonly TenantPod[], desired: number, now: number): ScaleAction[] {
  if (!Number.isSafeInteger(desired) || desired < 0) throw new RangeError(`desired must be an integer >= 0, got ${desired}`);
  if (!Number.isFinite(now)) throw new RangeError(`now must be a finite timestamp, got ${now}`);
  const running = pods.filter((p) => p.state === 'running');
  const stamping = pods.filter((p) => p.state === 'stamping').length;
  const active = running.length + stamping;

  if (active < desired) {
    const missing = desired - active;
    const undrain = pods
      .filter((p) => p.state === 'draining' && (p.drainDeadline === undefined || p.drainDeadline > now))
      .sort((a, b) => b.sessions - a.sessions || b.cpuCores - a.cpuCores || byName(a, b))
      .slice(0, missing)
      .map((p): ScaleAction => ({ kind: 'undrain', pod: p.name }));
    const pluck = missing - undrain.length;
    return pluck > 0 ? [...undrain, { kind: 'pluck', count: pluck }] : undrain;
  }

  const drainNow = active - desired - stamping;
  return running
    .sort((a, b) => a.cpuCores - b.cpuCores || a.sessions - b.sessions || byName(a, b))
    .slice(0, Math.max(0, drainNow))
    .map((p) => ({ kind: 'drain', pod: p.name }));
}

// Code-unit order, not localeCompare: the same on every machine and locale.
function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
