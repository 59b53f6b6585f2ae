// How failures become ErrorResponse fields, and where an error position
// points in the query string the client sent.
import { PgWireError, type NoticeFields } from '../../shared/pgwire/index.js';
import { SQLSTATE, SqlError } from '../sql/errors.js';

/** The protocol cannot carry NUL inside a string, and BackendWriter refuses it midway through a message. */
export function noNul(s: string): string {
  return s.includes('\0') ? s.replaceAll('\0', '') : s;
}

/** PostgreSQL counts positions in characters; JavaScript strings index UTF-16 code units. */
export function charLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // The high half of a surrogate pair starts a character, the low half continues it.
    if (c < 0xdc00 || c > 0xdfff) n++;
  }
  return n;
}

/**
 * Where each statement starts in the query string, in characters (0-based),
 * searching in order so a repeated statement text maps to its own place;
 * undefined when the engine's text for it is not a substring of the query.
 */
export function statementOffsets(query: string, statements: readonly { readonly sql: string }[]): (number | undefined)[] {
  let from = 0;
  let chars = 0;
  let charsAt = 0;
  return statements.map(({ sql }) => {
    const at = query.indexOf(sql, from);
    if (at < 0) return undefined;
    chars += charLength(query.slice(charsAt, at));
    charsAt = at;
    from = at + sql.length;
    return chars;
  });
}

/** Rebases an engine position (1-based, within the statement) onto the query string; drops it if the statement was not found. */
export function queryPosition(statementPosition: number | undefined, statementOffset: number | undefined): number | undefined {
  if (statementPosition === undefined || statementOffset === undefined) return undefined;
  return statementOffset + statementPosition;
}

export interface ReportedError {
  readonly fields: NoticeFields;
  /** Not a SqlError or PgWireError: a bug somewhere, worth a log line with the stack. */
  readonly internal: boolean;
  /** PostgreSQL's CONTEXT (field W), which NoticeFields cannot carry. */
  readonly where?: string;
}

/**
 * The ErrorResponse for a failure. Codec errors are FATAL (the stream can no
 * longer be trusted); SqlErrors keep their severity; anything else is the
 * engine's bug, reported as XX000 as the session contract says.
 */
export function toErrorResponse(err: unknown, statementOffset: number | undefined): ReportedError {
  if (err instanceof SqlError) {
    const fields: NoticeFields = { severity: err.fields.severity ?? 'ERROR', code: err.code, message: noNul(err.message) };
    if (err.fields.detail !== undefined) fields.detail = noNul(err.fields.detail);
    if (err.fields.hint !== undefined) fields.hint = noNul(err.fields.hint);
    const position = queryPosition(err.fields.position, statementOffset);
    if (position !== undefined) fields.position = position;
    return err.fields.where === undefined ? { fields, internal: false } : { fields, internal: false, where: noNul(err.fields.where) };
  }
  if (err instanceof PgWireError) {
    return { fields: { severity: 'FATAL', code: err.code, message: noNul(err.message) }, internal: false };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { fields: { severity: 'ERROR', code: SQLSTATE.INTERNAL_ERROR, message: noNul(`internal error: ${message}`) }, internal: true };
}
