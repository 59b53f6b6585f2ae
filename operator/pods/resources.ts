// A tenant's spec.sqlPodResources on its pods. Pool pods are created before
// anyone knows their tenant, so the resources are applied after the bind by
// resizing the pod in place (the pods/resize subresource, Kubernetes 1.33+)
// rather than by a new pod: a resume never waits for the scheduler. Pure, so
// what is resized, how, and what the tenant's condition says are table-tested.
import type { SqlPodResources } from '../../shared/kube/crdbtenant.js';
import { sameQuantity } from '../../shared/kube/quantity.js';
import type { SqlPodObject } from '../../shared/kube/sqlpod.js';

/** The SQL container's name in the pool Deployment; a pod without one is resized in its first container. */
export const SQL_CONTAINER = 'sqlpod';

type Quantities = Readonly<Record<string, string>>;
export interface ContainerResources {
  readonly requests?: Quantities;
  readonly limits?: Quantities;
}

export interface Resize {
  readonly container: number;
  readonly resources: ContainerResources;
}

function sqlContainer(pod: SqlPodObject): number {
  const containers = pod.spec?.containers ?? [];
  const named = containers.findIndex((c) => c.name === SQL_CONTAINER);
  return named >= 0 ? named : 0;
}

/**
 * The resources to give the pod's SQL container, or undefined when it
 * already has what the tenant wants. Only what the spec names changes: a
 * request the spec leaves out keeps the pool's value, so the pod's QoS class
 * stays what the pool made it.
 */
export function resizeFor(pod: SqlPodObject, wanted: SqlPodResources | undefined): Resize | undefined {
  if (!wanted) return undefined;
  const container = sqlContainer(pod);
  const current = pod.spec?.containers[container]?.resources ?? {};
  let differs = false;
  const merge = (have: Quantities | undefined, want: SqlPodResources['requests']): Quantities | undefined => {
    const out: Record<string, string> = { ...have };
    for (const [name, value] of Object.entries(want ?? {})) {
      if (value === undefined) continue;
      const present = have?.[name];
      if (present === undefined || !sameQuantity(present, value)) {
        out[name] = String(value);
        differs = true;
      }
    }
    return Object.keys(out).length ? out : undefined;
  };
  const requests = merge(current.requests, wanted.requests);
  const limits = merge(current.limits, wanted.limits);
  if (!differs) return undefined;
  return { container, resources: { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) } };
}

/** The JSON patch for pods/<name>/resize: it applies only to the container that was seen. */
export function resizePatch(pod: SqlPodObject, resize: Resize): object[] {
  const at = `/spec/containers/${resize.container}`;
  const name = pod.spec?.containers[resize.container]?.name;
  return [...(name === undefined ? [] : [{ op: 'test', path: `${at}/name`, value: name }]), { op: 'add', path: `${at}/resources`, value: resize.resources }];
}

/** What the kubelet says of a resize it has not finished (the pod's PodResizePending / PodResizeInProgress conditions). */
export interface ResizeProgress {
  readonly pending?: { readonly reason: string; readonly message: string };
  readonly inProgress: boolean;
}

export function resizeProgress(pod: SqlPodObject): ResizeProgress {
  const conditions = pod.status?.conditions ?? [];
  const pending = conditions.find((c) => c.type === 'PodResizePending' && c.status === 'True');
  return {
    ...(pending ? { pending: { reason: pending.reason ?? 'Pending', message: pending.message ?? '' } } : {}),
    inProgress: conditions.some((c) => c.type === 'PodResizeInProgress' && c.status === 'True'),
  };
}

/** One bound, serving pod as the tenant's ResourcesApplied condition needs it. */
export interface PodResources {
  readonly name: string;
  /** The spec still differs from what the tenant wants. */
  readonly needsResize: boolean;
  /** The API server refused the resize, with its message. */
  readonly refused?: string;
  readonly progress: ResizeProgress;
}

export interface ResourcesFinding {
  readonly applied: boolean;
  readonly reason: string;
  readonly message: string;
}

export function describeResources(r: SqlPodResources): string {
  const part = (what: string, q: SqlPodResources['requests']) => {
    const items = Object.entries(q ?? {}).filter(([, v]) => v !== undefined);
    return items.length ? [`${what} ${items.map(([k, v]) => `${k}=${String(v)}`).join(', ')}`] : [];
  };
  return [...part('requests', r.requests), ...part('limits', r.limits)].join('; ');
}

/** Whether the tenant's pods have the resources its spec asks for, and if not, why. */
export function resourcesFinding(wanted: SqlPodResources | undefined, pods: readonly PodResources[]): ResourcesFinding {
  if (!wanted) return { applied: true, reason: 'PoolDefaults', message: "no sqlPodResources: the SQL pods keep the pool's resources" };
  const refused = pods.find((p) => p.refused !== undefined);
  if (refused) return { applied: false, reason: 'ResizeRefused', message: `pod ${refused.name} cannot be resized to ${describeResources(wanted)}: ${refused.refused ?? ''}` };
  const infeasible = pods.find((p) => p.progress.pending?.reason === 'Infeasible');
  if (infeasible) return { applied: false, reason: 'ResizeInfeasible', message: `pod ${infeasible.name}: the node cannot fit ${describeResources(wanted)}: ${infeasible.progress.pending?.message ?? ''}` };
  const busy = pods.filter((p) => p.needsResize || p.progress.pending || p.progress.inProgress);
  if (busy.length) return { applied: false, reason: 'Resizing', message: `${busy.length} of ${pods.length} pod(s) being resized to ${describeResources(wanted)}` };
  return { applied: true, reason: 'Applied', message: `${pods.length} pod(s) at ${describeResources(wanted)}` };
}
