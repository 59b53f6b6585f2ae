import { describe, expect, it } from 'vitest';
import { condenseSpans, decodeUvarint, encodeUvarint, keyNext, prefixEnd, spanContainsKey, tenantOfKey, tenantPrefix, tenantSpan, spanContains, type Span } from './index.js';

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

describe('condenseSpans', () => {
  const k = (...bytes: number[]) => Buffer.from(bytes);
  const span = (start: number[], end: number[]): Span => ({ startKey: k(...start), endKey: k(...end) });
  const show = (spans: readonly Span[]) => spans.map((s) => `${s.startKey.toString('hex')}-${s.endKey.toString('hex')}`);

  it('leaves a read set within the bound as it is', () => {
    const spans = [span([3], [4]), span([1], [2])];
    expect(show(condenseSpans(spans, 2))).toEqual(['03-04', '01-02']);
  });

  it('merges overlapping and touching spans first, exactly', () => {
    const spans = [span([5], [7]), span([1], [3]), span([3], [4]), span([6], [9]), span([2], [2, 5])];
    expect(show(condenseSpans(spans, 2))).toEqual(['01-04', '05-09']);
  });

  it('treats an empty end as the end of the keyspace', () => {
    expect(show(condenseSpans([span([1], [2]), span([4], []), span([6], [7])], 1))).toEqual(['01-']);
  });

  it('covers runs of neighbours with one span each when merging is not enough', () => {
    const points = Array.from({ length: 10 }, (_, i) => ({ startKey: k(i * 2), endKey: keyNext(k(i * 2)) }));
    expect(show(condenseSpans(points, 3))).toEqual(['00-0600', '08-0e00', '10-1200']);
  });

  it('never drops a key that was read, for random read sets of point and range reads', () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const spans = Array.from({ length: 1 + random(60) }, () => {
        const start = k(random(256), random(256));
        return random(2) === 0 ? { startKey: start, endKey: keyNext(start) } : { startKey: start, endKey: k(start[0] ?? 0, 255, random(256)) };
      });
      const max = 1 + random(20);
      const condensed = condenseSpans(spans, max);
      expect(condensed.length).toBeLessThanOrEqual(max);
      for (const s of spans) {
        const lastKey = s.endKey.length > 0 && s.endKey.at(-1) === 0 ? s.endKey.subarray(0, -1) : s.startKey;
        for (const key of [s.startKey, lastKey]) expect(condensed.some((c) => spanContainsKey(c, key))).toBe(true);
      }
    }
  });
});
