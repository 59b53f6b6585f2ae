// Order-preserving key encoding: for every type, Buffer.compare of encoded
// keys agrees with compare(), and concatenated column encodings compare as
// tuples (every encoding is self-delimiting and prefix-free).
//
// Each column starts with a marker byte: 0x00 for NULL (so NULLs sort first in
// ascending columns; descending columns invert every byte, which puts them
// last), values start at 0x01 or above. Equal values encode identically, so
// decodeKey returns a canonical value: numeric without trailing zeros, -0 as
// 0, char(n) without its padding beyond the column length, interval as days +
// microseconds (months folded into 30-day days). Row values are stored
// separately with encodeValue, which keeps everything.
import { arrayValue } from './arrays.js';
import { SqlArray, T, type Datum, type SqlType } from './catalog.js';
import { bpcharTrim } from './compare.js';
import { Interval, USECS_PER_DAY, intervalSpan } from './interval.js';
import { Jsonb, isJsonArray, isJsonObject, type JsonValue } from './jsonb.js';
import { Numeric, pow10 } from './numeric.js';
import { enumLabelAt, enumSortOrder } from './enums.js';

/** Appends bytes to a growable buffer. */
export class KeyWriter {
  private buf: Buffer;
  private len = 0;

  constructor(initialSize = 64) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  get length(): number {
    return this.len;
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b & 0xff;
  }

  write(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  uint32(v: number): void {
    this.reserve(4);
    this.buf.writeUInt32BE(v >>> 0, this.len);
    this.len += 4;
  }

  uint64(v: bigint): void {
    this.reserve(8);
    this.buf.writeBigUInt64BE(BigInt.asUintN(64, v), this.len);
    this.len += 8;
  }

  /** Inverts the bytes written since `start` (descending columns). */
  invertFrom(start: number): void {
    for (let i = start; i < this.len; i++) this.buf[i] = ~(this.buf[i] ?? 0) & 0xff;
  }

  /** A copy of the bytes written so far. */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}

/** Reads bytes from a buffer, starting at `offset`. */
export class KeyReader {
  constructor(
    readonly buf: Buffer,
    public offset = 0,
  ) {}

  byte(): number {
    const b = this.buf[this.offset];
    if (b === undefined) throw new RangeError('key: unexpected end');
    this.offset++;
    return b;
  }

  read(n: number): Buffer {
    if (this.offset + n > this.buf.length) throw new RangeError('key: unexpected end');
    const out = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

}

/** A reader that undoes the inversion of descending columns byte by byte. */
class Source {
  constructor(
    private readonly r: KeyReader,
    private readonly mask: number,
  ) {}

  byte(): number {
    return this.r.byte() ^ this.mask;
  }

  read(n: number): Buffer {
    const b = Buffer.from(this.r.read(n));
    if (this.mask !== 0) for (let i = 0; i < b.length; i++) b[i] = (b[i] ?? 0) ^ this.mask;
    return b;
  }
}

const NULL_MARKER = 0x00;
const VALUE_MARKER = 0x01;
const SIGN64 = 1n << 63n;
const SIGN128 = 1n << 127n;

function writeInt64(w: KeyWriter, v: bigint): void {
  w.uint64(BigInt.asUintN(64, v) ^ SIGN64);
}

function readInt64(s: Source): bigint {
  return BigInt.asIntN(64, s.read(8).readBigUInt64BE(0) ^ SIGN64);
}

/** Escapes 0x00 as 0x00 0xFF and terminates with 0x00 0x01, so shorter prefixes sort first. */
function writeBytes(w: KeyWriter, b: Uint8Array): void {
  let start = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0) {
      w.write(b.subarray(start, i + 1));
      w.byte(0xff);
      start = i + 1;
    }
  }
  w.write(b.subarray(start));
  w.byte(0x00);
  w.byte(0x01);
}

function readBytes(s: Source): Buffer {
  const out: number[] = [];
  for (;;) {
    const b = s.byte();
    if (b !== 0) {
      out.push(b);
      continue;
    }
    const next = s.byte();
    if (next === 0x01) return Buffer.from(out);
    if (next !== 0xff) throw new RangeError('key: bad escape');
    out.push(0);
  }
}

function floatBits(x: number): bigint {
  const b = Buffer.alloc(8);
  // -0 and every NaN collapse to one encoding each, as compare() treats them as equal.
  b.writeDoubleBE(Number.isNaN(x) ? NaN : x === 0 ? 0 : x);
  const bits = b.readBigUInt64BE(0);
  return bits & SIGN64 ? BigInt.asUintN(64, ~bits) : bits | SIGN64;
}

function bitsFloat(u: bigint): number {
  const bits = u & SIGN64 ? u ^ SIGN64 : BigInt.asUintN(64, ~u);
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(bits);
  return b.readDoubleBE(0);
}

// Numeric classes, in sort order.
const NUM_NEG_INF = 0x02;
const NUM_NEG = 0x03;
const NUM_ZERO = 0x04;
const NUM_POS = 0x05;
const NUM_INF = 0x06;
const NUM_NAN = 0x07;

/**
 * Finite non-zero numerics: class byte, decimal exponent (int32, inverted for
 * negatives), then the significant digits in base-100 pairs, 2*pair+1 for all
 * but the last pair and 2*pair for the last (trailing zeros stripped), all
 * inverted for negatives: the digit string terminates itself.
 */
function writeNumeric(w: KeyWriter, n: Numeric): void {
  if (n.kind !== 'finite') {
    w.byte(n.kind === 'nan' ? NUM_NAN : n.kind === 'inf' ? NUM_INF : NUM_NEG_INF);
    return;
  }
  if (n.unscaled === 0n) {
    w.byte(NUM_ZERO);
    return;
  }
  const neg = n.unscaled < 0n;
  let digits = (neg ? -n.unscaled : n.unscaled).toString();
  const exp = digits.length - n.scale;
  digits = digits.replace(/0+$/, '');
  if (digits.length % 2 === 1) digits += '0';
  w.byte(neg ? NUM_NEG : NUM_POS);
  const start = w.length;
  w.uint32((exp + 0x80000000) >>> 0);
  for (let i = 0; i < digits.length; i += 2) {
    const pair = Number(digits.slice(i, i + 2));
    w.byte(i + 2 < digits.length ? 2 * pair + 1 : 2 * pair);
  }
  if (neg) w.invertFrom(start);
}

function readNumeric(s: Source): Numeric {
  const cls = s.byte();
  switch (cls) {
    case NUM_NAN:
      return Numeric.NaN;
    case NUM_INF:
      return Numeric.Infinity;
    case NUM_NEG_INF:
      return Numeric.NegativeInfinity;
    case NUM_ZERO:
      return Numeric.ZERO;
  }
  const neg = cls === NUM_NEG;
  const inv = neg ? 0xff : 0;
  const raw = s.read(4).readUInt32BE(0);
  const exp = (neg ? ~raw >>> 0 : raw) - 0x80000000;
  let digits = '';
  for (;;) {
    const b = s.byte() ^ inv;
    digits += String(b >> 1).padStart(2, '0');
    if ((b & 1) === 0) break;
  }
  digits = digits.replace(/0+$/, '');
  const scale = digits.length - exp;
  const u = scale >= 0 ? BigInt(digits) : BigInt(digits) * pow10(-scale);
  return Numeric.of(neg ? -u : u, Math.max(scale, 0));
}

// jsonb element tags in jsonb's type order.
const J_NULL = 0x01;
const J_STRING = 0x02;
const J_NUMBER = 0x03;
const J_BOOL = 0x04;
const J_ARRAY = 0x10;
const J_OBJECT = 0x11;

function writeJsonElement(w: KeyWriter, v: JsonValue): void {
  if (v === null) w.byte(J_NULL);
  else if (typeof v === 'string') {
    w.byte(J_STRING);
    writeBytes(w, Buffer.from(v, 'utf8'));
  } else if (typeof v === 'boolean') {
    w.byte(J_BOOL);
    w.byte(v ? 1 : 0);
  } else if (v instanceof Numeric) {
    w.byte(J_NUMBER);
    writeNumeric(w, v);
  } else if (isJsonArray(v)) {
    w.byte(J_ARRAY);
    w.uint32(v.length);
    w.byte(1);
    for (const e of v) writeJsonElement(w, e);
  } else {
    w.byte(J_OBJECT);
    w.uint32(v.size);
    for (const [k, x] of v) {
      writeBytes(w, Buffer.from(k, 'utf8'));
      writeJsonElement(w, x);
    }
  }
}

function readJsonElement(s: Source): JsonValue {
  const tag = s.byte();
  switch (tag) {
    case J_NULL:
      return null;
    case J_STRING:
      return readBytes(s).toString('utf8');
    case J_BOOL:
      return s.byte() === 1;
    case J_NUMBER:
      return readNumeric(s);
    case J_ARRAY: {
      const n = s.read(4).readUInt32BE(0);
      s.byte();
      const out: JsonValue[] = [];
      for (let i = 0; i < n; i++) out.push(readJsonElement(s));
      return out;
    }
    case J_OBJECT: {
      const n = s.read(4).readUInt32BE(0);
      const m = new Map<string, JsonValue>();
      for (let i = 0; i < n; i++) {
        const k = readBytes(s).toString('utf8');
        m.set(k, readJsonElement(s));
      }
      return m;
    }
    default:
      throw new RangeError(`key: bad jsonb tag ${tag}`);
  }
}

/** Top level: a scalar is a one-element "raw" array, which sorts after [] and before [x]. */
function writeJsonb(w: KeyWriter, j: Jsonb): void {
  const v = j.value;
  if (isJsonObject(v)) {
    writeJsonElement(w, v);
    return;
  }
  w.byte(J_ARRAY);
  if (isJsonArray(v)) {
    w.uint32(v.length);
    w.byte(1);
    for (const e of v) writeJsonElement(w, e);
  } else {
    w.uint32(1);
    w.byte(0);
    writeJsonElement(w, v);
  }
}

function readJsonb(s: Source): Jsonb {
  const tag = s.byte();
  if (tag === J_OBJECT) {
    const n = s.read(4).readUInt32BE(0);
    const m = new Map<string, JsonValue>();
    for (let i = 0; i < n; i++) {
      const k = readBytes(s).toString('utf8');
      m.set(k, readJsonElement(s));
    }
    return new Jsonb(m);
  }
  const n = s.read(4).readUInt32BE(0);
  const raw = s.byte() === 0;
  const out: JsonValue[] = [];
  for (let i = 0; i < n; i++) out.push(readJsonElement(s));
  return new Jsonb(raw ? (out[0] ?? null) : out);
}

// An array key is its elements, each a value marker and its encoding or a
// NULL marker above it (NULL elements sort last), then a terminator below
// both, so a prefix sorts first.
const ARRAY_END = 0x00;
const ELEMENT_VALUE = 0x01;
const ELEMENT_NULL = 0x02;

function writeValue(t: SqlType, d: Datum, w: KeyWriter): void {
  const element = t.element;
  if (element) {
    for (const e of arrayValue(d).items) {
      w.byte(e === null ? ELEMENT_NULL : ELEMENT_VALUE);
      if (e !== null) writeValue(element, e, w);
    }
    w.byte(ARRAY_END);
    return;
  }
  if (t.enumLabels) {
    w.uint64(floatBits(enumSortOrder(t, d as string)));
    return;
  }
  switch (t.oid) {
    case T.bool.oid:
      w.byte(d === true ? 1 : 0);
      return;
    case T.int2.oid:
    case T.int4.oid:
      w.uint32(((d as number) ^ 0x80000000) >>> 0);
      return;
    case T.oid.oid:
      w.uint32(d as number);
      return;
    case T.date.oid: {
      const v = d as number;
      w.uint32(((v === Infinity ? 0x7fffffff : v === -Infinity ? -0x80000000 : v) ^ 0x80000000) >>> 0);
      return;
    }
    case T.int8.oid:
    case T.timestamp.oid:
    case T.timestamptz.oid:
      writeInt64(w, d as bigint);
      return;
    case T.float4.oid:
    case T.float8.oid:
      w.uint64(floatBits(d as number));
      return;
    case T.numeric.oid:
      writeNumeric(w, d as Numeric);
      return;
    case T.bpchar.oid:
      writeBytes(w, Buffer.from(bpcharTrim(d as string), 'utf8'));
      return;
    case T.text.oid:
    case T.varchar.oid:
    case T.name.oid:
    case T.unknown.oid:
      writeBytes(w, Buffer.from(d as string, 'utf8'));
      return;
    case T.bytea.oid:
      writeBytes(w, d as Buffer);
      return;
    case T.uuid.oid:
      w.write(Buffer.from((d as string).replace(/-/g, ''), 'hex'));
      return;
    case T.interval.oid: {
      const span = BigInt.asUintN(128, intervalSpan(d as Interval)) ^ SIGN128;
      w.uint64(span >> 64n);
      w.uint64(span & 0xffffffffffffffffn);
      return;
    }
    case T.jsonb.oid:
      writeJsonb(w, d as Jsonb);
      return;
    default:
      throw new TypeError(`type ${t.name} cannot be a key`);
  }
}

function readValue(t: SqlType, s: Source): Datum {
  const element = t.element;
  if (element) {
    const items: Datum[] = [];
    for (let marker = s.byte(); marker !== ARRAY_END; marker = s.byte()) items.push(marker === ELEMENT_NULL ? null : readValue(element, s));
    return new SqlArray(items);
  }
  if (t.enumLabels) return enumLabelAt(t, bitsFloat(s.read(8).readBigUInt64BE(0)));
  switch (t.oid) {
    case T.bool.oid:
      return s.byte() === 1;
    case T.int2.oid:
    case T.int4.oid:
      return (s.read(4).readUInt32BE(0) ^ 0x80000000) | 0;
    case T.oid.oid:
      return s.read(4).readUInt32BE(0);
    case T.date.oid: {
      const v = (s.read(4).readUInt32BE(0) ^ 0x80000000) | 0;
      return v === 0x7fffffff ? Infinity : v === -0x80000000 ? -Infinity : v;
    }
    case T.int8.oid:
    case T.timestamp.oid:
    case T.timestamptz.oid:
      return readInt64(s);
    case T.float4.oid:
    case T.float8.oid:
      return bitsFloat(s.read(8).readBigUInt64BE(0));
    case T.numeric.oid:
      return readNumeric(s);
    case T.bpchar.oid: {
      const v = readBytes(s).toString('utf8');
      const n = t.typmod - 4;
      return n > 0 ? v + ' '.repeat(Math.max(0, n - Array.from(v).length)) : v;
    }
    case T.text.oid:
    case T.varchar.oid:
    case T.name.oid:
    case T.unknown.oid:
      return readBytes(s).toString('utf8');
    case T.bytea.oid:
      return readBytes(s);
    case T.uuid.oid: {
      const hex = s.read(16).toString('hex');
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    }
    case T.interval.oid: {
      const hi = s.read(8).readBigUInt64BE(0);
      const lo = s.read(8).readBigUInt64BE(0);
      const span = BigInt.asIntN(128, ((hi << 64n) | lo) ^ SIGN128);
      let days = span / USECS_PER_DAY;
      let micros = span % USECS_PER_DAY;
      if (micros < 0n) {
        micros += USECS_PER_DAY;
        days -= 1n;
      }
      return new Interval(0, Number(days), micros);
    }
    case T.jsonb.oid:
      return readJsonb(s);
    default:
      throw new TypeError(`type ${t.name} cannot be a key`);
  }
}

/** Appends the order-preserving encoding of one column value (NULL allowed). */
export function encodeKey(t: SqlType, d: Datum, descending: boolean, out: KeyWriter): void {
  const start = out.length;
  if (d === null) out.byte(NULL_MARKER);
  else if (t.oid === T.numeric.oid) writeNumeric(out, d as Numeric);
  else {
    out.byte(VALUE_MARKER);
    writeValue(t, d, out);
  }
  if (descending) out.invertFrom(start);
}

/** Reads one column value written by encodeKey (canonical form; see the module comment). */
export function decodeKey(t: SqlType, descending: boolean, reader: KeyReader): Datum {
  const s = new Source(reader, descending ? 0xff : 0);
  if (t.oid === T.numeric.oid) {
    const first = reader.buf[reader.offset];
    if (first === undefined) throw new RangeError('key: unexpected end');
    if ((first ^ (descending ? 0xff : 0)) === NULL_MARKER) {
      reader.offset++;
      return null;
    }
    return readNumeric(s);
  }
  const marker = s.byte();
  if (marker === NULL_MARKER) return null;
  if (marker !== VALUE_MARKER) throw new RangeError(`key: bad marker ${marker}`);
  return readValue(t, s);
}
