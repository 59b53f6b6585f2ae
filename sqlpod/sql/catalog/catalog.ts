// One immutable version of a tenant's catalog, as read at some snapshot.
// Sessions resolve names against it; DDL writes new descriptors and bumps the
// version, and every pod notices the new version on the next transaction that
// reads it (see ../txn.ts).
import { SQLSTATE, SqlError } from '../errors.js';
import type {
  DatabaseDescriptor,
  Descriptor,
  ForeignKeyDescriptor,
  IndexDescriptor,
  RoleDescriptor,
  SchemaDescriptor,
  SequenceDescriptor,
  TableDescriptor,
  ViewDescriptor,
} from './descriptors.js';

export type Relation = TableDescriptor | SequenceDescriptor | ViewDescriptor;

export class Catalog {
  private readonly byId = new Map<number, Descriptor>();
  private readonly databases = new Map<string, DatabaseDescriptor>();
  private readonly schemas = new Map<string, SchemaDescriptor>();
  private readonly relations = new Map<string, Relation>();
  private referencedBy: Map<number, { table: TableDescriptor; fk: ForeignKeyDescriptor }[]> | null = null;

  constructor(
    readonly version: bigint,
    descriptors: readonly Descriptor[],
    readonly roles: ReadonlyMap<string, RoleDescriptor>,
  ) {
    for (const d of descriptors) {
      this.byId.set(d.id, d);
      if (d.kind === 'database') this.databases.set(d.name, d);
      else if (d.kind === 'schema') this.schemas.set(`${d.databaseId}/${d.name}`, d);
      else this.relations.set(`${d.schemaId}/${d.name}`, d);
    }
  }

  get descriptors(): IterableIterator<Descriptor> {
    return this.byId.values();
  }

  byIdOf(id: number): Descriptor | undefined {
    return this.byId.get(id);
  }

  database(name: string): DatabaseDescriptor | undefined {
    return this.databases.get(name);
  }

  schema(databaseId: number, name: string): SchemaDescriptor | undefined {
    return this.schemas.get(`${databaseId}/${name}`);
  }

  schemasOf(databaseId: number): SchemaDescriptor[] {
    return [...this.byId.values()].filter((d): d is SchemaDescriptor => d.kind === 'schema' && d.databaseId === databaseId);
  }

  relation(schemaId: number, name: string): Relation | undefined {
    return this.relations.get(`${schemaId}/${name}`);
  }

  relationsOf(schemaId: number): Relation[] {
    return [...this.relations.values()].filter((r) => r.schemaId === schemaId);
  }

  table(id: number): TableDescriptor | undefined {
    const d = this.byId.get(id);
    return d?.kind === 'table' ? d : undefined;
  }

  /** The index (of any table) with this name in a schema: index names share the relation namespace. */
  indexByName(schemaId: number, name: string): { table: TableDescriptor; indexId: number } | undefined {
    for (const r of this.relations.values()) {
      if (r.kind !== 'table' || r.schemaId !== schemaId) continue;
      if (r.primaryKey.name === name) return { table: r, indexId: r.primaryKey.id };
      const index = r.indexes.find((i) => i.name === name);
      if (index) return { table: r, indexId: index.id };
    }
    return undefined;
  }

  /** The foreign keys (of any table, this one included) that reference a table. */
  referencing(tableId: number): readonly { table: TableDescriptor; fk: ForeignKeyDescriptor }[] {
    if (!this.referencedBy) {
      const by = new Map<number, { table: TableDescriptor; fk: ForeignKeyDescriptor }[]>();
      for (const d of this.byId.values()) {
        if (d.kind !== 'table') continue;
        for (const fk of d.foreignKeys ?? []) by.set(fk.refTableId, [...(by.get(fk.refTableId) ?? []), { table: d, fk }]);
      }
      this.referencedBy = by;
    }
    return this.referencedBy.get(tableId) ?? [];
  }

  role(name: string): RoleDescriptor | undefined {
    return this.roles.get(name);
  }
}

/** The primary key or unique index whose columns are exactly `columnIds` (in any order): what a foreign key may reference. */
export function referencedIndex(table: TableDescriptor, columnIds: readonly number[]): IndexDescriptor | undefined {
  const wanted = new Set(columnIds);
  return [table.primaryKey, ...table.indexes.filter((i) => i.unique)].find(
    (i) => i.columnIds.length === wanted.size && wanted.size === columnIds.length && i.columnIds.every((id) => wanted.has(id)),
  );
}

export interface NameContext {
  readonly databaseId: number;
  /** Schemas searched for unqualified names, in order (search_path). */
  readonly searchPath: readonly string[];
}

export interface QualifiedName {
  readonly catalog?: string | undefined;
  readonly schema?: string | undefined;
  readonly name: string;
}

/** Resolves a possibly qualified relation name; undefined when absent. */
export function findRelation(catalog: Catalog, ctx: NameContext, qn: QualifiedName): Relation | undefined {
  checkCatalogName(catalog, ctx, qn);
  for (const schemaName of qn.schema === undefined ? ctx.searchPath : [qn.schema]) {
    const schema = catalog.schema(ctx.databaseId, schemaName);
    if (!schema) continue;
    const found = catalog.relation(schema.id, qn.name);
    if (found) return found;
  }
  return undefined;
}

/** A table by name, or 42P01 as PostgreSQL reports it. */
export function resolveTable(catalog: Catalog, ctx: NameContext, qn: QualifiedName, position?: number): TableDescriptor {
  const found = findRelation(catalog, ctx, qn);
  if (!found) {
    throw new SqlError(SQLSTATE.UNDEFINED_TABLE, `relation "${displayName(qn)}" does not exist`, position === undefined ? {} : { position });
  }
  if (found.kind !== 'table') {
    throw new SqlError(SQLSTATE.WRONG_OBJECT_TYPE, `"${found.name}" is not a table`, position === undefined ? {} : { position });
  }
  return found;
}

/** The schema new objects go into: the named one, or the first existing schema of the search path. */
export function creationSchema(catalog: Catalog, ctx: NameContext, qn: QualifiedName): SchemaDescriptor {
  checkCatalogName(catalog, ctx, qn);
  if (qn.schema !== undefined) {
    const schema = catalog.schema(ctx.databaseId, qn.schema);
    if (!schema) throw new SqlError(SQLSTATE.INVALID_SCHEMA_NAME, `schema "${qn.schema}" does not exist`);
    return schema;
  }
  for (const name of ctx.searchPath) {
    const schema = catalog.schema(ctx.databaseId, name);
    if (schema) return schema;
  }
  throw new SqlError(SQLSTATE.INVALID_SCHEMA_NAME, 'no schema has been selected to create in');
}

function checkCatalogName(catalog: Catalog, ctx: NameContext, qn: QualifiedName): void {
  if (qn.catalog === undefined) return;
  const current = catalog.byIdOf(ctx.databaseId);
  if (current?.name !== qn.catalog) {
    throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `cross-database references are not implemented: ${displayName(qn)}`);
  }
}

export function displayName(qn: QualifiedName): string {
  return [qn.catalog, qn.schema, qn.name].filter((p) => p !== undefined).join('.');
}
