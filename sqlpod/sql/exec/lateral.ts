// LATERAL FROM items: a nested loop that runs the right side once per left
// row, with the left row as the innermost outer row of the right side's
// expressions (how its references to earlier FROM items were planned).
import { compile, type EvalContext, type Row } from '../plan/expr.js';
import type { PlanNode } from '../plan/plan.js';

type LateralNode = Extract<PlanNode, { kind: 'lateral' }>;

export interface LateralContext {
  readonly eval: EvalContext;
  /** Runs a plan with the given evaluation context. */
  readonly run: (node: PlanNode, evalCtx: EvalContext) => AsyncGenerator<Row[], void, undefined>;
  /** Gives other work a turn and checks for cancellation. */
  readonly pause: () => Promise<void>;
}

export async function* lateralJoin(node: LateralNode, ctx: LateralContext): AsyncGenerator<Row[], void, undefined> {
  const condition = node.condition ? compile(node.condition) : null;
  const { offset, width } = node;
  for await (const batch of ctx.run(node.left, ctx.eval)) {
    const out: Row[] = [];
    for (const left of batch) {
      await ctx.pause();
      const inner: EvalContext = { ...ctx.eval, outer: [left, ...ctx.eval.outer] };
      let matched = false;
      for await (const rights of ctx.run(node.right, inner)) {
        for (const right of rights) {
          const row: Row = left.slice();
          for (let i = 0; i < width; i++) row[offset + i] = (right[i] ?? null);
          if (condition && condition(row, ctx.eval) !== true) continue;
          matched = true;
          out.push(row);
        }
      }
      if (!matched && node.type === 'left') out.push(left.slice());
    }
    if (out.length) yield out;
  }
}
