// The tenant registry: which tenant keyspaces exist. It lives in the system
// tenant's keyspace like any other data (MVCC, committed through the
// committer), and in memory for the per-request check. IDs are never reused:
// a destroyed tenant keeps its record, marked dropped.
import { z } from 'zod';
import { KvError } from '../../shared/kv/errors.js';
import type { Timestamp } from '../../shared/kv/timestamp.js';
import { encodeUvarint, keyNext, MIN_TENANT_ID, SYSTEM_TENANT_ID, TENANT_NAME, tenantPrefix, tenantSpan } from '../../shared/keys/index.js';
import type { MvccReader } from '../storage/mvcc.js';
import type { Rocks } from '../storage/rocks.js';
import { boundOf } from '../storage/mvcc-encoding.js';
import type { Committer } from '../txn/committer.js';

const SYSTEM = tenantPrefix(SYSTEM_TENANT_ID);
const RECORDS = Buffer.concat([SYSTEM, encodeUvarint(1)]);
const NEXT_ID_KEY = Buffer.concat([SYSTEM, encodeUvarint(2)]);

const recordSchema = z.object({
  tenantId: z.number().int().min(MIN_TENANT_ID),
  name: z.string().regex(TENANT_NAME),
  state: z.enum(['active', 'dropping', 'dropped']),
  createdTs: z.object({ wallMs: z.number(), logical: z.number() }),
});
export type TenantRecord = z.infer<typeof recordSchema>;

function recordKey(tenantId: number): Buffer {
  return Buffer.concat([RECORDS, encodeUvarint(tenantId)]);
}

function pointSpan(key: Buffer) {
  return { startKey: key, endKey: keyNext(key) };
}

export class TenantRegistry {
  private readonly tenants = new Map<number, TenantRecord>();
  private nextId = MIN_TENANT_ID;
  /** Admin changes run one at a time; the committer still validates them. */
  private serial: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly rocks: Rocks,
    private readonly reader: MvccReader,
    private readonly committer: Committer,
  ) {}

  static async load(rocks: Rocks, reader: MvccReader, committer: Committer): Promise<TenantRegistry> {
    const registry = new TenantRegistry(rocks, reader, committer);
    const ts = committer.applied;
    const page = await reader.scan(
      { startKey: RECORDS, endKey: Buffer.concat([SYSTEM, encodeUvarint(2)]) },
      ts,
      false,
      { limit: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER },
    );
    for (const kv of page.kvs) {
      const record = recordSchema.parse(JSON.parse(kv.value.toString('utf8')));
      registry.tenants.set(record.tenantId, record);
    }
    const next = await reader.get(NEXT_ID_KEY, ts);
    registry.nextId = next ? Number(next.toString('utf8')) : MIN_TENANT_ID;
    // A destroy interrupted by a crash is finished on the next start.
    for (const record of registry.tenants.values()) {
      if (record.state === 'dropping') await registry.destroy(record.tenantId);
    }
    return registry;
  }

  /** Throws UNKNOWN_TENANT unless the tenant's keyspace exists and is usable. */
  requireActive(tenantId: number): void {
    if (this.tenants.get(tenantId)?.state !== 'active') {
      throw new KvError('UNKNOWN_TENANT', `tenant ${tenantId} has no keyspace on this cluster (never created, or destroyed)`);
    }
  }

  list(): TenantRecord[] {
    return [...this.tenants.values()].sort((a, b) => a.tenantId - b.tenantId);
  }

  /**
   * Creates a tenant keyspace, with `tenantId` or the next unused ID.
   * Repeating a successful create (same ID and name) returns the same tenant.
   */
  create(name: string, tenantId: number | undefined): Promise<TenantRecord> {
    return this.exclusive(async () => {
      if (!TENANT_NAME.test(name)) {
        throw new KvError('INVALID_REQUEST', `tenant name "${name}" must be a DNS-1123 label (lowercase letters, digits, '-')`);
      }
      const existing = tenantId === undefined ? undefined : this.tenants.get(tenantId);
      if (existing?.state === 'active' && existing.name === name) return existing;
      if (existing) {
        throw new KvError('TENANT_EXISTS', `tenant ID ${tenantId} is ${existing.state === 'active' ? `in use by "${existing.name}"` : 'retired'}; IDs are never reused`);
      }
      const sameName = [...this.tenants.values()].find((t) => t.name === name && t.state === 'active');
      if (sameName) throw new KvError('TENANT_EXISTS', `tenant name "${name}" is in use by tenant ${sameName.tenantId}`);
      if (tenantId !== undefined && tenantId < MIN_TENANT_ID) {
        throw new KvError('INVALID_REQUEST', `tenant ID must be >= ${MIN_TENANT_ID}`);
      }
      const id = tenantId ?? this.nextId;
      // A fresh clock reading, not the last commit's timestamp: on a kvpod that only
      // served reads for a while that one is older than the conflict horizon.
      const readTs = await this.committer.readTimestamp(null);
      const record: TenantRecord = { tenantId: id, name, state: 'active', createdTs: readTs };
      await this.committer.commit({
        readTs,
        readSpans: [pointSpan(recordKey(id)), pointSpan(NEXT_ID_KEY)],
        mutations: [
          { kind: 'put', key: recordKey(id), value: Buffer.from(JSON.stringify(record)) },
          { kind: 'put', key: NEXT_ID_KEY, value: Buffer.from(String(Math.max(this.nextId, id + 1))) },
        ],
      });
      this.tenants.set(id, record);
      this.nextId = Math.max(this.nextId, id + 1);
      return record;
    });
  }

  /** Retires the tenant ID and removes everything under its prefix. Idempotent. */
  destroy(tenantId: number): Promise<TenantRecord> {
    return this.exclusive(async () => {
      const record = this.tenants.get(tenantId);
      if (!record) throw new KvError('UNKNOWN_TENANT', `tenant ${tenantId} was never created`);
      if (record.state === 'dropped') return record;
      // Inactive before the commit is queued: every tenant commit already
      // admitted is queued ahead of it, so applied before the data is cleared.
      const dropping: TenantRecord = { ...record, state: 'dropping' };
      this.tenants.set(tenantId, dropping);
      await this.writeRecord(dropping);
      const span = tenantSpan(tenantId);
      await this.rocks.clear({ gte: boundOf(span.startKey), lt: boundOf(span.endKey) });
      const dropped: TenantRecord = { ...record, state: 'dropped' };
      await this.writeRecord(dropped);
      this.tenants.set(tenantId, dropped);
      return dropped;
    });
  }

  private async writeRecord(record: TenantRecord): Promise<Timestamp> {
    return this.committer.commit({
      readTs: null,
      readSpans: [],
      mutations: [{ kind: 'put', key: recordKey(record.tenantId), value: Buffer.from(JSON.stringify(record)) }],
    });
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.serial.then(work, work);
    this.serial = run.catch(() => undefined);
    return run;
  }
}
