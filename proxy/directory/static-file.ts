// A fixed routing table: every address is a running pod of its tenant. For
// benchmarks and for fronting any Postgres server; nothing is ever resumed.
import { z } from 'zod';
import { hostPort } from '../../shared/config/index.js';
import { parseJsonFile, tenantRecord } from '../files/index.js';
import { MemoryDirectory } from './memory.js';

const staticRoutingSchema = z.strictObject({
  tenants: tenantRecord(
    z.strictObject({
      addresses: z
        .array(hostPort)
        .min(1, 'a tenant needs at least one address')
        .refine((a) => new Set(a).size === a.length, 'addresses repeat'),
    }),
  ),
});

export type StaticRouting = z.output<typeof staticRoutingSchema>;

/** Throws FileFormatError listing every problem. */
export function parseStaticRouting(text: string): StaticRouting {
  return parseJsonFile(text, staticRoutingSchema, 'static routing file');
}

/** Pods are named after their address, so two tenants fronting one server share its connection count. */
export function staticDirectory(routing: StaticRouting): MemoryDirectory {
  const tenants = Object.fromEntries(
    Object.entries(routing.tenants).map(([tenant, { addresses }]) => [
      tenant,
      addresses.map((address) => ({ name: address, address, state: 'running' as const, tenant })),
    ]),
  );
  return new MemoryDirectory({ tenants });
}
