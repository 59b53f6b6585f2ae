// SELECT … FOR UPDATE: locks the rows of the named tables behind each row
// that passes, as PostgreSQL's LockRows node does, below LIMIT, so that only
// the rows returned (and those OFFSET skips) are locked, and SKIP LOCKED
// skips busy rows before LIMIT counts them.
import type { Row } from '../plan/expr.js';
import type { PlanNode } from '../plan/plan.js';
import type { Datum } from '../types/index.js';
import { codecFor, type Batches, type ExecContext } from './run.js';

type LockRowsNode = Extract<PlanNode, { kind: 'lockRows' }>;

/**
 * `wanted`: rows to pass at most (LIMIT + OFFSET; Infinity without LIMIT).
 * A row whose key columns of a table are NULL (the outer side of a join
 * found nothing) locks nothing of that table.
 */
export async function* lockRows(node: LockRowsNode, input: Batches, ctx: ExecContext, wanted: number): Batches {
  if (wanted <= 0) return;
  const targets = node.targets.map((t) => ({ ...t, codec: codecFor(ctx.ks, ctx.types, t.table) }));
  let left = wanted;
  for await (const batch of input) {
    const passed: Row[] = [];
    for (const row of batch) {
      ctx.checkCancel();
      let locked = true;
      for (const target of targets) {
        const values: Datum[] = target.keySlots.map((slot) => row[slot] ?? null);
        if (values.includes(null)) continue;
        const key = target.codec.indexKeyPrefix(target.table.primaryKey, values);
        if (!(await ctx.lockRows([key], target.wait))) {
          locked = false;
          break;
        }
      }
      if (!locked) continue;
      passed.push(row);
      if (--left === 0) break;
    }
    if (passed.length) yield passed;
    if (left === 0) return;
  }
}
