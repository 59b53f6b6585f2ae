// PostgreSQL's array text form ('{a,"b c",NULL}'): Shoal has no array types,
// and the catalog columns that are arrays in PostgreSQL hold this text, so
// the few array operations catalog queries use work on it.
import { SQLSTATE, SqlError } from '../../errors.js';

/** Elements of a one-dimensional array literal; NULL elements are null. */
export function parseArrayText(text: string): (string | null)[] {
  const s = text.trim();
  if (!s.startsWith('{') || !s.endsWith('}')) throw new SqlError(SQLSTATE.INVALID_TEXT_REPRESENTATION, `malformed array literal: "${text}"`);
  const body = s.slice(1, -1);
  const out: (string | null)[] = [];
  if (body.trim() === '') return out;
  let i = 0;
  while (i <= body.length) {
    while (body[i] === ' ') i++;
    if (body[i] === '{') throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'multidimensional arrays are not supported');
    if (body[i] === '"') {
      let value = '';
      i++;
      while (i < body.length && body[i] !== '"') {
        if (body[i] === '\\') i++;
        value += body[i] ?? '';
        i++;
      }
      i++;
      out.push(value);
    } else {
      let value = '';
      while (i < body.length && body[i] !== ',') value += body[i++];
      value = value.trim();
      out.push(value.toUpperCase() === 'NULL' ? null : value);
    }
    while (body[i] === ' ') i++;
    if (i >= body.length) break;
    if (body[i] !== ',') throw new SqlError(SQLSTATE.INVALID_TEXT_REPRESENTATION, `malformed array literal: "${text}"`);
    i++;
  }
  return out;
}

/** The text form of a one-dimensional array, quoting as array_out does. */
export function formatArrayText(elements: readonly (string | null)[]): string {
  const quoted = elements.map((e) => {
    if (e === null) return 'NULL';
    if (e === '' || /[{},"\\\s]/.test(e) || e.toUpperCase() === 'NULL') return `"${e.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
    return e;
  });
  return `{${quoted.join(',')}}`;
}
