import { describe, expect, it } from 'vitest';
import {
  T,
  castDatum,
  formatText,
  parseText,
  resolveAggregate,
  resolveFunction,
  type Datum,
  type FunctionContext,
  type SqlType,
} from './index.js';
import { expectSqlError } from './test-util.js';

const ctx: FunctionContext = {
  timeZone: 'UTC',
  transactionTimestamp: parseText(T.timestamptz, '2024-03-15 10:00:00+00') as bigint,
  statementTimestamp: parseText(T.timestamptz, '2024-03-15 10:00:01+00') as bigint,
};

/** Calls name(args...) given as [type, text | null] pairs, casting like the planner; prints the result. */
function call(name: string, ...args: [SqlType, string | null][]): string | null {
  const f = resolveFunction(name, args.map(([t]) => t));
  const values: Datum[] = args.map(([t, text], i) => (text === null ? null : castDatum(parseText(t, text), t, f.args[i] ?? t, 'implicit')));
  if (f.strict && values.includes(null)) return null;
  const v = f.fn(values, ctx);
  return v === null ? null : formatText(f.result, v);
}

const U = T.unknown;
const u = (s: string | null): [SqlType, string | null] => [U, s];
const i4 = (s: string): [SqlType, string] => [T.int4, s];
const n = (s: string): [SqlType, string] => [T.numeric, s];
const f8 = (s: string): [SqlType, string] => [T.float8, s];

describe('math functions', () => {
  it.each([
    ['abs', [i4('-5')], '5'],
    ['abs', [n('-1.50')], '1.50'],
    ['ceil', [n('-1.5')], '-1'],
    ['ceiling', [f8('1.2')], '2'],
    ['ceil', [f8('-0.5')], '-0'],
    ['floor', [n('-1.5')], '-2'],
    ['round', [n('2.5')], '3'],
    ['round', [n('-2.5')], '-3'],
    ['round', [f8('2.5')], '2'],
    ['round', [f8('3.5')], '4'],
    ['round', [i4('7')], '7'],
    ['round', [n('1.2345'), i4('2')], '1.23'],
    ['round', [n('1.5'), i4('3')], '1.500'],
    ['round', [n('1234.5'), i4('-2')], '1200'],
    ['trunc', [n('-1.99')], '-1'],
    ['trunc', [n('1.999'), i4('2')], '1.99'],
    ['trunc', [f8('-1.7')], '-1'],
    ['sqrt', [n('2')], '1.414213562373095'],
    ['sqrt', [n('16')], '4.000000000000000'],
    ['sqrt', [f8('2')], '1.4142135623730951'],
    ['sqrt', [i4('16')], '4'],
    ['exp', [n('1')], '2.7182818284590452'],
    ['exp', [f8('0')], '1'],
    ['ln', [n('2')], '0.6931471805599453'],
    ['ln', [n('10')], '2.3025850929940457'],
    ['log', [n('100')], '2.0000000000000000'],
    ['log', [n('2'), n('8')], '3.0000000000000000'],
    ['log10', [f8('1000')], '3'],
    ['power', [f8('2'), f8('10')], '1024'],
    ['pow', [i4('2'), i4('3')], '8'],
    ['mod', [i4('-7'), i4('3')], '-1'],
    ['mod', [n('10.5'), n('3')], '1.5'],
    ['sign', [n('-3.2')], '-1'],
    ['sign', [f8('0')], '0'],
    ['div', [n('9'), n('4')], '2'],
  ] as [string, [SqlType, string][], string][])('%s(%j)', (name, args, out) => expect(call(name, ...args)).toBe(out));

  it('reports PostgreSQL errors', () => {
    expectSqlError(() => call('sqrt', f8('-1')), '2201F', 'cannot take square root of a negative number');
    expectSqlError(() => call('sqrt', n('-1')), '2201F', 'cannot take square root of a negative number');
    expectSqlError(() => call('ln', n('0')), '2201E', 'cannot take logarithm of zero');
    expectSqlError(() => call('ln', f8('-1')), '2201E', 'cannot take logarithm of a negative number');
    expectSqlError(() => call('exp', n('7000')), '22003', 'value overflows numeric format');
    expectSqlError(() => call('mod', i4('1'), i4('0')), '22012', 'division by zero');
  });
});

describe('string functions', () => {
  it.each([
    ['length', [u('héllo')], '5'],
    ['char_length', [[T.bpchar, 'ab  ']], '2'],
    ['octet_length', [u('héllo')], '6'],
    ['length', [[T.bytea, '\\x0102']], '2'],
    ['lower', [u('ÀBC')], 'àbc'],
    ['upper', [u('straße')], 'STRASSE'],
    ['initcap', [u('hello wORLD foo_bar')], 'Hello World Foo_Bar'],
    ['substr', [u('hello'), i4('2'), i4('3')], 'ell'],
    ['substr', [u('hello'), i4('0'), i4('2')], 'h'],
    ['substr', [u('hello'), i4('-1')], 'hello'],
    ['substring', [u('hello'), i4('3')], 'llo'],
    ['substr', [u('hello'), i4('10')], ''],
    ['strpos', [u('hello'), u('ll')], '3'],
    ['strpos', [u('hello'), u('z')], '0'],
    ['strpos', [u('héllo'), u('l')], '3'],
    ['btrim', [u('  x  ')], 'x'],
    ['btrim', [u('xxhixx'), u('x')], 'hi'],
    ['ltrim', [u('  x  ')], 'x  '],
    ['rtrim', [u('xyhixy'), u('xy')], 'xyhi'],
    ['lpad', [u('hi'), i4('5')], '   hi'],
    ['lpad', [u('hi'), i4('5'), u('xy')], 'xyxhi'],
    ['lpad', [u('hello'), i4('3')], 'hel'],
    ['rpad', [u('hi'), i4('5'), u('xy')], 'hixyx'],
    ['replace', [u('abcabc'), u('b'), u('X')], 'aXcaXc'],
    ['repeat', [u('ab'), i4('3')], 'ababab'],
    ['repeat', [u('ab'), i4('-1')], ''],
    ['reverse', [u('abc')], 'cba'],
    ['left', [u('abcde'), i4('2')], 'ab'],
    ['left', [u('abcde'), i4('-2')], 'abc'],
    ['right', [u('abcde'), i4('2')], 'de'],
    ['right', [u('abcde'), i4('-2')], 'cde'],
    ['split_part', [u('a,b,c'), u(','), i4('2')], 'b'],
    ['split_part', [u('a,b,c'), u(','), i4('-1')], 'c'],
    ['split_part', [u('a,b,c'), u(','), i4('4')], ''],
    ['md5', [u('abc')], '900150983cd24fb0d6963f7d28e17f72'],
    ['chr', [i4('65')], 'A'],
    ['chr', [i4('233')], 'é'],
    ['ascii', [u('A')], '65'],
    ['ascii', [u('')], '0'],
    ['concat', [u('a'), u(null), i4('1'), [T.bool, 't']], 'a1t'],
    ['concat_ws', [u(','), u('a'), u(null), u('b')], 'a,b'],
    ['concat_ws', [u(null), u('a')], null],
  ] as [string, [SqlType, string | null][], string | null][])('%s(%j)', (name, args, out) => expect(call(name, ...args)).toBe(out));

  it('reports PostgreSQL errors', () => {
    expectSqlError(() => call('substr', u('abc'), i4('1'), i4('-1')), '22011', 'negative substring length not allowed');
    expectSqlError(() => call('split_part', u('a'), u(','), i4('0')), '22023', 'field position must not be zero');
    expectSqlError(() => call('chr', i4('0')), '54000', 'null character not permitted');
  });
});

describe('date and time functions', () => {
  const ts = (s: string): [SqlType, string] => [T.timestamp, s];
  it.each([
    ['date_trunc', [u('month'), ts('2024-02-15 10:11:12')], '2024-02-01 00:00:00'],
    ['date_trunc', [u('week'), ts('2024-02-15 10:11:12')], '2024-02-12 00:00:00'],
    ['date_trunc', [u('week'), ts('2021-01-01')], '2020-12-28 00:00:00'],
    ['date_trunc', [u('hour'), ts('2024-02-15 10:11:12.5')], '2024-02-15 10:00:00'],
    ['date_trunc', [u('quarter'), ts('2024-08-15')], '2024-07-01 00:00:00'],
    ['date_trunc', [u('year'), ts('2024-08-15')], '2024-01-01 00:00:00'],
    ['date_trunc', [u('decade'), ts('2024-08-15')], '2020-01-01 00:00:00'],
    ['date_trunc', [u('century'), ts('2024-08-15')], '2001-01-01 00:00:00'],
    ['date_trunc', [u('millennium'), ts('2024-08-15')], '2001-01-01 00:00:00'],
    ['date_trunc', [u('milliseconds'), ts('2024-02-15 10:11:12.345678')], '2024-02-15 10:11:12.345'],
    ['date_part', [u('year'), ts('2024-02-15 10:11:12')], '2024'],
    ['date_part', [u('second'), ts('2024-02-15 10:11:12.5')], '12.5'],
    ['date_part', [u('dow'), [T.date, '2024-01-31']], '3'],
    ['date_part', [u('epoch'), ts('2024-01-01')], '1704067200'],
    ['date_part', [u('hour'), [T.interval, '1 day 25:30:00']], '25'],
    ['extract', [u('year'), ts('2024-02-15 10:11:12')], '2024'],
    ['extract', [u('second'), ts('2024-02-15 10:11:12.789')], '12.789000'],
    ['extract', [u('milliseconds'), ts('2024-02-15 10:11:12.789')], '12789.000'],
    ['extract', [u('microseconds'), ts('2024-02-15 10:11:12.789')], '12789000'],
    ['extract', [u('epoch'), ts('2024-01-01')], '1704067200.000000'],
    ['extract', [u('epoch'), [T.date, '2024-01-01']], '1704067200'],
    ['extract', [u('doy'), [T.date, '2024-03-01']], '61'],
    ['extract', [u('week'), [T.date, '2021-01-03']], '53'],
    ['extract', [u('isoyear'), [T.date, '2021-01-03']], '2020'],
    ['extract', [u('isodow'), [T.date, '2024-01-28']], '7'],
    ['extract', [u('quarter'), ts('2024-05-01')], '2'],
    ['extract', [u('century'), ts('2000-12-31')], '20'],
    ['extract', [u('century'), ts('2001-01-01')], '21'],
    ['extract', [u('year'), ts('0044-03-15 BC')], '-44'],
    ['extract', [u('year'), ts('infinity')], 'Infinity'],
    ['extract', [u('month'), ts('infinity')], null],
    ['extract', [u('epoch'), [T.interval, '1 day 01:00']], '90000.000000'],
    ['extract', [u('epoch'), [T.interval, '1 year']], '31557600.000000'],
    ['extract', [u('month'), [T.interval, '1 year 14 mons']], '2'],
    ['extract', [u('timezone'), [T.timestamptz, '2024-01-01 00:00+00']], '0'],
    ['age', [ts('2024-03-15'), ts('2023-01-31')], '1 year 1 mon 15 days'],
    ['age', [ts('2024-01-01'), ts('2024-03-15 12:00')], '-2 mons -14 days -12:00:00'],
    ['to_timestamp', [f8('0')], '1970-01-01 00:00:00+00'],
    ['to_timestamp', [f8('1704067200.5')], '2024-01-01 00:00:00.5+00'],
    ['now', [], '2024-03-15 10:00:00+00'],
    ['statement_timestamp', [], '2024-03-15 10:00:01+00'],
    ['justify_hours', [[T.interval, '50 hours']], '2 days 02:00:00'],
    ['justify_days', [[T.interval, '35 days']], '1 mon 5 days'],
  ] as [string, [SqlType, string][], string | null][])('%s(%j)', (name, args, out) => expect(call(name, ...args)).toBe(out));

  it('truncates timestamptz in the session zone', () => {
    const f = resolveFunction('date_trunc', [U, T.timestamptz]);
    const v = f.fn(['day', parseText(T.timestamptz, '2024-03-10 12:00-04')], { ...ctx, timeZone: 'America/New_York' });
    expect(formatText(T.timestamptz, v, { timeZone: 'America/New_York' })).toBe('2024-03-10 00:00:00-05');
  });

  it('reports PostgreSQL errors', () => {
    expectSqlError(() => call('date_trunc', u('fortnight'), ts('2024-01-01')), '22023', 'unit "fortnight" not recognized for type timestamp without time zone');
    expectSqlError(() => call('date_trunc', u('dow'), ts('2024-01-01')), '0A000', 'unit "dow" not supported for type timestamp without time zone');
    expectSqlError(() => call('extract', u('hour'), [T.date, '2024-01-01']), '0A000', 'unit "hour" not supported for type date');
    expectSqlError(() => call('extract', u('timezone'), ts('2024-01-01')), '0A000');
  });

  it('marks clock and random functions volatile', () => {
    expect(resolveFunction('clock_timestamp', []).volatile).toBe(true);
    expect(resolveFunction('random', []).volatile).toBe(true);
    expect(resolveFunction('now', []).volatile).toBe(false);
    const uuid = resolveFunction('gen_random_uuid', []).fn([], ctx);
    expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('jsonb functions', () => {
  it.each([
    ['jsonb_typeof', [[T.jsonb, '[1]']], 'array'],
    ['jsonb_typeof', [[T.jsonb, '1.5']], 'number'],
    ['jsonb_typeof', [[T.jsonb, 'null']], 'null'],
    ['jsonb_array_length', [[T.jsonb, '[1, [2, 3]]']], '2'],
    ['jsonb_build_object', [u('b'), i4('1'), u('a'), u('x')], '{"a": "x", "b": 1}'],
    ['jsonb_build_object', [u('a'), u(null)], '{"a": null}'],
    ['jsonb_build_object', [], '{}'],
    ['jsonb_build_array', [i4('1'), u('x'), [T.bool, 't'], u(null)], '[1, "x", true, null]'],
    ['to_jsonb', [[T.timestamp, '2024-01-31 12:00']], '"2024-01-31T12:00:00"'],
    ['to_jsonb', [[T.timestamptz, '2024-01-31 12:00:00.5+00']], '"2024-01-31T12:00:00.5+00:00"'],
    ['to_jsonb', [[T.date, '2024-01-31']], '"2024-01-31"'],
    ['to_jsonb', [f8('1e100')], '10000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000'],
    ['to_jsonb', [f8('NaN')], '"NaN"'],
    ['to_jsonb', [n('1.50')], '1.50'],
    ['to_jsonb', [u('a"b')], '"a\\"b"'],
    ['to_jsonb', [[T.jsonb, '{"a": 1}']], '{"a": 1}'],
  ] as [string, [SqlType, string | null][], string][])('%s(%j)', (name, args, out) => expect(call(name, ...args)).toBe(out));

  it('reports PostgreSQL errors', () => {
    expectSqlError(() => call('jsonb_array_length', [T.jsonb, '{}']), '22023', 'cannot get array length of a non-array');
    expectSqlError(() => call('jsonb_array_length', [T.jsonb, '1']), '22023', 'cannot get array length of a scalar');
    expectSqlError(() => call('jsonb_build_object', u('a')), '22023', 'argument list must have even number of elements');
    expectSqlError(() => call('jsonb_build_object', u(null), i4('1')), '22004', 'argument 1: key must not be null');
  });
});

describe('function resolution', () => {
  it('picks candidates as PostgreSQL does', () => {
    expect(resolveFunction('round', [T.int4]).result).toBe(T.float8);
    expect(resolveFunction('round', [T.numeric]).result).toBe(T.numeric);
    expect(resolveFunction('round', [U]).result).toBe(T.float8);
    expect(resolveFunction('length', [U]).args).toEqual([T.text]);
    expect(resolveFunction('length', [T.varchar]).args).toEqual([T.text]);
    expect(resolveFunction('abs', [T.int2]).result).toBe(T.int2);
    expect(resolveFunction('concat', [T.int4, U]).args).toEqual([T.int4, T.text]);
    expect(resolveFunction('concat', [T.int4]).strict).toBe(false);
    expect(resolveFunction('UPPER', [T.text]).result).toBe(T.text);
  });

  it('reports missing functions with PostgreSQL hints', () => {
    const e = expectSqlError(() => resolveFunction('foo', [T.int4]), '42883', 'function foo(integer) does not exist');
    expect(e.fields.hint).toBe('No function matches the given name and argument types. You might need to add explicit type casts.');
    expectSqlError(() => resolveFunction('lower', [T.int4]), '42883', 'function lower(integer) does not exist');
    expectSqlError(() => resolveFunction('concat', []), '42883', 'function concat() does not exist');
  });
});

describe('aggregates', () => {
  function agg(name: string, types: SqlType[], rows: (string | null)[][], distinct = false): string | null {
    const a = resolveAggregate(name, types, distinct);
    const s = a.create();
    for (const row of rows) s.add(row.map((v, i) => (v === null ? null : castDatum(parseText(types[i] ?? T.text, v), types[i] ?? T.text, a.args[i] ?? T.text, 'implicit'))));
    const r = s.result();
    return r === null ? null : formatText(a.result, r);
  }
  const col = (...vs: (string | null)[]): (string | null)[][] => vs.map((v) => [v]);

  it.each([
    ['count', [], [[], [], []], '3'],
    ['count', [T.int4], col('1', null, '3'), '2'],
    ['count', [T.int4], [], '0'],
    ['sum', [T.int4], col('1', '2', null), '3'],
    ['sum', [T.int4], [], null],
    ['sum', [T.int4], col('2147483647', '1'), '2147483648'],
    ['sum', [T.int8], col('9223372036854775807', '1'), '9223372036854775808'],
    ['sum', [T.numeric], col('1.5', '2.25'), '3.75'],
    ['sum', [T.float8], col('0.1', '0.2'), '0.30000000000000004'],
    ['sum', [T.interval], col('1 day', '2 hours'), '1 day 02:00:00'],
    ['avg', [T.int4], col('1', '2'), '1.5000000000000000'],
    ['avg', [T.int4], col('1', '2', '2'), '1.6666666666666667'],
    ['avg', [T.int8], col('10'), '10.0000000000000000'],
    ['avg', [T.numeric], col('1.0', '2.0'), '1.5000000000000000'],
    ['avg', [T.float8], col('1', '2'), '1.5'],
    ['avg', [T.interval], col('1 day', '2 days'), '1 day 12:00:00'],
    ['avg', [T.int4], col(null), null],
    ['min', [T.int4], col('3', '1', null, '2'), '1'],
    ['max', [T.text], col('a', 'b', 'B'), 'b'],
    ['max', [T.numeric], col('1.5', 'NaN', '2'), 'NaN'],
    ['min', [T.date], col('2024-01-02', '-infinity'), '-infinity'],
    ['max', [T.jsonb], col('[1]', '{}', '"z"'), '{}'],
    ['bool_and', [T.bool], col('t', 't', null), 't'],
    ['bool_and', [T.bool], col('t', 'f'), 'f'],
    ['every', [T.bool], col('t'), 't'],
    ['bool_or', [T.bool], col('f', 't'), 't'],
    ['string_agg', [T.text, T.text], [['a', ','], [null, ','], ['b', ','], ['c', null]], 'a,bc'],
    ['string_agg', [T.text, T.text], [[null, ',']], null],
  ] as [string, SqlType[], (string | null)[][], string | null][])('%s %#', (name, types, rows, out) => expect(agg(name, types, rows)).toBe(out));

  it('handles DISTINCT with equality by compare()', () => {
    expect(agg('count', [T.numeric], col('1.0', '1.00', '2', null), true)).toBe('2');
    expect(agg('sum', [T.int4], col('1', '1', '2'), true)).toBe('3');
    expect(agg('count', [T.float8], col('0', '-0', 'NaN', 'NaN'), true)).toBe('2');
    expect(agg('string_agg', [T.text, T.text], [['a', ','], ['a', ','], ['b', ',']], true)).toBe('a,b');
  });

  it('resolves like PostgreSQL', () => {
    expect(resolveAggregate('sum', [T.int2], false).result).toBe(T.int8);
    expect(resolveAggregate('sum', [T.int8], false).result).toBe(T.numeric);
    expect(resolveAggregate('sum', [T.float4], false).result).toBe(T.float4);
    expect(resolveAggregate('avg', [T.float4], false).result).toBe(T.float8);
    expect(resolveAggregate('max', [T.varchar], false).args).toEqual([T.text]);
    expect(resolveAggregate('count', [T.jsonb], false).result).toBe(T.int8);
    expectSqlError(() => resolveAggregate('sum', [T.text], false), '42883', 'function sum(text) does not exist');
  });
});
