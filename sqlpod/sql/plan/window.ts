// Window functions (`f(…) OVER (PARTITION BY … ORDER BY …)`): collecting the
// calls of a SELECT while its expressions are analyzed, and the 'window' plan
// node that computes them after WHERE/GROUP BY/HAVING and before
// DISTINCT/ORDER BY/LIMIT. Frames are ROWS or RANGE (./frame.ts); GROUPS and
// EXCLUDE are refused.
import type { Node } from '@pgsql/types';
import { SQLSTATE, SqlError } from '../errors.js';
import { T, formatType, resolveAggregate, type SqlType } from '../types/index.js';
import { canCoerceImplicitly } from '../types/resolve.js';
import {
  aggregateSupport,
  analyzeExpr,
  at,
  coerce,
  coerceToBool,
  commonType,
  fingerprint,
  lastName,
  locationOf,
  refuseOrderedSetMisuse,
  required,
  settleUnknown,
  withPosition,
  type AggregateCall,
  type AggregateOrder,
  type ExprContext,
  type WindowCollector,
} from './analyze-expr.js';
import type { Expr } from './expr.js';
import { FRAME, planFrame, type WindowFrame } from './frame.js';

type FuncCallNode = Extract<Node, { FuncCall: unknown }>['FuncCall'];
type WindowDefNode = NonNullable<FuncCallNode['over']>;

/** One window: the rows of a partition share the values of `partition`, and are ordered by `order`. */
export interface WindowSpec {
  readonly partition: readonly Expr[];
  readonly order: readonly AggregateOrder[];
  /** The rows an aggregate, first_value, last_value or nth_value sees from the current row. */
  readonly frame: WindowFrame;
}

export type WindowFunction =
  | { readonly kind: 'row_number' | 'rank' | 'dense_rank' | 'percent_rank' | 'cume_dist'; readonly window: number }
  /** An aggregate over the frame (FILTER allowed; DISTINCT and ORDER BY inside the call are not). */
  | { readonly kind: 'aggregate'; readonly window: number; readonly call: AggregateCall }
  /** `buckets` is read at a partition's rows until one gives a value, then fixed for the partition (as PostgreSQL does). */
  | { readonly kind: 'ntile'; readonly window: number; readonly buckets: Expr }
  /** The partition's row `offset` (per row, default 1) before/after the current one; else `fallback` at the current row. */
  | { readonly kind: 'lag' | 'lead'; readonly window: number; readonly value: Expr; readonly offset: Expr | null; readonly fallback: Expr | null }
  | { readonly kind: 'first_value' | 'last_value'; readonly window: number; readonly value: Expr }
  | { readonly kind: 'nth_value'; readonly window: number; readonly value: Expr; readonly n: Expr };

/** The expressions of a window node evaluated over its input rows (for correlated subqueries). */
export function windowExprs(windows: readonly WindowSpec[], functions: readonly WindowFunction[]): Expr[] {
  const bound = (b: WindowFrame['start']): Expr[] => ('offset' in b ? [b.offset] : []);
  return [
    ...windows.flatMap((w) => [...w.partition, ...w.order.map((o) => o.expr), ...bound(w.frame.start), ...bound(w.frame.end)]),
    ...functions.flatMap((f): Expr[] => {
      switch (f.kind) {
        case 'aggregate':
          return [...f.call.args, ...(f.call.filter ? [f.call.filter] : [])];
        case 'ntile':
          return [f.buckets];
        case 'lag':
        case 'lead':
          return [f.value, ...(f.offset ? [f.offset] : []), ...(f.fallback ? [f.fallback] : [])];
        case 'first_value':
        case 'last_value':
          return [f.value];
        case 'nth_value':
          return [f.value, f.n];
        default:
          return [];
      }
    }),
  ];
}

/** Ranking functions Shoal computes, and their result types. */
const RANKING = new Map<string, SqlType>([
  ['row_number', T.int8],
  ['rank', T.int8],
  ['dense_rank', T.int8],
  ['percent_rank', T.float8],
  ['cume_dist', T.float8],
]);

/** PostgreSQL's value window functions, with how many arguments each takes. */
const VALUE_FUNCTIONS = new Map<string, readonly [number, number]>([
  ['lag', [1, 3]],
  ['lead', [1, 3]],
  ['ntile', [1, 1]],
  ['first_value', [1, 1]],
  ['last_value', [1, 1]],
  ['nth_value', [2, 2]],
]);

const FRAMEOPTION_NONDEFAULT = FRAME.NONDEFAULT;
/** Stands for an absent frame offset in a window's identity. */
const NO_OFFSET: Node = { A_Const: { isnull: true } };

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
      refuseAggregateClauses(f, ctx);
      fn = { kind: name as 'row_number', window };
      type = ranking;
    } else if (VALUE_FUNCTIONS.has(name) && (f.funcname?.length ?? 0) <= 2) {
      ({ fn, type } = valueFunction(name, f, window, inner));
    } else {
      const support = aggregateSupport(name);
      if (support === undefined) {
        throw new SqlError(SQLSTATE.WRONG_OBJECT_TYPE, `OVER specified, but ${name} is not a window function nor an aggregate function`, at(ctx, loc));
      }
      if (support === 'unsupported') throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `aggregate function ${name} is not supported`, at(ctx, loc));
      refuseOrderedSetMisuse(f, ctx);
      if (f.agg_within_group) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `OVER is not supported for ordered-set aggregate ${name}`, at(ctx, loc));
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
    const partitionNodes = def.partitionClause ?? [];
    const orderNodes = def.orderClause ?? [];
    const frameNodes = [def.startOffset ?? NO_OFFSET, def.endOffset ?? NO_OFFSET, { Integer: { ival: def.frameOptions ?? 0 } }];
    const key = fingerprint({ List: { items: [...partitionNodes, ...orderNodes, { Integer: { ival: partitionNodes.length } }, ...frameNodes] } });
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
    const frame = planFrame(def, order, ctx);
    this.windows.push({ partition, order, frame });
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

/** What PostgreSQL's ParseFuncOrColumn refuses in a call of a window function that is not an aggregate. */
function refuseAggregateClauses(f: FuncCallNode, ctx: ExprContext): void {
  const refuse = (what: string): never => {
    throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, what, at(ctx, f.location));
  };
  if (f.agg_distinct) refuse('DISTINCT is not implemented for window functions');
  if (f.agg_order?.length) refuse('aggregate ORDER BY is not implemented for window functions');
  if (f.agg_filter) refuse('FILTER is not implemented for non-aggregate window functions');
}

/**
 * lag/lead/ntile/first_value/last_value/nth_value, typed as PostgreSQL's
 * signatures: the value is anyelement (anycompatible with lag/lead's
 * default), offsets and counts are integer.
 */
function valueFunction(name: string, f: FuncCallNode, window: number, ctx: ExprContext): { fn: WindowFunction; type: SqlType } {
  const loc = f.location;
  refuseAggregateClauses(f, ctx);
  const args = f.agg_star ? [] : (f.args ?? []).map((a) => analyzeExpr(a, ctx));
  const [min, max] = VALUE_FUNCTIONS.get(name) ?? [1, 1];
  const missing = (): SqlError =>
    new SqlError(SQLSTATE.UNDEFINED_FUNCTION, `function ${name}(${f.agg_star ? '*' : args.map((a) => formatType(a.type)).join(', ')}) does not exist`, {
      ...at(ctx, loc),
      hint: 'No function matches the given name and argument types. You might need to add explicit type casts.',
    });
  if (f.agg_star || args.length < min || args.length > max) throw missing();
  const integer = (e: Expr | undefined): Expr | null => {
    if (e === undefined) return null;
    if (!canCoerceImplicitly(e.type, T.int4)) throw missing();
    return coerce(e, T.int4, 'implicit', ctx, loc);
  };
  const polymorphic = (e: Expr): Expr => {
    if (e.type.oid === T.unknown.oid) throw new SqlError(SQLSTATE.DATATYPE_MISMATCH, 'could not determine polymorphic type because input has type unknown', at(ctx, loc));
    return e;
  };
  const [first, second, third] = args as [Expr, Expr | undefined, Expr | undefined];
  switch (name) {
    case 'ntile':
      return { fn: { kind: 'ntile', window, buckets: integer(first) as Expr }, type: T.int4 };
    case 'lag':
    case 'lead': {
      const offset = integer(second);
      if (third === undefined) {
        const value = polymorphic(first);
        return { fn: { kind: name, window, value, offset, fallback: null }, type: value.type };
      }
      // lag(anycompatible, integer, anycompatible): value and default meet in a common type.
      let type: SqlType;
      try {
        type = commonType([first, third], name, ctx, loc);
      } catch (e) {
        // PostgreSQL finds no lag(anycompatible, integer, anycompatible) for types that do not meet.
        if (e instanceof SqlError && e.code === SQLSTATE.DATATYPE_MISMATCH) throw missing();
        throw e;
      }
      const value = coerce(first, type, 'implicit', ctx, loc);
      return { fn: { kind: name, window, value, offset, fallback: coerce(third, type, 'implicit', ctx, loc) }, type };
    }
    case 'nth_value': {
      const value = polymorphic(first);
      return { fn: { kind: 'nth_value', window, value, n: integer(second) as Expr }, type: value.type };
    }
    default: {
      const value = polymorphic(first);
      return { fn: { kind: name as 'first_value', window, value }, type: value.type };
    }
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
