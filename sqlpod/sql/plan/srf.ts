// Functions in FROM: generate_series, unnest of arrays, and
// any scalar function (one row), alone or zipped by ROWS FROM (…), WITH
// ORDINALITY, named as PostgreSQL names them. Their arguments may read earlier
// FROM items (functions in FROM are implicitly LATERAL): ./from.ts gives the
// context they are analyzed in and runs them per row when they do.
import type { Node } from '@pgsql/types';
import { SQLSTATE, SqlError } from '../errors.js';
import { T, formatType, type SqlType } from '../types/index.js';
import { selectCandidate } from '../types/resolve.js';
import { analyzeExpr, at, coerce, commonType, lastName, settleUnknown, type ExprContext } from './analyze-expr.js';
import { stringsOf } from './context.js';
import type { Expr } from './expr.js';
import type { OutputColumn, PlanNode } from './plan.js';

type RangeFunctionNode = Extract<Node, { RangeFunction: unknown }>['RangeFunction'];
type FuncCallNode = Extract<Node, { FuncCall: unknown }>['FuncCall'];

/**
 * One column of a function scan. A series counts from `start` to `stop` by
 * `step` (1 when null) in integer, numeric or timestamp arithmetic; `values`
 * are the rows' values in order (an unnested ARRAY[…], a scalar function's one value);
 * `elements` are those of an array value (unnest of an array expression).
 */
export type SetFunction =
  | { readonly kind: 'series'; readonly type: SqlType; readonly start: Expr; readonly stop: Expr; readonly step: Expr | null }
  | { readonly kind: 'values'; readonly type: SqlType; readonly values: readonly Expr[] }
  | { readonly kind: 'elements'; readonly type: SqlType; readonly array: Expr };

/**
 * Set-returning functions PostgreSQL has that Shoal does not: refused as
 * unsupported in FROM (and anywhere in the select list, see ./analyze-expr.ts).
 */
const UNSUPPORTED_SRFS = new Set([
  'generate_subscripts',
  'json_array_elements',
  'json_array_elements_text',
  'jsonb_array_elements',
  'jsonb_array_elements_text',
  'json_each',
  'json_each_text',
  'jsonb_each',
  'jsonb_each_text',
  'json_object_keys',
  'jsonb_object_keys',
  'json_populate_recordset',
  'jsonb_populate_recordset',
  'json_to_recordset',
  'jsonb_to_recordset',
  'jsonb_path_query',
  'regexp_matches',
  'regexp_split_to_table',
  'string_to_table',
  'pg_get_keywords',
  'pg_options_to_table',
]);

/** generate_series's signatures in PostgreSQL 15. */
const SERIES: readonly { readonly args: readonly SqlType[] }[] = [
  { args: [T.int4, T.int4] },
  { args: [T.int4, T.int4, T.int4] },
  { args: [T.int8, T.int8] },
  { args: [T.int8, T.int8, T.int8] },
  { args: [T.numeric, T.numeric] },
  { args: [T.numeric, T.numeric, T.numeric] },
  { args: [T.timestamp, T.timestamp, T.interval] },
  { args: [T.timestamptz, T.timestamptz, T.interval] },
];

export interface PlannedFunctions {
  readonly root: PlanNode;
  readonly columns: readonly OutputColumn[];
  /** The FROM item's name: the alias, else the (first) function's name. */
  readonly name: string;
}

/** Plans a function FROM item; `ctx` resolves its arguments' names (earlier FROM items included). */
export function planFunctions(rf: RangeFunctionNode, ctx: ExprContext): PlannedFunctions {
  if (rf.coldeflist?.length) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'column definition lists for functions in FROM are not supported');
  const calls: { fn: SetFunction; name: string }[] = [];
  for (const item of rf.functions ?? []) {
    const [call, coldefs] = 'List' in item ? (item.List.items ?? []) : [];
    if (coldefs && 'List' in coldefs && coldefs.List.items?.length) {
      throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'column definition lists for functions in FROM are not supported');
    }
    if (!call || !('FuncCall' in call)) {
      throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `${call ? (Object.keys(call)[0] ?? '?') : 'this expression'} in FROM is not supported`);
    }
    calls.push(...planCall(call.FuncCall, call, ctx));
  }
  const first = calls[0];
  if (!first) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'a function in FROM without a function');
  const alias = rf.alias?.aliasname;
  // A lone function's column is named by the table alias, as PostgreSQL does for functions returning a base type.
  const names = calls.length === 1 && alias !== undefined ? [alias] : calls.map((c) => c.name);
  const columns: OutputColumn[] = calls.map((c, i) => ({ name: names[i] ?? c.name, type: c.fn.type, tableOid: 0, columnNumber: 0 }));
  if (rf.ordinality) columns.push({ name: 'ordinality', type: T.int8, tableOid: 0, columnNumber: 0 });
  const colnames = stringsOf(rf.alias?.colnames);
  const table = alias ?? first.name;
  if (colnames.length > columns.length) {
    throw new SqlError(SQLSTATE.INVALID_COLUMN_REFERENCE, `table "${table}" has ${columns.length} columns available but ${colnames.length} columns specified`);
  }
  return {
    root: { kind: 'functionScan', functions: calls.map((c) => c.fn), ordinality: rf.ordinality ?? false },
    columns: columns.map((c, i) => ({ ...c, name: colnames[i] ?? c.name })),
    name: table,
  };
}

function planCall(f: FuncCallNode, node: Node, ctx: ExprContext): { fn: SetFunction; name: string }[] {
  const name = lastName(f.funcname).toLowerCase();
  const loc = f.location;
  const schema = (f.funcname?.length ?? 0) > 1 ? lastName(f.funcname?.slice(0, -1)) : 'pg_catalog';
  if (schema !== 'pg_catalog') throw new SqlError(SQLSTATE.UNDEFINED_FUNCTION, `function ${schema}.${name} does not exist`, at(ctx, loc));
  if (f.over) throw new SqlError(SQLSTATE.WINDOWING_ERROR, 'window functions are not allowed in functions in FROM', at(ctx, loc));
  if (f.agg_star || f.agg_distinct || f.agg_order?.length || f.agg_filter || f.agg_within_group || f.func_variadic) {
    if (name === 'generate_series' || name === 'unnest') throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `this form of ${name} is not supported`, at(ctx, loc));
  }
  if (name === 'generate_series') return [{ fn: series(f, ctx), name }];
  if (name === 'unnest') return unnest(f, ctx);
  if (name === 'pg_partition_ancestors') {
    // Shoal has no partitions, and PostgreSQL lists no ancestors for a relation that is not one (psql's \d asks).
    if (f.args?.length !== 1) throw new SqlError(SQLSTATE.UNDEFINED_FUNCTION, 'function pg_partition_ancestors does not exist', at(ctx, loc));
    coerce(analyzeExpr(f.args[0] as Node, ctx), T.oid, 'implicit', ctx, loc);
    return [{ fn: { kind: 'values', type: T.oid, values: [] }, name }];
  }
  if (UNSUPPORTED_SRFS.has(name)) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `set-returning function ${name} is not supported`, at(ctx, loc));
  // Any other function gives one row: its value.
  const value = settleUnknown(analyzeExpr(node, ctx), ctx);
  return [{ fn: { kind: 'values', type: value.type, values: [value] }, name }];
}

function series(f: FuncCallNode, ctx: ExprContext): SetFunction {
  const args = (f.args ?? []).map((a) => analyzeExpr(a, ctx));
  const chosen = selectCandidate(SERIES, args.map((a) => a.type));
  const signature = `generate_series(${args.map((a) => formatType(a.type)).join(', ')})`;
  if (chosen === 'none') {
    throw new SqlError(SQLSTATE.UNDEFINED_FUNCTION, `function ${signature} does not exist`, {
      ...at(ctx, f.location),
      hint: 'No function matches the given name and argument types. You might need to add explicit type casts.',
    });
  }
  if (chosen === 'ambiguous') throw new SqlError(SQLSTATE.AMBIGUOUS_FUNCTION, `function ${signature} is not unique`, at(ctx, f.location));
  const [start, stop, step] = args.map((a, i) => coerce(a, chosen.args[i] ?? a.type, 'implicit', ctx, f.location)) as [Expr, Expr, Expr | undefined];
  return { kind: 'series', type: chosen.args[0] ?? T.int4, start, stop, step: step ?? null };
}

/** unnest(array, …): one column per array (zipped, as PostgreSQL's multi-argument unnest). */
function unnest(f: FuncCallNode, ctx: ExprContext): { fn: SetFunction; name: string }[] {
  const args = f.args ?? [];
  if (args.length === 0) throw new SqlError(SQLSTATE.UNDEFINED_FUNCTION, 'function unnest() does not exist', at(ctx, f.location));
  return args.map((a) => {
    if (!('A_ArrayExpr' in a) || (a.A_ArrayExpr.elements ?? []).length === 0) {
      const array = analyzeExpr(a, ctx);
      const type = array.type.element;
      if (!type) throw new SqlError(SQLSTATE.UNDEFINED_FUNCTION, `function unnest(${formatType(array.type)}) does not exist`, at(ctx, f.location));
      return { fn: { kind: 'elements', type, array }, name: 'unnest' };
    }
    const elements = a.A_ArrayExpr.elements ?? [];
    if (elements.some((e) => 'A_ArrayExpr' in e)) {
      throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'unnest of multidimensional arrays is not supported', at(ctx, a.A_ArrayExpr.location));
    }
    const values = elements.map((e) => analyzeExpr(e, ctx));
    const type = commonType(values, 'ARRAY', ctx, a.A_ArrayExpr.location);
    return { fn: { kind: 'values', type, values: values.map((v) => coerce(v, type, 'implicit', ctx, a.A_ArrayExpr.location)) }, name: 'unnest' };
  });
}
