// PostgreSQL's convenience views over the catalogs that application code and
// scripts query directly: pg_tables, pg_indexes, pg_views, pg_sequences and
// (empty: Shoal has no materialized views) pg_matviews. Like pg_class, they
// list the current database's own relations, not the system catalogs.
import { columns } from './columns.js';
import { indexDefinition } from './deparse.js';
import { schemaName } from './namespaces.js';
import { relationsOf, sequenceBounds, visibleIndexes } from './relations.js';
import { ownerName, type SystemRow, type SystemView } from './view.js';

export const PG_TABLES_COLUMNS = columns('schemaname:name tablename:name tableowner:name tablespace:name hasindexes:bool hasrules:bool hastriggers:bool rowsecurity:bool');

export function pgTablesRows(view: SystemView): SystemRow[] {
  const owner = ownerName(view);
  return relationsOf(view).flatMap((r) =>
    r.kind !== 'table'
      ? []
      : [
          {
            schemaname: schemaName(view, r.schemaId) ?? null,
            tablename: r.name,
            tableowner: owner,
            hasindexes: visibleIndexes(r).length > 0,
            hasrules: false,
            // As pg_class.relhastriggers: PostgreSQL's foreign keys are triggers on both tables.
            hastriggers: (r.foreignKeys?.length ?? 0) > 0 || view.catalog.referencing(r.id).length > 0,
            rowsecurity: false,
          },
        ],
  );
}

export const PG_INDEXES_COLUMNS = columns('schemaname:name tablename:name indexname:name tablespace:name indexdef:text');

export function pgIndexesRows(view: SystemView): SystemRow[] {
  return relationsOf(view).flatMap((r) => {
    if (r.kind !== 'table') return [];
    const schema = schemaName(view, r.schemaId) ?? '';
    return visibleIndexes(r).map((index) => ({ schemaname: schema, tablename: r.name, indexname: index.name, indexdef: indexDefinition(schema, r, index) }));
  });
}

/** `definition` is NULL: views keep their query as a parse tree, and Shoal does not print a whole query back (pg_get_viewdef is 0A000 too). */
export const PG_VIEWS_COLUMNS = columns('schemaname:name viewname:name viewowner:name definition:text');

export function pgViewsRows(view: SystemView): SystemRow[] {
  const owner = ownerName(view);
  return relationsOf(view).flatMap((r) => (r.kind === 'view' ? [{ schemaname: schemaName(view, r.schemaId) ?? null, viewname: r.name, viewowner: owner }] : []));
}

export const PG_MATVIEWS_COLUMNS = columns('schemaname:name matviewname:name matviewowner:name tablespace:name hasindexes:bool ispopulated:bool definition:text');

/**
 * `data_type` is the type's name as regtype prints it; `last_value` is NULL,
 * as PostgreSQL shows it for a sequence not yet used (the value lives in KV,
 * and this view is built from the catalog alone).
 */
export const PG_SEQUENCES_COLUMNS = columns(
  'schemaname:name sequencename:name sequenceowner:name data_type:text start_value:int8 min_value:int8 max_value:int8 increment_by:int8 cycle:bool cache_size:int8 last_value:int8',
);

const TYPE_NAMES: Readonly<Record<number, string>> = { 21: 'smallint', 23: 'integer', 20: 'bigint' };

export function pgSequencesRows(view: SystemView): SystemRow[] {
  const owner = ownerName(view);
  return relationsOf(view).flatMap((s) => {
    if (s.kind !== 'sequence') return [];
    const limits = sequenceBounds(view.catalog, s);
    return [
      {
        schemaname: schemaName(view, s.schemaId) ?? null,
        sequencename: s.name,
        sequenceowner: owner,
        data_type: TYPE_NAMES[limits.typeOid] ?? 'bigint',
        start_value: BigInt(s.start),
        min_value: limits.min,
        max_value: limits.max,
        increment_by: BigInt(s.increment),
        cycle: limits.cycle,
        cache_size: BigInt(s.cache ?? '1'),
      },
    ];
  });
}
