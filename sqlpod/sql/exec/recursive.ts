// WITH RECURSIVE at run time: rounds of the step over the previous round's
// new rows, streamed as they come, so that a LIMIT above stops the rounds.
// PostgreSQL would loop forever on a recursion that never ends; a bound on
// the rounds turns that into an error the client can act on.
import { SQLSTATE, SqlError } from '../errors.js';
import type { Row } from '../plan/expr.js';
import type { PlanNode } from '../plan/plan.js';

export const MAX_RECURSION_ROUNDS = 100_000;

export interface RecursiveRuntime {
  /** Runs the step with these rows as its work table. */
  step(workTable: readonly Row[]): AsyncGenerator<Row[], void, undefined>;
  base(): AsyncGenerator<Row[], void, undefined>;
  /** Equal for rows UNION considers duplicates. */
  rowKey(row: Row): string;
  /** Between rounds: a chance to notice a cancel request. */
  pause(): Promise<void>;
}

export async function* recursiveUnion(
  node: Extract<PlanNode, { kind: 'recursive' }>,
  rt: RecursiveRuntime,
  maxRounds = MAX_RECURSION_ROUNDS,
): AsyncGenerator<Row[], void, undefined> {
  const seen = node.distinct ? new Set<string>() : null;
  const fresh = (batch: readonly Row[]): Row[] => {
    if (!seen) return [...batch];
    return batch.filter((row) => {
      const key = rt.rowKey(row);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  };
  let work: Row[] = [];
  for await (const batch of rt.base()) {
    const rows = fresh(batch);
    work.push(...rows);
    if (rows.length) yield rows;
  }
  for (let round = 1; work.length > 0; round++) {
    if (round > maxRounds) {
      throw new SqlError(SQLSTATE.STATEMENT_TOO_COMPLEX, `recursive query "${node.table.name}" did not finish within ${maxRounds} rounds`, {
        hint: 'Add a condition that ends the recursion, or a LIMIT to the query reading it.',
      });
    }
    await rt.pause();
    const next: Row[] = [];
    for await (const batch of rt.step(work)) {
      const rows = fresh(batch);
      next.push(...rows);
      if (rows.length) yield rows;
    }
    work = next;
  }
}
