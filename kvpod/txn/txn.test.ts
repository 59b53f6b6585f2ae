// Clock, conflict index and committer, the last on a real RocksDB directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KvError } from '../../shared/kv/errors.js';
import { compareTimestamps, type Timestamp } from '../../shared/kv/timestamp.js';
import { MvccReader } from '../storage/mvcc.js';
import { Rocks } from '../storage/rocks.js';
import { HybridClock } from './clock.js';
import { Committer } from './committer.js';
import { ConflictIndex } from './conflicts.js';

const b = (s: string) => Buffer.from(s);
const ts = (wallMs: number, logical = 0): Timestamp => ({ wallMs, logical });
const point = (key: string) => ({ startKey: b(key), endKey: b(`${key}\x00`) });

describe('HybridClock', () => {
  it('is monotonic when physical time stalls or goes back, and moves past what it observes', () => {
    let physical = 1000;
    const clock = new HybridClock(() => physical, 500);
    expect(clock.now()).toEqual(ts(1000, 0));
    expect(clock.now()).toEqual(ts(1000, 1));
    physical = 900;
    expect(clock.now()).toEqual(ts(1000, 2));
    expect(clock.observe(ts(1400, 9))).toBe(true);
    expect(clock.now()).toEqual(ts(1400, 10));
    expect(clock.observe(ts(1501, 0))).toBe(false); // beyond the max offset from physical 900
    physical = 2000;
    expect(clock.now()).toEqual(ts(2000, 0));
  });
});

describe('ConflictIndex', () => {
  it('finds writes newer than the read inside a span, and forgets them past the horizon', () => {
    const index = new ConflictIndex(ts(0));
    index.record(b('b'), ts(10));
    index.record(b('d'), ts(20));
    expect(index.conflictIn({ startKey: b('a'), endKey: b('c') }, ts(5))).toEqual(b('b'));
    expect(index.conflictIn({ startKey: b('a'), endKey: b('c') }, ts(10))).toBeUndefined();
    expect(index.conflictIn({ startKey: b('c'), endKey: b('d') }, ts(0))).toBeUndefined(); // end is exclusive
    expect(index.conflictIn({ startKey: b('c'), endKey: b('e') }, ts(15))).toEqual(b('d'));
    index.prune(ts(15));
    expect(index.size).toBe(1);
    expect(index.canValidate(ts(14))).toBe(false);
    expect(index.canValidate(ts(15))).toBe(true);
  });
});

describe('Committer', () => {
  let dir: string;
  let rocks: Rocks;
  let committer: Committer;
  let conflicts: ConflictIndex;
  const batches: number[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shoal-txn-'));
    rocks = await Rocks.open(dir);
    const clock = new HybridClock();
    conflicts = new ConflictIndex(clock.now());
    batches.length = 0;
    committer = new Committer(rocks, new MvccReader(rocks), clock, conflicts, {
      maxBatchCommits: 512,
      maxRangeDeleteKeys: 5,
      onBatch: (commits) => batches.push(commits),
    });
  });

  afterEach(async () => {
    await committer.close();
    await rocks.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const put = (key: string, value = 'v') => ({ kind: 'put' as const, key: b(key), value: b(value) });

  it('folds concurrent commits into shared synced writes with distinct, ordered timestamps', async () => {
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => committer.commit({ readTs: null, readSpans: [], mutations: [put(`k${i}`)] })));
    expect(batches.reduce((n, c) => n + c, 0)).toBe(200);
    expect(batches.length).toBeLessThan(200 / 4);
    const sorted = [...results].sort(compareTimestamps);
    expect(results).toEqual(sorted); // queue order is timestamp order
    expect(new Set(results.map((t) => `${t.wallMs}.${t.logical}`)).size).toBe(200);
  });

  it('refuses a commit whose read span was written after its read timestamp, even within one batch', async () => {
    const readTs = await committer.readTimestamp(null);
    const [first, second] = await Promise.allSettled([
      committer.commit({ readTs, readSpans: [point('x')], mutations: [put('y')] }),
      committer.commit({ readTs, readSpans: [point('y')], mutations: [put('x')] }),
    ]);
    expect(first.status).toBe('fulfilled');
    expect(second.status).toBe('rejected');
    expect(((second as PromiseRejectedResult).reason as KvError).code).toBe('TXN_CONFLICT');
  });

  it('commits above a read timestamp taken from a clock that runs ahead', async () => {
    const ahead = { wallMs: Date.now() + 300, logical: 5 };
    const commitTs = await committer.commit({ readTs: ahead, readSpans: [point('a')], mutations: [put('a')] });
    expect(compareTimestamps(commitTs, ahead)).toBeGreaterThan(0);
    const far = { wallMs: Date.now() + 60_000, logical: 0 };
    const err = await committer.commit({ readTs: far, readSpans: [point('a')], mutations: [put('a')] }).catch((e: unknown) => e);
    expect((err as KvError).code).toBe('CLOCK_OFFSET');
  });

  it('refuses transactions older than the conflict horizon as retriable', async () => {
    const readTs = await committer.readTimestamp(null);
    conflicts.prune({ wallMs: readTs.wallMs + 1, logical: 0 });
    const err = await committer.commit({ readTs, readSpans: [point('a')], mutations: [put('a')] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KvError);
    expect((err as KvError).code).toBe('TXN_TOO_OLD');
    expect((err as KvError).isTransactionRetry).toBe(true);
  });

  it('refreshes a snapshot past commits to other keys, and refuses one whose reads changed', async () => {
    const readTs = await committer.readTimestamp(null);
    const other = await committer.commit({ readTs: null, readSpans: [], mutations: [put('other')] });
    const refreshed = committer.refresh(readTs, [point('mine')]);
    // Later than the commit it skipped over: a read there sees it.
    expect(compareTimestamps(refreshed, other)).toBeGreaterThan(0);
    const written = await committer.commit({ readTs: null, readSpans: [], mutations: [put('mine')] });
    const err = (() => {
      try {
        return committer.refresh(refreshed, [point('a'), point('mine')]);
      } catch (e) {
        return e;
      }
    })();
    expect((err as KvError).code).toBe('TXN_CONFLICT');
    // A commit queued after the refresh gets a later timestamp, so the commit check from there still sees it.
    const again = committer.refresh(written, [point('mine')]);
    const after = await committer.commit({ readTs: null, readSpans: [], mutations: [put('mine')] });
    expect(compareTimestamps(after, again)).toBeGreaterThan(0);
    const refused = await committer.commit({ readTs: again, readSpans: [point('mine')], mutations: [put('x')] }).catch((e: unknown) => e);
    expect((refused as KvError).code).toBe('TXN_CONFLICT');
    conflicts.prune({ wallMs: after.wallMs + 1, logical: 0 });
    expect(() => committer.refresh(again, [point('a')])).toThrow(expect.objectContaining({ code: 'TXN_TOO_OLD' }) as Error);
  });

  it('bounds range deletions and waits reads for in-flight commits below their timestamp', async () => {
    await committer.commit({ readTs: null, readSpans: [], mutations: ['a', 'b', 'c', 'd', 'e', 'f'].map((k) => put(k)) });
    const err = await committer.commit({ readTs: null, readSpans: [], mutations: [{ kind: 'deleteRange', span: { startKey: b('a'), endKey: b('z') } }] }).catch((e: unknown) => e);
    expect((err as KvError).code).toBe('LIMIT_EXCEEDED');
    const pending = committer.commit({ readTs: null, readSpans: [], mutations: [put('g')] });
    const readTs = await committer.readTimestamp(null);
    const commitTs = await pending;
    // Either the read timestamp is below the commit, or the commit was applied before the read was served.
    expect(compareTimestamps(commitTs, readTs) > 0 || compareTimestamps(committer.applied, commitTs) >= 0).toBe(true);
    await committer.close();
    const refused = await committer.commit({ readTs: null, readSpans: [], mutations: [put('h')] }).catch((e: unknown) => e);
    expect((refused as KvError).code).toBe('SHUTTING_DOWN');
  });
});
