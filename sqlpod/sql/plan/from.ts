// Planning FROM: its items (tables, subqueries, joins) are bound to slots of
// one row as wide as all their columns together, which is what the scope's
// names point at; then the WHERE clause's conjuncts go as far down as they
// can (to a table's scan, where they pick its index), and inner-joined items
// are joined in the order ./join.ts picks.
import type { Node } from '@pgsql/types';
import { columnType, findRelation, resolveTable, type TypeSource } from '../catalog/catalog.js';
import type { TableDescriptor, ViewDescriptor } from '../catalog/descriptors.js';
import { SQLSTATE, SqlError } from '../errors.js';
import { T } from '../types/index.js';
import { applyOperator, at, coerce, coerceToBool, commonType, analyzeExpr, type ExprContext } from './analyze-expr.js';
import { qualifiedName, stringsOf, type PlanContext } from './context.js';
import type { CteDefinition } from './cte.js';
import type { Expr } from './expr.js';
import { chooseAccess, conjuncts } from './index-selection.js';
import { UNKNOWN_ROWS, describeConjunct, equiKey, estimateScan, orderJoins, within, type Conjunct, type JoinInput } from './join.js';
import { bounded, findLookup, preferLookup, type JoinStrategy } from './join-choice.js';
import type { IndexAccess, JoinType, PlanNode, QueryPlan } from './plan.js';
import { Scope, type ScopeColumn } from './scope.js';
import { planFunctions } from './srf.js';
import { systemRelationPlan } from './system.js';

type SelectNode = Extract<Node, { SelectStmt: unknown }>['SelectStmt'];
type JoinExprNode = Extract<Node, { JoinExpr: unknown }>['JoinExpr'];

/** What planning FROM needs of the SELECT planner (./select.ts), passed in to keep the modules acyclic. */
export interface FromHooks {
  /** Plans a subquery in FROM. */
  readonly planDerived: (select: SelectNode, ctx: PlanContext, outer: Scope | null) => QueryPlan;
  /** The context JOIN conditions are analyzed in. */
  readonly exprContext: (scope: Scope, clause: string) => ExprContext;
  /** The plan a reference to a WITH query reads (./cte.ts). */
  readonly planCte: (def: CteDefinition) => QueryPlan;
  /** The plan a view stands for (./view.ts). */
  readonly planView: (view: ViewDescriptor) => QueryPlan;
}

interface ComputedSlot {
  readonly slot: number;
  readonly expr: Expr;
}

/** A FROM item bound to slots of the query's row; `slots` are those filled once it has run. */
type Bound =
  | { readonly kind: 'table'; readonly table: TableDescriptor; readonly offset: number; readonly slots: ReadonlySet<number> }
  /** `lateral`: the item reads earlier FROM items or enclosing queries one level further out, so it runs per row of what precedes it. */
  | { readonly kind: 'derived'; readonly root: PlanNode; readonly offset: number; readonly width: number; readonly slots: ReadonlySet<number>; readonly lateral?: Lateral }
  /** A LATERAL item run once per row of `left` (the FROM items before it, or one empty row). */
  | { readonly kind: 'lateral'; readonly type: 'inner' | 'left'; readonly left: Bound; readonly right: DerivedBound; readonly conditions: readonly Expr[]; readonly slots: ReadonlySet<number> }
  /** Items joined by inner and cross joins (and commas): they may be joined in any order. */
  | { readonly kind: 'inner'; readonly items: readonly Bound[]; readonly conditions: readonly Expr[]; readonly computed: readonly ComputedSlot[]; readonly slots: ReadonlySet<number> }
  | {
      readonly kind: 'outer';
      readonly type: Exclude<JoinType, 'inner'>;
      readonly left: Bound;
      readonly right: Bound;
      readonly conditions: readonly Expr[];
      readonly computed: readonly ComputedSlot[];
      readonly slots: ReadonlySet<number>;
    };

type DerivedBound = Extract<Bound, { kind: 'derived' }>;

/** What a LATERAL item reads: an earlier FROM item, or only enclosing queries' columns. */
type Lateral = 'earlier' | 'enclosing';

interface BoundItem {
  readonly item: Bound;
  /** In `*` order. */
  readonly columns: readonly ScopeColumn[];
}

/** A table read directly in FROM, which FOR UPDATE can lock: its columns start at `offset` in the FROM row. */
export interface LockableTable {
  readonly alias: string;
  readonly table: TableDescriptor;
  readonly offset: number;
}

export interface PlannedFrom {
  readonly scope: Scope;
  /** The tables read directly (not through views or subqueries), in FROM order. */
  readonly tables: readonly LockableTable[];
  /** The other named FROM items, and what they are in PostgreSQL's words ("a function", "a WITH query"). */
  readonly others: ReadonlyMap<string, string>;
  /** The FROM clause's rows filtered by the (analyzed) WHERE clause. */
  plan(where: Expr | null): PlanNode;
}

export function planFrom(from: readonly Node[], ctx: PlanContext, outer: Scope | null, hooks: FromHooks): PlannedFrom {
  if (from.length === 0) {
    return {
      scope: new Scope([], outer),
      tables: [],
      others: new Map(),
      plan: (where) => (where ? { kind: 'filter', input: { kind: 'values', rows: [[]] }, predicate: where } : { kind: 'values', rows: [[]] }),
    };
  }
  const binder = new Binder(ctx, outer, hooks);
  const bound: BoundItem[] = [];
  let items: Bound[] = [];
  for (const n of from) {
    // Each item may read the ones before it (LATERAL): a lateral item runs per row of all of them.
    const b = binder.bind(n, bound.flatMap((x) => x.columns), []);
    bound.push(b);
    items = b.item.kind === 'derived' && b.item.lateral ? [lateralOver(items, b.item, 'inner', [])] : [...items, b.item];
  }
  const root = innerOf(items);
  const width = binder.width;
  const correlated = (id: number) => ctx.subqueries[id]?.correlated ?? true;
  return {
    scope: new Scope(bound.flatMap((b) => b.columns), outer),
    tables: binder.tables,
    others: binder.others,
    plan(where) {
      const filters = conjuncts(where).map((e) => describeConjunct(e, correlated));
      const node = new JoinPlanner(width, correlated, ctx.session.joinStrategy ?? 'auto').plan(root, filters.filter((p) => !p.pinned)).node;
      // Correlated subqueries may read any FROM item: they run on whole rows.
      return filtered(node, filters.filter((p) => p.pinned));
    },
  };
}

/** Gives FROM items their slots and names. */
class Binder {
  width = 0;
  readonly tables: LockableTable[] = [];
  readonly others = new Map<string, string>();
  private readonly names = new Set<string>();

  constructor(
    private readonly ctx: PlanContext,
    private readonly outer: Scope | null,
    private readonly hooks: FromHooks,
  ) {}

  /** `visible`: the columns a LATERAL item here may read; `outside`: FROM items it may not (0A000). */
  bind(node: Node, visible: readonly ScopeColumn[], outside: readonly ScopeColumn[]): BoundItem {
    if ('RangeVar' in node) return this.table(node.RangeVar);
    if ('RangeSubselect' in node) return this.derived(node.RangeSubselect, visible, outside);
    if ('JoinExpr' in node) return this.join(node.JoinExpr, [...outside, ...visible]);
    if ('RangeFunction' in node) return this.functions(node.RangeFunction, visible, outside);
    throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `${Object.keys(node)[0] ?? '?'} in FROM is not supported yet`);
  }

  /**
   * Plans a LATERAL item as a query one level inside this one that sees
   * `visible` (so its references to them read the row it runs for).
   */
  private lateral<R>(visible: readonly ScopeColumn[], outside: readonly ScopeColumn[], plan: (outer: Scope) => R): { result: R; lateral: Lateral | undefined } {
    const outsideScope = new Scope(outside, this.outer);
    const visibleScope = new Scope(visible, outsideScope);
    const probe = new Scope([], visibleScope, true);
    const result = plan(probe);
    if (outsideScope.used) {
      throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'LATERAL references from inside a JOIN to FROM items outside that JOIN are not supported');
    }
    return { result, lateral: visibleScope.used ? 'earlier' : probe.correlated ? 'enclosing' : undefined };
  }

  private functions(rf: Extract<Node, { RangeFunction: unknown }>['RangeFunction'], visible: readonly ScopeColumn[], outside: readonly ScopeColumn[]): BoundItem {
    // Functions in FROM are LATERAL whether or not the query says so.
    const { result, lateral } = this.lateral(visible, outside, (outer) => planFunctions(rf, this.hooks.exprContext(outer, 'functions in FROM')));
    this.claim(result.name, undefined);
    this.others.set(result.name, 'a function');
    return this.placed({ root: result.root, columns: result.columns, subqueries: this.ctx.subqueries, correlated: false }, result.name, [], lateral);
  }

  private table(rv: Extract<Node, { RangeVar: unknown }>['RangeVar']): BoundItem {
    // A WITH query hides a table of its name.
    const cte = rv.schemaname === undefined && rv.catalogname === undefined ? this.ctx.ctes?.find(rv.relname ?? '') : undefined;
    if (cte) {
      const name = rv.alias?.aliasname ?? cte.name;
      this.claim(name, rv.location);
      this.others.set(name, 'a WITH query');
      return this.placed(this.hooks.planCte(cte), name, stringsOf(rv.alias?.colnames));
    }
    const system = systemRelationPlan(rv, this.ctx);
    if (system) {
      const name = rv.alias?.aliasname ?? rv.relname ?? '';
      this.claim(name, rv.location);
      this.others.set(name, 'a system catalog');
      return this.placed(system, name, stringsOf(rv.alias?.colnames));
    }
    const rel = findRelation(this.ctx.catalog, this.ctx.names, qualifiedName(rv));
    if (rel?.kind === 'view') {
      const name = rv.alias?.aliasname ?? rel.name;
      this.claim(name, rv.location);
      this.others.set(name, 'a view');
      return this.placed(this.hooks.planView(rel), name, stringsOf(rv.alias?.colnames));
    }
    const table = resolveTable(this.ctx.catalog, this.ctx.names, qualifiedName(rv), this.ctx.position(rv.location));
    const name = rv.alias?.aliasname ?? table.name;
    this.claim(name, rv.location);
    const offset = this.take(table.columns.length);
    this.tables.push({ alias: name, table, offset });
    const renamed = renameColumns(tableColumns(this.ctx.catalog, table, name), stringsOf(rv.alias?.colnames), name);
    return { item: { kind: 'table', table, offset, slots: range(offset, table.columns.length) }, columns: renamed.map((c) => ({ ...c, slot: c.slot + offset })) };
  }

  private derived(rs: Extract<Node, { RangeSubselect: unknown }>['RangeSubselect'], visible: readonly ScopeColumn[], outside: readonly ScopeColumn[]): BoundItem {
    const sub = rs.subquery;
    if (!sub || !('SelectStmt' in sub)) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'only SELECT subqueries are supported in FROM');
    const select = sub.SelectStmt;
    let plan: QueryPlan;
    let lateral: Lateral | undefined;
    if (rs.lateral) ({ result: plan, lateral } = this.lateral(visible, outside, (outer) => this.hooks.planDerived(select, this.ctx, outer)));
    // Not lateral: the subquery sees the enclosing queries, not its sibling FROM items.
    else plan = this.hooks.planDerived(select, this.ctx, this.outer);
    const name = rs.alias?.aliasname ?? null;
    if (name !== null) this.claim(name, undefined);
    if (name !== null) this.others.set(name, 'a subquery');
    return this.placed(plan, name, stringsOf(rs.alias?.colnames), lateral);
  }

  /** A planned query as a FROM item named `name`, its columns renamed by `colnames`. */
  private placed(plan: QueryPlan, name: string | null, colnames: readonly string[], lateral?: Lateral): BoundItem {
    const width = plan.columns.length;
    const offset = this.take(width);
    const columns: ScopeColumn[] = plan.columns.map((c, i) => ({
      table: name,
      name: c.name,
      type: c.type,
      slot: i,
      tableOid: c.tableOid,
      columnNumber: c.columnNumber,
      hidden: false,
    }));
    const renamed = renameColumns(columns, colnames, name ?? 'subquery');
    return {
      item: { kind: 'derived', root: plan.root, offset, width, slots: range(offset, width), ...(lateral ? { lateral } : {}) },
      columns: renamed.map((c) => ({ ...c, slot: c.slot + offset })),
    };
  }

  private join(j: JoinExprNode, outside: readonly ScopeColumn[]): BoundItem {
    if (j.alias || j.join_using_alias) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'aliases of joins are not supported yet');
    const type = joinType(j.jointype);
    const left = alone(this.bind(required(j.larg), [], outside));
    const lateralRight = this.bind(required(j.rarg), left.columns, outside);
    const readsLeft = lateralRight.item.kind === 'derived' && lateralRight.item.lateral === 'earlier';
    if (readsLeft && (type === 'right' || type === 'full')) {
      const tables = [...new Set(left.columns.flatMap((c) => (c.table === null ? [] : [c.table])))];
      const entry = tables.length === 1 ? `for table "${tables[0] ?? ''}"` : 'of a LATERAL item';
      throw new SqlError(SQLSTATE.INVALID_COLUMN_REFERENCE, `invalid reference to FROM-clause entry ${entry}`, {
        detail: 'The combining JOIN type must be INNER or LEFT for a LATERAL reference.',
      });
    }
    const right = readsLeft ? lateralRight : alone(lateralRight);
    const exprCtx = this.hooks.exprContext(new Scope([...left.columns, ...right.columns], this.outer), 'JOIN conditions');
    const using = j.isNatural ? naturalColumns(left.columns, right.columns) : stringsOf(j.usingClause);
    const merged: ScopeColumn[] = [];
    const computed: ComputedSlot[] = [];
    const conditions: Expr[] = [];
    const mergedAway = new Set<ScopeColumn>();
    for (const [i, name] of using.entries()) {
      if (using.indexOf(name) !== i) throw new SqlError(SQLSTATE.DUPLICATE_COLUMN, `column name "${name}" appears more than once in USING clause`);
      const l = usingColumn(left.columns, name, 'left');
      const r = usingColumn(right.columns, name, 'right');
      mergedAway.add(l).add(r);
      const lExpr: Expr = { kind: 'column', type: l.type, slot: l.slot };
      const rExpr: Expr = { kind: 'column', type: r.type, slot: r.slot };
      conditions.push(coerceToBool(applyOperator('=', lExpr, rExpr, exprCtx, undefined), exprCtx, undefined, 'JOIN/USING'));
      const common = commonType([lExpr, rExpr], 'JOIN/USING', exprCtx, undefined);
      const lValue = coerce(lExpr, common, 'implicit', exprCtx, undefined);
      const rValue = coerce(rExpr, common, 'implicit', exprCtx, undefined);
      // The merged column is the non-NULL-extended side's (either one's under FULL).
      const value: Expr = type === 'full' ? { kind: 'coalesce', type: common, args: [lValue, rValue] } : type === 'right' ? rValue : lValue;
      const source = type === 'right' ? r : l;
      let slot: number;
      if (value.kind === 'column') slot = value.slot;
      else {
        slot = this.take(1);
        computed.push({ slot, expr: value });
      }
      merged.push({ table: null, name, type: common, slot, tableOid: source.tableOid, columnNumber: source.columnNumber, hidden: false });
    }
    if (j.quals) {
      if (using.length) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'a join has either ON or USING, not both');
      const on = coerceToBool(analyzeExpr(j.quals, exprCtx), exprCtx, undefined, 'JOIN/ON');
      conditions.push(...conjuncts(on));
    } else if (type !== 'inner' && !j.isNatural && using.length === 0) {
      throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'an outer join needs an ON or USING condition');
    }
    const columns = [...merged, ...[...left.columns, ...right.columns].map((c) => (mergedAway.has(c) ? { ...c, qualifiedOnly: true } : c))];
    if (readsLeft && right.item.kind === 'derived') {
      if (computed.length || using.length) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'JOIN LATERAL with USING or NATURAL is not supported');
      return { item: lateralOver([left.item], right.item, type === 'left' ? 'left' : 'inner', conditions), columns };
    }
    const slots = union([left.item.slots, right.item.slots, new Set(computed.map((c) => c.slot))]);
    if (type === 'inner') {
      const parts = [left.item, right.item].map(innerParts);
      const item: Bound = {
        kind: 'inner',
        items: parts.flatMap((p) => p.items),
        conditions: [...parts.flatMap((p) => p.conditions), ...conditions],
        computed: [...parts.flatMap((p) => p.computed), ...computed],
        slots,
      };
      return { item, columns };
    }
    return { item: { kind: 'outer', type, left: left.item, right: right.item, conditions, computed, slots }, columns };
  }

  /** Two FROM items may not have one name (PostgreSQL's checkNameSpaceConflicts). */
  private claim(name: string, location: number | undefined): void {
    if (this.names.has(name)) throw new SqlError(SQLSTATE.DUPLICATE_ALIAS, `table name "${name}" specified more than once`, at(this.ctx, location));
    this.names.add(name);
  }

  private take(n: number): number {
    const offset = this.width;
    this.width += n;
    return offset;
  }
}

/** Items joined in any order, as one item. */
function innerOf(items: readonly Bound[]): Bound {
  if (items.length === 1 && items[0]) return items[0];
  const parts = items.map(innerParts);
  return {
    kind: 'inner',
    items: parts.flatMap((p) => p.items),
    conditions: parts.flatMap((p) => p.conditions),
    computed: parts.flatMap((p) => p.computed),
    slots: union(items.map((b) => b.slots)),
  };
}

/** One row of NULLs: what a LATERAL item with no FROM item before it runs for. */
const UNIT: Bound = { kind: 'derived', root: { kind: 'values', rows: [[]] }, offset: 0, width: 0, slots: new Set() };

/** `right` run per row of `left` joined in any order (one empty row when there is none). */
function lateralOver(left: readonly Bound[], right: DerivedBound, type: 'inner' | 'left', conditions: readonly Expr[]): Bound {
  const l = left.length ? innerOf(left) : UNIT;
  return { kind: 'lateral', type, left: l, right, conditions, slots: union([l.slots, right.slots]) };
}

/** A LATERAL item without an earlier item to run per row of, run once (it reads only enclosing queries). */
function alone(b: BoundItem): BoundItem {
  return b.item.kind === 'derived' && b.item.lateral ? { ...b, item: lateralOver([], b.item, 'inner', []) } : b;
}

/** An inner-join operand as items of one inner join. */
function innerParts(b: Bound): { items: readonly Bound[]; conditions: readonly Expr[]; computed: readonly ComputedSlot[] } {
  return b.kind === 'inner' ? b : { items: [b], conditions: [], computed: [] };
}

function joinType(t: string | undefined): JoinType {
  switch (t) {
    case 'JOIN_INNER':
      return 'inner';
    case 'JOIN_LEFT':
      return 'left';
    case 'JOIN_RIGHT':
      return 'right';
    case 'JOIN_FULL':
      return 'full';
    default:
      throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `join type ${t ?? '?'} is not supported`);
  }
}

/** Columns named alike on both sides, in the left side's order. */
export function naturalColumns(left: readonly ScopeColumn[], right: readonly ScopeColumn[]): string[] {
  const visible = (cols: readonly ScopeColumn[]) => cols.filter((c) => !c.hidden && !c.qualifiedOnly).map((c) => c.name);
  const rightNames = new Set(visible(right));
  return [...new Set(visible(left).filter((n) => rightNames.has(n)))];
}

function usingColumn(columns: readonly ScopeColumn[], name: string, side: 'left' | 'right'): ScopeColumn {
  const found = columns.filter((c) => c.name === name && !c.qualifiedOnly);
  if (found.length > 1) throw new SqlError(SQLSTATE.AMBIGUOUS_COLUMN, `common column name "${name}" appears more than once in ${side} table`);
  const [column] = found;
  if (!column) throw new SqlError(SQLSTATE.UNDEFINED_COLUMN, `column "${name}" specified in USING clause does not exist in ${side} table`);
  return column;
}

/** `alias(a, b, …)` renames the first columns. */
function renameColumns(columns: ScopeColumn[], names: readonly string[], table: string): ScopeColumn[] {
  const visible = columns.filter((c) => !c.hidden).length;
  if (names.length > visible) {
    throw new SqlError(SQLSTATE.INVALID_COLUMN_REFERENCE, `table "${table}" has ${visible} columns available but ${names.length} columns specified`);
  }
  let i = 0;
  return columns.map((c) => (c.hidden ? c : { ...c, name: names[i++] ?? c.name }));
}

/** A base table's scan as planned on its own: what a lookup join reads through another index instead. */
interface BaseTable {
  readonly table: TableDescriptor;
  readonly offset: number;
  readonly access: IndexAccess;
  /** Its conjuncts, which the scan's rows are filtered by. */
  readonly filter: Expr | null;
}

interface Planned {
  readonly node: PlanNode;
  readonly estimate: number;
  /** Set when the node is a base table's (filtered) scan. */
  readonly base?: BaseTable;
}

type Side = JoinInput & Planned;

/** Builds the join plan of bound FROM items, placing each conjunct where it can run first. */
class JoinPlanner {
  constructor(
    private readonly width: number,
    private readonly correlated: (id: number) => boolean,
    private readonly strategy: JoinStrategy,
  ) {}

  /** `pushed`: conjuncts over this item's slots only, none pinned. */
  plan(b: Bound, pushed: readonly Conjunct[]): Planned {
    switch (b.kind) {
      case 'table':
        return this.table(b, pushed);
      case 'derived': {
        if (b.lateral) throw new SqlError(SQLSTATE.INTERNAL_ERROR, 'a LATERAL item planned without the rows it runs for');
        const placed: PlanNode = b.offset === 0 && b.width === this.width ? b.root : { kind: 'place', input: b.root, offset: b.offset, width: this.width };
        return { node: filtered(placed, pushed), estimate: UNKNOWN_ROWS };
      }
      case 'inner':
        return this.inner(b, pushed);
      case 'outer':
        return this.outer(b, pushed);
      case 'lateral':
        return this.lateral(b, pushed);
    }
  }

  private lateral(b: Extract<Bound, { kind: 'lateral' }>, pushed: readonly Conjunct[]): Planned {
    const conditions = b.conditions.map((e) => describeConjunct(e, this.correlated));
    if (conditions.some((c) => c.pinned)) {
      throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'correlated subqueries in the ON clause of a LATERAL join are not supported yet');
    }
    // WHERE conjuncts over the left side alone filter it first (it is the preserved side of a LEFT JOIN LATERAL).
    const toLeft = pushed.filter((c) => c.slots.size > 0 && within(c.slots, b.left.slots));
    const left = this.plan(b.left, toLeft);
    const node: PlanNode = { kind: 'lateral', type: b.type, left: left.node, right: b.right.root, offset: b.right.offset, width: b.right.width, condition: andOf(conditions) };
    return { node: filtered(node, pushed.filter((c) => !toLeft.includes(c))), estimate: left.estimate };
  }

  private table(b: Extract<Bound, { kind: 'table' }>, pushed: readonly Conjunct[]): Planned {
    const { table, offset } = b;
    const access = chooseAccess(table, andOf(pushed), (id) => offset + table.columns.findIndex((c) => c.id === id));
    let node: PlanNode = { kind: 'scan', table, access };
    if (offset !== 0 || table.columns.length !== this.width) node = { kind: 'place', input: node, offset, width: this.width };
    return { node: filtered(node, pushed), estimate: estimateScan(access, pushed.length), base: { table, offset, access, filter: andOf(pushed) } };
  }

  private inner(b: Extract<Bound, { kind: 'inner' }>, pushed: readonly Conjunct[]): Planned {
    const all = [...pushed, ...b.conditions.map((e) => describeConjunct(e, this.correlated))];
    const perItem = b.items.map((): Conjunct[] => []);
    const between: Conjunct[] = [];
    for (const c of all) {
      const owner = c.pinned || c.slots.size === 0 ? -1 : b.items.findIndex((item) => within(c.slots, item.slots));
      if (owner >= 0) perItem[owner]?.push(c);
      else between.push(c);
    }
    const inputs = b.items.map((item, i) => ({ ...this.plan(item, perItem[i] ?? []), slots: item.slots }));
    const steps = orderJoins(inputs, between);
    const [first, ...rest] = steps;
    const start = inputs[first?.input ?? 0];
    if (!start) throw new SqlError(SQLSTATE.INTERNAL_ERROR, 'an inner join without items');
    let current: Side = start;
    const applied = new Set<number>();
    for (const step of rest) {
      const input = inputs[step.input] as Side;
      const node = this.join('inner', current, input, step.conjuncts.map((k) => between[k] as Conjunct));
      step.conjuncts.forEach((k) => applied.add(k));
      current = { node, estimate: step.estimate, slots: union([current.slots, input.slots]) };
    }
    const { node, estimate } = current;
    // Left over: pinned conjuncts, those over no slot, and those reading merged USING columns.
    const late = between.filter((_, k) => !applied.has(k));
    return { node: filtered(computeSlots(node, b.computed), late), estimate };
  }

  private outer(b: Extract<Bound, { kind: 'outer' }>, pushed: readonly Conjunct[]): Planned {
    const conditions = b.conditions.map((e) => describeConjunct(e, this.correlated));
    if (conditions.some((c) => c.pinned)) {
      throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'correlated subqueries in the ON clause of an outer join are not supported yet');
    }
    // WHERE conjuncts over the preserved side only may filter it first; ON conjuncts over the NULL-extended side only may filter that.
    const toLeft = [...(b.type === 'left' ? pushed : []), ...(b.type === 'right' ? conditions : [])].filter((c) => c.slots.size > 0 && within(c.slots, b.left.slots));
    const toRight = [...(b.type === 'right' ? pushed : []), ...(b.type === 'left' ? conditions : [])].filter((c) => c.slots.size > 0 && within(c.slots, b.right.slots));
    const left = { ...this.plan(b.left, toLeft), slots: b.left.slots };
    const right = { ...this.plan(b.right, toRight), slots: b.right.slots };
    const node = this.join(b.type, left, right, conditions.filter((c) => !toLeft.includes(c) && !toRight.includes(c)));
    const estimate = b.type === 'left' ? left.estimate : b.type === 'right' ? right.estimate : left.estimate + right.estimate;
    return { node: filtered(computeSlots(node, b.computed), pushed.filter((c) => !toLeft.includes(c) && !toRight.includes(c))), estimate };
  }

  private join(type: JoinType, left: Side, right: Side, conditions: readonly Conjunct[]): PlanNode {
    const lookup = this.lookupJoin(type, left, right, conditions);
    if (lookup) return lookup;
    const keys = conditions.map((c) => equiKey(c, left.slots, right.slots));
    const residual = conditions.filter((_, i) => keys[i] === null);
    const equi = keys.filter((k) => k !== null);
    return {
      kind: 'join',
      type,
      left: left.node,
      right: right.node,
      leftKeys: equi.map((k) => k.left),
      rightKeys: equi.map((k) => k.right),
      keyTypes: equi.map((k) => k.type),
      residual: andOf(residual),
      build: right.estimate <= left.estimate ? 'right' : 'left',
      rightSlots: [...right.slots].sort((a, b) => a - b),
    };
  }

  /**
   * A lookup into a base table on one side keyed by the other side's rows,
   * when ./join-choice.ts prefers it: the table is the NULL-extended side of
   * an outer join (a right join looks up its left side), either side of an
   * inner one (the right first).
   */
  private lookupJoin(type: JoinType, left: Side, right: Side, conditions: readonly Conjunct[]): PlanNode | null {
    const pairs: readonly (readonly [Side, Side])[] = type === 'inner' ? [[left, right], [right, left]] : type === 'left' ? [[left, right]] : type === 'right' ? [[right, left]] : [];
    for (const [input, side] of pairs) {
      const base = side.base;
      if (!base) continue;
      const found = findLookup(base.table, base.offset, conditions, input.slots);
      if (!found) continue;
      const candidate = { inputBounded: bounded(input.node), inputEstimate: input.estimate, tableAccess: base.access, tableEstimate: side.estimate };
      if (!preferLookup(this.strategy, candidate)) continue;
      return {
        kind: 'lookupJoin',
        type: type === 'inner' ? 'inner' : 'left',
        input: input.node,
        table: base.table,
        index: found.index,
        keys: found.keys,
        offset: base.offset,
        filter: base.filter,
        residual: andOf(conditions.filter((_, i) => !found.used.includes(i))),
      };
    }
    return null;
  }
}

function filtered(node: PlanNode, parts: readonly Conjunct[]): PlanNode {
  const predicate = andOf(parts);
  return predicate ? { kind: 'filter', input: node, predicate } : node;
}

function computeSlots(node: PlanNode, values: readonly ComputedSlot[]): PlanNode {
  return values.length ? { kind: 'compute', input: node, values } : node;
}

function andOf(parts: readonly Conjunct[]): Expr | null {
  if (parts.length === 0) return null;
  if (parts.length === 1) return parts[0]?.expr ?? null;
  return { kind: 'and', type: T.bool, args: parts.map((p) => p.expr) };
}

function union(sets: readonly ReadonlySet<number>[]): Set<number> {
  const out = new Set<number>();
  for (const s of sets) for (const v of s) out.add(v);
  return out;
}

function range(offset: number, n: number): Set<number> {
  return new Set(Array.from({ length: n }, (_, i) => offset + i));
}

function required(n: Node | undefined): Node {
  if (n === undefined) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'incomplete join');
  return n;
}

export function fullScan(table: TableDescriptor): PlanNode {
  return { kind: 'scan', table, access: { index: table.primaryKey, constraints: [], point: false } };
}

export function tableColumns(types: TypeSource, table: TableDescriptor, alias: string): ScopeColumn[] {
  return table.columns.map((c, slot) => ({
    table: alias,
    name: c.name,
    type: columnType(types, c),
    slot,
    tableOid: table.id,
    columnNumber: slot + 1,
    hidden: c.hidden,
  }));
}

