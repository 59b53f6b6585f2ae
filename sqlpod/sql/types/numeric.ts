// Arbitrary-precision decimal arithmetic with PostgreSQL's numeric semantics:
// a bigint unscaled value with a display scale (dscale), plus NaN and
// ±Infinity (PostgreSQL 14+). Result scales follow numeric.c so that results
// print exactly as PostgreSQL prints them.
import { SQLSTATE } from '../errors.js';
import { sqlError, XSTATE } from './catalog.js';

export type NumericKind = 'finite' | 'nan' | 'inf' | '-inf';

const POW10: bigint[] = [1n];
export function pow10(n: number): bigint {
  if (n < 0) throw new RangeError('negative power of ten');
  for (let i = POW10.length; i <= n && i < 4096; i++) POW10.push((POW10[i - 1] ?? 1n) * 10n);
  return POW10[n] ?? 10n ** BigInt(n);
}

const MIN_SIG_DIGITS = 16;
const MAX_DISPLAY_SCALE = 1000;
const MAX_RESULT_SCALE = 2000;
const DSCALE_MAX = 0x3fff;
const WEIGHT_MAX_DIGITS = 131072;

export class Numeric {
  static readonly NaN = new Numeric('nan', 0n, 0);
  static readonly Infinity = new Numeric('inf', 0n, 0);
  static readonly NegativeInfinity = new Numeric('-inf', 0n, 0);
  static readonly ZERO = new Numeric('finite', 0n, 0);
  static readonly ONE = new Numeric('finite', 1n, 0);

  private constructor(
    readonly kind: NumericKind,
    /** The value times 10^scale (0 for the special values). */
    readonly unscaled: bigint,
    /** Display scale: digits after the decimal point, never negative. */
    readonly scale: number,
  ) {}

  static of(unscaled: bigint, scale: number): Numeric {
    if (!Number.isInteger(scale) || scale < 0) throw new RangeError(`invalid numeric scale ${scale}`);
    return new Numeric('finite', unscaled, scale);
  }

  static fromInt(v: number | bigint): Numeric {
    return new Numeric('finite', BigInt(v), 0);
  }

  /** numeric_in: PostgreSQL 16's accepted spellings (underscores, 0x/0o/0b integers, NaN, Infinity). */
  static parse(text: string): Numeric {
    const n = parseNumericOrNull(text);
    if (n === null) throw sqlError(SQLSTATE.INVALID_TEXT_REPRESENTATION, `invalid input syntax for type numeric: "${text}"`);
    return n;
  }

  isFinite(): boolean {
    return this.kind === 'finite';
  }

  isNaN(): boolean {
    return this.kind === 'nan';
  }

  /** -1, 0 or 1; NaN counts as 0 for callers that test it first. */
  sign(): number {
    if (this.kind === 'inf') return 1;
    if (this.kind === '-inf') return -1;
    return this.unscaled > 0n ? 1 : this.unscaled < 0n ? -1 : 0;
  }

  toString(): string {
    switch (this.kind) {
      case 'nan':
        return 'NaN';
      case 'inf':
        return 'Infinity';
      case '-inf':
        return '-Infinity';
      default: {
        const neg = this.unscaled < 0n;
        let digits = (neg ? -this.unscaled : this.unscaled).toString();
        if (this.scale > 0) {
          digits = digits.padStart(this.scale + 1, '0');
          digits = `${digits.slice(0, digits.length - this.scale)}.${digits.slice(digits.length - this.scale)}`;
        }
        return neg ? `-${digits}` : digits;
      }
    }
  }

  /** The same value with trailing fractional zeros removed (1.500 → 1.5). */
  normalized(): Numeric {
    if (this.kind !== 'finite' || this.scale === 0) return this;
    let u = this.unscaled;
    let s = this.scale;
    while (s > 0 && u % 10n === 0n) {
      u /= 10n;
      s--;
    }
    return new Numeric('finite', u, s);
  }
}

const SPECIAL: ReadonlyMap<string, Numeric> = new Map([
  ['nan', Numeric.NaN],
  ['infinity', Numeric.Infinity],
  ['+infinity', Numeric.Infinity],
  ['-infinity', Numeric.NegativeInfinity],
  ['inf', Numeric.Infinity],
  ['+inf', Numeric.Infinity],
  ['-inf', Numeric.NegativeInfinity],
]);

const DECIMAL = /^([+-]?)(\d(?:_?\d)*)?(?:\.(\d(?:_?\d)*)?)?(?:[eE]([+-]?\d+))?$/;
const NON_DECIMAL = /^([+-]?)0(?:([xX])([0-9a-fA-F](?:_?[0-9a-fA-F])*)|([oO])([0-7](?:_?[0-7])*)|([bB])([01](?:_?[01])*))$/;

/** PostgreSQL's isspace() set, which its input functions skip around values. */
export function trimPgSpace(s: string): string {
  return s.replace(/^[ \t\n\r\v\f]+|[ \t\n\r\v\f]+$/g, '');
}

function parseNumericOrNull(text: string): Numeric | null {
  const s = trimPgSpace(text);
  const special = SPECIAL.get(s.toLowerCase());
  if (special !== undefined) return special;
  const nd = NON_DECIMAL.exec(s);
  if (nd !== null) {
    const digits = (nd[3] ?? nd[5] ?? nd[7] ?? '').replace(/_/g, '');
    const prefix = nd[3] !== undefined ? '0x' : nd[5] !== undefined ? '0o' : '0b';
    const v = BigInt(prefix + digits);
    return Numeric.of(nd[1] === '-' ? -v : v, 0);
  }
  const m = DECIMAL.exec(s);
  if (m === null || (m[2] === undefined && m[3] === undefined)) return null;
  if (s.includes('.') && m[2] === undefined && m[3] === undefined) return null;
  const intPart = (m[2] ?? '').replace(/_/g, '');
  const fracPart = (m[3] ?? '').replace(/_/g, '');
  const exp = m[4] === undefined ? 0 : Number(m[4]);
  if (!Number.isSafeInteger(exp) || Math.abs(exp) > 1_000_000_000) throw overflowsFormat();
  let unscaled = BigInt((intPart + fracPart) || '0');
  if (m[1] === '-') unscaled = -unscaled;
  let scale = fracPart.length - exp;
  if (scale < 0) {
    if (unscaled !== 0n && intPart.replace(/^0+/, '').length - scale > WEIGHT_MAX_DIGITS + fracPart.length) throw overflowsFormat();
    unscaled *= pow10(-scale);
    scale = 0;
  }
  return checked(Numeric.of(unscaled, scale));
}

function overflowsFormat(): Error {
  return sqlError(SQLSTATE.NUMERIC_VALUE_OUT_OF_RANGE, 'value overflows numeric format');
}

function checked(n: Numeric): Numeric {
  if (n.scale > DSCALE_MAX) throw overflowsFormat();
  if (n.kind === 'finite' && intDigits(n) > WEIGHT_MAX_DIGITS) throw overflowsFormat();
  return n;
}

function abs(b: bigint): bigint {
  return b < 0n ? -b : b;
}

function digitCount(b: bigint): number {
  return b === 0n ? 0 : abs(b).toString().length;
}

/** Position of the most significant digit: digits before the point (negative when it is after). 0 for zero. */
function intDigits(n: Numeric): number {
  return n.unscaled === 0n ? 0 : digitCount(n.unscaled) - n.scale;
}

/** Integer division rounding half away from zero. */
export function divRound(a: bigint, b: bigint): bigint {
  const q = a / b;
  const r = a % b;
  if (r === 0n) return q;
  if (2n * abs(r) >= abs(b)) return (a < 0n) === (b < 0n) ? q + 1n : q - 1n;
  return q;
}

function rescaled(n: Numeric, scale: number): bigint {
  return scale >= n.scale ? n.unscaled * pow10(scale - n.scale) : divRound(n.unscaled, pow10(n.scale - scale));
}

/** round_var: to `scale` fractional digits (negative: tens, hundreds...), half away from zero. */
export function roundNumeric(n: Numeric, scale: number): Numeric {
  if (n.kind !== 'finite') return n;
  const s = Math.max(-MAX_RESULT_SCALE, Math.min(MAX_RESULT_SCALE, scale));
  if (s >= 0) return Numeric.of(rescaled(n, s), s);
  const unit = pow10(n.scale - s);
  return Numeric.of(divRound(n.unscaled, unit) * pow10(-s), 0);
}

/** trunc_var: toward zero. */
export function truncNumeric(n: Numeric, scale: number): Numeric {
  if (n.kind !== 'finite') return n;
  const s = Math.max(-MAX_RESULT_SCALE, Math.min(MAX_RESULT_SCALE, scale));
  if (s >= n.scale) return Numeric.of(n.unscaled * pow10(s - n.scale), s);
  const q = n.unscaled / pow10(n.scale - s);
  return s >= 0 ? Numeric.of(q, s) : Numeric.of(q * pow10(-s), 0);
}

export function ceilNumeric(n: Numeric): Numeric {
  if (n.kind !== 'finite') return n;
  const unit = pow10(n.scale);
  let q = n.unscaled / unit;
  if (n.unscaled > 0n && n.unscaled % unit !== 0n) q += 1n;
  return Numeric.of(q, 0);
}

export function floorNumeric(n: Numeric): Numeric {
  if (n.kind !== 'finite') return n;
  const unit = pow10(n.scale);
  let q = n.unscaled / unit;
  if (n.unscaled < 0n && n.unscaled % unit !== 0n) q -= 1n;
  return Numeric.of(q, 0);
}

/** Total order: -Infinity < finite < Infinity < NaN, NaN equal to itself. */
export function compareNumeric(a: Numeric, b: Numeric): number {
  const rank = (n: Numeric): number => (n.kind === '-inf' ? 0 : n.kind === 'finite' ? 1 : n.kind === 'inf' ? 2 : 3);
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb || ra !== 1) return ra - rb;
  const s = Math.max(a.scale, b.scale);
  const x = a.unscaled * pow10(s - a.scale);
  const y = b.unscaled * pow10(s - b.scale);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function negNumeric(a: Numeric): Numeric {
  if (a.kind === 'inf') return Numeric.NegativeInfinity;
  if (a.kind === '-inf') return Numeric.Infinity;
  if (a.kind === 'nan') return a;
  return Numeric.of(-a.unscaled, a.scale);
}

export function absNumeric(a: Numeric): Numeric {
  return a.sign() < 0 ? negNumeric(a) : a;
}

export function addNumeric(a: Numeric, b: Numeric): Numeric {
  if (a.kind !== 'finite' || b.kind !== 'finite') {
    if (a.kind === 'nan' || b.kind === 'nan') return Numeric.NaN;
    if (a.kind === 'finite') return b;
    if (b.kind === 'finite') return a;
    return a.kind === b.kind ? a : Numeric.NaN;
  }
  const s = Math.max(a.scale, b.scale);
  return checked(Numeric.of(rescaled(a, s) + rescaled(b, s), s));
}

export function subNumeric(a: Numeric, b: Numeric): Numeric {
  return addNumeric(a, negNumeric(b));
}

export function mulNumeric(a: Numeric, b: Numeric): Numeric {
  if (a.kind !== 'finite' || b.kind !== 'finite') {
    if (a.kind === 'nan' || b.kind === 'nan') return Numeric.NaN;
    const sign = a.sign() * b.sign();
    return sign === 0 ? Numeric.NaN : sign > 0 ? Numeric.Infinity : Numeric.NegativeInfinity;
  }
  let r = Numeric.of(a.unscaled * b.unscaled, a.scale + b.scale);
  if (r.scale > DSCALE_MAX) r = roundNumeric(r, DSCALE_MAX);
  return checked(r);
}

function divisionByZero(): Error {
  return sqlError(SQLSTATE.DIVISION_BY_ZERO, 'division by zero');
}

/** A finite value in PostgreSQL's base-10000 form (digits without leading/trailing zero groups). */
export interface NumericVar {
  readonly digits: readonly number[];
  readonly weight: number;
  readonly negative: boolean;
  readonly dscale: number;
}

export function toVar(n: Numeric): NumericVar {
  const neg = n.unscaled < 0n;
  const pad = (4 - (n.scale % 4)) % 4;
  let u = abs(n.unscaled) * pow10(pad);
  const fracGroups = (n.scale + pad) / 4;
  const groups: number[] = [];
  while (u > 0n) {
    groups.unshift(Number(u % 10000n));
    u /= 10000n;
  }
  if (groups.length === 0) return { digits: [], weight: 0, negative: false, dscale: n.scale };
  const weight = groups.length - 1 - fracGroups;
  while (groups.length > 0 && groups[groups.length - 1] === 0) groups.pop();
  return { digits: groups, weight, negative: neg, dscale: n.scale };
}

/** Rebuilds a value from base-10000 digits; digits beyond dscale are truncated, as numeric_recv does. */
export function fromVar(v: NumericVar): Numeric {
  let big = 0n;
  for (const d of v.digits) big = big * 10000n + BigInt(d);
  const e = 4 * (v.weight - v.digits.length + 1);
  const shift = e + v.dscale;
  const unscaled = shift >= 0 ? big * pow10(shift) : big / pow10(-shift);
  return Numeric.of(v.negative ? -unscaled : unscaled, v.dscale);
}

function firstDigitAndWeight(n: Numeric): { first: number; weight: number } {
  const v = toVar(n);
  return { first: v.digits[0] ?? 0, weight: v.digits.length === 0 ? 0 : v.weight };
}

function clampScale(s: number): number {
  return Math.max(0, Math.min(MAX_DISPLAY_SCALE, s));
}

/** select_div_scale: at least 16 significant digits, and no less than either input's scale. */
function divScale(a: Numeric, b: Numeric): number {
  const x = firstDigitAndWeight(a);
  const y = firstDigitAndWeight(b);
  let qweight = x.weight - y.weight;
  if (x.first <= y.first) qweight--;
  return clampScale(Math.max(MIN_SIG_DIGITS - qweight * 4, a.scale, b.scale));
}

/** a / b rounded half away from zero to `scale` digits. */
export function divToScale(a: Numeric, b: Numeric, scale: number): Numeric {
  if (b.unscaled === 0n) throw divisionByZero();
  // a/b * 10^scale = (ua * 10^(sb+scale)) / (ub * 10^sa)
  let num = a.unscaled;
  let den = b.unscaled;
  const k = b.scale + scale - a.scale;
  if (k >= 0) num *= pow10(k);
  else den *= pow10(-k);
  return checked(Numeric.of(divRound(num, den), scale));
}

export function divNumeric(a: Numeric, b: Numeric): Numeric {
  if (a.kind !== 'finite' || b.kind !== 'finite') {
    if (a.kind === 'nan' || b.kind === 'nan') return Numeric.NaN;
    if (a.kind !== 'finite') {
      if (b.kind !== 'finite') return Numeric.NaN;
      const s = b.sign();
      if (s === 0) throw divisionByZero();
      return s * a.sign() > 0 ? Numeric.Infinity : Numeric.NegativeInfinity;
    }
    return Numeric.ZERO;
  }
  if (b.unscaled === 0n) throw divisionByZero();
  return divToScale(a, b, divScale(a, b));
}

/** div(): truncated integer quotient. */
export function divTruncNumeric(a: Numeric, b: Numeric): Numeric {
  if (a.kind !== 'finite' || b.kind !== 'finite') return truncNumeric(divNumeric(a, b), 0);
  if (b.unscaled === 0n) throw divisionByZero();
  const s = Math.max(a.scale, b.scale);
  return Numeric.of(rescaled(a, s) / rescaled(b, s), 0);
}

export function modNumeric(a: Numeric, b: Numeric): Numeric {
  if (a.kind !== 'finite' || b.kind !== 'finite') {
    if (a.kind === 'nan' || b.kind === 'nan') return Numeric.NaN;
    if (a.kind !== 'finite') {
      if (b.sign() === 0) throw divisionByZero();
      return Numeric.NaN;
    }
    return a;
  }
  if (b.unscaled === 0n) throw divisionByZero();
  const s = Math.max(a.scale, b.scale);
  return Numeric.of(rescaled(a, s) % rescaled(b, s), s);
}

function isIntegral(n: Numeric): boolean {
  return n.kind === 'finite' && n.unscaled % pow10(n.scale) === 0n;
}

function complexResult(): Error {
  return sqlError(XSTATE.INVALID_ARGUMENT_FOR_POWER, 'a negative number raised to a non-integer power yields a complex result');
}

// --- transcendental functions, computed in fixed point with guard digits -----------------

function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  // Newton's method from a power of two above the root decreases monotonically to floor(sqrt(n)).
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

export function sqrtNumeric(n: Numeric): Numeric {
  if (n.kind === 'nan' || n.kind === 'inf') return n;
  if (n.sign() < 0) throw sqlError(XSTATE.INVALID_ARGUMENT_FOR_POWER, 'cannot take square root of a negative number');
  const v = toVar(n);
  const sweight = Math.trunc(((v.digits.length === 0 ? 0 : v.weight) + 1) * 4 / 2) - 1;
  const rscale = clampScale(Math.max(MIN_SIG_DIGITS - sweight, n.scale));
  // floor(sqrt(x) * 10^(rscale+1)), then round on the extra digit.
  const target = rscale + 1;
  const radicand = rescaledFloor(n, 2 * target);
  const root = isqrt(radicand);
  return Numeric.of(divRound(root, 10n), rscale);
}

function rescaledFloor(n: Numeric, scale: number): bigint {
  return scale >= n.scale ? n.unscaled * pow10(scale - n.scale) : n.unscaled / pow10(n.scale - scale);
}

/** ln(m) for 1 <= m < 10 given at scale w; result at scale w (a few ulps of error). */
function lnSmallFixed(m: bigint, w: number): bigint {
  const one = pow10(w);
  let v = m;
  let k = 0;
  const hi = (one * 11n) / 10n;
  const lo = (one * 9n) / 10n;
  while (v > hi || v < lo) {
    v = isqrt(v * one);
    k++;
  }
  const z = ((v - one) * one) / (v + one);
  const z2 = (z * z) / one;
  let term = z;
  let sum = 0n;
  for (let i = 1n; term !== 0n; i += 2n) {
    sum += term / i;
    term = (term * z2) / one;
  }
  return (2n * sum) << BigInt(k);
}

/** ln(x) for x > 0 at scale s (value times 10^s), correct to within a unit of the last place before rounding. */
function lnFixed(x: Numeric, s: number): bigint {
  const e = intDigits(x) - 1;
  const guard = 12 + String(Math.abs(e)).length;
  const w = s + guard;
  // m = x / 10^e at scale w
  const shift = w - e;
  const m = shift >= x.scale ? x.unscaled * pow10(shift - x.scale) : x.unscaled / pow10(x.scale - shift);
  let r = lnSmallFixed(m, w);
  if (e !== 0) r += BigInt(e) * lnSmallFixed(10n * pow10(w), w);
  return divRound(r, pow10(guard));
}

/** exp(x) rounded to scale rscale. */
function expToScale(x: Numeric, rscale: number): Numeric {
  const xf = toFloat(x);
  if (Math.abs(xf) >= MAX_RESULT_SCALE * 3) {
    if (xf > 0) throw overflowsFormat();
    return Numeric.of(0n, rscale);
  }
  const q = Math.floor(xf / Math.LN10);
  const w = Math.max(rscale + q, 0) + 16;
  const ln10 = lnSmallFixed(10n * pow10(w + 6), w + 6) / pow10(6);
  const r = rescaled(x, w) - BigInt(q) * ln10;
  const one = pow10(w);
  const k = 12;
  const rr = r / BigInt(1 << k);
  let sum = one;
  let term = one;
  for (let i = 1n; term !== 0n; i++) {
    term = (term * rr) / one / i;
    sum += term;
  }
  for (let i = 0; i < k; i++) sum = (sum * sum) / one;
  // value = sum / 10^w * 10^q; at scale rscale: sum * 10^(q + rscale - w)
  const shift = q + rscale - w;
  const unscaled = shift >= 0 ? sum * pow10(shift) : divRound(sum, pow10(-shift));
  return checked(Numeric.of(unscaled, rscale));
}

export function toFloat(n: Numeric): number {
  if (n.kind === 'nan') return NaN;
  if (n.kind === 'inf') return Infinity;
  if (n.kind === '-inf') return -Infinity;
  return Number(n.toString());
}

export function expNumeric(x: Numeric): Numeric {
  if (x.kind === 'nan' || x.kind === 'inf') return x;
  if (x.kind === '-inf') return Numeric.ZERO;
  let val = toFloat(x) * 0.434294481903252;
  val = Math.max(-MAX_RESULT_SCALE, Math.min(MAX_RESULT_SCALE, val));
  const rscale = clampScale(Math.max(MIN_SIG_DIGITS - Math.trunc(val), x.scale));
  return expToScale(x, rscale);
}

/** estimate_ln_dweight: decimal weight of ln(x), as numeric.c estimates it. */
function estimateLnDweight(x: Numeric): number {
  if (x.sign() <= 0) return 0;
  const cmp09 = compareNumeric(x, Numeric.of(9n, 1));
  const cmp11 = compareNumeric(x, Numeric.of(11n, 1));
  if (cmp09 >= 0 && cmp11 <= 0) {
    const d = subNumeric(x, Numeric.ONE);
    if (d.unscaled === 0n) return 0;
    const v = toVar(d);
    return v.weight * 4 + Math.trunc(Math.log10(v.digits[0] ?? 1));
  }
  const v = toVar(x);
  let digits = v.digits[0] ?? 0;
  let dweight = v.weight * 4;
  if (v.digits.length > 1) {
    digits = digits * 10000 + (v.digits[1] ?? 0);
    dweight -= 4;
  }
  const ln = Math.log(digits) + dweight * 2.302585092994046;
  return Math.trunc(Math.log10(Math.abs(ln)));
}

function checkLnArg(x: Numeric): void {
  const s = x.sign();
  if (x.kind === 'finite' && s === 0) throw sqlError(XSTATE.INVALID_ARGUMENT_FOR_LOG, 'cannot take logarithm of zero');
  if (s < 0) throw sqlError(XSTATE.INVALID_ARGUMENT_FOR_LOG, 'cannot take logarithm of a negative number');
}

function lnToScale(x: Numeric, rscale: number): Numeric {
  return Numeric.of(lnFixed(x, rscale), rscale);
}

export function lnNumeric(x: Numeric): Numeric {
  if (x.kind === 'nan') return x;
  checkLnArg(x);
  if (x.kind === 'inf') return x;
  const rscale = clampScale(Math.max(MIN_SIG_DIGITS - estimateLnDweight(x), x.scale));
  return lnToScale(x, rscale);
}

/** log(base, x). */
export function logNumeric(base: Numeric, x: Numeric): Numeric {
  if (base.kind === 'nan' || x.kind === 'nan') return Numeric.NaN;
  checkLnArg(base);
  checkLnArg(x);
  if (base.kind === 'inf' || x.kind === 'inf') {
    if (base.kind === 'inf' && x.kind === 'inf') return Numeric.NaN;
    return x.kind === 'inf' ? Numeric.Infinity : Numeric.ZERO;
  }
  const rdw = estimateLnDweight(x) - estimateLnDweight(base);
  const rscale = clampScale(Math.max(MIN_SIG_DIGITS - rdw, base.scale, x.scale));
  const w = rscale + 20 + Math.max(0, estimateLnDweight(base));
  const lb = lnFixed(base, w);
  if (lb === 0n) throw divisionByZero();
  return Numeric.of(divRound(lnFixed(x, w) * pow10(rscale), lb), rscale);
}

function powerSpecial(a: Numeric, b: Numeric): Numeric {
  if (a.kind === 'nan') return b.kind === 'finite' && b.unscaled === 0n ? Numeric.ONE : Numeric.NaN;
  if (b.kind === 'nan') return a.kind === 'finite' && compareNumeric(a, Numeric.ONE) === 0 ? Numeric.ONE : Numeric.NaN;
  const s1 = a.sign();
  const s2 = b.sign();
  if (s1 === 0 && s2 < 0) throw sqlError(XSTATE.INVALID_ARGUMENT_FOR_POWER, 'zero raised to a negative power is undefined');
  if (s1 < 0 && b.kind === 'finite' && !isIntegral(b)) throw complexResult();
  if (a.kind === 'finite' && compareNumeric(a, Numeric.ONE) === 0) return Numeric.ONE;
  if (s2 === 0) return Numeric.ONE;
  if (s1 === 0 && s2 > 0) return Numeric.ZERO;
  if (b.kind !== 'finite') {
    let absGtOne = true;
    if (a.kind === 'finite') {
      if (compareNumeric(a, Numeric.fromInt(-1)) === 0) return Numeric.ONE;
      absGtOne = compareNumeric(absNumeric(a), Numeric.ONE) > 0;
    }
    return absGtOne === s2 > 0 ? Numeric.Infinity : Numeric.ZERO;
  }
  if (a.kind === 'inf') return s2 > 0 ? Numeric.Infinity : Numeric.ZERO;
  if (s2 < 0) return Numeric.ZERO;
  const odd = isIntegral(b) && (b.unscaled / pow10(b.scale)) % 2n !== 0n;
  return odd ? Numeric.NegativeInfinity : Numeric.Infinity;
}

function nbaseWeight(n: Numeric): number {
  return n.unscaled === 0n ? 0 : Math.floor((intDigits(n) - 1) / 4);
}

/** power_var_int, following numeric.c's choice of working scales so results match PostgreSQL's. */
function powerInt(base: Numeric, exp: number, expScale: number): Numeric {
  const v = toVar(base);
  let f = 0;
  if (v.digits.length > 0) {
    let fd = v.digits[0] ?? 0;
    let p = v.weight * 4;
    for (let i = 1; i < v.digits.length && i * 4 < 16; i++) {
      fd = fd * 10000 + (v.digits[i] ?? 0);
      p -= 4;
    }
    f = exp * (Math.log10(fd) + p);
  }
  if (f > (32767 + 1) * 4) throw overflowsFormat();
  if (f + 1 < -MAX_DISPLAY_SCALE) return Numeric.of(0n, MAX_DISPLAY_SCALE);
  const rscale = clampScale(Math.max(MIN_SIG_DIGITS - Math.trunc(f), base.scale, expScale));
  switch (exp) {
    case 0:
      return Numeric.of(pow10(rscale), rscale);
    case 1:
      return roundNumeric(base, rscale);
    case -1:
      return divToScale(Numeric.ONE, base, rscale);
    case 2:
      return roundNumeric(mulNumeric(base, base), rscale);
  }
  if (base.unscaled === 0n) {
    if (exp < 0) throw divisionByZero();
    return Numeric.of(0n, rscale);
  }
  const sigDigits = 1 + rscale + Math.trunc(f) + Math.trunc(Math.log(Math.abs(exp))) + 8;
  const neg = exp < 0;
  let mask = Math.abs(exp);
  let prod = base;
  let result = mask & 1 ? base : Numeric.ONE;
  while ((mask = Math.floor(mask / 2)) > 0) {
    let ls = Math.max(0, Math.min(sigDigits - 2 * nbaseWeight(prod) * 4, 2 * prod.scale));
    prod = roundNumeric(Numeric.of(prod.unscaled * prod.unscaled, prod.scale * 2), ls);
    if (mask & 1) {
      ls = Math.max(0, Math.min(sigDigits - (nbaseWeight(prod) + nbaseWeight(result)) * 4, prod.scale + result.scale));
      result = roundNumeric(Numeric.of(prod.unscaled * result.unscaled, prod.scale + result.scale), ls);
    }
    if (nbaseWeight(prod) > 32767 || nbaseWeight(result) > 32767) {
      if (!neg) throw overflowsFormat();
      return Numeric.of(0n, rscale);
    }
  }
  return neg ? divToScale(Numeric.ONE, result, rscale) : roundNumeric(result, rscale);
}

export function powerNumeric(a: Numeric, b: Numeric): Numeric {
  if (a.kind !== 'finite' || b.kind !== 'finite') return powerSpecial(a, b);
  const s1 = a.sign();
  const s2 = b.sign();
  if (s1 === 0 && s2 < 0) throw sqlError(XSTATE.INVALID_ARGUMENT_FOR_POWER, 'zero raised to a negative power is undefined');
  if (s1 < 0 && !isIntegral(b)) throw complexResult();
  if (isIntegral(b)) {
    const e = b.unscaled / pow10(b.scale);
    if (e >= -2147483648n && e <= 2147483647n) return powerInt(a, Number(e), b.scale);
  }
  if (s1 === 0) return Numeric.of(0n, MIN_SIG_DIGITS);
  const negResult = s1 < 0 && (b.unscaled / pow10(b.scale)) % 2n !== 0n;
  const absBase = absNumeric(a);
  const lnDweight = estimateLnDweight(absBase);
  let localScale = Math.max(8 - lnDweight, 0);
  let lnNum = roundNumeric(mulNumeric(lnToScale(absBase, localScale), b), localScale);
  let val = toFloat(lnNum);
  if (Math.abs(val) > MAX_RESULT_SCALE * 3.01) {
    if (val > 0) throw overflowsFormat();
    return Numeric.of(0n, MAX_DISPLAY_SCALE);
  }
  val *= 0.434294481903252;
  const rscale = clampScale(Math.max(MIN_SIG_DIGITS - Math.trunc(val), a.scale, b.scale));
  const sig = Math.max(rscale + Math.trunc(val), 0);
  localScale = Math.max(sig - lnDweight + 8, 0);
  lnNum = roundNumeric(mulNumeric(lnToScale(absBase, localScale + 4), b), localScale);
  const r = expToScale(lnNum, rscale);
  return negResult ? negNumeric(r) : r;
}

// --- conversions ---------------------------------------------------------------------

/** Rounds half away from zero to an integer and checks the range. */
export function numericToInteger(n: Numeric, min: bigint, max: bigint, typeName: 'smallint' | 'integer' | 'bigint'): bigint {
  if (n.kind === 'nan') throw sqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `cannot convert NaN to ${typeName}`);
  if (n.kind !== 'finite') throw sqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `cannot convert infinity to ${typeName}`);
  const v = divRound(n.unscaled, pow10(n.scale));
  if (v < min || v > max) throw sqlError(SQLSTATE.NUMERIC_VALUE_OUT_OF_RANGE, `${typeName} out of range`);
  return v;
}

/** float8_numeric / float4_numeric: the value printed with DBL_DIG (15) or FLT_DIG (6) significant digits. */
export function numericFromFloat(f: number, digits: 15 | 6): Numeric {
  if (Number.isNaN(f)) return Numeric.NaN;
  if (f === Infinity) return Numeric.Infinity;
  if (f === -Infinity) return Numeric.NegativeInfinity;
  return Numeric.parse(f.toPrecision(digits)).normalized();
}

/**
 * apply_typmod for numeric(p,s): rounds to the scale and fails with 22003 when
 * the integer part needs more than p-s digits.
 */
export function applyNumericTypmod(n: Numeric, precision: number, scale: number): Numeric {
  if (n.kind === 'nan') return n;
  if (n.kind !== 'finite') {
    throw sqlError(SQLSTATE.NUMERIC_VALUE_OUT_OF_RANGE, 'numeric field overflow', {
      detail: `A field with precision ${precision}, scale ${scale} cannot hold an infinite value.`,
    });
  }
  const r = roundNumeric(n, scale);
  const maxDigits = precision - scale;
  if (r.unscaled !== 0n && intDigits(r) > maxDigits) {
    throw sqlError(SQLSTATE.NUMERIC_VALUE_OUT_OF_RANGE, 'numeric field overflow', {
      detail: `A field with precision ${precision}, scale ${scale} must round to an absolute value less than ${maxDigits !== 0 ? `10^${maxDigits}` : '1'}.`,
    });
  }
  return r;
}
