// Which index serves a WHERE clause, and which part of it to read. Pure:
// it looks at conjuncts of the form `column op key-value` and at
// `column IN (…)`, a key value being fixed for the whole scan (see keyValue).
// The whole WHERE clause still runs as a filter over what
// the scan returns, so the access path only has to be a superset.
import { PRIMARY_INDEX_ID, type IndexDescriptor, type TableDescriptor } from '../catalog/descriptors.js';
import { T, type SqlType } from '../types/index.js';
import { isStable, type Expr } from './expr.js';
import type { Bound, ColumnConstraint, IndexAccess } from './plan.js';

const FLIPPED: Record<string, string> = { '=': '=', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

interface Comparison {
  readonly slot: number;
  /** A comparison operator, or 'in' for an IN list (then `values` has the list). */
  readonly op: string;
  readonly values: readonly Expr[];
}

const INTEGERS = new Set([T.int2.oid, T.int4.oid, T.int8.oid]);
const STRINGS = new Set([T.text.oid, T.varchar.oid, T.name.oid]);

/** Whether a value of type `value` can be turned into a key of a column of type `column` (see ../exec/spans.ts). */
export function keyCompatible(column: SqlType, value: SqlType): boolean {
  if (column.oid === value.oid) return true;
  return (INTEGERS.has(column.oid) && INTEGERS.has(value.oid)) || (STRINGS.has(column.oid) && STRINGS.has(value.oid));
}

/** Splits a predicate into its AND-ed parts. */
export function conjuncts(e: Expr | null): Expr[] {
  if (e === null) return [];
  if (e.kind === 'and') return e.args.flatMap((a) => conjuncts(a));
  if (e.kind === 'or') return factorOr(e);
  return [e];
}

/**
 * `(A AND B) OR (A AND C)` as `A AND (B OR C)`, as PostgreSQL's planner does
 * (process_duplicate_ors): a join condition repeated in every arm of an OR
 * (TPC-H Q19) then becomes a hash key instead of a filter over a cross
 * product. Exact under three-valued logic (AND and OR distribute); an arm
 * left with nothing makes the OR true whenever A is (absorption), so it goes.
 */
function factorOr(e: Extract<Expr, { kind: 'and' | 'or' }>): Expr[] {
  const arms = e.args.map((a) => conjuncts(a));
  const [first, ...rest] = arms;
  const common = (first ?? []).filter((c) => rest.every((arm) => arm.some((x) => sameExpr(c, x))));
  if (common.length === 0) return [e];
  const remainders = arms.map((arm) => arm.filter((x) => !common.some((c) => sameExpr(c, x))));
  if (remainders.some((r) => r.length === 0)) return common;
  const and = (parts: Expr[]): Expr => (parts.length === 1 ? (parts[0] as Expr) : { kind: 'and', type: T.bool, args: parts });
  return [...common, { kind: 'or', type: e.type, args: remainders.map(and) }];
}

/**
 * Whether two expressions surely compute the same value: columns, parameters,
 * plain constants, and non-volatile calls of them that name their operator or
 * function (each call has its own closure, but the name and the argument
 * types decide which one the analyzer resolved).
 */
function sameExpr(a: Expr, b: Expr): boolean {
  switch (a.kind) {
    case 'column':
      return b.kind === 'column' && a.slot === b.slot;
    case 'outer':
      return b.kind === 'outer' && a.depth === b.depth && a.slot === b.slot;
    case 'param':
      return b.kind === 'param' && a.index === b.index;
    case 'const':
      return b.kind === 'const' && a.type.oid === b.type.oid && ['string', 'number', 'bigint', 'boolean'].includes(typeof a.value) && a.value === b.value;
    case 'call':
      return (
        b.kind === 'call' && !a.volatile && !b.volatile && (a.op ?? a.name) !== undefined && a.op === b.op && a.name === b.name &&
        a.type.oid === b.type.oid && a.args.length === b.args.length &&
        a.args.every((x, i) => {
          const y = b.args[i];
          return y !== undefined && x.type.oid === y.type.oid && sameExpr(x, y);
        })
      );
    default:
      return false;
  }
}

/**
 * A value fixed while a scan runs: a stable expression, or one over an
 * enclosing query's columns. A correlated subquery's scan runs once per outer
 * row with that row in the evaluation context (exec/spans.ts evaluates the
 * keys then), so `l_orderkey = o_orderkey` reads one order's lines, not the
 * whole table per outer row.
 */
function keyValue(e: Expr): boolean {
  if (e.kind === 'outer') return true;
  if (e.kind === 'call') return !e.volatile && e.args.every(keyValue);
  return isStable(e);
}

function comparisonsOf(parts: readonly Expr[]): Comparison[] {
  const out: Comparison[] = [];
  for (const p of parts) {
    if (p.kind === 'call' && p.op !== undefined && p.op in FLIPPED && p.args.length === 2) {
      const [l, r] = p.args as [Expr, Expr];
      if (l.kind === 'column' && keyValue(r) && keyCompatible(l.type, r.type)) out.push({ slot: l.slot, op: p.op, values: [r] });
      else if (r.kind === 'column' && keyValue(l) && keyCompatible(r.type, l.type)) out.push({ slot: r.slot, op: FLIPPED[p.op] ?? p.op, values: [l] });
    } else if (p.kind === 'inList' && !p.negated && p.arg.kind === 'column' && p.list.every((e) => keyValue(e) && keyCompatible(p.arg.type, e.type))) {
      out.push({ slot: p.arg.slot, op: 'in', values: p.list });
    }
  }
  return out;
}

/** Constraints on the longest usable prefix of an index: equalities, then at most one range. */
export function constrainIndex(
  index: IndexDescriptor,
  parts: readonly Expr[],
  slotOfColumn: (columnId: number) => number,
): IndexAccess {
  const comparisons = comparisonsOf(parts);
  const constraints: ColumnConstraint[] = [];
  for (const columnId of index.columnIds) {
    const slot = slotOfColumn(columnId);
    const mine = comparisons.filter((c) => c.slot === slot);
    const eq = mine.find((c) => c.op === '=') ?? mine.find((c) => c.op === 'in');
    if (eq) {
      constraints.push({ kind: 'equal', values: eq.values });
      continue;
    }
    const lower = pickBound(mine, '>');
    const upper = pickBound(mine, '<');
    if (lower || upper) constraints.push({ kind: 'range', lower, upper });
    break;
  }
  const point =
    constraints.length === index.columnIds.length &&
    constraints.every((c) => c.kind === 'equal') &&
    (index.id === PRIMARY_INDEX_ID || index.unique);
  return { index, constraints, point };
}

function pickBound(comparisons: readonly Comparison[], side: '<' | '>'): Bound | null {
  const c = comparisons.find((x) => x.op === side || x.op === `${side}=`);
  const value = c?.values[0];
  return c && value ? { value, inclusive: c.op.endsWith('=') } : null;
}

/** The best access path: point reads first, then the most constrained index; the primary index wins ties. */
export function chooseAccess(table: TableDescriptor, predicate: Expr | null, slotOfColumn: (columnId: number) => number): IndexAccess {
  const parts = conjuncts(predicate);
  let best = constrainIndex(table.primaryKey, parts, slotOfColumn);
  if (best.point) return best;
  for (const index of table.indexes) {
    const candidate = constrainIndex(index, parts, slotOfColumn);
    if (score(candidate) > score(best)) best = candidate;
  }
  return best;
}

function score(a: IndexAccess): number {
  if (a.constraints.length === 0) return 0;
  const equalities = a.constraints.filter((c) => c.kind === 'equal').length;
  const ranges = a.constraints.length - equalities;
  // A secondary index costs a second read per row, so it must pin more to win.
  const lookupPenalty = a.index.id === PRIMARY_INDEX_ID ? 0 : 0.5;
  return (a.point ? 100 : 0) + equalities * 2 + ranges - lookupPenalty;
}
