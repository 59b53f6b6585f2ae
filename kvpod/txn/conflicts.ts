// Recent writes, for optimistic validation (FoundationDB's resolver, in one
// process): a transaction that read [a, b) at timestamp t may commit only if
// no key in [a, b) was written after t. Writes older than the horizon are
// forgotten, so transactions that read before the horizon cannot be checked
// and must retry.
import { SortedMap } from './sorted-map.js';
import type { Span } from '../../shared/kv/protocol.js';
import { compareTimestamps, type Timestamp } from '../../shared/kv/timestamp.js';

export class ConflictIndex {
  private readonly latestWrite = new SortedMap<Buffer, Timestamp>(undefined, (a, b) => Buffer.compare(a, b));
  /** Writes in commit order, so pruning costs only what it removes. */
  private readonly history: { key: Buffer; ts: Timestamp }[] = [];
  private historyHead = 0;

  constructor(private horizonTs: Timestamp) {}

  get horizon(): Timestamp {
    return this.horizonTs;
  }

  get size(): number {
    return this.latestWrite.size;
  }

  /** False when `readTs` predates what the index remembers. */
  canValidate(readTs: Timestamp): boolean {
    return compareTimestamps(readTs, this.horizonTs) >= 0;
  }

  /** The first key in `span` written after `readTs`, if any. */
  conflictIn(span: Span, readTs: Timestamp): Buffer | undefined {
    for (const [key, ts] of this.latestWrite.entries(span.startKey)) {
      if (span.endKey.length > 0 && Buffer.compare(key, span.endKey) >= 0) return undefined;
      if (compareTimestamps(ts, readTs) > 0) return key;
    }
    return undefined;
  }

  record(key: Buffer, ts: Timestamp): void {
    this.latestWrite.set(key, ts);
    this.history.push({ key, ts });
  }

  /** Forgets writes at or below `horizon`. */
  prune(horizon: Timestamp): void {
    if (compareTimestamps(horizon, this.horizonTs) <= 0) return;
    this.horizonTs = horizon;
    while (this.historyHead < this.history.length) {
      const oldest = this.history[this.historyHead];
      if (!oldest || compareTimestamps(oldest.ts, horizon) > 0) break;
      const latest = this.latestWrite.get(oldest.key);
      if (latest && compareTimestamps(latest, oldest.ts) === 0) this.latestWrite.delete(oldest.key);
      this.historyHead++;
    }
    if (this.historyHead > 4096 && this.historyHead * 2 > this.history.length) {
      this.history.splice(0, this.historyHead);
      this.historyHead = 0;
    }
  }
}
