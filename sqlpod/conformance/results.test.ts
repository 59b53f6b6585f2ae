import { describe, expect, it } from 'vitest';
import { expectedBlock, formatCell, formatReal, formatResult, hashValues, matches } from './results.js';

describe('formatCell', () => {
  it('prints NULL and the empty string the sqllogictest way, whatever the type', () => {
    for (const type of ['I', 'T', 'R']) {
      expect(formatCell(null, type)).toBe('NULL');
      expect(formatCell('', type)).toBe('(empty)');
    }
  });

  it('prints I columns as integers, truncating fractions toward zero as the corpus expects of avg()', () => {
    expect(formatCell('42', 'I')).toBe('42');
    expect(formatCell('-7', 'I')).toBe('-7');
    expect(formatCell('9223372036854775807', 'I')).toBe('9223372036854775807');
    // SQLite's avg over 1,0,2,2 is 1.25, expected as 1; over 0,1 it is 0.5, expected as 0.
    expect(formatCell('1.2500000000000000', 'I')).toBe('1');
    expect(formatCell('0.5', 'I')).toBe('0');
    expect(formatCell('-2.7', 'I')).toBe('-2');
    expect(formatCell('-0.5', 'I')).toBe('0');
    expect(formatCell('3e2', 'I')).toBe('300');
    // PostgreSQL's booleans, where SQLite answers 1 / 0.
    expect(formatCell('t', 'I')).toBe('1');
    expect(formatCell('f', 'I')).toBe('0');
  });

  it('prints R columns with three decimals', () => {
    expect(formatCell('1.25', 'R')).toBe('1.250');
    expect(formatCell('7', 'R')).toBe('7.000');
    expect(formatCell('-0.0004', 'R')).toBe('-0.000');
    expect(formatCell('2.0004999', 'R')).toBe('2.000');
    expect(formatCell('12345678.98765', 'R')).toBe('12345678.988');
  });

  it('prints T columns as text, non-printable characters as @', () => {
    expect(formatCell('hello world', 'T')).toBe('hello world');
    expect(formatCell('42', 'T')).toBe('42');
    expect(formatCell('a\tb\nc', 'T')).toBe('a@b@c');
    expect(formatCell('caf\u00e9', 'T')).toBe('caf@');
  });
});

describe('formatReal', () => {
  it('rounds exact binary ties to even, like glibc printf', () => {
    expect(formatReal(0.0625)).toBe('0.062');
    expect(formatReal(0.1875)).toBe('0.188');
    expect(formatReal(-0.0625)).toBe('-0.062');
    expect(formatReal(2.5)).toBe('2.500');
    // Not a binary tie: the double is slightly above 1.0005.
    expect(formatReal(1.0005)).toBe((1.0005).toFixed(3));
  });
});

describe('formatResult', () => {
  const rows = [
    ['9', 'b'],
    ['10', 'a'],
    [null, ''],
    ['10', null],
  ];

  it('keeps the order with nosort', () => {
    expect(formatResult(rows, 'IT', 'nosort')).toEqual(['9', 'b', '10', 'a', 'NULL', '(empty)', '10', 'NULL']);
  });

  it('sorts rows by their printed values, as strings, with rowsort', () => {
    expect(formatResult(rows, 'IT', 'rowsort')).toEqual(['10', 'NULL', '10', 'a', '9', 'b', 'NULL', '(empty)']);
  });

  it('sorts all values, as strings, with valuesort', () => {
    expect(formatResult(rows, 'IT', 'valuesort')).toEqual(['(empty)', '10', '10', '9', 'NULL', 'NULL', 'a', 'b']);
  });
});

describe('hashing and matching', () => {
  it('hashes each value followed by a newline', () => {
    expect(hashValues(['1', '2'])).toBe('6ddb4095eb719e2a9f0a3f95677d24e0');
    expect(hashValues(['NULL', '(empty)'])).toBe('14ad0be6c1ebb606277cbbb8e0bcc287');
  });

  it('writes a hash line only above the threshold', () => {
    expect(expectedBlock(['1', '2'], 2)).toEqual(['1', '2']);
    expect(expectedBlock(['1', '2'], 1)).toEqual(['2 values hashing to 6ddb4095eb719e2a9f0a3f95677d24e0']);
    expect(expectedBlock(['1', '2'], 0)).toEqual(['1', '2']);
  });

  it('matches values one by one, or the count and hash', () => {
    expect(matches({ kind: 'values', values: ['1', '2'] }, ['1', '2'])).toBe(true);
    expect(matches({ kind: 'values', values: ['1', '2'] }, ['1'])).toBe(false);
    expect(matches({ kind: 'values', values: [] }, [])).toBe(true);
    expect(matches({ kind: 'hash', count: 2, md5: '6ddb4095eb719e2a9f0a3f95677d24e0' }, ['1', '2'])).toBe(true);
    expect(matches({ kind: 'hash', count: 3, md5: '6ddb4095eb719e2a9f0a3f95677d24e0' }, ['1', '2'])).toBe(false);
    expect(matches({ kind: 'hash', count: 2, md5: '6ddb4095eb719e2a9f0a3f95677d24e0' }, ['2', '1'])).toBe(false);
  });
});
