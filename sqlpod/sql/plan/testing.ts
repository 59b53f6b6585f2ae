// For the planner's unit tests: SQL text planned against an in-memory catalog.
import type { Catalog } from '../catalog/catalog.js';
import { SqlError } from '../errors.js';
import { parseStatements } from '../parser/index.js';
import { ParamTypes } from './analyze-expr.js';
import type { PlanContext } from './context.js';
import type { JoinStrategy } from './join-choice.js';
import type { PlanNode, QueryPlan } from './plan.js';
import { planSelect } from './select.js';

/** The SelectStmt of one statement (the parser must be loaded). */
export function selectOf(sql: string) {
  const [stmt] = parseStatements(sql);
  if (!stmt || !('SelectStmt' in stmt.node)) throw new Error('not a SELECT');
  return stmt.node.SelectStmt;
}

/** plan(sql) in database "db", schema public; errorOf(sql) is the SqlError it fails with. */
export function planner(catalog: Catalog, joinStrategy: JoinStrategy = 'auto'): { plan: (sql: string) => QueryPlan; errorOf: (sql: string) => { code: string; message: string } } {
  const plan = (sql: string): QueryPlan => {
    const ctx: PlanContext = {
      catalog,
      names: { databaseId: 1, searchPath: ['public'] },
      session: { user: 'u', database: 'db', searchPath: ['public'], timeZone: 'UTC', serverVersion: '17', joinStrategy },
      params: new ParamTypes([]),
      position: (l) => (l === undefined ? undefined : l + 1),
      subqueries: [],
    };
    return planSelect(selectOf(sql), ctx);
  };
  const errorOf = (sql: string) => {
    try {
      plan(sql);
    } catch (e) {
      if (e instanceof SqlError) return { code: e.code, message: e.message };
      throw e;
    }
    throw new Error(`planned: ${sql}`);
  };
  return { plan, errorOf };
}

/** The node and every node below it, depth first. */
export function planNodes(n: PlanNode): PlanNode[] {
  const children: PlanNode[] =
    n.kind === 'join' || n.kind === 'setop' || n.kind === 'lateral'
      ? [n.left, n.right]
      : n.kind === 'recursive'
        ? [n.base, n.step]
        : n.kind === 'union'
          ? [...n.inputs]
          : 'input' in n
            ? [n.input]
            : [];
  return [n, ...children.flatMap(planNodes)];
}
