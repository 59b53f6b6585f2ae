// Window frames (`ROWS|RANGE BETWEEN … AND …`): from the parser's frame
// option bits and offset expressions to a frame the executor can walk, with
// PostgreSQL's rules (parse_clause.c transformFrameOffset and friends) for
// what an offset may be.
import type { Node } from '@pgsql/types';
import { SQLSTATE, SqlError } from '../errors.js';
import { T, findCast, formatType, type SqlType } from '../types/index.js';
import { canCoerceImplicitly } from '../types/resolve.js';
import { analyzeExpr, at, coerce, locationOf, type AggregateOrder, type ExprContext } from './analyze-expr.js';
import { exprChildren, type Expr } from './expr.js';

/** PostgreSQL's FRAMEOPTION_* bits (nodes/parsenodes.h), as the parser reports them. */
export const FRAME = {
  NONDEFAULT: 0x1,
  RANGE: 0x2,
  ROWS: 0x4,
  GROUPS: 0x8,
  START_UNBOUNDED_PRECEDING: 0x20,
  START_UNBOUNDED_FOLLOWING: 0x80,
  END_UNBOUNDED_PRECEDING: 0x40,
  END_UNBOUNDED_FOLLOWING: 0x100,
  START_CURRENT_ROW: 0x200,
  END_CURRENT_ROW: 0x400,
  START_OFFSET_PRECEDING: 0x800,
  END_OFFSET_PRECEDING: 0x1000,
  START_OFFSET_FOLLOWING: 0x2000,
  END_OFFSET_FOLLOWING: 0x4000,
  EXCLUDE_CURRENT_ROW: 0x8000,
  EXCLUDE_GROUP: 0x10000,
  EXCLUDE_TIES: 0x20000,
} as const;

export type FrameBound =
  | { readonly kind: 'unbounded' }
  | { readonly kind: 'current' }
  /** `offset` is evaluated once per statement: int8 under ROWS, the in_range offset type under RANGE. */
  | { readonly kind: 'preceding' | 'following'; readonly offset: Expr };

/**
 * How the values of a RANGE offset frame are compared (PostgreSQL's in_range
 * support functions): exact integer arithmetic, numeric, or float8.
 */
export type InRange = 'integer' | 'numeric' | 'float';

export interface WindowFrame {
  readonly mode: 'rows' | 'range' | 'groups';
  readonly start: FrameBound;
  readonly end: FrameBound;
  /** Set when a RANGE bound has an offset (the window then has exactly one ORDER BY key). */
  readonly inRange?: InRange;
  /** EXCLUDE CURRENT ROW / GROUP / TIES: rows taken out of each row's frame (EXCLUDE NO OTHERS is absent). */
  readonly exclude?: FrameExclusion;
}

export type FrameExclusion = 'current' | 'group' | 'ties';

/** With ORDER BY, up to the current row's last peer; without, every row is a peer: the whole partition. */
export const DEFAULT_FRAME: WindowFrame = { mode: 'range', start: { kind: 'unbounded' }, end: { kind: 'current' } };

export interface FrameClause {
  readonly frameOptions?: number;
  readonly startOffset?: Node;
  readonly endOffset?: Node;
  readonly location?: number;
}

/** The frame a window definition spells out (or the default one). */
export function planFrame(def: FrameClause, order: readonly AggregateOrder[], ctx: ExprContext): WindowFrame {
  const options = def.frameOptions ?? 0;
  if (!(options & FRAME.NONDEFAULT)) return DEFAULT_FRAME;
  const mode = options & FRAME.ROWS ? 'rows' : options & FRAME.GROUPS ? 'groups' : 'range';
  // Per the standard, as PostgreSQL's transformWindowDefinitions checks it.
  if (mode === 'groups' && order.length === 0) throw new SqlError(SQLSTATE.WINDOWING_ERROR, 'GROUPS mode requires an ORDER BY clause', at(ctx, def.location));
  const exclude: FrameExclusion | undefined =
    options & FRAME.EXCLUDE_CURRENT_ROW ? 'current' : options & FRAME.EXCLUDE_GROUP ? 'group' : options & FRAME.EXCLUDE_TIES ? 'ties' : undefined;
  const hasOffset = (options & (FRAME.START_OFFSET_PRECEDING | FRAME.START_OFFSET_FOLLOWING | FRAME.END_OFFSET_PRECEDING | FRAME.END_OFFSET_FOLLOWING)) !== 0;
  let inRange: { kind: InRange; offsetType: SqlType } | undefined;
  if (mode === 'range' && hasOffset) {
    if (order.length !== 1) {
      throw new SqlError(SQLSTATE.WINDOWING_ERROR, 'RANGE with offset PRECEDING/FOLLOWING requires exactly one ORDER BY column', at(ctx, def.location));
    }
  }
  const offset = (node: Node | undefined): Expr => {
    const where = mode.toUpperCase();
    const offsetCtx: ExprContext = { ...ctx, grouping: null, windows: undefined, noWindows: 'window definitions', noAggregates: `window ${where}` };
    const raw = analyzeExpr(required(node), offsetCtx);
    const location = locationOf(node);
    let e: Expr;
    if (mode !== 'range') e = coerceStrictly(raw, T.int8, where, offsetCtx, location);
    else {
      const chosen = inRangeFor(order[0]?.expr.type ?? T.unknown, raw.type, offsetCtx, location);
      inRange = chosen;
      e = coerceStrictly(raw, chosen.offsetType, 'RANGE', offsetCtx, location);
    }
    // PostgreSQL's checkExprIsVarFree: an offset is one value for the whole window, so no column of the row.
    if (readsColumns(e)) throw new SqlError(SQLSTATE.INVALID_COLUMN_REFERENCE, `argument of ${where} must not contain variables`, at(ctx, location));
    return e;
  };
  const start: FrameBound =
    options & FRAME.START_UNBOUNDED_PRECEDING
      ? { kind: 'unbounded' }
      : options & FRAME.START_CURRENT_ROW
        ? { kind: 'current' }
        : { kind: options & FRAME.START_OFFSET_PRECEDING ? 'preceding' : 'following', offset: offset(def.startOffset) };
  const end: FrameBound =
    options & FRAME.END_UNBOUNDED_FOLLOWING
      ? { kind: 'unbounded' }
      : options & FRAME.END_CURRENT_ROW
        ? { kind: 'current' }
        : { kind: options & FRAME.END_OFFSET_PRECEDING ? 'preceding' : 'following', offset: offset(def.endOffset) };
  return { mode, start, end, ...(inRange ? { inRange: inRange.kind } : {}), ...(exclude ? { exclude } : {}) };
}

const INTEGERS = new Set<number>([T.int2.oid, T.int4.oid, T.int8.oid]);
const FLOATS = new Set<number>([T.float4.oid, T.float8.oid]);
/** Types PostgreSQL has in_range functions for that Shoal does not compute yet. */
const DATETIMES = new Set<number>([T.date.oid, T.timestamp.oid, T.timestamptz.oid, T.interval.oid]);

/**
 * The in_range function PostgreSQL would pick for a sort column and offset
 * type: integers take any integer offset (exact arithmetic makes the offset
 * width irrelevant), numeric a numeric one, floats a float8 one; an unknown
 * literal takes the column's own type where that is a candidate.
 */
function inRangeFor(column: SqlType, offset: SqlType, ctx: ExprContext, location: number | undefined): { kind: InRange; offsetType: SqlType } {
  const unknown = offset.oid === T.unknown.oid;
  let kind: InRange;
  let candidates: SqlType[];
  if (INTEGERS.has(column.oid)) {
    kind = 'integer';
    candidates = column.oid === T.int8.oid ? [T.int8] : [T.int8, T.int4, T.int2];
  } else if (column.oid === T.numeric.oid) {
    kind = 'numeric';
    candidates = [T.numeric];
  } else if (FLOATS.has(column.oid)) {
    kind = 'float';
    candidates = [T.float8];
  } else if (DATETIMES.has(column.oid)) {
    throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `RANGE with offset PRECEDING/FOLLOWING is not supported yet for column type ${formatType(column)}`, at(ctx, location));
  } else {
    throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `RANGE with offset PRECEDING/FOLLOWING is not supported for column type ${formatType(column)}`, at(ctx, location));
  }
  const preferred = unknown ? column : offset;
  const fits = candidates.filter((c) => canCoerceImplicitly(offset, c));
  const chosen = fits.find((c) => c.oid === preferred.oid) ?? (fits.length === 1 ? fits[0] : undefined);
  if (!chosen) {
    throw new SqlError(
      SQLSTATE.FEATURE_NOT_SUPPORTED,
      `RANGE with offset PRECEDING/FOLLOWING is not supported for column type ${formatType(column)} and offset type ${formatType(offset)}`,
      { ...at(ctx, location), hint: 'Cast the offset value to an appropriate type.' },
    );
  }
  return { kind, offsetType: chosen };
}

/** PostgreSQL's coerce_to_specific_type: an assignment cast (1.5 ROWS is 2 ROWS) or 42804 naming the clause. */
function coerceStrictly(e: Expr, target: SqlType, construct: string, ctx: ExprContext, location: number | undefined): Expr {
  if (e.type.oid !== T.unknown.oid && e.type.oid !== target.oid && findCast(e.type, target, 'assignment') === null) {
    throw new SqlError(SQLSTATE.DATATYPE_MISMATCH, `argument of ${construct} must be type ${formatType(target)}, not type ${formatType(e.type)}`, at(ctx, location));
  }
  return coerce(e, target, 'assignment', ctx, location);
}

function readsColumns(e: Expr): boolean {
  return e.kind === 'column' || exprChildren(e).some(readsColumns);
}

function required(n: Node | undefined): Node {
  if (n === undefined) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'window frame offset missing');
  return n;
}
