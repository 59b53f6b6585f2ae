// Function scans (functions in FROM): each function is a lazy sequence of
// values, zipped into rows and handed out a page at a time, so
// `generate_series(1, 1e12) LIMIT 3` reads three values and a long series
// can be cancelled. Series follow PostgreSQL's generate_series: the step
// may not be zero (nor NaN or infinite for numeric), and the last value is
// the last one not past `stop`.
import { SQLSTATE, SqlError } from '../errors.js';
import { compile, type EvalContext, type Row } from '../plan/expr.js';
import type { SetFunction } from '../plan/srf.js';
import { SCAN_PAGE } from '../txn.js';
import { Numeric, T, arrayValue, resolveOperator, type Datum, type Interval } from '../types/index.js';
import { compareInterval, makeInterval } from '../types/interval.js';
import { addNumeric, compareNumeric } from '../types/numeric.js';

export interface FunctionScanContext {
  readonly eval: EvalContext;
  readonly checkCancel: () => void;
}

/** The scan's rows; arguments are evaluated over `row` (an empty row its correlated subqueries were prepared for). */
export function* functionScan(functions: readonly SetFunction[], ordinality: boolean, row: Row, ctx: FunctionScanContext): Generator<Row[]> {
  const sequences = functions.map((f) => values(f, row, ctx.eval));
  let n = 0n;
  let page: Row[] = [];
  for (;;) {
    let any = false;
    const out: Row = functions.map((_, i) => {
      const next = sequences[i]?.next();
      if (!next || next.done) return null;
      any = true;
      return next.value;
    });
    if (!any) break;
    n++;
    if (ordinality) out.push(n);
    page.push(out);
    if (page.length >= SCAN_PAGE) {
      ctx.checkCancel();
      yield page;
      page = [];
    }
  }
  if (page.length) yield page;
}

function* values(f: SetFunction, row: Row, ctx: EvalContext): Generator<Datum> {
  if (f.kind === 'values') {
    for (const v of f.values) yield compile(v)(row, ctx);
    return;
  }
  if (f.kind === 'elements') {
    const array = compile(f.array)(row, ctx);
    if (array !== null) yield* arrayValue(array).items;
    return;
  }
  const start = compile(f.start)(row, ctx);
  const stop = compile(f.stop)(row, ctx);
  const step = f.step ? compile(f.step)(row, ctx) : null;
  // generate_series is strict: a NULL argument gives no rows.
  if (start === null || stop === null || (f.step && step === null)) return;
  switch (f.type.oid) {
    case T.int4.oid:
    case T.int8.oid: {
      const by = step === null ? 1n : BigInt(step as number | bigint);
      if (by === 0n) throw stepIsZero();
      const last = BigInt(stop as number | bigint);
      const asInt4 = f.type.oid === T.int4.oid;
      for (let v = BigInt(start as number | bigint); by > 0n ? v <= last : v >= last; v += by) yield asInt4 ? Number(v) : v;
      return;
    }
    case T.numeric.oid: {
      const from = start as Numeric;
      const to = stop as Numeric;
      const by = step === null ? Numeric.ONE : (step as Numeric);
      for (const [value, what] of [
        [from, 'start value'],
        [to, 'stop value'],
        [by, 'step size'],
      ] as const) {
        if (value.isNaN()) throw new SqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `${what} cannot be NaN`);
        if (!value.isFinite()) throw new SqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `${what} cannot be infinity`);
      }
      const sign = by.sign();
      if (sign === 0) throw stepIsZero();
      for (let v = from; sign > 0 ? compareNumeric(v, to) <= 0 : compareNumeric(v, to) >= 0; v = addNumeric(v, by)) yield v;
      return;
    }
    default: {
      // timestamp and timestamptz by an interval, with the session's time zone for timestamptz.
      const by = step as Interval;
      const direction = compareInterval(by, makeInterval(0, 0, 0n));
      if (direction === 0) throw stepIsZero();
      const add = resolveOperator('+', f.type, T.interval).fn;
      const last = stop as bigint;
      for (let v = start as bigint; direction > 0 ? v <= last : v >= last; v = add(v, by, ctx) as bigint) yield v;
    }
  }
}

function stepIsZero(): SqlError {
  return new SqlError(SQLSTATE.INVALID_PARAMETER_VALUE, 'step size cannot equal zero');
}
