import { describe, expect, it } from 'vitest';
import { T, type SqlType } from '../types/index.js';
import type { Expr } from './expr.js';
import { describeConjunct, equiKey, estimateScan, hashKeyType, orderJoins, type Conjunct, type JoinInput } from './join.js';
import type { IndexAccess } from './plan.js';

const col = (slot: number, type: SqlType = T.int4): Expr => ({ kind: 'column', type, slot });
const konst = (value: number): Expr => ({ kind: 'const', type: T.int4, value });
const call = (op: string, a: Expr, b: Expr): Expr => ({ kind: 'call', type: T.bool, op, args: [a, b], strict: true, volatile: false, fn: () => null });
const eq = (a: Expr, b: Expr) => call('=', a, b);
const conj = (e: Expr, correlated = false): Conjunct => describeConjunct(e, () => correlated);

/** Inputs of `width` slots each, in FROM order; `sizes` are their estimates. */
function inputs(sizes: readonly number[], width = 2): JoinInput[] {
  return sizes.map((estimate, i) => ({ slots: new Set(Array.from({ length: width }, (_, k) => i * width + k)), estimate }));
}

describe('describeConjunct', () => {
  it('collects the slots read outside subqueries and pins correlated subqueries', () => {
    const inSub: Expr = { kind: 'subqueryIn', type: T.bool, id: 0, arg: col(4), equal: () => null, negated: false };
    expect([...conj(eq(col(1), col(3))).slots]).toEqual([1, 3]);
    expect(conj(eq(col(1), konst(3))).pinned).toBe(false);
    expect([...conj(inSub, true).slots]).toEqual([4]);
    expect(conj(inSub, true).pinned).toBe(true);
    expect(conj(inSub, false).pinned).toBe(false);
    expect([...conj({ kind: 'outer', type: T.int4, depth: 1, slot: 7 }).slots]).toEqual([]);
  });
});

describe('hashKeyType', () => {
  const cases: [SqlType, SqlType, SqlType | null][] = [
    [T.int4, T.int4, T.int4],
    [T.int4, T.int8, T.int8],
    [T.int2, T.int4, T.int8],
    [T.text, T.varchar, T.text],
    [{ ...T.varchar, typmod: 34 }, { ...T.varchar, typmod: 14 }, T.varchar],
    [T.numeric, T.numeric, T.numeric],
    [T.int4, T.numeric, null],
    [T.float8, T.int4, null],
    [T.unknown, T.unknown, null],
  ];
  it.each(cases)('%o = %o hashes as %o', (a, b, want) => {
    const got = hashKeyType(a, b);
    expect(got === null ? null : { oid: got.oid, typmod: got.typmod }).toEqual(want === null ? null : { oid: want.oid, typmod: -1 });
  });
});

describe('equiKey', () => {
  const left = new Set([0, 1]);
  const right = new Set([2, 3]);
  it('orients the key by side', () => {
    expect(equiKey(conj(eq(col(0), col(2))), left, right)).toMatchObject({ left: col(0), right: col(2) });
    expect(equiKey(conj(eq(col(3), col(1))), left, right)).toMatchObject({ left: col(1), right: col(3) });
  });
  const none: [string, Expr][] = [
    ['not an equality', call('<', col(0), col(2))],
    ['one side only', eq(col(0), col(1))],
    ['a constant side', eq(col(0), konst(1))],
    ['a side reading both inputs', eq(call('+', col(0), col(2)), col(3))],
    ['types that hash apart', eq(col(0, T.numeric), col(2, T.float8))],
  ];
  it.each(none)('is none for %s', (_, e) => {
    expect(equiKey(conj(e), left, right)).toBeNull();
  });
});

describe('estimateScan', () => {
  const index = { id: 1, name: 'pk', unique: true, columnIds: [1], descending: [false] };
  const cases: [string, IndexAccess, number, number][] = [
    ['a full scan', { index, constraints: [], point: false }, 0, 1000],
    ['a full scan with two filters', { index, constraints: [], point: false }, 2, 250],
    ['point reads', { index, constraints: [{ kind: 'equal', values: [konst(1), konst(2)] }], point: true }, 1, 2],
    ['an equality prefix', { index, constraints: [{ kind: 'equal', values: [konst(1)] }], point: false }, 1, 100],
    ['a range', { index, constraints: [{ kind: 'range', lower: { value: konst(1), inclusive: true }, upper: null }], point: false }, 1, 300],
  ];
  it.each(cases)('guesses %s', (_, access, filters, rows) => {
    expect(estimateScan(access, filters)).toBeCloseTo(rows);
  });
});

describe('orderJoins', () => {
  const order = (sizes: readonly number[], cs: readonly Expr[]) => orderJoins(inputs(sizes), cs.map((c) => conj(c))).map((s) => s.input);

  it('follows equalities from the smallest input, never crossing while a joined-on input is left', () => {
    // A chain 0-1, 2-3, 1-2 in shuffled order; input 2 is filtered down to one row.
    const chain = [eq(col(0), col(3)), eq(col(5), col(6)), eq(col(2), col(4))];
    expect(order([1000, 1000, 1, 1000], chain)).toEqual([2, 1, 0, 3]);
  });

  it('keeps FROM order on ties and crosses only when nothing joins', () => {
    expect(order([10, 10, 10], [])).toEqual([0, 1, 2]);
    expect(order([10, 10, 10], [eq(col(0), col(4))])).toEqual([0, 2, 1]);
  });

  it('prefers an equality over another condition, and another condition over none', () => {
    expect(order([5, 1, 2, 3], [call('<', col(0), col(2)), eq(col(0), col(6))])).toEqual([1, 0, 3, 2]);
    expect(order([1, 9, 2], [call('<', col(0), col(2))])).toEqual([0, 1, 2]);
  });

  it('applies each conjunct at the first step that has all its inputs', () => {
    const cs = [eq(col(0), col(2)), eq(col(2), col(4)), call('<', col(1), col(5)), eq(col(0), konst(1))];
    const steps = orderJoins(inputs([1, 2, 3]), cs.map((c) => conj(c)));
    expect(steps.map((s) => ({ input: s.input, conjuncts: s.conjuncts, equi: s.equi }))).toEqual([
      { input: 0, conjuncts: [], equi: false },
      { input: 1, conjuncts: [0], equi: true },
      { input: 2, conjuncts: [1, 2], equi: true },
    ]);
  });

  it('leaves pinned conjuncts and those over unknown slots to the caller', () => {
    const pinned: Expr = { kind: 'subqueryExists', type: T.bool, id: 0 };
    const steps = orderJoins(inputs([1, 1]), [describeConjunct(pinned, () => true), conj(eq(col(0), col(99))), conj(eq(col(0), col(2)))]);
    expect(steps.flatMap((s) => s.conjuncts)).toEqual([2]);
  });

  it('orders a 64-input chain quickly and without a cross product', () => {
    const n = 64;
    // Input i joins input i+1 through a = b; FROM lists them reversed.
    const cs = Array.from({ length: n - 1 }, (_, i) => eq(col((n - 1 - i) * 2), col((n - 2 - i) * 2 + 1)));
    const started = performance.now();
    const steps = orderJoins(inputs(Array.from({ length: n }, () => 10)), cs.map((c) => conj(c)));
    expect(performance.now() - started).toBeLessThan(500);
    expect(steps.slice(1).every((s) => s.equi)).toBe(true);
  });
});
