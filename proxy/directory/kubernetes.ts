// The tenant directory from the Kubernetes API: CrdbTenants say which tenants
// exist (one with no pod is suspended); SQL pods labelled shoal.dev/tenant and
// shoal.dev/state say where each tenant is served. Both are kept by reflectors
// (list + watch, relist on 410, back-off, watchdog). Resume raises a
// CrdbTenant's replicas from 0 to 1 through its scale subresource.
import { z } from 'zod';
import { KubeApiError, objectMetaSchema, type KubeApi } from '../../shared/kube/api.js';
import { Reflector } from '../../shared/kube/reflector.js';
import { STATE_LABEL as LABEL_STATE, TENANT_LABEL as LABEL_TENANT, podAddress, sqlPodSchema as podSchema, type SqlPodObject } from '../../shared/kube/sqlpod.js';
import { MemoryDirectory } from './memory.js';
import type { DirectoryListener, PodState, PodView, TenantDirectory, TenantEntry } from './types.js';

export { STATE_LABEL as LABEL_STATE, TENANT_LABEL as LABEL_TENANT } from '../../shared/kube/sqlpod.js';
export type { SqlPodObject };

const tenantSchema = z.object({ metadata: objectMetaSchema, spec: z.object({ replicas: z.number().optional() }).optional() });
export type CrdbTenantObject = z.infer<typeof tenantSchema>;

const scaleSchema = z.looseObject({ metadata: objectMetaSchema, spec: z.looseObject({ replicas: z.number().optional() }) });

const STATES: ReadonlySet<string> = new Set<PodState>(['stamping', 'running', 'draining']);

/**
 * How a pod looks to the proxy; undefined when it cannot take part yet (no
 * tenant or state label, no IP). A pod being deleted counts as draining: it
 * keeps its sessions and gets no new ones.
 */
export function podView(pod: SqlPodObject): PodView | undefined {
  const labels = pod.metadata.labels ?? {};
  const tenant = labels[LABEL_TENANT];
  const state = labels[LABEL_STATE];
  const address = podAddress(pod, 'sql');
  if (!tenant || !state || !STATES.has(state) || !address) return undefined;
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return undefined;
  return { name: pod.metadata.name, tenant, address, state: pod.metadata.deletionTimestamp ? 'draining' : (state as PodState) };
}

export interface KubernetesDirectoryOptions {
  readonly api: KubeApi;
  readonly namespace: string;
  readonly watchTimeoutSeconds?: number;
  readonly watchdogGraceMs?: number;
  readonly onError?: (what: string, err: unknown, nextAttemptMs: number) => void;
}

export class KubernetesDirectory implements TenantDirectory {
  private readonly memory = new MemoryDirectory();
  readonly tenants: Reflector<CrdbTenantObject>;
  readonly pods: Reflector<SqlPodObject>;

  constructor(private readonly options: KubernetesDirectoryOptions) {
    const common = {
      api: options.api,
      ...(options.watchTimeoutSeconds === undefined ? {} : { watchTimeoutSeconds: options.watchTimeoutSeconds }),
      ...(options.watchdogGraceMs === undefined ? {} : { watchdogGraceMs: options.watchdogGraceMs }),
    };
    const ns = encodeURIComponent(options.namespace);
    this.tenants = new Reflector({
      ...common,
      path: `/apis/shoal.dev/v1alpha1/namespaces/${ns}/crdbtenants`,
      item: tenantSchema,
      onEvent: (e) => this.refresh(e.object.metadata.name),
      onError: (err, wait) => options.onError?.('crdbtenants', err, wait),
    });
    this.pods = new Reflector({
      ...common,
      path: `/api/v1/namespaces/${ns}/pods`,
      item: podSchema,
      labelSelector: LABEL_TENANT,
      onEvent: (e) => {
        const tenant = e.object.metadata.labels?.[LABEL_TENANT];
        const old = e.type === 'updated' ? e.old?.metadata.labels?.[LABEL_TENANT] : undefined;
        if (tenant) this.refresh(tenant);
        if (old && old !== tenant) this.refresh(old);
      },
      onError: (err, wait) => options.onError?.('pods', err, wait),
    });
  }

  /** Resolves once both lists have been read. */
  async waitForSync(timeoutMs = 30_000): Promise<void> {
    await Promise.all([this.tenants.waitForSync(timeoutMs), this.pods.waitForSync(timeoutMs)]);
  }

  lookup(tenant: string): TenantEntry | undefined {
    return this.memory.lookup(tenant);
  }

  subscribe(listener: DirectoryListener): () => void {
    return this.memory.subscribe(listener);
  }

  /**
   * 0 → 1 through the scale subresource, and only from 0: a write
   * conditional on the resourceVersion at which the count was seen to be 0,
   * so a count another writer raised meanwhile is never lowered. The first
   * try uses the informer's copy (one request on a resume's path); when that
   * is stale (409) or shows pods already asked for, a fresh read decides.
   * (Scale's spec.replicas is omitted when 0, so a JSON-patch test on it
   * cannot be used.)
   */
  async resume(tenant: string): Promise<void> {
    const path = `/apis/shoal.dev/v1alpha1/namespaces/${encodeURIComponent(this.options.namespace)}/crdbtenants/${encodeURIComponent(tenant)}/scale`;
    const cached = this.tenants.get(`${this.options.namespace}/${tenant}`);
    if (cached?.metadata.resourceVersion && (cached.spec?.replicas ?? 0) === 0) {
      const scale = { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: tenant, namespace: this.options.namespace, resourceVersion: cached.metadata.resourceVersion }, spec: { replicas: 1 } };
      try {
        await this.options.api.replace(path, scale);
        return;
      } catch (err) {
        if (!(err instanceof KubeApiError && (err.status === 409 || err.status === 404))) throw err;
      }
    }
    for (let attempt = 1; ; attempt++) {
      let scale: z.infer<typeof scaleSchema>;
      try {
        scale = await this.options.api.get(path, scaleSchema);
      } catch (err) {
        if (err instanceof KubeApiError && err.status === 404) throw new Error(`tenant "${tenant}" does not exist`, { cause: err });
        throw err;
      }
      if ((scale.spec.replicas ?? 0) >= 1) return;
      try {
        await this.options.api.replace(path, { ...scale, spec: { ...scale.spec, replicas: 1 } });
        return;
      } catch (err) {
        if (!(err instanceof KubeApiError && err.status === 409) || attempt >= 5) throw err;
      }
    }
  }

  stop(): Promise<void> {
    return Promise.all([this.tenants.stop(), this.pods.stop()]).then(() => undefined);
  }

  private refresh(tenant: string): void {
    if (!this.tenants.get(`${this.options.namespace}/${tenant}`)) {
      this.memory.removeTenant(tenant);
      return;
    }
    const pods = this.pods
      .list()
      .map(podView)
      .filter((v): v is PodView => v !== undefined && v.tenant === tenant);
    const current = this.memory.lookup(tenant);
    if (current && samePods(current.pods, pods)) return;
    this.memory.setTenant(tenant, pods);
  }
}

function samePods(a: readonly PodView[], b: readonly PodView[]): boolean {
  if (a.length !== b.length) return false;
  const key = (p: PodView) => `${p.name}|${p.address}|${p.state}`;
  const set = new Set(a.map(key));
  return b.every((p) => set.has(key(p)));
}
