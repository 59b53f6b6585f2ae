import { describe, expect, it } from 'vitest';
import type { AggregateCall, AggregateOrder } from '../plan/analyze-expr.js';
import type { EvalContext, Expr, Row } from '../plan/expr.js';
import { T, resolveAggregate, type Datum } from '../types/index.js';
import { accumulatorFactory, keyComparator, type OrderKey } from './aggregate.js';

const evalCtx = { params: [], outer: [] } as unknown as EvalContext;
const col = (slot: number, type = T.text): Expr => ({ kind: 'column', type, slot });

describe('keyComparator', () => {
  const asc: OrderKey = { type: T.int4, descending: false, nullsFirst: false };
  const desc: OrderKey = { type: T.int4, descending: true, nullsFirst: true };
  const cases: { name: string; keys: OrderKey[]; a: Datum[]; b: Datum[]; sign: number }[] = [
    { name: 'ascending', keys: [asc], a: [1], b: [2], sign: -1 },
    { name: 'descending', keys: [desc], a: [1], b: [2], sign: 1 },
    { name: 'NULL last ascending', keys: [asc], a: [null], b: [2], sign: 1 },
    { name: 'NULL first descending', keys: [desc], a: [null], b: [2], sign: -1 },
    { name: 'NULLs tie', keys: [asc], a: [null], b: [null], sign: 0 },
    { name: 'second key breaks a tie', keys: [asc, desc], a: [1, 5], b: [1, 7], sign: 1 },
    { name: 'equal tuples', keys: [asc, asc], a: [1, 5], b: [1, 5], sign: 0 },
  ];
  for (const c of cases) {
    it(c.name, () => expect(Math.sign(keyComparator(c.keys)(c.a, c.b))).toBe(c.sign));
  }
});

describe('accumulatorFactory', () => {
  // Rows are [value, delimiter-free key, flag].
  const rows: Row[] = [
    ['b', 2, true],
    ['a', 3, false],
    [null, 1, true],
    ['c', 1, true],
    ['a', 4, true],
  ];
  const stringAgg = (over: { distinct?: boolean; order?: AggregateOrder[]; filter?: Expr | null }): AggregateCall => ({
    resolved: resolveAggregate('string_agg', [T.text, T.text], over.distinct ?? false),
    args: [col(0), { kind: 'const', type: T.text, value: ',' }],
    fingerprint: '',
    order: over.order ?? [],
    filter: over.filter ?? null,
  });
  const result = (call: AggregateCall): Datum => {
    const acc = accumulatorFactory(call)();
    for (const r of rows) acc.add(r, evalCtx);
    return acc.result(evalCtx);
  };
  const byKey: AggregateOrder = { expr: col(1, T.int4), descending: false, nullsFirst: false };
  const byValueDesc: AggregateOrder = { expr: col(0), descending: true, nullsFirst: true };
  const cases: { name: string; call: AggregateCall; expected: Datum }[] = [
    { name: 'arrival order', call: stringAgg({}), expected: 'b,a,c,a' },
    { name: 'ORDER BY another column', call: stringAgg({ order: [byKey] }), expected: 'c,b,a,a' },
    { name: 'ORDER BY the argument, descending', call: stringAgg({ order: [byValueDesc] }), expected: 'c,b,a,a' },
    { name: 'DISTINCT with ORDER BY', call: stringAgg({ distinct: true, order: [byValueDesc] }), expected: 'c,b,a' },
    { name: 'FILTER', call: stringAgg({ filter: col(2, T.bool) }), expected: 'b,c,a' },
    { name: 'FILTER with ORDER BY', call: stringAgg({ filter: col(2, T.bool), order: [byKey] }), expected: 'c,b,a' },
    { name: 'FILTER rejecting all rows', call: stringAgg({ filter: { kind: 'const', type: T.bool, value: null } }), expected: null },
  ];
  for (const c of cases) {
    it(c.name, () => expect(result(c.call)).toBe(c.expected));
  }

  it('gives each group its own state', () => {
    const make = accumulatorFactory(stringAgg({ order: [byKey] }));
    const one = make();
    const two = make();
    one.add(['x', 1, true], evalCtx);
    expect([one.result(evalCtx), two.result(evalCtx)]).toEqual(['x', null]);
  });
});
