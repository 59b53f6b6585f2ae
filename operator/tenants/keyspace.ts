// The tenant's keyspace in the kvpods' registry: allocated once, found again
// by name after a crash between "created" and "recorded in status", never
// silently swapped for another tenant's.
import type { TenantInfo } from '../../shared/kv/protocol.js';

/** What the operator needs of kvpod's admin API (KvClient with the operator certificate). */
export interface KeyspaceAdmin {
  listTenants(): Promise<TenantInfo[]>;
  createTenant(name: string, tenantId?: number): Promise<TenantInfo>;
  destroyTenant(tenantId: number): Promise<TenantInfo>;
}

export type ProvisioningReason = 'KeyspaceUnavailable' | 'TenantIdMismatch' | 'TenantIdInUse' | 'CertificatesFailed' | 'StampFailed';

/** Why a tenant could not be provisioned or served: shown as its Degraded condition, retried with back-off. */
export class ProvisioningError extends Error {
  override readonly name = 'ProvisioningError';
  constructor(
    readonly reason: ProvisioningReason,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export type KeyspacePlan =
  | { readonly kind: 'adopt'; readonly tenantId: number }
  | { readonly kind: 'create'; readonly tenantId: number | undefined }
  | { readonly kind: 'conflict'; readonly reason: ProvisioningReason; readonly message: string };

/**
 * From the spec's ID (if any) and the registry's active entry of this name (if
 * any). Reached only while status.tenantId is unknown.
 */
export function planKeyspace(name: string, specTenantId: number | undefined, byName: TenantInfo | undefined): KeyspacePlan {
  if (byName) {
    if (specTenantId !== undefined && specTenantId !== byName.tenantId) {
      return { kind: 'conflict', reason: 'TenantIdMismatch', message: `a keyspace named "${name}" exists with tenant ID ${byName.tenantId}, but spec.tenantId is ${specTenantId}` };
    }
    return { kind: 'adopt', tenantId: byName.tenantId };
  }
  return { kind: 'create', tenantId: specTenantId };
}

export function activeByName(tenants: readonly TenantInfo[], name: string): TenantInfo | undefined {
  return tenants.find((t) => t.name === name && t.state === 'TENANT_STATE_ACTIVE');
}
