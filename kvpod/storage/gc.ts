// MVCC garbage collection. Versions that no read at or above the GC threshold
// can see are removed: for each key, everything older than its newest version
// at or below the threshold, and that version too when it is a deletion.
import { KvError } from '../../shared/kv/errors.js';
import { compareTimestamps, formatTimestamp, type Timestamp } from '../../shared/kv/timestamp.js';
import type { BatchOperation, Rocks } from './rocks.js';
import { DATA_END, DATA_START, decodeTimestamp, decodeValue, encodeTimestamp, metaKey, prefixOf, timestampOf } from './mvcc-encoding.js';

export const GC_THRESHOLD_KEY = metaKey('gc-threshold');
const DELETE_BATCH = 1024;

export interface GcResult {
  versionsScanned: number;
  versionsRemoved: number;
}

export async function loadGcThreshold(rocks: Rocks): Promise<Timestamp> {
  const stored = await rocks.get(GC_THRESHOLD_KEY);
  return stored ? decodeTimestamp(stored) : { wallMs: 0, logical: 0 };
}

/**
 * Raises the threshold (durably, before anything is removed, so that reads
 * below it fail from then on, also after a restart) and removes what it hides.
 */
export async function collectGarbage(rocks: Rocks, threshold: Timestamp): Promise<GcResult> {
  await rocks.write([{ type: 'put', key: GC_THRESHOLD_KEY, value: encodeTimestamp(threshold) }], true);
  const cursor = rocks.cursor({ gte: DATA_START, lt: DATA_END, highWaterMark: 256 * 1024 });
  let deletes: BatchOperation[] = [];
  let versionsScanned = 0;
  let versionsRemoved = 0;
  let prefix: Buffer | undefined;
  let shadowed = false; // a version at or below the threshold was seen for this key
  try {
    for (let entry = await cursor.next(); entry; entry = await cursor.next()) {
      const [physical, stored] = entry;
      versionsScanned++;
      const p = prefixOf(physical);
      if (!prefix?.equals(p)) {
        prefix = p;
        shadowed = false;
      }
      if (compareTimestamps(timestampOf(physical), threshold) > 0) continue;
      const remove = shadowed || decodeValue(stored) === null;
      shadowed = true;
      if (!remove) continue;
      deletes.push({ type: 'del', key: physical });
      versionsRemoved++;
      if (deletes.length >= DELETE_BATCH) {
        await rocks.write(deletes, false);
        deletes = [];
      }
    }
    await rocks.write(deletes, false);
  } finally {
    await cursor.close();
  }
  return { versionsScanned, versionsRemoved };
}

/** Owns the GC threshold: raises it on a timer and refuses reads below it. */
export class GarbageCollector {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  private constructor(
    private readonly rocks: Rocks,
    private thresholdTs: Timestamp,
  ) {}

  static async open(rocks: Rocks): Promise<GarbageCollector> {
    return new GarbageCollector(rocks, await loadGcThreshold(rocks));
  }

  get threshold(): Timestamp {
    return this.thresholdTs;
  }

  /** Throws BELOW_GC_THRESHOLD when versions a read at `ts` needs may be gone. */
  checkRead(ts: Timestamp): void {
    if (compareTimestamps(ts, this.thresholdTs) < 0) {
      throw new KvError(
        'BELOW_GC_THRESHOLD',
        `read timestamp ${formatTimestamp(ts)} is below the GC threshold ${formatTimestamp(this.thresholdTs)}; old versions are kept for the GC TTL only`,
        { threshold: this.thresholdTs },
      );
    }
  }

  async collect(threshold: Timestamp): Promise<GcResult> {
    if (compareTimestamps(threshold, this.thresholdTs) <= 0) return { versionsScanned: 0, versionsRemoved: 0 };
    this.thresholdTs = threshold;
    return collectGarbage(this.rocks, threshold);
  }

  /** Runs a collection every `intervalMs`, keeping `ttlMs` of history. */
  start(intervalMs: number, ttlMs: number, onResult: (result: GcResult, threshold: Timestamp) => void, onError: (err: unknown) => void): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      const threshold = { wallMs: Date.now() - ttlMs, logical: 0 };
      this.running = this.collect(threshold)
        .then((result) => onResult(result, threshold), onError)
        .finally(() => (this.running = undefined));
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
