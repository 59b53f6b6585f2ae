// Window frame bounds: for each row of a sorted partition, the rows
// [head, tail) its frame covers, computed as PostgreSQL's nodeWindowAgg.c
// does (including its in_range functions, so RANGE offsets treat NULLs,
// NaN and infinities as PostgreSQL does, and its errors come when it raises them).
import { SQLSTATE, SqlError } from '../errors.js';
import type { FrameBound, FrameExclusion, InRange, WindowFrame } from '../plan/frame.js';
import type { Datum, Numeric } from '../types/index.js';
import { addNumeric, compareNumeric, subNumeric } from '../types/numeric.js';

/** A frame with its offsets evaluated. */
export interface FrameValues {
  readonly frame: WindowFrame;
  readonly startOffset: Datum;
  readonly endOffset: Datum;
}

/**
 * Checks evaluated offsets as PostgreSQL does before reading any row: a NULL
 * offset is 22004 in either mode; a negative ROWS offset 22013 (RANGE
 * offsets are checked by in_range, only when two values are compared).
 */
export function checkFrameOffsets(frame: WindowFrame, startOffset: Datum, endOffset: Datum): FrameValues {
  const check = (bound: FrameBound, value: Datum, which: 'starting' | 'ending'): void => {
    if (bound.kind !== 'preceding' && bound.kind !== 'following') return;
    if (value === null) throw new SqlError(SQLSTATE.NULL_VALUE_NOT_ALLOWED, `frame ${which} offset must not be null`);
    if (frame.mode !== 'range' && BigInt(value as bigint | number) < 0n) {
      throw new SqlError(SQLSTATE.INVALID_PRECEDING_OR_FOLLOWING_SIZE, `frame ${which} offset must not be negative`);
    }
  };
  check(frame.start, startOffset, 'starting');
  check(frame.end, endOffset, 'ending');
  return { frame, startOffset, endOffset };
}

export interface PartitionShape {
  readonly size: number;
  /** Per row, the first row of its peer group and the row after its last peer. */
  readonly peerStart: readonly number[];
  readonly peerEnd: readonly number[];
  /** RANGE with an offset: the single ORDER BY value of each row, and that key's direction. */
  readonly orderValues?: readonly Datum[];
  readonly descending?: boolean;
  readonly nullsFirst?: boolean;
}

/** Per row of the partition, its frame as [head[i], tail[i]); empty when tail <= head. */
export function frameBounds(f: FrameValues, p: PartitionShape): { head: number[]; tail: number[] } {
  const { frame } = f;
  const n = p.size;
  const head = new Array<number>(n);
  const tail = new Array<number>(n);
  if (frame.mode === 'rows') {
    for (let i = 0; i < n; i++) {
      head[i] = rowsBound(frame.start, f.startOffset, i, n, 0);
      tail[i] = rowsBound(frame.end, f.endOffset, i, n, 1);
    }
    return { head, tail };
  }
  if (frame.mode === 'groups') return groupsBounds(f, p);
  const offsetBound = (b: FrameBound): boolean => b.kind === 'preceding' || b.kind === 'following';
  // PostgreSQL keeps one head and one tail position per partition that only move forward.
  let h = 0;
  let t = 0;
  const values = p.orderValues ?? [];
  const inRange = inRangeFunction(frame.inRange ?? 'integer');
  const ascending = !p.descending;
  const nullsFirst = p.nullsFirst ?? false;
  for (let i = 0; i < n; i++) {
    const current = values[i] ?? null;
    if (frame.start.kind === 'unbounded') head[i] = 0;
    else if (frame.start.kind === 'current') head[i] = p.peerStart[i] ?? i;
    else if (offsetBound(frame.start)) {
      // Frame head: the first row with value >= current -/+ offset (<= when descending).
      let sub = frame.start.kind === 'preceding';
      let less = false;
      if (!ascending) {
        sub = !sub;
        less = true;
      }
      while (h < n) {
        const v = values[h] ?? null;
        if (v === null || current === null) {
          if (nullsFirst ? v !== null || current === null : v === null || current !== null) break;
        } else if (inRange(v, current, f.startOffset, sub, less)) break;
        h++;
      }
      head[i] = h;
    }
    if (frame.end.kind === 'unbounded') tail[i] = n;
    else if (frame.end.kind === 'current') tail[i] = p.peerEnd[i] ?? i + 1;
    else if (offsetBound(frame.end)) {
      // Frame tail: the first row with value > current -/+ offset (< when descending).
      let sub = frame.end.kind === 'preceding';
      let less = true;
      if (!ascending) {
        sub = !sub;
        less = false;
      }
      while (t < n) {
        const v = values[t] ?? null;
        if (v === null || current === null) {
          if (nullsFirst ? v !== null : current !== null) break;
        } else if (!inRange(v, current, f.endOffset, sub, less)) break;
        t++;
      }
      tail[i] = t;
    }
  }
  return { head, tail };
}

/** GROUPS frames: offsets count peer groups, a bound falling outside the partition is clamped to it. */
function groupsBounds(f: FrameValues, p: PartitionShape): { head: number[]; tail: number[] } {
  const n = p.size;
  const starts: number[] = [];
  const ends: number[] = [];
  const group = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    if (i === 0 || p.peerStart[i] === i) {
      starts.push(i);
      ends.push(p.peerEnd[i] ?? i + 1);
    }
    group[i] = starts.length - 1;
  }
  const count = starts.length;
  const bound = (b: FrameBound, offset: Datum, i: number, isEnd: boolean): number => {
    if (b.kind === 'unbounded') return isEnd ? n : 0;
    const g = group[i] ?? 0;
    if (b.kind === 'current') return isEnd ? (ends[g] ?? n) : (starts[g] ?? 0);
    const big = BigInt(offset as bigint | number);
    const off = big > BigInt(count) ? count + 1 : Number(big);
    const target = b.kind === 'preceding' ? g - off : g + off;
    if (target < 0) return 0;
    if (target >= count) return n;
    return (isEnd ? ends[target] : starts[target]) ?? n;
  };
  const head = new Array<number>(n);
  const tail = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    head[i] = bound(f.frame.start, f.startOffset, i, false);
    tail[i] = bound(f.frame.end, f.endOffset, i, true);
  }
  return { head, tail };
}

/** The rows of row k's frame [head, tail) that its EXCLUDE clause leaves in, in order. */
export function includedRows(exclude: FrameExclusion, k: number, head: number, tail: number, peerStart: number, peerEnd: number): number[] {
  const rows: number[] = [];
  for (let r = head; r < tail; r++) {
    const peer = r >= peerStart && r < peerEnd;
    if (exclude === 'current' ? r === k : exclude === 'group' ? peer : peer && r !== k) continue;
    rows.push(r);
  }
  return rows;
}

/** A ROWS bound of row i in a partition of n rows; `past` is 1 for the (exclusive) tail. */
function rowsBound(b: FrameBound, offset: Datum, i: number, n: number, past: 0 | 1): number {
  if (b.kind === 'unbounded') return past ? n : 0;
  if (b.kind === 'current') return i + past;
  // Offsets may be as large as int8: clamp before leaving bigint.
  const big = BigInt(offset as bigint | number);
  const off = big > BigInt(n) ? n + 1 : Number(big);
  const pos = b.kind === 'preceding' ? i - off + past : i + off + past;
  return Math.max(0, Math.min(n, pos));
}

/** in_range(val, base, offset, sub, less): val <= base ∓ offset when `less`, else val >= base ∓ offset. */
type InRangeFn = (val: Datum, base: Datum, offset: Datum, sub: boolean, less: boolean) => boolean;

function invalidSize(): SqlError {
  return new SqlError(SQLSTATE.INVALID_PRECEDING_OR_FOLLOWING_SIZE, 'invalid preceding or following size in window function');
}

export function inRangeFunction(kind: InRange): InRangeFn {
  switch (kind) {
    case 'integer':
      return (val, base, offset, sub, less) => {
        const off = BigInt(offset as bigint | number);
        if (off < 0n) throw invalidSize();
        // Exact arithmetic: PostgreSQL's overflow rule gives the same answers.
        const sum = BigInt(base as bigint | number) + (sub ? -off : off);
        const v = BigInt(val as bigint | number);
        return less ? v <= sum : v >= sum;
      };
    case 'float':
      return (val, base, offset, sub, less) => {
        const v = val as number;
        const b = base as number;
        const off = offset as number;
        if (Number.isNaN(off) || off < 0) throw invalidSize();
        // NaN sorts after everything and equals itself.
        if (Number.isNaN(v)) return Number.isNaN(b) ? true : !less;
        if (Number.isNaN(b)) return less;
        if (!Number.isFinite(off) && !Number.isFinite(b) && (sub ? b > 0 : b < 0)) return true;
        const sum = sub ? b - off : b + off;
        return less ? v <= sum : v >= sum;
      };
    case 'numeric':
      return (val, base, offset, sub, less) => {
        const v = val as Numeric;
        const b = base as Numeric;
        const off = offset as Numeric;
        if (off.isNaN() || off.sign() < 0) throw invalidSize();
        if (v.isNaN()) return b.isNaN() ? true : !less;
        if (b.isNaN()) return less;
        // base -/+ Infinity would be NaN: PostgreSQL counts every value as in range.
        if (off.kind === 'inf' && (sub ? b.kind === 'inf' : b.kind === '-inf')) return true;
        const sum = sub ? subNumeric(b, off) : addNumeric(b, off);
        const c = compareNumeric(v, sum);
        return less ? c <= 0 : c >= 0;
      };
  }
}
