// Typed scalar expressions, produced by the analyzer and compiled into
// closures once per plan: evaluation is synchronous and allocation-light,
// because it runs per row. Anything that needs I/O (subqueries) is prepared
// before evaluation starts.
import { SQLSTATE, SqlError } from '../errors.js';
import { compare, type Datum, type SettingsAccess, type SqlType } from '../types/index.js';

export interface EvalContext {
  readonly params: readonly Datum[];
  readonly timeZone: string;
  readonly statementTimestamp: bigint;
  readonly transactionTimestamp: bigint;
  /** Results of the statement's subqueries, by subquery id. */
  readonly subqueries: SubqueryResults;
  readonly sequences: SequenceValues;
  /** Rows of the enclosing queries, innermost first, for a correlated subquery's outer references. */
  readonly outer: readonly Row[];
  /** A new unique row id for tables without a primary key. */
  readonly uniqueRowId: () => bigint;
  /** Outcomes of the statement's advisory lock calls, by call site (../locks/functions.ts). */
  readonly advisoryLocks?: ReadonlyMap<object, Datum>;
  /** The session's settings, for current_setting and set_config; absent where no session runs the expression. */
  readonly settings?: SettingsAccess;
}

export interface SequenceValues {
  /** The next reserved value of a sequence; 0A000 when none was reserved. */
  next(sequenceId: number): bigint;
  /** currval: what nextval last gave this session for the sequence (55000 before that). */
  current(sequenceId: number): bigint;
  /** lastval: what nextval last gave this session for any sequence (55000 before that). */
  last(): bigint;
  /**
   * setval: checked against the sequence's bounds (22003) now, written once
   * the statement has run (like PostgreSQL's, it is not undone by a rollback).
   */
  set(sequenceId: number, value: bigint, isCalled: boolean): bigint;
}

export interface SubqueryResults {
  /**
   * The rows of a subquery: computed once before the statement for an
   * uncorrelated one, per row of the enclosing query (`row`) for a correlated one.
   */
  rows(id: number, row: Row): readonly (readonly Datum[])[];
}

export type Row = Datum[];

export type Expr =
  /** `location`: where a literal stands in the query, so a failed coercion can point at it. */
  | { readonly kind: 'const'; readonly type: SqlType; readonly value: Datum; readonly location?: number }
  | { readonly kind: 'param'; readonly type: SqlType; readonly index: number }
  | { readonly kind: 'column'; readonly type: SqlType; readonly slot: number }
  /** A column of an enclosing query's row (depth 1 = the query directly around this subquery). */
  | { readonly kind: 'outer'; readonly type: SqlType; readonly depth: number; readonly slot: number }
  | {
      readonly kind: 'call';
      readonly type: SqlType;
      /** The operator this call applies, when it is one (index selection looks for comparisons). */
      readonly op?: string;
      /** The sequence this call draws from (nextval): values are reserved before evaluation. */
      readonly sequence?: number;
      /** How EXPLAIN shows a call that is not a binary operator: a function's name, a prefix operator, or `::type` for a cast. */
      readonly name?: string;
      readonly args: readonly Expr[];
      readonly strict: boolean;
      readonly volatile: boolean;
      readonly fn: (args: readonly Datum[], ctx: EvalContext) => Datum;
    }
  | { readonly kind: 'and' | 'or'; readonly type: SqlType; readonly args: readonly Expr[] }
  | { readonly kind: 'not'; readonly type: SqlType; readonly arg: Expr }
  | { readonly kind: 'isNull'; readonly type: SqlType; readonly arg: Expr; readonly negated: boolean }
  | { readonly kind: 'isBool'; readonly type: SqlType; readonly arg: Expr; readonly test: 'true' | 'false' | 'unknown'; readonly negated: boolean }
  | { readonly kind: 'case'; readonly type: SqlType; readonly whens: readonly (readonly [Expr, Expr])[]; readonly otherwise: Expr }
  | { readonly kind: 'coalesce'; readonly type: SqlType; readonly args: readonly Expr[] }
  | { readonly kind: 'minmax'; readonly type: SqlType; readonly args: readonly Expr[]; readonly greatest: boolean }
  /** a IS [NOT] DISTINCT FROM b, with `equal` the resolved = operator. */
  | { readonly kind: 'distinct'; readonly type: SqlType; readonly left: Expr; readonly right: Expr; readonly equal: (a: Datum, b: Datum) => Datum; readonly negated: boolean }
  /** x [NOT] IN (list) with PG's NULL rules: `equal` is the resolved = operator. */
  | { readonly kind: 'inList'; readonly type: SqlType; readonly arg: Expr; readonly list: readonly Expr[]; readonly equal: (a: Datum, b: Datum) => Datum; readonly negated: boolean }
  /** Scalar subquery: its single value, NULL when empty, 21000 when more than one row. */
  | { readonly kind: 'subqueryValue'; readonly type: SqlType; readonly id: number }
  | { readonly kind: 'subqueryExists'; readonly type: SqlType; readonly id: number }
  | { readonly kind: 'subqueryIn'; readonly type: SqlType; readonly id: number; readonly arg: Expr; readonly equal: (a: Datum, b: Datum) => Datum; readonly negated: boolean };

export type Compiled = (row: Row, ctx: EvalContext) => Datum;

/** Turns an expression tree into one closure. */
export function compile(expr: Expr): Compiled {
  switch (expr.kind) {
    case 'const': {
      const v = expr.value;
      return () => v;
    }
    case 'param': {
      const i = expr.index;
      return (_row, ctx) => ctx.params[i] ?? null;
    }
    case 'column': {
      const slot = expr.slot;
      return (row) => row[slot] ?? null;
    }
    case 'outer': {
      const { depth, slot } = expr;
      return (_row, ctx) => ctx.outer[depth - 1]?.[slot] ?? null;
    }
    case 'call': {
      const args = expr.args.map(compile);
      const { fn, strict } = expr;
      if (args.length === 1 && strict) {
        const [a] = args as [Compiled];
        return (row, ctx) => {
          const v = a(row, ctx);
          return v === null ? null : fn([v], ctx);
        };
      }
      if (args.length === 2 && strict) {
        const [a, b] = args as [Compiled, Compiled];
        return (row, ctx) => {
          const x = a(row, ctx);
          if (x === null) return null;
          const y = b(row, ctx);
          return y === null ? null : fn([x, y], ctx);
        };
      }
      return (row, ctx) => {
        const values = args.map((a) => a(row, ctx));
        if (strict && values.includes(null)) return null;
        return fn(values, ctx);
      };
    }
    case 'and': {
      const args = expr.args.map(compile);
      return (row, ctx) => {
        let sawNull = false;
        for (const a of args) {
          const v = a(row, ctx);
          if (v === false) return false;
          if (v === null) sawNull = true;
        }
        return sawNull ? null : true;
      };
    }
    case 'or': {
      const args = expr.args.map(compile);
      return (row, ctx) => {
        let sawNull = false;
        for (const a of args) {
          const v = a(row, ctx);
          if (v === true) return true;
          if (v === null) sawNull = true;
        }
        return sawNull ? null : false;
      };
    }
    case 'not': {
      const a = compile(expr.arg);
      return (row, ctx) => {
        const v = a(row, ctx);
        return v === null ? null : !v;
      };
    }
    case 'isNull': {
      const a = compile(expr.arg);
      const negated = expr.negated;
      return (row, ctx) => (a(row, ctx) === null) !== negated;
    }
    case 'isBool': {
      const a = compile(expr.arg);
      const { test, negated } = expr;
      const wanted = test === 'true' ? true : test === 'false' ? false : null;
      return (row, ctx) => (a(row, ctx) === wanted) !== negated;
    }
    case 'case': {
      const whens = expr.whens.map(([c, r]) => [compile(c), compile(r)] as const);
      const otherwise = compile(expr.otherwise);
      return (row, ctx) => {
        for (const [c, r] of whens) if (c(row, ctx) === true) return r(row, ctx);
        return otherwise(row, ctx);
      };
    }
    case 'coalesce': {
      const args = expr.args.map(compile);
      return (row, ctx) => {
        for (const a of args) {
          const v = a(row, ctx);
          if (v !== null) return v;
        }
        return null;
      };
    }
    case 'minmax': {
      const args = expr.args.map(compile);
      const { type, greatest } = expr;
      return (row, ctx) => {
        let best: Datum = null;
        for (const a of args) {
          const v = a(row, ctx);
          if (v === null) continue;
          if (best === null || (greatest ? compare(type, v, best) > 0 : compare(type, v, best) < 0)) best = v;
        }
        return best;
      };
    }
    case 'distinct': {
      const left = compile(expr.left);
      const right = compile(expr.right);
      const { equal, negated } = expr;
      return (row, ctx) => {
        const a = left(row, ctx);
        const b = right(row, ctx);
        const distinct = a === null || b === null ? (a === null) !== (b === null) : equal(a, b) !== true;
        return distinct !== negated;
      };
    }
    case 'inList': {
      const arg = compile(expr.arg);
      const list = expr.list.map(compile);
      const { equal, negated } = expr;
      return (row, ctx) => inResult(arg(row, ctx), list.map((e) => e(row, ctx)), equal, negated);
    }
    case 'subqueryValue': {
      const id = expr.id;
      return (row, ctx) => {
        const rows = ctx.subqueries.rows(id, row);
        if (rows.length > 1) throw new SqlError(SQLSTATE.CARDINALITY_VIOLATION, 'more than one row returned by a subquery used as an expression');
        return rows[0]?.[0] ?? null;
      };
    }
    case 'subqueryExists': {
      const id = expr.id;
      return (row, ctx) => ctx.subqueries.rows(id, row).length > 0;
    }
    case 'subqueryIn': {
      const arg = compile(expr.arg);
      const { id, equal, negated } = expr;
      return (row, ctx) => inResult(arg(row, ctx), ctx.subqueries.rows(id, row).map((r) => r[0] ?? null), equal, negated);
    }
  }
}

/** x IN (values): true on a match; NULL when no match but a NULL was involved; else false. */
function inResult(x: Datum, values: readonly Datum[], equal: (a: Datum, b: Datum) => Datum, negated: boolean): Datum {
  if (values.length === 0) return negated;
  if (x === null) return null;
  let sawNull = false;
  for (const v of values) {
    if (v === null) {
      sawNull = true;
      continue;
    }
    const eq = equal(x, v);
    if (eq === true) return !negated;
    if (eq === null) sawNull = true;
  }
  return sawNull ? null : negated;
}

/** The expressions an expression applies to directly (not those inside its subqueries). */
export function exprChildren(e: Expr): readonly Expr[] {
  switch (e.kind) {
    case 'call':
    case 'and':
    case 'or':
    case 'coalesce':
    case 'minmax':
      return e.args;
    case 'not':
    case 'isNull':
    case 'isBool':
      return [e.arg];
    case 'case':
      return [...e.whens.flat(), e.otherwise];
    case 'distinct':
      return [e.left, e.right];
    case 'inList':
      return [e.arg, ...e.list];
    case 'subqueryIn':
      return [e.arg];
    default:
      return [];
  }
}

/** True when the expression's value cannot change during a statement (no columns, no volatile calls). */
export function isStable(expr: Expr): boolean {
  switch (expr.kind) {
    case 'const':
    case 'param':
      return true;
    case 'column':
    case 'outer':
    case 'subqueryValue':
    case 'subqueryExists':
    case 'subqueryIn':
      return false;
    case 'call':
      return !expr.volatile && expr.args.every(isStable);
    case 'and':
    case 'or':
    case 'coalesce':
    case 'minmax':
      return expr.args.every(isStable);
    case 'not':
    case 'isNull':
    case 'isBool':
      return isStable(expr.arg);
    case 'case':
      return expr.whens.every(([c, r]) => isStable(c) && isStable(r)) && isStable(expr.otherwise);
    case 'distinct':
      return isStable(expr.left) && isStable(expr.right);
    case 'inList':
      return isStable(expr.arg) && expr.list.every(isStable);
  }
}
