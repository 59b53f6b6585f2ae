// Turns a query result into the values sqllogictest compares: printed by the
// declared column type, sorted as the record asks, hashed above the threshold.
import { createHash } from 'node:crypto';
import type { Expected, SortMode } from './parser.js';

/** A result cell as the server sent it in text form; null for SQL NULL. */
export type Cell = string | null;

// PostgreSQL's text form of booleans; SQLite, which wrote the corpus, has none and answers 1 / 0.
const BOOLEANS: Readonly<Record<string, string>> = { t: '1', f: '0', true: '1', false: '0' };

/**
 * C's printf("%.3f"). toFixed differs only on exact binary ties (x = odd/16,
 * e.g. 0.0625), which it rounds away from zero where glibc rounds to even.
 */
export function formatReal(x: number): string {
  if (Number.isInteger(x * 16) && !Number.isInteger(x * 8)) {
    const scaled = x * 1000; // exact: x has at most 4 binary fraction digits
    const down = Math.floor(scaled);
    return ((down % 2 === 0 ? down : down + 1) / 1000).toFixed(3);
  }
  return x.toFixed(3);
}

/**
 * An I column. Integers print as they are; a fraction (a numeric or float
 * where SQLite has an integer, e.g. PostgreSQL's avg()) is truncated toward
 * zero, as the ODBC driver of sqllogictest converts it to a C integer.
 */
function formatInteger(text: string): string {
  if (/^-?\d+$/.test(text)) return text === '-0' ? '0' : text;
  const boolean = BOOLEANS[text];
  if (boolean !== undefined) return boolean;
  const x = Number(text);
  if (text.trim() === '' || !Number.isFinite(x)) return text;
  const truncated = Math.trunc(x);
  return Number.isSafeInteger(truncated) ? String(truncated === 0 ? 0 : truncated) : BigInt(truncated).toString();
}

/** Non-printable (outside ASCII 0x20–0x7e) characters become `@`, as the reference runner prints them. */
function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/gu, '@');
}

export function formatCell(cell: Cell, type: string): string {
  if (cell === null) return 'NULL';
  let text = cell;
  if (type === 'I') text = formatInteger(cell);
  else if (type === 'R') {
    const x = Number(cell);
    text = cell.trim() !== '' && Number.isFinite(x) ? formatReal(x) : cell;
  }
  return text === '' ? '(empty)' : printable(text);
}

/** Formats every cell of `rows`, sorts as asked and flattens to the value list sqllogictest compares. */
export function formatResult(rows: readonly (readonly Cell[])[], types: string, sort: SortMode): string[] {
  const printed = rows.map((row) => row.map((cell, i) => formatCell(cell, types[i] ?? 'T')));
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  if (sort === 'rowsort') {
    printed.sort((a, b) => {
      for (let i = 0; i < Math.min(a.length, b.length); i++) {
        const c = cmp(a[i] ?? '', b[i] ?? '');
        if (c !== 0) return c;
      }
      return a.length - b.length;
    });
  }
  const values = printed.flat();
  return sort === 'valuesort' ? values.sort(cmp) : values;
}

/** md5 of the values, each followed by a newline: the `<n> values hashing to <md5>` of the format. */
export function hashValues(values: readonly string[]): string {
  const md5 = createHash('md5');
  for (const v of values) md5.update(`${v}\n`);
  return md5.digest('hex');
}

/** The expected block sqllogictest writes for `values` under `threshold` (0: never hash). */
export function expectedBlock(values: readonly string[], threshold: number): string[] {
  return threshold > 0 && values.length > threshold ? [`${values.length} values hashing to ${hashValues(values)}`] : [...values];
}

/** Whether `values` (already formatted and sorted) match the record's expected block. */
export function matches(expected: Expected, values: readonly string[]): boolean {
  if (expected.kind === 'hash') return expected.count === values.length && expected.md5 === hashValues(values);
  return expected.values.length === values.length && expected.values.every((v, i) => v === values[i]);
}
