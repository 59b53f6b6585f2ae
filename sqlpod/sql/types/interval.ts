// interval: months, days and microseconds kept apart, as PostgreSQL does,
// because a month and a day have no fixed length until applied to a date.
import { SQLSTATE } from '../errors.js';
import { IMASK, INTERVAL_FULL_PRECISION, INTERVAL_FULL_RANGE, intervalTypmodPrecision, intervalTypmodRange, sqlError } from './catalog.js';

export class Interval {
  constructor(
    readonly months: number,
    readonly days: number,
    readonly micros: bigint,
  ) {}
}

export const USECS_PER_SEC = 1_000_000n;
export const USECS_PER_MINUTE = 60_000_000n;
export const USECS_PER_HOUR = 3_600_000_000n;
export const USECS_PER_DAY = 86_400_000_000n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

export function intervalOutOfRange(): Error {
  return sqlError(SQLSTATE.DATETIME_FIELD_OVERFLOW, 'interval out of range');
}

/** Builds an interval, failing with "interval out of range" when a field overflows. */
export function makeInterval(months: number, days: number, micros: bigint): Interval {
  if (!Number.isInteger(months) || months < INT32_MIN || months > INT32_MAX) throw intervalOutOfRange();
  if (!Number.isInteger(days) || days < INT32_MIN || days > INT32_MAX) throw intervalOutOfRange();
  if (micros < INT64_MIN || micros > INT64_MAX) throw intervalOutOfRange();
  return new Interval(months, days, micros);
}

/** interval_cmp_value: months count as 30 days and days as 24 hours, so '1 mon' = '30 days'. */
export function intervalSpan(i: Interval): bigint {
  return (BigInt(i.months) * 30n + BigInt(i.days)) * USECS_PER_DAY + i.micros;
}

export function compareInterval(a: Interval, b: Interval): number {
  const x = intervalSpan(a);
  const y = intervalSpan(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function addInterval(a: Interval, b: Interval): Interval {
  return makeInterval(a.months + b.months, a.days + b.days, a.micros + b.micros);
}

export function subInterval(a: Interval, b: Interval): Interval {
  return makeInterval(a.months - b.months, a.days - b.days, a.micros - b.micros);
}

export function negInterval(a: Interval): Interval {
  return makeInterval(-a.months, -a.days, -a.micros);
}

// TSROUND: rounds to microsecond precision to undo float noise in the cascades below.
function tsround(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

function rint(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : r;
}

function checkInt32(x: number): number {
  if (Number.isNaN(x) || x < INT32_MIN || x > INT32_MAX) throw intervalOutOfRange();
  return Math.trunc(x);
}

/**
 * interval_mul / interval_div: whole months and days scale directly, their
 * fractions cascade down into days and time (30-day months, 24-hour days).
 */
function scaleInterval(span: Interval, monthF: number, dayF: number, timeF: number): Interval {
  const months = checkInt32(monthF);
  let days = checkInt32(dayF);
  const monthRemainderDays = tsround((monthF - months) * 30);
  let secRemainder = tsround((dayF - days + monthRemainderDays - Math.trunc(monthRemainderDays)) * 86400);
  if (Math.abs(secRemainder) >= 86400) {
    days = checkInt32(days + Math.trunc(secRemainder / 86400));
    secRemainder -= Math.trunc(secRemainder / 86400) * 86400;
  }
  days = checkInt32(days + Math.trunc(monthRemainderDays));
  const time = rint(timeF + secRemainder * 1e6);
  if (!Number.isFinite(time) || Math.abs(time) >= 9.223372036854776e18) throw intervalOutOfRange();
  return makeInterval(months, days, BigInt(time));
}

export function mulInterval(span: Interval, factor: number): Interval {
  return scaleInterval(span, span.months * factor, span.days * factor, Number(span.micros) * factor);
}

export function divInterval(span: Interval, factor: number): Interval {
  if (factor === 0) throw sqlError(SQLSTATE.DIVISION_BY_ZERO, 'division by zero');
  return scaleInterval(span, span.months / factor, span.days / factor, Number(span.micros) / factor);
}

/** justify_hours: whole 24-hour periods of the time part become days. */
export function justifyHours(i: Interval): Interval {
  let days = i.days + Number(i.micros / USECS_PER_DAY);
  let micros = i.micros % USECS_PER_DAY;
  if (days > 0 && micros < 0n) {
    micros += USECS_PER_DAY;
    days--;
  } else if (days < 0 && micros > 0n) {
    micros -= USECS_PER_DAY;
    days++;
  }
  return makeInterval(i.months, days, micros);
}

/** justify_days: whole 30-day periods become months. */
export function justifyDays(i: Interval): Interval {
  let months = i.months + Math.trunc(i.days / 30);
  let days = i.days % 30;
  if (months > 0 && days < 0) {
    days += 30;
    months--;
  } else if (months < 0 && days > 0) {
    days -= 30;
    months++;
  }
  return makeInterval(months, days, i.micros);
}

// --- text output (IntervalStyle = postgres) ---------------------------------------------

function appendSeconds(sec: bigint, fracMicros: bigint): string {
  let s = (sec < 0n ? -sec : sec).toString().padStart(2, '0');
  const f = fracMicros < 0n ? -fracMicros : fracMicros;
  if (f !== 0n) s += `.${f.toString().padStart(6, '0').replace(/0+$/, '')}`;
  return s;
}

export function formatInterval(i: Interval): string {
  const year = Math.trunc(i.months / 12);
  const mon = i.months % 12;
  const parts: string[] = [];
  let isBefore = false;
  const add = (v: number, unit: string): void => {
    if (v === 0) return;
    parts.push(`${isBefore && v > 0 ? '+' : ''}${v} ${unit}${v !== 1 ? 's' : ''}`);
    isBefore = v < 0;
  };
  add(year, 'year');
  add(mon, 'mon');
  add(i.days, 'day');
  const t = i.micros;
  const hour = t / USECS_PER_HOUR;
  const min = (t % USECS_PER_HOUR) / USECS_PER_MINUTE;
  const sec = (t % USECS_PER_MINUTE) / USECS_PER_SEC;
  const frac = t % USECS_PER_SEC;
  if (parts.length === 0 || t !== 0n) {
    const minus = t < 0n;
    const h = hour < 0n ? -hour : hour;
    const m = min < 0n ? -min : min;
    parts.push(
      `${minus ? '-' : isBefore ? '+' : ''}${h.toString().padStart(2, '0')}:${m.toString().padStart(2, '0')}:${appendSeconds(sec, frac)}`,
    );
  }
  return parts.join(' ');
}

// --- text input ----------------------------------------------------------------------------

type Unit = 'us' | 'ms' | 's' | 'min' | 'h' | 'd' | 'w' | 'mon' | 'y' | 'dec' | 'cent' | 'mil';
const UNITS: ReadonlyMap<string, Unit> = new Map<string, Unit>([
  ...['microsecond', 'microseconds', 'microsecon', 'us', 'usec', 'usecs', 'useconds'].map((w): [string, Unit] => [w, 'us']),
  ...['millisecond', 'milliseconds', 'millisecon', 'ms', 'msec', 'msecs', 'mseconds'].map((w): [string, Unit] => [w, 'ms']),
  ...['second', 'seconds', 's', 'sec', 'secs'].map((w): [string, Unit] => [w, 's']),
  ...['minute', 'minutes', 'm', 'min', 'mins'].map((w): [string, Unit] => [w, 'min']),
  ...['hour', 'hours', 'h', 'hr', 'hrs'].map((w): [string, Unit] => [w, 'h']),
  ...['day', 'days', 'd'].map((w): [string, Unit] => [w, 'd']),
  ...['week', 'weeks', 'w'].map((w): [string, Unit] => [w, 'w']),
  ...['month', 'months', 'mon', 'mons'].map((w): [string, Unit] => [w, 'mon']),
  ...['year', 'years', 'y', 'yr', 'yrs'].map((w): [string, Unit] => [w, 'y']),
  ...['decade', 'decades', 'dec', 'decs'].map((w): [string, Unit] => [w, 'dec']),
  ...['century', 'centuries', 'c', 'cent'].map((w): [string, Unit] => [w, 'cent']),
  ...['millennium', 'millennia', 'mil', 'mils'].map((w): [string, Unit] => [w, 'mil']),
]);

class Acc {
  months = 0;
  days = 0;
  micros = 0n;

  addMonths(v: number): void {
    const whole = Math.trunc(v);
    this.months += whole;
    this.addDays((v - whole) * 30);
  }

  addDays(v: number): void {
    const whole = Math.trunc(v);
    this.days += whole;
    this.addMicros((v - whole) * 86400e6);
  }

  addMicros(v: number): void {
    this.micros += BigInt(Math.round(v));
  }

  add(unit: Unit, value: string): void {
    const v = Number(value);
    const isInt = /^[+-]?\d+$/.test(value);
    const big = (scale: bigint): void => {
      if (isInt) this.micros += BigInt(value) * scale;
      else this.addMicros(v * Number(scale));
    };
    switch (unit) {
      case 'us':
        big(1n);
        break;
      case 'ms':
        big(1000n);
        break;
      case 's':
        big(USECS_PER_SEC);
        break;
      case 'min':
        big(USECS_PER_MINUTE);
        break;
      case 'h':
        big(USECS_PER_HOUR);
        break;
      case 'd':
        this.addDays(v);
        break;
      case 'w':
        this.addDays(v * 7);
        break;
      case 'mon':
        this.addMonths(v);
        break;
      case 'y':
      case 'dec':
      case 'cent':
      case 'mil': {
        const years = v * { y: 1, dec: 10, cent: 100, mil: 1000 }[unit];
        const whole = Math.trunc(years);
        this.months += whole * 12 + rint((years - whole) * 12);
        break;
      }
    }
  }
}

function parseTimeField(s: string, acc: Acc): boolean {
  const m = /^([+-])?(\d+):(\d+)(?::(\d+(?:\.\d*)?))?$/.exec(s);
  if (m === null) return false;
  const neg = m[1] === '-';
  const h = BigInt(m[2] ?? '0');
  const mi = BigInt(m[3] ?? '0');
  const secText = m[4] ?? '0';
  if (mi > 59n) throw fieldOverflow();
  const [whole = '0', frac = ''] = secText.split('.');
  const sec = BigInt(whole === '' ? '0' : whole);
  if (sec > 60n) throw fieldOverflow();
  const fracMicros = BigInt(Math.round(Number(`0.${frac || '0'}`) * 1e6));
  const total = h * USECS_PER_HOUR + mi * USECS_PER_MINUTE + sec * USECS_PER_SEC + fracMicros;
  acc.micros += neg ? -total : total;
  return true;
}

let currentInput = '';
function fieldOverflow(): Error {
  return sqlError(SQLSTATE.INTERVAL_FIELD_OVERFLOW, `interval field value out of range: "${currentInput}"`);
}

function invalidInterval(text: string): Error {
  return sqlError(SQLSTATE.INVALID_DATETIME_FORMAT, `invalid input syntax for type interval: "${text}"`);
}

function parseIso8601(s: string, acc: Acc): boolean {
  const m = /^p(?:([+-]?\d+(?:\.\d+)?)y)?(?:([+-]?\d+(?:\.\d+)?)m)?(?:([+-]?\d+(?:\.\d+)?)w)?(?:([+-]?\d+(?:\.\d+)?)d)?(?:t(?:([+-]?\d+(?:\.\d+)?)h)?(?:([+-]?\d+(?:\.\d+)?)m)?(?:([+-]?\d+(?:\.\d*)?)s)?)?$/.exec(s);
  if (m === null || s === 'p' || s.endsWith('t')) return false;
  const units: Unit[] = ['y', 'mon', 'w', 'd', 'h', 'min', 's'];
  units.forEach((u, i) => {
    const v = m[i + 1];
    if (v !== undefined) acc.add(u, v);
  });
  return true;
}

/** interval_in for IntervalStyle postgres: verbose units, 'ago', hh:mm:ss, SQL year-month, and ISO 8601 designators. */
export function parseInterval(text: string): Interval {
  currentInput = text;
  const s = text.trim().toLowerCase();
  const acc = new Acc();
  if (s.startsWith('p')) {
    if (!parseIso8601(s, acc)) throw invalidInterval(text);
    return finish(acc, text);
  }
  const tokens = s.replace(/^@\s*/, '').split(/[\s,]+/).filter((t) => t !== '');
  if (tokens.length === 0) throw invalidInterval(text);
  let ago = false;
  let sawField = false;
  for (let i = 0; i < tokens.length; i++) {
    let tok = tokens[i] ?? '';
    if (tok === 'ago') {
      if (i !== tokens.length - 1 || !sawField) throw invalidInterval(text);
      ago = true;
      continue;
    }
    if (tok.includes(':')) {
      if (!parseTimeField(tok, acc)) throw invalidInterval(text);
      sawField = true;
      continue;
    }
    const ym = /^([+-])?(\d+)-(\d+)$/.exec(tok);
    if (ym !== null) {
      const sign = ym[1] === '-' ? -1 : 1;
      const months = Number(ym[2]) * 12 + Number(ym[3]);
      if (Number(ym[3]) > 11) throw fieldOverflow();
      acc.months += sign * months;
      sawField = true;
      continue;
    }
    // A number glued to its unit ('10min', '1d').
    const glued = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))([a-z]+)$/.exec(tok);
    let unitWord: string | undefined;
    if (glued !== null) {
      tok = glued[1] ?? '';
      unitWord = glued[2];
    } else if (!/^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/.test(tok)) {
      throw invalidInterval(text);
    } else {
      const next = tokens[i + 1];
      if (next !== undefined && UNITS.has(next)) {
        unitWord = next;
        i++;
      }
    }
    if (unitWord === undefined) {
      // A bare number before a time field is days ('1 02:00:00'); otherwise seconds.
      const next = tokens[i + 1];
      acc.add(next !== undefined && next.includes(':') ? 'd' : 's', tok);
    } else {
      const unit = UNITS.get(unitWord);
      if (unit === undefined) throw invalidInterval(text);
      acc.add(unit, tok);
    }
    sawField = true;
  }
  if (!sawField) throw invalidInterval(text);
  if (ago) {
    acc.months = -acc.months;
    acc.days = -acc.days;
    acc.micros = -acc.micros;
  }
  return finish(acc, text);
}

function finish(acc: Acc, _text: string): Interval {
  if (!Number.isSafeInteger(acc.months) || !Number.isSafeInteger(acc.days)) throw fieldOverflow();
  try {
    return makeInterval(acc.months, acc.days, acc.micros);
  } catch {
    throw fieldOverflow();
  }
}

const SCALES = [1000000n, 100000n, 10000n, 1000n, 100n, 10n, 1n];

/** AdjustIntervalForTypmod: drops fields below the declared range and rounds seconds to the precision. */
export function applyIntervalTypmod(i: Interval, typmod: number): Interval {
  if (typmod < 0) return i;
  const range = intervalTypmodRange(typmod);
  const precision = intervalTypmodPrecision(typmod);
  let { months, days, micros } = i;
  const truncTo = (unit: bigint): bigint => (micros / unit) * unit;
  switch (range) {
    case INTERVAL_FULL_RANGE:
      break;
    case IMASK.YEAR:
      months = Math.trunc(months / 12) * 12;
      days = 0;
      micros = 0n;
      break;
    case IMASK.MONTH:
    case IMASK.YEAR | IMASK.MONTH:
      days = 0;
      micros = 0n;
      break;
    case IMASK.DAY:
      micros = 0n;
      break;
    case IMASK.HOUR:
    case IMASK.DAY | IMASK.HOUR:
      micros = truncTo(USECS_PER_HOUR);
      break;
    case IMASK.MINUTE:
    case IMASK.DAY | IMASK.HOUR | IMASK.MINUTE:
    case IMASK.HOUR | IMASK.MINUTE:
      micros = truncTo(USECS_PER_MINUTE);
      break;
    default:
      break;
  }
  if (precision !== INTERVAL_FULL_PRECISION) {
    const scale = SCALES[precision] ?? 1n;
    const offset = scale / 2n;
    micros = micros >= 0n ? ((micros + offset) / scale) * scale : -(((-micros + offset) / scale) * scale);
  }
  return makeInterval(months, days, micros);
}
