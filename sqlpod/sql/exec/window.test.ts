import { describe, expect, it } from 'vitest';
import type { AggregateOrder } from '../plan/analyze-expr.js';
import type { EvalContext, Expr, Row } from '../plan/expr.js';
import type { WindowFunction, WindowSpec } from '../plan/window.js';
import { T, resolveAggregate, type Datum } from '../types/index.js';
import { computeWindows } from './window.js';

const evalCtx = { params: [], outer: [] } as unknown as EvalContext;
const col = (slot: number, type = T.int4): Expr => ({ kind: 'column', type, slot });
const asc = (slot: number): AggregateOrder => ({ expr: col(slot), descending: false, nullsFirst: false });
const descNullsFirst = (slot: number): AggregateOrder => ({ expr: col(slot), descending: true, nullsFirst: true });
const sum = (slot: number, window = 0): WindowFunction => ({
  kind: 'aggregate',
  window,
  call: { resolved: resolveAggregate('sum', [T.int4], false), args: [col(slot)], fingerprint: '', order: [], filter: null },
});
const countStar = (window = 0): WindowFunction => ({
  kind: 'aggregate',
  window,
  call: { resolved: resolveAggregate('count', [], false), args: [], fingerprint: '', order: [], filter: null },
});
const ranking = (kind: 'row_number' | 'rank' | 'dense_rank' | 'percent_rank' | 'cume_dist', window = 0): WindowFunction => ({ kind, window });

// Rows are [id, partition, order value].
const rows: Row[] = [
  [1, 1, 10],
  [2, 1, 20],
  [3, 1, 20],
  [4, 2, 5],
  [5, 2, null],
  [6, null, 7],
  [7, null, 7],
];

/** The function values by id, for comparison independent of the output order. */
function byId(windows: WindowSpec[], functions: WindowFunction[], input: Row[] = rows): Record<number, Datum[]> {
  const out = computeWindows({ width: 3, windows, functions }, input, evalCtx);
  expect(out).toHaveLength(input.length);
  return Object.fromEntries(out.map((r) => [r[0] as number, r.slice(3)]));
}

describe('computeWindows', () => {
  const cases: { name: string; windows: WindowSpec[]; functions: WindowFunction[]; expected: Record<number, Datum[]> }[] = [
    {
      name: 'ranking with peers, NULL partition keys grouped together',
      windows: [{ partition: [col(1)], order: [asc(2)] }],
      functions: [ranking('row_number'), ranking('rank'), ranking('dense_rank')],
      expected: { 1: [1n, 1n, 1n], 2: [2n, 2n, 2n], 3: [3n, 2n, 2n], 4: [1n, 1n, 1n], 5: [2n, 2n, 2n], 6: [1n, 1n, 1n], 7: [2n, 1n, 1n] },
    },
    {
      name: 'rank after a tie skips, dense_rank does not',
      windows: [{ partition: [], order: [asc(2)] }],
      functions: [ranking('rank'), ranking('dense_rank')],
      // Order: 5, 7, 7, 10, 20, 20, NULL (last).
      expected: { 4: [1n, 1n], 6: [2n, 2n], 7: [2n, 2n], 1: [4n, 3n], 2: [5n, 4n], 3: [5n, 4n], 5: [7n, 5n] },
    },
    {
      name: 'descending with NULLs first',
      windows: [{ partition: [], order: [descNullsFirst(2)] }],
      functions: [ranking('rank')],
      expected: { 5: [1n], 2: [2n], 3: [2n], 1: [4n], 6: [5n], 7: [5n], 4: [7n] },
    },
    {
      name: 'running sum: peers share the value, NULLs add nothing',
      windows: [{ partition: [col(1)], order: [asc(2)] }],
      functions: [sum(2), countStar()],
      expected: { 1: [10n, 1n], 2: [50n, 3n], 3: [50n, 3n], 4: [5n, 1n], 5: [5n, 2n], 6: [14n, 2n], 7: [14n, 2n] },
    },
    {
      name: 'no ORDER BY: the whole partition',
      windows: [{ partition: [col(1)], order: [] }],
      functions: [sum(2), ranking('rank'), ranking('row_number')],
      expected: { 1: [50n, 1n, 1n], 2: [50n, 1n, 2n], 3: [50n, 1n, 3n], 4: [5n, 1n, 1n], 5: [5n, 1n, 2n], 6: [14n, 1n, 1n], 7: [14n, 1n, 2n] },
    },
    {
      name: 'no PARTITION BY nor ORDER BY: one partition of all rows',
      windows: [{ partition: [], order: [] }],
      functions: [countStar(), sum(2)],
      expected: { 1: [7n, 69n], 2: [7n, 69n], 3: [7n, 69n], 4: [7n, 69n], 5: [7n, 69n], 6: [7n, 69n], 7: [7n, 69n] },
    },
    {
      name: 'percent_rank and cume_dist',
      windows: [{ partition: [col(1)], order: [asc(2)] }],
      functions: [ranking('percent_rank'), ranking('cume_dist')],
      expected: { 1: [0, 1 / 3], 2: [0.5, 1], 3: [0.5, 1], 4: [0, 0.5], 5: [1, 1], 6: [0, 1], 7: [0, 1] },
    },
    {
      name: 'two windows in one node',
      windows: [
        { partition: [col(1)], order: [] },
        { partition: [], order: [asc(0)] },
      ],
      functions: [countStar(0), ranking('row_number', 1), sum(2, 1)],
      expected: { 1: [3n, 1n, 10n], 2: [3n, 2n, 30n], 3: [3n, 3n, 50n], 4: [2n, 4n, 55n], 5: [2n, 5n, 55n], 6: [2n, 6n, 62n], 7: [2n, 7n, 69n] },
    },
  ];
  for (const c of cases) {
    it(c.name, () => expect(byId(c.windows, c.functions)).toEqual(c.expected));
  }

  it('returns nothing for no rows', () => {
    expect(computeWindows({ width: 3, windows: [{ partition: [col(1)], order: [asc(2)] }], functions: [ranking('rank'), sum(2)] }, [], evalCtx)).toEqual([]);
  });

  it('returns rows in the order of the last window, ties in input order', () => {
    const out = computeWindows({ width: 3, windows: [{ partition: [], order: [asc(2)] }], functions: [ranking('row_number')] }, rows, evalCtx);
    expect(out.map((r) => r[0])).toEqual([4, 6, 7, 1, 2, 3, 5]);
  });

  it('keeps only the first width values of the input', () => {
    const out = computeWindows({ width: 1, windows: [{ partition: [], order: [] }], functions: [countStar()] }, [[1, 'extra']], evalCtx);
    expect(out).toEqual([[1, 1n]]);
  });
});
