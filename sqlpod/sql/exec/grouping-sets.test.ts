import { describe, expect, it } from 'vitest';
import { SqlError } from '../errors.js';
import type { AggregateCall } from '../plan/analyze-expr.js';
import type { EvalContext, Expr, Row } from '../plan/expr.js';
import type { PlanNode } from '../plan/plan.js';
import { T, resolveAggregate, resolveOrderedSetAggregate, type SqlType } from '../types/index.js';
import { MemoryBudget, MiB } from './memory.js';
import { run, type ExecContext } from './run.js';

const col = (slot: number, type: SqlType): Expr => ({ kind: 'column', type, slot });
const values = (rows: readonly (readonly (string | number | null)[])[], types: readonly SqlType[]): PlanNode => ({
  kind: 'values',
  rows: rows.map((r) => r.map((value, i) => ({ kind: 'const', type: types[i] ?? T.text, value }))),
});
const count: AggregateCall = { resolved: resolveAggregate('count', [], false), args: [], fingerprint: 'count', order: [], filter: null };
const grouping = (keys: number[]): AggregateCall => ({ ...count, fingerprint: `g${keys.join()}`, groupingKeys: keys, resolved: { ...count.resolved, result: T.int4 } });

async function rowsOf(node: PlanNode, perQuery = Infinity): Promise<Row[]> {
  const ctx = { eval: { params: [], outer: [] } as unknown as EvalContext, memory: new MemoryBudget({ perQuery, pool: null }), checkCancel: () => undefined } as unknown as ExecContext;
  const out: Row[] = [];
  for await (const batch of run(node, ctx)) out.push(...batch);
  return out;
}

describe('aggregate over grouping sets', () => {
  const input = values([['a', 'x'], ['a', 'y'], ['b', 'x'], [null, 'x']], [T.text, T.text]);
  const keys = [col(0, T.text), col(1, T.text)];

  it('groups each row once per set, NULL for the keys a set leaves out, GROUPING as a bit per left-out key', async () => {
    const node: PlanNode = { kind: 'aggregate', input, keys, aggregates: [count, grouping([0, 1]), grouping([1])], sets: [[0, 1], [0], []] };
    const rows = await rowsOf(node);
    expect(rows).toEqual([
      ['a', 'x', 1n, 0, 0],
      ['a', 'y', 1n, 0, 0],
      ['b', 'x', 1n, 0, 0],
      [null, 'x', 1n, 0, 0],
      ['a', null, 2n, 1, 1],
      ['b', null, 1n, 1, 1],
      [null, null, 1n, 1, 1],
      [null, null, 4n, 3, 1],
    ]);
  });

  it('keeps duplicate sets apart and gives () its row over no input', async () => {
    expect(await rowsOf({ kind: 'aggregate', input, keys: [keys[0] as Expr], aggregates: [count], sets: [[0], [0]] })).toHaveLength(6);
    expect(await rowsOf({ kind: 'aggregate', input: values([], []), keys, aggregates: [count], sets: [[0], [], [1]] })).toEqual([[null, null, 0n]]);
  });

  it('charges the groups of every set and the rows ordered-set aggregates hold to the statement (53200)', async () => {
    const many = values(
      Array.from({ length: 20_000 }, (_, i) => [`row ${i} ${'p'.repeat(40)}`, i]),
      [T.text, T.int4],
    );
    const rollup: PlanNode = { kind: 'aggregate', input: many, keys: [col(0, T.text), col(1, T.int4)], aggregates: [count], sets: [[0, 1], [0], []] };
    await expect(rowsOf(rollup, MiB)).rejects.toMatchObject({ code: '53200', message: expect.stringContaining('MixedAggregate') as unknown });
    const resolved = resolveOrderedSetAggregate('percentile_disc', [T.float8], T.text);
    const disc: AggregateCall = {
      resolved,
      args: [col(0, T.text)],
      fingerprint: 'disc',
      order: [{ expr: col(0, T.text), descending: false, nullsFirst: false }],
      filter: null,
      direct: [{ kind: 'const', type: T.float8, value: 0.5 }],
    };
    const err = await rowsOf({ kind: 'aggregate', input: many, keys: [], aggregates: [disc] }, MiB).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SqlError);
    expect(err).toMatchObject({ code: '53200', message: expect.stringContaining('HashAggregate') as unknown });
    // The 10,000th of the 20,000 values in text order.
    const sorted = Array.from({ length: 20_000 }, (_, i) => `row ${i} ${'p'.repeat(40)}`).sort();
    expect(await rowsOf({ kind: 'aggregate', input: many, keys: [], aggregates: [disc] }, 64 * MiB)).toEqual([[sorted[9_999]]]);
  });
});
