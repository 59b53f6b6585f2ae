// CREATE TABLE … AS and SELECT … INTO: the table's definition is derived from
// the query's result columns (their types with typmods, as PostgreSQL's
// CTAS keeps them), then the rows go in through INSERT … SELECT, in the same
// transaction. Both come out as ordinary statements for the DDL and INSERT
// paths to handle, so the new table is like any table without a primary key.
import type { IntoClause, Node } from '@pgsql/types';
import { SQLSTATE, SqlError } from '../errors.js';
import { parseStatements } from '../parser/index.js';
import type { OutputColumn } from '../plan/plan.js';
import { T, formatType } from '../types/index.js';

export interface CreateTableAs {
  readonly into: IntoClause;
  readonly query: Node;
  readonly ifNotExists: boolean;
}

/** The CTAS of either spelling; null for other statements. */
export function createTableAsOf(node: Node): CreateTableAs | null {
  if ('CreateTableAsStmt' in node) {
    const s = node.CreateTableAsStmt;
    if (s.objtype === 'OBJECT_MATVIEW') throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'CREATE MATERIALIZED VIEW is not supported: materialized views are not supported');
    if (!s.into || !s.query) return null;
    if (!('SelectStmt' in s.query)) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'CREATE TABLE … AS EXECUTE is not supported');
    return { into: s.into, query: s.query, ifNotExists: s.if_not_exists ?? false };
  }
  if ('SelectStmt' in node && node.SelectStmt.intoClause) {
    const { intoClause, ...select } = node.SelectStmt;
    return { into: intoClause, query: { SelectStmt: select }, ifNotExists: false };
  }
  return null;
}

/** CREATE TABLE with the query's columns, renamed by the column name list. */
export function createStatement(ctas: CreateTableAs, columns: readonly OutputColumn[]): Node {
  const into = ctas.into;
  const names = (into.colNames ?? []).map((n) => ('String' in n ? (n.String.sval ?? '') : ''));
  if (names.length > columns.length) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'too many column names were specified');
  if (into.options?.length) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'CREATE TABLE … AS with WITH (storage parameters) is not supported');
  if (into.onCommit && into.onCommit !== 'ONCOMMIT_NOOP') throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'ON COMMIT is only for temporary tables, which are not supported');
  if (into.accessMethod || into.tableSpaceName) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'CREATE TABLE … AS with USING or TABLESPACE is not supported');
  // The column definitions as PostgreSQL's format_type spells the types; an unknown literal becomes text.
  const defs = columns.map((c, i) => `${quoteIdent(names[i] ?? c.name)} ${formatType(c.type.oid === T.unknown.oid ? T.text : c.type)}`);
  const parsed = parseStatements(`CREATE TABLE t (${defs.join(', ')})`)[0]?.node;
  if (!parsed || !('CreateStmt' in parsed)) throw new SqlError(SQLSTATE.INTERNAL_ERROR, 'CREATE TABLE … AS could not define its columns');
  return { CreateStmt: { ...parsed.CreateStmt, relation: into.rel, if_not_exists: ctas.ifNotExists } };
}

/** INSERT INTO the new table SELECT the query. */
export function insertStatement(ctas: CreateTableAs): Node {
  return { InsertStmt: { relation: ctas.into.rel, selectStmt: ctas.query, override: 'OVERRIDING_NOT_SET' } };
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
