// What the virtual pg_catalog and information_schema relations are built
// from: one catalog version as a session sees it. Shoal has no object
// ownership, no OIDs and no role ids; the stable stand-ins clients see are
// decided here, so every system relation and function agrees on them.
import type { Catalog } from '../catalog.js';
import type { ForeignKeyDescriptor, IndexDescriptor, RoleDescriptor, TableDescriptor } from '../descriptors.js';
import type { Datum, SqlType } from '../../types/index.js';

export interface SystemView {
  readonly catalog: Catalog;
  readonly databaseId: number;
  readonly user: string;
  /** search_path as set: it may name schemas that do not exist. */
  readonly searchPath: readonly string[];
}

export interface SystemColumn {
  readonly name: string;
  readonly type: SqlType;
}

/** A virtual relation: its columns, and its rows as a pure function of the catalog (missing keys are NULL). */
export interface SystemTable {
  readonly schema: 'pg_catalog' | 'information_schema';
  readonly name: string;
  readonly oid: number;
  readonly columns: readonly SystemColumn[];
  rows(view: SystemView): readonly SystemRow[];
}

export type SystemRow = Readonly<Record<string, Datum>>;

/** PostgreSQL's fixed OIDs of the objects every database has. */
export const OID = {
  pgCatalog: 11,
  pgToast: 99,
  /** PostgreSQL's varies by version; Shoal's must only stay clear of descriptor ids (which start at 100). */
  informationSchema: 13,
  heapAm: 2,
  btreeAm: 403,
  defaultTablespace: 1663,
  globalTablespace: 1664,
  defaultCollation: 100,
  cCollation: 950,
  posixCollation: 951,
  utf8Encoding: 6,
  pgClass: 1259,
} as const;

// Relations, schemas and databases use their descriptor id as OID: the wire
// protocol's RowDescription already reports table.id as a column's table OID,
// and clients (pgjdbc, psycopg) join that against pg_class.oid.
//
// Indexes and constraints have no descriptor of their own: they get an OID
// from their table id and their index id (or position) in ranges no
// descriptor id reaches in practice (valid while table ids stay below 250,000
// and index ids below 1,000).
const INDEX_OID_BASE = 1_000_000_000;
const CHECK_OID_BASE = 1_250_000_000;
const ATTRDEF_OID_BASE = 1_500_000_000;
const FOREIGN_KEY_OID_BASE = 1_750_000_000;
const ROLE_OID_BASE = 2_000_000_000;

export function indexOid(tableId: number, indexId: number): number {
  return INDEX_OID_BASE + tableId * 1000 + indexId;
}

export function checkOid(tableId: number, position: number): number {
  return CHECK_OID_BASE + tableId * 1000 + position;
}

export function attrdefOid(tableId: number, attnum: number): number {
  return ATTRDEF_OID_BASE + tableId * 1000 + attnum;
}

export function foreignKeyOid(tableId: number, position: number): number {
  return FOREIGN_KEY_OID_BASE + tableId * 1000 + position;
}

/** The foreign key an OID stands for, if it is a foreign key constraint OID. */
export function foreignKeyOfOid(view: SystemView, oid: number): { table: TableDescriptor; fk: ForeignKeyDescriptor } | undefined {
  if (oid < FOREIGN_KEY_OID_BASE || oid >= ROLE_OID_BASE) return undefined;
  const table = view.catalog.table(Math.floor((oid - FOREIGN_KEY_OID_BASE) / 1000));
  const fk = table?.foreignKeys?.[(oid - FOREIGN_KEY_OID_BASE) % 1000];
  return table && fk ? { table, fk } : undefined;
}

/** The check constraint an OID stands for, if it is a check constraint OID. */
export function checkOfOid(view: SystemView, oid: number): { table: TableDescriptor; position: number } | undefined {
  if (oid < CHECK_OID_BASE || oid >= ATTRDEF_OID_BASE) return undefined;
  const table = view.catalog.table(Math.floor((oid - CHECK_OID_BASE) / 1000));
  const position = (oid - CHECK_OID_BASE) % 1000;
  return table && position < table.checks.length ? { table, position } : undefined;
}

/** The index an OID stands for, if it is an index OID. */
export function indexOfOid(view: SystemView, oid: number): { table: TableDescriptor; index: IndexDescriptor } | undefined {
  if (oid < INDEX_OID_BASE || oid >= CHECK_OID_BASE) return undefined;
  const table = view.catalog.table(Math.floor((oid - INDEX_OID_BASE) / 1000));
  const indexId = (oid - INDEX_OID_BASE) % 1000;
  const index = table && [table.primaryKey, ...table.indexes].find((i) => i.id === indexId);
  return table && index ? { table, index } : undefined;
}

/**
 * Roles are stored by name only: the OID is a hash of the name, so it is the
 * same on every pod and across restarts. The role that bootstraps a
 * tenant is a superuser like PostgreSQL's bootstrap superuser, but does not
 * get OID 10, since renaming roles would then change which one has it.
 */
export function roleOid(name: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(name, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return ROLE_OID_BASE + (h % 2_000_000_000);
}

export function rolesOf(view: SystemView): RoleDescriptor[] {
  return [...view.catalog.roles.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Who owns everything: Shoal has no ownership, and every object is the
 * tenant's, so the owner shown is the tenant's first superuser (the one
 * bootstrap created), else the current user.
 */
export function ownerName(view: SystemView): string {
  return rolesOf(view).find((r) => r.superuser)?.name ?? view.user;
}

export function ownerOid(view: SystemView): number {
  return roleOid(ownerName(view));
}

export function roleNameByOid(view: SystemView, oid: number): string | undefined {
  return rolesOf(view).find((r) => roleOid(r.name) === oid)?.name;
}
