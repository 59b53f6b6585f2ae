// WITH RECURSIVE at run time: rounds of the step over the previous round's
// new rows, streamed as they come, so that a LIMIT above stops the rounds.
// PostgreSQL would loop forever on a recursion that never ends; a bound on
// the rounds turns that into an error the client can act on.
import { SQLSTATE, SqlError } from '../errors.js';
import type { Row } from '../plan/expr.js';
import type { PlanNode } from '../plan/plan.js';
import { keyBytes, rowBytes, type MemoryAccount } from './memory.js';

export const MAX_RECURSION_ROUNDS = 100_000;

export interface RecursiveRuntime {
  /** Runs the step with these rows as its work table. */
  step(workTable: readonly Row[]): AsyncGenerator<Row[], void, undefined>;
  base(): AsyncGenerator<Row[], void, undefined>;
  /** Equal for rows UNION considers duplicates. */
  rowKey(row: Row): string;
  /** Between rounds: a chance to notice a cancel request. */
  pause(): Promise<void>;
  /** Where the rows seen and the work tables are charged (the caller releases it). */
  readonly memory: Pick<MemoryAccount, 'grow' | 'shrink'>;
}

export async function* recursiveUnion(
  node: Extract<PlanNode, { kind: 'recursive' }>,
  rt: RecursiveRuntime,
  maxRounds = MAX_RECURSION_ROUNDS,
): AsyncGenerator<Row[], void, undefined> {
  const seen = node.distinct ? new Set<string>() : null;
  // Charged: the keys seen (for good), the rows of the round being read and of the next one.
  let nextBytes = 0;
  const fresh = (batch: readonly Row[]): Row[] => {
    let keys = 0;
    const rows = seen
      ? batch.filter((row) => {
          const key = rt.rowKey(row);
          if (seen.has(key)) return false;
          seen.add(key);
          keys += keyBytes(key);
          return true;
        })
      : [...batch];
    let bytes = 0;
    for (const row of rows) bytes += rowBytes(row);
    rt.memory.grow(keys + bytes);
    nextBytes += bytes;
    return rows;
  };
  let work: Row[] = [];
  for await (const batch of rt.base()) {
    const rows = fresh(batch);
    work.push(...rows);
    if (rows.length) yield rows;
  }
  let workBytes = nextBytes;
  for (let round = 1; work.length > 0; round++) {
    if (round > maxRounds) {
      throw new SqlError(SQLSTATE.STATEMENT_TOO_COMPLEX, `recursive query "${node.table.name}" did not finish within ${maxRounds} rounds`, {
        hint: 'Add a condition that ends the recursion, or a LIMIT to the query reading it.',
      });
    }
    await rt.pause();
    const next: Row[] = [];
    nextBytes = 0;
    for await (const batch of rt.step(work)) {
      const rows = fresh(batch);
      next.push(...rows);
      if (rows.length) yield rows;
    }
    work = next;
    rt.memory.shrink(workBytes);
    workBytes = nextBytes;
  }
}
