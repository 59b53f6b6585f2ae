// The CrdbTenant as the components read it (crds/crdbtenant.yaml is the
// schema the API server enforces; this is what the operator and the proxy
// rely on, with the CRD's defaults applied again for objects written before
// a default existed).
import { z } from 'zod';
import { duration } from '../config/index.js';
import { objectMetaSchema } from './api.js';

export const CRDB_TENANT_GROUP = 'shoal.dev';
export const CRDB_TENANT_VERSION = 'v1alpha1';
export const CRDB_TENANT_API_VERSION = `${CRDB_TENANT_GROUP}/${CRDB_TENANT_VERSION}`;
export const CRDB_TENANT_KIND = 'CrdbTenant';

export function crdbTenantsPath(namespace: string): string {
  return `/apis/${CRDB_TENANT_API_VERSION}/namespaces/${encodeURIComponent(namespace)}/crdbtenants`;
}

export function crdbTenantPath(namespace: string, name: string): string {
  return `${crdbTenantsPath(namespace)}/${encodeURIComponent(name)}`;
}

export const conditionSchema = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().optional(),
  message: z.string().optional(),
  observedGeneration: z.number().optional(),
  lastTransitionTime: z.string().optional(),
});
export type Condition = z.infer<typeof conditionSchema>;

/** A quantity as the API server hands it back: "500m", "1Gi", or a bare integer. */
const quantity = z.union([z.string(), z.number()]);
const cpuAndMemory = z.object({ cpu: quantity.optional(), memory: quantity.optional() });
/** The part of a core/v1 ResourceRequirements a pod can be resized in place to. */
export const sqlPodResourcesSchema = z.object({ requests: cpuAndMemory.optional(), limits: cpuAndMemory.optional() });
export type SqlPodResources = z.infer<typeof sqlPodResourcesSchema>;

export const crdbTenantSpecSchema = z.object({
  tenantId: z.number().int().min(2).optional(),
  replicas: z.number().int().min(0).default(0),
  minReplicas: z.number().int().min(0).default(0),
  maxReplicas: z.number().int().min(1).default(8),
  /** Milliseconds; "0" = never idle. */
  idleTimeout: duration.default(300_000),
  autoscaling: z
    .object({
      targetAverageCpuPerPod: z.number().positive().default(0.6),
      targetPeakCpuPerPod: z.number().positive().default(0.9),
    })
    .default({ targetAverageCpuPerPod: 0.6, targetPeakCpuPerPod: 0.9 }),
  keyspaceRetention: z.enum(['Retain', 'Delete']).default('Delete'),
  sqlPodResources: sqlPodResourcesSchema.optional(),
});
export type CrdbTenantSpec = z.infer<typeof crdbTenantSpecSchema>;

export const crdbTenantStatusSchema = z.object({
  observedGeneration: z.number().optional(),
  tenantId: z.number().optional(),
  state: z.string().optional(),
  replicas: z.number().optional(),
  readyReplicas: z.number().optional(),
  selector: z.string().optional(),
  pods: z.array(z.object({ name: z.string(), state: z.string() })).optional(),
  conditions: z.array(conditionSchema).optional(),
});
export type CrdbTenantStatus = z.infer<typeof crdbTenantStatusSchema>;

export const crdbTenantSchema = z.object({
  metadata: objectMetaSchema,
  spec: crdbTenantSpecSchema.default(crdbTenantSpecSchema.parse({})),
  status: crdbTenantStatusSchema.optional(),
});
export type CrdbTenant = z.infer<typeof crdbTenantSchema>;
