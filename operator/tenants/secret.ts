// The Secret that holds what a tenant's SQL pods are stamped with: its KV
// client certificate, its serving certificate, the host CA, and its first
// administrator. Owned by the CrdbTenant (garbage-collected with it) and
// deleted explicitly by the finalizer.
import { z } from 'zod';
import { objectMetaSchema } from '../../shared/kube/api.js';
import { CRDB_TENANT_API_VERSION, CRDB_TENANT_KIND } from '../../shared/kube/crdbtenant.js';
import { TENANT_LABEL } from './status.js';

export const TENANT_ID_ANNOTATION = 'shoal.dev/tenant-id';

export function tenantSecretName(tenant: string): string {
  return `shoal-tenant-${tenant}`;
}

export function secretsPath(namespace: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`;
}

export interface TenantCredentials {
  readonly tenantId: number;
  readonly caCert: string;
  readonly clientCert: string;
  readonly clientKey: string;
  readonly servingCert: string;
  readonly servingKey: string;
  readonly username: string;
  readonly password: string;
}

const KEYS = {
  caCert: 'ca.crt',
  clientCert: 'client.crt',
  clientKey: 'client.key',
  servingCert: 'serving.crt',
  servingKey: 'serving.key',
  username: 'username',
  password: 'password',
} as const;

export const secretSchema = z.object({ metadata: objectMetaSchema, data: z.record(z.string(), z.string()).optional() });
export type SecretObject = z.infer<typeof secretSchema>;

export function tenantSecret(owner: { readonly name: string; readonly uid: string }, namespace: string, c: TenantCredentials): object {
  const data = Object.fromEntries(Object.entries(KEYS).map(([field, key]) => [key, Buffer.from(c[field as keyof typeof KEYS], 'utf8').toString('base64')]));
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: tenantSecretName(owner.name),
      namespace,
      labels: { 'shoal.dev/component': 'operator', [TENANT_LABEL]: owner.name },
      annotations: { [TENANT_ID_ANNOTATION]: String(c.tenantId) },
      ownerReferences: [{ apiVersion: CRDB_TENANT_API_VERSION, kind: CRDB_TENANT_KIND, name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: true }],
    },
    data,
  };
}

/** The credentials in a tenant Secret; null when it is incomplete or names another tenant ID. */
export function readTenantSecret(secret: SecretObject, tenantId: number): TenantCredentials | null {
  if (secret.metadata.annotations?.[TENANT_ID_ANNOTATION] !== String(tenantId)) return null;
  const fields: Partial<Record<keyof typeof KEYS, string>> = {};
  for (const [field, key] of Object.entries(KEYS) as [keyof typeof KEYS, string][]) {
    const raw = secret.data?.[key];
    if (raw === undefined) return null;
    fields[field] = Buffer.from(raw, 'base64').toString('utf8');
  }
  const { caCert, clientCert, clientKey, servingCert, servingKey, username, password } = fields;
  if (!caCert || !clientCert || !clientKey || !servingCert || !servingKey || !username || !password) return null;
  return { tenantId, caCert, clientCert, clientKey, servingCert, servingKey, username, password };
}
