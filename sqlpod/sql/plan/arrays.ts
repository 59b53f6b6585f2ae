// Real array values (one-dimensional): ARRAY[…], comparison and || on arrays,
// op ANY/ALL (array), subscripts and the array functions. The catalog's text
// stand-in for arrays (./system.ts) still serves text-typed operands.
import type { Node } from '@pgsql/types';
import { SQLSTATE, SqlError } from '../errors.js';
import { SqlArray, T, arrayOf, arrayValue, compare, formatText, formatType, resolveOperator, type Datum, type SqlType } from '../types/index.js';
import { at, coerce, commonType, settleUnknown, withPosition, type ExprContext } from './analyze-expr.js';
import type { OperatorFn } from '../types/operators.js';
import type { EvalContext, Expr } from './expr.js';

export function arrayTypeOf(element: SqlType, ctx: Pick<ExprContext, 'position'>, location: number | undefined): SqlType {
  if (element.element) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'multidimensional arrays are not supported', at(ctx, location));
  const t = arrayOf(element);
  if (!t) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `arrays of type ${formatType(element)} are not supported`, at(ctx, location));
  return t;
}

function call(type: SqlType, args: readonly Expr[], name: string, fn: (args: readonly Datum[], c: EvalContext) => Datum, strict = true): Expr {
  return { kind: 'call', type, name, args, strict, volatile: false, fn };
}

const items = (d: Datum | undefined): readonly Datum[] => arrayValue(d ?? null).items;

/** ARRAY[e1, …]: the elements' common type, as for CASE; `target` is the array type a cast around it asks for. */
export function arrayConstructor(elements: readonly Node[], target: SqlType | undefined, analyze: (n: Node) => Expr, ctx: ExprContext, location: number | undefined): Expr {
  if (elements.some((e) => 'A_ArrayExpr' in e)) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'multidimensional arrays are not supported', at(ctx, location));
  const values = elements.map(analyze);
  let element: SqlType;
  if (target?.element) element = target.element;
  else if (values.length === 0) throw new SqlError(SQLSTATE.INDETERMINATE_DATATYPE, 'cannot determine type of empty array', { ...at(ctx, location), hint: 'Explicitly cast to the desired type, for example ARRAY[]::integer[].' });
  else element = commonType(values, 'ARRAY', ctx, location);
  const type = arrayTypeOf(element, ctx, location);
  const args = values.map((v) => coerce(v, element, target ? 'explicit' : 'implicit', ctx, location));
  if (args.every((a) => a.kind === 'const')) return { kind: 'const', type, value: new SqlArray(args.map((a) => (a.kind === 'const' ? a.value : null))) };
  return call(type, args, 'ARRAY', (vs) => new SqlArray(vs.map((v) => v ?? null)), false);
}

/**
 * The array type of a type name (`int[]`, `text[][]`: PostgreSQL does not
 * enforce the dimensions). Array types carry no element modifier here, so
 * `varchar(10)[]` is refused rather than silently not checked.
 */
export function arrayType(element: SqlType, ctx: Pick<ExprContext, 'position'>, location: number | undefined): SqlType {
  if (element.typmod >= 0) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `arrays of ${formatType(element)} (an element type with a modifier) are not supported`, at(ctx, location));
  return arrayTypeOf(element, ctx, location);
}

const COMPARISONS: Readonly<Record<string, (c: number) => boolean>> = {
  '=': (c) => c === 0,
  '<>': (c) => c !== 0,
  '!=': (c) => c !== 0,
  '<': (c) => c < 0,
  '<=': (c) => c <= 0,
  '>': (c) => c > 0,
  '>=': (c) => c >= 0,
};

/** A comparison of arrays (both operands cast to the array operand's type), or undefined when neither operand is an array. */
export function arrayComparisonOperator(op: string, left: Expr, right: Expr, ctx: ExprContext, location: number | undefined): { result: SqlType; left: Expr; right: Expr; fn: OperatorFn } | undefined {
  const type = left.type.element ? left.type : right.type.element ? right.type : undefined;
  const test = COMPARISONS[op];
  if (!type || !test) return undefined;
  const a = coerce(left, type, 'implicit', ctx, location);
  const b = coerce(right, type, 'implicit', ctx, location);
  if (a.type.oid !== b.type.oid) throw new SqlError(SQLSTATE.UNDEFINED_FUNCTION, `operator does not exist: ${formatType(left.type)} ${op} ${formatType(right.type)}`, at(ctx, location));
  return { result: T.bool, left: a, right: b, fn: (x, y) => test(compare(type, x, y)) };
}

/** || when an operand is an array (array_cat, array_append or array_prepend); undefined otherwise. */
export function arrayConcatenation(op: string, left: Expr, right: Expr, ctx: ExprContext, location: number | undefined): Expr | undefined {
  const l = left.type.element ? left : undefined;
  const r = right.type.element ? right : undefined;
  if ((!l && !r) || op !== '||') return undefined;
  if (l && r && right.type.oid !== T.unknown.oid) return arrayFunction('array_cat', [left, right], ctx, location);
  if (l) return arrayFunction(right.type.oid === T.unknown.oid ? 'array_cat' : 'array_append', [left, right], ctx, location);
  return arrayFunction(left.type.oid === T.unknown.oid ? 'array_cat' : 'array_prepend', [left, right], ctx, location);
}

/** `x op ANY (array)` / `x op ALL (array)` over a real array, with PostgreSQL's NULL rules. */
export function arrayComparison(op: string, left: Expr, right: Expr, all: boolean, ctx: ExprContext, location: number | undefined): Expr {
  const element = right.type.element ?? T.text;
  const resolved = withPosition(() => resolveOperator(op, left.type, element), ctx, location);
  if (resolved.result.oid !== T.bool.oid) throw new SqlError(SQLSTATE.WRONG_OBJECT_TYPE, 'op ANY/ALL (array) requires operator to yield boolean', at(ctx, location));
  const x = coerce(left, resolved.left ?? left.type, 'implicit', ctx, location);
  const arr = coerce(right, arrayTypeOf(resolved.right, ctx, location), 'implicit', ctx, location);
  const fn = resolved.fn;
  return {
    kind: 'call',
    type: T.bool,
    args: [x, arr],
    strict: false,
    volatile: false,
    fn: ([v, a], c) => {
      if (a === null || a === undefined) return null;
      const elements = items(a);
      if (elements.length === 0) return all;
      if (v === null || v === undefined) return null;
      let sawNull = false;
      for (const e of elements) {
        const r = e === null ? null : fn(v, e, c);
        if (r === null) sawNull = true;
        else if (r === !all) return !all;
      }
      return sawNull ? null : all;
    },
  };
}

/** `arr[i]` on a real array: the element, NULL out of range. */
export function arraySubscript(arg: Expr, index: Expr, ctx: ExprContext, location: number | undefined): Expr {
  const element = arg.type.element ?? T.text;
  const i = coerce(index, T.int4, 'implicit', ctx, location);
  return call(element, [arg, i], '[]', ([a, n]) => items(a)[(n as number) - 1] ?? null);
}

const FUNCTIONS = new Set(['array_length', 'array_upper', 'array_lower', 'array_ndims', 'cardinality', 'array_position', 'array_to_string', 'string_to_array', 'array_append', 'array_prepend', 'array_cat']);

/** The array functions when an argument is a real array (string_to_array always); undefined otherwise. */
export function arrayFunction(name: string, args: readonly Expr[], ctx: ExprContext, location: number | undefined): Expr | undefined {
  if (!FUNCTIONS.has(name)) return undefined;
  if (name !== 'string_to_array' && !args.some((a) => a.type.element)) return undefined;
  const n = args.length;
  const [a0, a1, a2] = args;
  const arrayArg = (e: Expr | undefined): Expr => {
    if (!e?.type.element) throw new SqlError(SQLSTATE.UNDEFINED_FUNCTION, `function ${name}(${args.map((a) => formatType(a.type)).join(', ')}) does not exist`, at(ctx, location));
    return e;
  };
  const int = (e: Expr | undefined): Expr => coerce(e ?? { kind: 'const', type: T.int4, value: null }, T.int4, 'implicit', ctx, location);
  const txt = (e: Expr | undefined): Expr => coerce(settleUnknown(e ?? { kind: 'const', type: T.text, value: null }, ctx), T.text, 'implicit', ctx, location);
  switch (name) {
    case 'array_length':
    case 'array_upper':
    case 'array_lower':
      if (n !== 2) break;
      return call(T.int4, [arrayArg(a0), int(a1)], name, ([a, d]) => {
        const count = items(a).length;
        if (d !== 1 || count === 0) return null;
        return name === 'array_lower' ? 1 : count;
      });
    case 'array_ndims':
      if (n !== 1) break;
      return call(T.int4, [arrayArg(a0)], name, ([a]) => (items(a).length === 0 ? null : 1));
    case 'cardinality':
      if (n !== 1) break;
      return call(T.int4, [arrayArg(a0)], name, ([a]) => items(a).length);
    case 'array_position': {
      if (n !== 2 && n !== 3) break;
      const arr = arrayArg(a0);
      const element = arr.type.element ?? T.text;
      const x = coerce(a1 ?? arr, element, 'implicit', ctx, location);
      const start = n === 3 ? [int(a2)] : [];
      return call(T.int4, [arr, x, ...start], name, ([a, v, s]) => {
        if (a === null || a === undefined) return null;
        if (s === null) return null;
        const list = items(a);
        for (let k = Math.max(((s as number | undefined) ?? 1) - 1, 0); k < list.length; k++) {
          const e = list[k] ?? null;
          // IS NOT DISTINCT FROM: array_position finds NULL too.
          if (e === null ? v === null || v === undefined : v !== null && v !== undefined && compare(element, e, v) === 0) return k + 1;
        }
        return null;
      }, false);
    }
    case 'array_to_string': {
      if (n !== 2 && n !== 3) break;
      const arr = arrayArg(a0);
      const element = arr.type.element ?? T.text;
      return call(T.text, [arr, txt(a1), ...(n === 3 ? [txt(a2)] : [])], name, ([a, sep, nullText], c) => {
        if (a === null || a === undefined || sep === null || sep === undefined) return null;
        const shown = items(a).flatMap((e) => (e !== null ? [formatText(element, e, c)] : nullText !== null && nullText !== undefined ? [nullText as string] : []));
        return shown.join(sep as string);
      }, false);
    }
    case 'string_to_array': {
      if (n !== 2 && n !== 3) break;
      return call(arrayTypeOf(T.text, ctx, location), [txt(a0), txt(a1), ...(n === 3 ? [txt(a2)] : [])], name, ([s, sep, nullText]) => {
        if (s === null || s === undefined) return null;
        const text = s as string;
        if (text === '') return new SqlArray([]);
        const parts = sep === null || sep === undefined ? Array.from(text) : sep === '' ? [text] : text.split(sep as string);
        return new SqlArray(parts.map((p) => (nullText !== null && nullText !== undefined && p === nullText ? null : p)));
      }, false);
    }
    case 'array_append':
    case 'array_prepend': {
      if (n !== 2) break;
      const arrIndex = name === 'array_append' ? 0 : 1;
      const arr = arrayArg(args[arrIndex]);
      const element = arr.type.element ?? T.text;
      const x = coerce(args[1 - arrIndex] ?? arr, element, 'implicit', ctx, location);
      return call(arr.type, arrIndex === 0 ? [arr, x] : [x, arr], name, ([p, q]) => {
        const [a, v] = arrIndex === 0 ? [p, q] : [q, p];
        const list = a === null || a === undefined ? [] : items(a);
        return new SqlArray(arrIndex === 0 ? [...list, v ?? null] : [v ?? null, ...list]);
      }, false);
    }
    case 'array_cat': {
      if (n !== 2) break;
      const type = (a0?.type.element ? a0.type : a1?.type) ?? T.text;
      const [p, q] = [coerce(a0 ?? a1 ?? { kind: 'const', type, value: null }, type, 'implicit', ctx, location), coerce(a1 ?? a0 ?? { kind: 'const', type, value: null }, type, 'implicit', ctx, location)];
      return call(type, [p, q], name, ([x, y]) => {
        if ((x === null || x === undefined) && (y === null || y === undefined)) return null;
        return new SqlArray([...(x === null || x === undefined ? [] : items(x)), ...(y === null || y === undefined ? [] : items(y))]);
      }, false);
    }
  }
  throw new SqlError(SQLSTATE.UNDEFINED_FUNCTION, `function ${name}(${args.map((a) => formatType(a.type)).join(', ')}) does not exist`, at(ctx, location));
}
