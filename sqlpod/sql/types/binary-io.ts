// Binary send/receive formats (typsend/typreceive) of the wire protocol.
import { SQLSTATE } from '../errors.js';
import { arrayRecv, arraySend } from './arrays.js';
import { T, sqlError, type Datum, type SqlType } from './catalog.js';
import { isValidDate, isValidTimestamp, DT_NOBEGIN, DT_NOEND } from './datetime.js';
import { Interval } from './interval.js';
import type { Jsonb} from './jsonb.js';
import { parseJsonb } from './jsonb.js';
import { Numeric, fromVar, toVar } from './numeric.js';
import { applyTypmod, formatText, formatUuidHex, truncateName } from './text-io.js';
import { parseEnum } from './enums.js';

function badBinary(what: string): Error {
  return sqlError(SQLSTATE.INVALID_BINARY_REPRESENTATION, what);
}

function needLength(buf: Buffer, n: number): void {
  if (buf.length !== n) throw badBinary('incorrect binary data format');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(buf: Buffer): string {
  let s: string;
  try {
    s = utf8.decode(buf);
  } catch {
    const bad = buf.find((b) => b >= 0x80) ?? 0;
    throw sqlError(SQLSTATE.CHARACTER_NOT_IN_REPERTOIRE, `invalid byte sequence for encoding "UTF8": 0x${bad.toString(16).padStart(2, '0')}`);
  }
  if (s.includes('\u0000')) throw sqlError(SQLSTATE.CHARACTER_NOT_IN_REPERTOIRE, 'invalid byte sequence for encoding "UTF8": 0x00');
  return s;
}

const NUMERIC_POS = 0x0000;
const NUMERIC_NEG = 0x4000;
const NUMERIC_NAN = 0xc000;
const NUMERIC_PINF = 0xd000;
const NUMERIC_NINF = 0xf000;

function numericSend(n: Numeric): Buffer {
  if (!n.isFinite()) {
    const b = Buffer.alloc(8);
    b.writeUInt16BE(n.kind === 'nan' ? NUMERIC_NAN : n.kind === 'inf' ? NUMERIC_PINF : NUMERIC_NINF, 4);
    return b;
  }
  const v = toVar(n);
  const b = Buffer.alloc(8 + 2 * v.digits.length);
  b.writeInt16BE(v.digits.length, 0);
  b.writeInt16BE(v.weight, 2);
  b.writeUInt16BE(v.negative ? NUMERIC_NEG : NUMERIC_POS, 4);
  b.writeInt16BE(v.dscale, 6);
  v.digits.forEach((d, i) => b.writeInt16BE(d, 8 + 2 * i));
  return b;
}

function numericRecv(buf: Buffer): Numeric {
  if (buf.length < 8) throw badBinary('incorrect binary data format');
  const ndigits = buf.readInt16BE(0);
  const weight = buf.readInt16BE(2);
  const sign = buf.readUInt16BE(4);
  const dscale = buf.readInt16BE(6);
  if (ndigits < 0 || buf.length !== 8 + 2 * ndigits) throw badBinary('incorrect binary data format');
  if (sign === NUMERIC_NAN) return Numeric.NaN;
  if (sign === NUMERIC_PINF) return Numeric.Infinity;
  if (sign === NUMERIC_NINF) return Numeric.NegativeInfinity;
  if (sign !== NUMERIC_POS && sign !== NUMERIC_NEG) throw badBinary('invalid sign in external "numeric" value');
  if (dscale < 0 || dscale > 0x3fff) throw badBinary('invalid scale in external "numeric" value');
  const digits: number[] = [];
  for (let i = 0; i < ndigits; i++) {
    const d = buf.readInt16BE(8 + 2 * i);
    if (d < 0 || d >= 10000) throw badBinary('invalid digit in external "numeric" value');
    digits.push(d);
  }
  return fromVar({ digits, weight, negative: sign === NUMERIC_NEG, dscale });
}

function int64(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(v);
  return b;
}

/** The type's receive function. */
export function parseBinary(t: SqlType, buf: Buffer): Datum {
  const element = t.element;
  if (element) return arrayRecv(t, buf, (b) => parseBinary(element, b));
  if (t.enumLabels) return parseEnum(t, decodeUtf8(buf));
  switch (t.oid) {
    case T.bool.oid:
      needLength(buf, 1);
      return buf[0] !== 0;
    case T.int2.oid:
      needLength(buf, 2);
      return buf.readInt16BE(0);
    case T.int4.oid:
      needLength(buf, 4);
      return buf.readInt32BE(0);
    case T.oid.oid:
      needLength(buf, 4);
      return buf.readUInt32BE(0);
    case T.int8.oid:
      needLength(buf, 8);
      return buf.readBigInt64BE(0);
    case T.float4.oid:
      needLength(buf, 4);
      return buf.readFloatBE(0);
    case T.float8.oid:
      needLength(buf, 8);
      return buf.readDoubleBE(0);
    case T.numeric.oid:
      return applyTypmod(t, numericRecv(buf), false);
    case T.text.oid:
    case T.unknown.oid:
      return decodeUtf8(buf);
    case T.varchar.oid:
    case T.bpchar.oid:
      return applyTypmod(t, decodeUtf8(buf), false);
    case T.name.oid:
      return truncateName(decodeUtf8(buf));
    case T.bytea.oid:
      return Buffer.from(buf);
    case T.uuid.oid:
      needLength(buf, 16);
      return formatUuidHex(buf.toString('hex'));
    case T.date.oid: {
      needLength(buf, 4);
      const d = buf.readInt32BE(0);
      if (d === -2147483648) return -Infinity;
      if (d === 2147483647) return Infinity;
      if (!isValidDate(d)) throw sqlError(SQLSTATE.DATETIME_FIELD_OVERFLOW, 'date out of range');
      return d;
    }
    case T.timestamp.oid:
    case T.timestamptz.oid: {
      needLength(buf, 8);
      const v = buf.readBigInt64BE(0);
      if (v !== DT_NOBEGIN && v !== DT_NOEND && !isValidTimestamp(v)) throw sqlError(SQLSTATE.DATETIME_FIELD_OVERFLOW, 'timestamp out of range');
      return applyTypmod(t, v, false);
    }
    case T.interval.oid:
      needLength(buf, 16);
      return applyTypmod(t, new Interval(buf.readInt32BE(12), buf.readInt32BE(8), buf.readBigInt64BE(0)), false);
    case T.jsonb.oid: {
      if (buf.length < 1) throw badBinary('incorrect binary data format');
      if (buf[0] !== 1) throw badBinary(`unsupported jsonb version number ${buf[0] ?? 0}`);
      return parseJsonb(decodeUtf8(buf.subarray(1)));
    }
    default:
      throw sqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `type ${t.name} is not supported`);
  }
}

/** The type's send function. */
export function formatBinary(t: SqlType, d: Datum): Buffer {
  if (d === null) throw new TypeError('formatBinary: SQL NULL has no binary form');
  const element = t.element;
  if (element) return arraySend(t, d, (e) => formatBinary(element, e));
  if (t.enumLabels) return Buffer.from(d as string, 'utf8');
  switch (t.oid) {
    case T.bool.oid:
      return Buffer.from([d === true ? 1 : 0]);
    case T.int2.oid: {
      const b = Buffer.alloc(2);
      b.writeInt16BE(d as number);
      return b;
    }
    case T.int4.oid: {
      const b = Buffer.alloc(4);
      b.writeInt32BE(d as number);
      return b;
    }
    case T.oid.oid: {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(d as number);
      return b;
    }
    case T.int8.oid:
    case T.timestamp.oid:
    case T.timestamptz.oid:
      return int64(d as bigint);
    case T.float4.oid: {
      const b = Buffer.alloc(4);
      b.writeFloatBE(d as number);
      return b;
    }
    case T.float8.oid: {
      const b = Buffer.alloc(8);
      b.writeDoubleBE(d as number);
      return b;
    }
    case T.numeric.oid:
      return numericSend(d as Numeric);
    case T.bytea.oid:
      return Buffer.from(d as Buffer);
    case T.uuid.oid:
      return Buffer.from((d as string).replace(/-/g, ''), 'hex');
    case T.date.oid: {
      const b = Buffer.alloc(4);
      const v = d as number;
      b.writeInt32BE(v === Infinity ? 2147483647 : v === -Infinity ? -2147483648 : v);
      return b;
    }
    case T.interval.oid: {
      const i = d as Interval;
      const b = Buffer.alloc(16);
      b.writeBigInt64BE(i.micros, 0);
      b.writeInt32BE(i.days, 8);
      b.writeInt32BE(i.months, 12);
      return b;
    }
    case T.jsonb.oid:
      return Buffer.concat([Buffer.from([1]), Buffer.from((d as Jsonb).toString(), 'utf8')]);
    default:
      return Buffer.from(formatText(t, d), 'utf8');
  }
}
