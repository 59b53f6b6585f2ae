// information_schema.tables, columns and schemata: the SQL standard's view of
// the catalog, which ORMs and migration tools (knex's hasTable/hasColumn) read.
// Only the tenant's own relations are listed: PostgreSQL also lists its
// pg_catalog tables to a superuser, which no client looks for there.
import { T, type SqlType } from '../../types/index.js';
import { numericTypmodPrecision, numericTypmodScale } from '../../types/catalog.js';
import { columns } from './columns.js';
import { deparseStored } from './deparse.js';
import { columnType, relationsOf } from './relations.js';
import { ownerName, type SystemRow, type SystemView } from './view.js';

// sql_identifier is a domain over name, character_data and yes_or_no over
// varchar, cardinal_number over integer: the base types are what clients see on the wire.
export const TABLES_COLUMNS = columns(`
  table_catalog:name table_schema:name table_name:name table_type:varchar self_referencing_column_name:name
  reference_generation:varchar user_defined_type_catalog:name user_defined_type_schema:name
  user_defined_type_name:name is_insertable_into:varchar is_typed:varchar commit_action:varchar`);

function databaseName(view: SystemView): string {
  return view.catalog.byIdOf(view.databaseId)?.name ?? '';
}

function schemaOf(view: SystemView, id: number): string {
  const s = view.catalog.byIdOf(id);
  return s?.kind === 'schema' ? s.name : '';
}

function enumSchema(view: SystemView, typeOid: number): string | undefined {
  const d = view.catalog.enumByOid(typeOid);
  return d && schemaOf(view, d.schemaId);
}

export function tablesRows(view: SystemView): SystemRow[] {
  const rows: SystemRow[] = [];
  for (const r of relationsOf(view)) {
    if (r.kind === 'sequence') continue;
    rows.push({
      table_catalog: databaseName(view),
      table_schema: schemaOf(view, r.schemaId),
      table_name: r.name,
      table_type: r.kind === 'table' ? 'BASE TABLE' : 'VIEW',
      is_insertable_into: r.kind === 'table' ? 'YES' : 'NO',
      is_typed: 'NO',
    });
  }
  return rows;
}

export const COLUMNS_COLUMNS = columns(`
  table_catalog:name table_schema:name table_name:name column_name:name ordinal_position:int4
  column_default:varchar is_nullable:varchar data_type:varchar character_maximum_length:int4
  character_octet_length:int4 numeric_precision:int4 numeric_precision_radix:int4 numeric_scale:int4
  datetime_precision:int4 interval_type:varchar interval_precision:int4 character_set_catalog:name
  character_set_schema:name character_set_name:name collation_catalog:name collation_schema:name
  collation_name:name domain_catalog:name domain_schema:name domain_name:name udt_catalog:name
  udt_schema:name udt_name:name scope_catalog:name scope_schema:name scope_name:name
  maximum_cardinality:int4 dtd_identifier:name is_self_referencing:varchar is_identity:varchar
  identity_generation:varchar identity_start:varchar identity_increment:varchar identity_maximum:varchar
  identity_minimum:varchar identity_cycle:varchar is_generated:varchar generation_expression:varchar
  is_updatable:varchar`);

/** PostgreSQL's _pg_char_max_length, _pg_numeric_precision/_radix/_scale and _pg_datetime_precision. */
export function typeFacts(t: SqlType): SystemRow {
  const chars = t.oid === T.varchar.oid || t.oid === T.bpchar.oid;
  const maxLength = chars && t.typmod >= 0 ? t.typmod - 4 : null;
  const facts: Record<string, number | null> = {
    character_maximum_length: maxLength,
    character_octet_length: t.category === 'S' && t.oid !== T.name.oid ? (maxLength === null ? 1073741824 : maxLength * 4) : null,
    numeric_precision: null,
    numeric_precision_radix: null,
    numeric_scale: null,
    datetime_precision: null,
  };
  const binary: Readonly<Record<number, number>> = { [T.int2.oid]: 16, [T.int4.oid]: 32, [T.int8.oid]: 64, [T.float4.oid]: 24, [T.float8.oid]: 53 };
  const bits = binary[t.oid];
  if (bits !== undefined) {
    facts.numeric_precision = bits;
    facts.numeric_precision_radix = 2;
    facts.numeric_scale = t.category === 'N' && bits <= 64 && t.oid !== T.float4.oid && t.oid !== T.float8.oid ? 0 : null;
  } else if (t.oid === T.numeric.oid) {
    facts.numeric_precision_radix = 10;
    if (t.typmod >= 0) {
      facts.numeric_precision = numericTypmodPrecision(t.typmod);
      facts.numeric_scale = numericTypmodScale(t.typmod);
    }
  } else if (t.oid === T.date.oid) {
    facts.datetime_precision = 0;
  } else if (t.oid === T.timestamp.oid || t.oid === T.timestamptz.oid || t.oid === T.interval.oid) {
    facts.datetime_precision = t.typmod >= 0 ? t.typmod : 6;
  }
  return facts;
}

export function columnsRows(view: SystemView): SystemRow[] {
  const rows: SystemRow[] = [];
  const catalogName = databaseName(view);
  for (const r of relationsOf(view)) {
    if (r.kind === 'sequence') continue;
    const schema = schemaOf(view, r.schemaId);
    const key = r.kind === 'table' ? new Set(r.primaryKey.columnIds) : new Set<number>();
    const cols =
      r.kind === 'table'
        ? r.columns.map((c, i) => ({ c, num: i + 1, notNull: c.notNull || key.has(c.id), hidden: c.hidden, dflt: c.defaultExpr }))
        : r.columns.map((c, i) => ({ c, num: i + 1, notNull: false, hidden: false, dflt: null }));
    for (const { c, num, notNull, hidden, dflt } of cols) {
      if (hidden) continue;
      const t = columnType(view, c);
      rows.push({
        table_catalog: catalogName,
        table_schema: schema,
        table_name: r.name,
        column_name: c.name,
        ordinal_position: num,
        column_default: dflt === null ? null : deparseStored(dflt, t),
        is_nullable: notNull ? 'NO' : 'YES',
        data_type: t.element ? 'ARRAY' : t.enumLabels ? 'USER-DEFINED' : t.name,
        ...typeFacts(t),
        collation_name: null,
        udt_catalog: catalogName,
        udt_schema: enumSchema(view, t.oid) ?? 'pg_catalog',
        udt_name: t.typname,
        dtd_identifier: String(num),
        is_self_referencing: 'NO',
        is_identity: 'NO',
        identity_cycle: 'NO',
        is_generated: 'NEVER',
        is_updatable: r.kind === 'table' ? 'YES' : 'NO',
      });
    }
  }
  return rows;
}

export const SCHEMATA_COLUMNS = columns(`
  catalog_name:name schema_name:name schema_owner:name default_character_set_catalog:name
  default_character_set_schema:name default_character_set_name:name sql_path:varchar`);

export function schemataRows(view: SystemView): SystemRow[] {
  const owner = ownerName(view);
  const names = ['pg_catalog', 'information_schema', ...view.catalog.schemasOf(view.databaseId).map((s) => s.name)];
  return names.map((schema_name) => ({ catalog_name: databaseName(view), schema_name, schema_owner: owner }));
}
