// pg_namespace, and which schema an unqualified name finds (pg_table_is_visible).
import { columns } from './columns.js';
import { OID, ownerOid, type SystemRow, type SystemView } from './view.js';

export const PG_NAMESPACE_COLUMNS = columns('oid:oid nspname:name nspowner:oid nspacl:array');

/** The schemas of the current database, and the two built-in ones clients filter out by name. */
export function pgNamespaceRows(view: SystemView): SystemRow[] {
  const owner = ownerOid(view);
  const own = view.catalog.schemasOf(view.databaseId).map((s): SystemRow => ({ oid: s.id, nspname: s.name, nspowner: owner }));
  return [{ oid: OID.pgCatalog, nspname: 'pg_catalog', nspowner: owner }, { oid: OID.informationSchema, nspname: 'information_schema', nspowner: owner }, ...own];
}

export function schemaName(view: SystemView, oid: number): string | undefined {
  if (oid === OID.pgCatalog) return 'pg_catalog';
  if (oid === OID.informationSchema) return 'information_schema';
  const d = view.catalog.byIdOf(oid);
  return d?.kind === 'schema' ? d.name : undefined;
}

/**
 * The schema ids an unqualified relation name is looked up in, in order:
 * pg_catalog first unless the path names it (PostgreSQL's implicit rule).
 */
export function searchSchemaIds(view: SystemView): number[] {
  const ids: number[] = view.searchPath.includes('pg_catalog') ? [] : [OID.pgCatalog];
  for (const name of view.searchPath) {
    if (name === 'pg_catalog') ids.push(OID.pgCatalog);
    const s = view.catalog.schema(view.databaseId, name);
    if (s) ids.push(s.id);
  }
  return ids;
}
