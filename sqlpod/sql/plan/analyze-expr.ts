// From parse tree to typed expression: name resolution, PostgreSQL's literal
// typing and operator/function resolution (via ../types), coercions, and the
// grouping rules of aggregate queries.
import type { Node } from '@pgsql/types';
import { SQLSTATE, SqlError } from '../errors.js';
import {
  T,
  castDatum,
  compare,
  findCast,
  formatType,
  parseText,
  HYPOTHETICAL_SET_AGGREGATES,
  ORDERED_SET_AGGREGATES,
  resolveAggregate,
  resolveFunction,
  resolveOrderedSetAggregate,
  resolveOperator,
  timestampNow,
  typeFromName,
  type Datum,
  type ResolvedAggregate,
  type SqlType,
  type UserTypeLookup,
} from '../types/index.js';
import type { Catalog } from '../catalog/catalog.js';
import { exprChildren, type Expr } from './expr.js';
import type { Scope } from './scope.js';
import { arrayComparison as realArrayComparison, arrayConstructor, arrayComparisonOperator, arrayConcatenation, arrayFunction, arraySubscript as realArraySubscript, arrayType, arrayTypeOf } from './arrays.js';
import { arrayComparison, arraySubquery, arraySubscript, systemCast, systemFunction } from './system.js';
import type { JoinStrategy } from './join-choice.js';

export interface SessionInfo {
  readonly user: string;
  readonly database: string;
  readonly searchPath: readonly string[];
  readonly timeZone: string;
  readonly serverVersion: string;
  /** The catalog being planned against, for the catalog functions (./system.ts). */
  readonly catalog?: Catalog;
  readonly databaseId?: number;
  /** shoal.join_strategy: how equi-joins with an index to look up are planned (./join-choice.ts). */
  readonly joinStrategy?: JoinStrategy;
}

/** Types of $n parameters: given by the client, or inferred from their first use. */
export class ParamTypes {
  private readonly types: (SqlType | null)[];

  constructor(declared: readonly (SqlType | null)[]) {
    this.types = [...declared];
  }

  get(index: number): SqlType | null {
    return this.types[index] ?? null;
  }

  set(index: number, type: SqlType): void {
    while (this.types.length <= index) this.types.push(null);
    this.types[index] = type;
  }

  /** Final types; a parameter nothing constrained is text, as in PostgreSQL. */
  resolved(): SqlType[] {
    return this.types.map((t) => (t === null || t.oid === T.unknown.oid ? T.text : t));
  }
}

export interface AggregateCall {
  readonly resolved: ResolvedAggregate;
  readonly args: readonly Expr[];
  readonly fingerprint: string;
  /** `agg(x ORDER BY …)`: the order the group's rows reach the aggregate in. */
  readonly order: readonly AggregateOrder[];
  /** `agg(x) FILTER (WHERE …)`: only rows for which it is true reach the aggregate. */
  readonly filter: Expr | null;
  /** Ordered-set aggregates (WITHIN GROUP): the direct arguments, read no column, evaluated once per group. */
  readonly direct?: readonly Expr[];
  /** GROUPING(…): the grouping keys it reports on; no row reaches it, its value comes from the grouping set. */
  readonly groupingKeys?: readonly number[];
}

export interface AggregateOrder {
  readonly expr: Expr;
  readonly descending: boolean;
  readonly nullsFirst: boolean;
}

/** Collects the aggregates and group keys of a query; the post-aggregation row is [keys…, aggregates…]. */
export class Grouping {
  readonly keys: { readonly fingerprint: string; readonly expr: Expr }[] = [];
  readonly aggregates: AggregateCall[] = [];
  /** GROUPING SETS / ROLLUP / CUBE: per set, the keys it groups by (./grouping-sets.ts); null for a plain GROUP BY. */
  sets: (readonly number[])[] | null = null;
}

/** Analyzes subqueries for the expression analyzer (supplied by the statement planner). */
export interface SubqueryPlanner {
  /** Plans a subquery, returns its id and output column types. */
  plan(select: Node, outer: Scope, location: number | undefined): { id: number; columns: readonly SqlType[]; correlated: boolean };
  /** Replaces a planned subquery's row by expressions over it (the casts a comparison with it needs). */
  reproject(id: number, exprs: readonly Expr[]): void;
}

export interface ExprContext {
  readonly scope: Scope;
  readonly params: ParamTypes;
  readonly session: SessionInfo;
  /** Converts a parser location (byte offset in the query) to a 1-based statement position. */
  readonly position: (location: number | undefined) => number | undefined;
  /** Set while analyzing expressions evaluated after aggregation (target list, HAVING, ORDER BY). */
  readonly grouping: Grouping | null;
  /** Where aggregates are not allowed, the clause name for the message (e.g. 'WHERE'). */
  readonly noAggregates?: string;
  readonly subqueries?: SubqueryPlanner;
  /** Finds a sequence by (possibly qualified) name for nextval; undefined when absent. */
  readonly sequenceNamed?: (name: string) => number | undefined;
  /** Finds an enum type by name for casts; absent where only built-in types can be named. */
  readonly userTypes?: UserTypeLookup;
  /** Where window functions are allowed (a SELECT's list and ORDER BY), what collects them (./window.ts). */
  readonly windows?: WindowCollector | undefined;
  /** Where they are not, the clause name for the message (else `noAggregates`). */
  readonly noWindows?: string;
}

/** Turns a window function call (`f(…) OVER …`) into an expression over the window node's row. */
export interface WindowCollector {
  call(f: FuncCallNode, ctx: ExprContext): Expr;
}

/**
 * PostgreSQL aggregates Shoal does not have: recognized, so that a call is
 * refused as unsupported (0A000) rather than reported as an unknown function.
 */
const UNSUPPORTED_AGGREGATES = new Map<string, string>([
  ['json_agg', ''],
  ['jsonb_agg', ''],
  ['json_object_agg', ''],
  ['jsonb_object_agg', ''],
  ['bit_and', ''],
  ['bit_or', ''],
  ['bit_xor', ''],
  ['stddev', ''],
  ['stddev_pop', ''],
  ['stddev_samp', ''],
  ['variance', ''],
  ['var_pop', ''],
  ['var_samp', ''],
  ['xmlagg', ''],
]);

const AGGREGATES = new Set(['count', 'sum', 'avg', 'min', 'max', 'bool_and', 'bool_or', 'every', 'string_agg', 'array_agg', ...ORDERED_SET_AGGREGATES, ...UNSUPPORTED_AGGREGATES.keys()]);

/** Whether a function name is an aggregate Shoal computes ('supported'), one it refuses, or none. */
export function aggregateSupport(name: string): 'supported' | 'unsupported' | undefined {
  const lower = name.toLowerCase();
  if (UNSUPPORTED_AGGREGATES.has(lower)) return 'unsupported';
  return AGGREGATES.has(lower) ? 'supported' : undefined;
}

export function isAggregateCall(node: Node): boolean {
  if ('GroupingFunc' in node) return true;
  if (!('FuncCall' in node)) return false;
  const f = node.FuncCall;
  return f.over === undefined && AGGREGATES.has(lastName(f.funcname).toLowerCase());
}

/** True when the tree has an aggregate call outside subqueries. */
export function containsAggregate(node: Node | undefined): boolean {
  if (node === undefined) return false;
  if (isAggregateCall(node)) return true;
  if ('SubLink' in node) return false;
  return childNodes(node).some(containsAggregate);
}

/** The identity of a sub-expression for GROUP BY matching: its tree without source positions. */
export function fingerprint(node: Node): string {
  return JSON.stringify(node, (key, value: unknown) => (key === 'location' ? undefined : value));
}

export function analyzeExpr(node: Node, ctx: ExprContext): Expr {
  if (ctx.grouping) {
    const fp = fingerprint(node);
    const key = ctx.grouping.keys.findIndex((k) => k.fingerprint === fp);
    if (key >= 0) return { kind: 'column', type: ctx.grouping.keys[key]?.expr.type ?? T.unknown, slot: key };
    if (isAggregateCall(node) && 'FuncCall' in node) return analyzeAggregate(node.FuncCall, fp, ctx, ctx.grouping);
    if ('GroupingFunc' in node) return analyzeGroupingFunc(node.GroupingFunc, fp, ctx, ctx.grouping);
  } else if (isAggregateCall(node) && 'FuncCall' in node) {
    const where = ctx.noAggregates ?? 'this context';
    throw new SqlError(SQLSTATE.GROUPING_ERROR, `aggregate functions are not allowed in ${where}`, at(ctx, node.FuncCall.location));
  } else if ('GroupingFunc' in node) {
    const where = ctx.noAggregates ?? 'this context';
    throw new SqlError(SQLSTATE.GROUPING_ERROR, `grouping operations are not allowed in ${where}`, at(ctx, node.GroupingFunc.location));
  }

  if ('A_Const' in node) return analyzeConst(node.A_Const, ctx);
  if ('ColumnRef' in node) return analyzeColumnRef(node.ColumnRef.fields ?? [], node.ColumnRef.location, ctx);
  if ('ParamRef' in node) {
    const index = (node.ParamRef.number ?? 0) - 1;
    if (index < 0) throw new SqlError(SQLSTATE.UNDEFINED_PARAMETER, 'there is no parameter $0', at(ctx, node.ParamRef.location));
    return { kind: 'param', type: ctx.params.get(index) ?? T.unknown, index };
  }
  if ('TypeCast' in node) {
    const tc = node.TypeCast;
    const constructed = tc.arg && 'A_ArrayExpr' in tc.arg ? tc.arg.A_ArrayExpr : undefined;
    if (constructed && tc.typeName?.arrayBounds?.length) {
      // ARRAY[…]::t[] types the elements as t (so ARRAY[]::int[] is an empty int array).
      const target = typeOf(tc.typeName, ctx);
      return coerce(arrayConstructor(constructed.elements ?? [], target, (n) => analyzeExpr(n, ctx), ctx, constructed.location), target, 'explicit', ctx, tc.location);
    }
    const system = systemCast(tc.typeName, () => analyzeExpr(required(tc.arg), ctx), ctx, tc.location);
    if (system) return system;
    const target = typeOf(tc.typeName, ctx);
    const arg = analyzeExpr(required(tc.arg), ctx);
    return coerce(arg, target, 'explicit', ctx, tc.location);
  }
  if ('A_Expr' in node) return analyzeAExpr(node.A_Expr, ctx);
  if ('BoolExpr' in node) {
    const b = node.BoolExpr;
    const args = (b.args ?? []).map((a) => coerceToBool(analyzeExpr(a, ctx), ctx, locationOf(a), b.boolop === 'NOT_EXPR' ? 'NOT' : b.boolop === 'AND_EXPR' ? 'AND' : 'OR'));
    if (b.boolop === 'NOT_EXPR') return { kind: 'not', type: T.bool, arg: required(args[0]) };
    return { kind: b.boolop === 'AND_EXPR' ? 'and' : 'or', type: T.bool, args };
  }
  if ('NullTest' in node) {
    const arg = analyzeExpr(required(node.NullTest.arg), ctx);
    return { kind: 'isNull', type: T.bool, arg: settleUnknown(arg, ctx), negated: node.NullTest.nulltesttype === 'IS_NOT_NULL' };
  }
  if ('BooleanTest' in node) {
    const arg = coerceToBool(analyzeExpr(required(node.BooleanTest.arg), ctx), ctx, node.BooleanTest.location, 'IS');
    const t = node.BooleanTest.booltesttype ?? 'IS_TRUE';
    const test = t.includes('TRUE') ? 'true' : t.includes('FALSE') ? 'false' : 'unknown';
    return { kind: 'isBool', type: T.bool, arg, test, negated: t.startsWith('IS_NOT') };
  }
  if ('CaseExpr' in node) return analyzeCase(node.CaseExpr, ctx);
  if ('CoalesceExpr' in node) {
    const args = (node.CoalesceExpr.args ?? []).map((a) => analyzeExpr(a, ctx));
    const type = commonType(args, 'COALESCE', ctx, node.CoalesceExpr.location);
    return { kind: 'coalesce', type, args: args.map((a) => coerce(a, type, 'implicit', ctx, node.CoalesceExpr.location)) };
  }
  if ('MinMaxExpr' in node) {
    const m = node.MinMaxExpr;
    const greatest = m.op === 'IS_GREATEST';
    const args = (m.args ?? []).map((a) => analyzeExpr(a, ctx));
    const type = commonType(args, greatest ? 'GREATEST' : 'LEAST', ctx, m.location);
    return { kind: 'minmax', type, greatest, args: args.map((a) => coerce(a, type, 'implicit', ctx, m.location)) };
  }
  if ('FuncCall' in node) return analyzeFuncCall(node.FuncCall, ctx);
  if ('SQLValueFunction' in node) return analyzeValueFunction(node.SQLValueFunction.op ?? '', ctx, node.SQLValueFunction.location);
  if ('SubLink' in node) return analyzeSubLink(node.SubLink, ctx);
  if ('A_ArrayExpr' in node) return arrayConstructor(node.A_ArrayExpr.elements ?? [], undefined, (n) => analyzeExpr(n, ctx), ctx, node.A_ArrayExpr.location);
  if ('A_Indirection' in node) {
    const ind = node.A_Indirection;
    const arg = analyzeExpr(required(ind.arg), ctx);
    const [first, ...rest] = ind.indirection ?? [];
    if (arg.type.element && first && rest.length === 0 && 'A_Indices' in first && !first.A_Indices.is_slice && first.A_Indices.uidx) {
      return realArraySubscript(arg, analyzeExpr(first.A_Indices.uidx, ctx), ctx, undefined);
    }
    return arraySubscript(arg, ind.indirection ?? [], (n) => analyzeExpr(n, ctx), ctx);
  }
  if ('CollateClause' in node) {
    // Strings compare by code point, which is what these collations mean in a UTF8 database with C locale.
    const collation = lastName(node.CollateClause.collname);
    if (!['default', 'C', 'POSIX', 'ucs_basic'].includes(collation)) {
      throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `collation "${collation}" is not supported`, at(ctx, node.CollateClause.location));
    }
    return analyzeExpr(required(node.CollateClause.arg), ctx);
  }
  throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `expression type ${Object.keys(node)[0] ?? '?'} is not supported`, at(ctx, locationOf(node)));
}

function analyzeConst(c: { ival?: { ival?: number }; fval?: { fval?: string }; sval?: { sval?: string }; boolval?: { boolval?: boolean }; bsval?: unknown; isnull?: boolean; location?: number }, ctx: ExprContext): Expr {
  if (c.isnull) return { kind: 'const', type: T.unknown, value: null };
  if (c.ival !== undefined) return { kind: 'const', type: T.int4, value: c.ival.ival ?? 0 };
  if (c.fval !== undefined) {
    const text = c.fval.fval ?? '0';
    // An integer too wide for int4 is int8 if it fits, else numeric (PG's make_const).
    if (/^-?\d+$/.test(text)) {
      const big = BigInt(text);
      if (big >= -(2n ** 63n) && big < 2n ** 63n) return { kind: 'const', type: T.int8, value: big };
    }
    return { kind: 'const', type: T.numeric, value: parseText(T.numeric, text) };
  }
  if (c.sval !== undefined) return { kind: 'const', type: T.unknown, value: c.sval.sval ?? '', ...(c.location === undefined ? {} : { location: c.location }) };
  if (c.boolval !== undefined) return { kind: 'const', type: T.bool, value: c.boolval.boolval ?? false };
  throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'bit string literals are not supported', at(ctx, c.location));
}

function analyzeColumnRef(fields: readonly Node[], location: number | undefined, ctx: ExprContext): Expr {
  const names = fields.map((f) => ('String' in f ? (f.String.sval ?? '') : '*'));
  if (names.includes('*')) {
    throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, '* is only allowed in a select list', at(ctx, location));
  }
  const found = ctx.scope.resolve(names, ctx.position(location));
  if (!found) throw new SqlError(SQLSTATE.UNDEFINED_COLUMN, `column "${names.join('.')}" does not exist`, at(ctx, location));
  const col = found.column;
  if (found.depth > 0) return { kind: 'outer', type: col.type, depth: found.depth, slot: col.slot };
  if (ctx.grouping) {
    const qualified = col.table ? `${col.table}.${col.name}` : col.name;
    throw new SqlError(SQLSTATE.GROUPING_ERROR, `column "${qualified}" must appear in the GROUP BY clause or be used in an aggregate function`, at(ctx, location));
  }
  return { kind: 'column', type: col.type, slot: col.slot };
}

type AExpr = Extract<Node, { A_Expr: unknown }>['A_Expr'];

function analyzeAExpr(a: AExpr, ctx: ExprContext): Expr {
  const op = lastName(a.name);
  const loc = a.location;
  switch (a.kind) {
    case 'AEXPR_OP':
    case 'AEXPR_LIKE':
    case 'AEXPR_ILIKE': {
      const right = analyzeExpr(required(a.rexpr), ctx);
      const left = a.lexpr ? analyzeExpr(a.lexpr, ctx) : null;
      return applyOperator(op, left, right, ctx, loc);
    }
    case 'AEXPR_OP_ANY':
    case 'AEXPR_OP_ALL': {
      const left = analyzeExpr(required(a.lexpr), ctx);
      const analyzed = analyzeExpr(required(a.rexpr), ctx);
      // An untyped $n is an array of the left side's type (text for an unknown literal), as PostgreSQL infers it.
      const right =
        analyzed.kind === 'param' && analyzed.type.oid === T.unknown.oid
          ? coerce(analyzed, arrayTypeOf(left.type.oid === T.unknown.oid ? T.text : left.type, ctx, loc), 'implicit', ctx, loc)
          : analyzed;
      const compareTo = right.type.element ? realArrayComparison : arrayComparison;
      return compareTo(op, left, right, a.kind === 'AEXPR_OP_ALL', ctx, loc);
    }
    case 'AEXPR_DISTINCT':
    case 'AEXPR_NOT_DISTINCT': {
      const left = analyzeExpr(required(a.lexpr), ctx);
      const right = analyzeExpr(required(a.rexpr), ctx);
      const eq = resolveBinary('=', left, right, ctx, loc);
      return { kind: 'distinct', type: T.bool, left: eq.left, right: eq.right, equal: eq.fn, negated: a.kind === 'AEXPR_NOT_DISTINCT' };
    }
    case 'AEXPR_NULLIF': {
      const left = analyzeExpr(required(a.lexpr), ctx);
      const right = analyzeExpr(required(a.rexpr), ctx);
      const eq = resolveBinary('=', left, right, ctx, loc);
      const cond: Expr = { kind: 'call', type: T.bool, args: [eq.left, eq.right], strict: true, volatile: false, fn: ([x, y], c) => eq.fn(x ?? null, y ?? null, c) };
      return { kind: 'case', type: left.type.oid === T.unknown.oid ? T.text : left.type, whens: [[cond, { kind: 'const', type: left.type, value: null }]], otherwise: settleUnknown(left, ctx) };
    }
    case 'AEXPR_IN': {
      const arg = analyzeExpr(required(a.lexpr), ctx);
      const list = listItems(a.rexpr).map((n) => analyzeExpr(n, ctx));
      const type = commonType([arg, ...list], 'IN', ctx, loc);
      const left = coerce(arg, type, 'implicit', ctx, loc);
      const equal = type.element ? (x: Datum, y: Datum) => compare(type, x, y) === 0 : resolveOperator('=', type, type).fn;
      return {
        kind: 'inList',
        type: T.bool,
        arg: left,
        list: list.map((e) => coerce(e, type, 'implicit', ctx, loc)),
        equal,
        negated: op === '<>',
      };
    }
    case 'AEXPR_BETWEEN':
    case 'AEXPR_NOT_BETWEEN':
    case 'AEXPR_BETWEEN_SYM':
    case 'AEXPR_NOT_BETWEEN_SYM': {
      const [lowNode, highNode] = listItems(a.rexpr);
      const arg = analyzeExpr(required(a.lexpr), ctx);
      const low = analyzeExpr(required(lowNode), ctx);
      const high = analyzeExpr(required(highNode), ctx);
      const ge = applyOperator('>=', arg, low, ctx, loc);
      const le = applyOperator('<=', arg, high, ctx, loc);
      let test: Expr = { kind: 'and', type: T.bool, args: [ge, le] };
      if (a.kind.endsWith('_SYM')) {
        const ge2 = applyOperator('>=', arg, high, ctx, loc);
        const le2 = applyOperator('<=', arg, low, ctx, loc);
        test = { kind: 'or', type: T.bool, args: [test, { kind: 'and', type: T.bool, args: [ge2, le2] }] };
      }
      return a.kind.includes('NOT') ? { kind: 'not', type: T.bool, arg: test } : test;
    }
    default:
      throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `operator form ${a.kind ?? '?'} is not supported`, at(ctx, loc));
  }
}

/** Resolves and applies a binary or prefix operator, casting operands as the operator requires. */
export function applyOperator(op: string, left: Expr | null, right: Expr, ctx: ExprContext, location: number | undefined): Expr {
  if (left === null) {
    const r = withPosition(() => resolveOperator(op, null, right.type), ctx, location);
    const arg = coerce(right, r.right, 'implicit', ctx, location);
    const fn = r.fn;
    return { kind: 'call', type: r.result, name: op, args: [arg], strict: true, volatile: false, fn: ([x], c) => fn(null, x ?? null, c) };
  }
  const onArrays = arrayConcatenation(op, left, right, ctx, location);
  if (onArrays) return onArrays;
  const r = resolveBinary(op, left, right, ctx, location);
  const fn = r.fn;
  return { kind: 'call', type: r.result, op, args: [r.left, r.right], strict: true, volatile: false, fn: ([x, y], c) => fn(x ?? null, y ?? null, c) };
}

function resolveBinary(op: string, left: Expr, right: Expr, ctx: ExprContext, location: number | undefined) {
  const onArrays = arrayComparisonOperator(op, left, right, ctx, location);
  if (onArrays) return onArrays;
  const r = withPosition(() => resolveOperator(op, left.type, right.type), ctx, location);
  return {
    result: r.result,
    left: coerce(left, r.left ?? left.type, 'implicit', ctx, location),
    right: coerce(right, r.right, 'implicit', ctx, location),
    fn: r.fn,
  };
}

type CaseNode = Extract<Node, { CaseExpr: unknown }>['CaseExpr'];

function analyzeCase(c: CaseNode, ctx: ExprContext): Expr {
  const operand = c.arg ? analyzeExpr(c.arg, ctx) : null;
  const whens: [Expr, Expr][] = [];
  const results: Expr[] = [];
  for (const w of c.args ?? []) {
    if (!('CaseWhen' in w)) continue;
    const condNode = required(w.CaseWhen.expr);
    const cond = operand
      ? applyOperator('=', operand, analyzeExpr(condNode, ctx), ctx, w.CaseWhen.location)
      : coerceToBool(analyzeExpr(condNode, ctx), ctx, locationOf(condNode), 'CASE/WHEN');
    const result = analyzeExpr(required(w.CaseWhen.result), ctx);
    whens.push([cond, result]);
    results.push(result);
  }
  const otherwise: Expr = c.defresult ? analyzeExpr(c.defresult, ctx) : { kind: 'const', type: T.unknown, value: null };
  const type = commonType([...results, otherwise], 'CASE', ctx, c.location);
  return {
    kind: 'case',
    type,
    whens: whens.map(([cond, r]) => [cond, coerce(r, type, 'implicit', ctx, c.location)] as const),
    otherwise: coerce(otherwise, type, 'implicit', ctx, c.location),
  };
}

type FuncCallNode = Extract<Node, { FuncCall: unknown }>['FuncCall'];

function analyzeFuncCall(f: FuncCallNode, ctx: ExprContext): Expr {
  const name = lastName(f.funcname).toLowerCase();
  const loc = f.location;
  if (f.over) {
    if (ctx.windows) return ctx.windows.call(f, ctx);
    if (ctx.noAggregates === 'aggregate function calls') {
      throw new SqlError(SQLSTATE.GROUPING_ERROR, 'aggregate function calls cannot contain window function calls', at(ctx, loc));
    }
    throw new SqlError(SQLSTATE.WINDOWING_ERROR, `window functions are not allowed in ${ctx.noWindows ?? ctx.noAggregates ?? 'this context'}`, at(ctx, loc));
  }
  if (f.agg_within_group) {
    if (HYPOTHETICAL_SET_AGGREGATES.has(name)) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `hypothetical-set aggregate ${name} is not supported`, at(ctx, loc));
    throw new SqlError(SQLSTATE.WRONG_OBJECT_TYPE, `WITHIN GROUP specified, but ${name} is not an aggregate function`, at(ctx, loc));
  }
  const args = (f.args ?? []).map((a) => analyzeExpr(a, ctx));
  const session = sessionFunction(name, args, ctx);
  if (session) return session;
  const onArrays = arrayFunction(name, args, ctx, loc);
  if (onArrays) return onArrays;
  const system = systemFunction(name, args, ctx);
  if (system) return system;
  if (name === 'unique_rowid' && args.length === 0) {
    return { kind: 'call', type: T.int8, name: 'unique_rowid', args: [], strict: false, volatile: true, fn: (_a, c) => c.uniqueRowId() };
  }
  if (name === 'nextval' && args.length === 1) return nextval(args[0] as Expr, ctx, loc);
  const sequenceCall = sequenceFunction(name, args, ctx, loc);
  if (sequenceCall) return sequenceCall;
  if (name === 'generate_series' || name === 'unnest') {
    throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `set-returning function ${name} is only supported in FROM`, at(ctx, loc));
  }
  const r = withPosition(() => resolveFunction(name, args.map((a) => a.type)), ctx, loc);
  return {
    kind: 'call',
    type: r.result,
    name,
    args: args.map((a, i) => coerce(a, r.args[i] ?? a.type, 'implicit', ctx, loc)),
    strict: r.strict,
    volatile: r.volatile,
    fn: r.fn,
  };
}

/**
 * The sequence a constant argument names: a name (`'s'`), or the OID
 * `'s'::regclass` folds to (what pg_dump's column defaults say);
 * undefined for an argument known only when the call runs.
 */
function constantSequence(arg: Expr, ctx: ExprContext, location: number | undefined): number | undefined {
  if (arg.kind !== 'const') return undefined;
  if (typeof arg.value === 'string') {
    const id = ctx.sequenceNamed?.(arg.value);
    if (id === undefined) throw new SqlError(SQLSTATE.UNDEFINED_TABLE, `relation "${arg.value}" does not exist`, at(ctx, location));
    return id;
  }
  if (typeof arg.value !== 'number') return undefined;
  const rel = ctx.session.catalog?.byIdOf(arg.value);
  if (rel && rel.kind !== 'sequence') throw new SqlError(SQLSTATE.WRONG_OBJECT_TYPE, `"${'name' in rel ? rel.name : arg.value}" is not a sequence`, at(ctx, location));
  return arg.value;
}

function nextval(arg: Expr, ctx: ExprContext, location: number | undefined): Expr {
  const id = constantSequence(arg, ctx, location);
  if (id === undefined) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'nextval needs the sequence name as a literal', at(ctx, location));
  return { kind: 'call', type: T.int8, name: 'nextval', args: [], strict: false, volatile: true, sequence: id, fn: (_a, c) => c.sequences.next(id) };
}

/**
 * currval, lastval and setval. The sequence may be named by any text or
 * regclass expression (`setval(pg_get_serial_sequence('t', 'id'), …)`):
 * a constant name is looked up now, another when the call runs.
 */
function sequenceFunction(name: string, args: readonly Expr[], ctx: ExprContext, location: number | undefined): Expr | undefined {
  if (name === 'lastval') return args.length === 0 ? { kind: 'call', type: T.int8, name, args: [], strict: false, volatile: true, fn: (_a, c) => c.sequences.last() } : undefined;
  const arity = name === 'currval' ? [1] : name === 'setval' ? [2, 3] : [];
  if (!arity.includes(args.length)) return undefined;
  const [target, ...rest] = args as [Expr, ...Expr[]];
  const lookup = (text: string): number => {
    const id = ctx.sequenceNamed?.(text);
    if (id === undefined) throw new SqlError(SQLSTATE.UNDEFINED_TABLE, `relation "${text}" does not exist`, at(ctx, location));
    return id;
  };
  const known = constantSequence(target, ctx, location);
  // A regclass (an OID) names the sequence as it is; anything else is read as its name.
  const nameArg = target.type.oid === T.oid.oid ? target : coerce(target, T.text, 'assignment', ctx, location);
  const sequenceOf = (v: Datum): number => known ?? (typeof v === 'number' ? v : lookup(typeof v === 'string' ? v : ''));
  if (name === 'currval') {
    return { kind: 'call', type: T.int8, name, args: [nameArg], strict: true, volatile: true, fn: ([n], c) => c.sequences.current(sequenceOf(n ?? null)) };
  }
  const value = coerce(rest[0] as Expr, T.int8, 'implicit', ctx, location);
  const called = rest[1] ? coerce(rest[1], T.bool, 'implicit', ctx, location) : ({ kind: 'const', type: T.bool, value: true } as const);
  return {
    kind: 'call',
    type: T.int8,
    name,
    args: [nameArg, value, called],
    strict: true,
    volatile: true,
    fn: ([n, v, isCalled], c) => c.sequences.set(sequenceOf(n ?? null), v as bigint, isCalled === true),
  };
}

function analyzeAggregate(f: FuncCallNode, fp: string, ctx: ExprContext, grouping: Grouping): Expr {
  const existing = grouping.aggregates.findIndex((a) => a.fingerprint === fp);
  if (existing >= 0) {
    return { kind: 'column', type: grouping.aggregates[existing]?.resolved.result ?? T.unknown, slot: grouping.keys.length + existing };
  }
  const name = lastName(f.funcname).toLowerCase();
  const unsupported = UNSUPPORTED_AGGREGATES.get(name);
  if (unsupported !== undefined) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `aggregate function ${name} is not supported${unsupported}`, at(ctx, f.location));
  if (f.func_variadic) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'VARIADIC aggregate arguments are not supported', at(ctx, f.location));
  const inner: ExprContext = { ...ctx, grouping: null, noAggregates: 'aggregate function calls', windows: undefined };
  refuseOrderedSetMisuse(f, ctx);
  if (f.agg_within_group) return analyzeOrderedSet(f, fp, inner, grouping);
  const args = f.agg_star ? [] : (f.args ?? []).map((a) => settleUnknown(analyzeExpr(a, inner), inner));
  const distinct = f.agg_distinct ?? false;
  const order = (f.agg_order ?? []).map((s): AggregateOrder => {
    if (!('SortBy' in s)) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'malformed aggregate ORDER BY', at(ctx, f.location));
    const by = s.SortBy;
    if (by.sortby_dir === 'SORTBY_USING') throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'ORDER BY USING is not supported', at(ctx, by.location));
    const expr = settleUnknown(analyzeExpr(required(by.node), inner), inner);
    // PostgreSQL's rule: with DISTINCT, sorting by anything else than an argument would be ill-defined.
    if (distinct && !(f.args ?? []).some((a) => fingerprint(a) === fingerprint(required(by.node)))) {
      throw new SqlError(SQLSTATE.INVALID_COLUMN_REFERENCE, 'in an aggregate with DISTINCT, ORDER BY expressions must appear in argument list', at(ctx, by.location));
    }
    const descending = by.sortby_dir === 'SORTBY_DESC';
    return { expr, descending, nullsFirst: by.sortby_nulls === 'SORTBY_NULLS_FIRST' ? true : by.sortby_nulls === 'SORTBY_NULLS_LAST' ? false : descending };
  });
  const filterCtx: ExprContext = { ...inner, noAggregates: 'FILTER' };
  const filter = f.agg_filter ? coerceToBool(analyzeExpr(f.agg_filter, filterCtx), filterCtx, locationOf(f.agg_filter), 'FILTER') : null;
  const resolved = withPosition(() => resolveAggregate(name, args.map((a) => a.type), distinct), ctx, f.location);
  grouping.aggregates.push({ resolved, args: args.map((a, i) => coerce(a, resolved.args[i] ?? a.type, 'implicit', inner, f.location)), fingerprint: fp, order, filter });
  return { kind: 'column', type: resolved.result, slot: grouping.keys.length + grouping.aggregates.length - 1 };
}

/**
 * `f(direct…) WITHIN GROUP (ORDER BY x)`: x is the aggregated argument and
 * the order the group's rows reach the aggregate in; the direct arguments
 * are one value per group, so they may read no column of the rows
 * (PostgreSQL allows grouped columns there; Shoal refuses those).
 */
function analyzeOrderedSet(f: FuncCallNode, fp: string, inner: ExprContext, grouping: Grouping): Expr {
  const name = lastName(f.funcname).toLowerCase();
  const sortBy = (f.agg_order ?? []).map((s) => ('SortBy' in s ? s.SortBy : undefined));
  const by = sortBy[0];
  // Not settled: an unknown literal or parameter takes the direct argument's type (float8), as in PostgreSQL.
  const direct = (f.args ?? []).map((a) => analyzeExpr(a, inner));
  if (sortBy.length !== 1 || !by) {
    throw new SqlError(SQLSTATE.UNDEFINED_FUNCTION, `function ${name} with ${sortBy.length} ordered arguments does not exist`, at(inner, f.location));
  }
  if (by.sortby_dir === 'SORTBY_USING') throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'ORDER BY USING is not supported', at(inner, by.location));
  for (const [i, d] of direct.entries()) {
    if (readsRowColumns(d)) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `direct arguments of ordered-set aggregate ${name} that read columns are not supported`, at(inner, locationOf(f.args?.[i])));
  }
  const sorted = settleUnknown(analyzeExpr(required(by.node), inner), inner);
  const resolved = withPosition(() => resolveOrderedSetAggregate(name, direct.map((d) => d.type), sorted.type), inner, f.location);
  const arg = coerce(sorted, resolved.args[0] ?? sorted.type, 'implicit', inner, f.location);
  const descending = by.sortby_dir === 'SORTBY_DESC';
  const nullsFirst = by.sortby_nulls === 'SORTBY_NULLS_FIRST' ? true : by.sortby_nulls === 'SORTBY_NULLS_LAST' ? false : descending;
  const filterCtx: ExprContext = { ...inner, noAggregates: 'FILTER' };
  const filter = f.agg_filter ? coerceToBool(analyzeExpr(f.agg_filter, filterCtx), filterCtx, locationOf(f.agg_filter), 'FILTER') : null;
  grouping.aggregates.push({
    resolved,
    args: [arg],
    fingerprint: fp,
    order: [{ expr: arg, descending, nullsFirst }],
    filter,
    direct: direct.map((d, i) => coerce(d, resolved.direct[i] ?? d.type, 'implicit', inner, f.location)),
  });
  return { kind: 'column', type: resolved.result, slot: grouping.keys.length + grouping.aggregates.length - 1 };
}

function readsRowColumns(e: Expr): boolean {
  return e.kind === 'column' || exprChildren(e).some(readsRowColumns);
}

/** GROUPING(a, b, …): a bit per argument, set when the row's grouping set leaves that key out (the first argument the highest bit). */
function analyzeGroupingFunc(g: Extract<Node, { GroupingFunc: unknown }>['GroupingFunc'], fp: string, ctx: ExprContext, grouping: Grouping): Expr {
  const existing = grouping.aggregates.findIndex((a) => a.fingerprint === fp);
  if (existing >= 0) return { kind: 'column', type: T.int4, slot: grouping.keys.length + existing };
  const args = g.args ?? [];
  if (args.length > 31) throw new SqlError(SQLSTATE.TOO_MANY_ARGUMENTS, 'GROUPING must have fewer than 32 arguments', at(ctx, g.location));
  const keys = args.map((a) => {
    const key = grouping.keys.findIndex((k) => k.fingerprint === fingerprint(a));
    if (key < 0) throw new SqlError(SQLSTATE.GROUPING_ERROR, 'arguments to GROUPING must be grouping expressions of the associated query level', at(ctx, locationOf(a)));
    return key;
  });
  const resolved: ResolvedAggregate = { name: 'GROUPING', result: T.int4, args: [], create: () => ({ add: () => undefined, result: () => 0 }) };
  grouping.aggregates.push({ resolved, args: [], fingerprint: fp, order: [], filter: null, groupingKeys: keys });
  return { kind: 'column', type: T.int4, slot: grouping.keys.length + grouping.aggregates.length - 1 };
}

/**
 * An ordered-set aggregate called without WITHIN GROUP, or another aggregate
 * with it, refused as PostgreSQL's ParseFuncOrColumn does: without WITHIN
 * GROUP the call only finds the aggregate (42809) when it passes the direct
 * and aggregated arguments together, else no function (42883).
 */
export function refuseOrderedSetMisuse(f: FuncCallNode, ctx: ExprContext): void {
  const name = lastName(f.funcname).toLowerCase();
  if (ORDERED_SET_AGGREGATES.has(name) === (f.agg_within_group ?? false)) return;
  const given = (f.args?.length ?? 0) + (f.agg_within_group ? (f.agg_order?.length ?? 0) : 0);
  if (f.agg_within_group) {
    if (given === (name === 'string_agg' ? 2 : 1)) throw new SqlError(SQLSTATE.WRONG_OBJECT_TYPE, `${name} is not an ordered-set aggregate, so it cannot have WITHIN GROUP`, at(ctx, f.location));
  } else if (given === (name === 'mode' ? 1 : 2) && !f.agg_star) throw new SqlError(SQLSTATE.WRONG_OBJECT_TYPE, `WITHIN GROUP is required for ordered-set aggregate ${name}`, at(ctx, f.location));
  throw new SqlError(SQLSTATE.UNDEFINED_FUNCTION, `function ${name}(${f.agg_star ? '*' : (f.args ?? []).map(() => '…').join(', ')}) does not exist`, {
    ...at(ctx, f.location),
    hint: 'No function matches the given name and argument types. You might need to add explicit type casts.',
  });
}

/** Functions whose value comes from the session, not from their arguments. */
function sessionFunction(name: string, args: readonly Expr[], ctx: ExprContext): Expr | undefined {
  const text = (value: string): Expr => ({ kind: 'const', type: T.text, value });
  if (args.length > 0 && name !== 'pg_typeof') return undefined;
  switch (name) {
    case 'version':
      return text(`PostgreSQL ${ctx.session.serverVersion} (Shoal) on x86_64-pc-linux-gnu, 64-bit`);
    case 'current_database':
      return { kind: 'const', type: T.name, value: ctx.session.database };
    case 'current_schema':
      return { kind: 'const', type: T.name, value: ctx.session.searchPath[0] ?? null };
    case 'current_user':
    case 'session_user':
      return { kind: 'const', type: T.name, value: ctx.session.user };
    case 'pg_typeof': {
      const arg = args[0];
      if (!arg || args.length !== 1) return undefined;
      return text(formatType(arg.type.oid === T.unknown.oid ? T.unknown : arg.type));
    }
    default:
      return undefined;
  }
}

function analyzeValueFunction(op: string, ctx: ExprContext, location: number | undefined): Expr {
  switch (op) {
    case 'SVFOP_CURRENT_USER':
    case 'SVFOP_USER':
    case 'SVFOP_SESSION_USER':
    case 'SVFOP_CURRENT_ROLE':
      return { kind: 'const', type: T.name, value: ctx.session.user };
    case 'SVFOP_CURRENT_CATALOG':
      return { kind: 'const', type: T.name, value: ctx.session.database };
    case 'SVFOP_CURRENT_SCHEMA':
      return { kind: 'const', type: T.name, value: ctx.session.searchPath[0] ?? null };
    case 'SVFOP_CURRENT_TIMESTAMP':
    case 'SVFOP_CURRENT_TIMESTAMP_N':
      return { kind: 'call', type: T.timestamptz, args: [], strict: false, volatile: false, fn: (_a, c) => c.transactionTimestamp };
    case 'SVFOP_LOCALTIMESTAMP':
    case 'SVFOP_LOCALTIMESTAMP_N':
    case 'SVFOP_CURRENT_DATE': {
      const target = op === 'SVFOP_CURRENT_DATE' ? T.date : T.timestamp;
      return { kind: 'call', type: target, args: [], strict: false, volatile: false, fn: (_a, c) => castDatum(c.transactionTimestamp, T.timestamptz, target, 'explicit', c) };
    }
    default:
      throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `${op.replace('SVFOP_', '').toLowerCase()} is not supported`, at(ctx, location));
  }
}

type SubLinkNode = Extract<Node, { SubLink: unknown }>['SubLink'];

function analyzeSubLink(s: SubLinkNode, ctx: ExprContext): Expr {
  if (s.subLinkType === 'ARRAY_SUBLINK') return arraySubquery(s, ctx);
  if (!ctx.subqueries) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'subqueries are not allowed here', at(ctx, s.location));
  const planned = ctx.subqueries.plan(required(s.subselect), ctx.scope, s.location);
  if (planned.correlated && ctx.grouping) {
    throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'correlated subqueries after GROUP BY or aggregates are not supported yet', at(ctx, s.location));
  }
  const first = planned.columns[0] ?? T.unknown;
  switch (s.subLinkType) {
    case 'EXISTS_SUBLINK':
      return { kind: 'subqueryExists', type: T.bool, id: planned.id };
    case 'EXPR_SUBLINK':
      if (planned.columns.length !== 1) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'subquery must return only one column', at(ctx, s.location));
      return { kind: 'subqueryValue', type: first, id: planned.id };
    case 'ANY_SUBLINK': {
      const op = s.operName ? lastName(s.operName) : '=';
      if (op !== '=') throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `${op} ANY (subquery) is not supported yet`, at(ctx, s.location));
      if (planned.columns.length !== 1) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'subquery has too many columns', at(ctx, s.location));
      const arg = analyzeExpr(required(s.testexpr), ctx);
      const eq = withPosition(() => resolveOperator('=', arg.type, first), ctx, s.location);
      if (eq.right.oid !== first.oid) ctx.subqueries.reproject(planned.id, [coerce({ kind: 'column', type: first, slot: 0 }, eq.right, 'implicit', ctx, s.location)]);
      return { kind: 'subqueryIn', type: T.bool, id: planned.id, arg: coerce(arg, eq.left ?? arg.type, 'implicit', ctx, s.location), equal: eq.fn, negated: false };
    }
    default:
      throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `subquery form ${s.subLinkType ?? '?'} is not supported yet`, at(ctx, s.location));
  }
}

/** Casts an expression to a type, as the context allows; literals and $n of unknown type take it directly. */
export function coerce(e: Expr, target: SqlType, context: 'implicit' | 'assignment' | 'explicit', ctx: ExprContext, location: number | undefined): Expr {
  if (e.type.oid === target.oid && (e.type.typmod === target.typmod || target.typmod < 0 || context === 'implicit')) return e;
  if (e.kind === 'param' && e.type.oid === T.unknown.oid) {
    ctx.params.set(e.index, target);
    return { ...e, type: target };
  }
  if (e.kind === 'const' && e.type.oid === T.unknown.oid) {
    if (e.value === null) return { kind: 'const', type: target, value: null };
    const base = target.typmod >= 0 ? baseOf(target) : target;
    const value = withPosition(() => castDatum(parseText(base, literalText(e.value), typeContext(ctx)), base, target, context, typeContext(ctx)), ctx, e.location ?? location);
    return { kind: 'const', type: target, value };
  }
  const how = findCast(e.type, target, context);
  if (how === null) {
    const message =
      context === 'explicit'
        ? `cannot cast type ${formatType(e.type)} to ${formatType(target)}`
        : `argument of type ${formatType(e.type)} cannot be used as ${formatType(target)}`;
    throw new SqlError(context === 'explicit' ? SQLSTATE.CANNOT_COERCE : SQLSTATE.DATATYPE_MISMATCH, message, at(ctx, location));
  }
  const from = e.type;
  // Binary-compatible casts (varchar → text) only relabel, so a column stays a column for index selection.
  if (how === 'exact' && target.typmod < 0) return { ...e, type: target };
  if (e.kind === 'const') {
    const value = withPosition(() => (e.value === null ? null : castDatum(e.value, from, target, context, typeContext(ctx))), ctx, location);
    return { kind: 'const', type: target, value };
  }
  return { kind: 'call', type: target, name: `::${formatType(target)}`, args: [e], strict: true, volatile: false, fn: ([v], c) => castDatum(v ?? null, from, target, context, c) };
}

/** Assignment to a column: the message names the column, as PostgreSQL's does. */
export function coerceForColumn(e: Expr, target: SqlType, column: string, ctx: ExprContext, location: number | undefined): Expr {
  if (e.kind !== 'param' && !(e.kind === 'const' && e.type.oid === T.unknown.oid) && e.type.oid !== target.oid && findCast(e.type, target, 'assignment') === null) {
    throw new SqlError(SQLSTATE.DATATYPE_MISMATCH, `column "${column}" is of type ${formatType(target)} but expression is of type ${formatType(e.type)}`, {
      ...at(ctx, location),
      hint: 'You will need to rewrite or cast the expression.',
    });
  }
  return coerce(e, target, 'assignment', ctx, location);
}

export function coerceToBool(e: Expr, ctx: ExprContext, location: number | undefined, clause: string): Expr {
  if (e.type.oid === T.bool.oid) return e;
  if (e.type.oid === T.unknown.oid) return coerce(e, T.bool, 'implicit', ctx, location);
  throw new SqlError(SQLSTATE.DATATYPE_MISMATCH, `argument of ${clause} must be type boolean, not type ${formatType(e.type)}`, at(ctx, location));
}

/** An expression whose type is still unknown (a bare literal) becomes text, as PG resolves it in output. */
export function settleUnknown(e: Expr, ctx: ExprContext): Expr {
  return e.type.oid === T.unknown.oid ? coerce(e, T.text, 'implicit', ctx, undefined) : e;
}

/** PostgreSQL's select_common_type for CASE, COALESCE, IN, UNION and VALUES. */
export function commonType(exprs: readonly Expr[], construct: string, ctx: ExprContext, location: number | undefined): SqlType {
  let candidate: SqlType | null = null;
  for (const e of exprs) {
    if (e.type.oid === T.unknown.oid) continue;
    if (candidate === null || candidate.oid === e.type.oid) {
      candidate ??= e.type;
      continue;
    }
    if (findCast(e.type, candidate, 'implicit') !== null && !(isPreferredOver(e.type, candidate) && findCast(candidate, e.type, 'implicit') !== null)) continue;
    if (findCast(candidate, e.type, 'implicit') !== null) {
      candidate = e.type;
      continue;
    }
    throw new SqlError(SQLSTATE.DATATYPE_MISMATCH, `${construct} types ${formatType(candidate)} and ${formatType(e.type)} cannot be matched`, at(ctx, location));
  }
  return candidate === null ? T.text : { ...candidate, typmod: -1 };
}

function isPreferredOver(a: SqlType, b: SqlType): boolean {
  return Boolean(a.preferred) && !b.preferred;
}

/** Literals are read in the session's time zone; 'now' is the statement's planning time. */
function typeContext(ctx: ExprContext): { timeZone: string; now: bigint } {
  return { timeZone: ctx.session.timeZone, now: timestampNow() };
}

/** An unknown-typed literal always holds its source text. */
function literalText(v: Datum): string {
  if (typeof v !== 'string') throw new SqlError(SQLSTATE.INTERNAL_ERROR, 'unknown literal without text');
  return v;
}

function baseOf(t: SqlType): SqlType {
  return { ...t, typmod: -1 };
}

export function typeOf(
  typeName: { names?: Node[]; typmods?: Node[]; arrayBounds?: Node[]; location?: number } | undefined,
  ctx: { position: (l: number | undefined) => number | undefined; userTypes?: UserTypeLookup | undefined },
): SqlType {
  const names = (typeName?.names ?? []).map((n) => ('String' in n ? (n.String.sval ?? '') : ''));
  const typmods = (typeName?.typmods ?? []).map((n) => {
    if ('A_Const' in n && n.A_Const.ival !== undefined) return n.A_Const.ival.ival ?? 0;
    throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'type modifiers must be simple constants or identifiers', at(ctx, typeName?.location));
  });
  const type = withPosition(() => typeFromName(names, typmods, ctx.userTypes), ctx, typeName?.location);
  return typeName?.arrayBounds?.length ? arrayType(type, ctx, typeName.location) : type;
}

/** Runs a resolution step and attaches the statement position to its SqlError. */
export function withPosition<R>(work: () => R, ctx: { position: (l: number | undefined) => number | undefined }, location: number | undefined): R {
  try {
    return work();
  } catch (err) {
    if (err instanceof SqlError) throw err.at(ctx.position(location));
    throw err;
  }
}

export function at(ctx: { position: (l: number | undefined) => number | undefined }, location: number | undefined): { position?: number } {
  const p = ctx.position(location);
  return p === undefined ? {} : { position: p };
}

export function lastName(names: readonly Node[] | undefined): string {
  const last = names?.[names.length - 1];
  return last && 'String' in last ? (last.String.sval ?? '') : '';
}

export function required<N>(node: N | undefined): N {
  if (node === undefined) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'incomplete expression');
  return node;
}

function listItems(node: Node | undefined): Node[] {
  if (node === undefined) return [];
  if ('List' in node) return node.List.items ?? [];
  return [node];
}

export function locationOf(node: Node | undefined): number | undefined {
  if (!node) return undefined;
  const inner: unknown = Object.values(node)[0];
  if (typeof inner !== 'object' || inner === null || !('location' in inner)) return undefined;
  return typeof inner.location === 'number' ? inner.location : undefined;
}

function childNodes(node: Node): Node[] {
  const out: Node[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const v of value) visit(v);
    } else if (value && typeof value === 'object') {
      const keys = Object.keys(value);
      if (keys.length === 1 && /^[A-Z]/.test(keys[0] ?? '')) out.push(value as Node);
      else for (const v of Object.values(value)) visit(v);
    }
  };
  for (const v of Object.values(Object.values(node)[0] as object)) visit(v);
  return out;
}

/** Whether FigureColnameInternal gives the expression's name strength 2 (not a type name or a default). */
function hasStrongColname(node: Node): boolean {
  if ('ColumnRef' in node || 'FuncCall' in node || 'CoalesceExpr' in node || 'MinMaxExpr' in node || 'SQLValueFunction' in node) return true;
  if ('TypeCast' in node) return node.TypeCast.arg !== undefined && hasStrongColname(node.TypeCast.arg);
  if ('CaseExpr' in node) return node.CaseExpr.defresult !== undefined && hasStrongColname(node.CaseExpr.defresult);
  return false;
}

/** PostgreSQL's FigureColname: the column name a select-list expression gets without an alias. */
export function figureColname(node: Node): string {
  if ('ColumnRef' in node) {
    const last = node.ColumnRef.fields?.[node.ColumnRef.fields.length - 1];
    return last && 'String' in last ? (last.String.sval ?? '?column?') : '?column?';
  }
  if ('FuncCall' in node) return lastName(node.FuncCall.funcname);
  if ('TypeCast' in node) {
    const inner = node.TypeCast.arg ? figureColname(node.TypeCast.arg) : '?column?';
    if (inner !== '?column?') return inner;
    return lastName(node.TypeCast.typeName?.names);
  }
  if ('CaseExpr' in node) {
    // PG takes the ELSE result's name when it is a strong one (a column or function name), e.g. psql's `CASE … ELSE c.reloftype::regtype::text END`.
    const otherwise = node.CaseExpr.defresult;
    return otherwise && hasStrongColname(otherwise) ? figureColname(otherwise) : 'case';
  }
  if ('CoalesceExpr' in node) return 'coalesce';
  if ('MinMaxExpr' in node) return node.MinMaxExpr.op === 'IS_GREATEST' ? 'greatest' : 'least';
  if ('A_Expr' in node && node.A_Expr.kind === 'AEXPR_NULLIF') return 'nullif';
  if ('SubLink' in node) {
    if (node.SubLink.subLinkType === 'EXISTS_SUBLINK') return 'exists';
    const sub = node.SubLink.subselect;
    if (node.SubLink.subLinkType === 'EXPR_SUBLINK' && sub && 'SelectStmt' in sub) {
      const first = sub.SelectStmt.targetList?.[0];
      if (first && 'ResTarget' in first) return first.ResTarget.name ?? (first.ResTarget.val ? figureColname(first.ResTarget.val) : '?column?');
    }
    return '?column?';
  }
  if ('SQLValueFunction' in node) {
    const op = node.SQLValueFunction.op ?? '';
    return op.replace('SVFOP_', '').replace(/_N$/, '').toLowerCase();
  }
  return '?column?';
}

export type { Datum };
