// One-dimensional arrays (lower bound 1): the text form array_in/array_out
// use, the binary form of array_send/array_recv and btree order. The element
// type's own functions are passed in, so this module stays below them.
import { SQLSTATE } from '../errors.js';
import { SqlArray, sqlError, type Datum, type SqlType } from './catalog.js';

function malformed(text: string, detail: string): Error {
  return sqlError(SQLSTATE.INVALID_TEXT_REPRESENTATION, `malformed array literal: "${text}"`, { detail });
}

// array_isspace: only ASCII whitespace separates array items.
const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';

/** array_in's scan of a one-dimensional literal into element texts (null for NULL). */
export function parseArrayItems(text: string): (string | null)[] {
  let i = 0;
  while (isSpace(text[i])) i++;
  if (text[i] === '[') throw sqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'array dimension decorations are not supported');
  if (text[i] !== '{') throw malformed(text, 'Array value must start with "{" or dimension information.');
  i++;
  const out: (string | null)[] = [];
  while (isSpace(text[i])) i++;
  if (text[i] === '}') {
    i++;
  } else {
    for (;;) {
      while (isSpace(text[i])) i++;
      if (text[i] === '{') throw sqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'multidimensional arrays are not supported');
      let value = '';
      let quotedAny = false;
      let escaped = false;
      // Trailing unquoted whitespace is dropped; whitespace inside quotes or escaped is kept.
      let keptLength = 0;
      for (;;) {
        const c = text[i];
        if (c === undefined) throw malformed(text, 'Unexpected end of input.');
        if (c === '\\') {
          const next = text[i + 1];
          if (next === undefined) throw malformed(text, 'Unexpected end of input.');
          value += next;
          keptLength = value.length;
          escaped = true;
          i += 2;
        } else if (c === '"') {
          quotedAny = true;
          i++;
          for (;;) {
            const q = text[i];
            if (q === undefined) throw malformed(text, 'Unexpected end of input.');
            if (q === '"') break;
            if (q === '\\') {
              i++;
              const e = text[i];
              if (e === undefined) throw malformed(text, 'Unexpected end of input.');
              value += e;
            } else value += q;
            i++;
          }
          keptLength = value.length;
          i++;
        } else if (c === ',' || c === '}') {
          break;
        } else if (c === '{') {
          throw malformed(text, 'Unexpected "{" character.');
        } else {
          if (!isSpace(c)) {
            value += c;
            keptLength = value.length;
          } else if (value.length > 0 || quotedAny) value += c;
          i++;
        }
      }
      value = value.slice(0, keptLength);
      if (!quotedAny && !escaped && value === '') throw malformed(text, `Unexpected "${text[i] ?? ''}" character.`);
      out.push(!quotedAny && !escaped && value.toUpperCase() === 'NULL' ? null : value);
      if (text[i] === '}') {
        i++;
        break;
      }
      i++;
    }
  }
  while (isSpace(text[i])) i++;
  if (i < text.length) throw malformed(text, 'Junk after closing right brace.');
  return out;
}

/** array_out: element texts joined, quoted when they would not read back as themselves. */
export function formatArrayItems(items: readonly (string | null)[]): string {
  const shown = items.map((e) => {
    if (e === null) return 'NULL';
    if (e === '' || /[{},"\\ \t\n\r\v\f]/.test(e) || e.toUpperCase() === 'NULL') return `"${e.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
    return e;
  });
  return `{${shown.join(',')}}`;
}

export function arrayValue(d: Datum): SqlArray {
  if (!(d instanceof SqlArray)) throw new TypeError('not an array value');
  return d;
}

/** array_send: ndim, has-null flag, element OID, then (size, lower bound 1) and each element with its length (-1 for NULL). */
export function arraySend(t: SqlType, d: Datum, send: (e: Datum) => Buffer): Buffer {
  const { items } = arrayValue(d);
  const element = t.element;
  if (!element) throw new TypeError(`${t.name} is not an array type`);
  const head = Buffer.alloc(items.length === 0 ? 12 : 20);
  head.writeInt32BE(items.length === 0 ? 0 : 1, 0);
  head.writeInt32BE(items.some((e) => e === null) ? 1 : 0, 4);
  head.writeUInt32BE(element.oid, 8);
  if (items.length > 0) {
    head.writeInt32BE(items.length, 12);
    head.writeInt32BE(1, 16);
  }
  const parts: Buffer[] = [head];
  for (const e of items) {
    const len = Buffer.alloc(4);
    if (e === null) {
      len.writeInt32BE(-1);
      parts.push(len);
    } else {
      const body = send(e);
      len.writeInt32BE(body.length);
      parts.push(len, body);
    }
  }
  return Buffer.concat(parts);
}

function badBinary(message: string): Error {
  return sqlError(SQLSTATE.INVALID_BINARY_REPRESENTATION, message);
}

/** array_recv for a one-dimensional array of the type's elements (any lower bound is read as 1). */
export function arrayRecv(t: SqlType, buf: Buffer, recv: (b: Buffer) => Datum): SqlArray {
  const element = t.element;
  if (!element) throw new TypeError(`${t.name} is not an array type`);
  if (buf.length < 12) throw badBinary('insufficient data left in message');
  const ndim = buf.readInt32BE(0);
  if (ndim < 0) throw badBinary(`invalid number of dimensions: ${ndim}`);
  if (ndim > 1) throw sqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'multidimensional arrays are not supported');
  const flags = buf.readInt32BE(4);
  if (flags !== 0 && flags !== 1) throw badBinary('invalid array flags');
  if (buf.readUInt32BE(8) !== element.oid) throw badBinary('binary data has array element type ' + String(buf.readUInt32BE(8)) + ` instead of expected ${String(element.oid)}`);
  if (ndim === 0) return new SqlArray([]);
  if (buf.length < 20) throw badBinary('insufficient data left in message');
  const n = buf.readInt32BE(12);
  if (n < 0) throw badBinary('array size exceeds the maximum allowed');
  let at = 20;
  const items: Datum[] = [];
  for (let k = 0; k < n; k++) {
    if (at + 4 > buf.length) throw badBinary('insufficient data left in message');
    const len = buf.readInt32BE(at);
    at += 4;
    if (len === -1) {
      items.push(null);
      continue;
    }
    if (len < 0 || at + len > buf.length) throw badBinary('insufficient data left in message');
    items.push(recv(buf.subarray(at, at + len)));
    at += len;
  }
  if (at !== buf.length) throw badBinary('incorrect binary data format in array element');
  return new SqlArray(items);
}

/** btree order: element by element (NULL after every value), then the shorter array first. */
export function compareArrays(a: Datum, b: Datum, compareElements: (x: Datum, y: Datum) => number): number {
  const x = arrayValue(a).items;
  const y = arrayValue(b).items;
  for (let k = 0; k < Math.min(x.length, y.length); k++) {
    const p = x[k] ?? null;
    const q = y[k] ?? null;
    if (p === null || q === null) {
      if (p !== q) return p === null ? 1 : -1;
      continue;
    }
    const c = compareElements(p, q);
    if (c !== 0) return c;
  }
  return Math.sign(x.length - y.length);
}
