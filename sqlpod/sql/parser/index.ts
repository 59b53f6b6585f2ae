// The real PostgreSQL grammar (libpg-query, PG 17, compiled to wasm). The
// wasm module loads asynchronously once; parsing is synchronous after that.
import { loadModule, parseSync } from 'libpg-query';
import type { Node, ParseResult } from '@pgsql/types';
import { SQLSTATE, SqlError } from '../errors.js';

export type { Node } from '@pgsql/types';

let loaded: Promise<void> | null = null;

/** Loads the parser; call once before parsing (idempotent). */
export function loadParser(): Promise<void> {
  loaded ??= loadModule();
  return loaded;
}

export interface RawStatement {
  readonly node: Node;
  /** The statement's own text. */
  readonly sql: string;
  /** Character offset of the statement within the parsed string. */
  readonly offset: number;
}

interface ParserFailure {
  sqlDetails?: { message?: string; cursorPosition?: number };
}

/** Splits and parses a query string; a syntax error is 42601 with PG's message and position. */
export function parseStatements(sql: string): RawStatement[] {
  let result: ParseResult;
  try {
    result = parseSync(sql) as ParseResult;
  } catch (err) {
    const details = (err as ParserFailure).sqlDetails;
    const message = details?.message ?? (err instanceof Error ? err.message : String(err));
    const position = details?.cursorPosition === undefined ? undefined : charPosition(sql, details.cursorPosition) + 1;
    // The grammar's checks of frame bounds are PostgreSQL windowing errors, not syntax errors.
    const code = /^frame (start|end|starting) /.test(message) ? SQLSTATE.WINDOWING_ERROR : SQLSTATE.SYNTAX_ERROR;
    throw new SqlError(code, message, position === undefined ? {} : { position });
  }
  const statements: RawStatement[] = [];
  for (const raw of result.stmts ?? []) {
    if (!raw.stmt) continue;
    // Locations are byte offsets into the UTF-8 text.
    const start = charPosition(sql, raw.stmt_location ?? 0);
    const end = raw.stmt_len ? charPosition(sql, (raw.stmt_location ?? 0) + raw.stmt_len) : sql.length;
    statements.push({ node: raw.stmt, sql: sql.slice(start, end), offset: start });
  }
  return statements;
}

/** Converts a UTF-8 byte offset (what the parser reports) into a string index. */
export function charPosition(sql: string, byteOffset: number): number {
  if (byteOffset <= 0) return 0;
  // Fast path: ASCII text, where bytes and characters coincide.
  if (Buffer.byteLength(sql, 'utf8') === sql.length) return Math.min(byteOffset, sql.length);
  return Buffer.from(sql, 'utf8').subarray(0, byteOffset).toString('utf8').length;
}
