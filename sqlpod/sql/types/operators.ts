// Built-in operators for the supported types, resolved as PostgreSQL resolves
// operators (see resolve.ts). Every operator here is strict: fn is only called
// with non-null operands. Prefix operators receive their operand as `b`.
import { SQLSTATE } from '../errors.js';
import { DEFAULT_CONTEXT, PSEUDO, T, sqlError, XSTATE, type Datum, type SqlType, type TypeContext } from './catalog.js';
import { compare, compareFloat } from './compare.js';
import { addDays, addIntervalToTimestamp, dateToTimestamp, resolveZone, subtractDates, subtractTimestamps } from './datetime.js';
import type { Interval} from './interval.js';
import { addInterval, divInterval, mulInterval, negInterval, subInterval } from './interval.js';
import {
  Jsonb,
  jsonAsText,
  jsonConcat,
  jsonContains,
  jsonDeleteIndex,
  jsonDeleteKey,
  jsonElement,
  jsonExists,
  jsonField,
  jsonPath,
  parseTextArrayLiteral,
} from './jsonb.js';
import type { Numeric} from './numeric.js';
import { absNumeric, addNumeric, divNumeric, modNumeric, mulNumeric, negNumeric, powerNumeric, subNumeric } from './numeric.js';
import { selectCandidate } from './resolve.js';
import { INT_RANGE, formatText } from './text-io.js';

export type OperatorFn = (a: Datum, b: Datum, ctx?: TypeContext) => Datum;

export interface ResolvedOperator {
  readonly result: SqlType;
  /** The type the left operand must be cast to; null for a prefix operator. */
  readonly left: SqlType | null;
  readonly right: SqlType;
  /** Called with non-null operands only; ctx gives the time zone for timestamptz arithmetic (default UTC). */
  readonly fn: OperatorFn;
}

interface OpDef {
  readonly name: string;
  readonly args: readonly SqlType[];
  readonly result: SqlType;
  readonly make: (inputs: readonly SqlType[]) => OperatorFn;
}

const OPS = new Map<string, OpDef[]>();

/** What each comparison operator makes of compare()'s sign. */
const COMPARISONS: ReadonlyMap<string, (sign: number) => boolean> = new Map([
  ['=', (c: number) => c === 0],
  ['<>', (c: number) => c !== 0],
  ['<', (c: number) => c < 0],
  ['<=', (c: number) => c <= 0],
  ['>', (c: number) => c > 0],
  ['>=', (c: number) => c >= 0],
]);

function op(name: string, left: SqlType | null, right: SqlType, result: SqlType, fn: OperatorFn): void {
  const list = OPS.get(name) ?? [];
  list.push({ name, args: left === null ? [right] : [left, right], result, make: () => fn });
  OPS.set(name, list);
}

// --- integers ----------------------------------------------------------------------------

type IntKind = 'int2' | 'int4' | 'int8';
const INTS: readonly [SqlType, IntKind][] = [
  [T.int2, 'int2'],
  [T.int4, 'int4'],
  [T.int8, 'int8'],
];
const INT_MSG = { int2: 'smallint out of range', int4: 'integer out of range', int8: 'bigint out of range' } as const;

function intResult(v: bigint, kind: IntKind): Datum {
  const [min, max] = INT_RANGE[kind];
  if (v < min || v > max) throw sqlError(SQLSTATE.NUMERIC_VALUE_OUT_OF_RANGE, INT_MSG[kind]);
  return kind === 'int8' ? v : Number(v);
}

function big(d: Datum): bigint {
  return typeof d === 'bigint' ? d : BigInt(d as number);
}

function divisionByZero(): Error {
  return sqlError(SQLSTATE.DIVISION_BY_ZERO, 'division by zero');
}

function wider(a: IntKind, b: IntKind): IntKind {
  return a === 'int8' || b === 'int8' ? 'int8' : a === 'int4' || b === 'int4' ? 'int4' : 'int2';
}

for (const [lt, lk] of INTS) {
  for (const [rt, rk] of INTS) {
    const k = wider(lk, rk);
    const rtype = k === 'int8' ? T.int8 : k === 'int4' ? T.int4 : T.int2;
    op('+', lt, rt, rtype, (a, b) => intResult(big(a) + big(b), k));
    op('-', lt, rt, rtype, (a, b) => intResult(big(a) - big(b), k));
    op('*', lt, rt, rtype, (a, b) => intResult(big(a) * big(b), k));
    op('/', lt, rt, rtype, (a, b) => {
      if (big(b) === 0n) throw divisionByZero();
      return intResult(big(a) / big(b), k);
    });
    const cmp = (a: Datum, b: Datum): number => {
      const x = big(a);
      const y = big(b);
      return x < y ? -1 : x > y ? 1 : 0;
    };
    comparisons(lt, rt, cmp);
  }
}
for (const [t, k] of INTS) {
  const bits = k === 'int8' ? 64 : k === 'int4' ? 32 : 16;
  const wrap = (v: bigint): Datum => (k === 'int8' ? BigInt.asIntN(64, v) : Number(BigInt.asIntN(bits, v)));
  op('%', t, t, t, (a, b) => {
    if (big(b) === 0n) throw divisionByZero();
    return intResult(big(a) % big(b), k);
  });
  op('-', null, t, t, (_a, b) => intResult(-big(b), k));
  op('+', null, t, t, (_a, b) => b);
  op('@', null, t, t, (_a, b) => intResult(big(b) < 0n ? -big(b) : big(b), k));
  op('&', t, t, t, (a, b) => wrap(big(a) & big(b)));
  op('|', t, t, t, (a, b) => wrap(big(a) | big(b)));
  op('#', t, t, t, (a, b) => wrap(big(a) ^ big(b)));
  op('~', null, t, t, (_a, b) => wrap(~big(b)));
  // C semantics: the count is taken modulo the width of the promoted operand.
  const width = k === 'int8' ? 63 : 31;
  op('<<', t, T.int4, t, (a, b) => wrap(BigInt.asIntN(k === 'int8' ? 64 : 32, big(a) << BigInt((b as number) & width))));
  op('>>', t, T.int4, t, (a, b) => wrap(big(a) >> BigInt((b as number) & width)));
}

// --- floating point ----------------------------------------------------------------------

function overflow(): Error {
  return sqlError(SQLSTATE.NUMERIC_VALUE_OUT_OF_RANGE, 'value out of range: overflow');
}
function underflow(): Error {
  return sqlError(SQLSTATE.NUMERIC_VALUE_OUT_OF_RANGE, 'value out of range: underflow');
}

function checkFloat(r: number, infValid: boolean, zeroValid: boolean): number {
  if (!Number.isFinite(r) && !Number.isNaN(r) && !infValid) throw overflow();
  if (r === 0 && !zeroValid) throw underflow();
  return r;
}

export function floatPow(x: number, y: number): number {
  if (x === 0 && y < 0) throw sqlError(XSTATE.INVALID_ARGUMENT_FOR_POWER, 'zero raised to a negative power is undefined');
  if (x < 0 && Math.floor(y) !== y) {
    throw sqlError(XSTATE.INVALID_ARGUMENT_FOR_POWER, 'a negative number raised to a non-integer power yields a complex result');
  }
  if (Number.isNaN(x) || Number.isNaN(y)) return (Number.isNaN(x) && y === 0) || (Number.isNaN(y) && x === 1) ? 1 : NaN;
  if (!Number.isFinite(y)) {
    const ax = Math.abs(x);
    if (ax === 1) return 1;
    return y > 0 ? (ax > 1 ? y : 0) : ax > 1 ? 0 : -y;
  }
  if (!Number.isFinite(x)) {
    if (y === 0) return 1;
    if (x > 0) return y > 0 ? x : 0;
    const odd = Math.floor(y / 2) !== y / 2;
    return y > 0 ? (odd ? x : -x) : odd ? -0 : 0;
  }
  const r = x ** y;
  if (!Number.isFinite(r)) throw overflow();
  if (r === 0 && x !== 0) throw underflow();
  return r;
}

const FLOATS: readonly SqlType[] = [T.float4, T.float8];
for (const lt of FLOATS) {
  for (const rt of FLOATS) {
    const single = lt.oid === T.float4.oid && rt.oid === T.float4.oid;
    const rtype = single ? T.float4 : T.float8;
    const round = single ? Math.fround : (x: number): number => x;
    const inf = (a: number, b: number): boolean => !Number.isFinite(a) || !Number.isFinite(b);
    op('+', lt, rt, rtype, (a, b) => checkFloat(round((a as number) + (b as number)), inf(a as number, b as number), true));
    op('-', lt, rt, rtype, (a, b) => checkFloat(round((a as number) - (b as number)), inf(a as number, b as number), true));
    op('*', lt, rt, rtype, (a, b) => {
      const x = a as number;
      const y = b as number;
      return checkFloat(round(x * y), inf(x, y), x === 0 || y === 0);
    });
    op('/', lt, rt, rtype, (a, b) => {
      const x = a as number;
      const y = b as number;
      if (y === 0 && !Number.isNaN(x)) throw divisionByZero();
      return checkFloat(round(x / y), !Number.isFinite(x), x === 0 || !Number.isFinite(y));
    });
    comparisons(lt, rt, (a, b) => compareFloat(a as number, b as number));
  }
}
for (const t of FLOATS) {
  op('-', null, t, t, (_a, b) => -(b as number));
  op('+', null, t, t, (_a, b) => b);
  op('@', null, t, t, (_a, b) => Math.abs(b as number));
}
op('^', T.float8, T.float8, T.float8, (a, b) => floatPow(a as number, b as number));
op('|/', null, T.float8, T.float8, (_a, b) => {
  if ((b as number) < 0) throw sqlError(XSTATE.INVALID_ARGUMENT_FOR_POWER, 'cannot take square root of a negative number');
  return Math.sqrt(b as number);
});
op('||/', null, T.float8, T.float8, (_a, b) => Math.cbrt(b as number));

// --- numeric -----------------------------------------------------------------------------

const N = T.numeric;
op('+', N, N, N, (a, b) => addNumeric(a as Numeric, b as Numeric));
op('-', N, N, N, (a, b) => subNumeric(a as Numeric, b as Numeric));
op('*', N, N, N, (a, b) => mulNumeric(a as Numeric, b as Numeric));
op('/', N, N, N, (a, b) => divNumeric(a as Numeric, b as Numeric));
op('%', N, N, N, (a, b) => modNumeric(a as Numeric, b as Numeric));
op('^', N, N, N, (a, b) => powerNumeric(a as Numeric, b as Numeric));
op('-', null, N, N, (_a, b) => negNumeric(b as Numeric));
op('+', null, N, N, (_a, b) => b);
op('@', null, N, N, (_a, b) => absNumeric(b as Numeric));

// --- comparisons for every other type ----------------------------------------------------

function comparisons(lt: SqlType, rt: SqlType, cmp: (a: Datum, b: Datum) => number): void {
  for (const [name, holds] of COMPARISONS) op(name, lt, rt, T.bool, (a, b) => holds(cmp(a, b)));
}

/**
 * Comparisons of an enum type with itself (PostgreSQL's anyenum operators): an
 * unknown literal on one side is read as a label of the other side's type.
 */
function enumComparison(name: string, left: SqlType, right: SqlType): ResolvedOperator | undefined {
  const holds = COMPARISONS.get(name);
  const type = left.enumLabels ? left : right.enumLabels ? right : undefined;
  if (!holds || !type || ![left, right].every((t) => t.oid === type.oid || t.oid === T.unknown.oid)) return undefined;
  return { result: T.bool, left: type, right: type, fn: (a, b) => holds(compare(type, a, b)) };
}

for (const t of [T.numeric, T.oid, T.bool, T.text, T.bpchar, T.name, T.bytea, T.date, T.timestamp, T.timestamptz, T.interval, T.uuid, T.jsonb]) {
  comparisons(t, t, (a, b) => compare(t, a, b));
}
comparisons(T.name, T.text, (a, b) => compare(T.text, a, b));
comparisons(T.text, T.name, (a, b) => compare(T.text, a, b));

// --- strings -----------------------------------------------------------------------------

function opPoly(name: string, args: readonly SqlType[], result: SqlType, make: (inputs: readonly SqlType[]) => OperatorFn): void {
  const list = OPS.get(name) ?? [];
  list.push({ name, args, result, make });
  OPS.set(name, list);
}

op('||', T.text, T.text, T.text, (a, b) => (a as string) + (b as string));
opPoly('||', [PSEUDO.anynonarray, T.text], T.text, ([l]) => (a, b, ctx) => formatText(l ?? T.text, a, ctx) + (b as string));
opPoly('||', [T.text, PSEUDO.anynonarray], T.text, ([, r]) => (a, b, ctx) => (a as string) + formatText(r ?? T.text, b, ctx));
op('||', T.bytea, T.bytea, T.bytea, (a, b) => Buffer.concat([a as Buffer, b as Buffer]));

const patternCache = new Map<string, RegExp>();
function cached(key: string, build: () => RegExp): RegExp {
  let re = patternCache.get(key);
  if (re === undefined) {
    if (patternCache.size > 1000) patternCache.clear();
    re = build();
    patternCache.set(key, re);
  }
  return re;
}

/** LIKE: % any string, _ any character, backslash escapes the next character. */
export function likeRegExp(pattern: string, caseInsensitive: boolean): RegExp {
  return cached(`L${caseInsensitive ? 'i' : ''}:${pattern}`, () => {
    let src = '';
    const chars = Array.from(pattern);
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i] ?? '';
      if (c === '\\') {
        const next = chars[++i];
        if (next === undefined) throw sqlError(SQLSTATE.INVALID_ESCAPE_SEQUENCE, 'LIKE pattern must not end with escape character');
        src += next.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
      } else if (c === '%') src += '.*';
      else if (c === '_') src += '.';
      else src += c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    }
    return new RegExp(`^${src}$`, caseInsensitive ? 'isu' : 'su');
  });
}

const POSIX_CLASSES: Record<string, string> = {
  alpha: 'a-zA-Z', digit: '0-9', alnum: 'a-zA-Z0-9', upper: 'A-Z', lower: 'a-z', space: '\\s', punct: '!-\\/:-@\\[-`{-~',
  xdigit: '0-9A-Fa-f', word: '\\w', blank: ' \\t', cntrl: '\\x00-\\x1f\\x7f', print: '\\x20-\\x7e', graph: '\\x21-\\x7e',
};

/** PostgreSQL regular expressions, approximated by JavaScript's (POSIX classes and \m \M \y translated). */
export function posixRegExp(pattern: string, caseInsensitive: boolean): RegExp {
  return cached(`R${caseInsensitive ? 'i' : ''}:${pattern}`, () => {
    const src = pattern
      .replace(/\[:([a-z]+):\]/g, (m, name: string) => POSIX_CLASSES[name] ?? m)
      .replace(/\\m/g, '\\b(?=\\w)')
      .replace(/\\M/g, '\\b(?<=\\w)')
      .replace(/\\y/g, '\\b');
    try {
      return new RegExp(src, caseInsensitive ? 'is' : 's');
    } catch (e) {
      throw sqlError(XSTATE.INVALID_REGULAR_EXPRESSION, `invalid regular expression: ${e instanceof Error ? e.message : String(e)}`);
    }
  });
}

for (const t of [T.text, T.bpchar, T.name]) {
  op('~~', t, T.text, T.bool, (a, b) => likeRegExp(b as string, false).test(a as string));
  op('!~~', t, T.text, T.bool, (a, b) => !likeRegExp(b as string, false).test(a as string));
  op('~~*', t, T.text, T.bool, (a, b) => likeRegExp(b as string, true).test(a as string));
  op('!~~*', t, T.text, T.bool, (a, b) => !likeRegExp(b as string, true).test(a as string));
  op('~', t, T.text, T.bool, (a, b) => posixRegExp(b as string, false).test(a as string));
  op('!~', t, T.text, T.bool, (a, b) => !posixRegExp(b as string, false).test(a as string));
  op('~*', t, T.text, T.bool, (a, b) => posixRegExp(b as string, true).test(a as string));
  op('!~*', t, T.text, T.bool, (a, b) => !posixRegExp(b as string, true).test(a as string));
}

// --- date and time -----------------------------------------------------------------------

function zoneOf(ctx: TypeContext | undefined): ReturnType<typeof resolveZone> {
  return resolveZone((ctx ?? DEFAULT_CONTEXT).timeZone);
}

op('+', T.date, T.int4, T.date, (a, b) => addDays(a as number, b as number));
op('+', T.int4, T.date, T.date, (a, b) => addDays(b as number, a as number));
op('-', T.date, T.int4, T.date, (a, b) => addDays(a as number, -(b as number)));
op('-', T.date, T.date, T.int4, (a, b) => subtractDates(a as number, b as number));
op('+', T.date, T.interval, T.timestamp, (a, b) => addIntervalToTimestamp(dateToTimestamp(a as number), b as Interval, null));
op('+', T.interval, T.date, T.timestamp, (a, b) => addIntervalToTimestamp(dateToTimestamp(b as number), a as Interval, null));
op('-', T.date, T.interval, T.timestamp, (a, b) => addIntervalToTimestamp(dateToTimestamp(a as number), negInterval(b as Interval), null));
op('+', T.timestamp, T.interval, T.timestamp, (a, b) => addIntervalToTimestamp(a as bigint, b as Interval, null));
op('+', T.interval, T.timestamp, T.timestamp, (a, b) => addIntervalToTimestamp(b as bigint, a as Interval, null));
op('-', T.timestamp, T.interval, T.timestamp, (a, b) => addIntervalToTimestamp(a as bigint, negInterval(b as Interval), null));
op('-', T.timestamp, T.timestamp, T.interval, (a, b) => subtractTimestamps(a as bigint, b as bigint));
op('+', T.timestamptz, T.interval, T.timestamptz, (a, b, ctx) => addIntervalToTimestamp(a as bigint, b as Interval, zoneOf(ctx)));
op('+', T.interval, T.timestamptz, T.timestamptz, (a, b, ctx) => addIntervalToTimestamp(b as bigint, a as Interval, zoneOf(ctx)));
op('-', T.timestamptz, T.interval, T.timestamptz, (a, b, ctx) => addIntervalToTimestamp(a as bigint, negInterval(b as Interval), zoneOf(ctx)));
op('-', T.timestamptz, T.timestamptz, T.interval, (a, b) => subtractTimestamps(a as bigint, b as bigint));
op('+', T.interval, T.interval, T.interval, (a, b) => addInterval(a as Interval, b as Interval));
op('-', T.interval, T.interval, T.interval, (a, b) => subInterval(a as Interval, b as Interval));
op('-', null, T.interval, T.interval, (_a, b) => negInterval(b as Interval));
op('*', T.interval, T.float8, T.interval, (a, b) => mulInterval(a as Interval, b as number));
op('*', T.float8, T.interval, T.interval, (a, b) => mulInterval(b as Interval, a as number));
op('/', T.interval, T.float8, T.interval, (a, b) => divInterval(a as Interval, b as number));

// --- jsonb -------------------------------------------------------------------------------

const J = T.jsonb;
const jv = (d: Datum): Jsonb => d as Jsonb;
const orNull = (v: ReturnType<typeof jsonField>): Datum => (v === undefined ? null : new Jsonb(v));
op('->', J, T.text, J, (a, b) => orNull(jsonField(jv(a).value, b as string)));
op('->', J, T.int4, J, (a, b) => orNull(jsonElement(jv(a).value, b as number)));
op('->>', J, T.text, T.text, (a, b) => jsonAsText(jsonField(jv(a).value, b as string)));
op('->>', J, T.int4, T.text, (a, b) => jsonAsText(jsonElement(jv(a).value, b as number)));
// The path operands are text[] in PostgreSQL; arrays are not supported yet, so they take the array literal text.
op('#>', J, T.text, J, (a, b) => orNull(jsonPath(jv(a).value, parseTextArrayLiteral(b as string))));
op('#>>', J, T.text, T.text, (a, b) => jsonAsText(jsonPath(jv(a).value, parseTextArrayLiteral(b as string))));
op('?', J, T.text, T.bool, (a, b) => jsonExists(jv(a).value, b as string));
op('?|', J, T.text, T.bool, (a, b) => parseTextArrayLiteral(b as string).some((k) => k !== null && jsonExists(jv(a).value, k)));
op('?&', J, T.text, T.bool, (a, b) => parseTextArrayLiteral(b as string).every((k) => k === null || jsonExists(jv(a).value, k)));
op('@>', J, J, T.bool, (a, b) => jsonContains(jv(a).value, jv(b).value));
op('<@', J, J, T.bool, (a, b) => jsonContains(jv(b).value, jv(a).value));
op('||', J, J, J, (a, b) => new Jsonb(jsonConcat(jv(a).value, jv(b).value)));
op('-', J, T.text, J, (a, b) => new Jsonb(jsonDeleteKey(jv(a).value, b as string)));
op('-', J, T.int4, J, (a, b) => new Jsonb(jsonDeleteIndex(jv(a).value, b as number)));

// --- resolution --------------------------------------------------------------------------

const ALIASES: Record<string, string> = { '!=': '<>', like: '~~', 'not like': '!~~', ilike: '~~*', 'not ilike': '!~~*' };

function describe(name: string, left: SqlType | null, right: SqlType): string {
  return left === null ? `${name} ${right.name}` : `${left.name} ${name} ${right.name}`;
}

/**
 * Resolves `left op right` (left null: prefix operator) to an operator, with
 * the operand types the caller must cast to, as PostgreSQL's oper() does.
 */
export function resolveOperator(opName: string, left: SqlType | null, right: SqlType): ResolvedOperator {
  const name = ALIASES[opName.toLowerCase()] ?? opName;
  const enumOp = left === null ? undefined : enumComparison(name, left, right);
  if (enumOp) return enumOp;
  const all = (OPS.get(name) ?? []).filter((d) => d.args.length === (left === null ? 1 : 2));
  const inputs = left === null ? [right] : [left, right];
  let chosen: OpDef | 'none' | 'ambiguous' = 'none';
  if (left !== null && (left.oid === T.unknown.oid) !== (right.oid === T.unknown.oid)) {
    // binary_oper_exact: an unknown literal is first assumed to have the other side's type.
    const known = left.oid === T.unknown.oid ? right : left;
    chosen = all.find((d) => d.args[0]?.oid === known.oid && d.args[1]?.oid === known.oid) ?? 'none';
  }
  if (chosen === 'none') chosen = selectCandidate(all, inputs);
  if (chosen === 'none') {
    throw sqlError(SQLSTATE.UNDEFINED_FUNCTION, `operator does not exist: ${describe(name, left, right)}`, {
      hint: 'No operator matches the given name and argument types. You might need to add explicit type casts.',
    });
  }
  if (chosen === 'ambiguous') {
    throw sqlError(SQLSTATE.AMBIGUOUS_FUNCTION, `operator is not unique: ${describe(name, left, right)}`, {
      hint: 'Could not choose a best candidate operator. You might need to add explicit type casts.',
    });
  }
  const args = chosen.args.map((a, i) => (a.category === 'P' ? (inputs[i]?.oid === T.unknown.oid ? T.text : (inputs[i] ?? T.text)) : a));
  return {
    result: chosen.result,
    left: left === null ? null : (args[0] ?? null),
    right: args[args.length - 1] ?? right,
    fn: chosen.make(args),
  };
}
