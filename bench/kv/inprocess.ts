// The storage engine kvpod uses, without gRPC: RocksDB, the MVCC reader, the
// hybrid clock, the conflict index and the group committer, assembled as
// KvNode does (kvpod/node.ts), with kvpod's default settings.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kvpodSettingsSchema } from '../../kvpod/config.js';
import { decodeTimestamp } from '../../kvpod/storage/mvcc-encoding.js';
import { MvccReader } from '../../kvpod/storage/mvcc.js';
import { Rocks } from '../../kvpod/storage/rocks.js';
import { HybridClock } from '../../kvpod/txn/clock.js';
import { Committer, MAX_COMMIT_TS_KEY } from '../../kvpod/txn/committer.js';
import { ConflictIndex } from '../../kvpod/txn/conflicts.js';
import type { Timestamp } from '../../shared/kv/timestamp.js';

export interface BatchStats {
  batches: number;
  commits: number;
}

export class InProcessStore {
  private constructor(
    readonly dir: string,
    /** Commit batches the committer wrote (group commit), and the commits in them. */
    readonly batchStats: BatchStats,
    private readonly rocks: Rocks,
    private readonly reader: MvccReader,
    private readonly committer: Committer,
    private readonly pruner: NodeJS.Timeout,
  ) {}

  static async open(): Promise<InProcessStore> {
    const settings = kvpodSettingsSchema.parse({});
    const dir = mkdtempSync(join(tmpdir(), 'shoal-bench-inproc-'));
    const rocks = await Rocks.open(dir).catch((err: unknown) => {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    });
    const clock = new HybridClock(Date.now, settings.maxClockOffset);
    const maxCommitTs = await rocks.get(MAX_COMMIT_TS_KEY);
    if (maxCommitTs) clock.forward(decodeTimestamp(maxCommitTs));
    const reader = new MvccReader(rocks);
    const conflicts = new ConflictIndex(clock.now());
    const stats: BatchStats = { batches: 0, commits: 0 };
    const committer = new Committer(rocks, reader, clock, conflicts, {
      maxBatchCommits: 512,
      maxRangeDeleteKeys: settings.maxRangeDeleteKeys,
      onBatch: (commits) => {
        stats.batches++;
        stats.commits += commits;
      },
    });
    // KvNode's conflict pruner, same window and period.
    const pruner = setInterval(
      () => conflicts.prune({ wallMs: clock.peek().wallMs - settings.conflictWindow, logical: 0 }),
      Math.max(50, Math.min(1000, settings.conflictWindow / 4)),
    );
    pruner.unref();
    return new InProcessStore(dir, stats, rocks, reader, committer, pruner);
  }

  /** What kvpod's Get does without a read timestamp: read at the latest applied timestamp. */
  get(key: Buffer): Promise<Buffer | null> {
    return this.reader.get(key, this.committer.applied);
  }

  /** One blind single-key (or multi-key, for preloading) commit. */
  put(entries: { key: Buffer; value: Buffer }[]): Promise<Timestamp> {
    return this.committer.commit({ readTs: null, readSpans: [], mutations: entries.map((e) => ({ kind: 'put', key: e.key, value: e.value })) });
  }

  async close(): Promise<void> {
    clearInterval(this.pruner);
    await this.committer.close();
    await this.rocks.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
