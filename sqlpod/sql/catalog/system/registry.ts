// Every virtual relation by schema and name, with the OID a regclass cast
// gives it (PostgreSQL's own where clients rely on it: pg_class is 1259).
// Relations for things Shoal does not have (policies, triggers,
// publications, inheritance, comments) exist and are empty, so catalog
// queries that join them get PostgreSQL's answer for a database without them.
import { columns } from './columns.js';
import {
  constraintColumnUsageRows,
  keyColumnUsageRows,
  referentialConstraintsRows,
  tableConstraintsRows,
  CONSTRAINT_COLUMN_USAGE_COLUMNS,
  KEY_COLUMN_USAGE_COLUMNS,
  REFERENTIAL_CONSTRAINTS_COLUMNS,
  TABLE_CONSTRAINTS_COLUMNS,
} from './constraints.js';
import { pgDatabaseRows, pgTablespaceRows, PG_DATABASE_COLUMNS, PG_TABLESPACE_COLUMNS } from './databases.js';
import { columnsRows, schemataRows, tablesRows, COLUMNS_COLUMNS, SCHEMATA_COLUMNS, TABLES_COLUMNS } from './information-schema.js';
import { pgNamespaceRows, PG_NAMESPACE_COLUMNS } from './namespaces.js';
import {
  pgAmRows,
  pgAttrdefRows,
  pgAttributeRows,
  pgClassRows,
  pgConstraintRows,
  pgDependRows,
  pgIndexRows,
  pgSequenceRows,
  PG_AM_COLUMNS,
  PG_ATTRDEF_COLUMNS,
  PG_ATTRIBUTE_COLUMNS,
  PG_CLASS_COLUMNS,
  PG_CONSTRAINT_COLUMNS,
  PG_DEPEND_COLUMNS,
  PG_INDEX_COLUMNS,
  PG_SEQUENCE_COLUMNS,
} from './relations.js';
import { pgAuthidRows, pgRolesRows, pgUserRows, PG_AUTHID_COLUMNS, PG_AUTH_MEMBERS_COLUMNS, PG_ROLES_COLUMNS, PG_USER_COLUMNS } from './roles.js';
import { pgCollationRows, pgEnumRows, pgTypeRows, PG_COLLATION_COLUMNS, PG_ENUM_COLUMNS, PG_TYPE_COLUMNS } from './types.js';
import {
  pgIndexesRows,
  pgSequencesRows,
  pgTablesRows,
  pgViewsRows,
  PG_INDEXES_COLUMNS,
  PG_MATVIEWS_COLUMNS,
  PG_SEQUENCES_COLUMNS,
  PG_TABLES_COLUMNS,
  PG_VIEWS_COLUMNS,
} from './views.js';
import { OID, type SystemColumn, type SystemRow, type SystemTable, type SystemView } from './view.js';

const none = (): SystemRow[] => [];

function table(schema: SystemTable['schema'], name: string, oid: number, cols: readonly SystemColumn[], rows: (view: SystemView) => readonly SystemRow[]): SystemTable {
  return { schema, name, oid, columns: cols, rows };
}

// Not PostgreSQL's OIDs for these (they vary by version); any OID below 100 + descriptor ids is free.
let nextOid = 20;
const pg = (name: string, oid: number | null, cols: readonly SystemColumn[], rows: (view: SystemView) => readonly SystemRow[]) => table('pg_catalog', name, oid ?? nextOid++, cols, rows);
const is = (name: string, cols: readonly SystemColumn[], rows: (view: SystemView) => readonly SystemRow[]) => table('information_schema', name, nextOid++, cols, rows);

export const SYSTEM_TABLES: readonly SystemTable[] = [
  pg('pg_class', OID.pgClass, PG_CLASS_COLUMNS, pgClassRows),
  pg('pg_namespace', 2615, PG_NAMESPACE_COLUMNS, pgNamespaceRows),
  pg('pg_attribute', 1249, PG_ATTRIBUTE_COLUMNS, pgAttributeRows),
  pg('pg_type', 1247, PG_TYPE_COLUMNS, pgTypeRows),
  pg('pg_enum', 3501, PG_ENUM_COLUMNS, pgEnumRows),
  pg('pg_index', 2610, PG_INDEX_COLUMNS, pgIndexRows),
  pg('pg_am', 2601, PG_AM_COLUMNS, pgAmRows),
  pg('pg_database', 1262, PG_DATABASE_COLUMNS, pgDatabaseRows),
  pg('pg_roles', null, PG_ROLES_COLUMNS, pgRolesRows),
  pg('pg_authid', 1260, PG_AUTHID_COLUMNS, pgAuthidRows),
  pg('pg_user', null, PG_USER_COLUMNS, pgUserRows),
  pg('pg_auth_members', 1261, PG_AUTH_MEMBERS_COLUMNS, none),
  pg('pg_attrdef', 2604, PG_ATTRDEF_COLUMNS, pgAttrdefRows),
  pg('pg_constraint', 2606, PG_CONSTRAINT_COLUMNS, pgConstraintRows),
  pg('pg_collation', 3456, PG_COLLATION_COLUMNS, pgCollationRows),
  pg('pg_tablespace', 1213, PG_TABLESPACE_COLUMNS, pgTablespaceRows),
  pg('pg_sequence', 2224, PG_SEQUENCE_COLUMNS, pgSequenceRows),
  pg('pg_depend', 2608, PG_DEPEND_COLUMNS, pgDependRows),
  pg('pg_description', 2609, columns('objoid:oid classoid:oid objsubid:int4 description:text'), none),
  pg('pg_shdescription', 2396, columns('objoid:oid classoid:oid description:text'), none),
  pg('pg_inherits', 2611, columns('inhrelid:oid inhparent:oid inhseqno:int4 inhdetachpending:bool'), none),
  pg('pg_policy', 3256, columns('oid:oid polname:name polrelid:oid polcmd:char polpermissive:bool polroles:array polqual:node polwithcheck:node'), none),
  pg(
    'pg_trigger',
    2620,
    columns(`oid:oid tgrelid:oid tgparentid:oid tgname:name tgfoid:oid tgtype:int2 tgenabled:char tgisinternal:bool
      tgconstrrelid:oid tgconstrindid:oid tgconstraint:oid tgdeferrable:bool tginitdeferred:bool tgnargs:int2
      tgattr:text tgargs:text tgqual:node tgoldtable:name tgnewtable:name`),
    none,
  ),
  pg('pg_rewrite', 2618, columns('oid:oid rulename:name ev_class:oid ev_type:char ev_enabled:char is_instead:bool ev_qual:node ev_action:node'), none),
  pg('pg_statistic_ext', 3381, columns('oid:oid stxrelid:oid stxname:name stxnamespace:oid stxowner:oid stxstattarget:int4 stxkeys:text stxkind:array stxexprs:node'), none),
  pg('pg_publication', 6104, columns('oid:oid pubname:name pubowner:oid puballtables:bool pubinsert:bool pubupdate:bool pubdelete:bool pubtruncate:bool pubviaroot:bool'), none),
  pg('pg_publication_rel', 6106, columns('oid:oid prpubid:oid prrelid:oid prqual:node prattrs:array'), none),
  pg('pg_publication_namespace', 6237, columns('oid:oid pnpubid:oid pnnspid:oid'), none),
  pg('pg_extension', 3079, columns('oid:oid extname:name extowner:oid extnamespace:oid extrelocatable:bool extversion:text extconfig:array extcondition:array'), none),
  pg('pg_foreign_table', 3118, columns('ftrelid:oid ftserver:oid ftoptions:array'), none),
  pg('pg_partitioned_table', 3350, columns('partrelid:oid partstrat:char partnatts:int2 partdefid:oid partattrs:text partclass:text partcollation:text partexprs:node'), none),
  pg('pg_tables', null, PG_TABLES_COLUMNS, pgTablesRows),
  pg('pg_indexes', null, PG_INDEXES_COLUMNS, pgIndexesRows),
  pg('pg_views', null, PG_VIEWS_COLUMNS, pgViewsRows),
  pg('pg_matviews', null, PG_MATVIEWS_COLUMNS, none),
  pg('pg_sequences', null, PG_SEQUENCES_COLUMNS, pgSequencesRows),
  is('tables', TABLES_COLUMNS, tablesRows),
  is('columns', COLUMNS_COLUMNS, columnsRows),
  is('schemata', SCHEMATA_COLUMNS, schemataRows),
  is('table_constraints', TABLE_CONSTRAINTS_COLUMNS, tableConstraintsRows),
  is('key_column_usage', KEY_COLUMN_USAGE_COLUMNS, keyColumnUsageRows),
  is('referential_constraints', REFERENTIAL_CONSTRAINTS_COLUMNS, referentialConstraintsRows),
  is('constraint_column_usage', CONSTRAINT_COLUMN_USAGE_COLUMNS, constraintColumnUsageRows),
];

const BY_NAME = new Map(SYSTEM_TABLES.map((t) => [`${t.schema}.${t.name}`, t]));

export function systemTable(schema: string, name: string): SystemTable | undefined {
  return BY_NAME.get(`${schema}.${name}`);
}

export function systemTableByOid(oid: number): SystemTable | undefined {
  return SYSTEM_TABLES.find((t) => t.oid === oid);
}

/** The values of a row in column order; NULL for what the builder left out. */
export function rowValues(t: SystemTable, row: SystemRow): SystemRow[string][] {
  return t.columns.map((c) => row[c.name] ?? null);
}
