// Brings a tenant's bound SQL pods to spec.replicas (design brief, "Life of a
// SQL pod"): finished drains are deleted, a stamp a crash interrupted is
// finished or the pod discarded, then the shared decision code says what to
// undrain, pluck and drain. Every Kubernetes edit is a guarded JSON patch, so
// a race with another reconcile or operator replica fails instead of binding
// one pod twice.
import { KubeApiError, type KubeApi } from '../../shared/kube/api.js';
import { CRDB_TENANT_API_VERSION, CRDB_TENANT_KIND, type CrdbTenant } from '../../shared/kube/crdbtenant.js';
import { TENANT_LABEL, podAddress, restartsOf, sqlPodSchema, type SqlPodObject } from '../../shared/kube/sqlpod.js';
import type { Logger } from '../../shared/log/index.js';
import { PodControl, readPodLoad, type OperatorIdentity, type PodLoad } from '../../shared/podctl/index.js';
import { choosePodsToBind, planScale, type TenantPod } from '../../shared/scaling/index.js';
import type { EventRecorder, EventType } from '../kube/events.js';
import { ProvisioningError } from '../tenants/keyspace.js';
import type { PoolConnections } from './connections.js';
import type { TenantCredentials } from '../tenants/secret.js';
import { describeResources, resizeFor, resizePatch, resizeProgress, resourcesFinding, type PodResources, type ResourcesFinding } from './resources.js';
import { DRAIN_DEADLINE_ANNOTATION, DRAIN_RESTARTS_ANNOTATION, INTERRUPTED_STAMP_MS, boundState, isPoolPod, pluckPatch, poolView, stampInterrupted, statePatch } from './pods.js';

export interface PodConvergerDeps {
  readonly api: KubeApi;
  readonly namespace: string;
  /** Every SQL pod (pool and bound), from the informer. */
  readonly pods: () => readonly SqlPodObject[];
  readonly operator: OperatorIdentity;
  /** Stamping connections opened while the pods waited in the pool. */
  readonly connections?: PoolConnections;
  readonly kvAddresses: readonly string[];
  readonly drainLimitMs: number;
  /** The last /load of a bound pod, from the autoscaler's sampling; undefined before the first. */
  readonly loadOf: (pod: string) => PodLoad | undefined;
  readonly events: EventRecorder;
  readonly log: Logger;
  readonly hooks?: PodConvergerHooks;
}

/** For metrics. */
export interface PodConvergerHooks {
  readonly onPluck?: () => void;
  readonly onStamp?: (ok: boolean, ms: number) => void;
  readonly onDrain?: () => void;
  /** A tenant with no running pod got its first one, this long after its pods were first asked for. */
  readonly onResume?: (ms: number) => void;
  readonly onPoolReady?: (readyPods: number) => void;
}

export interface Converged {
  /** How long until the converger wants to look again (a drain deadline, a pool that had no ready pod). */
  readonly recheck: number | undefined;
  /** Whether the serving pods have the spec's sqlPodResources. */
  readonly resources: ResourcesFinding;
}

const POOL_EMPTY_RECHECK_MS = 1000;

export class PodConverger {
  /** Pods this process is stamping right now: a "stamping" pod not in here was left by a crash. */
  private readonly stamping = new Set<string>();
  /**
   * Pool pods a reconcile of this process is plucking: tenants reconciled at
   * once pick different pods instead of racing for the oldest ones (the
   * guarded patch still decides between replicas).
   */
  private readonly claimed = new Set<string>();
  /**
   * Resizes the API server refused, by pod, with the spec they were for: the
   * same resize is not sent again on every reconcile, only when the spec
   * changes (or the pod goes).
   */
  private readonly refusedResizes = new Map<string, { readonly wanted: string; readonly message: string }>();

  constructor(private readonly deps: PodConvergerDeps) {}

  async converge(t: CrdbTenant, creds: TenantCredentials): Promise<Converged> {
    const now = Date.now();
    const name = t.metadata.name;
    let bound = this.deps.pods().filter((p) => p.metadata.labels?.[TENANT_LABEL] === name);
    const rechecks: number[] = [];

    for (const pod of bound.filter((p) => boundState(p) === 'draining' && !p.metadata.deletionTimestamp)) {
      const left = drainLeftMs(pod, now);
      if (left <= 0 || restartsOf(pod) > Number(pod.metadata.annotations?.[DRAIN_RESTARTS_ANNOTATION] ?? Infinity) || isFinished(pod)) {
        await this.remove(pod, left <= 0 ? 'its drain limit passed' : 'its sessions ended');
        this.event(t, 'Normal', 'PodRemoved', `deleted drained pod ${pod.metadata.name}`);
      } else rechecks.push(left);
    }
    for (const pod of bound.filter((p) => boundState(p) === 'stamping' && !this.stamping.has(p.metadata.name) && !p.metadata.deletionTimestamp)) {
      // Another replica that was leader a moment ago may still be stamping it: wait that out first.
      if (stampInterrupted(pod, now)) await this.recoverStamp(t, pod, creds);
      else rechecks.push(INTERRUPTED_STAMP_MS);
    }
    bound = this.deps.pods().filter((p) => p.metadata.labels?.[TENANT_LABEL] === name && !p.metadata.deletionTimestamp);

    const view: TenantPod[] = bound.map((p) => {
      const load = this.deps.loadOf(p.metadata.name);
      const deadline = Date.parse(p.metadata.annotations?.[DRAIN_DEADLINE_ANNOTATION] ?? '');
      return { name: p.metadata.name, state: boundState(p), cpuCores: load?.cpuCores ?? 0, sessions: load?.sessions ?? 0, ...(Number.isFinite(deadline) ? { drainDeadline: deadline } : {}) };
    });
    const byName = new Map(bound.map((p) => [p.metadata.name, p] as const));
    for (const action of planScale(view, t.spec.replicas, now)) {
      if (action.kind === 'undrain') {
        const pod = byName.get(action.pod);
        if (pod) await this.undrain(t, pod);
      } else if (action.kind === 'drain') {
        const pod = byName.get(action.pod);
        if (pod) rechecks.push(await this.drain(t, pod, now));
      } else {
        const short = action.count - (await this.pluckAndStamp(t, creds, action.count));
        if (short > 0) {
          this.event(t, 'Warning', 'PoolEmpty', `${short} pod(s) short: no ready pod in the prewarmed pool`);
          rechecks.push(POOL_EMPTY_RECHECK_MS);
        }
      }
    }
    const resources = await this.applyResources(t);
    return { recheck: rechecks.length ? Math.max(100, Math.min(...rechecks)) : undefined, resources };
  }

  /**
   * Resizes each serving pod whose SQL container lacks the spec's resources.
   * A resize the API server refuses (a QoS class change, no pods/resize on an
   * older cluster) leaves the pod serving with the pool's resources and shows
   * in the ResourcesApplied condition and a Warning Event.
   */
  private async applyResources(t: CrdbTenant): Promise<ResourcesFinding> {
    const all = this.deps.pods();
    const present = new Set(all.map((p) => p.metadata.name));
    for (const name of this.refusedResizes.keys()) if (!present.has(name)) this.refusedResizes.delete(name);
    const wanted = t.spec.sqlPodResources;
    const key = JSON.stringify(wanted ?? null);
    const serving = all.filter((p) => p.metadata.labels?.[TENANT_LABEL] === t.metadata.name && !p.metadata.deletionTimestamp && boundState(p) !== 'draining');
    const found: PodResources[] = [];
    for (const pod of serving) {
      const name = pod.metadata.name;
      const resize = resizeFor(pod, wanted);
      const before = this.refusedResizes.get(name);
      let refused = resize && before?.wanted === key ? before.message : undefined;
      if (resize && refused === undefined && wanted) {
        try {
          await this.deps.api.patch(`${this.podPath(pod)}/resize`, resizePatch(pod, resize), 'application/json-patch+json');
          this.event(t, 'Normal', 'PodResized', `resized pod ${name} in place to ${describeResources(wanted)}`);
        } catch (err) {
          if (!(err instanceof KubeApiError) || err.status === 0 || err.status >= 500) throw err;
          // The pod changed since the informer saw it: the next reconcile looks again.
          if (err.status !== 409) {
            refused = err.status === 404 && err.reason === 'NotFound' && present.has(name) ? `${err.message} (in-place resize needs Kubernetes 1.33 or later)` : err.message;
            this.refusedResizes.set(name, { wanted: key, message: refused });
            this.event(t, 'Warning', 'ResizeRefused', `pod ${name} keeps the pool's resources: the API server refused ${describeResources(wanted)}: ${refused}`);
          }
        }
      }
      found.push({ name, needsResize: resize !== undefined, ...(refused === undefined ? {} : { refused }), progress: resizeProgress(pod) });
    }
    return resourcesFinding(wanted, found);
  }

  /** Plucks and stamps up to `count` pool pods in parallel; returns how many it bound. */
  private async pluckAndStamp(t: CrdbTenant, creds: TenantCredentials, count: number): Promise<number> {
    const pool = this.deps.pods().filter(isPoolPod).map(poolView);
    const resuming = !this.deps.pods().some((p) => p.metadata.labels?.[TENANT_LABEL] === t.metadata.name && boundState(p) === 'running');
    const started = performance.now();
    const candidates = choosePodsToBind(
      pool.filter((p) => !this.claimed.has(p.name)),
      pool.length,
    );
    const plucked: SqlPodObject[] = [];
    const mine: string[] = [];
    let stamped: boolean[];
    try {
      for (const c of candidates) {
        if (plucked.length === count) break;
        if (this.claimed.has(c.name)) continue;
        this.claimed.add(c.name);
        mine.push(c.name);
        const pod = await this.pluck(t, c.pod);
        if (pod) plucked.push(pod);
      }
      stamped = await Promise.all(plucked.map((pod) => this.stamp(t, pod, creds)));
    } finally {
      for (const name of mine) this.claimed.delete(name);
    }
    if (resuming && stamped.some((ok) => ok)) this.deps.hooks?.onResume?.(performance.now() - started);
    this.deps.hooks?.onPoolReady?.(pool.filter((p) => p.ready && !p.terminating).length - plucked.length);
    const failures = stamped.filter((ok) => !ok).length;
    if (failures > 0) throw new ProvisioningError('StampFailed', `${failures} pod(s) refused the stamp and were discarded; retrying with others`);
    return plucked.length;
  }

  private async pluck(t: CrdbTenant, pod: SqlPodObject): Promise<SqlPodObject | undefined> {
    try {
      const patched = await this.deps.api.patch(this.podPath(pod), pluckPatch(pod, { name: t.metadata.name, uid: t.metadata.uid ?? '' }, new Date()), 'application/json-patch+json');
      this.deps.log.info({ tenant: t.metadata.name, pod: pod.metadata.name }, 'plucked a pool pod');
      this.deps.hooks?.onPluck?.();
      return sqlPodSchema.parse(patched);
    } catch (err) {
      // Someone took it (or it changed) since the informer saw it: not ours to bind.
      if (err instanceof KubeApiError && (err.status === 409 || err.status === 422 || err.status === 404)) return undefined;
      throw err;
    }
  }

  /** Stamps a plucked pod and labels it running; a pod that refuses is deleted, never offered to anyone else. */
  private async stamp(t: CrdbTenant, pod: SqlPodObject, creds: TenantCredentials): Promise<boolean> {
    const address = podAddress(pod, 'control');
    this.stamping.add(pod.metadata.name);
    const started = performance.now();
    const control = address === undefined ? undefined : (this.deps.connections?.take(pod, address) ?? new PodControl(address, this.deps.operator));
    try {
      if (!control) throw new Error('the pod has no IP');
      await control.stamp({
        tenantId: creds.tenantId,
        tenantName: t.metadata.name,
        tenantClientCert: creds.clientCert,
        tenantClientKey: creds.clientKey,
        servingCert: creds.servingCert,
        servingKey: creds.servingKey,
        kvAddresses: [...this.deps.kvAddresses],
        admin: { username: creds.username, password: creds.password },
      });
      await this.deps.api.patch(this.podPath(pod), statePatch(pod, 'stamping', 'running'), 'application/json-patch+json');
      this.deps.hooks?.onStamp?.(true, performance.now() - started);
      this.event(t, 'Normal', 'PodBound', `bound pod ${pod.metadata.name}: serving SQL`);
      return true;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.deps.hooks?.onStamp?.(false, performance.now() - started);
      this.event(t, 'Warning', 'StampFailed', `pod ${pod.metadata.name} was not stamped and is deleted: ${message}`);
      await this.remove(pod, 'its stamp failed').catch((e: unknown) => this.deps.log.warn({ err: e, pod: pod.metadata.name }, 'could not delete a pod whose stamp failed'));
      return false;
    } finally {
      control?.close();
      this.stamping.delete(pod.metadata.name);
    }
  }

  /** A "stamping" pod no stamp of ours is in flight for: an operator died mid-bind. Finish it or discard it. */
  private async recoverStamp(t: CrdbTenant, pod: SqlPodObject, creds: TenantCredentials): Promise<void> {
    const ops = podAddress(pod, 'ops');
    const load = ops ? await readPodLoad(ops).catch(() => undefined) : undefined;
    if (load?.state === 'running' && load.tenantName === t.metadata.name) {
      await this.deps.api.patch(this.podPath(pod), statePatch(pod, 'stamping', 'running'), 'application/json-patch+json');
      this.event(t, 'Normal', 'PodBound', `bound pod ${pod.metadata.name}: its stamp had succeeded before a restart`);
    } else if (load?.state === 'unbound') {
      await this.stamp(t, pod, creds);
    } else {
      await this.remove(pod, 'an interrupted stamp left it in an unknown state');
      this.event(t, 'Warning', 'PodDiscarded', `deleted pod ${pod.metadata.name}: an interrupted stamp left it ${load ? load.state : 'unreachable'}`);
    }
  }

  private async drain(t: CrdbTenant, pod: SqlPodObject, now: number): Promise<number> {
    const deadline = new Date(now + this.deps.drainLimitMs).toISOString();
    await this.deps.api.patch(
      this.podPath(pod),
      statePatch(pod, 'running', 'draining', { [DRAIN_DEADLINE_ANNOTATION]: deadline, [DRAIN_RESTARTS_ANNOTATION]: String(restartsOf(pod)) }),
      'application/json-patch+json',
    );
    const address = podAddress(pod, 'control');
    // The label already keeps new sessions away; a pod that cannot be told to drain is removed at the deadline.
    if (address) await new PodControl(address, this.deps.operator).drain(this.deps.drainLimitMs).catch((err: unknown) => this.deps.log.warn({ err, pod: pod.metadata.name }, 'drain call failed'));
    this.deps.hooks?.onDrain?.();
    this.event(t, 'Normal', 'PodDraining', `draining pod ${pod.metadata.name}: open sessions finish first (at most until ${deadline})`);
    return this.deps.drainLimitMs;
  }

  private async undrain(t: CrdbTenant, pod: SqlPodObject): Promise<void> {
    const address = podAddress(pod, 'control');
    if (!address) return;
    await new PodControl(address, this.deps.operator).undrain();
    await this.deps.api.patch(this.podPath(pod), statePatch(pod, 'draining', 'running', { [DRAIN_DEADLINE_ANNOTATION]: null, [DRAIN_RESTARTS_ANNOTATION]: null }), 'application/json-patch+json');
    this.event(t, 'Normal', 'PodUndrained', `pod ${pod.metadata.name} serves again instead of a new one`);
  }

  /** Deletes the pods of a tenant being deleted; resolves true once none is left. */
  async removeAll(tenant: string): Promise<boolean> {
    const bound = this.deps.pods().filter((p) => p.metadata.labels?.[TENANT_LABEL] === tenant);
    for (const pod of bound.filter((p) => !p.metadata.deletionTimestamp)) await this.remove(pod, 'its tenant is deleted');
    return bound.length === 0;
  }

  private async remove(pod: SqlPodObject, why: string): Promise<void> {
    this.deps.log.info({ pod: pod.metadata.name, why }, 'deleting pod');
    await this.deps.api.delete(this.podPath(pod)).catch((err: unknown) => {
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
    });
  }

  private event(t: CrdbTenant, type: EventType, reason: string, message: string): void {
    this.deps.log.info({ tenant: t.metadata.name, reason }, message);
    this.deps.events.record({ apiVersion: CRDB_TENANT_API_VERSION, kind: CRDB_TENANT_KIND, metadata: t.metadata }, type, reason, message);
  }

  private podPath(pod: SqlPodObject): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.deps.namespace)}/pods/${encodeURIComponent(pod.metadata.name)}`;
  }
}

function drainLeftMs(pod: SqlPodObject, now: number): number {
  const deadline = Date.parse(pod.metadata.annotations?.[DRAIN_DEADLINE_ANNOTATION] ?? '');
  return Number.isFinite(deadline) ? deadline - now : 0;
}

/** The container ended for good (restartPolicy Never/OnFailure) rather than being restarted. */
function isFinished(pod: SqlPodObject): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}
