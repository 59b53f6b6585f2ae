// information_schema's constraint views: table_constraints, key_column_usage,
// referential_constraints and constraint_column_usage, which ORMs read to
// introspect primary and foreign keys. As in pg_constraint, a unique index
// is not listed as a constraint (Shoal does not record whether it came from
// UNIQUE or CREATE UNIQUE INDEX), and NOT NULL columns are not listed as
// CHECK constraints (PostgreSQL's names for those embed OIDs).
import { referencedIndex } from '../catalog.js';
import type { ForeignKeyDescriptor, IndexDescriptor, ReferentialAction, TableDescriptor } from '../descriptors.js';
import { columns } from './columns.js';
import { relationsOf, visibleIndexes } from './relations.js';
import type { SystemRow, SystemView } from './view.js';

export const TABLE_CONSTRAINTS_COLUMNS = columns(`
  constraint_catalog:name constraint_schema:name constraint_name:name table_catalog:name table_schema:name
  table_name:name constraint_type:varchar is_deferrable:varchar initially_deferred:varchar enforced:varchar
  nulls_distinct:varchar`);

export const KEY_COLUMN_USAGE_COLUMNS = columns(`
  constraint_catalog:name constraint_schema:name constraint_name:name table_catalog:name table_schema:name
  table_name:name column_name:name ordinal_position:int4 position_in_unique_constraint:int4`);

export const REFERENTIAL_CONSTRAINTS_COLUMNS = columns(`
  constraint_catalog:name constraint_schema:name constraint_name:name unique_constraint_catalog:name
  unique_constraint_schema:name unique_constraint_name:name match_option:varchar update_rule:varchar
  delete_rule:varchar`);

export const CONSTRAINT_COLUMN_USAGE_COLUMNS = columns(`
  table_catalog:name table_schema:name table_name:name column_name:name constraint_catalog:name
  constraint_schema:name constraint_name:name`);

const RULES: Readonly<Record<ReferentialAction, string>> = { a: 'NO ACTION', r: 'RESTRICT', c: 'CASCADE', n: 'SET NULL', d: 'SET DEFAULT' };

interface Names {
  readonly catalog: string;
  schema(id: number): string;
}

function namesOf(view: SystemView): Names {
  const catalog = view.catalog.byIdOf(view.databaseId)?.name ?? '';
  return {
    catalog,
    schema: (id) => {
      const s = view.catalog.byIdOf(id);
      return s?.kind === 'schema' ? s.name : '';
    },
  };
}

function tables(view: SystemView): TableDescriptor[] {
  return relationsOf(view).filter((r): r is TableDescriptor => r.kind === 'table');
}

/** The table's primary key, when it has one of its own (not the hidden rowid). */
function primaryKey(table: TableDescriptor): IndexDescriptor | undefined {
  return visibleIndexes(table).find((i) => i.id === table.primaryKey.id);
}

function columnName(table: TableDescriptor, id: number): string {
  return table.columns.find((c) => c.id === id)?.name ?? '';
}

function owner(n: Names, table: TableDescriptor, constraint: string): SystemRow {
  const schema = n.schema(table.schemaId);
  return { constraint_catalog: n.catalog, constraint_schema: schema, constraint_name: constraint, table_catalog: n.catalog, table_schema: schema, table_name: table.name };
}

export function tableConstraintsRows(view: SystemView): SystemRow[] {
  const n = namesOf(view);
  const rows: SystemRow[] = [];
  const row = (t: TableDescriptor, name: string, type: string, nullsDistinct: string | null) =>
    rows.push({ ...owner(n, t, name), constraint_type: type, is_deferrable: 'NO', initially_deferred: 'NO', enforced: 'YES', nulls_distinct: nullsDistinct });
  for (const t of tables(view)) {
    const pk = primaryKey(t);
    if (pk) row(t, pk.name, 'PRIMARY KEY', null);
    for (const c of t.checks) row(t, c.name, 'CHECK', null);
    for (const fk of t.foreignKeys ?? []) row(t, fk.name, 'FOREIGN KEY', null);
  }
  return rows;
}

export function keyColumnUsageRows(view: SystemView): SystemRow[] {
  const n = namesOf(view);
  const rows: SystemRow[] = [];
  for (const t of tables(view)) {
    const pk = primaryKey(t);
    pk?.columnIds.forEach((id, i) => rows.push({ ...owner(n, t, pk.name), column_name: columnName(t, id), ordinal_position: i + 1, position_in_unique_constraint: null }));
    for (const fk of t.foreignKeys ?? []) {
      const index = referencedKeyOf(view, fk);
      fk.columnIds.forEach((id, i) => {
        const position = index ? index.columnIds.indexOf(fk.refColumnIds[i] ?? 0) + 1 : 0;
        rows.push({ ...owner(n, t, fk.name), column_name: columnName(t, id), ordinal_position: i + 1, position_in_unique_constraint: position || null });
      });
    }
  }
  return rows;
}

function referencedKeyOf(view: SystemView, fk: ForeignKeyDescriptor): IndexDescriptor | undefined {
  const parent = view.catalog.table(fk.refTableId);
  return parent && referencedIndex(parent, fk.refColumnIds);
}

export function referentialConstraintsRows(view: SystemView): SystemRow[] {
  const n = namesOf(view);
  const rows: SystemRow[] = [];
  for (const t of tables(view)) {
    for (const fk of t.foreignKeys ?? []) {
      const parent = view.catalog.table(fk.refTableId);
      const schema = n.schema(t.schemaId);
      rows.push({
        constraint_catalog: n.catalog,
        constraint_schema: schema,
        constraint_name: fk.name,
        unique_constraint_catalog: n.catalog,
        unique_constraint_schema: parent ? n.schema(parent.schemaId) : null,
        unique_constraint_name: referencedKeyOf(view, fk)?.name ?? null,
        match_option: fk.match === 'f' ? 'FULL' : 'NONE',
        update_rule: RULES[fk.onUpdate],
        delete_rule: RULES[fk.onDelete],
      });
    }
  }
  return rows;
}

/** The columns each constraint uses: a key's own, and for a foreign key the referenced ones (as PostgreSQL lists them). */
export function constraintColumnUsageRows(view: SystemView): SystemRow[] {
  const n = namesOf(view);
  const rows: SystemRow[] = [];
  const use = (table: TableDescriptor, column: number, on: TableDescriptor, constraint: string) => {
    const schema = n.schema(table.schemaId);
    rows.push({ table_catalog: n.catalog, table_schema: schema, table_name: table.name, column_name: columnName(table, column), constraint_catalog: n.catalog, constraint_schema: n.schema(on.schemaId), constraint_name: constraint });
  };
  for (const t of tables(view)) {
    const pk = primaryKey(t);
    for (const id of pk?.columnIds ?? []) use(t, id, t, pk?.name ?? '');
    for (const fk of t.foreignKeys ?? []) {
      const parent = view.catalog.table(fk.refTableId);
      if (parent) for (const id of fk.refColumnIds) use(parent, id, t, fk.name);
    }
  }
  return rows;
}
