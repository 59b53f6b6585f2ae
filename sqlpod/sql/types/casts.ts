// PostgreSQL's pg_cast matrix for the supported types, plus the I/O
// conversion casts (anything to a string type on assignment, a string type to
// anything explicitly) and unknown literals (to anything, implicitly).
import { SQLSTATE } from '../errors.js';
import { arrayValue } from './arrays.js';
import { DEFAULT_CONTEXT, SqlArray, T, sqlError, withTypmod, type Datum, type SqlType, type TypeContext } from './catalog.js';
import { bpcharTrim } from './compare.js';
import {
  dateToTimestamp,
  dateToTimestamptz,
  timestampToDate,
  timestampToTimestamptz,
  timestamptzToDate,
  timestamptzToTimestamp,
} from './datetime.js';
import type { Jsonb} from './jsonb.js';
import { isJsonArray, isJsonObject } from './jsonb.js';
import { Numeric, numericFromFloat, numericToInteger, toFloat } from './numeric.js';
import { INT_RANGE, applyTypmod, formatText, parseFloat8, parseText, truncateName } from './text-io.js';

export type CastContext = 'implicit' | 'assignment' | 'explicit';
const RANK: Record<CastContext, number> = { implicit: 0, assignment: 1, explicit: 2 };

type Entry = readonly [string, string, 'i' | 'a' | 'e', 'b' | 'f'];
const CASTS: readonly Entry[] = [
  ['int2', 'int4', 'i', 'f'], ['int2', 'int8', 'i', 'f'], ['int2', 'float4', 'i', 'f'], ['int2', 'float8', 'i', 'f'],
  ['int2', 'numeric', 'i', 'f'], ['int2', 'oid', 'i', 'f'],
  ['int4', 'int2', 'a', 'f'], ['int4', 'int8', 'i', 'f'], ['int4', 'float4', 'i', 'f'], ['int4', 'float8', 'i', 'f'],
  ['int4', 'numeric', 'i', 'f'], ['int4', 'oid', 'i', 'f'], ['int4', 'bool', 'e', 'f'],
  ['int8', 'int2', 'a', 'f'], ['int8', 'int4', 'a', 'f'], ['int8', 'float4', 'i', 'f'], ['int8', 'float8', 'i', 'f'],
  ['int8', 'numeric', 'i', 'f'], ['int8', 'oid', 'i', 'f'],
  ['float4', 'int2', 'a', 'f'], ['float4', 'int4', 'a', 'f'], ['float4', 'int8', 'a', 'f'], ['float4', 'float8', 'i', 'f'],
  ['float4', 'numeric', 'a', 'f'],
  ['float8', 'int2', 'a', 'f'], ['float8', 'int4', 'a', 'f'], ['float8', 'int8', 'a', 'f'], ['float8', 'float4', 'a', 'f'],
  ['float8', 'numeric', 'a', 'f'],
  ['numeric', 'int2', 'a', 'f'], ['numeric', 'int4', 'a', 'f'], ['numeric', 'int8', 'a', 'f'], ['numeric', 'float4', 'i', 'f'],
  ['numeric', 'float8', 'i', 'f'],
  ['oid', 'int4', 'a', 'f'], ['oid', 'int8', 'a', 'f'],
  ['bool', 'int4', 'e', 'f'], ['bool', 'text', 'a', 'f'], ['bool', 'varchar', 'a', 'f'], ['bool', 'bpchar', 'a', 'f'],
  ['text', 'bpchar', 'i', 'b'], ['text', 'varchar', 'i', 'b'], ['text', 'name', 'i', 'f'],
  ['bpchar', 'text', 'i', 'f'], ['bpchar', 'varchar', 'i', 'f'], ['bpchar', 'name', 'i', 'f'],
  ['varchar', 'text', 'i', 'b'], ['varchar', 'bpchar', 'i', 'b'], ['varchar', 'name', 'i', 'f'],
  ['name', 'text', 'i', 'b'], ['name', 'bpchar', 'a', 'f'], ['name', 'varchar', 'a', 'f'],
  ['date', 'timestamp', 'i', 'f'], ['date', 'timestamptz', 'i', 'f'],
  ['timestamp', 'date', 'a', 'f'], ['timestamp', 'timestamptz', 'i', 'f'],
  ['timestamptz', 'date', 'a', 'f'], ['timestamptz', 'timestamp', 'a', 'f'],
  ['jsonb', 'bool', 'e', 'f'], ['jsonb', 'numeric', 'e', 'f'], ['jsonb', 'int2', 'e', 'f'], ['jsonb', 'int4', 'e', 'f'],
  ['jsonb', 'int8', 'e', 'f'], ['jsonb', 'float4', 'e', 'f'], ['jsonb', 'float8', 'e', 'f'],
];
const CAST_MAP = new Map(CASTS.map(([s, d, c, m]) => [`${s}:${d}`, { context: c === 'i' ? 0 : c === 'a' ? 1 : 2, binary: m === 'b' }]));
const TYPMOD_TYPES = new Set([T.varchar.oid, T.bpchar.oid, T.numeric.oid, T.timestamp.oid, T.timestamptz.oid, T.interval.oid]);

function isString(t: SqlType): boolean {
  return t.category === 'S';
}

/**
 * Whether `from` converts to `to` in `context`: 'exact' when the value can be
 * used as is, 'coerce' when castDatum must convert it, null when no cast exists.
 */
export function findCast(from: SqlType, to: SqlType, context: CastContext): 'exact' | 'coerce' | null {
  const rank = RANK[context];
  const typmodChange = to.typmod >= 0 && to.typmod !== from.typmod && TYPMOD_TYPES.has(to.oid);
  if (from.oid === to.oid) return typmodChange ? 'coerce' : 'exact';
  if (from.oid === T.unknown.oid) {
    if (to.category === 'P') return null;
    return (to.oid === T.text.oid || to.oid === T.varchar.oid) && !typmodChange ? 'exact' : 'coerce';
  }
  if (from.element && to.element) return findCast(from.element, to.element, context) === null ? null : 'coerce';
  const entry = CAST_MAP.get(`${from.typname}:${to.typname}`);
  if (entry !== undefined) {
    if (entry.context > rank) return null;
    return entry.binary && !typmodChange && to.oid !== T.bpchar.oid ? 'exact' : 'coerce';
  }
  if (to.oid === T.unknown.oid || from.category === 'P' || to.category === 'P') return null;
  if (rank >= RANK.assignment && isString(to)) return 'coerce';
  if (rank >= RANK.explicit && isString(from)) return 'coerce';
  return null;
}

function outOfRange(typeName: string): Error {
  return sqlError(SQLSTATE.NUMERIC_VALUE_OUT_OF_RANGE, `${typeName} out of range`);
}

const INT_NAME = { int2: 'smallint', int4: 'integer', int8: 'bigint' } as const;

function toInt(v: bigint, kind: 'int2' | 'int4' | 'int8'): number | bigint {
  const [min, max] = INT_RANGE[kind];
  if (v < min || v > max) throw outOfRange(INT_NAME[kind]);
  return kind === 'int8' ? v : Number(v);
}

/** rint() and range check, as float8 → integer casts do. */
function floatToInt(f: number, kind: 'int2' | 'int4' | 'int8'): number | bigint {
  if (!Number.isFinite(f)) throw outOfRange(INT_NAME[kind]);
  const r = Math.abs(f % 1) === 0.5 ? 2 * Math.round(f / 2) : Math.round(f);
  const [min] = INT_RANGE[kind];
  // Compare as doubles first: huge values would be exact-but-slow as bigints.
  if (r < Number(min) || r >= -Number(min)) throw outOfRange(INT_NAME[kind]);
  return toInt(BigInt(r), kind);
}

function toFloat4(f: number): number {
  const r = Math.fround(f);
  if (!Number.isFinite(r) && Number.isFinite(f)) throw sqlError(SQLSTATE.NUMERIC_VALUE_OUT_OF_RANGE, 'value out of range: overflow');
  if (r === 0 && f !== 0) throw sqlError(SQLSTATE.NUMERIC_VALUE_OUT_OF_RANGE, 'value out of range: underflow');
  return r;
}

const JSONB_TARGET: Record<string, string> = {
  bool: 'boolean', numeric: 'numeric', int2: 'smallint', int4: 'integer', int8: 'bigint', float4: 'real', float8: 'double precision',
};

/** jsonb → scalar casts (PostgreSQL 11+); a JSON null becomes SQL NULL, as in PostgreSQL 17. */
function fromJsonb(j: Jsonb, to: SqlType): Datum {
  const v = j.value;
  const target = JSONB_TARGET[to.typname] ?? to.name;
  const fail = (what: string): Error => sqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `cannot cast jsonb ${what} to type ${target}`);
  if (v === null) return null;
  if (isJsonArray(v)) throw fail('array');
  if (isJsonObject(v)) throw fail('object');
  if (to.oid === T.bool.oid) {
    if (typeof v === 'boolean') return v;
    throw fail(typeof v === 'string' ? 'string' : 'numeric');
  }
  if (!(v instanceof Numeric)) throw fail(typeof v === 'string' ? 'string' : 'boolean');
  return convert(v, T.numeric, to, DEFAULT_CONTEXT);
}

function convert(d: Datum, from: SqlType, to: SqlType, ctx: TypeContext): Datum {
  const f = from.typname;
  const t = to.typname;
  if (from.oid === to.oid) return d;
  if (from.oid === T.unknown.oid) return parseText(to.oid === T.interval.oid ? to : withTypmod(to, -1), d as string, ctx);
  if (from.oid === T.jsonb.oid && JSONB_TARGET[t] !== undefined) return fromJsonb(d as Jsonb, to);
  const [fromElement, toElement] = [from.element, to.element];
  if (fromElement && toElement) return new SqlArray(arrayValue(d).items.map((e) => castDatum(e, fromElement, toElement, 'explicit', ctx)));
  switch (`${f}:${t}`) {
    case 'int2:int4':
    case 'int2:oid':
      return d;
    case 'int4:int2':
      return toInt(BigInt(d as number), 'int2');
    case 'int8:int2':
    case 'int8:int4':
      return toInt(d as bigint, t as 'int2' | 'int4');
    case 'int2:int8':
    case 'int4:int8':
      return BigInt(d as number);
    case 'int4:oid':
      return (d as number) >>> 0;
    case 'int8:oid':
      if ((d as bigint) < 0n || (d as bigint) > 4294967295n) throw sqlError(SQLSTATE.NUMERIC_VALUE_OUT_OF_RANGE, 'OID out of range');
      return Number(d);
    case 'oid:int4':
      return (d as number) | 0;
    case 'oid:int8':
      return BigInt(d as number);
    case 'int2:float4':
    case 'int4:float4':
    case 'int8:float4':
      return Math.fround(Number(d));
    case 'int2:float8':
    case 'int4:float8':
    case 'int8:float8':
      return Number(d);
    case 'int2:numeric':
    case 'int4:numeric':
    case 'int8:numeric':
      return Numeric.fromInt(d as number | bigint);
    case 'float4:int2':
    case 'float4:int4':
    case 'float4:int8':
    case 'float8:int2':
    case 'float8:int4':
    case 'float8:int8':
      return floatToInt(d as number, t as 'int2' | 'int4' | 'int8');
    case 'float4:float8':
      return d;
    case 'float8:float4':
      return toFloat4(d as number);
    case 'float4:numeric':
      return numericFromFloat(d as number, 6);
    case 'float8:numeric':
      return numericFromFloat(d as number, 15);
    case 'numeric:int2':
    case 'numeric:int4':
    case 'numeric:int8': {
      const k = t as 'int2' | 'int4' | 'int8';
      const [min, max] = INT_RANGE[k];
      const v = numericToInteger(d as Numeric, min, max, INT_NAME[k]);
      return k === 'int8' ? v : Number(v);
    }
    case 'numeric:float8':
    case 'numeric:float4': {
      const n = d as Numeric;
      return n.isFinite() ? parseFloat8(n.toString(), t === 'float4') : toFloat(n);
    }
    case 'int4:bool':
      return (d as number) !== 0;
    case 'bool:int4':
      return d === true ? 1 : 0;
    case 'bool:text':
    case 'bool:varchar':
    case 'bool:bpchar':
      return d === true ? 'true' : 'false';
    case 'bpchar:text':
    case 'bpchar:varchar':
      return bpcharTrim(d as string);
    case 'text:name':
    case 'varchar:name':
      return truncateName(d as string);
    case 'bpchar:name':
      return truncateName(bpcharTrim(d as string));
    case 'text:bpchar':
    case 'text:varchar':
    case 'varchar:text':
    case 'varchar:bpchar':
    case 'name:text':
    case 'name:bpchar':
    case 'name:varchar':
      return d;
    case 'date:timestamp':
      return dateToTimestamp(d as number);
    case 'date:timestamptz':
      return dateToTimestamptz(d as number, ctx);
    case 'timestamp:date':
      return timestampToDate(d as bigint);
    case 'timestamp:timestamptz':
      return timestampToTimestamptz(d as bigint, ctx);
    case 'timestamptz:date':
      return timestamptzToDate(d as bigint, ctx);
    case 'timestamptz:timestamp':
      return timestamptzToTimestamp(d as bigint, ctx);
  }
  if (isString(to)) {
    const s = formatText(from, d, ctx);
    return to.oid === T.name.oid ? truncateName(s) : s;
  }
  if (isString(from)) {
    const s = from.oid === T.bpchar.oid ? bpcharTrim(d as string) : (d as string);
    return parseText(to.oid === T.interval.oid ? to : withTypmod(to, -1), s, ctx);
  }
  throw new TypeError(`no conversion from ${from.name} to ${to.name}`);
}

/**
 * Converts a value of type `from` to type `to` (including `to`'s typmod: a
 * too-long string is an error unless the cast is explicit, which truncates).
 * NULL casts to NULL. `ctx` supplies the time zone for timestamptz casts.
 */
export function castDatum(d: Datum, from: SqlType, to: SqlType, context: CastContext, ctx: TypeContext = DEFAULT_CONTEXT): Datum {
  const how = findCast(from, to, context);
  if (how === null) throw sqlError(SQLSTATE.CANNOT_COERCE, `cannot cast type ${from.name} to ${to.name}`);
  if (d === null) return null;
  if (how === 'exact') return d;
  const v = convert(d, from, to, ctx);
  return applyTypmod(to, v, context === 'explicit');
}

/** Applies a column's typmod to a value of the column's base type, with assignment semantics. */
export function coerceToTypmod(d: Datum, t: SqlType): Datum {
  return applyTypmod(t, d, false);
}
