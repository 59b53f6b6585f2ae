import { describe, expect, it } from 'vitest';
import { formatArrayItems, parseArrayItems } from './arrays.js';
import {
  KeyReader,
  KeyWriter,
  Numeric,
  SqlArray,
  T,
  arrayOf,
  compare,
  decodeKey,
  decodeValue,
  encodeKey,
  encodeValue,
  formatBinary,
  formatText,
  parseBinary,
  parseText,
  typeFromName,
  type Datum,
  type SqlType,
} from './index.js';
import { expectSqlError, rng } from './test-util.js';

const INT4_ARRAY = arrayOf(T.int4) as SqlType;
const TEXT_ARRAY = arrayOf(T.text) as SqlType;

describe('array text input', () => {
  it('splits on commas, trims unquoted whitespace, keeps quoted and escaped characters', () => {
    expect(parseArrayItems('{a,b}')).toEqual(['a', 'b']);
    expect(parseArrayItems(' { a b , c } ')).toEqual(['a b', 'c']);
    expect(parseArrayItems('{"a,b","c\\"d","e\\\\f",""}')).toEqual(['a,b', 'c"d', 'e\\f', '']);
    expect(parseArrayItems('{x\\,y,\\ z}')).toEqual(['x,y', ' z']);
    expect(parseArrayItems('{}')).toEqual([]);
    expect(parseArrayItems('{ }')).toEqual([]);
  });

  it('reads unquoted, unescaped NULL in any case as NULL, otherwise as text', () => {
    expect(parseArrayItems('{NULL,null,"NULL",\\NULL,NULLx}')).toEqual([null, null, 'NULL', 'NULL', 'NULLx']);
  });

  it('refuses malformed literals with 22P02 and nested ones with 0A000', () => {
    for (const bad of ['', 'a', '{a', '{a,}', '{,a}', '{a,,b}', '{a}b', '{"a}', '{a\\']) {
      expectSqlError(() => parseArrayItems(bad), '22P02');
    }
    expectSqlError(() => parseArrayItems('{{1},{2}}'), '0A000');
  });
});

describe('array text output', () => {
  it('quotes what would not read back as itself', () => {
    expect(formatArrayItems(['a', '', 'a b', 'a,b', 'a"b', 'a\\b', '{', 'NULL', 'nUlL', null, 'é'])).toBe(
      '{a,"","a b","a,b","a\\"b","a\\\\b","{","NULL","nUlL",NULL,é}',
    );
    expect(formatArrayItems([])).toBe('{}');
  });

  it('reads back what it writes, for random strings over the special characters', () => {
    const r = rng(7);
    const alphabet = ['a', ' ', ',', '"', '\\', '{', '}', '\t', 'N', 'U', 'L', 'é'];
    for (let n = 0; n < 500; n++) {
      const items = Array.from({ length: Math.floor(r() * 4) }, () => (r() < 0.1 ? null : Array.from({ length: Math.floor(r() * 5) }, () => alphabet[Math.floor(r() * alphabet.length)]).join('')));
      expect(parseArrayItems(formatArrayItems(items))).toEqual(items);
    }
  });

  it('formats through the element type', () => {
    const numbers = parseText(typeFromName(['_numeric'], []), '{1.50, NULL ,-2}');
    expect(formatText(arrayOf(T.numeric) as SqlType, numbers)).toBe('{1.50,NULL,-2}');
    expectSqlError(() => parseText(INT4_ARRAY, '{1,x}'), '22P02');
  });
});

describe('array order, keys and storage', () => {
  const r = rng(11);
  const randomArray = (): Datum => (r() < 0.1 ? null : new SqlArray(Array.from({ length: Math.floor(r() * 4) }, () => (r() < 0.2 ? null : Math.floor(r() * 5) - 2))));

  it('orders element by element with NULL elements last and prefixes first, and keys agree', () => {
    const values = Array.from({ length: 300 }, randomArray);
    for (let k = 0; k + 1 < values.length; k++) {
      const [a, b] = [values[k] ?? null, values[k + 1] ?? null];
      for (const descending of [false, true]) {
        const [wa, wb] = [new KeyWriter(), new KeyWriter()];
        encodeKey(INT4_ARRAY, a, descending, wa);
        encodeKey(INT4_ARRAY, b, descending, wb);
        const byKey = Math.sign(Buffer.compare(wa.finish(), wb.finish()));
        const byValue = a === null || b === null ? (a === b ? 0 : a === null ? -1 : 1) : compare(INT4_ARRAY, a, b);
        expect(byKey, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(descending ? -byValue || 0 : byValue);
        expect(decodeKey(INT4_ARRAY, descending, new KeyReader(wa.finish()))).toEqual(a);
      }
    }
    expect(compare(INT4_ARRAY, new SqlArray([1, null]), new SqlArray([1, 5]))).toBe(1);
    expect(compare(INT4_ARRAY, new SqlArray([1]), new SqlArray([1, 0]))).toBe(-1);
  });

  it('round-trips the value encoding and the binary form', () => {
    const cases: [SqlType, Datum][] = [
      [INT4_ARRAY, new SqlArray([1, null, -3])],
      [TEXT_ARRAY, new SqlArray(['', 'a b', null])],
      [arrayOf(T.numeric) as SqlType, new SqlArray([Numeric.parse('1.50'), Numeric.NaN])],
      [arrayOf(T.int8) as SqlType, new SqlArray([])],
    ];
    for (const [t, d] of cases) {
      const w = new KeyWriter();
      encodeValue(t, d, w);
      expect(decodeValue(t, new KeyReader(w.finish()))).toEqual(d);
      expect(parseBinary(t, formatBinary(t, d))).toEqual(d);
    }
    expectSqlError(() => parseBinary(INT4_ARRAY, formatBinary(TEXT_ARRAY, new SqlArray(['a']))), '22P03');
  });
});
