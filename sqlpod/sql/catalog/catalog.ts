// One immutable version of a tenant's catalog, as read at some snapshot.
// Sessions resolve names against it; DDL writes new descriptors and bumps the
// version, and every pod notices the new version on the next transaction that
// reads it (see ../txn.ts).
import { SQLSTATE, SqlError } from '../errors.js';
import { enumType, typeByOid, type SqlType } from '../types/index.js';
import type {
  DatabaseDescriptor,
  Descriptor,
  EnumTypeDescriptor,
  ForeignKeyDescriptor,
  IndexDescriptor,
  RoleDescriptor,
  SchemaDescriptor,
  SequenceDescriptor,
  TableDescriptor,
  ViewDescriptor,
} from './descriptors.js';

export type Relation = TableDescriptor | SequenceDescriptor | ViewDescriptor;

// An enum type's OID is its descriptor id moved clear of the built-in types'
// OIDs (descriptor ids start at 100, where pg_type's OIDs are) and below the
// ranges of ../catalog/system/view.ts.
const ENUM_TYPE_OID_BASE = 900_000_000;

export function enumTypeOid(id: number): number {
  return ENUM_TYPE_OID_BASE + id;
}

export class Catalog {
  private readonly byId = new Map<number, Descriptor>();
  private readonly databases = new Map<string, DatabaseDescriptor>();
  private readonly schemas = new Map<string, SchemaDescriptor>();
  private readonly relations = new Map<string, Relation>();
  private readonly enums = new Map<string, EnumTypeDescriptor>();
  private readonly enumTypes = new Map<number, SqlType>();
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
      else if (d.kind === 'enum') this.enums.set(`${d.schemaId}/${d.name}`, d);
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

  enum(schemaId: number, name: string): EnumTypeDescriptor | undefined {
    return this.enums.get(`${schemaId}/${name}`);
  }

  enumsOf(databaseId: number): EnumTypeDescriptor[] {
    return [...this.enums.values()].filter((e) => e.databaseId === databaseId);
  }

  /** The enum type with this type OID. */
  enumByOid(oid: number): EnumTypeDescriptor | undefined {
    const d = oid >= ENUM_TYPE_OID_BASE ? this.byId.get(oid - ENUM_TYPE_OID_BASE) : undefined;
    return d?.kind === 'enum' ? d : undefined;
  }

  /** A type by OID: a built-in one or an enum of this catalog. */
  sqlType(oid: number): SqlType | undefined {
    const builtin = typeByOid(oid);
    if (builtin || oid < ENUM_TYPE_OID_BASE) return builtin;
    let t = this.enumTypes.get(oid);
    if (!t) {
      const d = this.enumByOid(oid);
      if (!d) return undefined;
      t = enumSqlType(d);
      this.enumTypes.set(oid, t);
    }
    return t;
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

export function enumSqlType(d: EnumTypeDescriptor): SqlType {
  return enumType(enumTypeOid(d.id), d.name, d.labels);
}

/** An enum type by possibly qualified name, for typeFromName; 3F000 for a named schema that does not exist. */
export function findEnumType(catalog: Catalog, ctx: NameContext, schemaName: string | undefined, name: string): EnumTypeDescriptor | undefined {
  if (schemaName !== undefined && !catalog.schema(ctx.databaseId, schemaName)) throw new SqlError(SQLSTATE.INVALID_SCHEMA_NAME, `schema "${schemaName}" does not exist`);
  for (const s of schemaName === undefined ? ctx.searchPath : [schemaName]) {
    const schema = catalog.schema(ctx.databaseId, s);
    const found = schema && catalog.enum(schema.id, name);
    if (found) return found;
  }
  return undefined;
}

/** typeFromName's lookup of user-defined types in this catalog. */
export function userTypes(catalog: Catalog, ctx: NameContext): (schema: string | undefined, name: string) => SqlType | undefined {
  return (schema, name) => {
    const d = findEnumType(catalog, ctx, schema, name);
    return d && catalog.sqlType(enumTypeOid(d.id));
  };
}

/** Where a column's type OID is looked up: a Catalog (built-in types and its enums). */
export interface TypeSource {
  sqlType(oid: number): SqlType | undefined;
}

/** A column's type with its modifier. */
export function columnType(types: TypeSource, column: { readonly typeOid: number; readonly typmod: number }): SqlType {
  const base = types.sqlType(column.typeOid);
  if (!base) throw new SqlError(SQLSTATE.INTERNAL_ERROR, `catalog names unknown type oid ${column.typeOid}`);
  return column.typmod >= 0 ? { ...base, typmod: column.typmod } : base;
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
