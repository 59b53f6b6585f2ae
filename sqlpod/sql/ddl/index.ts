// Schema changes: databases, schemas, tables, indexes, sequences, columns.
// They run inside the SQL transaction like any other statement (transactional
// DDL, as in PostgreSQL); index backfills and data removal happen in the same
// transaction.
import type { Node } from '@pgsql/types';
import { creationSchema, findRelation, resolveTable, userTypes, type Catalog, type NameContext } from '../catalog/catalog.js';
import {
  HIDDEN_ROWID,
  PRIMARY_INDEX_ID,
  type ColumnDescriptor,
  type IndexDescriptor,
  type SequenceDescriptor,
  type TableDescriptor,
} from '../catalog/descriptors.js';
import type { Keyspace } from '../catalog/keyspace.js';
import { SQLSTATE, SqlError } from '../errors.js';
import { codecFor } from '../exec/run.js';
import { at, fingerprint, typeOf, type ParamTypes, type SessionInfo } from '../plan/analyze-expr.js';
import { qualifiedName, stringsOf, type PlanContext } from '../plan/context.js';
import { alterSequence, createSequence } from './sequence.js';
import { alterEnumType, createEnumType, dropEnumTypes, dropSchemaEnums, renameEnumType } from './enum-type.js';
import { defaultFor, parseExpression } from '../plan/dml.js';
import { compile, type EvalContext } from '../plan/expr.js';
import type { Notice } from '../session-api.js';
import type { SqlTxn } from '../txn.js';
import { KeyWriter, T, encodeValue, formatText, isSerialName, type SqlType } from '../types/index.js';
import { quoteIdent, quoteLiteral } from '../catalog/system/deparse.js';
import { CatalogChange } from './change.js';
import { addCheck, addConstraint, validateConstraint } from './constraint.js';
import { constraintNameTaken, defineForeignKey, dropForeignKeyOrCheck, dropReferencingKeys, truncationSet, validateExistingRows } from './foreign-key.js';
import { checkKeyColumn, checkStorageParameters } from './storage.js';
import { createView, dropDependents } from './view.js';

export interface DdlEnv {
  readonly txn: SqlTxn;
  readonly ks: Keyspace;
  /** The catalog at the transaction's snapshot. */
  readonly catalog: Catalog;
  readonly names: NameContext;
  readonly session: SessionInfo;
  readonly params: ParamTypes;
  readonly position: (location: number | undefined) => number | undefined;
  readonly eval: EvalContext;
  readonly notice: (n: Notice) => void;
}

export interface DdlResult {
  readonly tag: string;
  readonly catalog: Catalog;
}

export const DDL_KINDS = new Set(['CreateStmt', 'DropStmt', 'IndexStmt', 'CreatedbStmt', 'DropdbStmt', 'CreateSchemaStmt', 'AlterTableStmt', 'RenameStmt', 'TruncateStmt', 'CreateSeqStmt', 'AlterSeqStmt', 'ViewStmt', 'CreateEnumStmt', 'AlterEnumStmt']);

export async function executeDdl(node: Node, env: DdlEnv): Promise<DdlResult> {
  const change = new CatalogChange(env.txn.kv, env.ks, env.catalog);
  const tag = await dispatch(node, env, change);
  return { tag, catalog: change.result() };
}

async function dispatch(node: Node, env: DdlEnv, change: CatalogChange): Promise<string> {
  if ('CreateStmt' in node) return createTable(node.CreateStmt, env, change);
  if ('IndexStmt' in node) return createIndex(node.IndexStmt, env, change);
  if ('DropStmt' in node) return drop(node.DropStmt, env, change);
  if ('CreatedbStmt' in node) return createDatabase(node.CreatedbStmt.dbname ?? '', env, change);
  if ('DropdbStmt' in node) return dropDatabase(node.DropdbStmt.dbname ?? '', node.DropdbStmt.missing_ok ?? false, env, change);
  if ('CreateSchemaStmt' in node) return createSchema(node.CreateSchemaStmt, env, change);
  if ('AlterTableStmt' in node) return alterTable(node.AlterTableStmt, env, change);
  if ('RenameStmt' in node) return rename(node.RenameStmt, env, change);
  if ('TruncateStmt' in node) return truncate(node.TruncateStmt, env);
  if ('CreateSeqStmt' in node) return createSequence(node.CreateSeqStmt, env, change, (n, l) => checkName(n, env, l));
  if ('AlterSeqStmt' in node) return alterSequence(node.AlterSeqStmt, env, change);
  if ('CreateEnumStmt' in node) return createEnumType(node.CreateEnumStmt, env, change, (n) => checkName(n, env, undefined));
  if ('AlterEnumStmt' in node) return alterEnumType(node.AlterEnumStmt, env, change);
  if ('ViewStmt' in node) {
    const viewEnv = { catalog: env.catalog, plan: planContextFor(env, env.catalog), params: env.params, position: env.position, checkName: (n: string, l: number | undefined) => checkName(n, env, l) };
    return createView(node.ViewStmt, viewEnv, change);
  }
  throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `${Object.keys(node)[0] ?? 'statement'} is not supported`);
}

type CreateNode = Extract<Node, { CreateStmt: unknown }>['CreateStmt'];
type ColumnDefNode = Extract<Node, { ColumnDef: unknown }>['ColumnDef'];
type ConstraintNode = Extract<Node, { Constraint: unknown }>['Constraint'];

const MAX_NAME = 63;

async function createTable(stmt: CreateNode, env: DdlEnv, change: CatalogChange): Promise<string> {
  const rv = stmt.relation ?? {};
  if (rv.relpersistence === 't') throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'temporary tables are not supported');
  if (stmt.inhRelations?.length || stmt.partspec) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'inheritance and partitioning are not supported');
  checkStorageParameters(stmt.options);
  const qn = qualifiedName(rv);
  const schema = creationSchema(env.catalog, env.names, qn);
  checkName(qn.name, env, rv.location);
  if (env.catalog.relation(schema.id, qn.name) || env.catalog.indexByName(schema.id, qn.name)) {
    if (stmt.if_not_exists) {
      env.notice({ severity: 'NOTICE', code: SQLSTATE.DUPLICATE_TABLE, message: `relation "${qn.name}" already exists, skipping` });
      return 'CREATE TABLE';
    }
    throw new SqlError(SQLSTATE.DUPLICATE_TABLE, `relation "${qn.name}" already exists`, at(env, rv.location));
  }
  if (env.catalog.enum(schema.id, qn.name)) {
    throw new SqlError(SQLSTATE.DUPLICATE_OBJECT, `type "${qn.name}" already exists`, {
      hint: 'A relation has an associated type of the same name, so you must use a name that doesn\'t conflict with any existing type.',
    });
  }
  const id = await change.allocateId();
  const columns: ColumnDescriptor[] = [];
  const checks: { name: string; expr: string }[] = [];
  const uniques: { name: string | undefined; columns: string[]; primary: boolean; location: number | undefined }[] = [];
  const sequences: SequenceDescriptor[] = [];
  const foreignKeys: { c: ConstraintNode; column: string | undefined }[] = [];

  for (const elt of stmt.tableElts ?? []) {
    if ('ColumnDef' in elt) {
      const def = elt.ColumnDef;
      const name = def.colname ?? '';
      checkName(name, env, def.location);
      if (columns.some((c) => c.name === name)) throw new SqlError(SQLSTATE.DUPLICATE_COLUMN, `column "${name}" specified more than once`, at(env, def.location));
      const column = await columnFrom(def, columns.length + 1, qn.name, env, change, id, schema.id, sequences);
      columns.push(column);
      for (const c of constraintsOf(def)) {
        if (c.contype === 'CONSTR_PRIMARY' || c.contype === 'CONSTR_UNIQUE') {
          uniques.push({ name: c.conname, columns: [name], primary: c.contype === 'CONSTR_PRIMARY', location: c.location });
        } else if (c.contype === 'CONSTR_CHECK') {
          checks.push({ name: c.conname ?? `${qn.name}_${name}_check`, expr: storeExpr(c.raw_expr) });
        } else if (c.contype === 'CONSTR_FOREIGN') {
          foreignKeys.push({ c, column: name });
        }
      }
    } else if ('Constraint' in elt) {
      const c = elt.Constraint;
      if (c.contype === 'CONSTR_PRIMARY' || c.contype === 'CONSTR_UNIQUE') {
        uniques.push({ name: c.conname, columns: stringsOf(c.keys), primary: c.contype === 'CONSTR_PRIMARY', location: c.location });
      } else if (c.contype === 'CONSTR_CHECK') {
        checks.push({ name: c.conname ?? `${qn.name}_check`, expr: storeExpr(c.raw_expr) });
      } else if (c.contype === 'CONSTR_FOREIGN') {
        foreignKeys.push({ c, column: undefined });
      } else {
        throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `${describeConstraint(c.contype)} constraints are not supported yet`, at(env, c.location));
      }
    } else {
      throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'LIKE and other table elements are not supported');
    }
  }
  if (columns.length === 0) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'tables without columns are not supported');

  const primaries = uniques.filter((u) => u.primary);
  if (primaries.length > 1) {
    throw new SqlError(SQLSTATE.INVALID_TABLE_DEFINITION, `multiple primary keys for table "${qn.name}" are not allowed`, at(env, primaries[1]?.location));
  }
  const idOf = (name: string, location: number | undefined): number => {
    const c = columns.find((x) => x.name === name);
    if (!c) throw new SqlError(SQLSTATE.UNDEFINED_COLUMN, `column "${name}" named in key does not exist`, at(env, location));
    checkKeyColumn(c);
    return c.id;
  };
  const usedNames = new Set<string>([qn.name]);
  const pick = (base: string): string => uniqueName(base, usedNames, env.catalog, schema.id);
  let primaryKey: IndexDescriptor;
  const primary = primaries[0];
  if (primary) {
    const ids = primary.columns.map((n) => idOf(n, primary.location));
    for (const c of columns) if (ids.includes(c.id)) c.notNull = true;
    primaryKey = { id: PRIMARY_INDEX_ID, name: primary.name ?? pick(`${qn.name}_pkey`), unique: true, columnIds: ids, descending: ids.map(() => false) };
  } else {
    const rowid: ColumnDescriptor = {
      id: columns.length + 1,
      name: HIDDEN_ROWID,
      typeOid: T.int8.oid,
      typmod: -1,
      notNull: true,
      defaultExpr: storeExpr(parseExpression('unique_rowid()')),
      hidden: true,
      missingValue: null,
    };
    columns.push(rowid);
    primaryKey = { id: PRIMARY_INDEX_ID, name: pick(`${qn.name}_pkey`), unique: true, columnIds: [rowid.id], descending: [false] };
  }
  usedNames.add(primaryKey.name);
  const indexes: IndexDescriptor[] = [];
  for (const u of uniques.filter((x) => !x.primary)) {
    const ids = u.columns.map((n) => idOf(n, u.location));
    const name = u.name ?? pick(`${qn.name}_${u.columns.join('_')}_key`);
    usedNames.add(name);
    indexes.push({ id: indexes.length + 2, name, unique: true, columnIds: ids, descending: ids.map(() => false) });
  }
  let table: TableDescriptor = {
    kind: 'table',
    id,
    name: qn.name,
    databaseId: env.names.databaseId,
    schemaId: schema.id,
    columns,
    primaryKey,
    indexes,
    checks,
    nextColumnId: columns.length + 1,
    nextIndexId: indexes.length + 2,
  };
  for (const { c, column } of foreignKeys) {
    const fk = defineForeignKey(table, c, column, env.catalog, env.names, (n) => usedNames.has(n) || constraintNameTaken(env.catalog, schema.id, n));
    usedNames.add(fk.name);
    table = { ...table, foreignKeys: [...(table.foreignKeys ?? []), fk] };
  }
  for (const s of sequences) change.put({ ...s, ownedBy: s.ownedBy ? { ...s.ownedBy, tableId: id } : null });
  change.put(table);
  // Validate stored expressions now, so that a bad CHECK or DEFAULT fails the CREATE, not a later INSERT.
  const planCtx = planContextFor(env, change.result());
  columns.forEach((_, slot) => defaultFor(table, slot, planCtx));
  return 'CREATE TABLE';
}

async function columnFrom(
  def: ColumnDefNode,
  id: number,
  tableName: string,
  env: DdlEnv,
  change: CatalogChange,
  tableId: number,
  schemaId: number,
  sequences: SequenceDescriptor[],
): Promise<ColumnDescriptor> {
  const names = stringsOf(def.typeName?.names);
  const serial = isSerialName(names);
  const type: SqlType = serial ? (serial === 'int8' ? T.int8 : serial === 'int2' ? T.int2 : T.int4) : typeOf(def.typeName, { ...env, userTypes: userTypes(env.catalog, env.names) });
  const column: ColumnDescriptor = {
    id,
    name: def.colname ?? '',
    typeOid: type.oid,
    typmod: type.typmod,
    notNull: false,
    defaultExpr: null,
    hidden: false,
    missingValue: null,
  };
  for (const c of constraintsOf(def)) {
    switch (c.contype) {
      case 'CONSTR_NOTNULL':
        column.notNull = true;
        break;
      case 'CONSTR_NULL':
        break;
      case 'CONSTR_DEFAULT':
        if (serial) throw new SqlError(SQLSTATE.SYNTAX_ERROR, `multiple default values specified for column "${column.name}" of table "${tableName}"`);
        column.defaultExpr = storeExpr(c.raw_expr);
        break;
      case 'CONSTR_PRIMARY':
      case 'CONSTR_UNIQUE':
      case 'CONSTR_CHECK':
      case 'CONSTR_FOREIGN':
      case 'CONSTR_ATTR_NOT_DEFERRABLE':
      case 'CONSTR_ATTR_IMMEDIATE':
        break;
      case 'CONSTR_ATTR_DEFERRABLE':
      case 'CONSTR_ATTR_DEFERRED':
        throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'DEFERRABLE constraints are not supported', at(env, c.location));
      default:
        throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `${describeConstraint(c.contype)} constraints are not supported yet`, at(env, c.location));
    }
  }
  if (serial) {
    const seqName = uniqueName(`${tableName}_${column.name}_seq`, new Set(), env.catalog, schemaId);
    const seqId = await change.allocateId();
    sequences.push({ kind: 'sequence', id: seqId, name: seqName, databaseId: env.names.databaseId, schemaId, start: '1', increment: '1', ownedBy: { tableId, columnId: id }, typeOid: column.typeOid });
    column.notNull = true;
    // Qualified outside public, so the default finds its sequence whatever the
    // search_path (drizzle's migrator creates drizzle.__drizzle_migrations with
    // a serial key); PostgreSQL's \d shows the name qualified there too.
    const owner = env.catalog.byIdOf(schemaId);
    const seqRef = owner?.kind === 'schema' && owner.name !== 'public' ? `${quoteIdent(owner.name)}.${quoteIdent(seqName)}` : quoteIdent(seqName);
    column.defaultExpr = storeExpr(parseExpression(`nextval(${quoteLiteral(seqRef)})`));
  }
  return column;
}

type IndexNode = Extract<Node, { IndexStmt: unknown }>['IndexStmt'];

async function createIndex(stmt: IndexNode, env: DdlEnv, change: CatalogChange): Promise<string> {
  const rv = stmt.relation ?? {};
  const table = resolveTable(env.catalog, env.names, qualifiedName(rv), env.position(rv.location));
  if (stmt.whereClause) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'partial indexes are not supported yet');
  if (stmt.accessMethod && stmt.accessMethod !== 'btree') throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `access method "${stmt.accessMethod}" is not supported`);
  const columnIds: number[] = [];
  const descending: boolean[] = [];
  const colNames: string[] = [];
  for (const p of stmt.indexParams ?? []) {
    if (!('IndexElem' in p)) continue;
    const e = p.IndexElem;
    if (e.expr || !e.name) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'expression indexes are not supported yet');
    const column = table.columns.find((c) => c.name === e.name);
    if (!column) throw new SqlError(SQLSTATE.UNDEFINED_COLUMN, `column "${e.name}" does not exist`);
    checkKeyColumn(column);
    columnIds.push(column.id);
    descending.push(e.ordering === 'SORTBY_DESC');
    colNames.push(column.name);
  }
  const name = stmt.idxname ?? uniqueName(`${table.name}_${colNames.join('_')}_${stmt.unique ? 'key' : 'idx'}`, new Set(), env.catalog, table.schemaId);
  checkName(name, env, rv.location);
  if (env.catalog.relation(table.schemaId, name) || env.catalog.indexByName(table.schemaId, name)) {
    if (stmt.if_not_exists) {
      env.notice({ severity: 'NOTICE', code: SQLSTATE.DUPLICATE_TABLE, message: `relation "${name}" already exists, skipping` });
      return 'CREATE INDEX';
    }
    throw new SqlError(SQLSTATE.DUPLICATE_TABLE, `relation "${name}" already exists`);
  }
  const index: IndexDescriptor = { id: table.nextIndexId, name, unique: stmt.unique ?? false, columnIds, descending };
  const next: TableDescriptor = { ...table, indexes: [...table.indexes, index], nextIndexId: table.nextIndexId + 1 };
  await backfillIndex(next, index, env);
  change.put(next);
  return 'CREATE INDEX';
}

/** Writes the new index's entries for every existing row; a unique index refuses duplicates. */
async function backfillIndex(table: TableDescriptor, index: IndexDescriptor, env: DdlEnv): Promise<void> {
  const codec = codecFor(env.ks, env.catalog, table);
  const seen = new Set<string>();
  for await (const page of env.txn.pages(env.ks.indexSpan(table.id, PRIMARY_INDEX_ID))) {
    for (const kv of page) {
      const row = codec.decodeRow(kv.key, kv.value);
      const entry = codec.indexEntry(index, row);
      if (index.unique && codec.uniqueKeyOf(index, row) !== null) {
        const id = entry.key.toString('latin1');
        if (seen.has(id)) {
          const names = index.columnIds.map((cid) => table.columns.find((c) => c.id === cid)?.name ?? '?');
          const values = index.columnIds.map((cid) => {
            const slot = codec.slot(cid);
            const v = row[slot] ?? null;
            return v === null ? 'null' : formatText(codec.types[slot] ?? T.text, v);
          });
          throw new SqlError(SQLSTATE.UNIQUE_VIOLATION, `could not create unique index "${index.name}"`, { detail: `Key (${names.join(', ')})=(${values.join(', ')}) is duplicated.` });
        }
        seen.add(id);
      }
      env.txn.put(entry.key, entry.value);
    }
  }
}

type DropNode = Extract<Node, { DropStmt: unknown }>['DropStmt'];

function drop(stmt: DropNode, env: DdlEnv, change: CatalogChange): string {
  const kind = stmt.removeType;
  if (kind === 'OBJECT_TYPE') return dropEnumTypes(stmt, env, change);
  const tag = kind === 'OBJECT_INDEX' ? 'DROP INDEX' : kind === 'OBJECT_SCHEMA' ? 'DROP SCHEMA' : kind === 'OBJECT_SEQUENCE' ? 'DROP SEQUENCE' : kind === 'OBJECT_VIEW' ? 'DROP VIEW' : 'DROP TABLE';
  const nameOf = (obj: Node) => {
    const parts = 'List' in obj ? stringsOf(obj.List.items) : 'String' in obj ? [obj.String.sval ?? ''] : [];
    const name = parts[parts.length - 1] ?? '';
    return { catalog: parts.length > 2 ? parts[0] : undefined, schema: parts.length > 1 ? parts[parts.length - 2] : undefined, name };
  };
  // Tables dropped together may reference each other without CASCADE.
  const dropping = new Set(kind === 'OBJECT_TABLE' ? (stmt.objects ?? []).flatMap((o) => findRelation(env.catalog, env.names, nameOf(o))?.id ?? []) : []);
  for (const obj of stmt.objects ?? []) {
    const qn = nameOf(obj);
    const name = qn.name;
    const current = change.result();
    if (kind === 'OBJECT_SCHEMA') {
      const schema = current.schema(env.names.databaseId, name);
      if (!schema) {
        if (stmt.missing_ok) {
          env.notice({ severity: 'NOTICE', code: SQLSTATE.INVALID_SCHEMA_NAME, message: `schema "${name}" does not exist, skipping` });
          continue;
        }
        throw new SqlError(SQLSTATE.INVALID_SCHEMA_NAME, `schema "${name}" does not exist`);
      }
      const members = current.relationsOf(schema.id);
      if ((members.length || current.enumsOf(env.names.databaseId).some((e) => e.schemaId === schema.id)) && stmt.behavior !== 'DROP_CASCADE') {
        throw new SqlError(SQLSTATE.DEPENDENT_OBJECTS_STILL_EXIST, `cannot drop schema ${name} because other objects depend on it`, {
          hint: 'Use DROP ... CASCADE to drop the dependent objects too.',
        });
      }
      for (const r of members) dropRelation(r.id, current, env, change);
      dropSchemaEnums(schema.id, env, change);
      change.remove(schema.id);
      continue;
    }
    if (kind === 'OBJECT_INDEX') {
      const schemas = qn.schema !== undefined ? [qn.schema] : env.names.searchPath;
      const found = schemas
        .map((s) => current.schema(env.names.databaseId, s))
        .flatMap((s) => (s ? [current.indexByName(s.id, name)] : []))
        .find((x) => x !== undefined);
      if (!found) {
        if (stmt.missing_ok) {
          env.notice({ severity: 'NOTICE', code: SQLSTATE.UNDEFINED_OBJECT, message: `index "${name}" does not exist, skipping` });
          continue;
        }
        throw new SqlError(SQLSTATE.UNDEFINED_OBJECT, `index "${name}" does not exist`);
      }
      if (found.indexId === PRIMARY_INDEX_ID || found.table.indexes.find((i) => i.id === found.indexId)?.unique) {
        const constraint = found.indexId === PRIMARY_INDEX_ID ? found.table.primaryKey.name : name;
        throw new SqlError(SQLSTATE.DEPENDENT_OBJECTS_STILL_EXIST, `cannot drop index ${name} because constraint ${constraint} on table ${found.table.name} requires it`, {
          hint: `You can drop constraint ${constraint} on table ${found.table.name} instead.`,
        });
      }
      env.txn.deleteRange(env.ks.indexSpan(found.table.id, found.indexId));
      change.put({ ...found.table, indexes: found.table.indexes.filter((i) => i.id !== found.indexId) });
      continue;
    }
    const rel = findRelation(current, env.names, qn);
    const wanted = kind === 'OBJECT_SEQUENCE' ? 'sequence' : kind === 'OBJECT_VIEW' ? 'view' : 'table';
    if (!rel || rel.kind !== wanted) {
      if (stmt.missing_ok) {
        env.notice({ severity: 'NOTICE', code: SQLSTATE.UNDEFINED_TABLE, message: `${wanted} "${name}" does not exist, skipping` });
        continue;
      }
      if (rel) throw new SqlError(SQLSTATE.WRONG_OBJECT_TYPE, `"${name}" is not a ${wanted}`, { hint: `Use DROP ${rel.kind.toUpperCase()} to remove a ${rel.kind}.` });
      throw new SqlError(SQLSTATE.UNDEFINED_TABLE, `${wanted} "${name}" does not exist`);
    }
    dropDependents(rel, stmt.behavior === 'DROP_CASCADE', current, change);
    if (rel.kind === 'table') dropReferencingKeys(dropping, rel, stmt.behavior === 'DROP_CASCADE', change, env.notice);
    dropRelation(rel.id, current, env, change);
  }
  return tag;
}

function dropRelation(id: number, catalog: Catalog, env: DdlEnv, change: CatalogChange): void {
  env.txn.deleteRange(env.ks.tableSpan(id));
  // A referencing table that stays (DROP SCHEMA … CASCADE of the referenced one) loses the constraint.
  for (const { table } of change.result().referencing(id)) {
    const current = change.result().table(table.id);
    if (current && current.id !== id) change.put({ ...current, foreignKeys: (current.foreignKeys ?? []).filter((f) => f.refTableId !== id) });
  }
  const rel = catalog.byIdOf(id);
  if (rel?.kind === 'sequence') env.txn.delete(env.ks.sequenceKey(id));
  change.remove(id);
  for (const d of catalog.descriptors) {
    if (d.kind === 'sequence' && d.ownedBy?.tableId === id) {
      env.txn.delete(env.ks.sequenceKey(d.id));
      change.remove(d.id);
    }
  }
}

async function createDatabase(name: string, env: DdlEnv, change: CatalogChange): Promise<string> {
  checkName(name, env, undefined);
  if (env.catalog.database(name)) throw new SqlError(SQLSTATE.DUPLICATE_DATABASE, `database "${name}" already exists`);
  const id = await change.allocateId();
  change.put({ kind: 'database', id, name });
  change.put({ kind: 'schema', id: await change.allocateId(), name: 'public', databaseId: id });
  return 'CREATE DATABASE';
}

function dropDatabase(name: string, missingOk: boolean, env: DdlEnv, change: CatalogChange): string {
  const db = env.catalog.database(name);
  if (!db) {
    if (missingOk) {
      env.notice({ severity: 'NOTICE', code: SQLSTATE.INVALID_CATALOG_NAME, message: `database "${name}" does not exist, skipping` });
      return 'DROP DATABASE';
    }
    throw new SqlError(SQLSTATE.INVALID_CATALOG_NAME, `database "${name}" does not exist`);
  }
  if (db.id === env.names.databaseId) throw new SqlError(SQLSTATE.OBJECT_IN_USE, 'cannot drop the currently open database');
  for (const d of env.catalog.descriptors) {
    if (d.kind === 'database' || d.databaseId !== db.id) continue;
    if (d.kind !== 'schema') dropRelation(d.id, env.catalog, env, change);
    else change.remove(d.id);
  }
  change.remove(db.id);
  return 'DROP DATABASE';
}

async function createSchema(stmt: Extract<Node, { CreateSchemaStmt: unknown }>['CreateSchemaStmt'], env: DdlEnv, change: CatalogChange): Promise<string> {
  const name = stmt.schemaname ?? '';
  if (stmt.schemaElts?.length) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'CREATE SCHEMA with elements is not supported');
  checkName(name, env, undefined);
  if (name.startsWith('pg_')) throw new SqlError(SQLSTATE.INVALID_NAME ?? SQLSTATE.SYNTAX_ERROR, `unacceptable schema name "${name}"`, { detail: 'The prefix "pg_" is reserved for system schemas.' });
  if (env.catalog.schema(env.names.databaseId, name)) {
    if (stmt.if_not_exists) {
      env.notice({ severity: 'NOTICE', code: SQLSTATE.DUPLICATE_SCHEMA, message: `schema "${name}" already exists, skipping` });
      return 'CREATE SCHEMA';
    }
    throw new SqlError(SQLSTATE.DUPLICATE_SCHEMA, `schema "${name}" already exists`);
  }
  change.put({ kind: 'schema', id: await change.allocateId(), name, databaseId: env.names.databaseId });
  return 'CREATE SCHEMA';
}

type AlterNode = Extract<Node, { AlterTableStmt: unknown }>['AlterTableStmt'];

async function alterTable(stmt: AlterNode, env: DdlEnv, change: CatalogChange): Promise<string> {
  const rv = stmt.relation ?? {};
  const found = findRelation(env.catalog, env.names, qualifiedName(rv));
  if (!found || found.kind !== 'table') {
    if (stmt.missing_ok) {
      env.notice({ severity: 'NOTICE', code: SQLSTATE.UNDEFINED_TABLE, message: `relation "${rv.relname ?? ''}" does not exist, skipping` });
      return 'ALTER TABLE';
    }
    resolveTable(env.catalog, env.names, qualifiedName(rv), env.position(rv.location));
  }
  let table = found as TableDescriptor;
  for (const cmdNode of stmt.cmds ?? []) {
    if (!('AlterTableCmd' in cmdNode)) continue;
    const cmd = cmdNode.AlterTableCmd;
    switch (cmd.subtype) {
      case 'AT_AddColumn':
        table = await addColumn(table, cmd.def, cmd.missing_ok ?? false, env, change);
        // ADD COLUMN … REFERENCES: the constraint, checked against the rows' (default) values.
        for (const c of cmd.def && 'ColumnDef' in cmd.def ? constraintsOf(cmd.def.ColumnDef) : []) {
          if (c.contype !== 'CONSTR_FOREIGN') continue;
          const current = change.result();
          const fk = defineForeignKey(table, c, cmd.def && 'ColumnDef' in cmd.def ? cmd.def.ColumnDef.colname : undefined, current, env.names, (n) => constraintNameTaken(current, table.schemaId, n));
          table = { ...table, foreignKeys: [...(table.foreignKeys ?? []), fk] };
          await validateExistingRows(table, fk, env, current);
        }
        break;
      case 'AT_AddConstraint':
        if (cmd.def && 'Constraint' in cmd.def && cmd.def.Constraint.contype === 'CONSTR_FOREIGN') {
          const current = change.result();
          const c = cmd.def.Constraint;
          const defined = defineForeignKey(table, c, undefined, current, env.names, (n) => constraintNameTaken(current, table.schemaId, n));
          // NOT VALID: new rows are checked from now on, the ones already there only at VALIDATE CONSTRAINT.
          const fk = c.skip_validation ? { ...defined, notValid: true as const } : defined;
          table = { ...table, foreignKeys: [...(table.foreignKeys ?? []), fk] };
          if (!fk.notValid) await validateExistingRows(table, fk, env, current);
        } else if (cmd.def && 'Constraint' in cmd.def && cmd.def.Constraint.contype === 'CONSTR_CHECK') {
          table = await addCheck(table, cmd.def.Constraint, env, change.result());
        } else {
          table = await addConstraint(table, cmd.def, env, change.result());
        }
        break;
      case 'AT_ValidateConstraint':
        table = await validateConstraint(table, cmd.name ?? '', env, change.result());
        break;
      case 'AT_DropConstraint': {
        const name = cmd.name ?? '';
        const next = dropForeignKeyOrCheck(table, name);
        if (next) table = next;
        else if (cmd.missing_ok) env.notice({ severity: 'NOTICE', code: SQLSTATE.UNDEFINED_OBJECT, message: `constraint "${name}" of relation "${table.name}" does not exist, skipping` });
        else if (name === table.primaryKey.name || table.indexes.some((i) => i.unique && i.name === name)) {
          throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'ALTER TABLE DROP CONSTRAINT of a primary key or unique constraint is not supported yet');
        } else throw new SqlError(SQLSTATE.UNDEFINED_OBJECT, `constraint "${name}" of relation "${table.name}" does not exist`);
        break;
      }
      case 'AT_DropColumn':
        table = dropColumn(table, cmd.name ?? '', cmd.missing_ok ?? false, cmd.behavior === 'DROP_CASCADE', env, change);
        break;
      case 'AT_SetNotNull':
      case 'AT_DropNotNull': {
        const column = table.columns.find((c) => c.name === cmd.name && !c.hidden);
        if (!column) throw new SqlError(SQLSTATE.UNDEFINED_COLUMN, `column "${cmd.name ?? ''}" of relation "${table.name}" does not exist`);
        if (cmd.subtype === 'AT_DropNotNull' && table.primaryKey.columnIds.includes(column.id)) {
          throw new SqlError(SQLSTATE.INVALID_TABLE_DEFINITION, `column "${column.name}" is in a primary key`);
        }
        if (cmd.subtype === 'AT_SetNotNull') await requireNoNulls(table, column, env);
        table = { ...table, columns: table.columns.map((c) => (c.id === column.id ? { ...c, notNull: cmd.subtype === 'AT_SetNotNull' } : c)) };
        break;
      }
      case 'AT_ColumnDefault': {
        const column = table.columns.find((c) => c.name === cmd.name && !c.hidden);
        if (!column) throw new SqlError(SQLSTATE.UNDEFINED_COLUMN, `column "${cmd.name ?? ''}" of relation "${table.name}" does not exist`);
        const expr = cmd.def ? storeExpr(cmd.def) : null;
        table = { ...table, columns: table.columns.map((c) => (c.id === column.id ? { ...c, defaultExpr: expr } : c)) };
        break;
      }
      default:
        throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `ALTER TABLE ${(cmd.subtype ?? '').replace('AT_', '')} is not supported yet`);
    }
  }
  change.put(table);
  return 'ALTER TABLE';
}

async function addColumn(table: TableDescriptor, def: Node | undefined, ifNotExists: boolean, env: DdlEnv, change: CatalogChange): Promise<TableDescriptor> {
  if (!def || !('ColumnDef' in def)) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'ADD COLUMN needs a column definition');
  const cd = def.ColumnDef;
  const name = cd.colname ?? '';
  if (table.columns.some((c) => c.name === name)) {
    if (ifNotExists) {
      env.notice({ severity: 'NOTICE', code: SQLSTATE.DUPLICATE_COLUMN, message: `column "${name}" of relation "${table.name}" already exists, skipping` });
      return table;
    }
    throw new SqlError(SQLSTATE.DUPLICATE_COLUMN, `column "${name}" of relation "${table.name}" already exists`);
  }
  checkName(name, env, cd.location);
  for (const c of constraintsOf(cd)) {
    if (c.contype === 'CONSTR_PRIMARY' || c.contype === 'CONSTR_UNIQUE' || c.contype === 'CONSTR_CHECK') {
      throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'constraints in ADD COLUMN are not supported yet');
    }
  }
  const sequences: SequenceDescriptor[] = [];
  const column = await columnFrom(cd, table.nextColumnId, table.name, env, change, table.id, table.schemaId, sequences);
  if (sequences.length) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'adding a serial column to an existing table is not supported yet');
  const next: TableDescriptor = { ...table, columns: [...table.columns, column], nextColumnId: table.nextColumnId + 1 };
  if (column.defaultExpr !== null) {
    // Existing rows read the default as the column's "missing value" (as PG 11+ does), so nothing is rewritten.
    const expr = defaultFor(next, next.columns.length - 1, planContextFor(env, change.result()));
    if (expr.kind === 'call' && expr.volatile) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'ADD COLUMN with a volatile DEFAULT is not supported yet');
    const value = compile(expr)([], env.eval);
    if (value !== null) {
      const w = new KeyWriter();
      encodeValue(expr.type, value, w);
      column.missingValue = w.finish().toString('base64');
    }
  }
  if (column.notNull && column.missingValue === null) await requireNoRows(table, column.name, env);
  return next;
}

function dropColumn(table: TableDescriptor, name: string, missingOk: boolean, cascade: boolean, env: DdlEnv, change: CatalogChange): TableDescriptor {
  const column = table.columns.find((c) => c.name === name && !c.hidden);
  if (!column) {
    if (missingOk) {
      env.notice({ severity: 'NOTICE', code: SQLSTATE.UNDEFINED_COLUMN, message: `column "${name}" of relation "${table.name}" does not exist, skipping` });
      return table;
    }
    throw new SqlError(SQLSTATE.UNDEFINED_COLUMN, `column "${name}" of relation "${table.name}" does not exist`);
  }
  if (table.primaryKey.columnIds.includes(column.id)) {
    throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `cannot drop column "${name}": it is part of the primary key`);
  }
  if (table.columns.filter((c) => !c.hidden).length === 1) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'cannot drop the last column of a table');
  const dropped = table.indexes.filter((i) => i.columnIds.includes(column.id));
  for (const i of dropped) env.txn.deleteRange(env.ks.indexSpan(table.id, i.id));
  const checks = table.checks.filter((c) => !mentionsColumn(c.expr, name));
  // Other tables' foreign keys on the column need CASCADE (which drops them); the table's own go with it, as in PostgreSQL.
  const dependents = change.result().referencing(table.id).filter((x) => x.table.id !== table.id && x.fk.refColumnIds.includes(column.id));
  if (dependents.length && !cascade) {
    throw new SqlError(SQLSTATE.DEPENDENT_OBJECTS_STILL_EXIST, `cannot drop column ${name} of table ${table.name} because other objects depend on it`, {
      detail: dependents.map((x) => `constraint ${x.fk.name} on table ${x.table.name} depends on column ${name} of table ${table.name}`).join('\n'),
      hint: 'Use DROP ... CASCADE to drop the dependent objects too.',
    });
  }
  for (const { table: other, fk } of dependents) {
    env.notice({ severity: 'NOTICE', code: SQLSTATE.SUCCESSFUL_COMPLETION, message: `drop cascades to constraint ${fk.name} on table ${other.name}` });
    const current = change.result().table(other.id);
    if (current) change.put({ ...current, foreignKeys: (current.foreignKeys ?? []).filter((f) => f !== fk) });
  }
  const foreignKeys = (table.foreignKeys ?? []).filter((f) => !f.columnIds.includes(column.id) && !(f.refTableId === table.id && f.refColumnIds.includes(column.id)));
  return { ...table, columns: table.columns.filter((c) => c.id !== column.id), indexes: table.indexes.filter((i) => !dropped.includes(i)), checks, foreignKeys };
}

type RenameNode = Extract<Node, { RenameStmt: unknown }>['RenameStmt'];

function rename(stmt: RenameNode, env: DdlEnv, change: CatalogChange): string {
  const rv = stmt.relation ?? {};
  const newName = stmt.newname ?? '';
  checkName(newName, env, undefined);
  if (stmt.renameType === 'OBJECT_TYPE') return renameEnumType(stmt.object && 'List' in stmt.object ? stringsOf(stmt.object.List.items) : [], newName, env, change);
  if (stmt.renameType === 'OBJECT_TABLE' || stmt.renameType === 'OBJECT_SEQUENCE') {
    const rel = findRelation(env.catalog, env.names, qualifiedName(rv));
    if (!rel) {
      if (stmt.missing_ok) return 'ALTER TABLE';
      throw new SqlError(SQLSTATE.UNDEFINED_TABLE, `relation "${rv.relname ?? ''}" does not exist`);
    }
    if (env.catalog.relation(rel.schemaId, newName) || env.catalog.indexByName(rel.schemaId, newName)) {
      throw new SqlError(SQLSTATE.DUPLICATE_TABLE, `relation "${newName}" already exists`);
    }
    change.put({ ...rel, name: newName });
    return stmt.renameType === 'OBJECT_TABLE' ? 'ALTER TABLE' : 'ALTER SEQUENCE';
  }
  if (stmt.renameType === 'OBJECT_COLUMN') {
    const table = resolveTable(env.catalog, env.names, qualifiedName(rv), env.position(rv.location));
    const old = stmt.subname ?? '';
    const column = table.columns.find((c) => c.name === old && !c.hidden);
    if (!column) throw new SqlError(SQLSTATE.UNDEFINED_COLUMN, `column "${old}" does not exist`);
    if (table.columns.some((c) => c.name === newName)) throw new SqlError(SQLSTATE.DUPLICATE_COLUMN, `column "${newName}" of relation "${table.name}" already exists`);
    change.put({
      ...table,
      columns: table.columns.map((c) => ({ ...c, name: c.id === column.id ? newName : c.name, defaultExpr: c.defaultExpr && renameInExpr(c.defaultExpr, old, newName) })),
      checks: table.checks.map((c) => ({ ...c, expr: renameInExpr(c.expr, old, newName) })),
    });
    return 'ALTER TABLE';
  }
  if (stmt.renameType === 'OBJECT_INDEX') {
    const schemas = rv.schemaname !== undefined ? [rv.schemaname] : env.names.searchPath;
    for (const s of schemas) {
      const schema = env.catalog.schema(env.names.databaseId, s);
      const found = schema && env.catalog.indexByName(schema.id, rv.relname ?? '');
      if (!found) continue;
      const t = found.table;
      change.put(
        found.indexId === PRIMARY_INDEX_ID
          ? { ...t, primaryKey: { ...t.primaryKey, name: newName } }
          : { ...t, indexes: t.indexes.map((i) => (i.id === found.indexId ? { ...i, name: newName } : i)) },
      );
      return 'ALTER INDEX';
    }
    throw new SqlError(SQLSTATE.UNDEFINED_TABLE, `relation "${rv.relname ?? ''}" does not exist`);
  }
  throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `renaming ${(stmt.renameType ?? '').replace('OBJECT_', '').toLowerCase()} is not supported`);
}

function truncate(stmt: Extract<Node, { TruncateStmt: unknown }>['TruncateStmt'], env: DdlEnv): string {
  const named = (stmt.relations ?? []).flatMap((r) => ('RangeVar' in r ? [resolveTable(env.catalog, env.names, qualifiedName(r.RangeVar), env.position(r.RangeVar.location))] : []));
  for (const table of truncationSet(named, stmt.behavior === 'DROP_CASCADE', env.catalog, env.notice)) {
    env.txn.deleteRange(env.ks.tableSpan(table.id));
    if (stmt.restart_seqs) {
      // A sequence without a stored value starts over from its START.
      for (const d of env.catalog.descriptors) if (d.kind === 'sequence' && d.ownedBy?.tableId === table.id) env.txn.delete(env.ks.sequenceKey(d.id));
    }
  }
  return 'TRUNCATE TABLE';
}

async function requireNoRows(table: TableDescriptor, column: string, env: DdlEnv): Promise<void> {
  const rows = await env.txn.scan(env.ks.indexSpan(table.id, PRIMARY_INDEX_ID), 1);
  if (rows.length) throw new SqlError(SQLSTATE.NOT_NULL_VIOLATION, `column "${column}" of relation "${table.name}" contains null values`);
}

async function requireNoNulls(table: TableDescriptor, column: ColumnDescriptor, env: DdlEnv): Promise<void> {
  const codec = codecFor(env.ks, env.catalog, table);
  const slot = codec.slot(column.id);
  for await (const page of env.txn.pages(env.ks.indexSpan(table.id, PRIMARY_INDEX_ID))) {
    if (page.some((kv) => (codec.decodeRow(kv.key, kv.value)[slot] ?? null) === null)) {
      throw new SqlError(SQLSTATE.NOT_NULL_VIOLATION, `column "${column.name}" of relation "${table.name}" contains null values`);
    }
  }
}

function constraintsOf(def: ColumnDefNode): ConstraintNode[] {
  return (def.constraints ?? []).flatMap((c) => ('Constraint' in c ? [c.Constraint] : []));
}

function describeConstraint(t: string | undefined): string {
  return (t ?? 'CONSTR_?').replace('CONSTR_', '').toLowerCase();
}

function storeExpr(node: Node | undefined): string {
  if (!node) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'missing expression');
  return fingerprint(node);
}

function renameInExpr(json: string, from: string, to: string): string {
  return JSON.stringify(JSON.parse(json), (key, value: unknown) => {
    if (key !== 'ColumnRef' || !value || typeof value !== 'object') return value;
    const ref = value as { fields?: { String?: { sval?: string } }[] };
    const last = ref.fields?.[ref.fields.length - 1];
    if (last?.String?.sval === from) last.String.sval = to;
    return ref;
  });
}

function mentionsColumn(json: string, name: string): boolean {
  let found = false;
  JSON.parse(json, (key, value: unknown) => {
    if (key === 'sval' && value === name) found = true;
    return value;
  });
  return found;
}

function checkName(name: string, env: DdlEnv, location: number | undefined): void {
  if (name.length === 0) throw new SqlError(SQLSTATE.INVALID_NAME, 'zero-length delimited identifier', at(env, location));
  if (Buffer.byteLength(name) > MAX_NAME) throw new SqlError(SQLSTATE.NAME_TOO_LONG, `identifier "${name}" is too long (at most ${MAX_NAME} bytes)`, at(env, location));
}

/** PG's ChooseRelationName: base, then base1, base2 … until free in the schema. */
function uniqueName(base: string, taken: Set<string>, catalog: Catalog, schemaId: number): string {
  const free = (n: string) => !taken.has(n) && !catalog.relation(schemaId, n) && !catalog.indexByName(schemaId, n);
  const trimmed = base.slice(0, MAX_NAME);
  if (free(trimmed)) return trimmed;
  for (let i = 1; ; i++) {
    const candidate = `${base.slice(0, MAX_NAME - String(i).length)}${i}`;
    if (free(candidate)) return candidate;
  }
}

export function planContextFor(env: DdlEnv, catalog: Catalog): PlanContext {
  return { catalog, names: env.names, session: env.session, params: env.params, position: env.position, subqueries: [] };
}

