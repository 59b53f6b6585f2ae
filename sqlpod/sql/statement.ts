// One statement of a query string as the session keeps it: the parse tree,
// its text, and where it sits in the string the client sent (for positions).
import type { Node } from '@pgsql/types';
import { charPosition, parseStatements } from './parser/index.js';
import type { ParsedStatement } from './session-api.js';

export class Statement implements ParsedStatement {
  readonly kind: string;

  constructor(
    readonly node: Node | null,
    readonly sql: string,
    /** The whole query string the statement came from; parser locations are byte offsets into it. */
    private readonly source: string,
    private readonly offset: number,
  ) {
    this.kind = node ? commandKind(node) : 'EMPTY';
  }

  /** A statement inside this one (PREPARE's): its parser locations are in the same query string. */
  inner(node: Node | null): Statement {
    return new Statement(node, this.sql, this.source, this.offset);
  }

  /** A parser location as a 1-based position within this statement's text. */
  position = (location: number | undefined): number | undefined => {
    if (location === undefined || location < 0) return undefined;
    return charPosition(this.source, location) - this.offset + 1;
  };
}

export function splitQuery(sql: string): Statement[] {
  return parseStatements(sql).map((s) => new Statement(s.node, s.sql, sql, s.offset));
}

/** The command tag's verb (CommandComplete), known from the parse tree alone. */
export function commandKind(node: Node): string {
  if ('SelectStmt' in node) return 'SELECT';
  if ('InsertStmt' in node) return 'INSERT';
  if ('UpdateStmt' in node) return 'UPDATE';
  if ('DeleteStmt' in node) return 'DELETE';
  if ('TransactionStmt' in node) {
    switch (node.TransactionStmt.kind) {
      case 'TRANS_STMT_BEGIN':
        return 'BEGIN';
      case 'TRANS_STMT_START':
        return 'START TRANSACTION';
      case 'TRANS_STMT_COMMIT':
        return 'COMMIT';
      case 'TRANS_STMT_ROLLBACK':
        return 'ROLLBACK';
      case 'TRANS_STMT_SAVEPOINT':
        return 'SAVEPOINT';
      case 'TRANS_STMT_RELEASE':
        return 'RELEASE';
      case 'TRANS_STMT_ROLLBACK_TO':
        return 'ROLLBACK';
      default:
        return 'TRANSACTION';
    }
  }
  if ('VariableSetStmt' in node) return node.VariableSetStmt.kind === 'VAR_RESET' || node.VariableSetStmt.kind === 'VAR_RESET_ALL' ? 'RESET' : 'SET';
  if ('VariableShowStmt' in node) return 'SHOW';
  if ('CreateStmt' in node) return 'CREATE TABLE';
  if ('IndexStmt' in node) return 'CREATE INDEX';
  if ('CreatedbStmt' in node) return 'CREATE DATABASE';
  if ('DropdbStmt' in node) return 'DROP DATABASE';
  if ('CreateSchemaStmt' in node) return 'CREATE SCHEMA';
  if ('CreateSeqStmt' in node) return 'CREATE SEQUENCE';
  if ('AlterSeqStmt' in node) return 'ALTER SEQUENCE';
  if ('AlterTableStmt' in node) return 'ALTER TABLE';
  if ('RenameStmt' in node) return 'ALTER TABLE';
  if ('TruncateStmt' in node) return 'TRUNCATE TABLE';
  if ('DropStmt' in node) return 'DROP';
  if ('DiscardStmt' in node) return 'DISCARD ALL';
  if ('DeclareCursorStmt' in node) return 'DECLARE CURSOR';
  if ('FetchStmt' in node) return node.FetchStmt.ismove ? 'MOVE' : 'FETCH';
  if ('ClosePortalStmt' in node) return 'CLOSE CURSOR';
  if ('CreateTableAsStmt' in node) return 'SELECT';
  if ('CreateRoleStmt' in node) return 'CREATE ROLE';
  if ('AlterRoleStmt' in node) return 'ALTER ROLE';
  if ('DropRoleStmt' in node) return 'DROP ROLE';
  return Object.keys(node)[0]?.replace(/Stmt$/, '').toUpperCase() ?? 'UNKNOWN';
}
