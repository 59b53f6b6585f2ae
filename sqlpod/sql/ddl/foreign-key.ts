// FOREIGN KEY constraints in DDL: defining one (CREATE TABLE, ALTER TABLE
// ADD CONSTRAINT) with PostgreSQL's checks and names, validating the rows a
// table already holds, and what dropping or truncating a referenced table
// does to the constraints on others. Enforcement is ../exec/foreign-keys.ts.
import type { Node } from '@pgsql/types';
import { columnType, findRelation, referencedIndex, type Catalog, type NameContext } from '../catalog/catalog.js';
import { PRIMARY_INDEX_ID, type ForeignKeyDescriptor, type ReferentialAction, type TableDescriptor } from '../catalog/descriptors.js';
import { SQLSTATE, SqlError } from '../errors.js';
import { checkReferenced, resolveForeignKey } from '../exec/foreign-keys.js';
import { codecFor } from '../exec/run.js';
import { qualifiedName, stringsOf } from '../plan/context.js';
import type { Notice } from '../session-api.js';
import { T, type SqlType } from '../types/index.js';
import type { CatalogChange } from './change.js';
import type { DdlEnv } from './index.js';

type ConstraintNode = Extract<Node, { Constraint: unknown }>['Constraint'];

const MAX_NAME = 63;

/**
 * The descriptor for FOREIGN KEY constraint `c` on `table`, which may be the
 * table being created or altered: a reference to its own name means itself.
 * `column` is the column an inline REFERENCES is written on. `taken` tells
 * which constraint names are in use.
 */
export function defineForeignKey(
  table: TableDescriptor,
  c: ConstraintNode,
  column: string | undefined,
  catalog: Catalog,
  names: NameContext,
  taken: (name: string) => boolean,
): ForeignKeyDescriptor {
  if (c.fk_matchtype === 'p') throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'MATCH PARTIAL not yet implemented');
  if (c.deferrable || c.initdeferred) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'DEFERRABLE foreign keys are not supported');
  if (c.fk_del_set_cols?.length) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'ON DELETE SET NULL or SET DEFAULT with a column list is not supported');

  const rv = c.pktable ?? {};
  const qn = qualifiedName(rv);
  const schemaOfTable = catalog.byIdOf(table.schemaId);
  const self = qn.name === table.name && (qn.schema === undefined || (schemaOfTable?.kind === 'schema' && schemaOfTable.name === qn.schema));
  const found = findRelation(catalog, names, qn);
  let parent: TableDescriptor;
  if (found?.id === table.id || (self && !found)) parent = table;
  else if (!found) throw new SqlError(SQLSTATE.UNDEFINED_TABLE, `relation "${[qn.schema, qn.name].filter((x) => x !== undefined).join('.')}" does not exist`);
  else if (found.kind !== 'table') throw new SqlError(SQLSTATE.WRONG_OBJECT_TYPE, `referenced relation "${found.name}" is not a table`);
  else parent = found;

  const columnsOf = (t: TableDescriptor, list: readonly string[]) =>
    list.map((n) => {
      const col = t.columns.find((x) => x.name === n && !x.hidden);
      if (!col) throw new SqlError(SQLSTATE.UNDEFINED_COLUMN, `column "${n}" referenced in foreign key constraint does not exist`);
      return col;
    });
  const fkColumns = columnsOf(table, column === undefined ? stringsOf(c.fk_attrs) : [column]);
  const pkNames = stringsOf(c.pk_attrs);
  let pkColumns;
  if (pkNames.length === 0) {
    pkColumns = parent.primaryKey.columnIds.map((id) => parent.columns.find((x) => x.id === id));
    if (pkColumns.some((x) => !x || x.hidden)) throw new SqlError(SQLSTATE.UNDEFINED_OBJECT, `there is no primary key for referenced table "${parent.name}"`);
  } else {
    pkColumns = columnsOf(parent, pkNames);
    if (!referencedIndex(parent, pkColumns.map((x) => x.id))) {
      throw new SqlError(SQLSTATE.INVALID_FOREIGN_KEY, `there is no unique constraint matching given keys for referenced table "${parent.name}"`);
    }
  }
  const refColumns = pkColumns.flatMap((x) => (x ? [x] : []));
  if (refColumns.length !== fkColumns.length) {
    throw new SqlError(SQLSTATE.INVALID_FOREIGN_KEY, 'number of referencing and referenced columns for foreign key disagree');
  }

  let name = c.conname;
  if (name !== undefined) {
    if (Buffer.byteLength(name) > MAX_NAME) throw new SqlError(SQLSTATE.NAME_TOO_LONG, `identifier "${name}" is too long (at most ${MAX_NAME} bytes)`);
    if (constraintNames(table).has(name)) throw new SqlError(SQLSTATE.DUPLICATE_OBJECT, `constraint "${name}" for relation "${table.name}" already exists`);
  } else {
    name = freeName(`${table.name}_${fkColumns.map((x) => x.name).join('_')}`, 'fkey', (n) => taken(n) || constraintNames(table).has(n));
  }
  fkColumns.forEach((fc, i) => {
    const pcol = refColumns[i];
    if (!pcol) return;
    const from = columnType(catalog, fc);
    const to = columnType(catalog, pcol);
    if (!comparableKeys(from, to)) {
      throw new SqlError(SQLSTATE.DATATYPE_MISMATCH, `foreign key constraint "${name}" cannot be implemented`, {
        detail: `Key columns "${fc.name}" and "${pcol.name}" are of incompatible types: ${from.name} and ${to.name}.`,
      });
    }
  });
  return {
    name,
    columnIds: fkColumns.map((x) => x.id),
    refTableId: parent.id,
    refColumnIds: refColumns.map((x) => x.id),
    onDelete: action(c.fk_del_action),
    onUpdate: action(c.fk_upd_action),
    ...(c.fk_matchtype === 'f' ? { match: 'f' as const } : {}),
  };
}

/**
 * Types a key may reference: the same, or one of the same btree operator
 * family (PostgreSQL requires an equality operator of the referenced index's
 * family): integers with integers, floats with floats, text with varchar,
 * dates with timestamps.
 */
const KEY_FAMILIES: readonly (readonly SqlType[])[] = [
  [T.int2, T.int4, T.int8],
  [T.float4, T.float8],
  [T.text, T.varchar],
  [T.date, T.timestamp, T.timestamptz],
];

function comparableKeys(from: SqlType, to: SqlType): boolean {
  return from.oid === to.oid || KEY_FAMILIES.some((f) => f.some((t) => t.oid === from.oid) && f.some((t) => t.oid === to.oid));
}

function action(letter: string | undefined): ReferentialAction {
  switch (letter) {
    case 'r':
    case 'c':
    case 'n':
    case 'd':
      return letter;
    default:
      return 'a';
  }
}

/** The names of a table's constraints (PostgreSQL keeps them unique per table). */
export function constraintNames(table: TableDescriptor): Set<string> {
  return new Set([table.primaryKey.name, ...table.indexes.filter((i) => i.unique).map((i) => i.name), ...table.checks.map((c) => c.name), ...(table.foreignKeys ?? []).map((f) => f.name)]);
}

/** PostgreSQL's ChooseConstraintName: base_suffix, then base_suffix1, base_suffix2 … */
function freeName(base: string, suffix: string, taken: (name: string) => boolean): string {
  for (let i = 0; ; i++) {
    const tail = `_${suffix}${i === 0 ? '' : i}`;
    const candidate = `${base.slice(0, MAX_NAME - tail.length)}${tail}`;
    if (!taken(candidate)) return candidate;
  }
}

/** Whether a constraint name is used by any table of the schema (generated names avoid them all, as PostgreSQL's do). */
export function constraintNameTaken(catalog: Catalog, schemaId: number, name: string): boolean {
  return catalog.relationsOf(schemaId).some((r) => r.kind === 'table' && constraintNames(r).has(name));
}

/** ADD CONSTRAINT … FOREIGN KEY (or VALIDATE CONSTRAINT) on a table that may hold rows: every row must find its referenced key (23503 otherwise). */
export async function validateExistingRows(table: TableDescriptor, fk: ForeignKeyDescriptor, env: DdlEnv, catalog: Catalog): Promise<void> {
  const parent = fk.refTableId === table.id ? table : catalog.table(fk.refTableId);
  if (!parent) throw new SqlError(SQLSTATE.INTERNAL_ERROR, `foreign key ${fk.name} references a missing table`);
  const r = resolveForeignKey(env.ks, env.catalog, fk, table, parent);
  const codec = codecFor(env.ks, env.catalog, table);
  // A page of rows costs one read of the referenced keys.
  for await (const page of env.txn.pages(env.ks.indexSpan(table.id, PRIMARY_INDEX_ID))) {
    await checkReferenced(env.txn, env.ks, env.catalog, r, page.map((kv) => codec.decodeRow(kv.key, kv.value)));
  }
}

/** The constraint as ALTER TABLE … DROP CONSTRAINT names it, or undefined when the table has no foreign key or CHECK of that name. */
export function dropForeignKeyOrCheck(table: TableDescriptor, name: string): TableDescriptor | undefined {
  if ((table.foreignKeys ?? []).some((f) => f.name === name)) return { ...table, foreignKeys: (table.foreignKeys ?? []).filter((f) => f.name !== name) };
  if (table.checks.some((c) => c.name === name)) return { ...table, checks: table.checks.filter((c) => c.name !== name) };
  return undefined;
}

/**
 * Before tables are dropped: the foreign keys of other tables that reference
 * them. Without CASCADE that is 2BP01, as in PostgreSQL; with it, the
 * constraints go (the referencing tables stay).
 */
export function dropReferencingKeys(dropping: ReadonlySet<number>, rel: TableDescriptor, cascade: boolean, change: CatalogChange, notice: (n: Notice) => void): void {
  const current = change.result();
  const refs = current.referencing(rel.id).filter((x) => !dropping.has(x.table.id));
  if (refs.length === 0) return;
  if (!cascade) {
    throw new SqlError(SQLSTATE.DEPENDENT_OBJECTS_STILL_EXIST, `cannot drop table ${rel.name} because other objects depend on it`, {
      detail: refs.map((x) => `constraint ${x.fk.name} on table ${x.table.name} depends on table ${rel.name}`).join('\n'),
      hint: 'Use DROP ... CASCADE to drop the dependent objects too.',
    });
  }
  for (const x of refs) {
    notice({ severity: 'NOTICE', code: SQLSTATE.SUCCESSFUL_COMPLETION, message: `drop cascades to constraint ${x.fk.name} on table ${x.table.name}` });
    const t = change.result().table(x.table.id);
    if (t) change.put({ ...t, foreignKeys: (t.foreignKeys ?? []).filter((f) => !(f.name === x.fk.name && f.refTableId === rel.id)) });
  }
}

/**
 * TRUNCATE of referenced tables: with CASCADE the referencing tables are
 * truncated too (returned with the others); without, PostgreSQL refuses
 * unless they are truncated in the same statement.
 */
export function truncationSet(tables: readonly TableDescriptor[], cascade: boolean, catalog: Catalog, notice: (n: Notice) => void): TableDescriptor[] {
  const all = new Map(tables.map((t) => [t.id, t]));
  const queue = [...tables];
  while (queue.length) {
    const t = queue.shift() as TableDescriptor;
    for (const { table: child } of catalog.referencing(t.id)) {
      if (all.has(child.id)) continue;
      if (!cascade) {
        throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'cannot truncate a table referenced in a foreign key constraint', {
          detail: `Table "${child.name}" references "${t.name}".`,
          hint: `Truncate table "${child.name}" at the same time, or use TRUNCATE ... CASCADE.`,
        });
      }
      notice({ severity: 'NOTICE', code: SQLSTATE.SUCCESSFUL_COMPLETION, message: `truncate cascades to table "${child.name}"` });
      all.set(child.id, child);
      queue.push(child);
    }
  }
  return [...all.values()];
}
