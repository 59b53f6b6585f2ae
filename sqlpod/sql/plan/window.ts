// Window functions (`f(…) OVER (PARTITION BY … ORDER BY …)`): collecting the
// calls of a SELECT while its expressions are analyzed, and the 'window' plan
// node that computes them after WHERE/GROUP BY/HAVING and before
// DISTINCT/ORDER BY/LIMIT. Only the default frame is supported: with ORDER BY,
// RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW (peers share a value);
// without, the whole partition.
import type { Node } from '@pgsql/types';
import { SQLSTATE, SqlError } from '../errors.js';
import { T, resolveAggregate, type SqlType } from '../types/index.js';
import {
  aggregateSupport,
  analyzeExpr,
  at,
  coerce,
  coerceToBool,
  fingerprint,
  lastName,
  locationOf,
  required,
  settleUnknown,
  withPosition,
  type AggregateCall,
  type AggregateOrder,
  type ExprContext,
  type WindowCollector,
} from './analyze-expr.js';
import type { Expr } from './expr.js';

type FuncCallNode = Extract<Node, { FuncCall: unknown }>['FuncCall'];
type WindowDefNode = NonNullable<FuncCallNode['over']>;

/** One window: the rows of a partition share the values of `partition`, and are ordered by `order`. */
export interface WindowSpec {
  readonly partition: readonly Expr[];
  readonly order: readonly AggregateOrder[];
}

export type WindowFunction =
  | { readonly kind: 'row_number' | 'rank' | 'dense_rank' | 'percent_rank' | 'cume_dist'; readonly window: number }
  /** An aggregate over the frame (FILTER allowed; DISTINCT and ORDER BY inside the call are not). */
  | { readonly kind: 'aggregate'; readonly window: number; readonly call: AggregateCall };

/** Ranking functions Shoal computes, and their result types. */
const RANKING = new Map<string, SqlType>([
  ['row_number', T.int8],
  ['rank', T.int8],
  ['dense_rank', T.int8],
  ['percent_rank', T.float8],
  ['cume_dist', T.float8],
]);

/** PostgreSQL's other built-in window functions: refused as unsupported rather than unknown. */
const UNSUPPORTED = new Set(['lag', 'lead', 'ntile', 'first_value', 'last_value', 'nth_value']);

/** Bit of WindowDef.frameOptions set when the query spells out a frame. */
const FRAMEOPTION_NONDEFAULT = 0x1;

/**
 * Collects a query's window function calls. Each call becomes a column of
 * the row the 'window' node produces: the input row (`width` wide) followed by
 * one value per call. The width of a grouped query's row is only known once
 * every clause is analyzed, so the calls' columns are placeholders until `place`.
 */
export class Windows implements WindowCollector {
  readonly windows: WindowSpec[] = [];
  readonly functions: WindowFunction[] = [];
  private readonly windowIds = new Map<string, number>();
  private readonly named = new Map<string, WindowDefNode>();

  constructor(windowClause: readonly Node[] | undefined, private readonly positionOf: (l: number | undefined) => number | undefined) {
    for (const n of windowClause ?? []) {
      if (!('WindowDef' in n)) continue;
      const name = n.WindowDef.name ?? '';
      if (this.named.has(name)) throw new SqlError(SQLSTATE.WINDOWING_ERROR, `window "${name}" is already defined`, at({ position: positionOf }, n.WindowDef.location));
      this.named.set(name, n.WindowDef);
    }
  }

  get empty(): boolean {
    return this.functions.length === 0;
  }

  call(f: FuncCallNode, ctx: ExprContext): Expr {
    const name = lastName(f.funcname).toLowerCase();
    // Arguments and window clauses are evaluated per input row: no nested window calls.
    const inner: ExprContext = { ...ctx, windows: NESTED };
    const window = this.window(required(f.over), { ...ctx, windows: undefined, noWindows: 'window definitions' });
    const loc = f.location;
    let fn: WindowFunction;
    let type: SqlType;
    const ranking = RANKING.get(name);
    if (ranking && (f.funcname?.length ?? 0) <= 2) {
      if ((f.args?.length ?? 0) > 0 || f.agg_star) throw new SqlError(SQLSTATE.UNDEFINED_FUNCTION, `function ${name}(${f.agg_star ? '*' : '…'}) does not exist`, at(ctx, loc));
      if (f.agg_distinct || f.agg_order?.length || f.agg_filter) {
        throw new SqlError(SQLSTATE.WRONG_OBJECT_TYPE, `DISTINCT, ORDER BY or FILTER specified, but ${name} is not an aggregate function`, at(ctx, loc));
      }
      fn = { kind: name as 'row_number', window };
      type = ranking;
    } else if (UNSUPPORTED.has(name)) {
      throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `window function ${name} is not supported yet`, at(ctx, loc));
    } else {
      const support = aggregateSupport(name);
      if (support === undefined) {
        throw new SqlError(SQLSTATE.WRONG_OBJECT_TYPE, `OVER specified, but ${name} is not a window function nor an aggregate function`, at(ctx, loc));
      }
      if (support === 'unsupported') throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `aggregate function ${name} is not supported`, at(ctx, loc));
      if (f.agg_distinct) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'DISTINCT is not implemented for window functions', at(ctx, loc));
      if (f.agg_order?.length) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'aggregate ORDER BY is not implemented for window functions', at(ctx, loc));
      if (f.agg_within_group || f.func_variadic) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `this form of ${name} is not supported as a window function`, at(ctx, loc));
      const args = f.agg_star ? [] : (f.args ?? []).map((a) => settleUnknown(analyzeExpr(a, inner), inner));
      const filterCtx: ExprContext = { ...inner, noAggregates: 'FILTER' };
      const filter = f.agg_filter ? coerceToBool(analyzeExpr(f.agg_filter, filterCtx), filterCtx, locationOf(f.agg_filter), 'FILTER') : null;
      const resolved = withPosition(() => resolveAggregate(name, args.map((a) => a.type), false), ctx, loc);
      const call: AggregateCall = {
        resolved,
        args: args.map((a, i) => coerce(a, resolved.args[i] ?? a.type, 'implicit', inner, loc)),
        fingerprint: '',
        order: [],
        filter,
      };
      fn = { kind: 'aggregate', window, call };
      type = resolved.result;
    }
    this.functions.push(fn);
    // A placeholder until `place` knows the input row's width: slot -1 is the first call, -2 the second…
    return { kind: 'column', type, slot: -this.functions.length };
  }

  /** The expression with its window-call placeholders pointing after an input row `width` wide. */
  place(e: Expr, width: number): Expr {
    if (this.functions.length === 0) return e;
    return mapExpr(e, (x) => (x.kind === 'column' && x.slot < 0 ? { ...x, slot: width - x.slot - 1 } : x));
  }

  /** The window an OVER clause names or spells out (identical windows are computed once). */
  private window(over: WindowDefNode, ctx: ExprContext): number {
    const def = this.resolve(over, ctx);
    if ((def.frameOptions ?? 0) & FRAMEOPTION_NONDEFAULT) {
      throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'window frame clauses (ROWS/RANGE/GROUPS …) are not supported yet', at(ctx, def.location));
    }
    const partitionNodes = def.partitionClause ?? [];
    const orderNodes = def.orderClause ?? [];
    const key = fingerprint({ List: { items: [...partitionNodes, ...orderNodes, { Integer: { ival: partitionNodes.length } }] } });
    const known = this.windowIds.get(key);
    if (known !== undefined) return known;
    const partition = partitionNodes.map((n) => settleUnknown(analyzeExpr(n, ctx), ctx));
    const order = orderNodes.map((s): AggregateOrder => {
      if (!('SortBy' in s)) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'malformed window ORDER BY', at(ctx, def.location));
      const by = s.SortBy;
      if (by.sortby_dir === 'SORTBY_USING') throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'ORDER BY USING is not supported', at(ctx, by.location));
      const descending = by.sortby_dir === 'SORTBY_DESC';
      const nullsFirst = by.sortby_nulls === 'SORTBY_NULLS_FIRST' ? true : by.sortby_nulls === 'SORTBY_NULLS_LAST' ? false : descending;
      return { expr: settleUnknown(analyzeExpr(required(by.node), ctx), ctx), descending, nullsFirst };
    });
    this.windows.push({ partition, order });
    this.windowIds.set(key, this.windows.length - 1);
    return this.windows.length - 1;
  }

  /** `OVER w` and `OVER (w ORDER BY …)`: the named window, completed as PostgreSQL allows. */
  private resolve(over: WindowDefNode, ctx: ExprContext): WindowDefNode {
    // `OVER w` comes as a definition named w; `OVER (w …)` as one referring to w.
    if (over.name !== undefined && over.refname === undefined && this.named.get(over.name) !== over) {
      const named = this.named.get(over.name);
      if (!named) throw new SqlError(SQLSTATE.UNDEFINED_OBJECT, `window "${over.name}" does not exist`, at(ctx, over.location));
      return this.resolve(named, ctx);
    }
    if (over.refname === undefined) return over;
    const base = this.named.get(over.refname);
    if (!base) throw new SqlError(SQLSTATE.UNDEFINED_OBJECT, `window "${over.refname}" does not exist`, at(ctx, over.location));
    const resolvedBase = this.resolve(base, ctx);
    const isReference = !over.partitionClause?.length && !over.orderClause?.length && !((over.frameOptions ?? 0) & FRAMEOPTION_NONDEFAULT);
    if (isReference) return resolvedBase;
    if (over.partitionClause?.length) throw new SqlError(SQLSTATE.WINDOWING_ERROR, `cannot override PARTITION BY clause of window "${over.refname}"`, at(ctx, over.location));
    if (over.orderClause?.length && resolvedBase.orderClause?.length) {
      throw new SqlError(SQLSTATE.WINDOWING_ERROR, `cannot override ORDER BY clause of window "${over.refname}"`, at(ctx, over.location));
    }
    if ((resolvedBase.frameOptions ?? 0) & FRAMEOPTION_NONDEFAULT) {
      throw new SqlError(SQLSTATE.WINDOWING_ERROR, `cannot copy window "${over.refname}" because it has a frame clause`, at(ctx, over.location));
    }
    return {
      ...over,
      refname: undefined,
      partitionClause: resolvedBase.partitionClause ?? [],
      orderClause: over.orderClause?.length ? over.orderClause : (resolvedBase.orderClause ?? []),
    };
  }
}

/** The collector inside a window call's arguments and clauses. */
const NESTED: WindowCollector = {
  call(f, ctx) {
    throw new SqlError(SQLSTATE.WINDOWING_ERROR, 'window function calls cannot be nested', at(ctx, f.location));
  },
};

/** Rebuilds an expression bottom-up, applying `f` to every node (not inside subqueries). */
function mapExpr(e: Expr, f: (e: Expr) => Expr): Expr {
  const m = (x: Expr): Expr => mapExpr(x, f);
  switch (e.kind) {
    case 'call':
      return f({ ...e, args: e.args.map(m) });
    case 'and':
    case 'or':
      return f({ ...e, args: e.args.map(m) });
    case 'coalesce':
      return f({ ...e, args: e.args.map(m) });
    case 'minmax':
      return f({ ...e, args: e.args.map(m) });
    case 'not':
      return f({ ...e, arg: m(e.arg) });
    case 'isNull':
      return f({ ...e, arg: m(e.arg) });
    case 'isBool':
      return f({ ...e, arg: m(e.arg) });
    case 'case':
      return f({ ...e, whens: e.whens.map(([c, r]) => [m(c), m(r)] as const), otherwise: m(e.otherwise) });
    case 'distinct':
      return f({ ...e, left: m(e.left), right: m(e.right) });
    case 'inList':
      return f({ ...e, arg: m(e.arg), list: e.list.map(m) });
    case 'subqueryIn':
      return f({ ...e, arg: m(e.arg) });
    default:
      return f(e);
  }
}
