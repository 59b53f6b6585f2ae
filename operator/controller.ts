// The plumbing around the reconcilers: informers on CrdbTenants, SQL pods and
// the tenants' Secrets feed one work queue of tenant keys; the queue runs the tenant reconciler,
// never twice at once for one tenant, retrying failures with back-off. No
// business logic here.
import type { PemPair } from '../shared/certs/index.js';
import type { KubeApi } from '../shared/kube/api.js';
import { crdbTenantSchema, crdbTenantsPath, type CrdbTenant } from '../shared/kube/crdbtenant.js';
import { Reflector, keyOf } from '../shared/kube/reflector.js';
import type { Logger } from '../shared/log/index.js';
import { WorkQueue, type WorkQueueHooks } from '../shared/workqueue/index.js';
import type { EventRecorder } from './kube/events.js';
import type { KeyspaceAdmin } from './tenants/keyspace.js';
import { COMPONENT_LABEL, TENANT_LABEL, sqlPodSchema, type SqlPodObject } from '../shared/kube/sqlpod.js';
import { PodControl, type OperatorIdentity, type PodLoad } from '../shared/podctl/index.js';
import { PoolConnections } from './pods/connections.js';
import { PodConverger, type PodConvergerHooks } from './pods/converge.js';
import { boundState } from './pods/pods.js';
import { TenantReconciler } from './tenants/reconciler.js';
import { secretSchema, secretsPath, type SecretObject } from './tenants/secret.js';
import type { BoundPodState } from './tenants/status.js';

export interface TenantControllerOptions {
  readonly api: KubeApi;
  readonly namespace: string;
  readonly keyspaces: KeyspaceAdmin;
  readonly ca: PemPair;
  /** The operator's client identity for the pods' stamping and control endpoints. */
  readonly operator: OperatorIdentity;
  readonly kvAddresses: readonly string[];
  readonly drainLimitMs: number;
  readonly loadOf?: (pod: string) => PodLoad | undefined;
  readonly events: EventRecorder;
  readonly log: Logger;
  readonly concurrency?: number;
  readonly retry?: { readonly baseDelayMs: number; readonly maxDelayMs: number };
  readonly queueHooks?: WorkQueueHooks;
  readonly podHooks?: PodConvergerHooks;
  readonly onReconcileError?: (key: string, err: unknown) => void;
}

export class TenantController {
  readonly tenants: Reflector<CrdbTenant>;
  readonly pods: Reflector<SqlPodObject>;
  readonly secrets: Reflector<SecretObject>;
  readonly queue: WorkQueue;
  readonly reconciler: TenantReconciler;
  readonly converger: PodConverger;
  readonly connections: PoolConnections;

  constructor(private readonly options: TenantControllerOptions) {
    const { api, namespace, log } = options;
    this.connections = new PoolConnections((address, keepAlive) => new PodControl(address, options.operator, { keepAlive }), log);
    this.converger = new PodConverger({
      api,
      namespace,
      pods: () => this.pods.list(),
      operator: options.operator,
      connections: this.connections,
      kvAddresses: options.kvAddresses,
      drainLimitMs: options.drainLimitMs,
      loadOf: options.loadOf ?? (() => undefined),
      events: options.events,
      log,
      ...(options.podHooks ? { hooks: options.podHooks } : {}),
    });
    this.reconciler = new TenantReconciler({
      api,
      namespace,
      tenants: { get: (key) => this.tenants.get(key) },
      secrets: { get: (key) => this.secrets.get(key) },
      podsOf: (tenant) => this.podsOf(tenant),
      keyspaces: options.keyspaces,
      ca: options.ca,
      events: options.events,
      log,
      pods: this.converger,
    });
    this.queue = new WorkQueue(
      async (key) => {
        try {
          return await this.reconciler.reconcile(key);
        } catch (err) {
          options.onReconcileError?.(key, err);
          throw err;
        }
      },
      {
        concurrency: options.concurrency ?? 4,
        ...(options.retry ?? { baseDelayMs: 50, maxDelayMs: 60_000 }),
        ...(options.queueHooks ? { hooks: options.queueHooks } : {}),
      },
    );
    this.tenants = new Reflector({
      api,
      path: crdbTenantsPath(namespace),
      item: crdbTenantSchema,
      onEvent: (e) => this.queue.add(keyOf(e.object)),
      onError: (err, wait) => log.warn({ err, retryInMs: wait }, 'crdbtenants watch failed'),
    });
    this.pods = new Reflector({
      api,
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
      item: sqlPodSchema,
      labelSelector: `${COMPONENT_LABEL}=sqlpod`,
      onEvent: (e) => {
        this.connections.update(e.object, e.type === 'deleted');
        const tenant = e.object.metadata.labels?.[TENANT_LABEL];
        const old = e.type === 'updated' ? e.old?.metadata.labels?.[TENANT_LABEL] : undefined;
        if (tenant) this.queue.add(`${namespace}/${tenant}`);
        if (old && old !== tenant) this.queue.add(`${namespace}/${old}`);
        // A pool pod turning ready may be what a tenant short of pods waits for.
        if (!tenant && e.type !== 'deleted') for (const t of this.tenantsShortOfPods()) this.queue.add(t);
      },
      onError: (err, wait) => log.warn({ err, retryInMs: wait }, 'pods watch failed'),
    });
    // A Secret edited or deleted by someone else is repaired at once, and a resume reads none.
    this.secrets = new Reflector({
      api,
      path: secretsPath(namespace),
      item: secretSchema,
      labelSelector: `${COMPONENT_LABEL}=operator,${TENANT_LABEL}`,
      onEvent: (e) => {
        const tenant = e.object.metadata.labels?.[TENANT_LABEL];
        if (tenant) this.queue.add(`${namespace}/${tenant}`);
      },
      onError: (err, wait) => log.warn({ err, retryInMs: wait }, 'secrets watch failed'),
    });
  }

  /** Starts reconciling once both informers hold a full list (a partial view would make wrong decisions). */
  async start(syncTimeoutMs = 60_000): Promise<void> {
    await Promise.all([this.tenants.waitForSync(syncTimeoutMs), this.pods.waitForSync(syncTimeoutMs), this.secrets.waitForSync(syncTimeoutMs)]);
    this.queue.start();
  }

  async stop(): Promise<void> {
    await this.queue.shutDown();
    await Promise.all([this.tenants.stop(), this.pods.stop(), this.secrets.stop()]);
    this.connections.closeAll();
  }

  private podsOf(tenant: string): { name: string; state: BoundPodState }[] {
    return this.pods
      .list()
      .filter((p) => p.metadata.labels?.[TENANT_LABEL] === tenant)
      .map((p) => ({ name: p.metadata.name, state: boundState(p) }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  private tenantsShortOfPods(): string[] {
    return this.tenants
      .list()
      .filter((t) => this.podsOf(t.metadata.name).filter((p) => p.state !== 'draining').length < t.spec.replicas)
      .map((t) => keyOf(t));
  }
}
