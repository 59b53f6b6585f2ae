import { describe, expect, it } from 'vitest';
import { SqlError } from './errors.js';
import { nextSequenceValues } from './sequences.js';

describe('nextSequenceValues', () => {
  const seq = (start: number, increment: number) => ({ name: 's', start: String(start), increment: String(increment) });
  const limits = (min: number, max: number, cycle = false) => ({ min: BigInt(min), max: BigInt(max), cycle });

  it.each([
    { name: 'first values from START', stored: null, s: seq(5, 2), l: limits(1, 100), count: 3, values: [5, 7, 9] },
    { name: 'after a stored value', stored: 9, s: seq(5, 2), l: limits(1, 100), count: 2, values: [11, 13] },
    { name: 'going down', stored: null, s: seq(-1, -1), l: limits(-10, -1), count: 3, values: [-1, -2, -3] },
    { name: 'cycling past MAXVALUE', stored: 8, s: seq(1, 1), l: limits(1, 10, true), count: 4, values: [9, 10, 1, 2] },
    { name: 'cycling past MINVALUE going down', stored: -9, s: seq(-1, -1), l: limits(-10, -1, true), count: 3, values: [-10, -1, -2] },
    { name: 'none asked', stored: 3, s: seq(1, 1), l: limits(1, 10), count: 0, values: [] },
  ])('$name', ({ stored, s, l, count, values }) => {
    expect(nextSequenceValues(stored === null ? null : BigInt(stored), s, l, count)).toEqual(values.map(BigInt));
  });

  it('fails with 2200H at the bound of a sequence that does not cycle', () => {
    const call = () => nextSequenceValues(9n, seq(1, 1), limits(1, 10), 2);
    expect(call).toThrow(SqlError);
    expect(call).toThrow('nextval: reached maximum value of sequence "s" (10)');
    expect(() => nextSequenceValues(-10n, seq(-1, -1), limits(-10, -1), 1)).toThrow('reached minimum value of sequence "s" (-10)');
  });
});
