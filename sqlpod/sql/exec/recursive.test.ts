import { describe, expect, it } from 'vitest';
import { SqlError } from '../errors.js';
import type { Row } from '../plan/expr.js';
import type { PlanNode } from '../plan/plan.js';
import { T } from '../types/index.js';
import { MemoryBudget } from './memory.js';
import { recursiveUnion, type RecursiveRuntime } from './recursive.js';

const node = (distinct: boolean): Extract<PlanNode, { kind: 'recursive' }> => ({
  kind: 'recursive',
  table: { name: 'r' },
  base: { kind: 'values', rows: [] },
  step: { kind: 'values', rows: [] },
  distinct,
  types: [T.int4],
});

/** A runtime whose step maps each work-table row to rows through `f`, one batch per input row. */
function runtime(base: Row[], f: (n: number) => number[]): RecursiveRuntime & { rounds: number } {
  const rt = {
    rounds: 0,
    async *base() {
      yield await Promise.resolve(base);
    },
    async *step(work: readonly Row[]) {
      rt.rounds++;
      for (const row of work) yield await Promise.resolve(f(Number(row[0])).map((n) => [n]));
    },
    rowKey: (row: Row) => JSON.stringify(row),
    pause: () => Promise.resolve(),
    memory: new MemoryBudget({ perQuery: Infinity, pool: null }).account('Recursive Union'),
  };
  return rt;
}

async function all(gen: AsyncGenerator<Row[]>, most = Infinity): Promise<number[]> {
  const out: number[] = [];
  for await (const batch of gen) {
    out.push(...batch.map((r) => Number(r[0])));
    if (out.length >= most) break;
  }
  return out;
}

describe('recursiveUnion', () => {
  const cases: { name: string; distinct: boolean; base: number[]; f: (n: number) => number[]; expected: number[] }[] = [
    { name: 'counts to 5 (UNION ALL)', distinct: false, base: [1], f: (n) => (n < 5 ? [n + 1] : []), expected: [1, 2, 3, 4, 5] },
    { name: 'stops on a cycle under UNION', distinct: true, base: [1], f: (n) => [(n + 1) % 4], expected: [1, 2, 3, 0] },
    { name: 'drops duplicates within the base under UNION', distinct: true, base: [1, 1], f: () => [], expected: [1] },
    { name: 'keeps duplicates under UNION ALL', distinct: false, base: [1, 1], f: (n) => (n < 2 ? [n + 1] : []), expected: [1, 1, 2, 2] },
    { name: 'branches: a binary tree of depth 2', distinct: false, base: [1], f: (n) => (n < 4 ? [2 * n, 2 * n + 1] : []), expected: [1, 2, 3, 4, 5, 6, 7] },
    { name: 'no base rows, no rounds', distinct: false, base: [], f: (n) => [n], expected: [] },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      expect(await all(recursiveUnion(node(c.distinct), runtime(c.base.map((n) => [n]), c.f)))).toEqual(c.expected);
    });
  }

  it('stops running rounds when the reader stops reading', async () => {
    const rt = runtime([[1]], (n) => [n + 1]);
    expect(await all(recursiveUnion(node(false), rt), 3)).toEqual([1, 2, 3]);
    expect(rt.rounds).toBeLessThanOrEqual(3);
  });

  it('gives up with 54001 after the bound on rounds', async () => {
    const rt = runtime([[1]], (n) => [n + 1]);
    const err = await all(recursiveUnion(node(false), rt, 10)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SqlError);
    expect((err as SqlError).code).toBe('54001');
    expect(rt.rounds).toBe(10);
  });
});
