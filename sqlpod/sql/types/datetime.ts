// date, timestamp and timestamptz with PostgreSQL's representation (days or
// microseconds since 2000-01-01), its proleptic Gregorian calendar including
// BC years, ISO/MDY text forms, and time zone rules from the platform's IANA
// database (via Intl).
import { SQLSTATE } from '../errors.js';
import { DEFAULT_CONTEXT, sqlError, XSTATE, type TypeContext } from './catalog.js';
import type { Interval} from './interval.js';
import { USECS_PER_DAY, USECS_PER_HOUR, USECS_PER_MINUTE, USECS_PER_SEC, justifyHours, makeInterval } from './interval.js';
import { Numeric, addNumeric, divToScale } from './numeric.js';

export const DT_NOBEGIN = -(2n ** 63n);
export const DT_NOEND = 2n ** 63n - 1n;
export const POSTGRES_EPOCH_JDATE = 2451545;
export const UNIX_EPOCH_JDATE = 2440588;
const MIN_TIMESTAMP = -211813488000000000n;
const END_TIMESTAMP = 9223371331200000000n;
const DATE_END_JULIAN = 2147483494;
const TIMESTAMP_END_JULIAN = 109203528;
/** timestamp of 1970-01-01 00:00:00. */
export const UNIX_EPOCH_TIMESTAMP = -946684800000000n;

/** The current time as a timestamp(tz) datum: microseconds since 2000-01-01 UTC. */
export function timestampNow(): bigint {
  return BigInt(Date.now()) * 1000n + UNIX_EPOCH_TIMESTAMP;
}

export function date2j(year: number, month: number, day: number): number {
  let y = year;
  let m = month;
  if (m > 2) {
    m += 1;
    y += 4800;
  } else {
    m += 13;
    y += 4799;
  }
  const century = Math.floor(y / 100);
  let julian = y * 365 - 32167;
  julian += Math.floor(y / 4) - century + Math.floor(century / 4);
  julian += Math.floor((7834 * m) / 256) + day;
  return julian;
}

export function j2date(jd: number): [number, number, number] {
  let julian = jd + 32044;
  let quad = Math.floor(julian / 146097);
  const extra = (julian - quad * 146097) * 4 + 3;
  julian += 60 + quad * 3 + Math.floor(extra / 146097);
  quad = Math.floor(julian / 1461);
  julian -= quad * 1461;
  let y = Math.floor((julian * 4) / 1461);
  julian = (y !== 0 ? (julian + 305) % 365 : (julian + 306) % 366) + 123;
  y += quad * 4;
  const q2 = Math.floor((julian * 2141) / 65536);
  return [y - 4800, ((q2 + 10) % 12) + 1, julian - Math.floor((7834 * q2) / 256)];
}

export function isLeap(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

const DAY_TAB = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
export function daysInMonth(y: number, m: number): number {
  return m === 2 && isLeap(y) ? 29 : (DAY_TAB[m - 1] ?? 31);
}

/** Broken-down time; year is astronomical (0 = 1 BC). */
export interface Fields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  micro: number;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

export function timestampToFields(t: bigint): Fields {
  const days = floorDiv(t, USECS_PER_DAY);
  let time = t - days * USECS_PER_DAY;
  const [year, month, day] = j2date(Number(days) + POSTGRES_EPOCH_JDATE);
  const hour = Number(time / USECS_PER_HOUR);
  time %= USECS_PER_HOUR;
  const minute = Number(time / USECS_PER_MINUTE);
  time %= USECS_PER_MINUTE;
  return { year, month, day, hour, minute, second: Number(time / USECS_PER_SEC), micro: Number(time % USECS_PER_SEC) };
}

export function fieldsToTimestamp(f: Fields): bigint {
  const days = BigInt(date2j(f.year, f.month, f.day) - POSTGRES_EPOCH_JDATE);
  return (
    days * USECS_PER_DAY +
    BigInt(f.hour) * USECS_PER_HOUR +
    BigInt(f.minute) * USECS_PER_MINUTE +
    BigInt(f.second) * USECS_PER_SEC +
    BigInt(f.micro)
  );
}

export function isValidTimestamp(t: bigint): boolean {
  return t >= MIN_TIMESTAMP && t < END_TIMESTAMP;
}

export function isValidDate(d: number): boolean {
  return d >= -POSTGRES_EPOCH_JDATE && d < DATE_END_JULIAN - POSTGRES_EPOCH_JDATE;
}

function isValidJulian(y: number, m: number, d: number): boolean {
  return (y > -4713 || (y === -4713 && (m > 11 || (m === 11 && d >= 24)))) && y < 5874898;
}

export function timestampOutOfRange(): Error {
  return sqlError(SQLSTATE.DATETIME_FIELD_OVERFLOW, 'timestamp out of range');
}

export function dateOutOfRange(): Error {
  return sqlError(SQLSTATE.DATETIME_FIELD_OVERFLOW, 'date out of range');
}

export function isFiniteTimestamp(t: bigint): boolean {
  return t !== DT_NOBEGIN && t !== DT_NOEND;
}

// --- time zones --------------------------------------------------------------------------

export type Zone = { readonly kind: 'fixed'; readonly offset: number } | { readonly kind: 'iana'; readonly fmt: Intl.DateTimeFormat };

const zoneCache = new Map<string, Zone>();
const UTC_NAMES = new Set(['utc', 'gmt', 'z', 'zulu', 'ut', 'uct', 'etc/utc', 'etc/gmt', 'universal', 'greenwich']);

function parseOffset(s: string): number | null {
  const m = /^([+-])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?$/.exec(s);
  if (m === null) return null;
  const h = Number(m[2]);
  const mi = Number(m[3] ?? 0);
  const se = Number(m[4] ?? 0);
  if (h > 15 || mi > 59 || se > 59) return null;
  const v = h * 3600 + mi * 60 + se;
  return m[1] === '-' ? -v : v;
}

/** A zone by IANA name, UTC alias, or ISO offset; null when unknown. */
export function findZone(name: string): Zone | null {
  const key = name.trim();
  const cached = zoneCache.get(key);
  if (cached !== undefined) return cached;
  let zone: Zone | null = null;
  const lower = key.toLowerCase();
  if (UTC_NAMES.has(lower)) zone = { kind: 'fixed', offset: 0 };
  else {
    const off = parseOffset(key);
    if (off !== null) zone = { kind: 'fixed', offset: off };
    else if (/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(key)) {
      try {
        const fmt = new Intl.DateTimeFormat('en-US', {
          timeZone: key,
          hourCycle: 'h23',
          era: 'short',
          year: 'numeric',
          month: 'numeric',
          day: 'numeric',
          hour: 'numeric',
          minute: 'numeric',
          second: 'numeric',
        });
        zone = { kind: 'iana', fmt };
      } catch {
        zone = null;
      }
    }
  }
  if (zone !== null) zoneCache.set(key, zone);
  return zone;
}

export function resolveZone(name: string): Zone {
  const z = findZone(name);
  if (z === null) throw sqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `time zone "${name}" not recognized`);
  return z;
}

const MAX_JS_MS = 8.64e15;

/** Seconds east of UTC in force at a UTC instant. */
export function zoneOffsetAt(zone: Zone, utc: bigint): number {
  if (zone.kind === 'fixed') return zone.offset;
  let ms = Number(floorDiv(utc, 1000n)) + Date.UTC(2000, 0, 1);
  ms = Math.max(-MAX_JS_MS + 86400000, Math.min(MAX_JS_MS - 86400000, ms));
  ms = Math.floor(ms / 1000) * 1000;
  const parts = zone.fmt.formatToParts(new Date(ms));
  const get = (t: string): number => Number(parts.find((p) => p.type === t)?.value ?? 0);
  const era = parts.find((p) => p.type === 'era')?.value ?? 'AD';
  let year = get('year');
  if (era.startsWith('B')) year = 1 - year;
  const d = new Date(0);
  d.setUTCFullYear(year, get('month') - 1, get('day'));
  d.setUTCHours(get('hour'), get('minute'), get('second'), 0);
  return Math.round((d.getTime() - ms) / 1000);
}

/**
 * Local wall-clock time to UTC. In a spring-forward gap the offset from before
 * the transition applies; an ambiguous fall-back time means the later instant
 * (standard time), both as in PostgreSQL's DetermineTimeZoneOffset.
 */
export function localToUtc(zone: Zone, local: bigint): bigint {
  if (zone.kind === 'fixed') return local - BigInt(zone.offset) * USECS_PER_SEC;
  const window = 30n * USECS_PER_HOUR;
  const before = zoneOffsetAt(zone, local - window);
  const after = zoneOffsetAt(zone, local + window);
  const fits = (o: number): boolean => zoneOffsetAt(zone, local - BigInt(o) * USECS_PER_SEC) === o;
  if (fits(after)) return local - BigInt(after) * USECS_PER_SEC;
  if (fits(before)) return local - BigInt(before) * USECS_PER_SEC;
  const now = zoneOffsetAt(zone, local);
  if (fits(now)) return local - BigInt(now) * USECS_PER_SEC;
  return local - BigInt(before) * USECS_PER_SEC;
}

export function utcToLocal(zone: Zone, utc: bigint): bigint {
  return utc + BigInt(zoneOffsetAt(zone, utc)) * USECS_PER_SEC;
}

function ctxZone(ctx: TypeContext | undefined): Zone {
  return resolveZone((ctx ?? DEFAULT_CONTEXT).timeZone);
}

// --- text output -----------------------------------------------------------------------------

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

function formatYmd(year: number, month: number, day: number): { text: string; bc: boolean } {
  const bc = year <= 0;
  return { text: `${pad(bc ? 1 - year : year, 4)}-${pad(month, 2)}-${pad(day, 2)}`, bc };
}

export function formatDate(d: number): string {
  if (d === Infinity) return 'infinity';
  if (d === -Infinity) return '-infinity';
  const [y, m, day] = j2date(d + POSTGRES_EPOCH_JDATE);
  const { text, bc } = formatYmd(y, m, day);
  return bc ? `${text} BC` : text;
}

function formatTime(f: Fields): string {
  let s = `${pad(f.hour, 2)}:${pad(f.minute, 2)}:${pad(f.second, 2)}`;
  if (f.micro !== 0) s += `.${pad(f.micro, 6).replace(/0+$/, '')}`;
  return s;
}

export function formatOffset(seconds: number, alwaysMinutes = false): string {
  const sign = seconds < 0 ? '-' : '+';
  const a = Math.abs(seconds);
  const h = Math.floor(a / 3600);
  const m = Math.floor((a % 3600) / 60);
  const s = a % 60;
  if (s !== 0) return `${sign}${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}`;
  if (m !== 0 || alwaysMinutes) return `${sign}${pad(h, 2)}:${pad(m, 2)}`;
  return `${sign}${pad(h, 2)}`;
}

/** Output for timestamp (tz: null) or timestamptz (tz: the zone to show); `sep` is ' ' or, for JSON, 'T'. */
export function formatTimestampIn(t: bigint, zone: Zone | null, sep = ' ', jsonOffsets = false): string {
  if (t === DT_NOEND) return 'infinity';
  if (t === DT_NOBEGIN) return '-infinity';
  const offset = zone === null ? 0 : zoneOffsetAt(zone, t);
  const f = timestampToFields(t + BigInt(offset) * USECS_PER_SEC);
  const { text, bc } = formatYmd(f.year, f.month, f.day);
  let s = `${text}${sep}${formatTime(f)}`;
  if (zone !== null) s += formatOffset(offset, jsonOffsets);
  return bc ? `${s} BC` : s;
}

export function formatTimestamp(t: bigint): string {
  return formatTimestampIn(t, null);
}

export function formatTimestamptz(t: bigint, ctx?: TypeContext): string {
  return formatTimestampIn(t, ctxZone(ctx));
}

// --- text input ------------------------------------------------------------------------------

const MONTHS: ReadonlyMap<string, number> = new Map(
  ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'].flatMap((m, i): [string, number][] => [
    [m, i + 1],
    [
      ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'][i] ?? m,
      i + 1,
    ],
  ]),
).set('sept', 9);
const DAYS = new Set(['sun', 'mon', 'tue', 'tues', 'wed', 'wednes', 'thu', 'thur', 'thurs', 'fri', 'sat', 'sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday']);

type Kind = 'date' | 'timestamp' | 'timestamp with time zone';

class DtError extends Error {
  constructor(readonly overflow: boolean, readonly hint?: string) {
    super('datetime');
  }
}

interface ParsedDt {
  special?: 'infinity' | '-infinity' | 'epoch' | 'now' | 'today' | 'tomorrow' | 'yesterday';
  year?: number;
  month?: number;
  day?: number;
  hour: number;
  minute: number;
  second: number;
  micro: number;
  bc: boolean;
  zone?: Zone;
}

function twoDigitYear(y: number, digits: number): number {
  if (digits > 2) return y;
  return y < 70 ? 2000 + y : 1900 + y;
}

function setDate(p: ParsedDt, y: string | number, m: string | number, d: string | number): void {
  if (p.year !== undefined) throw new DtError(false);
  const month = typeof m === 'number' ? m : MONTHS.get(m) ?? (/^\d+$/.test(m) ? Number(m) : NaN);
  const yn = typeof y === 'number' ? y : twoDigitYear(Number(y), y.length);
  if (Number.isNaN(month) || Number.isNaN(yn) || !/^\d+$/.test(String(d))) throw new DtError(false);
  p.year = yn;
  p.month = month;
  p.day = Number(d);
}

function parseDateToken(p: ParsedDt, parts: string[], sep: string): void {
  const [a = '', b = '', c = ''] = parts;
  const isNum = (s: string): boolean => /^\d+$/.test(s);
  if (parts.length !== 3) throw new DtError(false);
  if (isNum(a) && (a.length >= 3 || Number(a) > 31)) setDate(p, a, b, c);
  else if (MONTHS.has(a)) setDate(p, c, a, b);
  else if (MONTHS.has(b)) setDate(p, c, b, a);
  else if (isNum(a) && isNum(b) && isNum(c)) {
    // DateStyle MDY
    if (Number(a) > 12 && sep !== '.') throw new DtError(true, 'Perhaps you need a different "datestyle" setting.');
    setDate(p, c, a, b);
  } else throw new DtError(false);
}

function parseTimeToken(p: ParsedDt, s: string): void {
  const m = /^(\d+):(\d+)(?::(\d+)(?:\.(\d*))?)?$/.exec(s);
  if (m === null) throw new DtError(false);
  p.hour = Number(m[1]);
  p.minute = Number(m[2]);
  p.second = Number(m[3] ?? 0);
  const frac = m[4] ?? '';
  // Fractions beyond microseconds round, as rint(frac * 1e6) does.
  p.micro = frac === '' ? 0 : Math.round(Number(`0.${frac}`) * 1e6);
}

function tokenize(s: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i] ?? '';
    if (/[\s,]/.test(c)) {
      i++;
      continue;
    }
    const rest = s.slice(i);
    let m: RegExpExecArray | null;
    if ((m = /^\d+([-/.])(?:[a-z]+|\d+)\1(?:[a-z]+|\d+)/.exec(rest)) !== null) tokens.push(`D${m[0]}`);
    else if ((m = /^\d+:\d+(?::\d+(?:\.\d*)?)?/.exec(rest)) !== null) tokens.push(`T${m[0]}`);
    else if ((m = /^\d+(?:\.\d*)?/.exec(rest)) !== null) tokens.push(`N${m[0]}`);
    else if ((m = /^[+-]\d+(?::\d+){0,2}/.exec(rest)) !== null) tokens.push(`Z${m[0]}`);
    else if (/^t\d/.test(rest)) {
      i++;
      continue;
    } else if ((m = /^[a-z][a-z0-9_/+-]*/.exec(rest)) !== null) tokens.push(`W${m[0]}`);
    else throw new DtError(false);
    i += m[0].length;
  }
  return tokens;
}

function decodeDateTime(text: string): ParsedDt {
  const s = text.trim().toLowerCase();
  const p: ParsedDt = { hour: 0, minute: 0, second: 0, micro: 0, bc: false };
  const specials: ReadonlyMap<string, ParsedDt['special']> = new Map([
    ['infinity', 'infinity'],
    ['+infinity', 'infinity'],
    ['-infinity', '-infinity'],
    ['epoch', 'epoch'],
    ['now', 'now'],
    ['today', 'today'],
    ['tomorrow', 'tomorrow'],
    ['yesterday', 'yesterday'],
  ]);
  const sp = specials.get(s);
  if (sp !== undefined) return { ...p, special: sp };
  let pm: 'am' | 'pm' | undefined;
  let sawTime = false;
  const numbers: string[] = [];
  let wordMonth: number | undefined;
  for (const tok of tokenize(s)) {
    const v = tok.slice(1);
    switch (tok[0]) {
      case 'D': {
        const sep = v.match(/[-/.]/)?.[0] ?? '-';
        parseDateToken(p, v.split(sep), sep);
        break;
      }
      case 'T':
        if (sawTime) throw new DtError(false);
        parseTimeToken(p, v);
        sawTime = true;
        break;
      case 'N':
        numbers.push(v);
        break;
      case 'Z': {
        const off = parseOffset(v.length <= 3 || v.includes(':') ? v : `${v.slice(0, v.length - 2)}:${v.slice(-2)}`);
        if (off === null) throw new DtError(false);
        p.zone = { kind: 'fixed', offset: off };
        break;
      }
      default: {
        if (MONTHS.has(v) && wordMonth === undefined) wordMonth = MONTHS.get(v);
        else if (DAYS.has(v)) break;
        else if (v === 'am' || v === 'pm') pm = v;
        else if (v === 'bc') p.bc = true;
        else if (v === 'ad') p.bc = false;
        else if (/^[a-z]+-\d+-\d+$/.test(v)) parseDateToken(p, v.split('-'), '-');
        else {
          const z = findZone(v.includes('/') ? properCase(v) : v);
          if (z === null) throw new DtError(false);
          p.zone = z;
        }
      }
    }
  }
  if (wordMonth !== undefined) {
    if (p.year !== undefined || numbers.length !== 2) throw new DtError(false);
    const [x = '', y = ''] = numbers;
    // 'Jan 8 1999', '8 Jan 1999', '1999 Jan 8'
    if (x.length >= 3 || Number(x) > 31) setDate(p, x, wordMonth, y);
    else setDate(p, y, wordMonth, x);
  } else if (numbers.length > 0) {
    const n = numbers[0] ?? '';
    if (numbers.length === 1 && p.year === undefined && n.length === 8) setDate(p, n.slice(0, 4), n.slice(4, 6), n.slice(6));
    else if (numbers.length === 1 && p.year === undefined && n.length === 6) setDate(p, n.slice(0, 2), n.slice(2, 4), n.slice(4));
    else throw new DtError(false);
  }
  if (pm !== undefined) {
    if (p.hour > 12 || p.hour < 1) throw new DtError(true);
    if (pm === 'pm' && p.hour < 12) p.hour += 12;
    if (pm === 'am' && p.hour === 12) p.hour = 0;
  }
  return p;
}

// Intl accepts any case, but the conventional spelling keeps cache keys stable.
function properCase(v: string): string {
  return v.replace(/(^|[/_-])([a-z])/g, (_m, a: string, b: string) => a + b.toUpperCase());
}

function validateFields(p: ParsedDt): Fields {
  if (p.year === undefined || p.month === undefined || p.day === undefined) throw new DtError(false);
  let year = p.year;
  if (year === 0 && !p.bc) throw new DtError(true);
  if (p.bc) {
    if (year <= 0) throw new DtError(true);
    year = 1 - year;
  }
  if (p.month < 1 || p.month > 12) throw new DtError(true);
  if (p.day < 1 || p.day > daysInMonth(year, p.month)) throw new DtError(true);
  if (p.hour > 24 || p.minute > 59 || p.second > 60) throw new DtError(true);
  if (p.hour === 24 && (p.minute > 0 || p.second > 0 || p.micro > 0)) throw new DtError(true);
  return { year, month: p.month, day: p.day, hour: p.hour, minute: p.minute, second: p.second, micro: p.micro };
}

function dtFailure(e: unknown, kind: Kind, text: string): Error {
  if (e instanceof DtError) {
    if (e.overflow) {
      return sqlError(SQLSTATE.DATETIME_FIELD_OVERFLOW, `date/time field value out of range: "${text}"`, e.hint === undefined ? {} : { hint: e.hint });
    }
    return sqlError(SQLSTATE.INVALID_DATETIME_FORMAT, `invalid input syntax for type ${kind}: "${text}"`);
  }
  return e instanceof Error ? e : new Error(String(e));
}

function needNow(ctx: TypeContext | undefined, text: string): bigint {
  if (ctx?.now === undefined) {
    throw sqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `date/time value "${text.trim()}" needs the current time, which is not available here`);
  }
  return ctx.now;
}

/** Local midnight of today (+delta days), as a local timestamp. */
function localDay(ctx: TypeContext | undefined, text: string, delta: number): bigint {
  const local = utcToLocal(ctxZone(ctx), needNow(ctx, text));
  return (floorDiv(local, USECS_PER_DAY) + BigInt(delta)) * USECS_PER_DAY;
}

export function parseDate(text: string, ctx?: TypeContext): number {
  let p: ParsedDt;
  let f: Fields;
  try {
    p = decodeDateTime(text);
    switch (p.special) {
      case 'infinity':
        return Infinity;
      case '-infinity':
        return -Infinity;
      case 'epoch':
        return UNIX_EPOCH_JDATE - POSTGRES_EPOCH_JDATE;
      case 'now':
      case 'today':
        return Number(localDay(ctx, text, 0) / USECS_PER_DAY);
      case 'tomorrow':
        return Number(localDay(ctx, text, 1) / USECS_PER_DAY);
      case 'yesterday':
        return Number(localDay(ctx, text, -1) / USECS_PER_DAY);
      default:
        f = validateFields(p);
    }
  } catch (e) {
    throw dtFailure(e, 'date', text);
  }
  if (!isValidJulian(f.year, f.month, f.day)) throw sqlError(SQLSTATE.DATETIME_FIELD_OVERFLOW, `date out of range: "${text}"`);
  const d = date2j(f.year, f.month, f.day) - POSTGRES_EPOCH_JDATE;
  if (!isValidDate(d)) throw sqlError(SQLSTATE.DATETIME_FIELD_OVERFLOW, `date out of range: "${text}"`);
  return d;
}

/** timestamp_in (withTz false: any zone in the text is ignored, as PostgreSQL does) and timestamptz_in. */
export function parseTimestamp(text: string, withTz: boolean, ctx?: TypeContext): bigint {
  const kind: Kind = withTz ? 'timestamp with time zone' : 'timestamp';
  let p: ParsedDt;
  let f: Fields;
  try {
    p = decodeDateTime(text);
    switch (p.special) {
      case 'infinity':
        return DT_NOEND;
      case '-infinity':
        return DT_NOBEGIN;
      case 'epoch':
        return UNIX_EPOCH_TIMESTAMP;
      case 'now':
        return withTz ? needNow(ctx, text) : utcToLocal(ctxZone(ctx), needNow(ctx, text));
      case 'today':
      case 'tomorrow':
      case 'yesterday': {
        const local = localDay(ctx, text, p.special === 'today' ? 0 : p.special === 'tomorrow' ? 1 : -1);
        return withTz ? localToUtc(ctxZone(ctx), local) : local;
      }
      default:
        f = validateFields(p);
    }
  } catch (e) {
    throw dtFailure(e, kind, text);
  }
  if (!isValidJulian(f.year, f.month, f.day)) throw sqlError(SQLSTATE.DATETIME_FIELD_OVERFLOW, `timestamp out of range: "${text}"`);
  const local = fieldsToTimestamp(f);
  const t = !withTz ? local : p.zone !== undefined ? localToUtc(p.zone, local) : localToUtc(ctxZone(ctx), local);
  if (!isValidTimestamp(t)) throw sqlError(SQLSTATE.DATETIME_FIELD_OVERFLOW, `timestamp out of range: "${text}"`);
  return t;
}

/** AdjustTimestampForTypmod: rounds to `precision` fractional digits, half away from zero. */
export function roundTimestamp(t: bigint, precision: number): bigint {
  if (precision < 0 || precision >= 6 || !isFiniteTimestamp(t)) return t;
  const scale = 10n ** BigInt(6 - precision);
  const offset = scale / 2n;
  return t >= 0n ? ((t + offset) / scale) * scale : -(((-t + offset) / scale) * scale);
}

// --- conversions -----------------------------------------------------------------------------

export function dateToTimestamp(d: number): bigint {
  if (d === -Infinity) return DT_NOBEGIN;
  if (d === Infinity) return DT_NOEND;
  if (d >= TIMESTAMP_END_JULIAN - POSTGRES_EPOCH_JDATE) throw sqlError(SQLSTATE.DATETIME_FIELD_OVERFLOW, 'date out of range for timestamp');
  return BigInt(d) * USECS_PER_DAY;
}

export function dateToTimestamptz(d: number, ctx?: TypeContext): bigint {
  const t = dateToTimestamp(d);
  if (!isFiniteTimestamp(t)) return t;
  const r = localToUtc(ctxZone(ctx), t);
  if (!isValidTimestamp(r)) throw sqlError(SQLSTATE.DATETIME_FIELD_OVERFLOW, 'date out of range for timestamp');
  return r;
}

export function timestampToDate(t: bigint): number {
  if (t === DT_NOBEGIN) return -Infinity;
  if (t === DT_NOEND) return Infinity;
  return Number(floorDiv(t, USECS_PER_DAY));
}

export function timestamptzToDate(t: bigint, ctx?: TypeContext): number {
  return isFiniteTimestamp(t) ? timestampToDate(utcToLocal(ctxZone(ctx), t)) : timestampToDate(t);
}

export function timestampToTimestamptz(t: bigint, ctx?: TypeContext): bigint {
  if (!isFiniteTimestamp(t)) return t;
  const r = localToUtc(ctxZone(ctx), t);
  if (!isValidTimestamp(r)) throw timestampOutOfRange();
  return r;
}

export function timestamptzToTimestamp(t: bigint, ctx?: TypeContext): bigint {
  if (!isFiniteTimestamp(t)) return t;
  const r = utcToLocal(ctxZone(ctx), t);
  if (!isValidTimestamp(r)) throw timestampOutOfRange();
  return r;
}

// --- arithmetic ------------------------------------------------------------------------------

/**
 * timestamp_pl_interval / timestamptz_pl_interval: months (clamped to the end
 * of the month) and days are added to the wall clock (in `zone` for
 * timestamptz), the time part as elapsed microseconds.
 */
export function addIntervalToTimestamp(t: bigint, span: Interval, zone: Zone | null): bigint {
  if (!isFiniteTimestamp(t)) return t;
  let ts = t;
  if (span.months !== 0 || span.days !== 0) {
    const local = zone === null ? ts : utcToLocal(zone, ts);
    const f = timestampToFields(local);
    if (span.months !== 0) {
      let mon = f.month + span.months;
      let year = f.year;
      if (mon > 12) {
        year += Math.trunc((mon - 1) / 12);
        mon = ((mon - 1) % 12) + 1;
      } else if (mon < 1) {
        year += Math.trunc(mon / 12) - 1;
        mon = (mon % 12) + 12;
      }
      f.year = year;
      f.month = mon;
      f.day = Math.min(f.day, daysInMonth(year, mon));
      if (!isValidJulian(f.year, f.month, f.day)) throw timestampOutOfRange();
    }
    if (span.days !== 0) {
      const j = date2j(f.year, f.month, f.day) + span.days;
      [f.year, f.month, f.day] = j2date(j);
      if (!isValidJulian(f.year, f.month, f.day)) throw timestampOutOfRange();
    }
    const nl = fieldsToTimestamp(f);
    ts = zone === null ? nl : localToUtc(zone, nl);
  }
  ts += span.micros;
  if (!isValidTimestamp(ts)) throw timestampOutOfRange();
  return ts;
}

export function subtractTimestamps(a: bigint, b: bigint): Interval {
  if (!isFiniteTimestamp(a) || !isFiniteTimestamp(b)) {
    throw sqlError(XSTATE.DATETIME_VALUE_OUT_OF_RANGE, 'cannot subtract infinite timestamps');
  }
  return justifyHours(makeInterval(0, 0, a - b));
}

export function addDays(d: number, n: number): number {
  if (!Number.isFinite(d)) return d;
  const r = d + n;
  if (!isValidDate(r)) throw dateOutOfRange();
  return r;
}

export function subtractDates(a: number, b: number): number {
  if (!Number.isFinite(a) || !Number.isFinite(b)) throw sqlError(XSTATE.DATETIME_VALUE_OUT_OF_RANGE, 'cannot subtract infinite dates');
  return a - b;
}

/** age(): symbolic difference in years, months and days, borrowing like timestamp_age. */
export function age(a: bigint, b: bigint, zone: Zone | null): Interval {
  if (!isFiniteTimestamp(a) || !isFiniteTimestamp(b)) throw sqlError(XSTATE.DATETIME_VALUE_OUT_OF_RANGE, 'cannot subtract infinite timestamps');
  const f1 = timestampToFields(zone === null ? a : utcToLocal(zone, a));
  const f2 = timestampToFields(zone === null ? b : utcToLocal(zone, b));
  const flip = a < b;
  const s = flip ? -1 : 1;
  let usec = s * (f1.micro - f2.micro);
  let sec = s * (f1.second - f2.second);
  let min = s * (f1.minute - f2.minute);
  let hour = s * (f1.hour - f2.hour);
  let mday = s * (f1.day - f2.day);
  let mon = s * (f1.month - f2.month);
  let year = s * (f1.year - f2.year);
  while (usec < 0) {
    usec += 1_000_000;
    sec--;
  }
  while (sec < 0) {
    sec += 60;
    min--;
  }
  while (min < 0) {
    min += 60;
    hour--;
  }
  while (hour < 0) {
    hour += 24;
    mday--;
  }
  while (mday < 0) {
    const ref = flip ? f1 : f2;
    mday += daysInMonth(ref.year, ref.month);
    mon--;
  }
  while (mon < 0) {
    mon += 12;
    year--;
  }
  const micros = BigInt(hour) * USECS_PER_HOUR + BigInt(min) * USECS_PER_MINUTE + BigInt(sec) * USECS_PER_SEC + BigInt(usec);
  return makeInterval(s * (year * 12 + mon), s * mday, BigInt(s) * micros);
}

// --- date_trunc and date_part ------------------------------------------------------------------

export type DtUnit =
  | 'microseconds' | 'milliseconds' | 'second' | 'minute' | 'hour' | 'day' | 'week' | 'month' | 'quarter' | 'year'
  | 'decade' | 'century' | 'millennium' | 'epoch' | 'dow' | 'isodow' | 'doy' | 'isoyear' | 'julian'
  | 'timezone' | 'timezone_hour' | 'timezone_minute';

const UNIT_NAMES: ReadonlyMap<string, DtUnit> = new Map<string, DtUnit>([
  ...['microsecond', 'microseconds', 'microsecon', 'us', 'usec', 'usecs', 'useconds'].map((w): [string, DtUnit] => [w, 'microseconds']),
  ...['millisecond', 'milliseconds', 'millisecon', 'ms', 'msec', 'msecs', 'mseconds'].map((w): [string, DtUnit] => [w, 'milliseconds']),
  ...['second', 'seconds', 's', 'sec', 'secs'].map((w): [string, DtUnit] => [w, 'second']),
  ...['minute', 'minutes', 'm', 'min', 'mins'].map((w): [string, DtUnit] => [w, 'minute']),
  ...['hour', 'hours', 'h', 'hr', 'hrs'].map((w): [string, DtUnit] => [w, 'hour']),
  ...['day', 'days', 'd'].map((w): [string, DtUnit] => [w, 'day']),
  ...['week', 'weeks', 'w'].map((w): [string, DtUnit] => [w, 'week']),
  ...['month', 'months', 'mon', 'mons'].map((w): [string, DtUnit] => [w, 'month']),
  ...['quarter', 'qtr'].map((w): [string, DtUnit] => [w, 'quarter']),
  ...['year', 'years', 'y', 'yr', 'yrs'].map((w): [string, DtUnit] => [w, 'year']),
  ...['decade', 'decades', 'dec', 'decs'].map((w): [string, DtUnit] => [w, 'decade']),
  ...['century', 'centuries', 'c', 'cent'].map((w): [string, DtUnit] => [w, 'century']),
  ...['millennium', 'millennia', 'mil', 'mils'].map((w): [string, DtUnit] => [w, 'millennium']),
  ['epoch', 'epoch'],
  ['dow', 'dow'],
  ['isodow', 'isodow'],
  ['doy', 'doy'],
  ['isoyear', 'isoyear'],
  ['julian', 'julian'],
  ['j', 'julian'],
  ['timezone', 'timezone'],
  ['timezone_h', 'timezone_hour'],
  ['timezone_hour', 'timezone_hour'],
  ['timezone_m', 'timezone_minute'],
  ['timezone_minute', 'timezone_minute'],
]);

export function dtUnit(text: string, typeName: string): DtUnit {
  const u = UNIT_NAMES.get(text.toLowerCase());
  if (u === undefined) throw sqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `unit "${text.toLowerCase()}" not recognized for type ${typeName}`);
  return u;
}

function unsupportedUnit(text: string, typeName: string): Error {
  return sqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `unit "${text.toLowerCase()}" not supported for type ${typeName}`);
}

function j2day(j: number): number {
  return (((j + 1) % 7) + 7) % 7;
}

/** ISO 8601 week number of a date. */
function date2isoweek(year: number, mon: number, mday: number): number {
  const dayn = date2j(year, mon, mday);
  let day4 = date2j(year, 1, 4);
  let day0 = j2day(day4 - 1);
  if (dayn < day4 - day0) {
    day4 = date2j(year - 1, 1, 4);
    day0 = j2day(day4 - 1);
  }
  let result = Math.floor((dayn - (day4 - day0)) / 7) + 1;
  if (result >= 52) {
    day4 = date2j(year + 1, 1, 4);
    day0 = j2day(day4 - 1);
    if (dayn >= day4 - day0) result = Math.floor((dayn - (day4 - day0)) / 7) + 1;
  }
  return result;
}

function date2isoyear(year: number, mon: number, mday: number): number {
  const dayn = date2j(year, mon, mday);
  let y = year;
  let day4 = date2j(y, 1, 4);
  let day0 = j2day(day4 - 1);
  if (dayn < day4 - day0) {
    y--;
    day4 = date2j(y, 1, 4);
    day0 = j2day(day4 - 1);
  }
  const result = Math.floor((dayn - (day4 - day0)) / 7) + 1;
  if (result >= 52) {
    day4 = date2j(y + 1, 1, 4);
    day0 = j2day(day4 - 1);
    if (dayn >= day4 - day0) y++;
  }
  return y;
}

/** Julian day of the Monday of ISO week `woy` of ISO year `year`. */
function isoweek2j(year: number, woy: number): number {
  const day4 = date2j(year, 1, 4);
  const day0 = j2day(day4 - 1);
  return (woy - 1) * 7 + (day4 - day0);
}

export function dateTrunc(unitText: string, t: bigint, zone: Zone | null): bigint {
  const typeName = zone === null ? 'timestamp without time zone' : 'timestamp with time zone';
  const unit = dtUnit(unitText, typeName);
  if (!isFiniteTimestamp(t)) return t;
  const offset = zone === null ? 0n : BigInt(zoneOffsetAt(zone, t)) * USECS_PER_SEC;
  const f = timestampToFields(t + offset);
  let redoZone = true;
  switch (unit) {
    case 'week': {
      const woy = date2isoweek(f.year, f.month, f.day);
      let y = f.year;
      if (woy >= 52 && f.month === 1) y--;
      if (woy <= 1 && f.month === 12) y++;
      [f.year, f.month, f.day] = j2date(isoweek2j(y, woy));
      f.hour = f.minute = f.second = f.micro = 0;
      break;
    }
    case 'millennium':
    case 'century':
    case 'decade':
    case 'year':
    case 'quarter':
    case 'month':
    case 'day': {
      if (unit === 'millennium') f.year = f.year > 0 ? Math.floor((f.year + 999) / 1000) * 1000 - 999 : -Math.floor((999 - (f.year - 1)) / 1000) * 1000 + 1;
      if (unit === 'century') f.year = f.year > 0 ? Math.floor((f.year + 99) / 100) * 100 - 99 : -Math.floor((99 - (f.year - 1)) / 100) * 100 + 1;
      if (unit === 'decade') f.year = f.year > 0 ? Math.floor(f.year / 10) * 10 : -Math.floor((8 - (f.year - 1)) / 10) * 10;
      if (unit !== 'day' && unit !== 'month') f.month = unit === 'quarter' ? 3 * Math.floor((f.month - 1) / 3) + 1 : 1;
      if (unit !== 'day') f.day = 1;
      f.hour = f.minute = f.second = f.micro = 0;
      break;
    }
    case 'hour':
    case 'minute':
    case 'second':
    case 'milliseconds':
    case 'microseconds':
      redoZone = false;
      if (unit === 'hour') f.minute = 0;
      if (unit === 'hour' || unit === 'minute') f.second = 0;
      if (unit !== 'milliseconds' && unit !== 'microseconds') f.micro = 0;
      if (unit === 'milliseconds') f.micro = Math.floor(f.micro / 1000) * 1000;
      break;
    default:
      throw unsupportedUnit(unitText, typeName);
  }
  const local = fieldsToTimestamp(f);
  if (zone === null) return local;
  return redoZone ? localToUtc(zone, local) : local - offset;
}

const MONOTONIC = new Set<DtUnit>(['year', 'decade', 'century', 'millennium', 'julian', 'isoyear', 'epoch']);

/** A numeric from an integer number of 10^-scale units (int64_div_fast_to_numeric). */
function scaled(v: bigint, scale: number): Numeric {
  return Numeric.of(v, scale);
}

function yearPart(unit: DtUnit, year: number): number {
  switch (unit) {
    case 'year':
      return year > 0 ? year : year - 1;
    case 'decade':
      return year >= 0 ? Math.floor(year / 10) : -Math.floor((8 - (year - 1)) / 10);
    case 'century':
      return year > 0 ? Math.floor((year + 99) / 100) : -Math.floor((99 - (year - 1)) / 100);
    default:
      return year > 0 ? Math.floor((year + 999) / 1000) : -Math.floor((999 - (year - 1)) / 1000);
  }
}

/**
 * extract(unit from timestamp[tz]) as numeric (asNumeric) or date_part() as
 * float8; null where PostgreSQL returns NULL (oscillating units of infinity).
 */
export function timestampPart(unitText: string, t: bigint, zone: Zone | null, asNumeric: boolean): Numeric | number | null {
  const typeName = zone === null ? 'timestamp without time zone' : 'timestamp with time zone';
  const unit = dtUnit(unitText, typeName);
  if ((unit === 'timezone' || unit === 'timezone_hour' || unit === 'timezone_minute') && zone === null) throw unsupportedUnit(unitText, typeName);
  if (!isFiniteTimestamp(t)) {
    if (!MONOTONIC.has(unit)) return null;
    const neg = t === DT_NOBEGIN;
    return asNumeric ? (neg ? Numeric.NegativeInfinity : Numeric.Infinity) : neg ? -Infinity : Infinity;
  }
  const offset = zone === null ? 0 : zoneOffsetAt(zone, t);
  const f = timestampToFields(t + BigInt(offset) * USECS_PER_SEC);
  const secMicros = BigInt(f.second) * USECS_PER_SEC + BigInt(f.micro);
  const int = (v: number): Numeric | number => (asNumeric ? Numeric.fromInt(v) : v);
  switch (unit) {
    case 'microseconds':
      return asNumeric ? scaled(secMicros, 0) : Number(secMicros);
    case 'milliseconds':
      return asNumeric ? scaled(secMicros, 3) : f.second * 1000 + f.micro / 1000;
    case 'second':
      return asNumeric ? scaled(secMicros, 6) : f.second + f.micro / 1e6;
    case 'minute':
      return int(f.minute);
    case 'hour':
      return int(f.hour);
    case 'day':
      return int(f.day);
    case 'month':
      return int(f.month);
    case 'quarter':
      return int(Math.floor((f.month - 1) / 3) + 1);
    case 'week':
      return int(date2isoweek(f.year, f.month, f.day));
    case 'year':
    case 'decade':
    case 'century':
    case 'millennium':
      return int(yearPart(unit, f.year));
    case 'isoyear': {
      const y = date2isoyear(f.year, f.month, f.day);
      return int(y <= 0 ? y - 1 : y);
    }
    case 'dow':
      return int(j2day(date2j(f.year, f.month, f.day)));
    case 'isodow': {
      const d = j2day(date2j(f.year, f.month, f.day));
      return int(d === 0 ? 7 : d);
    }
    case 'doy':
      return int(date2j(f.year, f.month, f.day) - date2j(f.year, 1, 1) + 1);
    case 'julian': {
      const j = date2j(f.year, f.month, f.day);
      const dayMicros = BigInt(((f.hour * 60 + f.minute) * 60 + f.second) * 1e6 + f.micro);
      if (!asNumeric) return j + Number(dayMicros) / 86400e6;
      return addNumeric(Numeric.fromInt(j), divToScale(scaled(dayMicros, 0), scaled(USECS_PER_DAY, 0), 20));
    }
    case 'epoch': {
      const us = t - UNIX_EPOCH_TIMESTAMP;
      return asNumeric ? scaled(us, 6) : Number(us) / 1e6;
    }
    case 'timezone':
      return int(offset);
    case 'timezone_hour':
      return int(Math.trunc(offset / 3600));
    case 'timezone_minute':
      return int(Math.trunc((offset % 3600) / 60));
  }
}

/** extract(unit from date): numeric, date-valued units only. */
export function datePart(unitText: string, d: number): Numeric | null {
  const unit = dtUnit(unitText, 'date');
  const allowed: readonly DtUnit[] = ['day', 'month', 'quarter', 'week', 'dow', 'isodow', 'doy', 'year', 'isoyear', 'decade', 'century', 'millennium', 'julian', 'epoch'];
  if (!allowed.includes(unit)) throw unsupportedUnit(unitText, 'date');
  if (!Number.isFinite(d)) {
    if (!MONOTONIC.has(unit)) return null;
    return d < 0 ? Numeric.NegativeInfinity : Numeric.Infinity;
  }
  if (unit === 'epoch') return Numeric.fromInt(BigInt(d + POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * 86400n);
  if (unit === 'julian') return Numeric.fromInt(d + POSTGRES_EPOCH_JDATE);
  const r = timestampPart(unitText, BigInt(d) * USECS_PER_DAY, null, true);
  return r instanceof Numeric ? r : null;
}

/** extract(unit from interval) as numeric or float8. */
export function intervalPart(unitText: string, i: Interval, asNumeric: boolean): Numeric | number {
  const unit = dtUnit(unitText, 'interval');
  const year = Math.trunc(i.months / 12);
  const mon = i.months % 12;
  const hour = i.micros / USECS_PER_HOUR;
  const min = (i.micros % USECS_PER_HOUR) / USECS_PER_MINUTE;
  const secMicros = i.micros % USECS_PER_MINUTE;
  const int = (v: number | bigint): Numeric | number => (asNumeric ? Numeric.fromInt(v) : Number(v));
  switch (unit) {
    case 'microseconds':
      return int(secMicros);
    case 'milliseconds':
      return asNumeric ? scaled(secMicros, 3) : Number(secMicros) / 1000;
    case 'second':
      return asNumeric ? scaled(secMicros, 6) : Number(secMicros) / 1e6;
    case 'minute':
      return int(min);
    case 'hour':
      return int(hour);
    case 'day':
      return int(i.days);
    case 'month':
      return int(mon);
    case 'quarter':
      return int(Math.trunc(mon / 3) + 1);
    case 'year':
      return int(year);
    case 'decade':
      return int(Math.trunc(year / 10));
    case 'century':
      return int(Math.trunc(year / 100));
    case 'millennium':
      return int(Math.trunc(year / 1000));
    case 'epoch': {
      const secs = 31557600n * BigInt(Math.trunc(i.months / 12)) + 2592000n * BigInt(i.months % 12) + 86400n * BigInt(i.days);
      const us = secs * USECS_PER_SEC + i.micros;
      return asNumeric ? scaled(us, 6) : Number(us) / 1e6;
    }
    default:
      throw unsupportedUnit(unitText, 'interval');
  }
}

/** to_timestamp(double precision): Unix seconds to timestamptz. */
export function toTimestampFromUnix(seconds: number): bigint {
  if (Number.isNaN(seconds)) throw sqlError(SQLSTATE.DATETIME_FIELD_OVERFLOW, 'timestamp cannot be NaN');
  if (seconds === Infinity) return DT_NOEND;
  if (seconds === -Infinity) return DT_NOBEGIN;
  const outOfRange = (): Error => sqlError(SQLSTATE.DATETIME_FIELD_OVERFLOW, `timestamp out of range: "${seconds}"`);
  if (seconds < 86400 * (0 - UNIX_EPOCH_JDATE) || seconds >= 86400 * (TIMESTAMP_END_JULIAN - UNIX_EPOCH_JDATE)) throw outOfRange();
  const us = Math.round((seconds - (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * 86400) * 1e6);
  const r = BigInt(us);
  if (!isValidTimestamp(r)) throw outOfRange();
  return r;
}

