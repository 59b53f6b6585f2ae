import { describe, expect, it } from 'vitest';
import { quantityValue, sameQuantity } from './quantity.js';

describe('quantityValue', () => {
  it.each<[string | number, number | undefined]>([
    ['500m', 0.5],
    ['0.5', 0.5],
    ['1', 1],
    [2, 2],
    ['1k', 1000],
    ['1Ki', 1024],
    ['256Mi', 256 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['1G', 1e9],
    ['1e3', 1000],
    ['1E3', 1000],
    ['1E', 1e18],
    ['.5', 0.5],
    ['100n', 1e-7],
    ['+2', 2],
    ['', undefined],
    ['1 Gi', undefined],
    ['1gi', undefined],
    ['abc', undefined],
    ['1Gii', undefined],
  ])('%s → %s', (q, value) => {
    const v = quantityValue(q);
    if (value === undefined) expect(v).toBeUndefined();
    else expect(v).toBeCloseTo(value, 12);
  });
});

describe('sameQuantity', () => {
  it.each<[string | number, string | number, boolean]>([
    ['500m', '0.5', true],
    ['100m', '0.1', true],
    ['1', 1, true],
    ['1024Mi', '1Gi', true],
    ['1G', '1Gi', false],
    ['250m', '500m', false],
    ['junk', 'junk', true],
    ['junk', '1', false],
  ])('%s = %s: %s', (a, b, same) => {
    expect(sameQuantity(a, b)).toBe(same);
  });
});
