// SQL pods as the operator sees them, and the one edit that binds a pool pod
// to a tenant: pure, so the preconditions that keep two tenants (or two
// reconciles, or two operator replicas) from binding one pod are table-tested.
import { CRDB_TENANT_API_VERSION, CRDB_TENANT_KIND } from '../../shared/kube/crdbtenant.js';
import { POOL_LABEL, PREWARMED, STATE_LABEL, TENANT_LABEL, isPodReady, type SqlPodObject } from '../../shared/kube/sqlpod.js';
import type { PoolPod, TenantPodState } from '../../shared/scaling/index.js';

/** When a draining pod must be gone at the latest (ISO time), and its restarts when it began to drain. */
export const DRAIN_DEADLINE_ANNOTATION = 'shoal.dev/drain-deadline';
export const DRAIN_RESTARTS_ANNOTATION = 'shoal.dev/restarts-at-drain';
/** When the pod was plucked (ISO time): a stamp still "stamping" long after it was interrupted. */
export const PLUCKED_AT_ANNOTATION = 'shoal.dev/plucked-at';

/** JSON-pointer form of a label key ("/" → "~1"). */
const label = (key: string) => `/metadata/labels/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
const annotation = (key: string) => `/metadata/annotations/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;

export function isPoolPod(pod: SqlPodObject): boolean {
  return pod.metadata.labels?.[POOL_LABEL] === PREWARMED && pod.metadata.labels[TENANT_LABEL] === undefined;
}

export function poolView(pod: SqlPodObject): PoolPod & { readonly pod: SqlPodObject } {
  return {
    name: pod.metadata.name,
    ready: isPodReady(pod) && pod.status?.podIP !== undefined,
    createdAt: Date.parse(pod.metadata.creationTimestamp ?? '') || 0,
    terminating: pod.metadata.deletionTimestamp !== undefined,
    pod,
  };
}

/** A bound pod's state from its label; a pod being deleted is on its way out like a draining one. */
export function boundState(pod: SqlPodObject): TenantPodState {
  if (pod.metadata.deletionTimestamp) return 'draining';
  const state = pod.metadata.labels?.[STATE_LABEL];
  return state === 'running' || state === 'draining' ? state : 'stamping';
}

/**
 * Takes a pool pod for a tenant in one JSON patch: it leaves the pool
 * Deployment's selector (the ReplicaSet starts a replacement), gains the
 * tenant's labels, and the CrdbTenant replaces the ReplicaSet as its
 * controller owner. The patch applies only to the exact version that was
 * seen, still in the pool: whoever patches second fails and picks another pod.
 */
export function pluckPatch(pod: SqlPodObject, tenant: { readonly name: string; readonly uid: string }, now: Date): object[] {
  const pluckedAt = pod.metadata.annotations
    ? { op: 'add', path: annotation(PLUCKED_AT_ANNOTATION), value: now.toISOString() }
    : { op: 'add', path: '/metadata/annotations', value: { [PLUCKED_AT_ANNOTATION]: now.toISOString() } };
  return [
    { op: 'test', path: '/metadata/resourceVersion', value: pod.metadata.resourceVersion },
    { op: 'test', path: label(POOL_LABEL), value: PREWARMED },
    { op: 'remove', path: label(POOL_LABEL) },
    { op: 'add', path: label(TENANT_LABEL), value: tenant.name },
    { op: 'add', path: label(STATE_LABEL), value: 'stamping' },
    {
      op: 'add',
      path: '/metadata/ownerReferences',
      value: [{ apiVersion: CRDB_TENANT_API_VERSION, kind: CRDB_TENANT_KIND, name: tenant.name, uid: tenant.uid, controller: true, blockOwnerDeletion: true }],
    },
    pluckedAt,
  ];
}

/** A pod still "stamping" this long after its pluck was left so by an operator that died (a stamp takes well under it). */
export const INTERRUPTED_STAMP_MS = 15_000;

export function stampInterrupted(pod: SqlPodObject, now: number): boolean {
  const at = Date.parse(pod.metadata.annotations?.[PLUCKED_AT_ANNOTATION] ?? '');
  return !Number.isFinite(at) || now - at >= INTERRUPTED_STAMP_MS;
}

/**
 * Moves a bound pod from one state to the next, only if it is still in the
 * state that was seen; sets or (with null) removes annotations on the way.
 */
export function statePatch(pod: SqlPodObject, from: TenantPodState, to: TenantPodState, annotations: Readonly<Record<string, string | null>> = {}): object[] {
  const present = pod.metadata.annotations ?? {};
  const edits = Object.entries(annotations).flatMap(([k, v]) => (v === null ? (k in present ? [{ op: 'remove', path: annotation(k) }] : []) : [{ op: 'add', path: annotation(k), value: v }]));
  const needsMap = pod.metadata.annotations === undefined && edits.some((e) => e.op === 'add');
  return [
    { op: 'test', path: label(STATE_LABEL), value: from },
    { op: 'replace', path: label(STATE_LABEL), value: to },
    ...(needsMap ? [{ op: 'add', path: '/metadata/annotations', value: {} }] : []),
    ...edits,
  ];
}
