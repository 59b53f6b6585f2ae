// What a CrdbTenant's status says, from what the reconciler saw: pure, so
// every state and condition is table-tested. Conditions follow the API
// conventions: one entry per type, observedGeneration, and a
// lastTransitionTime that moves only when the status does.
import type { Condition, CrdbTenantStatus } from '../../shared/kube/crdbtenant.js';
import type { ResourcesFinding } from '../pods/resources.js';

export type BoundPodState = 'stamping' | 'running' | 'draining';

export interface TenantFacts {
  readonly name: string;
  readonly generation: number;
  /** Known once the keyspace exists (allocated, adopted or named in the spec). */
  readonly tenantId: number | null;
  /** Why the tenant is not provisioned or not converging, when it is not: shown in Degraded. */
  readonly problem: { readonly reason: string; readonly message: string } | null;
  /** spec.replicas */
  readonly desired: number;
  readonly pods: readonly { readonly name: string; readonly state: BoundPodState }[];
  readonly deleting: boolean;
  /** Whether the pods have spec.sqlPodResources; null when the pods were not converged (a problem, or deleting). */
  readonly resources: ResourcesFinding | null;
}

export type TenantState = 'Provisioning' | 'Failed' | 'Suspended' | 'Suspending' | 'Resuming' | 'Scaling' | 'Running' | 'Deleting';

export const TENANT_LABEL = 'shoal.dev/tenant';

export function tenantState(f: TenantFacts): TenantState {
  const running = f.pods.filter((p) => p.state === 'running').length;
  const serving = f.pods.filter((p) => p.state !== 'draining').length;
  if (f.deleting) return 'Deleting';
  if (f.problem) return 'Failed';
  if (f.tenantId === null) return 'Provisioning';
  if (f.desired === 0) return f.pods.length === 0 ? 'Suspended' : 'Suspending';
  if (running === 0) return 'Resuming';
  // A draining pod is a scale-down still in progress, however long its sessions last.
  return running === f.desired && serving === f.pods.length ? 'Running' : 'Scaling';
}

function condition(type: string, holds: boolean, reason: string, message: string, generation: number): Condition {
  return { type, status: holds ? 'True' : 'False', reason, message, observedGeneration: generation };
}

/** The conditions, before transition times are carried over. */
export function tenantConditions(f: TenantFacts): Condition[] {
  const state = tenantState(f);
  const running = f.pods.filter((p) => p.state === 'running').length;
  const g = f.generation;
  const ready =
    state === 'Deleting'
      ? condition('Ready', false, 'Deleting', 'the tenant is being deleted', g)
      : f.problem
        ? condition('Ready', false, f.problem.reason, f.problem.message, g)
        : f.tenantId === null
          ? condition('Ready', false, 'Provisioning', 'creating the keyspace and certificates', g)
          : condition('Ready', true, state, readyMessage(state, f.tenantId, running, f.desired), g);
  const suspended = f.desired === 0 && f.pods.length === 0;
  const scaling = !f.deleting && f.tenantId !== null && (running !== f.desired || f.pods.some((p) => p.state === 'draining'));
  return [
    ready,
    condition('Suspended', suspended, suspended ? 'ScaledToZero' : 'HasPods', suspended ? 'no SQL pod; the first connection resumes the tenant' : `${f.desired} pod(s) desired`, g),
    condition(
      'Scaling',
      scaling,
      !scaling ? 'Converged' : running < f.desired ? 'ScalingUp' : 'ScalingDown',
      `${running} of ${f.desired} pod(s) running${f.pods.some((p) => p.state === 'draining') ? `, ${f.pods.filter((p) => p.state === 'draining').length} draining` : ''}`,
      g,
    ),
    f.problem ? condition('Degraded', true, f.problem.reason, f.problem.message, g) : condition('Degraded', false, 'AsExpected', 'no problem', g),
    f.resources
      ? condition('ResourcesApplied', f.resources.applied, f.resources.reason, f.resources.message, g)
      : { type: 'ResourcesApplied', status: 'Unknown', reason: f.deleting ? 'Deleting' : 'NotConverged', message: f.deleting ? 'the tenant is being deleted' : "the pods were not converged (see Degraded)", observedGeneration: g },
  ];
}

function readyMessage(state: TenantState, tenantId: number, running: number, desired: number): string {
  if (state === 'Suspended' || state === 'Suspending') return `tenant ${tenantId} is suspended; the first connection resumes it`;
  return `tenant ${tenantId}: ${running} of ${desired} pod(s) running`;
}

/** Keeps a condition's lastTransitionTime unless its status changed. */
export function carryTransitions(next: readonly Condition[], previous: readonly Condition[] | undefined, now: string): Condition[] {
  return next.map((c) => {
    const before = previous?.find((p) => p.type === c.type);
    return { ...c, lastTransitionTime: before && before.status === c.status && before.lastTransitionTime ? before.lastTransitionTime : now };
  });
}

export function tenantStatus(f: TenantFacts, previous: readonly Condition[] | undefined, now: string): CrdbTenantStatus {
  return {
    observedGeneration: f.generation,
    ...(f.tenantId === null ? {} : { tenantId: f.tenantId }),
    state: tenantState(f),
    replicas: f.pods.filter((p) => p.state !== 'draining').length,
    readyReplicas: f.pods.filter((p) => p.state === 'running').length,
    selector: `${TENANT_LABEL}=${f.name}`,
    pods: f.pods.map((p) => ({ name: p.name, state: p.state })),
    conditions: carryTransitions(tenantConditions(f), previous, now),
  };
}
