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
import type { Node } from '@pgsql/types';
import type { Catalog } from '../catalog/catalog.js';
import { PRIMARY_INDEX_ID, type IndexDescriptor, type TableDescriptor } from '../catalog/descriptors.js';
import { SQLSTATE, SqlError } from '../errors.js';
import { codecFor } from '../exec/run.js';
import { stringsOf } from '../plan/context.js';
import type { Row } from '../plan/expr.js';
import type { RowCodec } from '../rows/codec.js';
import { T, formatText } from '../types/index.js';
import type { DdlEnv } from './index.js';
import { checkKeyColumn, checkStorageParameters } from './storage.js';

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
  const codec = codecFor(env.ks, next);
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
  const before = codecFor(env.ks, table);
  const after = codecFor(env.ks, next);
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
