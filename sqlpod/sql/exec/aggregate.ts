// One aggregate call's per-group accumulation: FILTER decides which rows
// reach it, and with an ORDER BY inside the call the group's argument rows
// are held back and fed in sorted order once the group is complete (so
// ordered-set aggregates, whose WITHIN GROUP order is that ORDER BY, get
// their input sorted); held rows are reported so the caller can charge them.
import type { AggregateCall, AggregateOrder } from '../plan/analyze-expr.js';
import { compile, type EvalContext, type Row } from '../plan/expr.js';
import { compare, type AggregateState, type Datum, type SqlType } from '../types/index.js';
import { rowBytes } from './memory.js';

export interface GroupAccumulator {
  /** Adds a row; returns the bytes it now holds for it (0 when it folds rows as they come). */
  add(row: Row, ctx: EvalContext): number;
  result(ctx: EvalContext): Datum;
}

/** Makes a fresh accumulator per group; the call's expressions are compiled once. */
export function accumulatorFactory(call: AggregateCall): () => GroupAccumulator {
  const args = call.args.map(compile);
  const filter = call.filter ? compile(call.filter) : null;
  const keys = call.order.map((o) => compile(o.expr));
  const compareKeys = keyComparator(call.order.map(orderKey));
  const direct = call.direct?.map(compile);
  const finish = (state: AggregateState, ctx: EvalContext): Datum => {
    if (!direct || !state.finish) return state.result();
    // Direct arguments read no column: one value per group, evaluated even when no row came.
    return state.finish(direct.map((d) => d([], ctx)));
  };
  return () => {
    const state = call.resolved.create();
    if (keys.length === 0) {
      return {
        add(row, ctx) {
          if (filter && filter(row, ctx) !== true) return 0;
          state.add(args.map((a) => a(row, ctx)));
          return 0;
        },
        result: (ctx) => finish(state, ctx),
      };
    }
    const held: { args: Datum[]; keys: Datum[] }[] = [];
    return {
      add(row, ctx) {
        if (filter && filter(row, ctx) !== true) return 0;
        const h = { args: args.map((a) => a(row, ctx)), keys: keys.map((k) => k(row, ctx)) };
        held.push(h);
        return rowBytes(h.args) + rowBytes(h.keys);
      },
      result(ctx) {
        // Array.prototype.sort is stable: ties keep arrival order, as PostgreSQL's sort mostly does.
        held.sort((a, b) => compareKeys(a.keys, b.keys));
        for (const h of held) state.add(h.args);
        held.length = 0;
        return finish(state, ctx);
      },
    };
  };
}

/** Orders key tuples as ORDER BY does: per key ascending or descending, NULLs first or last. */
export function keyComparator(order: readonly OrderKey[]): (a: readonly Datum[], b: readonly Datum[]) => number {
  return (a, b) => {
    for (const [i, o] of order.entries()) {
      const x = a[i] ?? null;
      const y = b[i] ?? null;
      if (x === null || y === null) {
        if (x === y) continue;
        return (x === null) === o.nullsFirst ? -1 : 1;
      }
      const c = compare(o.type, x, y);
      if (c !== 0) return o.descending ? -c : c;
    }
    return 0;
  };
}

export interface OrderKey {
  readonly type: SqlType;
  readonly descending: boolean;
  readonly nullsFirst: boolean;
}

export function orderKey(o: AggregateOrder): OrderKey {
  return { type: o.expr.type, descending: o.descending, nullsFirst: o.nullsFirst };
}
