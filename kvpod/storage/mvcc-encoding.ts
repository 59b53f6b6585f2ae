// The physical layout of kvpod's RocksDB keyspace.
//
//   0x01 <name>                                  node metadata, unversioned
//   0x02 <escaped user key> 0x00 0x01 <~ts>      one MVCC version of a key
//
// User keys are escaped (0x00 -> 0x00 0xff) and terminated (0x00 0x01), so the
// encoding preserves order and no key's versions interleave with another's.
// The timestamp is stored bit-inverted: the newest version of a key sorts first.
import type { Timestamp } from '../../shared/kv/timestamp.js';

const META = 0x01;
const DATA = 0x02;
const TERMINATOR = Buffer.from([0x00, 0x01]);
const VERSIONS_END = Buffer.from([0x00, 0x02]);
const TS_BYTES = 12;
const TWO_32 = 2 ** 32;

export const DATA_START = Buffer.from([DATA]);
export const DATA_END = Buffer.from([DATA + 1]);

export function metaKey(name: string): Buffer {
  return Buffer.concat([Buffer.from([META]), Buffer.from(name, 'utf8')]);
}

function escape(userKey: Buffer): Buffer {
  if (userKey.indexOf(0) < 0) return userKey;
  const out: number[] = [];
  for (const byte of userKey) {
    out.push(byte);
    if (byte === 0) out.push(0xff);
  }
  return Buffer.from(out);
}

function unescape(escaped: Buffer): Buffer {
  if (escaped.indexOf(0) < 0) return escaped;
  const out: number[] = [];
  for (let i = 0; i < escaped.length; i++) {
    const byte = escaped[i] ?? 0;
    out.push(byte);
    if (byte === 0) i++; // skip the 0xff escape
  }
  return Buffer.from(out);
}

/** Sorts before every version of `userKey` and after every version of smaller keys. */
export function keyPrefix(userKey: Buffer): Buffer {
  return Buffer.concat([DATA_START, escape(userKey), TERMINATOR]);
}

/** Physical bound for a user-key bound: versions of keys < userKey sort before it. */
export function boundOf(userKey: Buffer): Buffer {
  return userKey.length === 0 ? DATA_END : keyPrefix(userKey);
}

/** Sorts after every version of `userKey` and before every version of larger keys. */
export function versionsEnd(userKey: Buffer): Buffer {
  return Buffer.concat([DATA_START, escape(userKey), VERSIONS_END]);
}

export function versionKey(userKey: Buffer, ts: Timestamp): Buffer {
  const prefix = keyPrefix(userKey);
  const out = Buffer.allocUnsafe(prefix.length + TS_BYTES);
  prefix.copy(out);
  writeInvertedTimestamp(out, prefix.length, ts);
  return out;
}

function writeInvertedTimestamp(out: Buffer, offset: number, ts: Timestamp): void {
  out.writeUInt32BE(0xffffffff - Math.floor(ts.wallMs / TWO_32), offset);
  out.writeUInt32BE(0xffffffff - (ts.wallMs % TWO_32), offset + 4);
  out.writeUInt32BE(0xffffffff - ts.logical, offset + 8);
}

export function timestampOf(physical: Buffer): Timestamp {
  const o = physical.length - TS_BYTES;
  const hi = 0xffffffff - physical.readUInt32BE(o);
  const lo = 0xffffffff - physical.readUInt32BE(o + 4);
  return { wallMs: hi * TWO_32 + lo, logical: 0xffffffff - physical.readUInt32BE(o + 8) };
}

/** The part of a version key shared by all versions of its user key (cheap to compare). */
export function prefixOf(physical: Buffer): Buffer {
  return physical.subarray(0, physical.length - TS_BYTES);
}

export function userKeyOf(physical: Buffer): Buffer {
  return Buffer.from(unescape(physical.subarray(1, physical.length - TS_BYTES - TERMINATOR.length)));
}

export function isDataKey(physical: Buffer): boolean {
  return physical[0] === DATA && physical.length >= 1 + TERMINATOR.length + TS_BYTES;
}

// Values: 0x00 = deletion tombstone, 0x01 followed by the value bytes.
const TOMBSTONE = Buffer.from([0x00]);
const VALUE_TAG = Buffer.from([0x01]);

export function encodeValue(value: Buffer | null): Buffer {
  return value === null ? TOMBSTONE : Buffer.concat([VALUE_TAG, value]);
}

/** The stored value, or null for a tombstone. */
export function decodeValue(stored: Buffer): Buffer | null {
  return stored[0] === 0x00 ? null : stored.subarray(1);
}

export function encodeTimestamp(ts: Timestamp): Buffer {
  const out = Buffer.alloc(TS_BYTES);
  out.writeUInt32BE(Math.floor(ts.wallMs / TWO_32), 0);
  out.writeUInt32BE(ts.wallMs % TWO_32, 4);
  out.writeUInt32BE(ts.logical, 8);
  return out;
}

export function decodeTimestamp(buf: Buffer): Timestamp {
  return { wallMs: buf.readUInt32BE(0) * TWO_32 + buf.readUInt32BE(4), logical: buf.readUInt32BE(8) };
}
