// Aggregate functions. DISTINCT is handled here: duplicate argument tuples
// (equal under compare(), detected through their key encodings) are skipped.
import { SQLSTATE } from '../errors.js';
import { PSEUDO, SqlArray, T, arrayOf, sqlError, type Datum, type SqlType } from './catalog.js';
import { compare } from './compare.js';
import type { Interval} from './interval.js';
import { addInterval, divInterval } from './interval.js';
import { KeyWriter, encodeKey } from './keys.js';
import { Numeric, addNumeric, divNumeric } from './numeric.js';
import { resolveOperator } from './operators.js';
import { selectCandidate } from './resolve.js';

export interface AggregateState {
  add(args: readonly Datum[]): void;
  result(): Datum;
  /** Ordered-set aggregates: the result, given the call's direct arguments (one value per group). */
  finish?(direct: readonly Datum[]): Datum;
}

export interface ResolvedAggregate {
  readonly name: string;
  readonly result: SqlType;
  /** The types the arguments must be cast to. */
  readonly args: readonly SqlType[];
  /** Ordered-set aggregates: the types the direct arguments must be cast to. */
  readonly direct?: readonly SqlType[];
  create(): AggregateState;
}

interface AggDef {
  readonly args: readonly SqlType[];
  readonly result: SqlType;
  /** Rows with a NULL in any argument are skipped (strict transition function). */
  readonly strict: boolean;
  readonly make: (args: readonly SqlType[]) => AggregateState;
}

const AGGS = new Map<string, AggDef[]>();

function agg(names: string | readonly string[], args: readonly SqlType[], result: SqlType, make: AggDef['make'], strict = true): void {
  for (const name of typeof names === 'string' ? [names] : names) {
    const list = AGGS.get(name) ?? [];
    list.push({ args, result, strict, make });
    AGGS.set(name, list);
  }
}

/** A fold: `step` combines the running value with the next input; null before the first input. */
function fold(step: (acc: Datum, x: Datum) => Datum, finish: (acc: Datum, n: bigint) => Datum = (acc) => acc): AggregateState {
  let acc: Datum = null;
  let n = 0n;
  return {
    add([x]) {
      acc = n === 0n ? step(null, x ?? null) : step(acc, x ?? null);
      n++;
    },
    result: () => (n === 0n ? null : finish(acc, n)),
  };
}

agg('count', [], T.int8, () => {
  let n = 0n;
  return { add: () => void n++, result: () => n };
});
agg('count', [PSEUDO.any], T.int8, () => {
  let n = 0n;
  return { add: () => void n++, result: () => n };
});

const plus = (t: SqlType): ((a: Datum, b: Datum) => Datum) => resolveOperator('+', t, t).fn;
for (const t of [T.int2, T.int4]) {
  const add = plus(T.int8);
  agg('sum', [t], T.int8, () => fold((acc, x) => (acc === null ? BigInt(x as number) : add(acc, BigInt(x as number)))));
}
agg('sum', [T.int8], T.numeric, () => fold((acc, x) => (acc === null ? Numeric.fromInt(x as bigint) : addNumeric(acc as Numeric, Numeric.fromInt(x as bigint)))));
for (const t of [T.float4, T.float8]) {
  const add = plus(t);
  agg('sum', [t], t, () => fold((acc, x) => (acc === null ? x : add(acc, x))));
}
agg('sum', [T.numeric], T.numeric, () => fold((acc, x) => (acc === null ? x : addNumeric(acc as Numeric, x as Numeric))));
agg('sum', [T.interval], T.interval, () => fold((acc, x) => (acc === null ? x : addInterval(acc as Interval, x as Interval))));

for (const t of [T.int2, T.int4, T.int8]) {
  agg('avg', [t], T.numeric, () =>
    fold(
      (acc, x) => addNumeric(acc === null ? Numeric.ZERO : (acc as Numeric), Numeric.fromInt(x as number | bigint)),
      (acc, n) => divNumeric(acc as Numeric, Numeric.fromInt(n)),
    ),
  );
}
const addFloat8 = plus(T.float8);
for (const t of [T.float4, T.float8]) {
  agg('avg', [t], T.float8, () => fold((acc, x) => (acc === null ? x : addFloat8(acc, x)), (acc, n) => (acc as number) / Number(n)));
}
agg('avg', [T.numeric], T.numeric, () => fold((acc, x) => (acc === null ? x : addNumeric(acc as Numeric, x as Numeric)), (acc, n) => divNumeric(acc as Numeric, Numeric.fromInt(n))));
agg('avg', [T.interval], T.interval, () =>
  fold((acc, x) => (acc === null ? x : addInterval(acc as Interval, x as Interval)), (acc, n) => divInterval(acc as Interval, Number(n))),
);

const ORDERED = [
  T.int2, T.int4, T.int8, T.float4, T.float8, T.numeric, T.oid, T.bool, T.text, T.bpchar, T.name, T.bytea,
  T.date, T.timestamp, T.timestamptz, T.interval, T.uuid, T.jsonb,
];
for (const t of ORDERED) {
  agg('min', [t], t, () => fold((acc, x) => (acc === null || compare(t, x, acc) < 0 ? x : acc)));
  agg('max', [t], t, () => fold((acc, x) => (acc === null || compare(t, x, acc) > 0 ? x : acc)));
}
agg(['bool_and', 'every'], [T.bool], T.bool, () => fold((acc, x) => (acc === null ? x : acc === true && x === true)));
agg('bool_or', [T.bool], T.bool, () => fold((acc, x) => (acc === null ? x : acc === true || x === true)));

for (const t of [T.text, T.bytea]) {
  agg(
    'string_agg',
    [t, t],
    t,
    () => {
      const parts: Datum[] = [];
      return {
        add([value, delim]) {
          if (value === null || value === undefined) return;
          if (parts.length > 0 && delim !== null && delim !== undefined) parts.push(delim);
          parts.push(value);
        },
        result: () => {
          if (parts.length === 0) return null;
          return t.oid === T.text.oid ? (parts as string[]).join('') : Buffer.concat(parts as Buffer[]);
        },
      };
    },
    false,
  );
}

function withNullsAndDistinct(def: AggDef, args: readonly SqlType[], distinct: boolean): AggregateState {
  const inner = def.make(args);
  const seen = new Set<string>();
  return {
    add(values) {
      if (def.strict && values.some((v) => v === null)) return;
      if (distinct) {
        const w = new KeyWriter();
        values.forEach((v, i) => encodeKey(args[i] ?? T.text, v, false, w));
        const key = w.finish().toString('latin1');
        if (seen.has(key)) return;
        seen.add(key);
      }
      inner.add(values);
    },
    result: () => inner.result(),
  };
}

/** array_agg(x): the inputs in the order they arrive, NULLs kept; NULL for no input. */
/** min and max of an enum type (PostgreSQL's anyenum aggregates): by label order. */
function enumExtreme(name: 'min' | 'max', t: SqlType, distinct: boolean): ResolvedAggregate {
  const sign = name === 'min' ? -1 : 1;
  const def: AggDef = { args: [t], result: t, strict: true, make: () => fold((acc, x) => (acc === null || compare(t, x, acc) * sign > 0 ? x : acc)) };
  return { name, result: t, args: [t], create: () => withNullsAndDistinct(def, [t], distinct) };
}

function arrayAgg(arg: SqlType, distinct: boolean): ResolvedAggregate {
  const element = arg.oid === T.unknown.oid ? T.text : arg;
  if (element.element) throw sqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'array_agg over arrays (multidimensional arrays) is not supported');
  const result = arrayOf(element);
  if (!result) throw sqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `arrays of type ${element.name} are not supported`);
  const def: AggDef = {
    args: [element],
    result,
    strict: false,
    make: () => {
      const items: Datum[] = [];
      // A copy: window frames read the result and then keep adding.
      return { add: ([x]) => void items.push(x ?? null), result: () => (items.length === 0 ? null : new SqlArray([...items])) };
    },
  };
  return { name: 'array_agg', result, args: [element], create: () => withNullsAndDistinct(def, [element], distinct) };
}

export function isAggregateName(name: string): boolean {
  return AGGS.has(name.toLowerCase()) || name.toLowerCase() === 'array_agg';
}

/** Resolves an aggregate call; count(*) is name 'count' with no arguments. */
export function resolveAggregate(name: string, args: readonly SqlType[], distinct: boolean): ResolvedAggregate {
  const lower = name.toLowerCase();
  if (lower === 'array_agg' && args.length === 1) return arrayAgg(args[0] ?? T.text, distinct);
  const [only] = args;
  if ((lower === 'min' || lower === 'max') && args.length === 1 && only?.enumLabels) return enumExtreme(lower, only, distinct);
  const chosen = selectCandidate(AGGS.get(lower) ?? [], args);
  const signature = `${lower}(${args.length === 0 && lower === 'count' ? '*' : args.map((a) => a.name).join(', ')})`;
  if (chosen === 'none') {
    throw sqlError(SQLSTATE.UNDEFINED_FUNCTION, `function ${signature} does not exist`, {
      hint: 'No function matches the given name and argument types. You might need to add explicit type casts.',
    });
  }
  if (chosen === 'ambiguous') {
    throw sqlError(SQLSTATE.AMBIGUOUS_FUNCTION, `function ${signature} is not unique`, {
      hint: 'Could not choose a best candidate function. You might need to add explicit type casts.',
    });
  }
  const argTypes = chosen.args.map((a, i) => (a.category === 'P' ? (args[i]?.oid === T.unknown.oid ? T.text : (args[i] ?? T.text)) : a));
  return { name: lower, result: chosen.result, args: argTypes, create: () => withNullsAndDistinct(chosen, argTypes, distinct) };
}
