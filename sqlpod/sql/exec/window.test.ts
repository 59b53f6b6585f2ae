import { describe, expect, it } from 'vitest';
import type { AggregateOrder } from '../plan/analyze-expr.js';
import type { EvalContext, Expr, Row } from '../plan/expr.js';
import { DEFAULT_FRAME, type FrameBound, type WindowFrame } from '../plan/frame.js';
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
      windows: [{ partition: [col(1)], order: [asc(2)], frame: DEFAULT_FRAME }],
      functions: [ranking('row_number'), ranking('rank'), ranking('dense_rank')],
      expected: { 1: [1n, 1n, 1n], 2: [2n, 2n, 2n], 3: [3n, 2n, 2n], 4: [1n, 1n, 1n], 5: [2n, 2n, 2n], 6: [1n, 1n, 1n], 7: [2n, 1n, 1n] },
    },
    {
      name: 'rank after a tie skips, dense_rank does not',
      windows: [{ partition: [], order: [asc(2)], frame: DEFAULT_FRAME }],
      functions: [ranking('rank'), ranking('dense_rank')],
      // Order: 5, 7, 7, 10, 20, 20, NULL (last).
      expected: { 4: [1n, 1n], 6: [2n, 2n], 7: [2n, 2n], 1: [4n, 3n], 2: [5n, 4n], 3: [5n, 4n], 5: [7n, 5n] },
    },
    {
      name: 'descending with NULLs first',
      windows: [{ partition: [], order: [descNullsFirst(2)], frame: DEFAULT_FRAME }],
      functions: [ranking('rank')],
      expected: { 5: [1n], 2: [2n], 3: [2n], 1: [4n], 6: [5n], 7: [5n], 4: [7n] },
    },
    {
      name: 'running sum: peers share the value, NULLs add nothing',
      windows: [{ partition: [col(1)], order: [asc(2)], frame: DEFAULT_FRAME }],
      functions: [sum(2), countStar()],
      expected: { 1: [10n, 1n], 2: [50n, 3n], 3: [50n, 3n], 4: [5n, 1n], 5: [5n, 2n], 6: [14n, 2n], 7: [14n, 2n] },
    },
    {
      name: 'no ORDER BY: the whole partition',
      windows: [{ partition: [col(1)], order: [], frame: DEFAULT_FRAME }],
      functions: [sum(2), ranking('rank'), ranking('row_number')],
      expected: { 1: [50n, 1n, 1n], 2: [50n, 1n, 2n], 3: [50n, 1n, 3n], 4: [5n, 1n, 1n], 5: [5n, 1n, 2n], 6: [14n, 1n, 1n], 7: [14n, 1n, 2n] },
    },
    {
      name: 'no PARTITION BY nor ORDER BY: one partition of all rows',
      windows: [{ partition: [], order: [], frame: DEFAULT_FRAME }],
      functions: [countStar(), sum(2)],
      expected: { 1: [7n, 69n], 2: [7n, 69n], 3: [7n, 69n], 4: [7n, 69n], 5: [7n, 69n], 6: [7n, 69n], 7: [7n, 69n] },
    },
    {
      name: 'percent_rank and cume_dist',
      windows: [{ partition: [col(1)], order: [asc(2)], frame: DEFAULT_FRAME }],
      functions: [ranking('percent_rank'), ranking('cume_dist')],
      expected: { 1: [0, 1 / 3], 2: [0.5, 1], 3: [0.5, 1], 4: [0, 0.5], 5: [1, 1], 6: [0, 1], 7: [0, 1] },
    },
    {
      name: 'two windows in one node',
      windows: [
        { partition: [col(1)], order: [], frame: DEFAULT_FRAME },
        { partition: [], order: [asc(0)], frame: DEFAULT_FRAME },
      ],
      functions: [countStar(0), ranking('row_number', 1), sum(2, 1)],
      expected: { 1: [3n, 1n, 10n], 2: [3n, 2n, 30n], 3: [3n, 3n, 50n], 4: [2n, 4n, 55n], 5: [2n, 5n, 55n], 6: [2n, 6n, 62n], 7: [2n, 7n, 69n] },
    },
  ];
  for (const c of cases) {
    it(c.name, () => expect(byId(c.windows, c.functions)).toEqual(c.expected));
  }

  it('returns nothing for no rows', () => {
    expect(computeWindows({ width: 3, windows: [{ partition: [col(1)], order: [asc(2)], frame: DEFAULT_FRAME }], functions: [ranking('rank'), sum(2)] }, [], evalCtx)).toEqual([]);
  });

  it('returns rows in the order of the last window, ties in input order', () => {
    const out = computeWindows({ width: 3, windows: [{ partition: [], order: [asc(2)], frame: DEFAULT_FRAME }], functions: [ranking('row_number')] }, rows, evalCtx);
    expect(out.map((r) => r[0])).toEqual([4, 6, 7, 1, 2, 3, 5]);
  });

  it('keeps only the first width values of the input', () => {
    const out = computeWindows({ width: 1, windows: [{ partition: [], order: [], frame: DEFAULT_FRAME }], functions: [countStar()] }, [[1, 'extra']], evalCtx);
    expect(out).toEqual([[1, 1n]]);
  });
});

const int8 = (n: number): Expr => ({ kind: 'const', type: T.int8, value: BigInt(n) });
const int4 = (n: number | null): Expr => ({ kind: 'const', type: T.int4, value: n });
const preceding = (n: number): FrameBound => ({ kind: 'preceding', offset: int8(n) });
const following = (n: number): FrameBound => ({ kind: 'following', offset: int8(n) });
const rowsFrame = (start: FrameBound, end: FrameBound): WindowFrame => ({ mode: 'rows', start, end });
const rangeFrame = (start: FrameBound, end: FrameBound): WindowFrame => ({ mode: 'range', start, end, inRange: 'integer' });
const unbounded: FrameBound = { kind: 'unbounded' };
const current: FrameBound = { kind: 'current' };
const value = (kind: 'first_value' | 'last_value', slot: number, window = 0): WindowFunction => ({ kind, window, value: col(slot) });

/** The function values by id when the statement fails: its SQLSTATE and message. */
function failure(windows: WindowSpec[], functions: WindowFunction[], input: Row[] = rows): [string, string] {
  try {
    computeWindows({ width: 3, windows, functions }, input, evalCtx);
  } catch (e) {
    const err = e as { code: string; message: string };
    return [err.code, err.message];
  }
  throw new Error('no error');
}

// Expected values are PostgreSQL 15's for the same windows over the same rows
// (SELECT … FROM wf, with wf(id, g, v) holding `rows`), checked with psql.
describe('computeWindows with frames and value functions', () => {
  const byOrder = (frame: WindowFrame, key = asc(0)): WindowSpec => ({ partition: [], order: [key], frame });
  const cases: { name: string; windows: WindowSpec[]; functions: WindowFunction[]; expected: Record<number, Datum[]> }[] = [
    {
      name: 'ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING per partition',
      windows: [{ partition: [col(1)], order: [asc(0)], frame: rowsFrame(preceding(1), following(1)) }],
      functions: [sum(2), value('first_value', 2), value('last_value', 2), countStar()],
      expected: { 1: [30n, 10, 20, 2n], 2: [50n, 10, 20, 3n], 3: [40n, 20, 20, 2n], 4: [5n, 5, null, 2n], 5: [5n, 5, null, 2n], 6: [14n, 7, 7, 2n], 7: [14n, 7, 7, 2n] },
    },
    {
      name: 'RANGE BETWEEN 5 PRECEDING AND 5 FOLLOWING: NULLs are peers of NULLs only',
      windows: [byOrder(rangeFrame(preceding(5), following(5)), asc(2))],
      functions: [sum(2), countStar(), value('first_value', 0), value('last_value', 0)],
      expected: { 1: [29n, 4n, 4, 1], 2: [40n, 2n, 2, 3], 3: [40n, 2n, 2, 3], 4: [29n, 4n, 4, 1], 5: [null, 1n, 5, 5], 6: [29n, 4n, 4, 1], 7: [29n, 4n, 4, 1] },
    },
    {
      name: 'RANGE BETWEEN 3 PRECEDING AND CURRENT ROW, descending NULLS LAST',
      windows: [byOrder(rangeFrame(preceding(3), current), { expr: col(2), descending: true, nullsFirst: false })],
      functions: [sum(2), countStar(), value('first_value', 0), value('last_value', 0)],
      expected: { 1: [10n, 1n, 1, 1], 2: [40n, 2n, 2, 3], 3: [40n, 2n, 2, 3], 4: [19n, 3n, 6, 4], 5: [null, 1n, 5, 5], 6: [24n, 3n, 1, 7], 7: [24n, 3n, 1, 7] },
    },
    {
      name: 'RANGE BETWEEN CURRENT ROW AND 10 FOLLOWING, NULLS FIRST',
      windows: [byOrder(rangeFrame(current, following(10)), { expr: col(2), descending: false, nullsFirst: true })],
      functions: [sum(2), countStar()],
      expected: { 1: [50n, 3n], 2: [40n, 2n], 3: [40n, 2n], 4: [29n, 4n], 5: [null, 1n], 6: [24n, 3n], 7: [24n, 3n] },
    },
    {
      name: 'RANGE BETWEEN 10 FOLLOWING AND 15 FOLLOWING: frames that skip the current row or are empty',
      windows: [byOrder(rangeFrame(following(10), following(15)), asc(2))],
      functions: [sum(2), countStar()],
      expected: { 1: [40n, 2n], 2: [null, 0n], 3: [null, 0n], 4: [40n, 2n], 5: [null, 1n], 6: [40n, 2n], 7: [40n, 2n] },
    },
    {
      name: 'empty ROWS frames: count 0, sum and values NULL',
      windows: [byOrder(rowsFrame(preceding(1), preceding(2)))],
      functions: [sum(2), countStar(), value('first_value', 2), { kind: 'nth_value', window: 0, value: col(2), n: int4(1) }],
      expected: { 1: [null, 0n, null, null], 2: [null, 0n, null, null], 3: [null, 0n, null, null], 4: [null, 0n, null, null], 5: [null, 0n, null, null], 6: [null, 0n, null, null], 7: [null, 0n, null, null] },
    },
    {
      name: 'ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING (the head moves: the aggregate starts over)',
      windows: [byOrder(rowsFrame(current, unbounded))],
      functions: [sum(2), countStar()],
      expected: { 1: [69n, 7n], 2: [59n, 6n], 3: [39n, 5n], 4: [19n, 4n], 5: [14n, 3n], 6: [14n, 2n], 7: [7n, 1n] },
    },
    {
      name: 'lag and lead: offsets per row (NULL gives NULL, negative turns around), default at the current row',
      windows: [byOrder(DEFAULT_FRAME)],
      functions: [
        { kind: 'lag', window: 0, value: col(2), offset: null, fallback: null },
        { kind: 'lead', window: 0, value: col(2), offset: int4(2), fallback: null },
        { kind: 'lag', window: 0, value: col(2), offset: int4(2), fallback: int4(-1) },
        { kind: 'lead', window: 0, value: col(0), offset: int4(-1), fallback: null },
        { kind: 'lag', window: 0, value: col(0), offset: col(1), fallback: null },
      ],
      expected: {
        1: [null, 20, -1, null, null],
        2: [10, 5, -1, 1, 1],
        3: [20, null, 10, 2, 2],
        4: [20, 7, 20, 3, 2],
        5: [5, 7, 20, 4, 3],
        6: [null, null, 5, 5, null],
        7: [7, null, null, 6, null],
      },
    },
    {
      name: 'ntile: leading buckets take the remainder, more buckets than rows',
      windows: [byOrder(DEFAULT_FRAME), { partition: [col(1)], order: [asc(0)], frame: DEFAULT_FRAME }],
      functions: [
        { kind: 'ntile', window: 0, buckets: int4(3) },
        { kind: 'ntile', window: 1, buckets: int4(2) },
        { kind: 'ntile', window: 0, buckets: int4(10) },
      ],
      expected: { 1: [1, 1, 1], 2: [1, 1, 2], 3: [1, 2, 3], 4: [2, 1, 4], 5: [2, 2, 5], 6: [3, 1, 6], 7: [3, 2, 7] },
    },
    {
      name: 'nth_value over the whole partition, over the default frame (peers included)',
      windows: [byOrder(rowsFrame(unbounded, unbounded)), { partition: [col(1)], order: [asc(2)], frame: DEFAULT_FRAME }, byOrder(DEFAULT_FRAME, asc(2))],
      functions: [
        { kind: 'nth_value', window: 0, value: col(2), n: int4(2) },
        { kind: 'nth_value', window: 1, value: col(2), n: int4(3) },
        { kind: 'nth_value', window: 2, value: col(0), n: int4(2) },
        value('last_value', 0, 1),
      ],
      expected: { 1: [20, null, 6, 1], 2: [20, 20, 6, 3], 3: [20, 20, 6, 3], 4: [20, null, null, 4], 5: [20, null, 6, 5], 6: [20, null, 6, 7], 7: [20, null, 6, 7] },
    },
  ];
  for (const c of cases) {
    it(c.name, () => expect(byId(c.windows, c.functions)).toEqual(c.expected));
  }

  it('reads ntile’s argument until it is not NULL, then keeps it for the partition', () => {
    const buckets: Expr = { kind: 'case', type: T.int4, whens: [[{ kind: 'call', type: T.bool, args: [col(0)], strict: true, volatile: false, fn: ([id]) => (id as number) < 3 }, int4(null)]], otherwise: int4(2) };
    const out = byId([byOrder(DEFAULT_FRAME)], [{ kind: 'ntile', window: 0, buckets }]);
    expect(out).toEqual({ 1: [null], 2: [null], 3: [1], 4: [1], 5: [1], 6: [1], 7: [2] });
  });

  it('fails as PostgreSQL does on bad offsets and arguments', () => {
    // NULL and negative ROWS offsets fail even without rows.
    expect(failure([byOrder(rowsFrame(preceding(-1), current))], [sum(2)], [])).toEqual(['22013', 'frame starting offset must not be negative']);
    expect(failure([byOrder(rowsFrame(current, following(-2)))], [sum(2)], [])).toEqual(['22013', 'frame ending offset must not be negative']);
    expect(failure([byOrder(rowsFrame({ kind: 'preceding', offset: { kind: 'const', type: T.int8, value: null } }, current))], [sum(2)], [])).toEqual([
      '22004',
      'frame starting offset must not be null',
    ]);
    // A negative RANGE offset fails only once two values are compared.
    const negativeRange = [byOrder(rangeFrame(preceding(-1), current), asc(2))];
    expect(failure(negativeRange, [sum(2)])).toEqual(['22013', 'invalid preceding or following size in window function']);
    expect(byId(negativeRange, [sum(2)], [[5, 2, null]])).toEqual({ 5: [null] });
    expect(failure([byOrder(DEFAULT_FRAME)], [{ kind: 'ntile', window: 0, buckets: int4(0) }])).toEqual(['22014', 'argument of ntile must be greater than zero']);
    expect(byId([byOrder(DEFAULT_FRAME)], [{ kind: 'ntile', window: 0, buckets: int4(0) }], [])).toEqual({});
    expect(failure([byOrder(DEFAULT_FRAME)], [{ kind: 'nth_value', window: 0, value: col(2), n: int4(0) }])).toEqual(['22016', 'argument of nth_value must be greater than zero']);
  });

  it('compares numeric and float RANGE offsets with PostgreSQL’s in_range rules', () => {
    const inRangeRows: Row[] = [
      [1, 0, 1.5],
      [2, 0, 2.5],
      [3, 0, Number.NaN],
      [4, 0, Number.POSITIVE_INFINITY],
    ];
    const key: AggregateOrder = { expr: col(2, T.float8), descending: false, nullsFirst: false };
    const frame: WindowFrame = { mode: 'range', start: { kind: 'preceding', offset: { kind: 'const', type: T.float8, value: 1 } }, end: current, inRange: 'float' };
    // NaN is a peer of NaN only; Infinity - 1 is Infinity.
    expect(byId([{ partition: [], order: [key], frame }], [countStar()], inRangeRows)).toEqual({ 1: [1n], 2: [2n], 3: [1n], 4: [1n] });
  });
});
