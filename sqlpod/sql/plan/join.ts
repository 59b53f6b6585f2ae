// Join decisions, pure: which FROM item a predicate belongs to, which
// predicates a hash join can key on, and in which order a set of inner-joined
// items is joined. There are no table statistics, so sizes are guesses from
// the predicates each item's scan gets; what matters most is never joining
// two items without a condition while a joined-on item is left.
import { T, type SqlType } from '../types/index.js';
import { exprChildren, type Expr } from './expr.js';
import { keyCompatible } from './index-selection.js';
import type { IndexAccess } from './plan.js';

export interface Conjunct {
  readonly expr: Expr;
  /** The slots of the query's row it reads (not those its subqueries read). */
  readonly slots: ReadonlySet<number>;
  /**
   * It holds a correlated subquery, whose outer references can point at any
   * FROM item: it runs only where the whole row is there, in a filter.
   */
  readonly pinned: boolean;
}

export function describeConjunct(expr: Expr, correlated: (subqueryId: number) => boolean): Conjunct {
  const slots = new Set<number>();
  let pinned = false;
  const visit = (e: Expr): void => {
    if (e.kind === 'column') slots.add(e.slot);
    if ((e.kind === 'subqueryValue' || e.kind === 'subqueryExists' || e.kind === 'subqueryIn') && correlated(e.id)) pinned = true;
    for (const child of exprChildren(e)) visit(child);
  };
  visit(expr);
  return { expr, slots, pinned };
}

export function within(slots: ReadonlySet<number>, of: ReadonlySet<number>): boolean {
  for (const s of slots) if (!of.has(s)) return false;
  return true;
}

/**
 * The type two key values are hashed as, when hashing keeps `=`'s meaning:
 * one type, or integers of any width (as int8), or strings (as text).
 */
export function hashKeyType(a: SqlType, b: SqlType): SqlType | null {
  if (a.oid === T.unknown.oid || b.oid === T.unknown.oid || !keyCompatible(a, b)) return null;
  if (a.oid === b.oid) return a.typmod < 0 ? a : { ...a, typmod: -1 };
  return [T.int2.oid, T.int4.oid, T.int8.oid].includes(a.oid) ? T.int8 : T.text;
}

export interface EquiKey {
  readonly left: Expr;
  readonly right: Expr;
  readonly type: SqlType;
}

/** `x = y` with x over the left side's slots and y over the right's (or the other way round): a hash join key. */
export function equiKey(c: Conjunct, left: ReadonlySet<number>, right: ReadonlySet<number>): EquiKey | null {
  const e = c.expr;
  if (c.pinned || e.kind !== 'call' || e.op !== '=' || e.args.length !== 2) return null;
  const [a, b] = e.args as [Expr, Expr];
  const type = hashKeyType(a.type, b.type);
  if (type === null) return null;
  const sa = columnSlots(a);
  const sb = columnSlots(b);
  if (sa.size === 0 || sb.size === 0) return null;
  if (within(sa, left) && within(sb, right)) return { left: a, right: b, type };
  if (within(sb, left) && within(sa, right)) return { left: b, right: a, type };
  return null;
}

/** Unknown tables are guessed this big. */
export const UNKNOWN_ROWS = 1000;

/** A scan's rows, guessed from its access path and how many WHERE conjuncts filter it. */
export function estimateScan(access: IndexAccess, filters: number): number {
  if (access.point) {
    return Math.max(1, access.constraints.reduce((n, c) => n * (c.kind === 'equal' ? c.values.length : 1), 1));
  }
  let rows = UNKNOWN_ROWS;
  for (const c of access.constraints) rows *= c.kind === 'equal' ? 0.1 * c.values.length : 0.3;
  for (let i = access.constraints.length; i < filters; i++) rows *= 0.5;
  return Math.max(1, rows);
}

export interface JoinInput {
  readonly slots: ReadonlySet<number>;
  readonly estimate: number;
}

export interface JoinStep {
  /** The input joined in at this step (the first step starts with it). */
  readonly input: number;
  /** The conjuncts first evaluable at this step (none at the first). */
  readonly conjuncts: readonly number[];
  /** Whether one of them is a hash key (else a nested loop). */
  readonly equi: boolean;
  /** The guessed rows after this step. */
  readonly estimate: number;
}

/**
 * A left-deep order for inner-joined inputs: start with the smallest, then
 * always take an input that an equality joins to what is there already (the
 * smallest such), else one some other condition joins, else the smallest (a
 * cross product). Ties keep FROM order. Pinned conjuncts and those reading
 * slots of no input are left to the caller.
 */
export function orderJoins(inputs: readonly JoinInput[], conjuncts: readonly Conjunct[]): JoinStep[] {
  if (inputs.length === 0) return [];
  // Joins of dozens of tables (select5) need this to be cheap: conjuncts are looked at by the inputs they read.
  const inputOf = new Map<number, number>();
  inputs.forEach((input, i) => input.slots.forEach((s) => inputOf.set(s, i)));
  const ownersOf = (slots: ReadonlySet<number>): Set<number> | null => {
    const owners = new Set<number>();
    for (const s of slots) {
      const owner = inputOf.get(s);
      if (owner === undefined) return null;
      owners.add(owner);
    }
    return owners.size ? owners : null;
  };
  const links = conjuncts.map((c) => {
    const owners = c.pinned ? null : ownersOf(c.slots);
    const sides = owners && owners.size > 1 ? equiSides(c) : null;
    return { owners, sides: sides && { left: ownersOf(sides[0]), right: ownersOf(sides[1]) } };
  });
  const joined = new Set<number>();
  const used = new Set<number>();
  const subset = (of: ReadonlySet<number> | null, next: number) => of !== null && [...of].every((o) => o === next || joined.has(o));
  /** Unused conjuncts that become evaluable when `next` joins, and whether one is a hash key. */
  const conditionsOf = (next: number): { conjuncts: number[]; equi: boolean } => {
    const found: number[] = [];
    let equi = false;
    links.forEach((l, k) => {
      if (used.has(k) || !l.owners?.has(next) || !subset(l.owners, next)) return;
      found.push(k);
      const only = (of: ReadonlySet<number> | null) => of !== null && of.size === 1 && of.has(next);
      const before = (of: ReadonlySet<number> | null) => of !== null && !of.has(next) && subset(of, next);
      if (l.sides && ((only(l.sides.left) && before(l.sides.right)) || (only(l.sides.right) && before(l.sides.left)))) equi = true;
    });
    return { conjuncts: found, equi };
  };
  const smallest = (candidates: readonly number[]): number =>
    candidates.reduce((best, i) => ((inputs[i]?.estimate ?? 0) < (inputs[best]?.estimate ?? 0) ? i : best));

  const remaining = inputs.map((_, i) => i);
  const steps: JoinStep[] = [];
  let estimate = 0;
  while (remaining.length > 0) {
    let next: number;
    let conditions: { conjuncts: number[]; equi: boolean } = { conjuncts: [], equi: false };
    if (steps.length === 0) {
      next = smallest(remaining);
    } else {
      const options = remaining.map((i) => ({ i, ...conditionsOf(i) }));
      const withEqui = options.filter((o) => o.equi);
      const withAny = options.filter((o) => o.conjuncts.length > 0);
      const pool = withEqui.length ? withEqui : withAny.length ? withAny : options;
      next = smallest(pool.map((o) => o.i));
      conditions = options.find((o) => o.i === next) ?? conditions;
    }
    const size = inputs[next]?.estimate ?? 1;
    estimate = steps.length === 0 ? size : conditions.equi ? Math.max(estimate, size) : conditions.conjuncts.length ? (estimate * size) / 2 : estimate * size;
    steps.push({ input: next, conjuncts: conditions.conjuncts, equi: conditions.equi, estimate });
    conditions.conjuncts.forEach((k) => used.add(k));
    joined.add(next);
    remaining.splice(remaining.indexOf(next), 1);
  }
  return steps;
}

/** The slots each side of a hashable `x = y` reads. */
function equiSides(c: Conjunct): [ReadonlySet<number>, ReadonlySet<number>] | null {
  const e = c.expr;
  if (c.pinned || e.kind !== 'call' || e.op !== '=' || e.args.length !== 2) return null;
  const [a, b] = e.args as [Expr, Expr];
  if (hashKeyType(a.type, b.type) === null) return null;
  const sa = columnSlots(a);
  const sb = columnSlots(b);
  return sa.size && sb.size ? [sa, sb] : null;
}

function columnSlots(e: Expr): ReadonlySet<number> {
  return describeConjunct(e, () => false).slots;
}
