import { describe, expect, it } from 'vitest';
import { T, castDatum, formatText, parseText, resolveOperator, type Datum, type SqlType, type TypeContext } from './index.js';
import { expectSqlError } from './test-util.js';

/** Evaluates `a op b` the way the executor does: resolve, cast operands, apply, print. */
function evalOp(op: string, lt: SqlType | null, a: string | null, rt: SqlType, b: string, ctx?: TypeContext): string | null {
  const r = resolveOperator(op, lt, rt);
  const left: Datum = lt === null || r.left === null || a === null ? null : castDatum(parseText(lt, a, ctx), lt, r.left, 'implicit', ctx);
  const right = castDatum(parseText(rt, b, ctx), rt, r.right, 'implicit', ctx);
  const v = r.fn(left, right, ctx);
  return v === null ? null : formatText(r.result, v, ctx);
}

const U = T.unknown;

describe('operator resolution', () => {
  const cases: [string, SqlType | null, SqlType, SqlType | null, SqlType, SqlType][] = [
    ['+', T.int4, T.int4, T.int4, T.int4, T.int4],
    ['+', T.int4, T.numeric, T.numeric, T.numeric, T.numeric],
    ['+', T.int4, T.int8, T.int4, T.int8, T.int8],
    ['+', T.int2, T.int4, T.int2, T.int4, T.int4],
    ['+', T.int4, T.float8, T.float8, T.float8, T.float8],
    ['+', T.numeric, T.float4, T.float8, T.float4, T.float8],
    ['+', T.int4, U, T.int4, T.int4, T.int4],
    ['^', T.int4, T.int4, T.float8, T.float8, T.float8],
    ['^', T.numeric, T.int4, T.numeric, T.numeric, T.numeric],
    ['%', T.int4, T.int8, T.int8, T.int8, T.int8],
    ['=', T.varchar, T.varchar, T.text, T.text, T.bool],
    ['=', T.bpchar, T.text, T.text, T.text, T.bool],
    ['=', T.bpchar, T.bpchar, T.bpchar, T.bpchar, T.bool],
    ['=', U, U, T.text, T.text, T.bool],
    ['=', T.date, T.timestamp, T.timestamp, T.timestamp, T.bool],
    ['<', T.timestamp, T.timestamptz, T.timestamptz, T.timestamptz, T.bool],
    ['=', T.int4, T.oid, T.oid, T.oid, T.bool],
    ['!=', T.int8, T.int2, T.int8, T.int2, T.bool],
    ['||', U, U, T.text, T.text, T.text],
    ['||', T.varchar, T.varchar, T.text, T.text, T.text],
    ['||', T.int4, U, T.int4, T.text, T.text],
    ['||', T.text, T.numeric, T.text, T.numeric, T.text],
    ['||', T.jsonb, U, T.jsonb, T.jsonb, T.jsonb],
    ['->', T.jsonb, U, T.jsonb, T.text, T.jsonb],
    ['->', T.jsonb, T.int4, T.jsonb, T.int4, T.jsonb],
    ['->>', T.jsonb, U, T.jsonb, T.text, T.text],
    ['-', T.jsonb, U, T.jsonb, T.text, T.jsonb],
    ['-', T.timestamptz, U, T.timestamptz, T.timestamptz, T.interval],
    ['+', T.date, T.int4, T.date, T.int4, T.date],
    ['-', T.date, T.date, T.date, T.date, T.int4],
    ['+', T.date, T.interval, T.date, T.interval, T.timestamp],
    ['+', T.timestamptz, U, T.timestamptz, T.interval, T.timestamptz],
    ['*', T.interval, T.int4, T.interval, T.float8, T.interval],
    ['~~', T.varchar, U, T.text, T.text, T.bool],
    ['LIKE', T.bpchar, U, T.bpchar, T.text, T.bool],
    ['-', null, T.int4, null, T.int4, T.int4],
    ['@', null, T.numeric, null, T.numeric, T.numeric],
  ];
  it.each(cases)('%s(%o, %o)', (op, l, r, el, er, res) => {
    const o = resolveOperator(op, l, r);
    expect([o.left?.oid ?? null, o.right.oid, o.result.oid]).toEqual([el?.oid ?? null, er.oid, res.oid]);
  });

  it('reports missing and ambiguous operators as PostgreSQL does', () => {
    const e = expectSqlError(() => resolveOperator('+', T.int4, T.bool), '42883', 'operator does not exist: integer + boolean');
    expect(e.fields.hint).toBe('No operator matches the given name and argument types. You might need to add explicit type casts.');
    expectSqlError(() => resolveOperator('-', null, T.bool), '42883', 'operator does not exist: - boolean');
    expectSqlError(() => resolveOperator('=', T.jsonb, T.int4), '42883', 'operator does not exist: jsonb = integer');
    expectSqlError(() => resolveOperator('<', T.bpchar, T.date), '42883', 'operator does not exist: character < date');
    const a = expectSqlError(() => resolveOperator('+', U, U), '42725', 'operator is not unique: unknown + unknown');
    expect(a.fields.hint).toBe('Could not choose a best candidate operator. You might need to add explicit type casts.');
    expectSqlError(() => resolveOperator('-', null, U), '42725', 'operator is not unique: - unknown');
  });
});

describe('integer arithmetic', () => {
  it.each([
    ['+', T.int4, '2', T.int4, '3', '5'],
    ['/', T.int4, '-7', T.int4, '2', '-3'],
    ['%', T.int4, '-7', T.int4, '2', '-1'],
    ['%', T.int4, '7', T.int4, '-2', '1'],
    ['%', T.int4, '-2147483648', T.int4, '-1', '0'],
    ['*', T.int8, '3000000000', T.int4, '3', '9000000000'],
    ['&', T.int4, '5', T.int4, '3', '1'],
    ['|', T.int4, '5', T.int4, '3', '7'],
    ['#', T.int4, '5', T.int4, '3', '6'],
    ['<<', T.int4, '1', T.int4, '4', '16'],
    ['>>', T.int4, '-16', T.int4, '2', '-4'],
    ['<<', T.int8, '1', T.int4, '40', '1099511627776'],
    ['<<', T.int2, '1', T.int4, '15', '-32768'],
    ['=', T.int2, '5', T.int8, '5', 't'],
    ['<', T.int8, '9223372036854775807', T.int4, '1', 'f'],
  ])('%s: %s %j, %s %j', (op, lt, a, rt, b, out) => expect(evalOp(op, lt, a, rt, b)).toBe(out));

  it('handles prefix operators', () => {
    expect(evalOp('-', null, null, T.int4, '5')).toBe('-5');
    expect(evalOp('~', null, null, T.int4, '5')).toBe('-6');
    expect(evalOp('@', null, null, T.int8, '-9')).toBe('9');
    expect(evalOp('@', null, null, T.float8, '-1.5')).toBe('1.5');
  });

  it('reports overflow and division by zero', () => {
    expectSqlError(() => evalOp('+', T.int4, '2147483647', T.int4, '1'), '22003', 'integer out of range');
    expectSqlError(() => evalOp('*', T.int8, '9223372036854775807', T.int4, '2'), '22003', 'bigint out of range');
    expectSqlError(() => evalOp('+', T.int2, '32767', T.int2, '1'), '22003', 'smallint out of range');
    expectSqlError(() => evalOp('/', T.int4, '-2147483648', T.int4, '-1'), '22003', 'integer out of range');
    expectSqlError(() => evalOp('-', null, null, T.int4, '-2147483648'), '22003', 'integer out of range');
    expectSqlError(() => evalOp('/', T.int4, '1', T.int4, '0'), '22012', 'division by zero');
    expectSqlError(() => evalOp('%', T.int8, '1', T.int8, '0'), '22012', 'division by zero');
  });
});

describe('float and numeric arithmetic', () => {
  it.each([
    ['+', T.float8, '0.1', T.float8, '0.2', '0.30000000000000004'],
    ['/', T.float8, '1', T.float8, '3', '0.3333333333333333'],
    ['*', T.float4, '1.1', T.float4, '1.1', '1.21'],
    ['^', T.float8, '2', T.float8, '0.5', '1.4142135623730951'],
    ['^', T.float8, '2', T.float8, '10', '1024'],
    ['/', T.float8, 'Infinity', T.float8, '2', 'Infinity'],
    ['=', T.float8, 'NaN', T.float8, 'NaN', 't'],
    ['>', T.float8, 'NaN', T.float8, 'Infinity', 't'],
    ['=', T.float8, '-0', T.float8, '0', 't'],
    ['/', T.numeric, '1', T.numeric, '3', '0.33333333333333333333'],
    ['/', T.numeric, '10', T.numeric, '4', '2.5000000000000000'],
    ['/', T.numeric, '2', T.numeric, '3', '0.66666666666666666667'],
    ['/', T.numeric, '1.0', T.numeric, '3', '0.33333333333333333333'],
    ['/', T.numeric, '100', T.numeric, '3', '33.3333333333333333'],
    ['/', T.numeric, '1', T.numeric, '8', '0.12500000000000000000'],
    ['/', T.numeric, '12345678901234567890', T.numeric, '3', '4115226300411522630'],
    ['/', T.numeric, '1.234567', T.numeric, '1000000', '0.000001234567000000000000'],
    ['+', T.numeric, '1.5', T.numeric, '2.25', '3.75'],
    ['-', T.numeric, '1.50', T.numeric, '1.5', '0.00'],
    ['*', T.numeric, '1.50', T.numeric, '2', '3.00'],
    ['*', T.numeric, '1.1', T.numeric, '1.1', '1.21'],
    ['%', T.numeric, '7.5', T.numeric, '2', '1.5'],
    ['%', T.numeric, '-7', T.numeric, '3', '-1'],
    ['+', T.numeric, 'Infinity', T.numeric, '1', 'Infinity'],
    ['-', T.numeric, 'Infinity', T.numeric, 'Infinity', 'NaN'],
    ['*', T.numeric, 'Infinity', T.numeric, '0', 'NaN'],
    ['/', T.numeric, '1', T.numeric, 'Infinity', '0'],
    ['<', T.numeric, 'Infinity', T.numeric, 'NaN', 't'],
    ['=', T.numeric, '1.0', T.numeric, '1.00', 't'],
    ['+', T.int4, '1', T.numeric, '1.5', '2.5'],
    ['^', T.numeric, '2', T.numeric, '0.5', '1.4142135623730950'],
    ['^', T.numeric, '-2', T.numeric, '3', '-8.0000000000000000'],
  ])('%s: %s %j, %s %j', (op, lt, a, rt, b, out) => expect(evalOp(op, lt, a, rt, b)).toBe(out));

  it('reports PostgreSQL errors', () => {
    expectSqlError(() => evalOp('/', T.float8, '1', T.float8, '0'), '22012', 'division by zero');
    expectSqlError(() => evalOp('*', T.float8, '1e308', T.float8, '10'), '22003', 'value out of range: overflow');
    expectSqlError(() => evalOp('*', T.float8, '1e-308', T.float8, '1e-308'), '22003', 'value out of range: underflow');
    expectSqlError(() => evalOp('^', T.float8, '0', T.float8, '-1'), '2201F', 'zero raised to a negative power is undefined');
    expectSqlError(() => evalOp('^', T.float8, '-8', T.float8, '0.5'), '2201F', 'a negative number raised to a non-integer power yields a complex result');
    expectSqlError(() => evalOp('/', T.numeric, '1', T.numeric, '0'), '22012', 'division by zero');
    expectSqlError(() => evalOp('%', T.numeric, '1', T.numeric, '0'), '22012', 'division by zero');
    expectSqlError(() => evalOp('^', T.numeric, '0', T.numeric, '-1'), '2201F', 'zero raised to a negative power is undefined');
  });
});

describe('text operators', () => {
  it.each([
    ['||', T.text, 'ab', T.text, 'cd', 'abcd'],
    ['||', T.int4, '1', T.unknown, 'a', '1a'],
    ['||', T.text, 'v=', T.bool, 't', 'v=t'],
    ['~~', T.text, 'abc', T.text, 'a%', 't'],
    ['~~', T.text, 'abc', T.text, 'a_c', 't'],
    ['~~', T.text, 'abc', T.text, 'A%', 'f'],
    ['~~*', T.text, 'abc', T.text, 'A%', 't'],
    ['!~~', T.text, 'abc', T.text, 'b%', 't'],
    ['~~', T.text, 'a_c', T.text, 'a\\_c', 't'],
    ['~~', T.text, 'abc', T.text, 'a\\_c', 'f'],
    ['~~', T.text, '100%', T.text, '100\\%', 't'],
    ['~~', T.text, 'a.c', T.text, 'a.c', 't'],
    ['~~', T.text, 'abc', T.text, 'a.c', 'f'],
    ['~~', T.text, 'line1\nline2', T.text, 'line1%', 't'],
    ['~', T.text, 'foobar', T.text, 'o+b', 't'],
    ['~', T.text, 'foobar', T.text, '^bar', 'f'],
    ['~*', T.text, 'FOO', T.text, 'foo', 't'],
    ['!~', T.text, 'foo', T.text, '[[:digit:]]', 't'],
    ['<', T.text, 'a', T.text, 'b', 't'],
    ['<', T.text, 'Z', T.text, 'a', 't'],
    ['<', T.text, '\uffff', T.text, '😀', 't'],
    ['=', T.bpchar, 'a  ', T.bpchar, 'a', 't'],
    ['||', T.bytea, '\\x01', T.bytea, '\\x02', '\\x0102'],
  ])('%s: %s %j, %s %j', (op, lt, a, rt, b, out) => expect(evalOp(op, lt, a, rt, b)).toBe(out));

  it('reports LIKE escape errors', () => {
    expectSqlError(() => evalOp('~~', T.text, 'a', T.text, 'a\\'), '22025', 'LIKE pattern must not end with escape character');
    expectSqlError(() => evalOp('~', T.text, 'a', T.text, '('), '2201B');
  });
});

describe('date and time operators', () => {
  it.each([
    ['+', T.date, '2024-02-28', T.int4, '2', '2024-03-01'],
    ['-', T.date, '2024-03-01', T.date, '2024-02-01', '29'],
    ['-', T.date, '2024-03-01', T.int4, '1', '2024-02-29'],
    ['+', T.date, '2024-01-31', T.interval, '1 month', '2024-02-29 00:00:00'],
    ['+', T.timestamp, '2024-01-31 10:00', T.interval, '1 month 1 day 01:00', '2024-03-01 11:00:00'],
    ['-', T.timestamp, '2024-03-31 00:00', T.interval, '1 mon', '2024-02-29 00:00:00'],
    ['+', T.timestamp, '2023-12-31', T.interval, '-13 mons', '2022-11-30 00:00:00'],
    ['-', T.timestamp, '2024-01-02', T.timestamp, '2024-01-01 01:00', '23:00:00'],
    ['-', T.timestamp, '2024-01-03 01:00', T.timestamp, '2024-01-01', '2 days 01:00:00'],
    ['-', T.timestamp, '2024-01-01', T.timestamp, '2024-01-03 01:00', '-2 days -01:00:00'],
    ['+', T.interval, '1 day', T.interval, '2 hours', '1 day 02:00:00'],
    ['-', T.interval, '1 mon', T.interval, '1 day', '1 mon -1 days'],
    ['*', T.interval, '1 day 02:00', T.float8, '2', '2 days 04:00:00'],
    ['*', T.interval, '1 mon', T.float8, '1.5', '1 mon 15 days'],
    ['*', T.interval, '1 day', T.float8, '0.5', '12:00:00'],
    ['/', T.interval, '1 mon', T.float8, '2', '15 days'],
    ['/', T.interval, '3 days', T.float8, '2', '1 day 12:00:00'],
    ['=', T.interval, '1 mon', T.interval, '30 days', 't'],
    ['<', T.interval, '1 day', T.interval, '25 hours', 't'],
    ['=', T.date, 'infinity', T.date, 'infinity', 't'],
    ['+', T.timestamp, 'infinity', T.interval, '1 day', 'infinity'],
  ])('%s: %s %j, %s %j', (op, lt, a, rt, b, out) => expect(evalOp(op, lt, a, rt, b)).toBe(out));

  it('adds days in the session time zone for timestamptz', () => {
    const ny = { timeZone: 'America/New_York' };
    expect(evalOp('+', T.timestamptz, '2024-03-09 12:00-05', T.interval, '1 day', ny)).toBe('2024-03-10 12:00:00-04');
    expect(evalOp('+', T.timestamptz, '2024-03-09 12:00-05', T.interval, '24 hours', ny)).toBe('2024-03-10 13:00:00-04');
    expect(evalOp('-', T.timestamptz, '2024-03-10 12:00-04', T.timestamptz, '2024-03-09 12:00-05', ny)).toBe('23:00:00');
  });

  it('reports PostgreSQL errors', () => {
    expectSqlError(() => evalOp('+', T.date, '5874897-12-31', T.int4, '1'), '22008', 'date out of range');
    expectSqlError(() => evalOp('-', T.date, 'infinity', T.date, '2024-01-01'), '22008', 'cannot subtract infinite dates');
    expectSqlError(() => evalOp('+', T.timestamp, '294276-12-31', T.interval, '1 year'), '22008', 'timestamp out of range');
    expectSqlError(() => evalOp('/', T.interval, '1 day', T.float8, '0'), '22012', 'division by zero');
    expectSqlError(() => evalOp('+', T.interval, '2147483647 days', T.interval, '1 day'), '22008', 'interval out of range');
  });
});

describe('jsonb operators', () => {
  it.each([
    ['->', '{"a": {"b": 1}}', U, 'a', '{"b": 1}'],
    ['->', '{"a": 1}', U, 'b', null],
    ['->', '[1, 2, 3]', T.int4, '-1', '3'],
    ['->', '[1, 2, 3]', T.int4, '5', null],
    ['->>', '{"a": "x"}', U, 'a', 'x'],
    ['->>', '{"a": null}', U, 'a', null],
    ['->>', '{"a": [1, "x"]}', U, 'a', '[1, "x"]'],
    ['->>', '[1.50]', T.int4, '0', '1.50'],
    ['#>', '{"a": {"b": [10, 20]}}', U, '{a,b,1}', '20'],
    ['#>>', '{"a": {"b": "c"}}', U, '{a,b}', 'c'],
    ['#>', '{"a": 1}', U, '{}', '{"a": 1}'],
    ['?', '{"a": 1}', U, 'a', 't'],
    ['?', '["a", "b"]', U, 'b', 't'],
    ['?', '[1]', U, '1', 'f'],
    ['?|', '{"a": 1}', U, '{b,a}', 't'],
    ['?&', '{"a": 1}', U, '{b,a}', 'f'],
    ['@>', '{"a": 1, "b": 2}', U, '{"a": 1}', 't'],
    ['@>', '{"a": {"b": 1, "c": 2}}', U, '{"a": {"c": 2}}', 't'],
    ['@>', '[1, 2, 3]', U, '[3, 1]', 't'],
    ['@>', '[1, [2, 3]]', U, '[[3]]', 't'],
    ['@>', '[1, 2]', U, '1', 't'],
    ['@>', '1', U, '[1]', 'f'],
    ['@>', '{"a": 1}', U, '[]', 'f'],
    ['<@', '{"a": 1}', U, '{"a": 1, "b": 2}', 't'],
    ['||', '{"a": 1, "b": 1}', U, '{"b": 2}', '{"a": 1, "b": 2}'],
    ['||', '[1]', U, '2', '[1, 2]'],
    ['||', '{"a": 1}', U, '[2]', '[{"a": 1}, 2]'],
    ['||', '"x"', U, '"y"', '["x", "y"]'],
    ['-', '{"a": 1, "b": 2}', U, 'a', '{"b": 2}'],
    ['-', '["a", "b", "a"]', U, 'a', '["b"]'],
    ['-', '[1, 2, 3]', T.int4, '-1', '[1, 2]'],
    ['=', '{"a": 1.0}', U, '{"a": 1}', 't'],
    ['<', '[]', U, 'null', 't'],
    ['<', 'null', U, '""', 't'],
    ['<', '"b"', U, '1', 't'],
    ['<', '1', U, 'true', 't'],
    ['<', 'true', U, '[1]', 't'],
    ['<', '[1, 2, 3]', U, '{}', 't'],
    ['<', '[9]', U, '[1, 1]', 't'],
    ['>', '{"b": 1}', U, '{"aa": 1}', 't'],
    ['<', '{"aa": 1, "c": 1}', U, '{"b": 1, "d": 1}', 'f'],
  ])('%s %j %j', (op, a, rt, b, out) => expect(evalOp(op, T.jsonb, a, rt, b)).toBe(out));

  it('reports PostgreSQL errors', () => {
    expectSqlError(() => evalOp('-', T.jsonb, '1', U, 'a'), '22023', 'cannot delete from scalar');
    expectSqlError(() => evalOp('-', T.jsonb, '{"a": 1}', T.int4, '0'), '22023', 'cannot delete from object using integer index');
  });
});
