// Reading a view: its stored query is planned where the view is named, like
// a subquery in FROM. Tables may have changed since the view was made; a
// plan that no longer reads the same tables or yields the same columns is
// refused rather than answered from whatever the names mean now.
import type { Node } from '@pgsql/types';
import { findRelation } from '../catalog/catalog.js';
import type { ViewDescriptor } from '../catalog/descriptors.js';
import { SQLSTATE, SqlError } from '../errors.js';
import { T } from '../types/index.js';
import { qualifiedName, type PlanContext } from './context.js';
import { tableNames } from './cte.js';
import type { Expr } from './expr.js';
import type { PlanNode, QueryPlan } from './plan.js';
import type { Scope } from './scope.js';

type SelectNode = Extract<Node, { SelectStmt: unknown }>['SelectStmt'];
type PlanSelect = (select: SelectNode, ctx: PlanContext, outer: Scope | null) => QueryPlan;

const parsed = new WeakMap<ViewDescriptor, SelectNode>();
/** Views being expanded right now (planning is synchronous): meeting one again is a cycle. */
const expanding = new Set<number>();

export function planView(view: ViewDescriptor, ctx: PlanContext, planSelect: PlanSelect): QueryPlan {
  if (expanding.has(view.id)) throw new SqlError(SQLSTATE.INVALID_OBJECT_DEFINITION, `infinite recursion detected in rules for relation "${view.name}"`);
  let query = parsed.get(view);
  if (!query) {
    query = storedQuery(view.query);
    parsed.set(view, query);
  }
  // The view's query sees no WITH queries and no columns of the query reading it; its text has no positions.
  const inner: PlanContext = { catalog: ctx.catalog, names: ctx.names, session: ctx.session, params: ctx.params, subqueries: ctx.subqueries, position: () => undefined };
  expanding.add(view.id);
  let plan: QueryPlan;
  try {
    plan = planSelect(query, inner, null);
  } finally {
    expanding.delete(view.id);
  }
  // Names the view left unqualified are its WITH queries' (it qualified every table name when it was made).
  const named = tableNames({ SelectStmt: query }).flatMap((rv) => {
    if (rv.schemaname === undefined) return [];
    const rel = findRelation(ctx.catalog, ctx.names, qualifiedName(rv));
    return rel ? [rel.id] : [];
  });
  const problem = staleness(view, plan.columns, named);
  if (problem !== null) {
    throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `view "${view.name}" no longer matches the tables it reads (${problem}); recreate it`);
  }
  const types = view.columns.map((_, i) => plan.columns[i]?.type ?? T.unknown);
  // `SELECT *` picks up columns added later; the view keeps the ones it was made with.
  const root: PlanNode =
    plan.columns.length === view.columns.length ? plan.root : { kind: 'project', input: plan.root, exprs: types.map((type, slot): Expr => ({ kind: 'column', type, slot })) };
  const columns = view.columns.map((c, i) => ({ name: c.name, type: types[i] ?? T.unknown, tableOid: view.id, columnNumber: i + 1 }));
  return { ...plan, root, columns };
}

/** Why a freshly planned view query is not the view any more, or null when it is. */
export function staleness(
  view: Pick<ViewDescriptor, 'columns' | 'dependsOn'>,
  columns: readonly { readonly name: string; readonly type: { readonly oid: number } }[],
  relationsNamed: readonly number[],
): string | null {
  if (columns.length < view.columns.length) return `it had ${view.columns.length} columns, its query now gives ${columns.length}`;
  for (const [i, c] of view.columns.entries()) {
    const now = columns[i];
    if (now?.name !== c.sourceName) return `column ${i + 1} was "${c.sourceName}", is now "${now?.name ?? ''}"`;
    if (now.type.oid !== c.typeOid) return `column "${c.name}" changed its type`;
  }
  const known = new Set(view.dependsOn);
  const other = relationsNamed.find((id) => !known.has(id));
  if (other !== undefined) return 'a table it names was replaced';
  return null;
}

export function storedQuery(json: string): SelectNode {
  const node = JSON.parse(json) as Node;
  if (!('SelectStmt' in node)) throw new SqlError(SQLSTATE.INTERNAL_ERROR, 'a view holds something else than a query');
  return node.SelectStmt;
}
