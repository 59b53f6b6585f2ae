// Bookkeeping of the extended query protocol: prepared statements and
// portals by name, with PostgreSQL's rules for the unnamed ones, plus the
// pure checks of the Bind message.
import type { FormatCode, Portal, PreparedStatement, ResultColumn } from '../sql/session-api.js';
import { SQLSTATE, SqlError } from '../sql/errors.js';


export interface StatementEntry {
  readonly name: string;
  /** null for an empty query string: its portals answer EmptyQueryResponse. */
  readonly prepared: PreparedStatement | null;
  readonly paramTypeOids: readonly number[];
  readonly columns: readonly ResultColumn[] | null;
  /** The statement's start within the Parse message's text, in characters, for error positions. */
  readonly offset: number | undefined;
}

export type PortalState = 'ready' | 'suspended' | 'done' | 'failed';

export interface PortalEntry {
  readonly name: string;
  /** null when bound from an empty statement. */
  readonly portal: Portal | null;
  readonly statement: StatementEntry;
  state: PortalState;
  /** Tag of the completing Execute, to answer a repeated Execute of a finished row-returning portal. */
  doneTag?: string;
}

const quoted = (kind: 'prepared statement' | 'portal', name: string): string =>
  kind === 'prepared statement' && name === '' ? 'unnamed prepared statement' : `${kind} "${name}"`;

export class ExtendedState {
  private readonly statements = new Map<string, StatementEntry>();
  private readonly portals = new Map<string, PortalEntry>();

  /** Parse of the unnamed statement drops the old one first, even if the new one then fails to parse. */
  beginParse(name: string): void {
    if (name === '') {
      this.statements.delete('');
      return;
    }
    if (this.statements.has(name)) {
      throw new SqlError(SQLSTATE.DUPLICATE_PREPARED_STATEMENT, `prepared statement "${name}" already exists`);
    }
  }

  addStatement(entry: StatementEntry): void {
    this.statements.set(entry.name, entry);
  }

  statement(name: string): StatementEntry {
    const s = this.statements.get(name);
    if (!s) throw new SqlError(SQLSTATE.INVALID_SQL_STATEMENT_NAME, `${quoted('prepared statement', name)} does not exist`);
    return s;
  }

  /** Bind to the unnamed portal silently replaces it; a named one must not exist yet. */
  beginBind(name: string): void {
    if (name === '') {
      this.closePortal('');
      return;
    }
    if (this.portals.has(name)) throw new SqlError(SQLSTATE.DUPLICATE_CURSOR, `cursor "${name}" already exists`);
  }

  addPortal(entry: PortalEntry): void {
    this.portals.set(entry.name, entry);
  }

  portal(name: string): PortalEntry {
    const p = this.portals.get(name);
    if (!p) throw new SqlError(SQLSTATE.INVALID_CURSOR_NAME, `${quoted('portal', name)} does not exist`);
    return p;
  }

  /** Closing what does not exist is not an error (CloseComplete all the same). */
  closeStatement(name: string): void {
    this.statements.delete(name);
  }

  closePortal(name: string): void {
    const p = this.portals.get(name);
    if (!p) return;
    this.portals.delete(name);
    p.portal?.close();
  }

  /** The end of a transaction destroys its portals, named ones included (no WITH HOLD cursors here). */
  closeAllPortals(): void {
    for (const name of [...this.portals.keys()]) this.closePortal(name);
  }

  /** A simple Query uses the unnamed statement and portal itself, so it destroys them as PostgreSQL does. */
  dropUnnamed(): void {
    this.statements.delete('');
    this.closePortal('');
  }
}

/**
 * Expands a Bind message's format codes to one per value: none means all
 * text, one applies to all, otherwise exactly one per value.
 */
export function expandFormats(codes: readonly number[], count: number, what: 'parameter' | 'result'): FormatCode[] {
  for (const c of codes) {
    if (c !== 0 && c !== 1) throw new SqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `unsupported format code: ${c}`);
  }
  if (codes.length === 0) return new Array<FormatCode>(count).fill(0);
  if (codes.length === 1) return new Array<FormatCode>(count).fill(codes[0] as FormatCode);
  if (codes.length === count) return codes as FormatCode[];
  const message =
    what === 'parameter'
      ? `bind message has ${codes.length} parameter formats but ${count} parameters`
      : `bind message has ${codes.length} result formats but query has ${count} columns`;
  throw new SqlError(SQLSTATE.PROTOCOL_VIOLATION, message);
}

export function checkParamCount(supplied: number, statementName: string, required: number): void {
  if (supplied === required) return;
  throw new SqlError(
    SQLSTATE.PROTOCOL_VIOLATION,
    `bind message supplies ${supplied} parameters, but prepared statement "${statementName}" requires ${required}`,
  );
}

const COUNTED_TAGS = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'FETCH', 'MOVE', 'COPY']);

/** The tag of an Execute that found a finished row-returning portal: same command, zero rows. */
export function zeroRowsTag(tag: string): string {
  const words = tag.split(' ');
  if (!COUNTED_TAGS.has(words[0] ?? '') || words.length < 2) return tag;
  words[words.length - 1] = '0';
  return words.join(' ');
}
