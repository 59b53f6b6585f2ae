// Ordered-set aggregates (`f(direct…) WITHIN GROUP (ORDER BY x)`):
// percentile_cont, percentile_disc and mode, as PostgreSQL's orderedsetaggs.c
// computes them. The executor sorts the group's rows by the WITHIN GROUP
// order before they arrive here, so a state only keeps the non-NULL values
// in arrival order; the direct arguments come once per group, at the end.
import { SQLSTATE } from '../errors.js';
import { SqlArray, T, arrayOf, sqlError, type Datum, type SqlType } from './catalog.js';
import { compare } from './compare.js';
import { type Interval, addInterval, mulInterval, subInterval } from './interval.js';
import { canCoerceImplicitly } from './resolve.js';
import type { AggregateState, ResolvedAggregate } from './aggregates.js';

export const ORDERED_SET_AGGREGATES = new Set(['percentile_cont', 'percentile_disc', 'mode']);
/** PostgreSQL's hypothetical-set aggregates, which Shoal does not compute. */
export const HYPOTHETICAL_SET_AGGREGATES = new Set(['rank', 'dense_rank', 'percent_rank', 'cume_dist']);

const FLOAT8_ARRAY = arrayOf(T.float8) as SqlType;

/**
 * Resolves `name(direct…) WITHIN GROUP (ORDER BY sorted)` against
 * PostgreSQL's signatures; `direct` of the result are the types the direct
 * arguments must be cast to, `args` the sorted input's.
 */
export function resolveOrderedSetAggregate(name: string, direct: readonly SqlType[], sorted: SqlType): ResolvedAggregate & { readonly direct: readonly SqlType[] } {
  const input = sorted.oid === T.unknown.oid ? T.text : sorted;
  const missing = () =>
    sqlError(SQLSTATE.UNDEFINED_FUNCTION, `function ${name}(${[...direct, sorted].map((t) => t.name).join(', ')}) does not exist`, {
      hint: 'No function matches the given name and argument types. You might need to add explicit type casts.',
    });
  if (name === 'mode') {
    if (direct.length !== 0) throw missing();
    return { name, result: input, args: [input], direct: [], create: () => modeState(input) };
  }
  const fraction = direct[0];
  if (direct.length !== 1 || fraction === undefined) throw missing();
  // A float8[] of fractions asks for one result per fraction.
  const many = fraction.element !== undefined;
  if (many ? !canCoerceImplicitly(fraction.element ?? T.unknown, T.float8) : !canCoerceImplicitly(fraction, T.float8)) throw missing();
  const directType = many ? FLOAT8_ARRAY : T.float8;
  let value: SqlType;
  let pick: Picker;
  if (name === 'percentile_disc') {
    value = input;
    pick = disc;
  } else {
    if (input.oid === T.interval.oid) {
      value = T.interval;
      pick = cont((lo, hi, pct) => addInterval(mulInterval(subInterval(hi as Interval, lo as Interval), pct), lo as Interval));
    } else if (canCoerceImplicitly(input, T.float8)) {
      value = T.float8;
      pick = cont((lo, hi, pct) => (lo as number) + pct * ((hi as number) - (lo as number)));
    } else throw missing();
  }
  const result = many ? arrayOf(value) : value;
  if (!result) throw sqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `arrays of type ${value.name} are not supported`);
  return { name, result, args: [value], direct: [directType], create: () => percentileState(pick, many) };
}

/** Reads the sorted values at a fraction, which is within [0, 1]. */
type Picker = (values: readonly Datum[], fraction: number) => Datum;

const disc: Picker = (values, fraction) => values[Math.max(1, Math.ceil(fraction * values.length)) - 1] ?? null;

function cont(lerp: (lo: Datum, hi: Datum, pct: number) => Datum): Picker {
  return (values, fraction) => {
    const at = fraction * (values.length - 1);
    const first = Math.floor(at);
    const second = Math.ceil(at);
    const lo = values[first] ?? null;
    return first === second ? lo : lerp(lo, values[second] ?? null, at - first);
  };
}

function checked(fraction: number): number {
  if (fraction < 0 || fraction > 1 || Number.isNaN(fraction)) {
    throw sqlError(SQLSTATE.NUMERIC_VALUE_OUT_OF_RANGE, `percentile value ${formatG(fraction)} is not between 0 and 1`);
  }
  return fraction;
}

function percentileState(pick: Picker, many: boolean): AggregateState {
  const values: Datum[] = [];
  return {
    add([x]) {
      if (x !== null && x !== undefined) values.push(x);
    },
    result: () => null,
    finish([direct]) {
      if (!many) {
        // PostgreSQL checks the fraction before it looks at the rows.
        if (direct === null || direct === undefined) return null;
        const fraction = checked(direct as number);
        return values.length === 0 ? null : pick(values, fraction);
      }
      if (values.length === 0 || direct === null || direct === undefined) return null;
      const fractions = (direct as SqlArray).items;
      return new SqlArray(fractions.map((f) => (f === null ? null : pick(values, checked(f as number)))));
    },
  };
}

/** The most frequent value; of equally frequent ones, the first in the sort order. */
function modeState(type: SqlType): AggregateState {
  let best: Datum = null;
  let bestCount = 0;
  let current: Datum = null;
  let count = 0;
  return {
    add([x]) {
      if (x === null || x === undefined) return;
      if (count > 0 && compare(type, current, x) === 0) count++;
      else {
        current = x;
        count = 1;
      }
      if (count > bestCount) {
        best = current;
        bestCount = count;
      }
    },
    result: () => best,
    finish: () => best,
  };
}

/** C's %g, as PostgreSQL's messages print doubles. */
function formatG(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  if (x === 0) return '0';
  const exponent = Math.floor(Math.log10(Math.abs(x)));
  if (exponent < -4 || exponent >= 6) {
    const [mantissa = '', exp = '0'] = x.toExponential(5).split('e');
    const e = Number(exp);
    return `${mantissa.replace(/\.?0+$/, '')}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  return String(Number(x.toPrecision(6)));
}
