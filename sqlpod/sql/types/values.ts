// Compact, exact value encoding for stored row values (not ordered): LEB128
// varints for integers and lengths, raw IEEE bits for floats (so -0 and NaN
// survive), numeric with its scale, jsonb as its text. SQL NULL has no value
// encoding; rows record absence instead.
import { arrayValue } from './arrays.js';
import { SqlArray, T, type Datum, type SqlType } from './catalog.js';
import { Interval } from './interval.js';
import type { Jsonb} from './jsonb.js';
import { parseJsonb } from './jsonb.js';
import { Numeric } from './numeric.js';
import type { KeyReader, KeyWriter } from './keys.js';
import { enumLabelAt, enumSortOrder } from './enums.js';

function writeUvarint(w: KeyWriter, v: bigint): void {
  let x = v;
  while (x >= 0x80n) {
    w.byte(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  w.byte(Number(x));
}

function readUvarint(r: KeyReader): bigint {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    const b = r.byte();
    v |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return v;
    shift += 7n;
  }
}

function writeZigzag(w: KeyWriter, v: bigint): void {
  writeUvarint(w, v >= 0n ? v << 1n : (-v << 1n) - 1n);
}

function readZigzag(r: KeyReader): bigint {
  const u = readUvarint(r);
  return u & 1n ? -((u + 1n) >> 1n) : u >> 1n;
}

function writeBlob(w: KeyWriter, b: Uint8Array): void {
  writeUvarint(w, BigInt(b.length));
  w.write(b);
}

function readBlob(r: KeyReader): Buffer {
  return Buffer.from(r.read(Number(readUvarint(r))));
}

const NUMERIC_KIND = { finite: 0, nan: 1, inf: 2, '-inf': 3 } as const;

/** Appends the exact encoding of a non-null value. */
export function encodeValue(t: SqlType, d: Datum, out: KeyWriter): void {
  if (d === null) throw new TypeError('encodeValue: SQL NULL has no value encoding');
  const element = t.element;
  if (element) {
    // Element count, then per element 0 (NULL) or 1 and its value.
    const { items } = arrayValue(d);
    writeUvarint(out, BigInt(items.length));
    for (const e of items) {
      out.byte(e === null ? 0 : 1);
      if (e !== null) encodeValue(element, e, out);
    }
    return;
  }
  if (t.enumLabels) {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(enumSortOrder(t, d as string));
    out.write(b);
    return;
  }
  switch (t.oid) {
    case T.bool.oid:
      out.byte(d === true ? 1 : 0);
      return;
    case T.int2.oid:
    case T.int4.oid:
    case T.oid.oid:
      writeZigzag(out, BigInt(d as number));
      return;
    case T.date.oid: {
      const v = d as number;
      writeZigzag(out, BigInt(v === Infinity ? 2147483647 : v === -Infinity ? -2147483648 : v));
      return;
    }
    case T.int8.oid:
    case T.timestamp.oid:
    case T.timestamptz.oid:
      writeZigzag(out, d as bigint);
      return;
    case T.float4.oid: {
      const b = Buffer.alloc(4);
      b.writeFloatBE(d as number);
      out.write(b);
      return;
    }
    case T.float8.oid: {
      const b = Buffer.alloc(8);
      b.writeDoubleBE(d as number);
      out.write(b);
      return;
    }
    case T.numeric.oid: {
      const n = d as Numeric;
      out.byte(NUMERIC_KIND[n.kind]);
      if (n.kind === 'finite') {
        writeUvarint(out, BigInt(n.scale));
        writeZigzag(out, n.unscaled);
      }
      return;
    }
    case T.text.oid:
    case T.varchar.oid:
    case T.bpchar.oid:
    case T.name.oid:
    case T.unknown.oid:
      writeBlob(out, Buffer.from(d as string, 'utf8'));
      return;
    case T.bytea.oid:
      writeBlob(out, d as Buffer);
      return;
    case T.uuid.oid:
      out.write(Buffer.from((d as string).replace(/-/g, ''), 'hex'));
      return;
    case T.interval.oid: {
      const i = d as Interval;
      writeZigzag(out, BigInt(i.months));
      writeZigzag(out, BigInt(i.days));
      writeZigzag(out, i.micros);
      return;
    }
    case T.jsonb.oid:
      writeBlob(out, Buffer.from((d as Jsonb).toString(), 'utf8'));
      return;
    default:
      throw new TypeError(`type ${t.name} has no value encoding`);
  }
}

/** Reads a value written by encodeValue. */
export function decodeValue(t: SqlType, reader: KeyReader): Datum {
  const element = t.element;
  if (element) {
    const n = Number(readUvarint(reader));
    const items: Datum[] = [];
    for (let k = 0; k < n; k++) items.push(reader.byte() === 0 ? null : decodeValue(element, reader));
    return new SqlArray(items);
  }
  if (t.enumLabels) return enumLabelAt(t, reader.read(8).readDoubleBE(0));
  switch (t.oid) {
    case T.bool.oid:
      return reader.byte() === 1;
    case T.int2.oid:
    case T.int4.oid:
    case T.oid.oid:
      return Number(readZigzag(reader));
    case T.date.oid: {
      const v = Number(readZigzag(reader));
      return v === 2147483647 ? Infinity : v === -2147483648 ? -Infinity : v;
    }
    case T.int8.oid:
    case T.timestamp.oid:
    case T.timestamptz.oid:
      return readZigzag(reader);
    case T.float4.oid:
      return reader.read(4).readFloatBE(0);
    case T.float8.oid:
      return reader.read(8).readDoubleBE(0);
    case T.numeric.oid: {
      const kind = reader.byte();
      if (kind === NUMERIC_KIND.nan) return Numeric.NaN;
      if (kind === NUMERIC_KIND.inf) return Numeric.Infinity;
      if (kind === NUMERIC_KIND['-inf']) return Numeric.NegativeInfinity;
      const scale = Number(readUvarint(reader));
      return Numeric.of(readZigzag(reader), scale);
    }
    case T.text.oid:
    case T.varchar.oid:
    case T.bpchar.oid:
    case T.name.oid:
    case T.unknown.oid:
      return readBlob(reader).toString('utf8');
    case T.bytea.oid:
      return readBlob(reader);
    case T.uuid.oid: {
      const hex = reader.read(16).toString('hex');
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    }
    case T.interval.oid: {
      const months = Number(readZigzag(reader));
      const days = Number(readZigzag(reader));
      return new Interval(months, days, readZigzag(reader));
    }
    case T.jsonb.oid:
      return parseJsonb(readBlob(reader).toString('utf8'));
    default:
      throw new TypeError(`type ${t.name} has no value encoding`);
  }
}
