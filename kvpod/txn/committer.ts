// Group commit with optimistic validation. Commits queue up while the previous
// batch is being synced; the next batch validates every queued commit against
// recent writes, gives each accepted one the next clock timestamp, and applies
// them all in one synced RocksDB write. Durability costs one fsync per batch,
// not per commit.
import { SortedMap } from './sorted-map.js';
import type { Span } from '../../shared/kv/protocol.js';
import { KvError } from '../../shared/kv/errors.js';
import { compareTimestamps, formatTimestamp, type Timestamp } from '../../shared/kv/timestamp.js';
import { formatKey } from '../../shared/keys/index.js';
import type { BatchOperation, Rocks } from '../storage/rocks.js';
import { type MvccReader, versionOp } from '../storage/mvcc.js';
import { encodeTimestamp, metaKey } from '../storage/mvcc-encoding.js';
import type { HybridClock } from './clock.js';
import type { ConflictIndex } from './conflicts.js';

export type Mutation =
  | { kind: 'put'; key: Buffer; value: Buffer }
  | { kind: 'delete'; key: Buffer }
  | { kind: 'deleteRange'; span: Span };

export interface CommitIntent {
  /** Required when readSpans is not empty. */
  readTs: Timestamp | null;
  readSpans: Span[];
  mutations: Mutation[];
}

export interface CommitterOptions {
  /** Most commits folded into one synced write. */
  maxBatchCommits: number;
  /** A range deletion touching more live keys than this is refused. */
  maxRangeDeleteKeys: number;
  onBatch?: (commits: number, durationMs: number) => void;
}

/** The highest commit timestamp ever written: the clock resumes above it after a restart. */
export const MAX_COMMIT_TS_KEY = metaKey('max-commit-ts');

function clockOffsetError(ts: Timestamp): KvError {
  return new KvError('CLOCK_OFFSET', `timestamp ${formatTimestamp(ts)} is ahead of this kvpod's clock by more than the maximum offset`);
}

interface Pending {
  intent: CommitIntent;
  resolve: (ts: Timestamp) => void;
  reject: (err: Error) => void;
}

export class Committer {
  private readonly queue: Pending[] = [];
  private draining: Promise<void> | undefined;
  /** The batch whose timestamps are assigned but not yet applied. */
  private inflight: { minTs: Timestamp | undefined; done: Promise<void> } | undefined;
  private appliedTs: Timestamp;
  private closed = false;
  private failure: Error | undefined;

  constructor(
    private readonly rocks: Rocks,
    private readonly reader: MvccReader,
    private readonly clock: HybridClock,
    private readonly conflicts: ConflictIndex,
    private readonly options: CommitterOptions,
  ) {
    this.appliedTs = clock.now();
  }

  /** Latest timestamp whose commits are all applied: a read there sees every acknowledged commit. */
  get applied(): Timestamp {
    return this.appliedTs;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Resolves with the commit timestamp once the commit is durable. */
  commit(intent: CommitIntent): Promise<Timestamp> {
    if (this.closed) return Promise.reject(new KvError('SHUTTING_DOWN', 'kvpod is shutting down; retry on another kvpod'));
    if (this.failure) return Promise.reject(new KvError('INTERNAL', `kvpod cannot write: ${this.failure.message}`));
    // The commit timestamp must exceed the read timestamp, which may come from
    // another kvpod's clock.
    if (intent.readTs && !this.clock.observe(intent.readTs)) {
      return Promise.reject(clockOffsetError(intent.readTs));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ intent, resolve, reject });
      this.draining ??= this.drain();
    });
  }

  /**
   * The timestamp a read should use, once every commit at or below it is
   * applied: `requested` if given (after moving the clock past it), else a
   * fresh clock reading, so that the read sees every commit acknowledged
   * before it began, on this kvpod or (clocks permitting) any other.
   */
  async readTimestamp(requested: Timestamp | null): Promise<Timestamp> {
    if (requested && !this.clock.observe(requested)) {
      throw clockOffsetError(requested);
    }
    const ts = requested ?? this.clock.now();
    const batch = this.inflight;
    if (batch?.minTs && compareTimestamps(batch.minTs, ts) <= 0) await batch.done;
    return ts;
  }

  /**
   * A later snapshot for a transaction that read `readSpans` at `readTs`:
   * refused as its commit would be if any of them changed since, else a
   * fresh clock reading. Checked and read in one synchronous step, so every
   * commit with a timestamp at or below the new one is already in the
   * conflict index; reads there wait for its batch like any other read.
   */
  refresh(readTs: Timestamp, readSpans: Span[]): Timestamp {
    if (this.closed) throw new KvError('SHUTTING_DOWN', 'kvpod is shutting down; retry on another kvpod');
    if (!this.clock.observe(readTs)) throw clockOffsetError(readTs);
    this.validate({ readTs, readSpans, mutations: [] });
    return this.clock.now();
  }

  /** Refuses new commits and waits for the queued ones. */
  async close(): Promise<void> {
    this.closed = true;
    await this.draining;
  }

  // Clears `draining` in the same tick that finds the queue empty, so that a
  // commit queued right after always starts a new drain.
  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        await this.commitBatch(this.queue.splice(0, this.options.maxBatchCommits));
      }
    } finally {
      this.draining = undefined;
    }
  }

  private async commitBatch(batch: Pending[]): Promise<void> {
    const started = performance.now();
    let finish!: () => void;
    const batchState: { minTs: Timestamp | undefined; done: Promise<void> } = {
      minTs: undefined,
      done: new Promise<void>((resolve) => (finish = resolve)),
    };
    this.inflight = batchState;
    const ops: BatchOperation[] = [];
    const accepted: { pending: Pending; ts: Timestamp }[] = [];
    // Keys written earlier in this batch, not yet in RocksDB, for range deletions.
    const batchWrites = new SortedMap<Buffer, true>(undefined, (a, b) => Buffer.compare(a, b));
    try {
      for (const pending of batch) {
        try {
          this.validate(pending.intent);
          const writes = await this.resolveWrites(pending.intent.mutations, batchWrites);
          const ts = this.clock.now();
          batchState.minTs ??= ts;
          for (const [key, value] of writes.values()) {
            ops.push(versionOp(key, ts, value));
            this.conflicts.record(key, ts);
            batchWrites.set(key, true);
          }
          accepted.push({ pending, ts });
        } catch (err) {
          pending.reject(err instanceof Error ? err : new Error(String(err)));
        }
      }
      const last = accepted.at(-1);
      if (!last) return;
      ops.push({ type: 'put', key: MAX_COMMIT_TS_KEY, value: encodeTimestamp(last.ts) });
      await this.rocks.write(ops, true);
      this.appliedTs = last.ts;
      for (const { pending, ts } of accepted) pending.resolve(ts);
      this.options.onBatch?.(accepted.length, performance.now() - started);
    } catch (err) {
      // RocksDB refused a synced write (disk full, I/O error): nothing of this
      // batch is acknowledged, and the node stops taking commits.
      this.failure = err instanceof Error ? err : new Error(String(err));
      for (const { pending } of accepted) {
        pending.reject(new KvError('INTERNAL', `commit not applied: ${this.failure.message}`));
      }
    } finally {
      this.inflight = undefined;
      finish();
    }
  }

  private validate(intent: CommitIntent): void {
    if (intent.readSpans.length === 0) return;
    const readTs = intent.readTs;
    if (!readTs) throw new KvError('INVALID_REQUEST', 'a commit with read spans must carry its read timestamp');
    if (!this.conflicts.canValidate(readTs)) {
      throw new KvError(
        'TXN_TOO_OLD',
        `transaction read at ${formatTimestamp(readTs)}, before the conflict horizon ${formatTimestamp(this.conflicts.horizon)}; retry the transaction`,
        { threshold: this.conflicts.horizon },
      );
    }
    for (const span of intent.readSpans) {
      const key = this.conflicts.conflictIn(span, readTs);
      if (key) {
        throw new KvError('TXN_CONFLICT', `key ${formatKey(key)} was written after this transaction read it at ${formatTimestamp(readTs)}; retry the transaction`);
      }
    }
  }

  /** The final effect of the mutations, in order: key -> value, or null for deleted. */
  private async resolveWrites(
    mutations: Mutation[],
    batchWrites: SortedMap<Buffer, true>,
  ): Promise<Map<string, [Buffer, Buffer | null]>> {
    const writes = new Map<string, [Buffer, Buffer | null]>();
    for (const m of mutations) {
      if (m.kind === 'put') writes.set(m.key.toString('latin1'), [m.key, m.value]);
      else if (m.kind === 'delete') writes.set(m.key.toString('latin1'), [m.key, null]);
      else {
        const max = this.options.maxRangeDeleteKeys;
        const keys = await this.reader.liveKeys(m.span, max);
        for (const [key] of batchWrites.entries(m.span.startKey)) {
          if (m.span.endKey.length > 0 && Buffer.compare(key, m.span.endKey) >= 0) break;
          keys.push(key);
        }
        for (const [, [key]] of writes) {
          if (Buffer.compare(key, m.span.startKey) >= 0 && (m.span.endKey.length === 0 || Buffer.compare(key, m.span.endKey) < 0)) keys.push(key);
        }
        if (keys.length > max) {
          throw new KvError('LIMIT_EXCEEDED', `range deletion covers more than ${max} live keys; delete it in smaller spans`);
        }
        for (const key of keys) writes.set(key.toString('latin1'), [key, null]);
      }
    }
    return writes;
  }
}
