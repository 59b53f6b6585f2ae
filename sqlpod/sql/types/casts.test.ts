import { describe, expect, it } from 'vitest';
import { Jsonb, Numeric, T, castDatum, coerceToTypmod, findCast, formatText, parseText, typeFromName, type SqlType } from './index.js';
import { expectSqlError } from './test-util.js';

function cast(from: SqlType, text: string, to: SqlType, context: 'implicit' | 'assignment' | 'explicit' = 'explicit', timeZone = 'UTC'): string | null {
  const ctx = { timeZone };
  const v = castDatum(parseText(from, text, ctx), from, to, context, ctx);
  return v === null ? null : formatText(to, v, ctx);
}

describe('findCast', () => {
  it.each([
    [T.int4, T.int8, 'implicit', 'coerce'],
    [T.int8, T.int4, 'implicit', null],
    [T.int8, T.int4, 'assignment', 'coerce'],
    [T.int4, T.numeric, 'implicit', 'coerce'],
    [T.numeric, T.int4, 'assignment', 'coerce'],
    [T.numeric, T.float8, 'implicit', 'coerce'],
    [T.float8, T.numeric, 'implicit', null],
    [T.int4, T.bool, 'assignment', null],
    [T.int4, T.bool, 'explicit', 'coerce'],
    [T.bool, T.int4, 'explicit', 'coerce'],
    [T.text, T.int4, 'implicit', null],
    [T.text, T.int4, 'assignment', null],
    [T.text, T.int4, 'explicit', 'coerce'],
    [T.unknown, T.int4, 'implicit', 'coerce'],
    [T.unknown, T.text, 'implicit', 'exact'],
    [T.int4, T.text, 'implicit', null],
    [T.int4, T.text, 'assignment', 'coerce'],
    [T.jsonb, T.text, 'assignment', 'coerce'],
    [T.varchar, T.text, 'implicit', 'exact'],
    [T.text, T.varchar, 'implicit', 'exact'],
    [T.text, T.bpchar, 'implicit', 'coerce'],
    [T.bpchar, T.text, 'implicit', 'coerce'],
    [T.date, T.timestamptz, 'implicit', 'coerce'],
    [T.timestamp, T.timestamptz, 'implicit', 'coerce'],
    [T.timestamptz, T.timestamp, 'implicit', null],
    [T.timestamptz, T.timestamp, 'assignment', 'coerce'],
    [T.jsonb, T.int4, 'assignment', null],
    [T.jsonb, T.int4, 'explicit', 'coerce'],
    [T.uuid, T.bytea, 'explicit', null],
    [T.int4, T.int4, 'implicit', 'exact'],
  ] as const)('%o → %o (%s)', (from, to, context, expected) => expect(findCast(from, to, context)).toBe(expected));

  it('treats a typmod change as a coercion', () => {
    expect(findCast(T.varchar, typeFromName(['varchar'], [3]), 'implicit')).toBe('coerce');
    expect(findCast(typeFromName(['numeric'], [5, 2]), T.numeric, 'implicit')).toBe('exact');
  });
});

describe('castDatum', () => {
  it.each([
    [T.numeric, '3.5', T.int4, '4'],
    [T.numeric, '-3.5', T.int4, '-4'],
    [T.numeric, '2.4999', T.int2, '2'],
    [T.float8, '2.5', T.int4, '2'],
    [T.float8, '3.5', T.int4, '4'],
    [T.float8, '-2.5', T.int8, '-2'],
    [T.float4, '1.5', T.int2, '2'],
    [T.int4, '7', T.numeric, '7'],
    [T.int8, '9007199254740993', T.float8, '9.007199254740992e+15'],
    [T.float8, '0.1', T.numeric, '0.1'],
    [T.float8, '1e20', T.numeric, '100000000000000000000'],
    [T.float8, '1.5e-5', T.numeric, '0.000015'],
    [T.float8, '3.141592653589793', T.numeric, '3.14159265358979'],
    [T.float4, '3.14159', T.numeric, '3.14159'],
    [T.float8, 'NaN', T.numeric, 'NaN'],
    [T.numeric, '0.1', T.float8, '0.1'],
    [T.numeric, 'Infinity', T.float8, 'Infinity'],
    [T.float8, '0.1', T.float4, '0.1'],
    [T.bool, 'true', T.int4, '1'],
    [T.int4, '5', T.bool, 't'],
    [T.int4, '0', T.bool, 'f'],
    [T.bool, 't', T.text, 'true'],
    [T.bool, 'f', T.varchar, 'false'],
    [T.int4, '-1', T.oid, '4294967295'],
    [T.int4, '42', T.text, '42'],
    [T.float8, '1e100', T.text, '1e+100'],
    [T.numeric, '1.50', T.text, '1.50'],
    [T.date, '2024-01-31', T.text, '2024-01-31'],
    [T.jsonb, '{"b":1,"a":2}', T.text, '{"a": 2, "b": 1}'],
    [T.text, ' 42 ', T.int4, '42'],
    [T.text, 'yes', T.bool, 't'],
    [T.text, '{"a":1}', T.jsonb, '{"a": 1}'],
    [T.varchar, 'x', T.text, 'x'],
    [T.bpchar, 'ab   ', T.text, 'ab'],
    [T.bpchar, 'ab   ', T.varchar, 'ab'],
    [T.text, 'ab', typeFromName(['bpchar'], [4]), 'ab  '],
    [T.text, 'abcdef', typeFromName(['varchar'], [3]), 'abc'],
    [T.numeric, '12.345', typeFromName(['numeric'], [4, 2]), '12.35'],
    [T.date, '2024-01-31', T.timestamp, '2024-01-31 00:00:00'],
    [T.timestamp, '2024-01-31 23:59:59', T.date, '2024-01-31'],
    [T.timestamp, '1999-12-31 23:00', T.date, '1999-12-31'],
    [T.timestamp, '2024-01-31 12:00', T.timestamptz, '2024-01-31 12:00:00+00'],
    [T.timestamptz, '2024-01-31 12:00:00.123456+00', typeFromName(['timestamptz'], [1]), '2024-01-31 12:00:00.1+00'],
    [T.jsonb, '1.5', T.int4, '2'],
    [T.jsonb, '1.5', T.numeric, '1.5'],
    [T.jsonb, '1e2', T.float8, '100'],
    [T.jsonb, 'true', T.bool, 't'],
    [T.interval, '1 day 02:03:04', typeFromName(['pg_catalog', 'interval'], [1 << 3]), '1 day'],
  ])('%o %j → %o', (from, text, to, out) => expect(cast(from, text, to)).toBe(out));

  it('converts between time zones', () => {
    expect(cast(T.date, '2024-01-31', T.timestamptz, 'implicit', 'America/New_York')).toBe('2024-01-31 00:00:00-05');
    expect(castDatum(parseText(T.date, '2024-01-31'), T.date, T.timestamptz, 'implicit', { timeZone: 'America/New_York' })).toBe(
      parseText(T.timestamptz, '2024-01-31 05:00+00'),
    );
    expect(cast(T.timestamptz, '2024-01-31 23:30+00', T.date, 'assignment', 'Asia/Tokyo')).toBe('2024-02-01');
    expect(cast(T.timestamptz, '2024-01-31 23:30+00', T.timestamp, 'assignment', 'Asia/Kolkata')).toBe('2024-02-01 05:00:00');
    expect(cast(T.timestamp, '2024-07-01 12:00', T.timestamptz, 'implicit', 'Europe/Berlin')).toBe('2024-07-01 12:00:00+02');
  });

  it('applies length coercion: explicit truncates, assignment errors', () => {
    const vc2 = typeFromName(['varchar'], [2]);
    expect(castDatum('abc', T.text, vc2, 'explicit')).toBe('ab');
    expectSqlError(() => castDatum('abc', T.text, vc2, 'assignment'), '22001', 'value too long for type character varying(2)');
    expect(castDatum('ab   ', T.text, vc2, 'assignment')).toBe('ab');
    expect(castDatum('abcdef', T.unknown, vc2, 'explicit')).toBe('ab');
    expectSqlError(() => castDatum('abcdef', T.unknown, vc2, 'assignment'), '22001');
    expectSqlError(() => castDatum('abc', T.text, typeFromName(['bpchar'], [2]), 'assignment'), '22001', 'value too long for type character(2)');
    expect(coerceToTypmod('a', typeFromName(['bpchar'], [3]))).toBe('a  ');
    expect(coerceToTypmod(Numeric.parse('1.005'), typeFromName(['numeric'], [3, 2]))).toEqual(Numeric.parse('1.01'));
    expectSqlError(() => coerceToTypmod(Numeric.parse('10'), typeFromName(['numeric'], [3, 2])), '22003', 'numeric field overflow');
    expectSqlError(() => coerceToTypmod('abcd', typeFromName(['varchar'], [3])), '22001');
  });

  it('reports conversion errors as PostgreSQL does', () => {
    expectSqlError(() => cast(T.int8, '2147483648', T.int4, 'assignment'), '22003', 'integer out of range');
    expectSqlError(() => cast(T.int4, '40000', T.int2, 'assignment'), '22003', 'smallint out of range');
    expectSqlError(() => cast(T.numeric, '2147483647.5', T.int4, 'assignment'), '22003', 'integer out of range');
    expectSqlError(() => cast(T.numeric, '40000', T.int2, 'assignment'), '22003', 'smallint out of range');
    expectSqlError(() => cast(T.numeric, 'NaN', T.int4, 'assignment'), '0A000', 'cannot convert NaN to integer');
    expectSqlError(() => cast(T.numeric, 'Infinity', T.int8, 'assignment'), '0A000', 'cannot convert infinity to bigint');
    expectSqlError(() => cast(T.float8, '1e10', T.int4, 'assignment'), '22003', 'integer out of range');
    expectSqlError(() => cast(T.float8, 'NaN', T.int4, 'assignment'), '22003', 'integer out of range');
    expectSqlError(() => cast(T.float8, '1e39', T.float4, 'assignment'), '22003', 'value out of range: overflow');
    expectSqlError(() => cast(T.int8, '-1', T.oid, 'implicit'), '22003', 'OID out of range');
    expectSqlError(() => cast(T.text, 'abc', T.int4), '22P02', 'invalid input syntax for type integer: "abc"');
    expectSqlError(() => cast(T.jsonb, '"1"', T.int4), '22023', 'cannot cast jsonb string to type integer');
    expectSqlError(() => cast(T.jsonb, '{"a": 1}', T.int4), '22023', 'cannot cast jsonb object to type integer');
    expectSqlError(() => cast(T.jsonb, '[1]', T.numeric), '22023', 'cannot cast jsonb array to type numeric');
    expectSqlError(() => cast(T.jsonb, '1', T.bool), '22023', 'cannot cast jsonb numeric to type boolean');
    expectSqlError(() => cast(T.jsonb, 'true', T.float8), '22023', 'cannot cast jsonb boolean to type double precision');
    expectSqlError(() => castDatum(true, T.bool, T.date, 'explicit'), '42846', 'cannot cast type boolean to date');
    expectSqlError(() => castDatum(1, T.int4, T.bool, 'implicit'), '42846', 'cannot cast type integer to boolean');
  });

  it('maps NULL to NULL and jsonb null to SQL NULL', () => {
    expect(castDatum(null, T.text, T.int4, 'explicit')).toBeNull();
    expect(castDatum(new Jsonb(null), T.jsonb, T.int4, 'explicit')).toBeNull();
  });
});
