// Compiled expressions as EXPLAIN prints them, in the shape of PostgreSQL's
// ruleutils: operators parenthesized, literals with their type unless an
// integer, numeric or boolean, columns by the names of the slots they read.
import { quoteLiteral } from '../catalog/system/deparse.js';
import { exprChildren, type Expr } from '../plan/expr.js';
import { T, formatText, formatType, type Datum, type SqlType } from '../types/index.js';

/** What the slots of the rows an expression reads are called. */
export interface Names {
  /** The row the expression is evaluated over. */
  readonly row: readonly string[];
  /** Rows of the enclosing queries, innermost first (correlated subqueries). */
  readonly outer: readonly (readonly string[])[];
  /** How a subquery is referred to: "InitPlan 1", "SubPlan 2". */
  readonly subplan: (id: number) => string;
}

const PLAIN = new Set([T.int4.oid, T.numeric.oid, T.bool.oid]);

export function literal(type: SqlType, value: Datum): string {
  if (value === null) return `NULL::${formatType(type)}`;
  const text = formatText(type, value);
  if (PLAIN.has(type.oid)) return text;
  if (type.oid === T.unknown.oid) return quoteLiteral(text);
  return `${quoteLiteral(text)}::${formatType(type)}`;
}

export function exprText(e: Expr, names: Names): string {
  const t = (x: Expr): string => exprText(x, names);
  switch (e.kind) {
    case 'const':
      return literal(e.type, e.value);
    case 'param':
      return `$${e.index + 1}`;
    case 'column':
      return names.row[e.slot] ?? `column${e.slot + 1}`;
    case 'outer':
      return names.outer[e.depth - 1]?.[e.slot] ?? `outer${e.depth}.column${e.slot + 1}`;
    case 'call': {
      const [a, b] = e.args;
      if (e.op !== undefined && a && b && e.args.length === 2) return `(${t(a)} ${e.op} ${t(b)})`;
      if (e.name?.startsWith('::') && a) return `(${t(a)})${e.name}`;
      if (e.name === 'ARRAY') return `ARRAY[${e.args.map(t).join(', ')}]`;
      // ruleutils parenthesizes a subscripted expression unless it is a plain column.
      if (e.name === '[]' && a && b) return `${a.kind === 'column' || a.kind === 'outer' ? t(a) : `(${t(a)})`}[${t(b)}]`;
      if (e.name !== undefined && a && e.args.length === 1 && !/^[a-z_]/.test(e.name)) return `(${e.name}${t(a)})`;
      return `${e.name ?? 'function'}(${e.args.map(t).join(', ')})`;
    }
    case 'and':
    case 'or':
      return `(${e.args.map(t).join(e.kind === 'and' ? ' AND ' : ' OR ')})`;
    case 'not':
      return `(NOT ${t(e.arg)})`;
    case 'isNull':
      return `(${t(e.arg)} IS ${e.negated ? 'NOT ' : ''}NULL)`;
    case 'isBool':
      return `(${t(e.arg)} IS ${e.negated ? 'NOT ' : ''}${e.test.toUpperCase()})`;
    case 'case':
      return `CASE ${e.whens.map(([w, r]) => `WHEN ${t(w)} THEN ${t(r)}`).join(' ')} ELSE ${t(e.otherwise)} END`;
    case 'coalesce':
      return `COALESCE(${e.args.map(t).join(', ')})`;
    case 'minmax':
      return `${e.greatest ? 'GREATEST' : 'LEAST'}(${e.args.map(t).join(', ')})`;
    case 'distinct':
      return `(${t(e.left)} IS ${e.negated ? 'NOT ' : ''}DISTINCT FROM ${t(e.right)})`;
    case 'inList':
      return `(${t(e.arg)} ${e.negated ? '<> ALL' : '= ANY'} (ARRAY[${e.list.map(t).join(', ')}]))`;
    case 'subqueryValue':
      return `(${names.subplan(e.id)})`;
    case 'subqueryExists':
      return `EXISTS(${names.subplan(e.id)})`;
    case 'subqueryIn': {
      const test = `(${t(e.arg)} = ANY (${names.subplan(e.id)}))`;
      return e.negated ? `(NOT ${test})` : test;
    }
  }
}

/** The subqueries an expression refers to, by id. */
export function subqueriesIn(e: Expr, out: Set<number> = new Set()): Set<number> {
  if (e.kind === 'subqueryValue' || e.kind === 'subqueryExists' || e.kind === 'subqueryIn') out.add(e.id);
  for (const child of exprChildren(e)) subqueriesIn(child, out);
  return out;
}
