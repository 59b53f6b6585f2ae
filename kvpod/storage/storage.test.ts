// The MVCC layer against a real RocksDB directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Timestamp } from '../../shared/kv/timestamp.js';
import { GarbageCollector } from './gc.js';
import { MvccReader, versionOp } from './mvcc.js';
import { keyPrefix, prefixOf, timestampOf, userKeyOf, versionKey } from './mvcc-encoding.js';
import { Rocks } from './rocks.js';

const ts = (wallMs: number, logical = 0): Timestamp => ({ wallMs, logical });
const b = (s: string) => Buffer.from(s);

describe('MVCC key encoding', () => {
  it('orders versions by key, then newest first, for keys with zero bytes and prefixes of each other', () => {
    const keys = [b(''), b('\x00'), b('\x00\x00'), b('\x00\x01'), b('a'), b('a\x00'), b('a\x00b'), b('a\x01'), b('ab'), b('\xff'), b('\xff\x00')];
    const times = [ts(1), ts(5), ts(5, 3), ts(2 ** 40, 1)];
    const versions = keys.flatMap((key) => times.map((t) => ({ key, t, physical: versionKey(key, t) })));
    const sorted = [...versions].sort((x, y) => Buffer.compare(x.physical, y.physical));
    const expected = [...versions].sort((x, y) => Buffer.compare(x.key, y.key) || y.t.wallMs - x.t.wallMs || y.t.logical - x.t.logical);
    expect(sorted.map((v) => [v.key, v.t])).toEqual(expected.map((v) => [v.key, v.t]));
    for (const v of versions) {
      expect(userKeyOf(v.physical)).toEqual(v.key);
      expect(timestampOf(v.physical)).toEqual(v.t);
      expect(prefixOf(v.physical)).toEqual(keyPrefix(v.key));
    }
  });
});

describe('MvccReader and GC on RocksDB', () => {
  let dir: string;
  let rocks: Rocks;
  let reader: MvccReader;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shoal-storage-'));
    rocks = await Rocks.open(dir);
    reader = new MvccReader(rocks);
    // k1: v1@10, v2@20, deleted@30.  k2: x@15.  k3: deleted@5, y@25.
    await rocks.write(
      [
        versionOp(b('k1'), ts(10), b('v1')),
        versionOp(b('k1'), ts(20), b('v2')),
        versionOp(b('k1'), ts(30), null),
        versionOp(b('k2'), ts(15), b('x')),
        versionOp(b('k3'), ts(5), null),
        versionOp(b('k3'), ts(25), b('y')),
      ],
      true,
    );
  });

  afterEach(async () => {
    await rocks.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const all = { limit: 100, maxBytes: 1 << 20 };
  const span = { startKey: b('k'), endKey: b('l') };
  const asText = (kvs: { key: Buffer; value: Buffer }[]) => kvs.map((kv) => `${kv.key.toString()}=${kv.value.toString()}`);

  it('reads the version visible at each timestamp', async () => {
    expect(await reader.get(b('k1'), ts(9))).toBeNull();
    expect((await reader.get(b('k1'), ts(10)))?.toString()).toBe('v1');
    expect((await reader.get(b('k1'), ts(29, 7)))?.toString()).toBe('v2');
    expect(await reader.get(b('k1'), ts(30))).toBeNull();
    for (const [at, forward] of [
      [ts(12), ['k1=v1']],
      [ts(22), ['k1=v2', 'k2=x']],
      [ts(40), ['k2=x', 'k3=y']],
    ] as const) {
      expect(asText((await reader.scan(span, at, false, all)).kvs)).toEqual(forward);
      expect(asText((await reader.scan(span, at, true, all)).kvs)).toEqual([...forward].reverse());
    }
  });

  it('cuts pages by count and by bytes and says where to resume', async () => {
    const page = await reader.scan(span, ts(22), false, { limit: 1, maxBytes: 1 << 20 });
    expect(asText(page.kvs)).toEqual(['k1=v2']);
    expect(page.resumeSpan).toEqual({ startKey: b('k1\x00'), endKey: b('l') });
    const bytesPage = await reader.scan(span, ts(40), true, { limit: 100, maxBytes: 1 });
    expect(asText(bytesPage.kvs)).toEqual(['k3=y']);
    expect(bytesPage.resumeSpan).toEqual({ startKey: b('k'), endKey: b('k3') });
  });

  it('garbage-collects what no read at or above the threshold can see, and refuses reads below it', async () => {
    const gc = await GarbageCollector.open(rocks);
    const result = await gc.collect(ts(26));
    // Removed: k1@10 (shadowed by v2@20), k3@5 (tombstone at or below the threshold).
    expect(result.versionsRemoved).toBe(2);
    expect((await reader.get(b('k1'), ts(26)))?.toString()).toBe('v2');
    expect(await reader.get(b('k1'), ts(31))).toBeNull();
    expect(asText((await reader.scan(span, ts(26), false, all)).kvs)).toEqual(['k1=v2', 'k2=x', 'k3=y']);
    expect(() => gc.checkRead(ts(25))).toThrow(/below the GC threshold/);
    expect(() => gc.checkRead(ts(26))).not.toThrow();
    // At 31 the tombstone of k1 and everything under it go.
    expect((await gc.collect(ts(31))).versionsRemoved).toBe(2);
    expect(await reader.get(b('k1'), ts(40))).toBeNull();
    // The threshold is durable.
    await rocks.close();
    rocks = await Rocks.open(dir);
    const reopened = await GarbageCollector.open(rocks);
    expect(() => reopened.checkRead(ts(30))).toThrow(/below the GC threshold/);
  });

  it('refuses a second opener of the same data directory with a clear error', async () => {
    await expect(Rocks.open(dir)).rejects.toThrow(/in use by another kvpod/);
  });
});
