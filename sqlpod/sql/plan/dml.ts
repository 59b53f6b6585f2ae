// Planning INSERT, UPDATE and DELETE: target columns, defaults, coercion to
// column types, the rows an UPDATE or DELETE touches (same index selection as
// SELECT), ON CONFLICT and RETURNING.
import type { Node } from '@pgsql/types';
import { columnType, resolveTable, type TypeSource } from '../catalog/catalog.js';
import type { IndexDescriptor, TableDescriptor } from '../catalog/descriptors.js';
import { SQLSTATE, SqlError } from '../errors.js';
import { parseStatements } from '../parser/index.js';
import { analyzeExpr, at, coerceForColumn, locationOf, coerceToBool, figureColname, settleUnknown, type ExprContext } from './analyze-expr.js';
import { qualifiedName, exprLookups, type PlanContext } from './context.js';
import type { Expr } from './expr.js';
import { planForeignKeys, type ForeignKeyPlan } from './foreign-keys.js';
import { chooseAccess } from './index-selection.js';
import type { OutputColumn, PlanNode } from './plan.js';
import { Scope } from './scope.js';
import { fullScan, planSelect, subqueryPlanner, tableColumns } from './select.js';

export interface Returning {
  readonly exprs: readonly Expr[];
  readonly columns: readonly OutputColumn[];
}

export interface InsertPlan {
  readonly kind: 'insert';
  readonly table: TableDescriptor;
  /** Rows of full table width (every column, in descriptor order), coerced to the column types. */
  readonly source: PlanNode;
  readonly checks: readonly { readonly name: string; readonly predicate: Expr }[];
  readonly onConflict: OnConflict | null;
  readonly returning: Returning | null;
  readonly foreignKeys: ForeignKeyPlan;
}

export type OnConflict =
  | { readonly action: 'nothing'; readonly arbiters: readonly IndexDescriptor[] }
  | {
      readonly action: 'update';
      readonly arbiters: readonly IndexDescriptor[];
      /** Over [existing row…, excluded row…]. */
      readonly sets: readonly { readonly slot: number; readonly expr: Expr }[];
      readonly where: Expr | null;
    };

export interface UpdatePlan {
  readonly kind: 'update';
  readonly table: TableDescriptor;
  /** The rows to change (full table rows). */
  readonly source: PlanNode;
  readonly sets: readonly { readonly slot: number; readonly expr: Expr }[];
  readonly checks: readonly { readonly name: string; readonly predicate: Expr }[];
  readonly returning: Returning | null;
  readonly foreignKeys: ForeignKeyPlan;
}

export interface DeletePlan {
  readonly kind: 'delete';
  readonly table: TableDescriptor;
  readonly source: PlanNode;
  readonly returning: Returning | null;
  readonly foreignKeys: ForeignKeyPlan;
}

export type WritePlan = InsertPlan | UpdatePlan | DeletePlan;

type InsertNode = Extract<Node, { InsertStmt: unknown }>['InsertStmt'];
type UpdateNode = Extract<Node, { UpdateStmt: unknown }>['UpdateStmt'];
type DeleteNode = Extract<Node, { DeleteStmt: unknown }>['DeleteStmt'];

function exprContext(ctx: PlanContext, scope: Scope): ExprContext {
  return {
    scope,
    params: ctx.params,
    session: ctx.session,
    position: ctx.position,
    ...exprLookups(ctx),
    grouping: null,
    noAggregates: 'this statement',
    subqueries: subqueryPlanner(ctx),
  };
}

export function planInsert(stmt: InsertNode, ctx: PlanContext): InsertPlan {
  if (stmt.withClause) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'WITH is not supported yet');
  const rv = stmt.relation ?? {};
  const table = resolveTable(ctx.catalog, ctx.names, qualifiedName(rv), ctx.position(rv.location));
  const visible = table.columns.map((c, slot) => ({ c, slot })).filter(({ c }) => !c.hidden);
  const select = stmt.selectStmt && 'SelectStmt' in stmt.selectStmt ? stmt.selectStmt.SelectStmt : undefined;
  const targets = (stmt.cols ?? []).map((n) => {
    const rt = 'ResTarget' in n ? n.ResTarget : {};
    const slot = table.columns.findIndex((c) => c.name === rt.name);
    if (slot < 0 || table.columns[slot]?.hidden) {
      throw new SqlError(SQLSTATE.UNDEFINED_COLUMN, `column "${rt.name ?? ''}" of relation "${table.name}" does not exist`, at(ctx, rt.location));
    }
    return slot;
  });
  // Without a column list, VALUES may be shorter than the table: the rest take their defaults.
  const width = !targets.length && select?.valuesLists ? Math.max(...select.valuesLists.map((l) => ('List' in l ? (l.List.items?.length ?? 0) : 0))) : visible.length;
  const targetSlots = targets.length ? targets : visible.slice(0, Math.max(width, 0)).map((v) => v.slot);
  if (new Set(targetSlots).size !== targetSlots.length) {
    throw new SqlError(SQLSTATE.DUPLICATE_COLUMN, 'column specified more than once');
  }
  const empty = exprContext(ctx, Scope.empty());
  const defaults = table.columns.map((_, slot) => defaultFor(table, slot, ctx));

  let source: PlanNode;
  if (!select) {
    source = { kind: 'values', rows: [defaults] };
  } else if (select.valuesLists && !select.sortClause && !select.limitCount) {
    const rows = select.valuesLists.map((list) => {
      const items = 'List' in list ? (list.List.items ?? []) : [];
      if (items.length > targetSlots.length) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'INSERT has more expressions than target columns', at(ctx, locationOf(items[targetSlots.length])));
      if (items.length < targetSlots.length) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'INSERT has more target columns than expressions', at(ctx, locationOf(items[items.length - 1])));
      const row = [...defaults];
      items.forEach((item, i) => {
        const slot = targetSlots[i] ?? 0;
        if ('SetToDefault' in item) return;
        row[slot] = assign(analyzeExpr(item, empty), table, slot, empty, locationOf(item), ctx.catalog);
      });
      return row;
    });
    source = { kind: 'values', rows };
  } else {
    const query = planSelect(select, ctx);
    if (query.columns.length > targetSlots.length) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'INSERT has more expressions than target columns');
    if (query.columns.length < targetSlots.length) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'INSERT has more target columns than expressions');
    const row: Expr[] = [...defaults];
    query.columns.forEach((col, i) => {
      const slot = targetSlots[i] ?? 0;
      row[slot] = assign({ kind: 'column', type: col.type, slot: i }, table, slot, empty, undefined, ctx.catalog);
    });
    source = { kind: 'project', input: query.root, exprs: row };
  }

  const scope = new Scope(tableColumns(ctx.catalog, table, rv.alias?.aliasname ?? table.name));
  return {
    kind: 'insert',
    table,
    source,
    checks: checksOf(table, ctx),
    onConflict: stmt.onConflictClause ? planOnConflict(stmt.onConflictClause, table, ctx) : null,
    returning: planReturning(stmt.returningList, scope, ctx),
    foreignKeys: planForeignKeys(table, ctx),
  };
}

function planOnConflict(oc: NonNullable<InsertNode['onConflictClause']>, table: TableDescriptor, ctx: PlanContext): OnConflict {
  const unique = [table.primaryKey, ...table.indexes.filter((i) => i.unique)];
  let arbiters = unique;
  if (oc.infer) {
    if (oc.infer.conname) {
      const named = unique.find((i) => i.name === oc.infer?.conname);
      if (!named) throw new SqlError(SQLSTATE.UNDEFINED_OBJECT, `constraint "${oc.infer.conname}" for table "${table.name}" does not exist`);
      arbiters = [named];
    } else {
      const names = (oc.infer.indexElems ?? []).map((e) => ('IndexElem' in e ? (e.IndexElem.name ?? '') : ''));
      const ids = new Set(names.map((n) => table.columns.find((c) => c.name === n)?.id ?? -1));
      arbiters = unique.filter((i) => i.columnIds.length === ids.size && i.columnIds.every((id) => ids.has(id)));
      if (arbiters.length === 0) {
        throw new SqlError(SQLSTATE.INVALID_COLUMN_REFERENCE, 'there is no unique or exclusion constraint matching the ON CONFLICT specification');
      }
    }
  } else if (oc.action === 'ONCONFLICT_UPDATE') {
    throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'ON CONFLICT DO UPDATE requires inference specification or constraint name', {
      hint: 'For example, ON CONFLICT (column_name).',
    });
  }
  if (oc.action !== 'ONCONFLICT_UPDATE') return { action: 'nothing', arbiters };
  const existing = tableColumns(ctx.catalog, table, table.name);
  const excluded = tableColumns(ctx.catalog, table, 'excluded').map((c) => ({ ...c, slot: c.slot + existing.length }));
  const ectx = exprContext(ctx, new Scope([...existing, ...excluded]));
  const sets = planSets(oc.targetList ?? [], table, ectx, ctx);
  const where = oc.whereClause ? coerceToBool(analyzeExpr(oc.whereClause, ectx), ectx, undefined, 'WHERE') : null;
  return { action: 'update', arbiters, sets, where };
}

export function planUpdate(stmt: UpdateNode, ctx: PlanContext): UpdatePlan {
  if (stmt.withClause || stmt.fromClause?.length) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'UPDATE … FROM and WITH are not supported yet');
  const rv = stmt.relation ?? {};
  const table = resolveTable(ctx.catalog, ctx.names, qualifiedName(rv), ctx.position(rv.location));
  const scope = new Scope(tableColumns(ctx.catalog, table, rv.alias?.aliasname ?? table.name));
  const ectx = exprContext(ctx, scope);
  return {
    kind: 'update',
    table,
    source: rowsToChange(table, stmt.whereClause, ectx),
    sets: planSets(stmt.targetList ?? [], table, ectx, ctx),
    checks: checksOf(table, ctx),
    returning: planReturning(stmt.returningList, scope, ctx),
    foreignKeys: planForeignKeys(table, ctx),
  };
}

export function planDelete(stmt: DeleteNode, ctx: PlanContext): DeletePlan {
  if (stmt.withClause || stmt.usingClause?.length) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'DELETE … USING and WITH are not supported yet');
  const rv = stmt.relation ?? {};
  const table = resolveTable(ctx.catalog, ctx.names, qualifiedName(rv), ctx.position(rv.location));
  const scope = new Scope(tableColumns(ctx.catalog, table, rv.alias?.aliasname ?? table.name));
  return {
    kind: 'delete',
    table,
    source: rowsToChange(table, stmt.whereClause, exprContext(ctx, scope)),
    returning: planReturning(stmt.returningList, scope, ctx),
    foreignKeys: planForeignKeys(table, ctx),
  };
}

function rowsToChange(table: TableDescriptor, where: Node | undefined, ectx: ExprContext): PlanNode {
  if (!where) return fullScan(table);
  const predicate = coerceToBool(analyzeExpr(where, { ...ectx, noAggregates: 'WHERE' }), ectx, undefined, 'WHERE');
  const access = chooseAccess(table, predicate, (id) => table.columns.findIndex((c) => c.id === id));
  return { kind: 'filter', input: { kind: 'scan', table, access }, predicate };
}

function planSets(targets: readonly Node[], table: TableDescriptor, ectx: ExprContext, ctx: PlanContext) {
  const seen = new Set<number>();
  return targets.map((n) => {
    const rt = 'ResTarget' in n ? n.ResTarget : {};
    if (rt.indirection?.length) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'assigning to a field or element is not supported', at(ctx, rt.location));
    const slot = table.columns.findIndex((c) => c.name === rt.name && !c.hidden);
    if (slot < 0) throw new SqlError(SQLSTATE.UNDEFINED_COLUMN, `column "${rt.name ?? ''}" of relation "${table.name}" does not exist`, at(ctx, rt.location));
    if (seen.has(slot)) throw new SqlError(SQLSTATE.DUPLICATE_COLUMN, `multiple assignments to same column "${rt.name ?? ''}"`);
    seen.add(slot);
    const val = rt.val;
    const expr = !val || 'SetToDefault' in val ? defaultFor(table, slot, ctx) : assign(analyzeExpr(val, ectx), table, slot, ectx, locationOf(val), ctx.catalog);
    return { slot, expr };
  });
}

function planReturning(list: readonly Node[] | undefined, scope: Scope, ctx: PlanContext): Returning | null {
  if (!list?.length) return null;
  const ectx = exprContext(ctx, scope);
  const exprs: Expr[] = [];
  const columns: OutputColumn[] = [];
  for (const n of list) {
    if (!('ResTarget' in n)) continue;
    const val = n.ResTarget.val;
    if (val && 'ColumnRef' in val && val.ColumnRef.fields?.some((f) => 'A_Star' in f)) {
      for (const c of scope.star(undefined, undefined)) {
        exprs.push({ kind: 'column', type: c.type, slot: c.slot });
        columns.push({ name: c.name, type: c.type, tableOid: c.tableOid, columnNumber: c.columnNumber });
      }
      continue;
    }
    const expr = settleUnknown(analyzeExpr(val ?? { A_Const: { isnull: true } }, ectx), ectx);
    exprs.push(expr);
    columns.push({ name: n.ResTarget.name ?? (val ? figureColname(val) : '?column?'), type: expr.type, tableOid: 0, columnNumber: 0 });
  }
  return { exprs, columns };
}

/** A value for a column, coerced as an assignment (PG: the column's type and typmod). */
function assign(e: Expr, table: TableDescriptor, slot: number, ectx: ExprContext, location: number | undefined, types: TypeSource): Expr {
  const column = table.columns[slot];
  if (!column) throw new SqlError(SQLSTATE.INTERNAL_ERROR, 'column slot out of range');
  return coerceForColumn(e, columnType(types, column), column.name, ectx, location);
}

/** The column's DEFAULT expression, or NULL. */
export function defaultFor(table: TableDescriptor, slot: number, ctx: PlanContext): Expr {
  const column = table.columns[slot];
  if (!column) throw new SqlError(SQLSTATE.INTERNAL_ERROR, 'column slot out of range');
  const type = columnType(ctx.catalog, column);
  if (column.defaultExpr === null) return { kind: 'const', type, value: null };
  const ectx: ExprContext = { ...exprContext(ctx, Scope.empty()), position: () => undefined, noAggregates: 'DEFAULT expressions' };
  return coerceForColumn(analyzeExpr(storedExpr(column.defaultExpr), ectx), type, column.name, ectx, undefined);
}

export function checksOf(table: TableDescriptor, ctx: PlanContext) {
  if (table.checks.length === 0) return [];
  const ectx: ExprContext = { ...exprContext(ctx, new Scope(tableColumns(ctx.catalog, table, table.name))), position: () => undefined, noAggregates: 'check constraints' };
  return table.checks.map((c) => ({ name: c.name, predicate: coerceToBool(analyzeExpr(storedExpr(c.expr), ectx), ectx, undefined, 'CHECK') }));
}

/** Expressions are stored in descriptors as their parse tree (JSON), without source positions. */
export function storedExpr(json: string): Node {
  return JSON.parse(json) as Node;
}

/** Parses an expression's SQL text, for stored expressions written by hand (bootstrap). */
export function parseExpression(sql: string): Node {
  const [stmt] = parseStatements(`SELECT ${sql}`);
  const target = stmt && 'SelectStmt' in stmt.node ? stmt.node.SelectStmt.targetList?.[0] : undefined;
  if (!target || !('ResTarget' in target) || !target.ResTarget.val) throw new SqlError(SQLSTATE.SYNTAX_ERROR, `not an expression: ${sql}`);
  return target.ResTarget.val;
}


