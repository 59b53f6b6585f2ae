import { describe, expect, it } from 'vitest';
import { decodeUvarint, encodeUvarint, keyNext, prefixEnd, tenantOfKey, tenantPrefix, tenantSpan, spanContains } from './index.js';

const samples = [0, 1, 108, 109, 110, 111, 255, 256, 65535, 65536, 2 ** 24, 2 ** 32 + 7, 2 ** 40, Number.MAX_SAFE_INTEGER];

describe('ordered uvarint', () => {
  it('round-trips and preserves numeric order in byte order', () => {
    const random = Array.from({ length: 2000 }, () => Math.floor(Math.random() ** 4 * Number.MAX_SAFE_INTEGER));
    const values = [...samples, ...random];
    for (const v of values) expect(decodeUvarint(encodeUvarint(v))).toEqual({ value: v, length: encodeUvarint(v).length });
    const byBytes = [...values].sort((a, b) => Buffer.compare(encodeUvarint(a), encodeUvarint(b)));
    expect(byBytes).toEqual([...values].sort((a, b) => a - b));
  });

  it('encodes small values in one byte, like CockroachDB', () => {
    expect(encodeUvarint(0)).toEqual(Buffer.from([136]));
    expect(encodeUvarint(109)).toEqual(Buffer.from([245]));
    expect(encodeUvarint(110)).toEqual(Buffer.from([246, 110]));
    expect(encodeUvarint(256)).toEqual(Buffer.from([247, 1, 0]));
  });

  it('rejects bad input and non-canonical encodings', () => {
    expect(() => encodeUvarint(-1)).toThrow(RangeError);
    expect(() => encodeUvarint(1.5)).toThrow(RangeError);
    expect(() => decodeUvarint(Buffer.from([246]))).toThrow(/truncated/);
    expect(() => decodeUvarint(Buffer.from([246, 5]))).toThrow(/non-canonical/);
    expect(() => decodeUvarint(Buffer.from([3]))).toThrow(/invalid marker/);
  });
});

describe('tenant keyspace', () => {
  it('gives every tenant a disjoint span, ordered by tenant ID', () => {
    const ids = [1, 2, 3, 109, 110, 111, 255, 256, 70000];
    const spans = ids.map(tenantSpan);
    for (let i = 0; i + 1 < spans.length; i++) {
      expect(Buffer.compare(spans[i]!.endKey, spans[i + 1]!.startKey)).toBeLessThanOrEqual(0);
    }
    for (const id of ids) {
      expect(tenantOfKey(Buffer.concat([tenantPrefix(id), Buffer.from('row')]))).toBe(id);
      expect(tenantOfKey(tenantSpan(id).endKey)).not.toBe(id);
    }
    expect(tenantOfKey(Buffer.from('plain'))).toBeUndefined();
  });

  it('computes prefix ends and span containment at the edges', () => {
    expect(prefixEnd(Buffer.from([1, 2, 0xff]))).toEqual(Buffer.from([1, 3]));
    expect(prefixEnd(Buffer.from([0xff, 0xff]))).toEqual(Buffer.alloc(0));
    const span = tenantSpan(2);
    expect(spanContains(span, { startKey: span.startKey, endKey: span.endKey })).toBe(true);
    expect(spanContains(span, { startKey: span.startKey, endKey: keyNext(span.endKey) })).toBe(false);
    expect(spanContains(span, { startKey: span.startKey, endKey: Buffer.alloc(0) })).toBe(false);
  });
});
