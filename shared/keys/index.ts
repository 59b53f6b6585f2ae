// The shared keyspace layout (design brief, "Keyspace"). Every tenant key
// starts with tenantPrefix(id); table data continues with ordered uvarints for
// the table and index IDs, so byte order equals logical order.

export const TENANT_PREFIX_BYTE = 0xfe;
export const SYSTEM_TENANT_ID = 1;
/** The system tenant's routing name: reserved, never a virtual cluster's. */
export const SYSTEM_TENANT_NAME = 'system';
export const MIN_TENANT_ID = 2;

/** A tenant's name (the CrdbTenant's name, the routing name): a DNS-1123 label. */
export const TENANT_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

const INT_ZERO = 136;
const INT_SMALL = 109; // values up to this fit in the marker byte itself
const INT_MAX = 253;

/** Order-preserving unsigned varint (CockroachDB's EncodeUvarintAscending). */
export function encodeUvarint(value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`uvarint must be a non-negative safe integer, got ${value}`);
  }
  if (value <= INT_SMALL) return Buffer.from([INT_ZERO + value]);
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0) {
    bytes.unshift(rest % 256);
    rest = Math.floor(rest / 256);
  }
  return Buffer.from([INT_MAX - 8 + bytes.length, ...bytes]);
}

/** Decodes an ordered uvarint at `offset`; returns the value and bytes used. */
export function decodeUvarint(buf: Uint8Array, offset = 0): { value: number; length: number } {
  const marker = buf[offset];
  if (marker === undefined) throw new RangeError('uvarint: unexpected end of key');
  if (marker >= INT_ZERO && marker <= INT_ZERO + INT_SMALL) {
    return { value: marker - INT_ZERO, length: 1 };
  }
  const n = marker - (INT_MAX - 8);
  if (n < 1 || n > 7) throw new RangeError(`uvarint: invalid marker byte ${marker}`);
  if (offset + 1 + n > buf.length) throw new RangeError('uvarint: truncated');
  let value = 0;
  for (let i = 1; i <= n; i++) value = value * 256 + (buf[offset + i] ?? 0);
  if (value <= INT_SMALL) throw new RangeError('uvarint: non-canonical encoding');
  return { value, length: 1 + n };
}

export function tenantPrefix(tenantId: number): Buffer {
  return Buffer.concat([Buffer.from([TENANT_PREFIX_BYTE]), encodeUvarint(tenantId)]);
}

/** The tenant whose prefix `key` starts with, or undefined for keys outside any tenant. */
export function tenantOfKey(key: Uint8Array): number | undefined {
  if (key[0] !== TENANT_PREFIX_BYTE) return undefined;
  try {
    return decodeUvarint(key, 1).value;
  } catch {
    return undefined;
  }
}

/** The smallest key greater than every key that starts with `prefix`. */
export function prefixEnd(prefix: Uint8Array): Buffer {
  const out = Buffer.from(prefix);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] !== 0xff) {
      out[i] = (out[i] ?? 0) + 1;
      return out.subarray(0, i + 1);
    }
  }
  // All 0xff: no finite key bounds it; callers treat an empty end as +infinity.
  return Buffer.alloc(0);
}

/** The smallest key greater than `key`. */
export function keyNext(key: Uint8Array): Buffer {
  return Buffer.concat([key, Buffer.from([0])]);
}

export interface Span {
  startKey: Buffer;
  endKey: Buffer; // exclusive
}

export function tenantSpan(tenantId: number): Span {
  const startKey = tenantPrefix(tenantId);
  return { startKey, endKey: prefixEnd(startKey) };
}

/** True when the span [startKey, endKey) lies inside `outer`. */
export function spanContains(outer: Span, inner: Span): boolean {
  return (
    Buffer.compare(inner.startKey, outer.startKey) >= 0 &&
    (outer.endKey.length === 0 || (inner.endKey.length > 0 && Buffer.compare(inner.endKey, outer.endKey) <= 0))
  );
}

export function spanContainsKey(span: Span, key: Uint8Array): boolean {
  return (
    Buffer.compare(key, span.startKey) >= 0 && (span.endKey.length === 0 || Buffer.compare(key, span.endKey) < 0)
  );
}

/**
 * At most `max` spans covering every key of `spans`: overlapping and touching
 * spans are merged, then, if still too many, runs of neighbours are replaced
 * by the span from the first's start to the last's end. A covering span may
 * take in keys between its parts, so a read set condensed this way conflicts
 * with more writes than it strictly has to, never with fewer: a very large
 * transaction may retry more often but can still commit (CockroachDB condenses
 * its refresh spans the same way).
 */
export function condenseSpans(spans: readonly Span[], max: number): Span[] {
  if (spans.length <= max) return [...spans];
  const sorted = [...spans].sort((a, b) => Buffer.compare(a.startKey, b.startKey));
  const merged: Span[] = [];
  for (const span of sorted) {
    const last = merged.at(-1);
    if (last && (last.endKey.length === 0 || Buffer.compare(span.startKey, last.endKey) <= 0)) {
      if (last.endKey.length > 0 && (span.endKey.length === 0 || Buffer.compare(span.endKey, last.endKey) > 0)) last.endKey = span.endKey;
    } else merged.push({ startKey: span.startKey, endKey: span.endKey });
  }
  if (merged.length <= max) return merged;
  const per = Math.ceil(merged.length / Math.max(1, max));
  const out: Span[] = [];
  for (let i = 0; i < merged.length; i += per) {
    const group = merged.slice(i, i + per);
    const first = group[0];
    const last = group.at(-1);
    if (first && last) out.push({ startKey: first.startKey, endKey: last.endKey });
  }
  return out;
}

/** True when `span` holds the keys immediately below `key`. */
export function containsBefore(span: Span, key: Uint8Array): boolean {
  return Buffer.compare(span.startKey, key) < 0 && (span.endKey.length === 0 || Buffer.compare(key, span.endKey) <= 0);
}

export function formatKey(key: Uint8Array): string {
  const tenant = tenantOfKey(key);
  if (tenant === undefined) return `0x${Buffer.from(key).toString('hex')}`;
  const rest = Buffer.from(key).subarray(tenantPrefix(tenant).length);
  return `/Tenant/${tenant}${rest.length ? `/0x${rest.toString('hex')}` : ''}`;
}
