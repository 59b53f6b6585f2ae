import { describe, expect, it } from 'vitest';
import type { EvalContext, Expr, Row } from '../plan/expr.js';
import type { JoinType, PlanNode } from '../plan/plan.js';
import { T, type Datum } from '../types/index.js';
import { hashJoin, preserved, type JoinRuntime } from './join.js';
import { MemoryBudget } from './memory.js';

// Rows are [l.k, l.v, r.k, r.v]: the left input fills slots 0-1, the right 2-3.
const left: Row[] = [
  [1, 'l1', null, null],
  [2, 'l2', null, null],
  [2, 'l2b', null, null],
  [null, 'lnull', null, null],
];
const right: Row[] = [
  [null, null, 2, 'r2'],
  [null, null, 3, 'r3'],
  [null, null, null, 'rnull'],
];

const leftNode: PlanNode = { kind: 'values', rows: [] };
const rightNode: PlanNode = { kind: 'values', rows: [] };
const col = (slot: number): Expr => ({ kind: 'column', type: slot % 2 === 0 ? T.int4 : T.text, slot });
const notEqualText: Expr = { kind: 'call', type: T.bool, op: '<>', args: [col(1), col(3)], strict: true, volatile: false, fn: ([a, b]) => a !== b };
const lessThan: Expr = { kind: 'call', type: T.bool, op: '<', args: [col(0), col(2)], strict: true, volatile: false, fn: ([a, b]) => Number(a) < Number(b) };

function runtime(): JoinRuntime {
  const inputs = new Map<PlanNode, Row[]>([
    [leftNode, left],
    [rightNode, right],
  ]);
  return {
    eval: { params: [], outer: [] } as unknown as EvalContext,
    // One row per batch, so that batching cannot hide a bug.
    async *input(node) {
      for (const row of inputs.get(node) ?? []) yield await Promise.resolve([row]);
    },
    pause: () => Promise.resolve(),
    hashKey: (values) => JSON.stringify(values),
    beforeConcurrentReads: () => Promise.resolve(),
    memory: new MemoryBudget({ perQuery: Infinity, pool: null }).account('Hash Join'),
  };
}

async function joined(type: JoinType, build: 'left' | 'right', keyed: boolean, residual: Expr | null): Promise<string[]> {
  const node: Extract<PlanNode, { kind: 'join' }> = {
    kind: 'join',
    type,
    left: leftNode,
    right: rightNode,
    leftKeys: keyed ? [col(0)] : [],
    rightKeys: keyed ? [col(2)] : [],
    keyTypes: keyed ? [T.int4] : [],
    residual,
    build,
    rightSlots: [2, 3],
  };
  const out: string[] = [];
  const text = (d: Datum | undefined) => (typeof d === 'string' ? d : '-');
  for await (const batch of hashJoin(node, runtime())) out.push(...batch.map((r: Datum[]) => `${text(r[1])}|${text(r[3])}`));
  return out.sort();
}

describe('hashJoin', () => {
  const cases: [JoinType, boolean, Expr | null, string[]][] = [
    ['inner', true, null, ['l2b|r2', 'l2|r2']],
    ['left', true, null, ['l1|-', 'l2b|r2', 'l2|r2', 'lnull|-']],
    ['right', true, null, ['-|r3', '-|rnull', 'l2b|r2', 'l2|r2']],
    ['full', true, null, ['-|r3', '-|rnull', 'l1|-', 'l2b|r2', 'l2|r2', 'lnull|-']],
    // The residual decides matching: a pair it rejects leaves both rows unmatched.
    ['full', true, notEqualText, ['-|r3', '-|rnull', 'l1|-', 'l2b|r2', 'l2|r2', 'lnull|-']],
    ['left', true, { ...notEqualText, fn: ([a]) => a === 'l2' }, ['l1|-', 'l2b|-', 'l2|r2', 'lnull|-']],
    // No keys: a nested loop.
    ['inner', false, null, ['l1|r2', 'l1|r3', 'l1|rnull', 'l2b|r2', 'l2b|r3', 'l2b|rnull', 'l2|r2', 'l2|r3', 'l2|rnull', 'lnull|r2', 'lnull|r3', 'lnull|rnull']],
    ['inner', false, lessThan, ['l1|r2', 'l1|r3', 'l2b|r3', 'l2|r3']],
    ['right', false, lessThan, ['-|rnull', 'l1|r2', 'l1|r3', 'l2b|r3', 'l2|r3']],
  ];
  for (const build of ['left', 'right'] as const) {
    it.each(cases)(`%s join (keys: %s, residual: %o) building on the ${build}`, async (type, keyed, residual, want) => {
      expect(await joined(type, build, keyed, residual)).toEqual(want);
    });
  }

  it('keeps the unmatched rows of the preserved sides', () => {
    expect(preserved({ type: 'left', build: 'right' })).toEqual({ build: false, probe: true });
    expect(preserved({ type: 'left', build: 'left' })).toEqual({ build: true, probe: false });
    expect(preserved({ type: 'full', build: 'left' })).toEqual({ build: true, probe: true });
    expect(preserved({ type: 'inner', build: 'right' })).toEqual({ build: false, probe: false });
  });

  it('closes the probe side when the consumer stops early', async () => {
    let closed = false;
    const rt = runtime();
    const node: Extract<PlanNode, { kind: 'join' }> = {
      kind: 'join',
      type: 'inner',
      left: leftNode,
      right: rightNode,
      leftKeys: [],
      rightKeys: [],
      keyTypes: [],
      residual: null,
      build: 'right',
      rightSlots: [2, 3],
    };
    const input = rt.input;
    const probing: JoinRuntime = {
      ...rt,
      input: (n) =>
        n === leftNode
          ? (async function* () {
              try {
                yield* input(n);
              } finally {
                closed = true;
              }
            })()
          : input(n),
    };
    for await (const batch of hashJoin(node, probing)) {
      expect(batch.length).toBeGreaterThan(0);
      break;
    }
    expect(closed).toBe(true);
  });
});
