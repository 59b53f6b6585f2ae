// EXPLAIN [ANALYZE]: the plan of a SELECT, VALUES, WITH, INSERT, UPDATE or
// DELETE as text rows in one "QUERY PLAN" column. ANALYZE runs the statement
// (a DML statement's effects are real, in the current transaction, as in
// PostgreSQL) with every node instrumented and adds what each did.
import type { Node } from '@pgsql/types';
import { SQLSTATE, SqlError } from '../errors.js';
import { run, type ExecContext } from '../exec/run.js';
import { executeWrite } from '../exec/write.js';
import type { WritePlan } from '../plan/dml.js';
import type { Row } from '../plan/expr.js';
import type { OutputColumn, QueryPlan, Subquery } from '../plan/plan.js';
import { commandKind } from '../statement.js';
import { T } from '../types/index.js';
import { Instrumentation } from './analyze.js';
import { describeQuery, describeWrite, type DescribeOptions } from './describe.js';
import { formatPlan, ms, type Actual } from './format.js';
import { explainOptions, type ExplainOptions } from './options.js';

export type ExplainTarget =
  | { readonly kind: 'query'; readonly plan: QueryPlan }
  | { readonly kind: 'write'; readonly plan: WritePlan; readonly subqueries: readonly Subquery[] };

export interface ExplainPlan {
  readonly kind: 'explain';
  readonly options: ExplainOptions;
  readonly target: ExplainTarget;
  readonly planningMs: number;
}

export const EXPLAIN_COLUMN: OutputColumn = { name: 'QUERY PLAN', type: T.text, tableOid: 0, columnNumber: 0 };

type ExplainNode = Extract<Node, { ExplainStmt: unknown }>['ExplainStmt'];

const EXPLAINABLE = new Set(['SelectStmt', 'InsertStmt', 'UpdateStmt', 'DeleteStmt']);

const STATEMENT_NAMES: Record<string, string> = {
  CreateTableAsStmt: 'CREATE TABLE AS',
  ExecuteStmt: 'EXECUTE',
  DeclareCursorStmt: 'DECLARE CURSOR',
  MergeStmt: 'MERGE',
};

/** Checks the options and plans the explained statement with `plan` (the session's planner). */
export function planExplain(
  stmt: ExplainNode,
  position: (location: number | undefined) => number | undefined,
  plan: (query: Node) => ExplainTarget | { readonly kind: 'copy' | 'utility' | 'explain' },
): ExplainPlan {
  const options = explainOptions(stmt.options, position);
  const query = stmt.query;
  const key = query ? (Object.keys(query)[0] ?? '') : '';
  if (!query || !EXPLAINABLE.has(key)) {
    throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `EXPLAIN of ${STATEMENT_NAMES[key] ?? (query ? commandKind(query) : 'this statement')} is not supported`);
  }
  const started = performance.now();
  const target = plan(query);
  if (target.kind !== 'query' && target.kind !== 'write') throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `EXPLAIN of ${commandKind(query)} is not supported`);
  return { kind: 'explain', options, target, planningMs: performance.now() - started };
}

/** The QUERY PLAN rows; with ANALYZE, after running the statement with `ctx` (its subqueries not yet prepared). */
export async function runExplain(plan: ExplainPlan, ctx: ExecContext): Promise<Row[]> {
  const { options, target } = plan;
  const subqueries = target.kind === 'query' ? target.plan.subqueries : target.subqueries;
  const describe = (stats: DescribeOptions['stats']): DescribeOptions => ({ verbose: options.verbose, stats, subqueries, ks: ctx.ks, types: ctx.types, eval: ctx.eval });
  const summary: string[] = [];
  let lines: string[];
  if (!options.analyze) {
    lines = formatPlan(target.kind === 'query' ? describeQuery(target.plan.root, describe(null)) : describeWrite(target.plan, describe(null), undefined), { timing: false });
  } else {
    const instrumentation = new Instrumentation();
    const exec = instrumentation.context(ctx);
    const started = performance.now();
    await exec.subqueries.prepare(exec);
    let write: Actual | undefined;
    if (target.kind === 'query') {
      for await (const batch of run(target.plan.root, exec)) void batch;
    } else {
      const begun = performance.now();
      const result = await executeWrite(target.plan, exec);
      const took = performance.now() - begun;
      // As PostgreSQL counts a ModifyTable node's rows: those it returns (RETURNING).
      write = { loops: 1, rows: result.rows.length, startupMs: took, totalMs: took };
    }
    const executionMs = performance.now() - started;
    const stats = describe(instrumentation.stats);
    lines = formatPlan(target.kind === 'query' ? describeQuery(target.plan.root, stats) : describeWrite(target.plan, stats, write), { timing: options.timing });
    const kv = instrumentation.total;
    summary.push(`Total KV Reads: round trips=${kv.roundTrips} rows=${kv.rows}`);
    if (options.summary) summary.push(`Planning Time: ${ms(plan.planningMs)} ms`, `Execution Time: ${ms(executionMs)} ms`);
  }
  if (!options.analyze && options.summary) summary.push(`Planning Time: ${ms(plan.planningMs)} ms`);
  return [...lines, ...summary].map((line) => [line]);
}
