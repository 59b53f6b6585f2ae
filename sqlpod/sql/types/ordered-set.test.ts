import { describe, expect, it } from 'vitest';
import { SqlArray, T, arrayOf, type Datum, type SqlType } from './catalog.js';
import { makeInterval } from './interval.js';
import { resolveOrderedSetAggregate } from './ordered-set.js';

const float8s = arrayOf(T.float8) as SqlType;

/** Feeds the (already sorted) values, then finishes with the direct arguments. */
function finish(name: string, direct: Datum[], directTypes: SqlType[], sortedType: SqlType, sorted: Datum[]): Datum {
  const state = resolveOrderedSetAggregate(name, directTypes, sortedType).create();
  for (const v of sorted) state.add([v]);
  return state.finish?.(direct) ?? null;
}

describe('ordered-set aggregates', () => {
  it('types results as PostgreSQL: percentile_cont float8 or interval, percentile_disc and mode the input, arrays for arrays', () => {
    const cont = resolveOrderedSetAggregate('percentile_cont', [T.numeric], T.numeric);
    expect([cont.result, cont.args, cont.direct]).toEqual([T.float8, [T.float8], [T.float8]]);
    expect(resolveOrderedSetAggregate('percentile_cont', [T.numeric], T.interval).result).toBe(T.interval);
    expect(resolveOrderedSetAggregate('percentile_cont', [arrayOf(T.numeric) as SqlType], T.int4).result).toBe(float8s);
    expect(resolveOrderedSetAggregate('percentile_disc', [T.float8], T.date).result).toBe(T.date);
    expect(resolveOrderedSetAggregate('percentile_disc', [float8s], T.text).result).toBe(arrayOf(T.text));
    expect(resolveOrderedSetAggregate('mode', [], T.text).result).toBe(T.text);
    expect(() => resolveOrderedSetAggregate('percentile_cont', [T.float8], T.text)).toThrow(/does not exist/);
    expect(() => resolveOrderedSetAggregate('mode', [T.float8], T.text)).toThrow(/does not exist/);
  });

  it('interpolates (continuous), picks (discrete) and finds the first most frequent value', () => {
    expect(finish('percentile_cont', [0.25], [T.float8], T.float8, [1, 2, 4, 8])).toBe(1.75);
    expect(finish('percentile_cont', [0.5], [T.float8], T.interval, [makeInterval(0, 0, 0n), makeInterval(0, 1, 0n)])).toEqual(makeInterval(0, 0, 43_200_000_000n));
    expect(finish('percentile_disc', [0.5], [T.float8], T.int4, [1, 2, 4, 8])).toBe(2);
    expect(finish('percentile_disc', [0], [T.float8], T.int4, [1, 2])).toBe(1);
    expect(finish('percentile_disc', [new SqlArray([0.5, null, 1])], [float8s], T.int4, [1, 2, 3])).toEqual(new SqlArray([2, null, 3]));
    expect(finish('mode', [], [], T.int4, [1, 2, 2, 3, 3])).toBe(2);
    expect(finish('percentile_cont', [0.5], [T.float8], T.float8, [null])).toBeNull();
  });

  it('checks the fraction before looking at the rows (22003), but not in the array form over no rows', () => {
    expect(() => finish('percentile_cont', [1.5], [T.float8], T.float8, [])).toThrow('percentile value 1.5 is not between 0 and 1');
    expect(() => finish('percentile_disc', [Number.NaN], [T.float8], T.int4, [1])).toThrow('percentile value nan is not between 0 and 1');
    expect(() => finish('percentile_disc', [1e-7], [T.float8], T.int4, [1])).not.toThrow();
    expect(() => finish('percentile_disc', [-1e-7], [T.float8], T.int4, [1])).toThrow('percentile value -1e-07 is not between 0 and 1');
    expect(finish('percentile_cont', [new SqlArray([2])], [float8s], T.float8, [])).toBeNull();
  });
});
