// A schema change in progress: the descriptors as this transaction leaves
// them, written through to KV, and the catalog the rest of the transaction
// sees.
import type { Transaction } from '../../../shared/kv/client/index.js';
import { Catalog } from '../catalog/catalog.js';
import type { Descriptor, RoleDescriptor } from '../catalog/descriptors.js';
import type { Keyspace } from '../catalog/keyspace.js';
import { CatalogWriter } from '../catalog/store.js';

export class CatalogChange {
  private readonly writer: CatalogWriter;
  private readonly descriptors: Map<number, Descriptor>;
  private readonly roles: Map<string, RoleDescriptor>;
  private changed = false;

  constructor(
    txn: Transaction,
    ks: Keyspace,
    readonly before: Catalog,
  ) {
    this.writer = new CatalogWriter(txn, ks, before.version);
    this.descriptors = new Map([...before.descriptors].map((d) => [d.id, d]));
    this.roles = new Map(before.roles);
  }

  allocateId(): Promise<number> {
    return this.writer.allocateId();
  }

  put(d: Descriptor): void {
    this.writer.putDescriptor(d);
    this.descriptors.set(d.id, d);
    this.changed = true;
  }

  remove(id: number): void {
    this.writer.deleteDescriptor(id);
    this.descriptors.delete(id);
    this.changed = true;
  }

  putRole(role: RoleDescriptor): void {
    this.writer.putRole(role);
    this.roles.set(role.name, role);
    this.changed = true;
  }

  removeRole(name: string): void {
    this.writer.deleteRole(name);
    this.roles.delete(name);
    this.changed = true;
  }

  /** The catalog after this change (the old one if nothing changed). */
  result(): Catalog {
    if (!this.changed) return this.before;
    return new Catalog(this.writer.nextVersion, [...this.descriptors.values()], this.roles);
  }
}
