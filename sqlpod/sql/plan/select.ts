// Planning a SELECT: FROM and WHERE (./from.ts: joins, index selection),
// aggregation, the select list, DISTINCT, ORDER BY, LIMIT/OFFSET,
// VALUES and set operations.
import type { Node } from '@pgsql/types';
import { SQLSTATE, SqlError } from '../errors.js';
import { T, type SqlType } from '../types/index.js';
import {
  Grouping,
  analyzeExpr,
  at,
  coerce,
  coerceToBool,
  commonType,
  containsAggregate,
  figureColname,
  fingerprint,
  settleUnknown,
  type ExprContext,
} from './analyze-expr.js';
import { exprLookups, stringsOf, type PlanContext } from './context.js';
import { planCteReference, planWith } from './cte.js';
import { groupingSets } from './grouping-sets.js';
import { planView } from './view.js';
import { Windows } from './window.js';

export { fullScan, tableColumns } from './from.js';
import type { Expr } from './expr.js';
import { planFrom } from './from.js';
import { columnType, type TypeSource } from '../catalog/catalog.js';
import { lockedTables, lockingName, lockingNotAllowed, type LockedTable } from './locking.js';
import type { OutputColumn, PlanNode, QueryPlan, RowLockTarget, SortKey } from './plan.js';
import { Scope, type ScopeColumn } from './scope.js';

type SelectNode = Extract<Node, { SelectStmt: unknown }>['SelectStmt'];

/**
 * Set-returning functions a select list may hold alone, planned in FROM:
 * only what clients send (psql's \d runs `SELECT pg_catalog.pg_partition_ancestors(…)`).
 */
const LONE_SET_FUNCTIONS = new Set(['pg_partition_ancestors']);

/** `SELECT srf(…)` with no FROM and nothing else is `SELECT srf FROM srf(…) AS srf`. */
function loneSetFunction(select: SelectNode): SelectNode | undefined {
  const [target, ...rest] = select.targetList ?? [];
  if (rest.length || select.fromClause?.length || select.whereClause || select.groupClause?.length || select.havingClause || select.windowClause?.length) return undefined;
  const rt = target && 'ResTarget' in target ? target.ResTarget : undefined;
  const call = rt?.val && 'FuncCall' in rt.val ? rt.val.FuncCall : undefined;
  const name = stringsOf(call?.funcname).at(-1);
  if (!rt?.val || !call || call.over || name === undefined || !LONE_SET_FUNCTIONS.has(name)) return undefined;
  const column: Node = { ColumnRef: { fields: [{ String: { sval: name } }] } };
  return {
    ...select,
    targetList: [{ ResTarget: { ...rt, val: column, name: rt.name ?? name } }],
    fromClause: [{ RangeFunction: { functions: [{ List: { items: [rt.val] } }], alias: { aliasname: name } } }],
  };
}

export function planSelect(select: SelectNode, ctx: PlanContext, outer: Scope | null = null): QueryPlan {
  if (select.withClause) return planWith(select, ctx, outer, planSelect);
  if (select.intoClause) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'SELECT INTO is not supported');
  const locking = (select.lockingClause?.length ?? 0) > 0;
  if (select.op && select.op !== 'SETOP_NONE') {
    if (locking) throw lockingNotAllowed(select, 'UNION/INTERSECT/EXCEPT');
    return planSetOperation(select, ctx, outer);
  }
  if (select.valuesLists) {
    if (locking) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `${lockingName(select)} cannot be applied to VALUES`);
    return finishQuery(planValues(select.valuesLists, ctx, outer), select, ctx, outer);
  }
  const lone = loneSetFunction(select);
  if (lone) return planSelect(lone, ctx, outer);

  const exprCtxIn = (s: Scope, grouping: Grouping | null, clause?: string): ExprContext => ({
    scope: s,
    params: ctx.params,
    session: ctx.session,
    position: ctx.position,
    ...exprLookups(ctx),
    grouping,
    ...(clause === undefined ? {} : { noAggregates: clause }),
    subqueries: subqueryPlanner(ctx),
  });
  const from = planFrom(select.fromClause ?? [], ctx, outer, {
    planDerived: planSelect,
    planCte: (def) => planCteReference(def, ctx, planSelect),
    planView: (view) => planView(view, ctx, planSelect),
    exprContext: (scope, clause) => exprCtxIn(scope, null, clause),
  });
  const scope = from.scope;
  const exprCtx = (grouping: Grouping | null, clause?: string): ExprContext => exprCtxIn(scope, grouping, clause);
  const windows = new Windows(select.windowClause, ctx.position);

  const predicate = select.whereClause ? coerceToBool(analyzeExpr(select.whereClause, exprCtx(null, 'WHERE')), exprCtx(null), undefined, 'WHERE') : null;
  let node: PlanNode = from.plan(predicate);

  const targets = select.targetList ?? [];
  const aggregated =
    (select.groupClause?.length ?? 0) > 0 ||
    targets.some((t) => 'ResTarget' in t && containsAggregate(t.ResTarget.val)) ||
    // HAVING alone makes the query one group, as in PostgreSQL (`SELECT 1 HAVING false` returns no row).
    select.havingClause !== undefined ||
    (select.sortClause ?? []).some((s) => 'SortBy' in s && containsAggregate(s.SortBy.node));

  let grouping: Grouping | null = null;
  if (aggregated) {
    const g = new Grouping();
    const key = (item: Node): number => {
      const keyNode = groupKeyNode(item, targets, scope, ctx);
      const fp = fingerprint(keyNode);
      const known = g.keys.findIndex((k) => k.fingerprint === fp);
      if (known >= 0) return known;
      g.keys.push({ fingerprint: fp, expr: settleUnknown(analyzeExpr(keyNode, exprCtx(null, 'GROUP BY')), exprCtx(null)) });
      return g.keys.length - 1;
    };
    g.sets = groupingSets(select.groupClause ?? [], select.groupDistinct ?? false, key, (l) => at(ctx, l));
    grouping = g;
  }
  // The select list and ORDER BY may call window functions; HAVING may not.
  const outCtx: ExprContext = { ...exprCtx(grouping), windows };

  const outputs: { expr: Expr; column: OutputColumn }[] = [];
  for (const t of targets) {
    if (!('ResTarget' in t)) continue;
    const rt = t.ResTarget;
    const val = rt.val;
    if (val && 'ColumnRef' in val && val.ColumnRef.fields?.some((f) => 'A_Star' in f)) {
      const fields = val.ColumnRef.fields;
      const table = fields.length > 1 && fields[0] && 'String' in fields[0] ? fields[0].String.sval : undefined;
      for (const c of scope.star(table, ctx.position(val.ColumnRef.location))) {
        const ref = [...(c.table === null ? [] : [{ String: { sval: c.table } }]), { String: { sval: c.name } }];
        const expr = grouping ? analyzeExpr({ ColumnRef: { fields: ref } }, outCtx) : columnExpr(c);
        outputs.push({ expr, column: { name: c.name, type: c.type, tableOid: c.tableOid, columnNumber: c.columnNumber } });
      }
      continue;
    }
    const expr = settleUnknown(analyzeExpr(val ?? { A_Const: { isnull: true } }, outCtx), outCtx);
    const source = val && 'ColumnRef' in val && expr.kind === 'column' && !grouping ? scope.columns.find((c) => c.slot === expr.slot) : undefined;
    outputs.push({
      expr,
      column: { name: rt.name ?? (val ? figureColname(val) : '?column?'), type: expr.type, tableOid: source?.tableOid ?? 0, columnNumber: source?.columnNumber ?? 0 },
    });
  }

  if (grouping) {
    const havingCtx: ExprContext = { ...outCtx, windows: undefined, noWindows: 'HAVING' };
    const having = select.havingClause ? coerceToBool(analyzeExpr(select.havingClause, havingCtx), havingCtx, undefined, 'HAVING') : null;
    node = { kind: 'aggregate', input: node, keys: grouping.keys.map((k) => k.expr), aggregates: grouping.aggregates, ...(grouping.sets ? { sets: grouping.sets } : {}) };
    if (having) node = { kind: 'filter', input: node, predicate: having };
  }

  const distinct = select.distinctClause !== undefined;
  if (distinct && select.distinctClause?.some((d) => Object.keys(d).length > 0)) {
    throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'DISTINCT ON is not supported yet');
  }
  const sort = sortKeys(select.sortClause ?? [], outputs, (n) => settleUnknown(analyzeExpr(n, outCtx), outCtx), distinct, ctx);
  if (!windows.empty) {
    // Window functions see the row after WHERE/GROUP BY/HAVING: the grouped row, or the FROM row.
    const inputWidth = grouping ? grouping.keys.length + grouping.aggregates.length : scope.columns.reduce((w, c) => Math.max(w, c.slot + 1), 0);
    node = { kind: 'window', input: node, width: inputWidth, windows: windows.windows, functions: windows.functions };
    for (const o of outputs) o.expr = windows.place(o.expr, inputWidth);
    sort.extra = sort.extra.map((e) => windows.place(e, inputWidth));
  }
  const width = outputs.length;
  const locked = locking ? checkedLocking(select, distinct, aggregated, !windows.empty, lockedTables(select, from.tables, from.others)) : [];
  // The locked tables' primary keys ride along after the sort keys, for the LockRows node above the sort.
  const lock = lockKeys(ctx.catalog, locked, width + sort.extra.length);
  node = { kind: 'project', input: node, exprs: [...outputs.map((o) => o.expr), ...sort.extra, ...lock.exprs] };
  if (distinct) node = { kind: 'distinct', input: node, types: outputs.map((o) => o.expr.type), width };
  return finishWith(node, outputs.map((o) => o.column), sort.keys, width, select, ctx, lock.targets);
}

/** Refuses (0A000) the query shapes PostgreSQL will not lock rows of, in PostgreSQL's order. */
function checkedLocking(select: SelectNode, distinct: boolean, aggregated: boolean, windowed: boolean, locked: LockedTable[]): LockedTable[] {
  if (distinct) throw lockingNotAllowed(select, 'DISTINCT clause');
  if (select.groupClause?.length) throw lockingNotAllowed(select, 'GROUP BY clause');
  if (select.havingClause) throw lockingNotAllowed(select, 'HAVING clause');
  if (aggregated) throw lockingNotAllowed(select, 'aggregate functions');
  if (windowed) throw lockingNotAllowed(select, 'window functions');
  return locked;
}

/** Columns holding each locked table's primary key, placed from `first` on in the projected row. */
function lockKeys(types: TypeSource, locked: readonly LockedTable[], first: number): { exprs: Expr[]; targets: RowLockTarget[] } {
  const exprs: Expr[] = [];
  const targets = locked.map(({ table, offset, wait }): RowLockTarget => {
    const keySlots = table.primaryKey.columnIds.map((id) => {
      const at = table.columns.findIndex((c) => c.id === id);
      const column = table.columns[at];
      if (!column) throw new SqlError(SQLSTATE.INTERNAL_ERROR, `table ${table.name} has no column id ${id}`);
      exprs.push({ kind: 'column', type: columnType(types, column), slot: offset + at });
      return first + exprs.length - 1;
    });
    return { table, keySlots, wait };
  });
  return { exprs, targets };
}

function planValues(lists: readonly Node[], ctx: PlanContext, outer: Scope | null): { node: PlanNode; columns: OutputColumn[] } {
  const exprCtx: ExprContext = { scope: outer ?? Scope.empty(), params: ctx.params, session: ctx.session, position: ctx.position, ...exprLookups(ctx), grouping: null, subqueries: subqueryPlanner(ctx) };
  const rows = lists.map((l) => ('List' in l ? (l.List.items ?? []) : []).map((n) => analyzeExpr(n, exprCtx)));
  const width = rows[0]?.length ?? 0;
  if (rows.some((r) => r.length !== width)) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'VALUES lists must all be the same length');
  const types = Array.from({ length: width }, (_, i) => commonType(rows.map((r) => r[i] ?? constNull()), 'VALUES', exprCtx, undefined));
  const coerced = rows.map((r) => r.map((e, i) => coerce(e, types[i] ?? T.text, 'implicit', exprCtx, undefined)));
  return {
    node: { kind: 'values', rows: coerced },
    columns: types.map((type, i) => ({ name: `column${i + 1}`, type, tableOid: 0, columnNumber: 0 })),
  };
}

function planSetOperation(select: SelectNode, ctx: PlanContext, outer: Scope | null): QueryPlan {
  const left = planSelect(required(select.larg), ctx, outer);
  const right = planSelect(required(select.rarg), ctx, outer);
  if (left.columns.length !== right.columns.length) {
    throw new SqlError(SQLSTATE.SYNTAX_ERROR, `each ${setOpName(select.op)} query must have the same number of columns`);
  }
  const exprCtx: ExprContext = { scope: Scope.empty(), params: ctx.params, session: ctx.session, position: ctx.position, ...exprLookups(ctx), grouping: null };
  const types = left.columns.map((c, i) => {
    const r = right.columns[i] ?? c;
    return commonType([typed(c.type), typed(r.type)], setOpName(select.op), exprCtx, undefined);
  });
  const castTo = (plan: QueryPlan): PlanNode => {
    if (plan.columns.every((c, i) => c.type.oid === types[i]?.oid)) return plan.root;
    const exprs = plan.columns.map((c, i) => coerce({ kind: 'column', type: c.type, slot: i }, types[i] ?? c.type, 'implicit', exprCtx, undefined));
    return { kind: 'project', input: plan.root, exprs };
  };
  const all = select.all ?? false;
  let node: PlanNode;
  if (select.op === 'SETOP_UNION') {
    node = { kind: 'union', inputs: [castTo(left), castTo(right)] };
    if (!all) node = { kind: 'distinct', input: node, types, width: types.length };
  } else {
    node = { kind: 'setop', op: select.op === 'SETOP_INTERSECT' ? 'intersect' : 'except', all, left: castTo(left), right: castTo(right), types };
  }
  const columns = left.columns.map((c, i) => ({ name: c.name, type: types[i] ?? c.type, tableOid: 0, columnNumber: 0 }));
  return finishQuery({ node, columns }, select, ctx, outer);
}

/** ORDER BY / LIMIT over a query whose output columns are fixed (VALUES, set operations). */
function finishQuery(q: { node: PlanNode; columns: OutputColumn[] }, select: SelectNode, ctx: PlanContext, outer: Scope | null): QueryPlan {
  const outputs = q.columns.map((c, i): { expr: Expr; column: OutputColumn } => ({ expr: { kind: 'column', type: c.type, slot: i }, column: c }));
  const scope = new Scope(
    q.columns.map((c, i) => ({ table: null, name: c.name, type: c.type, slot: i, tableOid: 0, columnNumber: 0, hidden: false })),
    outer,
  );
  const exprCtx: ExprContext = { scope, params: ctx.params, session: ctx.session, position: ctx.position, ...exprLookups(ctx), grouping: null };
  const sort = sortKeys(select.sortClause ?? [], outputs, (n) => analyzeExpr(n, exprCtx), false, ctx);
  const width = q.columns.length;
  const node: PlanNode = sort.extra.length ? { kind: 'project', input: q.node, exprs: [...outputs.map((o) => o.expr), ...sort.extra] } : q.node;
  return finishWith(node, q.columns, sort.keys, width, select, ctx);
}

function finishWith(input: PlanNode, columns: OutputColumn[], keys: SortKey[], width: number, select: SelectNode, ctx: PlanContext, locks: readonly RowLockTarget[] = []): QueryPlan {
  let node = input;
  if (keys.length) node = { kind: 'sort', input: node, keys };
  const limit = limitExpr(select.limitCount, 'LIMIT', ctx);
  const offset = limitExpr(select.limitOffset, 'OFFSET', ctx);
  // Below LIMIT, as PostgreSQL's LockRows: only the rows returned (and skipped by OFFSET) are locked.
  if (locks.length) node = { kind: 'lockRows', input: node, targets: locks, limit, offset };
  if (limit || offset) node = { kind: 'limit', input: node, limit, offset };
  if (keys.some((k) => k.slot >= width) || locks.length) node = { kind: 'trim', input: node, width };
  return { root: node, columns, subqueries: ctx.subqueries, correlated: false, ...(locks.length && { locksRows: true }) };
}

function columnExpr(c: ScopeColumn): Expr {
  return { kind: 'column', type: c.type, slot: c.slot };
}

/** GROUP BY items may name an output column by position or by alias (PG's findTargetlistEntrySQL92). */
function groupKeyNode(g: Node, targets: readonly Node[], scope: Scope, ctx: PlanContext): Node {
  const byPosition = positionalReference(g, targets, 'GROUP BY', ctx);
  if (byPosition) return byPosition;
  if ('ColumnRef' in g && g.ColumnRef.fields?.length === 1) {
    const name = g.ColumnRef.fields[0] && 'String' in g.ColumnRef.fields[0] ? g.ColumnRef.fields[0].String.sval : undefined;
    if (name !== undefined && !scope.columns.some((c) => c.name === name)) {
      const aliased = targets.find((t) => 'ResTarget' in t && t.ResTarget.name === name);
      if (aliased && 'ResTarget' in aliased && aliased.ResTarget.val) return aliased.ResTarget.val;
    }
  }
  return g;
}

function positionalReference(n: Node, targets: readonly Node[], clause: string, ctx: PlanContext): Node | undefined {
  if (!('A_Const' in n) || n.A_Const.ival === undefined) return undefined;
  const i = n.A_Const.ival.ival ?? 0;
  const target = targets[i - 1];
  if (!target || !('ResTarget' in target) || !target.ResTarget.val) {
    throw new SqlError(SQLSTATE.INVALID_COLUMN_REFERENCE, `${clause} position ${i} is not in select list`, at(ctx, n.A_Const.location));
  }
  return target.ResTarget.val;
}

/** Sort keys over the projected row; expressions not in the select list become extra trailing columns. */
function sortKeys(
  sortClause: readonly Node[],
  outputs: readonly { expr: Expr; column: OutputColumn }[],
  analyze: (n: Node) => Expr,
  distinct: boolean,
  ctx: PlanContext,
): { keys: SortKey[]; extra: Expr[] } {
  const keys: SortKey[] = [];
  const extra: Expr[] = [];
  for (const s of sortClause) {
    if (!('SortBy' in s) || !s.SortBy.node) continue;
    const by = s.SortBy;
    const n = by.node;
    if (!n) continue;
    let slot: number | undefined;
    if ('A_Const' in n && n.A_Const.ival !== undefined) {
      const i = n.A_Const.ival.ival ?? 0;
      if (i < 1 || i > outputs.length) throw new SqlError(SQLSTATE.INVALID_COLUMN_REFERENCE, `ORDER BY position ${i} is not in select list`, at(ctx, n.A_Const.location));
      slot = i - 1;
    } else if ('ColumnRef' in n && n.ColumnRef.fields?.length === 1) {
      const f = n.ColumnRef.fields[0];
      const name = f && 'String' in f ? f.String.sval : undefined;
      const matches = outputs.map((o, i) => (o.column.name === name ? i : -1)).filter((i) => i >= 0);
      if (matches.length > 1) throw new SqlError(SQLSTATE.AMBIGUOUS_COLUMN, `ORDER BY "${name ?? ''}" is ambiguous`, at(ctx, n.ColumnRef.location));
      slot = matches[0];
    }
    let type: SqlType;
    if (slot === undefined) {
      const expr = analyze(n);
      const same = outputs.findIndex((o) => sameExpr(o.expr, expr));
      if (same >= 0) slot = same;
      else {
        if (distinct) throw new SqlError(SQLSTATE.INVALID_COLUMN_REFERENCE, 'for SELECT DISTINCT, ORDER BY expressions must appear in select list', at(ctx, by.location));
        extra.push(expr);
        slot = outputs.length + extra.length - 1;
      }
      type = slot < outputs.length ? (outputs[slot]?.expr.type ?? expr.type) : expr.type;
    } else {
      type = outputs[slot]?.expr.type ?? T.text;
    }
    const descending = by.sortby_dir === 'SORTBY_DESC';
    if (by.sortby_dir === 'SORTBY_USING') throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'ORDER BY USING is not supported');
    // PostgreSQL: NULLs sort as larger than any value unless told otherwise.
    const nullsFirst = by.sortby_nulls === 'SORTBY_NULLS_FIRST' ? true : by.sortby_nulls === 'SORTBY_NULLS_LAST' ? false : descending;
    keys.push({ slot, type, descending, nullsFirst });
  }
  return { keys, extra };
}

function sameExpr(a: Expr, b: Expr): boolean {
  return a.kind === 'column' && b.kind === 'column' && a.slot === b.slot;
}

function limitExpr(n: Node | undefined, clause: 'LIMIT' | 'OFFSET', ctx: PlanContext): Expr | null {
  if (!n) return null;
  if ('A_Const' in n && n.A_Const.isnull) return null;
  const exprCtx: ExprContext = { scope: Scope.empty(), params: ctx.params, session: ctx.session, position: ctx.position, ...exprLookups(ctx), grouping: null, noAggregates: clause };
  return coerce(analyzeExpr(n, exprCtx), T.int8, 'implicit', exprCtx, undefined);
}

export function subqueryPlanner(ctx: PlanContext) {
  return {
    plan(node: Node, outerScope: Scope) {
      if (!('SelectStmt' in node)) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'only SELECT subqueries are supported');
      const probe = new Scope([], outerScope, true);
      const plan = planSelect(node.SelectStmt, ctx, probe);
      // The probe sits between the subquery and its enclosing query: references that pass it are correlated.
      const correlated = probe.correlated;
      ctx.subqueries.push({ root: plan.root, correlated });
      return { id: ctx.subqueries.length - 1, columns: plan.columns.map((c) => c.type), correlated };
    },
    reproject(id: number, exprs: readonly Expr[]) {
      const planned = ctx.subqueries[id];
      if (planned) ctx.subqueries[id] = { ...planned, root: { kind: 'project', input: planned.root, exprs } };
    },
  };
}

function typed(type: SqlType): Expr {
  return { kind: 'const', type, value: null };
}

function constNull(): Expr {
  return { kind: 'const', type: T.unknown, value: null };
}

function setOpName(op: string | undefined): string {
  return op === 'SETOP_INTERSECT' ? 'INTERSECT' : op === 'SETOP_EXCEPT' ? 'EXCEPT' : 'UNION';
}

function required<N>(n: N | undefined): N {
  if (n === undefined) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'incomplete set operation');
  return n;
}

