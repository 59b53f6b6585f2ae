// Hash join or lookup join, pure. A lookup join reads the other side (the
// input) and then, per batch of its rows, only the index entries of the
// table that its join keys name; a hash join reads both sides whole. With no
// table statistics the choice is a rule: look up when the input is bounded
// (its scan pins index columns by equalities, or a small LIMIT or VALUES list
// caps it) and the table would otherwise be read whole or more widely than
// the input is; else hash, which never does much worse than two scans. A
// range is not bound enough: per input row a lookup costs about what a scan
// costs per table row (a 5,000-row range into a 2,000-row table's primary key
// took twice the hash join's time, into a non-unique index six times).
import { PRIMARY_INDEX_ID, type IndexDescriptor, type TableDescriptor } from '../catalog/descriptors.js';
import type { Expr } from './expr.js';
import { keyCompatible } from './index-selection.js';
import { describeConjunct, hashKeyType, within, type Conjunct } from './join.js';
import type { IndexAccess, PlanNode } from './plan.js';

/** The session's `shoal.join_strategy`: 'auto' decides by the rule, the others force it where a lookup is possible. */
export type JoinStrategy = 'auto' | 'hash' | 'lookup';

export const JOIN_STRATEGIES: readonly JoinStrategy[] = ['auto', 'hash', 'lookup'];

/** A join's conditions as a lookup into one index of a table. */
export interface Lookup {
  readonly index: IndexDescriptor;
  /** Over the input's slots, one per leading index column. */
  readonly keys: readonly Expr[];
  /** The conditions the keys stand for (indexes into the conditions given). */
  readonly used: readonly number[];
  /** Every column of a unique index is keyed: at most one row per key. */
  readonly point: boolean;
}

/**
 * The best index of `table` (its columns at slots from `offset`) to look up
 * with `conditions` of the form `table.column = expression over the input`:
 * one keyed on every column of a unique index first, then the longest keyed
 * prefix; the primary index wins ties. Null when no index's first column is keyed.
 */
export function findLookup(table: TableDescriptor, offset: number, conditions: readonly Conjunct[], inputSlots: ReadonlySet<number>): Lookup | null {
  const keyed = new Map<number, { expr: Expr; condition: number }>();
  conditions.forEach((c, i) => {
    const e = c.expr;
    if (c.pinned || e.kind !== 'call' || e.op !== '=' || e.args.length !== 2) return;
    const [a, b] = e.args as [Expr, Expr];
    for (const [column, other] of [
      [a, b],
      [b, a],
    ] as const) {
      if (column.kind !== 'column' || column.slot < offset || column.slot >= offset + table.columns.length) continue;
      const reads = describeConjunct(other, () => false).slots;
      // A constant would have gone to the table's own scan; the key must come from the input.
      if (reads.size === 0 || !within(reads, inputSlots)) continue;
      if (hashKeyType(column.type, other.type) === null || !keyCompatible(column.type, other.type)) continue;
      const id = table.columns[column.slot - offset]?.id;
      if (id !== undefined && !keyed.has(id)) keyed.set(id, { expr: other, condition: i });
    }
  });
  let best: Lookup | null = null;
  for (const index of [table.primaryKey, ...table.indexes]) {
    const keys: Expr[] = [];
    const used: number[] = [];
    for (const id of index.columnIds) {
      const k = keyed.get(id);
      if (!k) break;
      keys.push(k.expr);
      used.push(k.condition);
    }
    if (keys.length === 0) continue;
    const point = keys.length === index.columnIds.length && (index.id === PRIMARY_INDEX_ID || index.unique);
    if (!best || (point && !best.point) || (point === best.point && keys.length > best.keys.length)) best = { index, keys, used, point };
  }
  return best;
}

export interface LookupCandidate {
  /** The input's rows are few whatever the table's size (see `bounded`). */
  readonly inputBounded: boolean;
  readonly inputEstimate: number;
  /** How the table would be read on its own, with its own conditions. */
  readonly tableAccess: IndexAccess;
  readonly tableEstimate: number;
}

/** Whether to look the table up rather than hash both sides. */
export function preferLookup(strategy: JoinStrategy, c: LookupCandidate): boolean {
  if (strategy !== 'auto') return strategy === 'lookup';
  if (!c.inputBounded || c.tableAccess.point) return false;
  if (c.tableAccess.constraints.length === 0) return true;
  return c.inputEstimate < c.tableEstimate;
}

/** A LIMIT or VALUES list this long or shorter bounds an input: one batch of it. */
export const BOUNDED_ROWS = 1000;

/**
 * Whether a plan's rows are bounded by what it reads rather than by a
 * table's size: a scan whose index columns are pinned by equalities (a
 * prefix of them), a short VALUES list, a small constant LIMIT, or what is
 * made of those (filters, projections, joins and lookups of them).
 */
export function bounded(node: PlanNode): boolean {
  switch (node.kind) {
    case 'scan':
      return node.access.constraints[0]?.kind === 'equal';
    case 'values':
      return node.rows.length <= BOUNDED_ROWS;
    case 'limit':
      return node.limit?.kind === 'const' && node.limit.value !== null && Number(node.limit.value) <= BOUNDED_ROWS;
    case 'filter':
    case 'place':
    case 'compute':
    case 'project':
    case 'trim':
    case 'lockRows':
    case 'sort':
    case 'distinct':
    case 'aggregate':
    case 'materialize':
    case 'lookupJoin':
      return bounded(node.input);
    case 'join':
      return node.type !== 'full' && bounded(node.left) && bounded(node.right);
    default:
      return false;
  }
}
