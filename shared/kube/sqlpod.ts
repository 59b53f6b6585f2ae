// A SQL pod as the proxy and the operator read it (design brief, "Names" and
// "Life of a SQL pod"): its labels, its addresses, whether it is ready.
import { z } from 'zod';
import { objectMetaSchema } from './api.js';

export const COMPONENT_LABEL = 'shoal.dev/component';
export const POOL_LABEL = 'shoal.dev/pool';
export const TENANT_LABEL = 'shoal.dev/tenant';
export const STATE_LABEL = 'shoal.dev/state';
export const PREWARMED = 'prewarmed';

/** Ports when the pod's container does not name them (the pool Deployment does). */
export const DEFAULT_PORTS = { sql: 5433, control: 8443, ops: 8080 } as const;

export const sqlPodSchema = z.object({
  metadata: objectMetaSchema,
  spec: z
    .object({
      containers: z.array(
        z.object({
          name: z.string().optional(),
          ports: z.array(z.object({ name: z.string().optional(), containerPort: z.number() })).optional(),
          resources: z.object({ requests: z.record(z.string(), z.string()).optional(), limits: z.record(z.string(), z.string()).optional() }).optional(),
        }),
      ),
    })
    .optional(),
  status: z
    .object({
      podIP: z.string().optional(),
      phase: z.string().optional(),
      conditions: z.array(z.object({ type: z.string(), status: z.string(), reason: z.string().optional(), message: z.string().optional() })).optional(),
      containerStatuses: z.array(z.object({ name: z.string(), restartCount: z.number().optional() })).optional(),
    })
    .optional(),
});
export type SqlPodObject = z.infer<typeof sqlPodSchema>;

/** host:port of the named container port on the pod's IP; undefined without an IP. */
export function podAddress(pod: SqlPodObject, port: keyof typeof DEFAULT_PORTS): string | undefined {
  const ip = pod.status?.podIP;
  if (!ip) return undefined;
  const number = pod.spec?.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === port)?.containerPort ?? DEFAULT_PORTS[port];
  return `${ip.includes(':') ? `[${ip}]` : ip}:${number}`;
}

export function isPodReady(pod: SqlPodObject): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export function restartsOf(pod: SqlPodObject): number {
  return (pod.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);
}
