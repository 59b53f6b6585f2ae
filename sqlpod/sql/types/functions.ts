// Scalar built-in functions, resolved like PostgreSQL's function calls.
import { createHash, randomUUID } from 'node:crypto';
import { SQLSTATE } from '../errors.js';
import { ADVISORY_FUNCTIONS, callSite, returnsBoolean } from '../locks/functions.js';
import { arrayValue } from './arrays.js';
import { PSEUDO, T, sqlError, XSTATE, type Datum, type SqlType, type TypeContext } from './catalog.js';
import {
  DT_NOBEGIN,
  DT_NOEND,
  timestampNow,
  age,
  datePart,
  dateToTimestamp,
  dateTrunc,
  formatDate,
  formatTimestampIn,
  intervalPart,
  resolveZone,
  timestampPart,
  toTimestampFromUnix,
  utcToLocal,
} from './datetime.js';
import type { Interval} from './interval.js';
import { USECS_PER_DAY, formatInterval, justifyDays, justifyHours } from './interval.js';
import { Jsonb, jsonArrayLength, jsonTypeof, makeObject, type JsonValue } from './jsonb.js';
import {
  Numeric,
  ceilNumeric,
  divTruncNumeric,
  expNumeric,
  floorNumeric,
  lnNumeric,
  logNumeric,
  powerNumeric,
  roundNumeric,
  sqrtNumeric,
  truncNumeric,
} from './numeric.js';
import { floatPow, resolveOperator } from './operators.js';
import { selectCandidate } from './resolve.js';
import { bpcharTrim } from './compare.js';
import { formatText } from './text-io.js';

export interface FunctionContext {
  readonly timeZone: string;
  readonly statementTimestamp: bigint;
  readonly transactionTimestamp: bigint;
  /** Outcomes of the statement's advisory lock calls by call site (its function), taken before evaluation (../locks/functions.ts). */
  readonly advisoryLocks?: ReadonlyMap<object, Datum>;
  /** The session's settings, for current_setting and set_config; absent where no session runs the expression. */
  readonly settings?: SettingsAccess;
}

export interface SettingsAccess {
  /** SHOW's value; 42704 for an unknown name. */
  get(name: string): string;
  /** SET (or SET LOCAL) from inside a query; returns the value now in effect. */
  set(name: string, value: string, local: boolean): string;
}

export type FunctionFn = (args: readonly Datum[], ctx: FunctionContext) => Datum;

export interface ResolvedFunction {
  readonly result: SqlType;
  /** The types the arguments must be cast to. */
  readonly args: readonly SqlType[];
  /** Strict functions return NULL for any NULL argument without being called. */
  readonly strict: boolean;
  readonly volatile: boolean;
  readonly fn: FunctionFn;
}

interface FuncDef {
  readonly args: readonly SqlType[];
  /** Type of the repeated trailing argument of a VARIADIC function. */
  readonly variadic?: SqlType;
  readonly result: SqlType;
  readonly strict: boolean;
  readonly volatile: boolean;
  readonly make: (inputs: readonly SqlType[]) => FunctionFn;
}

const FUNCS = new Map<string, FuncDef[]>();

interface Options {
  strict?: boolean;
  volatile?: boolean;
  variadic?: SqlType;
}

function fnDef(names: string | readonly string[], args: readonly SqlType[], result: SqlType, fn: FunctionFn, o: Options = {}): void {
  poly(names, args, result, () => fn, o);
}

function poly(names: string | readonly string[], args: readonly SqlType[], result: SqlType, make: FuncDef['make'], o: Options = {}): void {
  for (const name of typeof names === 'string' ? [names] : names) {
    const list = FUNCS.get(name) ?? [];
    list.push({ args, result, strict: o.strict ?? true, volatile: o.volatile ?? false, make, ...(o.variadic ? { variadic: o.variadic } : {}) });
    FUNCS.set(name, list);
  }
}

const num = (d: Datum | undefined): number => d as number;
const nm = (d: Datum | undefined): Numeric => d as Numeric;
const str = (d: Datum | undefined): string => d as string;
const int = (d: Datum | undefined): number => d as number;

function negativeArg(what: string): Error {
  return sqlError(XSTATE.INVALID_ARGUMENT_FOR_POWER, what);
}
function logError(zero: boolean): Error {
  return sqlError(XSTATE.INVALID_ARGUMENT_FOR_LOG, zero ? 'cannot take logarithm of zero' : 'cannot take logarithm of a negative number');
}
function overflowCheck(r: number, infOk: boolean): number {
  if (!Number.isFinite(r) && !Number.isNaN(r) && !infOk) throw sqlError(SQLSTATE.NUMERIC_VALUE_OUT_OF_RANGE, 'value out of range: overflow');
  return r;
}
function rint(x: number): number {
  if (!Number.isFinite(x)) return x;
  const r = Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x);
  return r === 0 && (x < 0 || Object.is(x, -0)) ? -0 : r;
}
function negZero(x: number, r: number): number {
  return r === 0 && x < 0 ? -0 : r;
}

// --- math --------------------------------------------------------------------------------

for (const t of [T.int2, T.int4, T.int8, T.float4, T.float8, T.numeric]) {
  const abs = resolveOperator('@', null, t).fn;
  fnDef('abs', [t], t, ([x]) => abs(null, x ?? null));
}
fnDef(['ceil', 'ceiling'], [T.float8], T.float8, ([x]) => negZero(num(x), Math.ceil(num(x))));
fnDef(['ceil', 'ceiling'], [T.numeric], T.numeric, ([x]) => ceilNumeric(nm(x)));
fnDef('floor', [T.float8], T.float8, ([x]) => Math.floor(num(x)));
fnDef('floor', [T.numeric], T.numeric, ([x]) => floorNumeric(nm(x)));
fnDef('round', [T.float8], T.float8, ([x]) => rint(num(x)));
fnDef('round', [T.numeric], T.numeric, ([x]) => roundNumeric(nm(x), 0));
fnDef('round', [T.numeric, T.int4], T.numeric, ([x, s]) => roundNumeric(nm(x), int(s)));
fnDef('trunc', [T.float8], T.float8, ([x]) => Math.trunc(num(x)));
fnDef('trunc', [T.numeric], T.numeric, ([x]) => truncNumeric(nm(x), 0));
fnDef('trunc', [T.numeric, T.int4], T.numeric, ([x, s]) => truncNumeric(nm(x), int(s)));
fnDef('sqrt', [T.float8], T.float8, ([x]) => {
  if (num(x) < 0) throw negativeArg('cannot take square root of a negative number');
  return Math.sqrt(num(x));
});
fnDef('sqrt', [T.numeric], T.numeric, ([x]) => sqrtNumeric(nm(x)));
fnDef('cbrt', [T.float8], T.float8, ([x]) => Math.cbrt(num(x)));
fnDef(['power', 'pow'], [T.float8, T.float8], T.float8, ([x, y]) => floatPow(num(x), num(y)));
fnDef(['power', 'pow'], [T.numeric, T.numeric], T.numeric, ([x, y]) => powerNumeric(nm(x), nm(y)));
fnDef('exp', [T.float8], T.float8, ([x]) => {
  const r = Math.exp(num(x));
  if (r === 0 && Number.isFinite(num(x))) throw sqlError(SQLSTATE.NUMERIC_VALUE_OUT_OF_RANGE, 'value out of range: underflow');
  return overflowCheck(r, !Number.isFinite(num(x)));
});
fnDef('exp', [T.numeric], T.numeric, ([x]) => expNumeric(nm(x)));
const floatLog = (f: (x: number) => number) => ([x]: readonly Datum[]): Datum => {
  if (num(x) === 0) throw logError(true);
  if (num(x) < 0) throw logError(false);
  return f(num(x));
};
fnDef('ln', [T.float8], T.float8, floatLog(Math.log));
fnDef('ln', [T.numeric], T.numeric, ([x]) => lnNumeric(nm(x)));
fnDef(['log', 'log10'], [T.float8], T.float8, floatLog(Math.log10));
fnDef(['log', 'log10'], [T.numeric], T.numeric, ([x]) => logNumeric(Numeric.fromInt(10), nm(x)));
fnDef('log', [T.numeric, T.numeric], T.numeric, ([b, x]) => logNumeric(nm(b), nm(x)));
for (const t of [T.int2, T.int4, T.int8, T.numeric]) {
  const mod = resolveOperator('%', t, t).fn;
  fnDef('mod', [t, t], t, ([a, b]) => mod(a ?? null, b ?? null));
}
fnDef('div', [T.numeric, T.numeric], T.numeric, ([a, b]) => divTruncNumeric(nm(a), nm(b)));
fnDef('sign', [T.float8], T.float8, ([x]) => (Number.isNaN(num(x)) ? NaN : num(x) > 0 ? 1 : num(x) < 0 ? -1 : 0));
fnDef('sign', [T.numeric], T.numeric, ([x]) => (nm(x).isNaN() ? Numeric.NaN : Numeric.fromInt(nm(x).sign())));
fnDef('pi', [], T.float8, () => Math.PI);
fnDef('degrees', [T.float8], T.float8, ([x]) => (num(x) * 180) / Math.PI);
fnDef('radians', [T.float8], T.float8, ([x]) => (num(x) * Math.PI) / 180);
fnDef('random', [], T.float8, () => Math.random(), { volatile: true });
fnDef('gen_random_uuid', [], T.uuid, () => randomUUID(), { volatile: true });

// --- strings -----------------------------------------------------------------------------

const chars = (s: string): string[] => Array.from(s);

fnDef(['length', 'char_length', 'character_length'], [T.text], T.int4, ([s]) => chars(str(s)).length);
fnDef(['length', 'char_length', 'character_length'], [T.bpchar], T.int4, ([s]) => chars(bpcharTrim(str(s))).length);
fnDef('length', [T.bytea], T.int4, ([b]) => (b as Buffer).length);
fnDef('octet_length', [T.text], T.int4, ([s]) => Buffer.byteLength(str(s)));
fnDef('octet_length', [T.bpchar], T.int4, ([s]) => Buffer.byteLength(str(s)));
fnDef('octet_length', [T.bytea], T.int4, ([b]) => (b as Buffer).length);
fnDef('lower', [T.text], T.text, ([s]) => str(s).toLowerCase());
fnDef('upper', [T.text], T.text, ([s]) => str(s).toUpperCase());
fnDef('initcap', [T.text], T.text, ([s]) =>
  str(s).replace(/[\p{L}\p{N}]+/gu, (w) => (w[0] ?? '').toUpperCase() + w.slice(1).toLowerCase()),
);

function substr(s: string, start: number, length: number | null): string {
  const cs = chars(s);
  if (length !== null && length < 0) throw sqlError(XSTATE.SUBSTRING_ERROR, 'negative substring length not allowed');
  const from = Math.max(start, 1);
  const end = length === null ? cs.length + 1 : start + length;
  if (end <= from) return '';
  return cs.slice(from - 1, end - 1).join('');
}
fnDef(['substr', 'substring'], [T.text, T.int4], T.text, ([s, f]) => substr(str(s), int(f), null));
fnDef(['substr', 'substring'], [T.text, T.int4, T.int4], T.text, ([s, f, l]) => substr(str(s), int(f), int(l)));
fnDef(['substr', 'substring'], [T.bytea, T.int4], T.bytea, ([b, f]) => (b as Buffer).subarray(Math.max(int(f), 1) - 1));
fnDef(['substr', 'substring'], [T.bytea, T.int4, T.int4], T.bytea, ([b, f, l]) => {
  if (int(l) < 0) throw sqlError(XSTATE.SUBSTRING_ERROR, 'negative substring length not allowed');
  const end = int(f) + int(l);
  const from = Math.max(int(f), 1);
  return end <= from ? Buffer.alloc(0) : (b as Buffer).subarray(from - 1, end - 1);
});

function strpos(s: string, sub: string): number {
  const i = s.indexOf(sub);
  return i < 0 ? 0 : chars(s.slice(0, i)).length + 1;
}
fnDef('strpos', [T.text, T.text], T.int4, ([s, sub]) => strpos(str(s), str(sub)));
// position(a IN b) arrives as position(b, a), as the grammar produces it.
fnDef('position', [T.text, T.text], T.int4, ([s, sub]) => strpos(str(s), str(sub)));

function trimChars(s: string, set: string, left: boolean, right: boolean): string {
  const cs = chars(s);
  const drop = new Set(chars(set));
  let a = 0;
  let b = cs.length;
  if (left) while (a < b && drop.has(cs[a] ?? '')) a++;
  if (right) while (b > a && drop.has(cs[b - 1] ?? '')) b--;
  return cs.slice(a, b).join('');
}
for (const [name, l, r] of [
  ['btrim', true, true],
  ['trim', true, true],
  ['ltrim', true, false],
  ['rtrim', false, true],
] as const) {
  fnDef(name, [T.text], T.text, ([s]) => trimChars(str(s), ' ', l, r));
  fnDef(name, [T.text, T.text], T.text, ([s, set]) => trimChars(str(s), str(set), l, r));
}

function pad(s: string, len: number, fill: string, left: boolean): string {
  const cs = chars(s);
  if (len <= 0) return '';
  if (cs.length >= len || fill === '') return cs.slice(0, len).join('');
  const fc = chars(fill);
  const padding: string[] = [];
  for (let i = 0; padding.length < len - cs.length; i++) padding.push(fc[i % fc.length] ?? ' ');
  return left ? padding.join('') + s : s + padding.join('');
}
fnDef('lpad', [T.text, T.int4], T.text, ([s, n]) => pad(str(s), int(n), ' ', true));
fnDef('lpad', [T.text, T.int4, T.text], T.text, ([s, n, f]) => pad(str(s), int(n), str(f), true));
fnDef('rpad', [T.text, T.int4], T.text, ([s, n]) => pad(str(s), int(n), ' ', false));
fnDef('rpad', [T.text, T.int4, T.text], T.text, ([s, n, f]) => pad(str(s), int(n), str(f), false));
fnDef('replace', [T.text, T.text, T.text], T.text, ([s, from, to]) => (str(from) === '' ? str(s) : str(s).split(str(from)).join(str(to))));
fnDef('repeat', [T.text, T.int4], T.text, ([s, n]) => {
  if (int(n) <= 0) return '';
  if (Buffer.byteLength(str(s)) * int(n) > 0x3fffffff) throw sqlError(SQLSTATE.PROGRAM_LIMIT_EXCEEDED, 'requested length too large');
  return str(s).repeat(int(n));
});
fnDef('reverse', [T.text], T.text, ([s]) => chars(str(s)).reverse().join(''));
fnDef('left', [T.text, T.int4], T.text, ([s, n]) => {
  const cs = chars(str(s));
  return (int(n) >= 0 ? cs.slice(0, int(n)) : cs.slice(0, Math.max(0, cs.length + int(n)))).join('');
});
fnDef('right', [T.text, T.int4], T.text, ([s, n]) => {
  const cs = chars(str(s));
  return (int(n) >= 0 ? cs.slice(Math.max(0, cs.length - int(n))) : cs.slice(Math.min(cs.length, -int(n)))).join('');
});
fnDef('split_part', [T.text, T.text, T.int4], T.text, ([s, d, n]) => {
  const idx = int(n);
  if (idx === 0) throw sqlError(SQLSTATE.INVALID_PARAMETER_VALUE, 'field position must not be zero');
  const parts = str(d) === '' ? [str(s)] : str(s).split(str(d));
  if (str(s) === '') return '';
  const i = idx > 0 ? idx - 1 : parts.length + idx;
  return parts[i] ?? '';
});
fnDef('md5', [T.text], T.text, ([s]) => createHash('md5').update(str(s), 'utf8').digest('hex'));
fnDef('md5', [T.bytea], T.text, ([b]) => createHash('md5').update(b as Buffer).digest('hex'));
fnDef('chr', [T.int4], T.text, ([c]) => {
  const n = int(c);
  if (n === 0) throw sqlError(SQLSTATE.PROGRAM_LIMIT_EXCEEDED, 'null character not permitted');
  if (n < 0) throw sqlError(SQLSTATE.INVALID_PARAMETER_VALUE, 'character number must be positive');
  if (n > 0x10ffff) throw sqlError(SQLSTATE.PROGRAM_LIMIT_EXCEEDED, `requested character too large for encoding: ${n}`);
  if (n >= 0xd800 && n <= 0xdfff) throw sqlError(SQLSTATE.PROGRAM_LIMIT_EXCEEDED, `requested character not valid for encoding: ${n}`);
  return String.fromCodePoint(n);
});
fnDef('ascii', [T.text], T.int4, ([s]) => str(s).codePointAt(0) ?? 0);
fnDef('starts_with', [T.text, T.text], T.bool, ([s, p]) => str(s).startsWith(str(p)));

// Variadic "any": each argument is printed with its type's output function.
poly('concat', [], T.text, (inputs) => (args, ctx) => args.map((a, i) => (a === null ? '' : formatText(inputs[i] ?? T.text, a, zoneCtx(ctx)))).join(''), {
  strict: false,
  variadic: PSEUDO.any,
});
poly('concat_ws', [T.text], T.text, (inputs) => (args, ctx) => {
  const [sep, ...rest] = args;
  if (sep === null || sep === undefined) return null;
  return rest
    .map((a, i) => (a === null ? null : formatText(inputs[i + 1] ?? T.text, a, zoneCtx(ctx))))
    .filter((s): s is string => s !== null)
    .join(str(sep));
}, { strict: false, variadic: PSEUDO.any });

// --- date and time -----------------------------------------------------------------------

function zoneCtx(ctx: FunctionContext | undefined): TypeContext {
  return { timeZone: ctx?.timeZone ?? 'UTC' };
}
const zone = (ctx: FunctionContext): ReturnType<typeof resolveZone> => resolveZone(ctx.timeZone);
const ts = (d: Datum | undefined): bigint => d as bigint;

fnDef(['now', 'transaction_timestamp', 'current_timestamp'], [], T.timestamptz, (_a, ctx) => ctx.transactionTimestamp);
fnDef('statement_timestamp', [], T.timestamptz, (_a, ctx) => ctx.statementTimestamp);
fnDef('clock_timestamp', [], T.timestamptz, timestampNow, { volatile: true });
fnDef('date_trunc', [T.text, T.timestamp], T.timestamp, ([u, t]) => dateTrunc(str(u), ts(t), null));
fnDef('date_trunc', [T.text, T.timestamptz], T.timestamptz, ([u, t], ctx) => dateTrunc(str(u), ts(t), zone(ctx)));
fnDef('date_part', [T.text, T.timestamp], T.float8, ([u, t]) => timestampPart(str(u), ts(t), null, false));
fnDef('date_part', [T.text, T.timestamptz], T.float8, ([u, t], ctx) => timestampPart(str(u), ts(t), zone(ctx), false));
fnDef('date_part', [T.text, T.date], T.float8, ([u, d]) => timestampPart(str(u), dateToTimestamp(num(d)), null, false));
fnDef('date_part', [T.text, T.interval], T.float8, ([u, i]) => intervalPart(str(u), i as Interval, false));
fnDef('extract', [T.text, T.timestamp], T.numeric, ([u, t]) => timestampPart(str(u), ts(t), null, true));
fnDef('extract', [T.text, T.timestamptz], T.numeric, ([u, t], ctx) => timestampPart(str(u), ts(t), zone(ctx), true));
fnDef('extract', [T.text, T.date], T.numeric, ([u, d]) => datePart(str(u), num(d)));
fnDef('extract', [T.text, T.interval], T.numeric, ([u, i]) => intervalPart(str(u), i as Interval, true));
fnDef('age', [T.timestamp, T.timestamp], T.interval, ([a, b]) => age(ts(a), ts(b), null));
fnDef('age', [T.timestamptz, T.timestamptz], T.interval, ([a, b], ctx) => age(ts(a), ts(b), zone(ctx)));
fnDef('age', [T.timestamp], T.interval, ([a], ctx) => {
  const today = (utcToLocal(zone(ctx), ctx.transactionTimestamp) / USECS_PER_DAY) * USECS_PER_DAY;
  return age(today, ts(a), null);
});
fnDef('age', [T.timestamptz], T.interval, ([a], ctx) => {
  const z = zone(ctx);
  const today = (utcToLocal(z, ctx.transactionTimestamp) / USECS_PER_DAY) * USECS_PER_DAY;
  return age(today, utcToLocal(z, ts(a)), null);
});
fnDef('to_timestamp', [T.float8], T.timestamptz, ([s]) => toTimestampFromUnix(num(s)));
fnDef('justify_hours', [T.interval], T.interval, ([i]) => justifyHours(i as Interval));
fnDef('justify_days', [T.interval], T.interval, ([i]) => justifyDays(i as Interval));
fnDef('justify_interval', [T.interval], T.interval, ([i]) => justifyDays(justifyHours(i as Interval)));

// --- jsonb -------------------------------------------------------------------------------

/** datum_to_jsonb: SQL values as JSON (numbers stay numbers, dates in ISO 8601 as JSON strings). */
export function datumToJson(t: SqlType, d: Datum, ctx?: TypeContext): JsonValue {
  if (d === null) return null;
  const element = t.element;
  if (element) return arrayValue(d).items.map((e) => datumToJson(element, e, ctx));
  switch (t.oid) {
    case T.jsonb.oid:
      return (d as Jsonb).value;
    case T.bool.oid:
      return d as boolean;
    case T.int2.oid:
    case T.int4.oid:
    case T.int8.oid:
    case T.oid.oid:
    case T.float4.oid:
    case T.float8.oid:
    case T.numeric.oid: {
      const s = formatText(t, d);
      return /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(s) ? Numeric.parse(s) : s;
    }
    case T.date.oid:
      return formatDate(d as number);
    case T.timestamp.oid:
      return formatTimestampIn(d as bigint, null, 'T');
    case T.timestamptz.oid: {
      const v = d as bigint;
      if (v === DT_NOBEGIN || v === DT_NOEND) return formatTimestampIn(v, null);
      return formatTimestampIn(v, resolveZone(ctx?.timeZone ?? 'UTC'), 'T', true);
    }
    case T.interval.oid:
      return formatInterval(d as Interval);
    default:
      return formatText(t, d, ctx);
  }
}

fnDef('jsonb_typeof', [T.jsonb], T.text, ([j]) => jsonTypeof((j as Jsonb).value));
fnDef('jsonb_array_length', [T.jsonb], T.int4, ([j]) => jsonArrayLength((j as Jsonb).value));
poly('to_jsonb', [PSEUDO.anynonarray], T.jsonb, ([t]) => ([d], ctx) => new Jsonb(datumToJson(t ?? T.text, d ?? null, zoneCtx(ctx))));
poly('jsonb_build_array', [], T.jsonb, (inputs) => (args, ctx) => new Jsonb(args.map((a, i) => datumToJson(inputs[i] ?? T.text, a, zoneCtx(ctx)))), {
  strict: false,
  variadic: PSEUDO.any,
});
fnDef('jsonb_build_array', [], T.jsonb, () => new Jsonb([]), { strict: false });
fnDef('jsonb_build_object', [], T.jsonb, () => new Jsonb(new Map()), { strict: false });
poly('jsonb_build_object', [], T.jsonb, (inputs) => (args, ctx) => {
  if (args.length % 2 !== 0) {
    throw sqlError(SQLSTATE.INVALID_PARAMETER_VALUE, 'argument list must have even number of elements', {
      hint: 'The arguments of jsonb_build_object() must consist of alternating keys and values.',
    });
  }
  const entries: [string, JsonValue][] = [];
  for (let i = 0; i < args.length; i += 2) {
    const k = args[i] ?? null;
    if (k === null) throw sqlError(SQLSTATE.NULL_VALUE_NOT_ALLOWED, `argument ${i + 1}: key must not be null`);
    const kt = inputs[i] ?? T.text;
    const key = datumToJson(kt, k, zoneCtx(ctx));
    entries.push([typeof key === 'string' ? key : formatText(kt, k, zoneCtx(ctx)), datumToJson(inputs[i + 1] ?? T.text, args[i + 1] ?? null, zoneCtx(ctx))]);
  }
  return new Jsonb(makeObject(entries));
}, { strict: false, variadic: PSEUDO.any });

// --- advisory locks and notifications ---------------------------------------------------

// A fresh function per call site (poly's make), so the session can tell the calls of a statement apart.
for (const f of ADVISORY_FUNCTIONS) {
  const result = returnsBoolean(f) ? T.bool : PSEUDO.void;
  const signatures = f.action === 'unlockAll' ? [[]] : [[T.int8], [T.int4, T.int4]];
  for (const args of signatures) poly(f.name, args, result, () => callSite(f), { volatile: true });
}
// --- settings -----------------------------------------------------------------------------

function settingsOf(ctx: FunctionContext): SettingsAccess {
  if (!ctx.settings) throw sqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'session settings cannot be read or changed here');
  return ctx.settings;
}

// Volatile, so never folded while planning: a prepared statement runs after later SETs.
fnDef('current_setting', [T.text], T.text, ([name], ctx) => settingsOf(ctx).get(name as string), { volatile: true });
fnDef('current_setting', [T.text, T.bool], T.text, ([name, missingOk], ctx) => {
  if (name === null || name === undefined) return null;
  try {
    return settingsOf(ctx).get(name as string);
  } catch (err) {
    if (missingOk === true && err instanceof Error && 'code' in err && err.code === SQLSTATE.UNDEFINED_OBJECT) return null;
    throw err;
  }
}, { strict: false, volatile: true });
fnDef('set_config', [T.text, T.text, T.bool], T.text, ([name, value, local], ctx) => {
  if (name === null || name === undefined || local === null || local === undefined) throw sqlError(SQLSTATE.NULL_VALUE_NOT_ALLOWED, 'SET requires parameter name');
  return settingsOf(ctx).set(name as string, (value as string | null) ?? '', local === true);
}, { strict: false, volatile: true });

fnDef('pg_notify', [T.text, T.text], PSEUDO.void, () => {
  throw sqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'pg_notify() is not supported: Shoal SQL pods are stateless and do not deliver notifications');
}, { strict: false, volatile: true });

// --- resolution --------------------------------------------------------------------------

function expand(def: FuncDef, n: number): FuncDef | null {
  if (def.variadic === undefined) return def.args.length === n ? def : null;
  if (n < def.args.length + 1) return null;
  return { ...def, args: [...def.args, ...Array<SqlType>(n - def.args.length).fill(def.variadic)] };
}

/** Resolves a function call by name and argument types, as PostgreSQL's ParseFuncOrColumn does for built-ins. */
export function resolveFunction(name: string, args: readonly SqlType[]): ResolvedFunction {
  const lower = name.toLowerCase();
  const all = (FUNCS.get(lower) ?? []).map((d) => expand(d, args.length)).filter((d): d is FuncDef => d !== null);
  const chosen = selectCandidate(all, args);
  const signature = `${lower}(${args.map((a) => a.name).join(', ')})`;
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
  return { result: chosen.result, args: argTypes, strict: chosen.strict, volatile: chosen.volatile, fn: chosen.make(argTypes) };
}
