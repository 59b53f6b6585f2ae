// GROUP BY with GROUPING SETS, ROLLUP, CUBE and (): from the clause's items
// to the list of grouping sets, each the grouping keys it groups by, as
// PostgreSQL's flatten_grouping_sets and expand_grouping_sets (parse_agg.c)
// produce them: the sets of each item are combined by cartesian product,
// duplicates kept unless GROUP BY DISTINCT, sorted by size.
import type { Node } from '@pgsql/types';
import { SQLSTATE, SqlError } from '../errors.js';

type Sets = number[][];

/** PostgreSQL's limits (parse_clause.c, parse_agg.c). */
const MAX_CUBE = 12;
const MAX_SETS = 4096;

/**
 * The grouping sets of a GROUP BY clause, or null when it has none (a plain
 * list of expressions); `key` gives a leaf expression's key index (called
 * once per leaf, in clause order).
 */
export function groupingSets(items: readonly Node[], distinct: boolean, key: (n: Node) => number, at: (location: number | undefined) => { position?: number }): (readonly number[])[] | null {
  const hasSets = items.some((n) => 'GroupingSet' in n);
  const expanded = items.map((n) => expand(n, key, at));
  if (!hasSets) return null;
  let result: Sets = [[]];
  for (const sets of expanded) {
    if (result.length * sets.length > MAX_SETS) {
      throw new SqlError(SQLSTATE.STATEMENT_TOO_COMPLEX, `too many grouping sets present (maximum ${MAX_SETS})`);
    }
    result = result.flatMap((q) => sets.map((r) => union(q, r)));
  }
  if (distinct) {
    const seen = new Set<string>();
    result = result
      .map((s) => [...s].sort((a, b) => a - b))
      .filter((s) => {
        const id = s.join(',');
        if (seen.has(id)) return false;
        seen.add(id);
        return true;
      });
  }
  return result.sort((a, b) => a.length - b.length);
}

/** One item's sets; a row `(a, b)` is one set of both keys, as in PostgreSQL. */
function expand(n: Node, key: (n: Node) => number, at: (location: number | undefined) => { position?: number }): Sets {
  if ('RowExpr' in n && n.RowExpr.row_format === 'COERCE_IMPLICIT_CAST') return [(n.RowExpr.args ?? []).map(key)];
  if (!('GroupingSet' in n)) return [[key(n)]];
  const gs = n.GroupingSet;
  const content = gs.content ?? [];
  switch (gs.kind) {
    case 'GROUPING_SET_EMPTY':
      return [[]];
    case 'GROUPING_SET_SIMPLE':
      return [content.map(key)];
    case 'GROUPING_SET_SETS':
      return content.flatMap((c) => expand(c, key, at));
    case 'GROUPING_SET_ROLLUP': {
      const parts = content.map((c) => simple(c, key));
      const out: Sets = [];
      for (let size = parts.length; size >= 0; size--) out.push(parts.slice(0, size).flat());
      return out;
    }
    case 'GROUPING_SET_CUBE': {
      if (content.length > MAX_CUBE) throw new SqlError(SQLSTATE.TOO_MANY_COLUMNS, `CUBE is limited to ${MAX_CUBE} elements`, at(gs.location));
      const parts = content.map((c) => simple(c, key));
      const out: Sets = [];
      for (let mask = 0; mask < 1 << parts.length; mask++) out.push(parts.flatMap((p, i) => (mask & (1 << i) ? p : [])));
      return out;
    }
    default:
      throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `grouping set kind ${gs.kind ?? '?'} is not supported`, at(gs.location));
  }
}

/** An element of ROLLUP or CUBE: an expression, or a parenthesised list grouped together. */
function simple(n: Node, key: (n: Node) => number): number[] {
  if ('RowExpr' in n && n.RowExpr.row_format === 'COERCE_IMPLICIT_CAST') return (n.RowExpr.args ?? []).map(key);
  return [key(n)];
}

function union(a: readonly number[], b: readonly number[]): number[] {
  const out = [...a];
  for (const k of b) if (!out.includes(k)) out.push(k);
  return out;
}
