// Text input and output functions (typinput/typoutput) with PostgreSQL's
// accepted spellings, error codes and messages, DateStyle ISO, MDY and
// extra_float_digits = 1 (shortest round-trip floats, PostgreSQL 12+).
import { SQLSTATE } from '../errors.js';
import { arrayValue, formatArrayItems, parseArrayItems } from './arrays.js';
import { DEFAULT_CONTEXT, SqlArray, T, VARHDRSZ, numericTypmodPrecision, numericTypmodScale, sqlError, type Datum, type SqlType, type TypeContext } from './catalog.js';
import { formatDate, formatTimestamp, formatTimestamptz, parseDate, parseTimestamp, roundTimestamp } from './datetime.js';
import { Interval, applyIntervalTypmod, formatInterval, parseInterval } from './interval.js';
import { Jsonb, parseJsonb } from './jsonb.js';
import { Numeric, applyNumericTypmod, trimPgSpace } from './numeric.js';
import { parseEnum } from './enums.js';

export const INT_RANGE = {
  int2: [-32768n, 32767n],
  int4: [-2147483648n, 2147483647n],
  int8: [-(2n ** 63n), 2n ** 63n - 1n],
} as const;

function badDatum(t: SqlType, d: Datum): Error {
  return new TypeError(`a ${typeof d} datum is not a value of type ${t.name}`);
}

export function invalidSyntax(typeName: string, text: string): Error {
  return sqlError(SQLSTATE.INVALID_TEXT_REPRESENTATION, `invalid input syntax for type ${typeName}: "${text}"`);
}

const INT_SYNTAX = /^([+-])?(0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|\d+(?:_\d+)*)$/;

/** pg_strtoint16/32/64 (PostgreSQL 16: underscores and 0x/0o/0b prefixes allowed). */
export function parseInteger(text: string, kind: 'int2' | 'int4' | 'int8'): bigint {
  const typeName = kind === 'int2' ? 'smallint' : kind === 'int4' ? 'integer' : 'bigint';
  const m = INT_SYNTAX.exec(trimPgSpace(text));
  if (m === null) throw invalidSyntax(typeName, text);
  const body = (m[2] ?? '').replace(/_/g, '');
  const prefixed = /^0[xob]/i.test(body) ? `0${(body[1] ?? '').toLowerCase()}${body.slice(2)}` : body;
  let v = BigInt(prefixed);
  if (m[1] === '-') v = -v;
  const [min, max] = INT_RANGE[kind];
  if (v < min || v > max) throw sqlError(SQLSTATE.NUMERIC_VALUE_OUT_OF_RANGE, `value "${text}" is out of range for type ${typeName}`);
  return v;
}

function parseOid(text: string): number {
  const m = /^([+-])?(\d+)$/.exec(trimPgSpace(text));
  if (m === null) throw invalidSyntax('oid', text);
  let v = BigInt(m[2] ?? '0');
  if (m[1] === '-') v = -v;
  if (v < -2147483648n || v > 4294967295n) throw sqlError(SQLSTATE.NUMERIC_VALUE_OUT_OF_RANGE, `value "${text}" is out of range for type oid`);
  return Number(v < 0n ? v + 4294967296n : v);
}

const FLOAT_SYNTAX = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const FLOAT_SPECIAL: ReadonlyMap<string, number> = new Map([
  ['nan', NaN],
  ['infinity', Infinity],
  ['+infinity', Infinity],
  ['-infinity', -Infinity],
  ['inf', Infinity],
  ['+inf', Infinity],
  ['-inf', -Infinity],
]);

/** float8in / float4in: strtod syntax, with under- and overflow reported as PostgreSQL does. */
export function parseFloat8(text: string, single = false): number {
  const typeName = single ? 'real' : 'double precision';
  const s = trimPgSpace(text);
  const special = FLOAT_SPECIAL.get(s.toLowerCase());
  if (special !== undefined) return special;
  if (!FLOAT_SYNTAX.test(s)) throw invalidSyntax(typeName, text);
  let v = Number(s);
  if (single) v = Math.fround(v);
  const nonzero = /[1-9]/.test(s.replace(/[eE].*$/, ''));
  if (!Number.isFinite(v) || (v === 0 && nonzero)) {
    throw sqlError(SQLSTATE.NUMERIC_VALUE_OUT_OF_RANGE, `"${text}" is out of range for type ${typeName}`);
  }
  return v;
}

function layoutFloat(neg: boolean, digits: string, exp: number, fixedLimit: number): string {
  let s: string;
  if (exp >= -4 && exp < fixedLimit) {
    if (exp >= 0) {
      const int = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
      const frac = digits.slice(exp + 1);
      s = frac === '' ? int : `${int}.${frac}`;
    } else {
      s = `0.${'0'.repeat(-exp - 1)}${digits}`;
    }
  } else {
    const mant = digits.length > 1 ? `${digits[0] ?? ''}.${digits.slice(1)}` : digits;
    s = `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return neg ? `-${s}` : s;
}

function floatSpecial(x: number): string | null {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  return null;
}

/** float8out: shortest digits that read back as the same double. */
export function formatFloat8(x: number): string {
  const sp = floatSpecial(x);
  if (sp !== null) return sp;
  const [mant = '', e = '0'] = Math.abs(x).toExponential().split('e');
  return layoutFloat(x < 0, mant.replace('.', ''), Number(e), 15);
}

/** float4out: shortest digits that read back as the same float. */
export function formatFloat4(x: number): string {
  const sp = floatSpecial(x);
  if (sp !== null) return sp;
  const a = Math.abs(x);
  for (let p = 1; p <= 9; p++) {
    const [mant = '', e = '0'] = a.toExponential(p - 1).split('e');
    const m = BigInt(mant.replace('.', ''));
    const exp = Number(e) - (p - 1);
    let best: bigint | null = null;
    let bestDist = Infinity;
    for (const c of [m, m - 1n, m + 1n]) {
      if (c <= 0n) continue;
      const v = Number(`${c}e${exp}`);
      if (Math.fround(v) !== a) continue;
      const d = Math.abs(v - a);
      if (d < bestDist) {
        best = c;
        bestDist = d;
      }
    }
    if (best !== null) {
      const raw = best.toString();
      const digits = raw.replace(/0+$/, '') || '0';
      return layoutFloat(x < 0, digits, exp + raw.length - 1, 6);
    }
  }
  return formatFloat8(x);
}

function parseBool(text: string): boolean {
  const s = trimPgSpace(text).toLowerCase();
  if (s.length > 0) {
    const prefixOf = (word: string): boolean => word.startsWith(s);
    switch (s[0]) {
      case 't':
        if (prefixOf('true')) return true;
        break;
      case 'f':
        if (prefixOf('false')) return false;
        break;
      case 'y':
        if (prefixOf('yes')) return true;
        break;
      case 'n':
        if (prefixOf('no')) return false;
        break;
      case 'o':
        if (s === 'on') return true;
        if (s === 'of' || s === 'off') return false;
        break;
      case '1':
        if (s === '1') return true;
        break;
      case '0':
        if (s === '0') return false;
        break;
    }
  }
  throw invalidSyntax('boolean', text);
}

function parseBytea(text: string): Buffer {
  if (text.startsWith('\\x')) {
    const hex = text.slice(2);
    const out: number[] = [];
    let i = 0;
    while (i < hex.length) {
      const c = hex[i] ?? '';
      if (/[ \t\n\r]/.test(c)) {
        i++;
        continue;
      }
      const d = hex[i + 1];
      if (!/[0-9a-fA-F]/.test(c)) throw sqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `invalid hexadecimal digit: "${c}"`);
      if (d === undefined) throw sqlError(SQLSTATE.INVALID_PARAMETER_VALUE, 'invalid hexadecimal data: odd number of digits');
      if (!/[0-9a-fA-F]/.test(d)) throw sqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `invalid hexadecimal digit: "${d}"`);
      out.push(parseInt(c + d, 16));
      i += 2;
    }
    return Buffer.from(out);
  }
  // Traditional escape format: \\ and \ooo, everything else literal.
  const bytes = Buffer.from(text, 'utf8');
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] ?? 0;
    if (b !== 0x5c) {
      out.push(b);
      continue;
    }
    const n1 = bytes[i + 1];
    if (n1 === 0x5c) {
      out.push(0x5c);
      i++;
      continue;
    }
    const oct = bytes.subarray(i + 1, i + 4).toString('latin1');
    if (!/^[0-3][0-7][0-7]$/.test(oct)) throw sqlError(SQLSTATE.INVALID_TEXT_REPRESENTATION, 'invalid input syntax for type bytea');
    out.push(parseInt(oct, 8));
    i += 3;
  }
  return Buffer.from(out);
}

export function parseUuid(text: string): string {
  const m = /^(\{)?((?:[0-9a-fA-F]{4}-?){7}[0-9a-fA-F]{4})(\})?$/.exec(text);
  if (m === null || (m[1] === undefined) !== (m[3] === undefined)) throw invalidSyntax('uuid', text);
  const hex = (m[2] ?? '').replace(/-/g, '').toLowerCase();
  return formatUuidHex(hex);
}

export function formatUuidHex(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function checkText(s: string): string {
  if (s.includes('\u0000')) throw sqlError(SQLSTATE.CHARACTER_NOT_IN_REPERTOIRE, 'invalid byte sequence for encoding "UTF8": 0x00');
  return s;
}

/** name: at most 63 bytes, cut at a character boundary (NAMEDATALEN - 1). */
export function truncateName(s: string): string {
  if (Buffer.byteLength(s) <= 63) return s;
  let out = '';
  let bytes = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > 63) break;
    out += ch;
    bytes += n;
  }
  return out;
}

function charLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function sliceChars(s: string, n: number): string {
  return Array.from(s).slice(0, n).join('');
}

/**
 * varchar(n)/char(n) length coercion: excess trailing spaces are cut; other
 * excess is an error unless `explicit` (a cast), which truncates silently.
 * char(n) is blank-padded to n.
 */
export function coerceCharLength(t: SqlType, s: string, explicit: boolean): string {
  if (t.typmod < VARHDRSZ) return s;
  const max = t.typmod - VARHDRSZ;
  const len = charLength(s);
  let out = s;
  if (len > max) {
    const head = sliceChars(s, max);
    const rest = s.slice(head.length);
    if (!explicit && /[^ ]/.test(rest)) {
      const what = t.oid === T.bpchar.oid ? 'character' : 'character varying';
      throw sqlError(SQLSTATE.STRING_DATA_RIGHT_TRUNCATION, `value too long for type ${what}(${max})`);
    }
    out = head;
  }
  if (t.oid === T.bpchar.oid) {
    const l = Math.min(len, max);
    if (l < max) out += ' '.repeat(max - l);
  }
  return out;
}

/** Applies a type's modifier to a value of that type (the typmod coercion of an assignment). */
export function applyTypmod(t: SqlType, d: Datum, explicit: boolean): Datum {
  if (d === null || t.typmod < 0) return d;
  switch (t.oid) {
    case T.varchar.oid:
    case T.bpchar.oid:
      return coerceCharLength(t, d as string, explicit);
    case T.numeric.oid:
      return applyNumericTypmod(d as Numeric, numericTypmodPrecision(t.typmod), numericTypmodScale(t.typmod));
    case T.timestamp.oid:
    case T.timestamptz.oid:
      return roundTimestamp(d as bigint, t.typmod);
    case T.interval.oid:
      return applyIntervalTypmod(d as Interval, t.typmod);
    default:
      return d;
  }
}

/** The type's input function (typmod applied as the input function would). */
export function parseText(t: SqlType, text: string, ctx: TypeContext = DEFAULT_CONTEXT): Datum {
  const element = t.element;
  if (element) return new SqlArray(parseArrayItems(text).map((e) => (e === null ? null : parseText(element, e, ctx))));
  if (t.enumLabels) return parseEnum(t, text);
  switch (t.oid) {
    case T.bool.oid:
      return parseBool(text);
    case T.int2.oid:
      return Number(parseInteger(text, 'int2'));
    case T.int4.oid:
      return Number(parseInteger(text, 'int4'));
    case T.int8.oid:
      return parseInteger(text, 'int8');
    case T.oid.oid:
      return parseOid(text);
    case T.float4.oid:
      return parseFloat8(text, true);
    case T.float8.oid:
      return parseFloat8(text);
    case T.numeric.oid:
      return applyTypmod(t, Numeric.parse(text), false);
    case T.text.oid:
    case T.unknown.oid:
      return checkText(text);
    case T.varchar.oid:
    case T.bpchar.oid:
      return coerceCharLength(t, checkText(text), false);
    case T.name.oid:
      return truncateName(checkText(text));
    case T.bytea.oid:
      return parseBytea(text);
    case T.uuid.oid:
      return parseUuid(text);
    case T.date.oid:
      return parseDate(text, ctx);
    case T.timestamp.oid:
      return applyTypmod(t, parseTimestamp(text, false, ctx), false);
    case T.timestamptz.oid:
      return applyTypmod(t, parseTimestamp(text, true, ctx), false);
    case T.interval.oid:
      return applyTypmod(t, parseInterval(text), false);
    case T.jsonb.oid:
      return parseJsonb(text);
    default:
      throw sqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `type ${t.name} is not supported`);
  }
}

/** The type's output function. */
export function formatText(t: SqlType, d: Datum, ctx: TypeContext = DEFAULT_CONTEXT): string {
  if (d === null) throw new TypeError('formatText: SQL NULL has no text form');
  const element = t.element;
  if (element) return formatArrayItems(arrayValue(d).items.map((e) => (e === null ? null : formatText(element, e, ctx))));
  if (t.enumLabels) {
    if (typeof d !== 'string') throw badDatum(t, d);
    return d;
  }
  switch (t.oid) {
    case T.bool.oid:
      if (typeof d !== 'boolean') throw badDatum(t, d);
      return d ? 't' : 'f';
    case T.int2.oid:
    case T.int4.oid:
    case T.oid.oid:
    case T.int8.oid:
      if (typeof d !== 'number' && typeof d !== 'bigint') throw badDatum(t, d);
      return d.toString();
    case T.float4.oid:
      if (typeof d !== 'number') throw badDatum(t, d);
      return formatFloat4(d);
    case T.float8.oid:
      if (typeof d !== 'number') throw badDatum(t, d);
      return formatFloat8(d);
    case T.numeric.oid:
      if (!(d instanceof Numeric)) throw badDatum(t, d);
      return d.toString();
    case T.text.oid:
    case T.unknown.oid:
    case T.varchar.oid:
    case T.bpchar.oid:
    case T.name.oid:
    case T.uuid.oid:
      if (typeof d !== 'string') throw badDatum(t, d);
      return d;
    case T.bytea.oid:
      if (!Buffer.isBuffer(d)) throw badDatum(t, d);
      return `\\x${d.toString('hex')}`;
    case T.date.oid:
      if (typeof d !== 'number') throw badDatum(t, d);
      return formatDate(d);
    case T.timestamp.oid:
      if (typeof d !== 'bigint') throw badDatum(t, d);
      return formatTimestamp(d);
    case T.timestamptz.oid:
      if (typeof d !== 'bigint') throw badDatum(t, d);
      return formatTimestamptz(d, ctx);
    case T.interval.oid:
      if (!(d instanceof Interval)) throw badDatum(t, d);
      return formatInterval(d);
    case T.jsonb.oid:
      if (!(d instanceof Jsonb)) throw badDatum(t, d);
      return d.toString();
    default:
      throw sqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `type ${t.name} is not supported`);
  }
}
