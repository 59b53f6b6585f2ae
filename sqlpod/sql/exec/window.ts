// Window functions over materialized rows: per window, the rows are sorted by
// partition then order keys (stably), each partition is cut into peer groups
// (rows equal in the order keys), and each function walks the partition with
// the frame bounds ./frame.ts gives every row. An aggregate adds rows to one
// accumulator while its frame only grows at the end (the default frame, any
// frame starting UNBOUNDED PRECEDING) and starts over when the head moves, so
// sliding frames cost O(rows × frame size).
import { SQLSTATE, SqlError } from '../errors.js';
import { compile, type Compiled, type EvalContext, type Row } from '../plan/expr.js';
import type { WindowFunction, WindowSpec } from '../plan/window.js';
import type { Datum } from '../types/index.js';
import { accumulatorFactory, keyComparator, orderKey } from './aggregate.js';
import { checkFrameOffsets, frameBounds, includedRows, type FrameValues } from './frame.js';

export interface WindowInput {
  readonly width: number;
  readonly windows: readonly WindowSpec[];
  readonly functions: readonly WindowFunction[];
}

/**
 * The rows, each as its first `width` values followed by the functions'
 * values, in the order of the last window's sort (as PostgreSQL returns them
 * when nothing sorts them afterwards).
 */
export function computeWindows(node: WindowInput, rows: readonly Row[], ctx: EvalContext): Row[] {
  const out: Row[] = rows.map((row) => {
    const wide: Row = new Array<Datum>(node.width + node.functions.length).fill(null);
    for (let i = 0; i < node.width; i++) wide[i] = row[i] ?? null;
    return wide;
  });
  let order: number[] = rows.map((_, i) => i);
  for (const [w, spec] of node.windows.entries()) {
    const functions = node.functions.flatMap((f, i) => (f.window !== w ? [] : [{ f, slot: node.width + i }]));
    if (functions.length === 0) continue;
    // Offsets are one value per statement, checked even when there is no row (as PostgreSQL does).
    const offsetValue = (b: WindowSpec['frame']['start']): Datum => ('offset' in b ? compile(b.offset)([], ctx) : null);
    const frame = checkFrameOffsets(spec.frame, offsetValue(spec.frame.start), offsetValue(spec.frame.end));
    const sorted = sortedForWindow(spec, rows, ctx);
    order = sorted.order;
    const np = spec.partition.length;
    const keys = order.map((i) => {
      const v = sorted.values[i] ?? [];
      return { partition: v.slice(0, np), order: v.slice(np) };
    });
    const samePartition = keyComparator(spec.partition.map((e) => ({ type: e.type, descending: false, nullsFirst: false })));
    const samePeers = keyComparator(spec.order.map(orderKey));
    const evaluators = functions.map(({ f }) => evaluator(f));
    const firstKey = spec.order[0];

    let start = 0;
    while (start < order.length) {
      let end = start + 1;
      while (end < order.length && samePartition(keys[start]?.partition ?? [], keys[end]?.partition ?? []) === 0) end++;
      const partitionRows = order.slice(start, end).map((i) => rows[i] as Row);
      const size = end - start;
      const peerStart = new Array<number>(size);
      const peerEnd = new Array<number>(size);
      const groupStarts: number[] = [];
      for (let k = 0; k < size; k++) {
        const i = start + k;
        if (k === 0 || samePeers(keys[i - 1]?.order ?? [], keys[i]?.order ?? []) !== 0) groupStarts.push(k);
        peerStart[k] = groupStarts[groupStarts.length - 1] ?? 0;
      }
      for (let g = groupStarts.length - 1, next = size; g >= 0; next = groupStarts[g] ?? 0, g--) {
        for (let k = groupStarts[g] ?? 0; k < next; k++) peerEnd[k] = next;
      }
      const partition: Partition = {
        rows: partitionRows,
        peerStart,
        peerEnd,
        frame,
        orderValues: firstKey ? keys.slice(start, end).map((k) => k.order[0] ?? null) : [],
        descending: firstKey?.descending ?? false,
        nullsFirst: firstKey?.nullsFirst ?? false,
        bounds: null,
      };
      for (const [j, { slot }] of functions.entries()) {
        const values = (evaluators[j] as Evaluator)(partition, ctx);
        for (let k = 0; k < size; k++) {
          const row = out[order[start + k] as number];
          if (row) row[slot] = values[k] ?? null;
        }
      }
      start = end;
    }
  }
  return order.map((i) => out[i] as Row);
}

/** A partition in window order, with what the functions share. */
interface Partition {
  readonly rows: readonly Row[];
  readonly peerStart: readonly number[];
  readonly peerEnd: readonly number[];
  readonly frame: FrameValues;
  readonly orderValues: readonly Datum[];
  readonly descending: boolean;
  readonly nullsFirst: boolean;
  /** Frame bounds, computed on first use. */
  bounds: { head: number[]; tail: number[] } | null;
}

type Evaluator = (p: Partition, ctx: EvalContext) => Datum[];

function boundsOf(p: Partition): { head: number[]; tail: number[] } {
  p.bounds ??= frameBounds(p.frame, { size: p.rows.length, peerStart: p.peerStart, peerEnd: p.peerEnd, orderValues: p.orderValues, descending: p.descending, nullsFirst: p.nullsFirst });
  return p.bounds;
}

/** Row k's frame as positions in the partition: first, last and n-th (from 0) row left after EXCLUDE. */
function frameRowsOf(p: Partition): (k: number) => { first: number | undefined; last: number | undefined; nth(n: number): number | undefined } {
  const { head, tail } = boundsOf(p);
  const exclude = p.frame.frame.exclude;
  return (k) => {
    const h = head[k] ?? 0;
    const t = tail[k] ?? 0;
    if (!exclude) {
      const inFrame = (r: number): number | undefined => (r >= h && r < t ? r : undefined);
      return { first: inFrame(h), last: inFrame(t - 1), nth: (n) => inFrame(h + n) };
    }
    const rows = includedRows(exclude, k, h, t, p.peerStart[k] ?? k, p.peerEnd[k] ?? k + 1);
    return { first: rows[0], last: rows.at(-1), nth: (n) => rows[n] };
  };
}

/** Compiles a function once; the evaluator gives its value for each row of a partition. */
function evaluator(f: WindowFunction): Evaluator {
  switch (f.kind) {
    case 'row_number':
      return (p) => p.rows.map((_, k) => BigInt(k + 1));
    case 'rank':
      return (p) => p.rows.map((_, k) => BigInt((p.peerStart[k] ?? 0) + 1));
    case 'dense_rank':
      return (p) => {
        const out: Datum[] = [];
        let g = 0;
        for (let k = 0; k < p.rows.length; k++) {
          if (k > 0 && p.peerStart[k] === k) g++;
          out.push(BigInt(g + 1));
        }
        return out;
      };
    case 'percent_rank':
      return (p) => p.rows.map((_, k) => (p.rows.length > 1 ? (p.peerStart[k] ?? 0) / (p.rows.length - 1) : 0));
    case 'cume_dist':
      return (p) => p.rows.map((_, k) => (p.peerEnd[k] ?? 0) / p.rows.length);
    case 'aggregate': {
      const factory = accumulatorFactory(f.call);
      return (p, ctx) => {
        const { head, tail } = boundsOf(p);
        const exclude = p.frame.frame.exclude;
        if (exclude) {
          // Each row's frame has its own hole: aggregate it afresh.
          return p.rows.map((_, k) => {
            const acc = factory();
            for (const r of includedRows(exclude, k, head[k] ?? 0, tail[k] ?? 0, p.peerStart[k] ?? k, p.peerEnd[k] ?? k + 1)) acc.add(p.rows[r] as Row, ctx);
            return acc.result(ctx);
          });
        }
        const out: Datum[] = [];
        let acc = factory();
        let accHead = 0;
        let accTail = 0;
        let lastHead = -1;
        let lastTail = -1;
        let last: Datum = null;
        for (let k = 0; k < p.rows.length; k++) {
          const h = head[k] ?? 0;
          const t = Math.max(h, tail[k] ?? 0);
          if (h !== lastHead || t !== lastTail) {
            if (h !== accHead || t < accTail) {
              acc = factory();
              accHead = h;
              accTail = h;
            }
            for (; accTail < t; accTail++) acc.add(p.rows[accTail] as Row, ctx);
            last = acc.result(ctx);
            lastHead = h;
            lastTail = t;
          }
          out.push(last);
        }
        return out;
      };
    }
    case 'ntile': {
      const buckets = compile(f.buckets);
      return (p, ctx) => ntile(p.rows, buckets, ctx);
    }
    case 'lag':
    case 'lead': {
      const value = compile(f.value);
      const offset = f.offset ? compile(f.offset) : () => 1;
      const fallback = f.fallback ? compile(f.fallback) : () => null;
      const direction = f.kind === 'lag' ? -1 : 1;
      return (p, ctx) =>
        p.rows.map((row, k) => {
          const n = offset(row, ctx);
          if (n === null) return null;
          const target = p.rows[k + direction * Number(n)];
          return target ? value(target, ctx) : fallback(row, ctx);
        });
    }
    case 'first_value':
    case 'last_value': {
      const value = compile(f.value);
      const first = f.kind === 'first_value';
      return (p, ctx) => {
        const framed = frameRowsOf(p);
        return p.rows.map((_, k) => {
          const rows = framed(k);
          const at = first ? rows.first : rows.last;
          return at === undefined ? null : value(p.rows[at] as Row, ctx);
        });
      };
    }
    case 'nth_value': {
      const value = compile(f.value);
      const nth = compile(f.n);
      return (p, ctx) => {
        const framed = frameRowsOf(p);
        return p.rows.map((row, k) => {
          const n = nth(row, ctx);
          if (n === null) return null;
          if (Number(n) <= 0) throw new SqlError(SQLSTATE.INVALID_ARGUMENT_FOR_NTH_VALUE, 'argument of nth_value must be greater than zero');
          const at = framed(k).nth(Number(n) - 1);
          return at === undefined ? null : value(p.rows[at] as Row, ctx);
        });
      };
    }
  }
}

/**
 * PostgreSQL's window_ntile: the bucket count is read at each row until one
 * is not NULL (rows before it get NULL), then fixed for the partition; the
 * first `total % buckets` buckets get one row more.
 */
function ntile(rows: readonly Row[], buckets: Compiled, ctx: EvalContext): Datum[] {
  const total = rows.length;
  const out: Datum[] = [];
  let bucket = 0;
  let inBucket = 0;
  let boundary = 0;
  let remainder = 0;
  for (const row of rows) {
    if (bucket === 0) {
      const n = buckets(row, ctx);
      if (n === null) {
        out.push(null);
        continue;
      }
      const count = Number(n);
      if (count <= 0) throw new SqlError(SQLSTATE.INVALID_ARGUMENT_FOR_NTILE, 'argument of ntile must be greater than zero');
      bucket = 1;
      inBucket = 0;
      boundary = Math.floor(total / count);
      if (boundary <= 0) boundary = 1;
      else {
        remainder = total % count;
        if (remainder !== 0) boundary++;
      }
    }
    inBucket++;
    if (boundary < inBucket) {
      if (remainder !== 0 && bucket === remainder) {
        remainder = 0;
        boundary -= 1;
      }
      bucket++;
      inBucket = 1;
    }
    out.push(bucket);
  }
  return out;
}

/** Row indexes sorted by partition keys (NULLs together, last) then the window's ORDER BY; ties keep input order. */
function sortedForWindow(spec: WindowSpec, rows: readonly Row[], ctx: EvalContext): { order: number[]; values: Datum[][] } {
  const keys = [...spec.partition, ...spec.order.map((o) => o.expr)].map(compile);
  const compareKeys = keyComparator([...spec.partition.map((e) => ({ type: e.type, descending: false, nullsFirst: false })), ...spec.order.map(orderKey)]);
  const values = rows.map((row) => keys.map((k) => k(row, ctx)));
  return { order: rows.map((_, i) => i).sort((a, b) => compareKeys(values[a] ?? [], values[b] ?? []) || a - b), values };
}
