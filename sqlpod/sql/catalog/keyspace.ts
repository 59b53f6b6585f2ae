// Where the SQL layer keeps things inside its tenant's keyspace (design
// brief, "Keyspace"): /<tenant>/<table>/<index>/<key columns>. Table ids
// below FIRST_USER_ID are the catalog's own tables.
import { encodeUvarint, prefixEnd, tenantPrefix, type Span } from '../../../shared/keys/index.js';

export const DESCRIPTORS_TABLE = 1;
export const COUNTERS_TABLE = 2;
export const ROLES_TABLE = 3;
export const SEQUENCES_TABLE = 4;
/** Advisory locks held by sessions of any pod of the tenant (../locks). */
export const ADVISORY_LOCKS_TABLE = 5;
export const FIRST_USER_ID = 100;

/** Counters in COUNTERS_TABLE. */
export const CATALOG_VERSION = 1;
export const NEXT_DESCRIPTOR_ID = 2;

export class Keyspace {
  readonly prefix: Buffer;

  constructor(readonly tenantId: number) {
    this.prefix = tenantPrefix(tenantId);
  }

  /** /<tenant>/<table>/<index>/ — every key of one index starts with this. */
  indexPrefix(tableId: number, indexId: number): Buffer {
    return Buffer.concat([this.prefix, encodeUvarint(tableId), encodeUvarint(indexId)]);
  }

  indexSpan(tableId: number, indexId: number): Span {
    const start = this.indexPrefix(tableId, indexId);
    return { startKey: start, endKey: prefixEnd(start) };
  }

  tableSpan(tableId: number): Span {
    const start = Buffer.concat([this.prefix, encodeUvarint(tableId)]);
    return { startKey: start, endKey: prefixEnd(start) };
  }

  descriptorKey(id: number): Buffer {
    return Buffer.concat([this.indexPrefix(DESCRIPTORS_TABLE, 1), encodeUvarint(id)]);
  }

  descriptorSpan(): Span {
    return this.indexSpan(DESCRIPTORS_TABLE, 1);
  }

  counterKey(counter: number): Buffer {
    return Buffer.concat([this.indexPrefix(COUNTERS_TABLE, 1), encodeUvarint(counter)]);
  }

  roleKey(name: string): Buffer {
    return Buffer.concat([this.indexPrefix(ROLES_TABLE, 1), Buffer.from(name, 'utf8')]);
  }

  roleSpan(): Span {
    return this.indexSpan(ROLES_TABLE, 1);
  }

  /** Descriptors, counters and roles: adjacent tables, so one scan reads the whole catalog and its version. */
  catalogSpan(): Span {
    return { startKey: this.tableSpan(DESCRIPTORS_TABLE).startKey, endKey: this.tableSpan(ROLES_TABLE).endKey };
  }

  sequenceKey(id: number): Buffer {
    return Buffer.concat([this.indexPrefix(SEQUENCES_TABLE, 1), encodeUvarint(id)]);
  }

  /** /<tenant>/5/1/<database id>/<tag>: a lock's tag names its space and key (../locks/tag.ts). */
  advisoryLockKey(databaseId: number, tag: Buffer): Buffer {
    return Buffer.concat([this.indexPrefix(ADVISORY_LOCKS_TABLE, 1), encodeUvarint(databaseId), tag]);
  }
}

export function encodeCounter(value: bigint): Buffer {
  return Buffer.from(value.toString(), 'ascii');
}

export function decodeCounter(raw: Buffer | null): bigint {
  if (raw === null) return 0n;
  const text = raw.toString('ascii');
  if (!/^-?\d+$/.test(text)) throw new Error(`catalog counter is corrupt: ${JSON.stringify(text)}`);
  return BigInt(text);
}
