// WITH queries. A non-recursive one is planned once, where it is defined,
// and its plan stands in for every reference (materialized when there are
// several, so that all of them see the same rows, as in PostgreSQL). A
// recursive one becomes a 'recursive' node whose step reads a work table.
import type { Node } from '@pgsql/types';
import { SQLSTATE, SqlError } from '../errors.js';
import { formatType } from '../types/index.js';
import { coerce, commonType, containsAggregate, type ExprContext } from './analyze-expr.js';
import { exprLookups, type PlanContext } from './context.js';
import type { Expr } from './expr.js';
import type { OutputColumn, PlanNode, QueryPlan, WorkTable } from './plan.js';
import { Scope } from './scope.js';

type SelectNode = Extract<Node, { SelectStmt: unknown }>['SelectStmt'];
type PlanSelect = (select: SelectNode, ctx: PlanContext, outer: Scope | null) => QueryPlan;

export interface CteDefinition {
  readonly name: string;
  readonly query: SelectNode;
  /** `WITH name(a, b)`: names for the first columns. */
  readonly columnNames: readonly string[];
  /** Declared under RECURSIVE and reading itself. */
  readonly recursive: boolean;
  /** References in the whole WITH statement (more than one: materialize). */
  readonly references: number;
  /** What the query itself sees: the WITH queries before it (all of them under RECURSIVE). */
  readonly scope: CteScope;
  /** The scope of the query around the WITH (for refusing correlated WITH queries). */
  readonly outer: Scope | null;
  /** Where planning this query stands: a reference meeting 'planning' is mutual recursion. */
  state: 'idle' | 'planning' | 'base' | 'step';
  work?: { readonly table: WorkTable; readonly columns: readonly OutputColumn[] };
  planned?: QueryPlan;
}

/** The WITH queries one level of a statement defines, and the levels around it. */
export class CteScope {
  constructor(
    private readonly parent: CteScope | null,
    private readonly defs: ReadonlyMap<string, CteDefinition>,
  ) {}

  find(name: string): CteDefinition | undefined {
    return this.defs.get(name) ?? this.parent?.find(name);
  }
}

/** Plans a SELECT with a WITH clause: its queries become visible to the rest of it. */
export function planWith(select: SelectNode, ctx: PlanContext, outer: Scope | null, planSelect: PlanSelect): QueryPlan {
  const w = select.withClause;
  const recursive = w?.recursive ?? false;
  const defs = new Map<string, CteDefinition>();
  const all = new CteScope(ctx.ctes ?? null, defs);
  for (const item of w?.ctes ?? []) {
    if (!('CommonTableExpr' in item)) continue;
    const cte = item.CommonTableExpr;
    const name = cte.ctename ?? '';
    const at = ctx.position(cte.location);
    const where = at === undefined ? {} : { position: at };
    if (defs.has(name)) throw new SqlError(SQLSTATE.DUPLICATE_ALIAS, `WITH query name "${name}" specified more than once`, where);
    const query = cte.ctequery;
    if (!query || !('SelectStmt' in query)) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'data-modifying statements in WITH are not supported', where);
    if (cte.search_clause || cte.cycle_clause) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'SEARCH and CYCLE clauses of WITH are not supported', where);
    defs.set(name, {
      name,
      query: query.SelectStmt,
      columnNames: (cte.aliascolnames ?? []).map((n) => ('String' in n ? (n.String.sval ?? '') : '')),
      recursive: recursive && countReferences({ SelectStmt: query.SelectStmt }, name) > 0,
      references: countReferences({ SelectStmt: select }, name),
      // Without RECURSIVE, a WITH query sees only those before it.
      scope: recursive ? all : new CteScope(ctx.ctes ?? null, new Map(defs)),
      outer,
      state: 'idle',
    });
  }
  const body: SelectNode = { ...select };
  delete body.withClause;
  return planSelect(body, { ...ctx, ctes: all }, outer);
}

/** The plan a reference to a WITH query reads. */
export function planCteReference(def: CteDefinition, ctx: PlanContext, planSelect: PlanSelect): QueryPlan {
  switch (def.state) {
    case 'step':
      if (!def.work) throw new SqlError(SQLSTATE.INTERNAL_ERROR, `recursive query "${def.name}" has no work table`);
      return { root: { kind: 'workTable', table: def.work.table }, columns: def.work.columns, subqueries: ctx.subqueries, correlated: false };
    case 'base':
      throw new SqlError(SQLSTATE.INVALID_RECURSION, `recursive reference to query "${def.name}" must not appear within its non-recursive term`);
    case 'planning':
      throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'mutual recursion between WITH items is not implemented');
    case 'idle':
      break;
  }
  if (!def.planned) {
    const inner: PlanContext = { ...ctx, ctes: def.scope };
    // A boundary between the WITH query and the query around it: crossing it makes the WITH query correlated.
    const probe = new Scope([], def.outer, true);
    try {
      def.planned = def.recursive ? planRecursive(def, inner, probe, planSelect) : planPlain(def, inner, probe, planSelect);
    } finally {
      def.state = 'idle';
    }
    if (probe.correlated) {
      throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `WITH query "${def.name}" refers to columns of an enclosing query, which is not supported`);
    }
  }
  return def.planned;
}

function planPlain(def: CteDefinition, ctx: PlanContext, probe: Scope, planSelect: PlanSelect): QueryPlan {
  def.state = 'planning';
  const plan = planSelect(def.query, ctx, probe);
  const columns = renamed(plan.columns, def);
  const root: PlanNode = def.references > 1 ? { kind: 'materialize', input: plan.root } : plan.root;
  return { ...plan, root, columns };
}

function planRecursive(def: CteDefinition, ctx: PlanContext, probe: Scope, planSelect: PlanSelect): QueryPlan {
  const q = def.query;
  if (q.op !== 'SETOP_UNION' || !q.larg || !q.rarg) {
    throw new SqlError(SQLSTATE.INVALID_RECURSION, `recursive query "${def.name}" does not have the form non-recursive-term UNION [ALL] recursive-term`);
  }
  if (q.sortClause?.length) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'ORDER BY in a recursive query is not implemented');
  if (q.limitCount || q.limitOffset) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'LIMIT and OFFSET in a recursive query are not implemented');
  if (q.withClause) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'WITH inside a recursive query is not supported');
  const problem = recursiveTermProblem({ SelectStmt: q.rarg }, def.name);
  if (problem) throw new SqlError(problem.code, problem.message);

  def.state = 'base';
  const base = planSelect(q.larg, ctx, probe);
  const columns = renamed(base.columns, def).map((c) => ({ ...c, tableOid: 0, columnNumber: 0 }));
  const table: WorkTable = { name: def.name };
  def.work = { table, columns };
  def.state = 'step';
  const step = planSelect(q.rarg, ctx, probe);
  if (step.columns.length !== base.columns.length) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'each UNION query must have the same number of columns');

  const exprCtx: ExprContext = { scope: Scope.empty(), params: ctx.params, session: ctx.session, position: ctx.position, ...exprLookups(ctx), grouping: null };
  // The non-recursive term fixes the types (PostgreSQL's rule): the step's columns must fit them.
  const stepExprs = step.columns.map((s, i): Expr => {
    const b = base.columns[i] ?? s;
    const overall = commonType([typed(b), typed(s)], 'UNION', exprCtx, undefined);
    if (overall.oid !== b.type.oid) {
      throw new SqlError(
        SQLSTATE.DATATYPE_MISMATCH,
        `recursive query "${def.name}" column ${i + 1} has type ${formatType(b.type)} in non-recursive term but type ${formatType(overall)} overall`,
        { hint: 'Cast the output of the non-recursive term to the correct type.' },
      );
    }
    return coerce({ kind: 'column', type: s.type, slot: i }, b.type, 'implicit', exprCtx, undefined);
  });
  const same = step.columns.every((s, i) => s.type.oid === base.columns[i]?.type.oid);
  const stepRoot: PlanNode = same ? step.root : { kind: 'project', input: step.root, exprs: stepExprs };
  const root: PlanNode = { kind: 'recursive', table, base: base.root, step: stepRoot, distinct: !(q.all ?? false), types: base.columns.map((c) => c.type) };
  return { root, columns, subqueries: ctx.subqueries, correlated: false };
}

function typed(c: { readonly type: OutputColumn['type'] }): Expr {
  return { kind: 'const', type: c.type, value: null };
}

function renamed(columns: readonly OutputColumn[], def: CteDefinition): OutputColumn[] {
  if (def.columnNames.length > columns.length) {
    throw new SqlError(SQLSTATE.INVALID_COLUMN_REFERENCE, `WITH query "${def.name}" has ${columns.length} columns available but ${def.columnNames.length} columns specified`);
  }
  return columns.map((c, i) => ({ ...c, name: def.columnNames[i] ?? c.name }));
}

/** How often `name` is read as an unqualified table name anywhere in the tree. */
export function countReferences(node: Node, name: string): number {
  let n = 0;
  walk(node, {}, (rv) => {
    if (rv.relname === name && rv.schemaname === undefined) n++;
  });
  return n;
}

/**
 * PostgreSQL's limits on a recursive term: the work table is read once per
 * round, so the term may name it once, and not where it would be read again
 * per row (a subquery) or NULL-extended (an outer join); and it cannot
 * aggregate over a round.
 */
export function recursiveTermProblem(term: Node, name: string): { code: typeof SQLSTATE.INVALID_RECURSION | typeof SQLSTATE.FEATURE_NOT_SUPPORTED; message: string } | null {
  const invalid = (message: string) => ({ code: SQLSTATE.INVALID_RECURSION, message });
  let found = 0;
  let problem: string | null = null;
  walk(term, {}, (rv, where) => {
    if (rv.relname !== name || rv.schemaname !== undefined || problem !== null) return;
    found++;
    if (where.subquery) problem = `recursive reference to query "${name}" must not appear within a subquery`;
    else if (where.outerJoin) problem = `recursive reference to query "${name}" must not appear within an outer join`;
    else if (found > 1) problem = `recursive reference to query "${name}" must not appear more than once`;
  });
  if (problem !== null) return invalid(problem);
  if (!('SelectStmt' in term)) return null;
  // A WITH query inside would be planned (and materialized) once, not per round.
  if (JSON.stringify(term).includes('"withClause"')) return { code: SQLSTATE.FEATURE_NOT_SUPPORTED, message: 'WITH inside the recursive term of a recursive query is not supported' };
  const s = term.SelectStmt;
  if (s.op && s.op !== 'SETOP_NONE') return { code: SQLSTATE.FEATURE_NOT_SUPPORTED, message: 'set operations in the recursive term of a recursive query are not supported' };
  if ((s.targetList ?? []).some((t) => 'ResTarget' in t && containsAggregate(t.ResTarget.val)) || containsAggregate(s.havingClause)) {
    return invalid("aggregate functions are not allowed in a recursive query's recursive term");
  }
  if (s.sortClause?.length) return { code: SQLSTATE.FEATURE_NOT_SUPPORTED, message: 'ORDER BY in a recursive query is not implemented' };
  if (s.limitCount || s.limitOffset) return { code: SQLSTATE.FEATURE_NOT_SUPPORTED, message: 'LIMIT and OFFSET in a recursive query are not implemented' };
  return null;
}

export type RangeVarNode = Extract<Node, { RangeVar: unknown }>['RangeVar'];

/** Every table name in the tree (also those naming WITH queries). */
export function tableNames(node: Node): RangeVarNode[] {
  const out: RangeVarNode[] = [];
  walk(node, {}, (rv) => out.push(rv));
  return out;
}

interface Where {
  readonly subquery?: boolean;
  readonly outerJoin?: boolean;
}

/** Visits every table name in the tree, with where it stands. */
function walk(value: unknown, where: Where, visit: (rv: RangeVarNode, where: Where) => void): void {
  if (Array.isArray(value)) {
    for (const v of value) walk(v, where, visit);
    return;
  }
  if (!value || typeof value !== 'object') return;
  const node = value as Record<string, unknown>;
  if ('RangeVar' in node) {
    visit(node.RangeVar as RangeVarNode, where);
    return;
  }
  if ('SubLink' in node) {
    walk(node.SubLink, { ...where, subquery: true }, visit);
    return;
  }
  if ('JoinExpr' in node) {
    const j = node.JoinExpr as { jointype?: string; larg?: unknown; rarg?: unknown; quals?: unknown };
    const t = j.jointype;
    walk(j.larg, t === 'JOIN_RIGHT' || t === 'JOIN_FULL' ? { ...where, outerJoin: true } : where, visit);
    walk(j.rarg, t === 'JOIN_LEFT' || t === 'JOIN_FULL' ? { ...where, outerJoin: true } : where, visit);
    walk(j.quals, where, visit);
    return;
  }
  for (const v of Object.values(node)) walk(v, where, visit);
}
