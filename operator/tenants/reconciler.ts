// The CrdbTenant reconciler, level-triggered: read the tenant as it is now,
// converge its finalizer, keyspace, certificates Secret and status, or tear
// them down when it is being deleted. Every step is safe to repeat, so a
// crash or a conflict at any point is answered by running it again.
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { issueTenantCertificates, type PemPair } from '../../shared/certs/index.js';
import { KubeApiError, type KubeApi } from '../../shared/kube/api.js';
import { CRDB_TENANT_API_VERSION, CRDB_TENANT_KIND, crdbTenantPath, crdbTenantStatusSchema, type CrdbTenant, type CrdbTenantStatus } from '../../shared/kube/crdbtenant.js';
import { KvError } from '../../shared/kv/errors.js';
import type { Logger } from '../../shared/log/index.js';
import type { HandlerResult } from '../../shared/workqueue/index.js';
import type { EventRecorder, EventType } from '../kube/events.js';
import { addFinalizer, removeFinalizer } from '../kube/patch.js';
import type { Converged, PodConverger } from '../pods/converge.js';
import { ProvisioningError, activeByName, planKeyspace, type KeyspaceAdmin } from './keyspace.js';
import { readTenantSecret, secretSchema, secretsPath, tenantSecret, tenantSecretName, type SecretObject, type TenantCredentials } from './secret.js';
import { tenantStatus, type BoundPodState, type TenantFacts } from './status.js';

export const TENANT_FINALIZER = 'shoal.dev/tenant-cleanup';
/** The first administrator's role name in every tenant (its password is in the tenant Secret). */
export const TENANT_ADMIN = 'admin';

export interface TenantReconcilerDeps {
  readonly api: KubeApi;
  readonly namespace: string;
  /** The informer's view of CrdbTenants, by "namespace/name". */
  readonly tenants: { get(key: string): CrdbTenant | undefined };
  /** The tenants' Secrets as the informer holds them (namespace/name). */
  readonly secrets: { get(key: string): SecretObject | undefined };
  readonly podsOf: (tenant: string) => readonly { readonly name: string; readonly state: BoundPodState }[];
  readonly keyspaces: KeyspaceAdmin;
  /** The host CA, to issue tenant certificates. */
  readonly ca: PemPair;
  readonly events: EventRecorder;
  readonly log: Logger;
  /** Binds, drains and removes the tenant's pods. */
  readonly pods: PodConverger;
  readonly now?: () => Date;
}

/** How long to wait for a deleted tenant's pods to go before looking again. */
const PODS_GONE_RECHECK_MS = 500;

export class TenantReconciler {
  constructor(private readonly deps: TenantReconcilerDeps) {}

  async reconcile(key: string): Promise<HandlerResult> {
    const tenant = this.deps.tenants.get(key);
    if (!tenant) return; // gone: its Secret and pods follow through their owner references
    if (tenant.metadata.deletionTimestamp) return this.finalize(tenant);
    await addFinalizer(this.deps.api, this.path(tenant), tenant, TENANT_FINALIZER);

    let tenantId = tenant.status?.tenantId ?? null;
    let problem: ProvisioningError | null = null;
    let converged: Converged | undefined;
    try {
      tenantId ??= await this.ensureKeyspace(tenant);
      const credentials = await this.ensureSecret(tenant, tenantId);
      converged = await this.deps.pods.converge(tenant, credentials);
    } catch (err) {
      if (!(err instanceof ProvisioningError)) throw err;
      problem = err;
    }
    await this.writeStatus(tenant, { tenantId, problem, deleting: false, resources: converged?.resources ?? null });
    if (problem) {
      this.event(tenant, 'Warning', problem.reason, problem.message);
      throw problem;
    }
    return converged?.recheck === undefined ? undefined : { requeueAfterMs: converged.recheck };
  }

  private async ensureKeyspace(t: CrdbTenant): Promise<number> {
    const name = t.metadata.name;
    const registered = await this.kv('list the tenant keyspaces', () => this.deps.keyspaces.listTenants());
    const plan = planKeyspace(name, t.spec.tenantId, activeByName(registered, name));
    if (plan.kind === 'conflict') throw new ProvisioningError(plan.reason, plan.message);
    if (plan.kind === 'adopt') {
      this.event(t, 'Normal', 'KeyspaceAdopted', `using the existing keyspace of tenant ID ${plan.tenantId}`);
      return plan.tenantId;
    }
    const created = await this.kv('create the tenant keyspace', () => this.deps.keyspaces.createTenant(name, plan.tenantId ?? 0));
    this.event(t, 'Normal', 'KeyspaceCreated', `created the keyspace of tenant ID ${created.tenantId}`);
    return created.tenantId;
  }

  private async ensureSecret(t: CrdbTenant, tenantId: number): Promise<TenantCredentials> {
    const name = tenantSecretName(t.metadata.name);
    const path = `${secretsPath(this.deps.namespace)}/${encodeURIComponent(name)}`;
    // Only a Secret the informer has not seen (just created, or none yet) costs a read.
    const existing =
      this.deps.secrets.get(`${this.deps.namespace}/${name}`) ??
      (await this.deps.api.get(path, secretSchema).catch((err: unknown) => {
        if (err instanceof KubeApiError && err.status === 404) return null;
        throw err;
      }));
    const current = existing ? readTenantSecret(existing, tenantId) : null;
    if (current) return current;
    let credentials: TenantCredentials;
    try {
      const { client, serving } = await issueTenantCertificates(this.deps.ca, tenantId, t.metadata.name);
      credentials = {
        tenantId,
        caCert: this.deps.ca.certPem,
        clientCert: client.certPem,
        clientKey: client.keyPem,
        servingCert: serving.certPem,
        servingKey: serving.keyPem,
        username: TENANT_ADMIN,
        password: randomBytes(18).toString('base64url'),
      };
    } catch (err) {
      throw new ProvisioningError('CertificatesFailed', `issuing the tenant certificates: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const body = tenantSecret({ name: t.metadata.name, uid: t.metadata.uid ?? '' }, this.deps.namespace, credentials);
    if (existing) await this.deps.api.replace(path, { ...body, metadata: { ...(body as { metadata: object }).metadata, resourceVersion: existing.metadata.resourceVersion } });
    else await this.deps.api.create(secretsPath(this.deps.namespace), body);
    this.event(t, 'Normal', 'CertificatesIssued', `issued the tenant's client and serving certificates into Secret ${name}`);
    return credentials;
  }

  private async finalize(t: CrdbTenant): Promise<HandlerResult> {
    if (!t.metadata.finalizers?.includes(TENANT_FINALIZER)) return;
    await this.writeStatus(t, { tenantId: t.status?.tenantId ?? null, problem: null, deleting: true, resources: null });
    const name = t.metadata.name;
    // The keyspace goes only once no pod can still write to it.
    if (!(await this.deps.pods.removeAll(name))) return { requeueAfterMs: PODS_GONE_RECHECK_MS };
    if (t.spec.keyspaceRetention === 'Delete') {
      // A keyspace created just before a crash is not in status yet: find it by name.
      const tenantId = t.status?.tenantId ?? activeByName(await this.kv('list the tenant keyspaces', () => this.deps.keyspaces.listTenants()), name)?.tenantId;
      if (tenantId !== undefined) {
        await this.kv('destroy the tenant keyspace', () => this.deps.keyspaces.destroyTenant(tenantId));
        this.event(t, 'Normal', 'KeyspaceDestroyed', `destroyed the keyspace of tenant ID ${tenantId}; the ID is never reused`);
      }
    } else if (t.status?.tenantId !== undefined) {
      this.event(t, 'Normal', 'KeyspaceRetained', `kept the keyspace of tenant ID ${t.status.tenantId}; a CrdbTenant named ${name} adopts it`);
    }
    await this.deps.api.delete(`${secretsPath(this.deps.namespace)}/${encodeURIComponent(tenantSecretName(name))}`).catch((err: unknown) => {
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
    });
    await removeFinalizer(this.deps.api, this.path(t), t, TENANT_FINALIZER);
  }

  private async writeStatus(t: CrdbTenant, f: Pick<TenantFacts, 'tenantId' | 'problem' | 'deleting' | 'resources'>): Promise<void> {
    const facts: TenantFacts = {
      name: t.metadata.name,
      generation: t.metadata.generation ?? 0,
      desired: t.spec.replicas,
      pods: this.deps.podsOf(t.metadata.name),
      ...f,
      problem: f.problem ? { reason: f.problem.reason, message: f.problem.message } : null,
    };
    const now = (this.deps.now?.() ?? new Date()).toISOString();
    const status = tenantStatus(facts, t.status?.conditions, now);
    if (sameStatus(status, t.status)) return;
    await this.deps.api.patch(`${this.path(t)}/status`, { status }, 'application/merge-patch+json');
  }

  private async kv<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof KvError && err.code === 'TENANT_EXISTS') throw new ProvisioningError('TenantIdInUse', err.message, { cause: err });
      throw new ProvisioningError('KeyspaceUnavailable', `could not ${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  private event(t: CrdbTenant, type: EventType, reason: string, message: string): void {
    this.deps.log.info({ tenant: t.metadata.name, reason }, message);
    this.deps.events.record({ apiVersion: CRDB_TENANT_API_VERSION, kind: CRDB_TENANT_KIND, metadata: t.metadata }, type, reason, message);
  }

  private path(t: CrdbTenant): string {
    return crdbTenantPath(this.deps.namespace, t.metadata.name);
  }
}

/** Equal apart from transition times (those only move when a status does). */
function sameStatus(a: CrdbTenantStatus, b: CrdbTenantStatus | undefined): boolean {
  if (b === undefined) return false;
  const norm = (s: CrdbTenantStatus) => {
    const parsed = crdbTenantStatusSchema.parse(s);
    return { ...parsed, conditions: parsed.conditions?.map(({ lastTransitionTime: _, ...c }) => c) };
  };
  return isDeepStrictEqual(norm(a), norm(b));
}
