import { describe, expect, it } from 'vitest';
import type { EvalContext, Expr, Row } from '../plan/expr.js';
import type { SetFunction } from '../plan/srf.js';
import { Numeric, T, type Datum, type SqlType } from '../types/index.js';
import { functionScan } from './srf.js';

const evalCtx = { params: [], outer: [], timeZone: 'UTC' } as unknown as EvalContext;
const c = (type: SqlType, value: Datum): Expr => ({ kind: 'const', type, value });
const series = (type: SqlType, start: Datum, stop: Datum, step?: Datum): SetFunction => ({
  kind: 'series',
  type,
  start: c(type, start),
  stop: c(type, stop),
  step: step === undefined ? null : c(type.oid === T.timestamp.oid ? T.interval : type, step),
});
const scan = (functions: SetFunction[], ordinality = false): Row[] => [...functionScan(functions, ordinality, [], { eval: evalCtx, checkCancel: () => undefined })].flat();

// Expected values are PostgreSQL 15's generate_series (checked with psql).
describe('functionScan', () => {
  it('counts integers up and down to the last value not past stop, without overflowing', () => {
    expect(scan([series(T.int4, 5, 1, -2)])).toEqual([[5], [3], [1]]);
    expect(scan([series(T.int4, 1, 0)])).toEqual([]);
    expect(scan([series(T.int4, 2147483640, 2147483647, 3)])).toEqual([[2147483640], [2147483643], [2147483646]]);
    expect(scan([series(T.int8, 9223372036854775800n, 9223372036854775807n, 4n)])).toEqual([[9223372036854775800n], [9223372036854775804n]]);
  });

  it('keeps numeric scales as PostgreSQL adds them, and refuses NaN, infinity and a zero step', () => {
    const out = scan([series(T.numeric, Numeric.fromInt(1), Numeric.fromInt(2), Numeric.parse('0.5'))]).map((r) => (r[0] as Numeric).toString());
    expect(out).toEqual(['1', '1.5', '2.0']);
    expect(() => scan([series(T.numeric, Numeric.fromInt(1), Numeric.NaN)])).toThrow('stop value cannot be NaN');
    expect(() => scan([series(T.numeric, Numeric.Infinity, Numeric.fromInt(1))])).toThrow('start value cannot be infinity');
    expect(() => scan([series(T.int4, 1, 10, 0)])).toThrow('step size cannot equal zero');
  });

  it('zips functions, NULL past the shorter one, with the row number under ORDINALITY', () => {
    const letters: SetFunction = { kind: 'values', type: T.text, values: [c(T.text, 'a'), c(T.text, 'b')] };
    expect(scan([series(T.int4, 1, 3), letters], true)).toEqual([
      [1, 'a', 1n],
      [2, 'b', 2n],
      [3, null, 3n],
    ]);
  });

  it('gives no rows for a NULL argument, and reads a long series a page at a time', () => {
    expect(scan([series(T.int4, null, 3)])).toEqual([]);
    const pages = functionScan([series(T.int8, 1n, 10n ** 15n)], false, [], { eval: evalCtx, checkCancel: () => undefined });
    const first = pages.next();
    expect(first.done ? 0 : first.value.length).toBe(1000);
  });
});
