// Window functions over materialized rows: per window, the rows are sorted by
// partition then order keys (stably), and each partition is walked one peer
// group (rows equal in the order keys) at a time. The frame is the default
// one: the partition up to the current row's last peer with ORDER BY, the
// whole partition without.
import { compile, type EvalContext, type Row } from '../plan/expr.js';
import type { WindowFunction, WindowSpec } from '../plan/window.js';
import type { Datum } from '../types/index.js';
import { accumulatorFactory, keyComparator, orderKey } from './aggregate.js';

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
    const functions = node.functions.flatMap((f, i) => (f.window === w ? [{ f, slot: node.width + i }] : []));
    if (functions.length === 0) continue;
    const sorted = sortedForWindow(spec, rows, ctx);
    order = sorted.order;
    const np = spec.partition.length;
    const keys = order.map((i) => {
      const v = sorted.values[i] ?? [];
      return { partition: v.slice(0, np), order: v.slice(np) };
    });
    const samePartition = keyComparator(spec.partition.map((e) => ({ type: e.type, descending: false, nullsFirst: false })));
    const samePeers = keyComparator(spec.order.map(orderKey));
    const factories = functions.map(({ f }) => (f.kind === 'aggregate' ? accumulatorFactory(f.call) : null));

    let start = 0;
    while (start < order.length) {
      let end = start + 1;
      while (end < order.length && samePartition(keys[start]?.partition ?? [], keys[end]?.partition ?? []) === 0) end++;
      // Peer groups of the partition [start, end): [groups[g], groups[g + 1]).
      const groups: number[] = [];
      for (let i = start; i < end; i++) {
        if (i === start || samePeers(keys[i - 1]?.order ?? [], keys[i]?.order ?? []) !== 0) groups.push(i);
      }
      groups.push(end);
      const size = end - start;
      for (const [j, { f, slot }] of functions.entries()) {
        const set = (i: number, v: Datum): void => {
          const row = out[order[i] as number];
          if (row) row[slot] = v;
        };
        const accumulator = factories[j]?.();
        for (let g = 0; g + 1 < groups.length; g++) {
          const from = groups[g] as number;
          const to = groups[g + 1] as number;
          let peerValue: Datum = null;
          if (accumulator) {
            for (let i = from; i < to; i++) accumulator.add(rows[order[i] as number] as Row, ctx);
            peerValue = accumulator.result();
          } else if (f.kind === 'rank') peerValue = BigInt(from - start + 1);
          else if (f.kind === 'dense_rank') peerValue = BigInt(g + 1);
          else if (f.kind === 'percent_rank') peerValue = size > 1 ? (from - start) / (size - 1) : 0;
          else if (f.kind === 'cume_dist') peerValue = (to - start) / size;
          for (let i = from; i < to; i++) set(i, f.kind === 'row_number' ? BigInt(i - start + 1) : peerValue);
        }
      }
      start = end;
    }
  }
  return order.map((i) => out[i] as Row);
}

/** Row indexes sorted by partition keys (NULLs together, last) then the window's ORDER BY; ties keep input order. */
function sortedForWindow(spec: WindowSpec, rows: readonly Row[], ctx: EvalContext): { order: number[]; values: Datum[][] } {
  const keys = [...spec.partition, ...spec.order.map((o) => o.expr)].map(compile);
  const compareKeys = keyComparator([...spec.partition.map((e) => ({ type: e.type, descending: false, nullsFirst: false })), ...spec.order.map(orderKey)]);
  const values = rows.map((row) => keys.map((k) => k(row, ctx)));
  return { order: rows.map((_, i) => i).sort((a, b) => compareKeys(values[a] ?? [], values[b] ?? []) || a - b), values };
}
