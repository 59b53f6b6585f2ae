// Reading and writing the catalog inside a KV transaction. Every change of a
// descriptor or role bumps the catalog version in the same transaction, so
// any transaction that read the old version (every SQL transaction does, see
// ../txn.ts) conflicts with it and is retried on the new schema.
import type { Transaction } from '../../../shared/kv/client/index.js';
import { Catalog } from './catalog.js';
import { descriptorSchema, roleSchema, type Descriptor, type RoleDescriptor } from './descriptors.js';
import type { Keyspace} from './keyspace.js';
import { CATALOG_VERSION, FIRST_USER_ID, NEXT_DESCRIPTOR_ID, decodeCounter, encodeCounter } from './keyspace.js';

export class CatalogCorruptError extends Error {
  override readonly name = 'CatalogCorruptError';
}

export async function readCatalogVersion(txn: Transaction, ks: Keyspace): Promise<bigint> {
  return decodeCounter(await txn.get(ks.counterKey(CATALOG_VERSION)));
}

/**
 * Reads the whole catalog and its version in one scan, at the transaction's
 * snapshot: a resuming pod's first KV read, so one round trip rather than a
 * version read followed by the descriptor and role spans.
 */
export async function loadCatalog(txn: Transaction, ks: Keyspace): Promise<Catalog> {
  const versionKey = ks.counterKey(CATALOG_VERSION);
  const descriptorPrefix = ks.descriptorSpan().startKey;
  const rolePrefix = ks.roleSpan().startKey;
  let version = 0n;
  const descriptors: Descriptor[] = [];
  const roles = new Map<string, RoleDescriptor>();
  for (const kv of await txn.scan(ks.catalogSpan())) {
    if (kv.key.equals(versionKey)) version = decodeCounter(kv.value);
    else if (hasPrefix(kv.key, descriptorPrefix)) descriptors.push(parseDescriptor(kv.value));
    else if (hasPrefix(kv.key, rolePrefix)) {
      const role = parseJson(kv.value, roleSchema, 'role');
      roles.set(role.name, role);
    }
  }
  return new Catalog(version, descriptors, roles);
}

function hasPrefix(key: Buffer, prefix: Buffer): boolean {
  return key.length >= prefix.length && key.subarray(0, prefix.length).equals(prefix);
}

export class CatalogWriter {
  private bumped = false;

  constructor(
    private readonly txn: Transaction,
    private readonly ks: Keyspace,
    private readonly version: bigint,
  ) {}

  async allocateId(): Promise<number> {
    const key = this.ks.counterKey(NEXT_DESCRIPTOR_ID);
    const next = decodeCounter(await this.txn.get(key));
    const id = next < BigInt(FIRST_USER_ID) ? FIRST_USER_ID : Number(next);
    this.txn.put(key, encodeCounter(BigInt(id + 1)));
    return id;
  }

  putDescriptor(d: Descriptor): void {
    this.txn.put(this.ks.descriptorKey(d.id), Buffer.from(JSON.stringify(descriptorSchema.parse(d)), 'utf8'));
    this.bump();
  }

  deleteDescriptor(id: number): void {
    this.txn.delete(this.ks.descriptorKey(id));
    this.bump();
  }

  putRole(role: RoleDescriptor): void {
    this.txn.put(this.ks.roleKey(role.name), Buffer.from(JSON.stringify(roleSchema.parse(role)), 'utf8'));
    this.bump();
  }

  deleteRole(name: string): void {
    this.txn.delete(this.ks.roleKey(name));
    this.bump();
  }

  /** The version this transaction's catalog will have once committed. */
  get nextVersion(): bigint {
    return this.version + 1n;
  }

  private bump(): void {
    if (this.bumped) return;
    this.bumped = true;
    this.txn.put(this.ks.counterKey(CATALOG_VERSION), encodeCounter(this.version + 1n));
  }
}

function parseDescriptor(raw: Buffer): Descriptor {
  return parseJson(raw, descriptorSchema, 'descriptor');
}

function parseJson<T>(raw: Buffer, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { message: string } } }, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new CatalogCorruptError(`${what} is not JSON`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new CatalogCorruptError(`${what} is invalid: ${parsed.error.message}`);
  return parsed.data;
}
