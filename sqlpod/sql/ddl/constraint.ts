// ALTER TABLE … ADD [CONSTRAINT name] PRIMARY KEY | UNIQUE (columns) on a
// table that may already hold rows.
//
// A table created without a primary key is keyed by its hidden rowid, so
// adding one changes every row's key: the rows are read, checked (no NULL,
// no duplicate key) and written again under the new key, and every secondary
// index, whose entries carry the primary key, is rebuilt, all in the
// statement's transaction, so a failed ALTER leaves nothing behind (as in
// PostgreSQL, where the new index is built before the catalog says it
// exists). pgbench -i does exactly this after loading its tables.
//
// ALTER TABLE … ADD CHECK [NOT VALID] and VALIDATE CONSTRAINT (CHECK and
// FOREIGN KEY) are here too: migration tools add a constraint NOT VALID so
// that the statement does not read the table, then validate it apart.
import type { Node } from '@pgsql/types';
import type { Catalog } from '../catalog/catalog.js';
import { PRIMARY_INDEX_ID, type CheckDescriptor, type IndexDescriptor, type TableDescriptor } from '../catalog/descriptors.js';
import { SQLSTATE, SqlError } from '../errors.js';
import { codecFor } from '../exec/run.js';
import { fingerprint } from '../plan/analyze-expr.js';
import { stringsOf } from '../plan/context.js';
import { checksOf } from '../plan/dml.js';
import { compile, type Row } from '../plan/expr.js';
import type { RowCodec } from '../rows/codec.js';
import { T, formatText, type Datum } from '../types/index.js';
import { constraintNameTaken, constraintNames, validateExistingRows } from './foreign-key.js';
import { planContextFor, type DdlEnv } from './index.js';
import { checkKeyColumn, checkStorageParameters } from './storage.js';

type ConstraintNode = Extract<Node, { Constraint: unknown }>['Constraint'];

const MAX_NAME = 63;

/**
 * The table after an ADD CONSTRAINT, its rows and index entries already
 * rewritten in the transaction. `catalog` is the catalog as the statement's
 * earlier commands left it (for name clashes).
 */
export async function addConstraint(table: TableDescriptor, def: Node | undefined, env: DdlEnv, catalog: Catalog): Promise<TableDescriptor> {
  if (!def || !('Constraint' in def)) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'ADD CONSTRAINT needs a constraint definition');
  const c = def.Constraint;
  if (c.contype !== 'CONSTR_PRIMARY' && c.contype !== 'CONSTR_UNIQUE') {
    const kind = (c.contype ?? 'CONSTR_?').replace('CONSTR_', '').toLowerCase().replace('check', 'CHECK').replace('exclusion', 'EXCLUDE');
    throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `ALTER TABLE ADD CONSTRAINT … ${kind} is not supported yet`);
  }
  const what = c.contype === 'CONSTR_PRIMARY' ? 'PRIMARY KEY' : 'UNIQUE';
  if (c.indexname) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `ADD ${what} USING INDEX is not supported`);
  if (c.including?.length) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `${what} … INCLUDE is not supported`);
  if (c.deferrable) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `DEFERRABLE ${what} constraints are not supported`);
  if (c.nulls_not_distinct) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'UNIQUE NULLS NOT DISTINCT is not supported');
  // WITH (fillfactor …) on the constraint's index: as for tables, checked and ignored.
  checkStorageParameters(c.options);

  const names = stringsOf(c.keys);
  const columns = names.map((n) => {
    const column = table.columns.find((x) => x.name === n && !x.hidden);
    if (!column) throw new SqlError(SQLSTATE.UNDEFINED_COLUMN, `column "${n}" named in key does not exist`);
    checkKeyColumn(column);
    return column;
  });
  const ids = columns.map((x) => x.id);
  if (new Set(ids).size !== ids.length) {
    const dup = names.find((n, i) => names.indexOf(n) !== i) ?? '';
    throw new SqlError(SQLSTATE.DUPLICATE_COLUMN, `column "${dup}" appears twice in ${what.toLowerCase()} constraint`);
  }

  const hiddenKey = table.primaryKey.columnIds.every((id) => table.columns.find((x) => x.id === id)?.hidden ?? false);
  const taken = (n: string) => catalog.relation(table.schemaId, n) !== undefined || catalog.indexByName(table.schemaId, n) !== undefined;
  if (c.contype === 'CONSTR_PRIMARY') {
    if (!hiddenKey) throw new SqlError(SQLSTATE.INVALID_TABLE_DEFINITION, `multiple primary keys for table "${table.name}" are not allowed`);
    // The hidden key's index goes away with it, so its name is free for the new one.
    const free = (n: string) => n === table.primaryKey.name || !taken(n);
    const name = constraintName(c.conname, `${table.name}_pkey`, free);
    return rebuildWithPrimaryKey(table, { id: PRIMARY_INDEX_ID, name, unique: true, columnIds: ids, descending: ids.map(() => false) }, env);
  }
  const name = constraintName(c.conname, `${table.name}_${names.join('_')}_key`, (n) => !taken(n));
  const index: IndexDescriptor = { id: table.nextIndexId, name, unique: true, columnIds: ids, descending: ids.map(() => false) };
  const next: TableDescriptor = { ...table, indexes: [...table.indexes, index], nextIndexId: table.nextIndexId + 1 };
  const codec = codecFor(env.ks, env.catalog, next);
  const seen = new Set<string>();
  for await (const page of env.txn.pages(env.ks.indexSpan(table.id, PRIMARY_INDEX_ID))) {
    for (const kv of page) {
      const row = codec.decodeRow(kv.key, kv.value);
      const entry = codec.indexEntry(index, row);
      if (codec.uniqueKeyOf(index, row) !== null) {
        const id = entry.key.toString('latin1');
        if (seen.has(id)) throw duplicate(next, codec, index, row);
        seen.add(id);
      }
      env.txn.put(entry.key, entry.value);
    }
  }
  return next;
}

/** PostgreSQL's names: the given one must be free; a generated one takes the first free of base, base1, base2 … */
function constraintName(given: string | undefined, base: string, free: (name: string) => boolean): string {
  if (given !== undefined) {
    if (Buffer.byteLength(given) > MAX_NAME) throw new SqlError(SQLSTATE.NAME_TOO_LONG, `identifier "${given}" is too long (at most ${MAX_NAME} bytes)`);
    if (!free(given)) throw new SqlError(SQLSTATE.DUPLICATE_TABLE, `relation "${given}" already exists`);
    return given;
  }
  const trimmed = base.slice(0, MAX_NAME);
  if (free(trimmed)) return trimmed;
  for (let i = 1; ; i++) {
    const candidate = `${base.slice(0, MAX_NAME - String(i).length)}${i}`;
    if (free(candidate)) return candidate;
  }
}

async function rebuildWithPrimaryKey(table: TableDescriptor, primaryKey: IndexDescriptor, env: DdlEnv): Promise<TableDescriptor> {
  const hidden = new Set(table.primaryKey.columnIds);
  for (const index of table.indexes) {
    if (index.columnIds.some((id) => hidden.has(id))) {
      throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `cannot add a primary key to "${table.name}": index "${index.name}" is on its hidden row id`);
    }
  }
  const keyIds = new Set(primaryKey.columnIds);
  const next: TableDescriptor = {
    ...table,
    // The rowid existed only to key the rows; with a key of their own they drop it, as if created with the key.
    columns: table.columns.filter((c) => !hidden.has(c.id)).map((c) => (keyIds.has(c.id) ? { ...c, notNull: true } : c)),
    primaryKey,
  };
  const before = codecFor(env.ks, env.catalog, table);
  const after = codecFor(env.ks, env.catalog, next);
  const slots = next.columns.map((c) => before.slot(c.id));
  const keySlots = primaryKey.columnIds.map((id) => after.slot(id));
  const rows: Row[] = [];
  const seen = new Set<string>();
  const keys: Buffer[] = [];
  // Every row is read before anything is written: the new keys live in the same span as the old ones.
  for await (const page of env.txn.pages(env.ks.indexSpan(table.id, PRIMARY_INDEX_ID))) {
    for (const kv of page) {
      const old = before.decodeRow(kv.key, kv.value);
      const row = slots.map((s) => old[s] ?? null);
      for (const s of keySlots) {
        if (row[s] === null) {
          throw new SqlError(SQLSTATE.NOT_NULL_VIOLATION, `column "${next.columns[s]?.name ?? '?'}" of relation "${table.name}" contains null values`);
        }
      }
      const key = after.primaryKey(row);
      const id = key.toString('latin1');
      if (seen.has(id)) throw duplicate(next, after, primaryKey, row);
      seen.add(id);
      rows.push(row);
      keys.push(key);
    }
  }
  env.txn.deleteRange(env.ks.indexSpan(table.id, PRIMARY_INDEX_ID));
  for (const index of next.indexes) env.txn.deleteRange(env.ks.indexSpan(table.id, index.id));
  rows.forEach((row, i) => {
    env.txn.put(keys[i] as Buffer, after.encodeRowValue(row));
    for (const index of next.indexes) {
      const entry = after.indexEntry(index, row);
      env.txn.put(entry.key, entry.value);
    }
  });
  return next;
}

function duplicate(table: TableDescriptor, codec: RowCodec, index: IndexDescriptor, row: Row): SqlError {
  const names = index.columnIds.map((id) => table.columns.find((c) => c.id === id)?.name ?? '?');
  const values = index.columnIds.map((id) => {
    const slot = codec.slot(id);
    const v = row[slot] ?? null;
    return v === null ? 'null' : formatText(codec.types[slot] ?? T.text, v);
  });
  return new SqlError(SQLSTATE.UNIQUE_VIOLATION, `could not create unique index "${index.name}"`, { detail: `Key (${names.join(', ')})=(${values.join(', ')}) is duplicated.` });
}

/**
 * ALTER TABLE … ADD CHECK: the rows already there must pass it, unless it is
 * NOT VALID, which checks only rows written from now on until VALIDATE
 * CONSTRAINT.
 */
export async function addCheck(table: TableDescriptor, c: ConstraintNode, env: DdlEnv, catalog: Catalog): Promise<TableDescriptor> {
  if (!c.raw_expr) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'CHECK needs an expression');
  if (c.is_no_inherit) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'CHECK … NO INHERIT is not supported');
  let name = c.conname;
  if (name !== undefined) {
    if (Buffer.byteLength(name) > MAX_NAME) throw new SqlError(SQLSTATE.NAME_TOO_LONG, `identifier "${name}" is too long (at most ${MAX_NAME} bytes)`);
    if (constraintNames(table).has(name)) throw new SqlError(SQLSTATE.DUPLICATE_OBJECT, `constraint "${name}" for relation "${table.name}" already exists`);
  } else {
    // PostgreSQL's ChooseConstraintName: the column, when the expression reads exactly one.
    const columns = [...new Set(columnRefs(c.raw_expr))];
    const base = columns.length === 1 ? `${table.name}_${columns[0] ?? ''}` : table.name;
    name = freeConstraintName(base, 'check', (n) => constraintNames(table).has(n) || constraintNameTaken(catalog, table.schemaId, n));
  }
  const check: CheckDescriptor = { name, expr: fingerprint(c.raw_expr), ...(c.skip_validation ? { notValid: true as const } : {}) };
  // The expression is analyzed now either way, so a NOT VALID one that cannot work fails here, as in PostgreSQL.
  const test = compileCheck(table, check, env, catalog);
  if (!c.skip_validation) await requireRowsPass(table, check, test, env);
  return { ...table, checks: [...table.checks, check] };
}

/** ALTER TABLE … VALIDATE CONSTRAINT: checks the rows a NOT VALID CHECK or FOREIGN KEY has not seen. */
export async function validateConstraint(table: TableDescriptor, name: string, env: DdlEnv, catalog: Catalog): Promise<TableDescriptor> {
  const check = table.checks.find((x) => x.name === name);
  if (check) {
    if (!check.notValid) return table;
    await requireRowsPass(table, check, compileCheck(table, check, env, catalog), env);
    return { ...table, checks: table.checks.map((x) => (x === check ? { name: x.name, expr: x.expr } : x)) };
  }
  const fk = (table.foreignKeys ?? []).find((x) => x.name === name);
  if (fk) {
    if (!fk.notValid) return table;
    await validateExistingRows(table, fk, env, catalog);
    const { notValid: _, ...valid } = fk;
    return { ...table, foreignKeys: (table.foreignKeys ?? []).map((x) => (x === fk ? valid : x)) };
  }
  if (constraintNames(table).has(name)) {
    throw new SqlError(SQLSTATE.WRONG_OBJECT_TYPE, `constraint "${name}" of relation "${table.name}" is not a foreign key or check constraint`);
  }
  throw new SqlError(SQLSTATE.UNDEFINED_OBJECT, `constraint "${name}" of relation "${table.name}" does not exist`);
}

function compileCheck(table: TableDescriptor, check: CheckDescriptor, env: DdlEnv, catalog: Catalog): (row: Row) => Datum {
  const [planned] = checksOf({ ...table, checks: [check] }, planContextFor(env, catalog));
  if (!planned) throw new SqlError(SQLSTATE.INTERNAL_ERROR, 'CHECK constraint did not plan');
  const f = compile(planned.predicate);
  return (row) => f(row, env.eval);
}

async function requireRowsPass(table: TableDescriptor, check: CheckDescriptor, test: (row: Row) => Datum, env: DdlEnv): Promise<void> {
  const codec = codecFor(env.ks, env.catalog, table);
  for await (const page of env.txn.pages(env.ks.indexSpan(table.id, PRIMARY_INDEX_ID))) {
    for (const kv of page) {
      if (test(codec.decodeRow(kv.key, kv.value)) === false) {
        throw new SqlError(SQLSTATE.CHECK_VIOLATION, `check constraint "${check.name}" of relation "${table.name}" is violated by some row`);
      }
    }
  }
}

/** The column names an expression reads, in order. */
function columnRefs(node: Node): string[] {
  const out: string[] = [];
  JSON.stringify(node, (key, value: unknown) => {
    if (key === 'ColumnRef' && value && typeof value === 'object') {
      const fields = (value as { fields?: { String?: { sval?: string } }[] }).fields ?? [];
      const last = fields[fields.length - 1]?.String?.sval;
      if (last !== undefined) out.push(last);
    }
    return value;
  });
  return out;
}

/** PostgreSQL's ChooseConstraintName: base_label, then base_label1, base_label2 … */
function freeConstraintName(base: string, label: string, taken: (name: string) => boolean): string {
  for (let i = 0; ; i++) {
    const tail = `_${label}${i === 0 ? '' : i}`;
    const candidate = `${base.slice(0, MAX_NAME - tail.length)}${tail}`;
    if (!taken(candidate)) return candidate;
  }
}
