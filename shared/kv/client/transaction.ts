// Serializable transactions on top of KvClient (optimistic, FoundationDB
// style): reads happen at one snapshot timestamp and are remembered as spans;
// writes are buffered; commit sends both, and the kvpod refuses it if any
// read span changed since the snapshot. runTransaction re-runs the whole
// function on such a refusal.
import { setTimeout as sleep } from 'node:timers/promises';
import { condenseSpans, keyNext, spanContainsKey } from '../../keys/index.js';
import { KvError } from '../errors.js';
import type { KeyValue, Mutation, Span } from '../protocol.js';
import type { Timestamp } from '../timestamp.js';
import type { KvClient, ScanOptions } from './kv-client.js';

/**
 * Most read spans a commit sends: a bulk write reads a key per row (its
 * uniqueness check), and kvpod bounds a read set (maxRequestKeys, 10,000 by
 * default), so larger read sets go condensed into covering spans.
 */
export const MAX_COMMIT_READ_SPANS = 4096;

/** How far the buffered writes (and the reads) went at some point: what a SQL savepoint rolls back to. */
export interface WriteMark {
  readonly writes: number;
  readonly rangeDeletes: number;
  readonly reads: number;
}

type Buffered = { kind: 'put'; key: Buffer; value: Buffer } | { kind: 'delete'; key: Buffer } | { kind: 'deleteRange'; span: Span };

export class Transaction {
  private snapshot: Timestamp | null = null;
  private readonly readSpans: Span[] = [];
  private readonly writes: Buffered[] = [];
  /**
   * Where each key was last put or deleted (its index in `writes`), and where
   * the range deletions are: a read of its own writes costs a lookup, not a
   * pass over every write, which made bulk loads in one transaction quadratic.
   */
  private readonly lastWrite = new Map<string, number>();
  private readonly rangeDeletes: number[] = [];

  constructor(private readonly client: KvClient) {}

  get hasWrites(): boolean {
    return this.writes.length > 0;
  }

  /** The snapshot this transaction reads at, fixed by its first read. */
  get readTs(): Timestamp | null {
    return this.snapshot;
  }

  async get(key: Buffer): Promise<Buffer | null> {
    const own = this.ownWrite(key);
    if (own !== undefined) return own;
    const res = await this.client.get(key, { readTs: this.snapshot });
    this.snapshot = res.readTs;
    this.readSpans.push({ startKey: key, endKey: keyNext(key) });
    return res.value;
  }

  /** Reads several keys in one round trip per kvpod; values in the order of `keys`. */
  async getMany(keys: readonly Buffer[], asOf?: WriteMark): Promise<(Buffer | null)[]> {
    const values: (Buffer | null)[] = [];
    const missing: number[] = [];
    for (const [i, key] of keys.entries()) {
      const own = this.ownWrite(key, asOf?.writes);
      values.push(own === undefined ? null : own);
      if (own === undefined) missing.push(i);
    }
    if (missing.length === 0) return values;
    const wanted = missing.map((i) => keys[i] ?? Buffer.alloc(0));
    const res = await this.client.multiGet(wanted, { readTs: this.snapshot });
    this.snapshot = res.readTs;
    for (const [j, i] of missing.entries()) {
      values[i] = res.values[j] ?? null;
      this.readSpans.push({ startKey: wanted[j] ?? Buffer.alloc(0), endKey: keyNext(wanted[j] ?? Buffer.alloc(0)) });
    }
    return values;
  }

  /**
   * Reads a span (with this transaction's own writes applied) in key order.
   * With `asOf`, only the writes buffered before that mark are seen (what a
   * cursor declared then reads).
   */
  async scan(span: Span, opts: Omit<ScanOptions, 'readTs'> & { readonly asOf?: WriteMark } = {}): Promise<KeyValue[]> {
    const { asOf, ...scanOpts } = opts;
    const res = await this.client.scan(span, { ...scanOpts, readTs: this.snapshot });
    this.snapshot = res.readTs;
    const read = res.resumeSpan
      ? opts.reverse
        ? { startKey: res.resumeSpan.endKey, endKey: span.endKey }
        : { startKey: span.startKey, endKey: res.resumeSpan.startKey }
      : span;
    this.readSpans.push(read);
    const merged = new Map(res.kvs.map((kv) => [kv.key.toString('latin1'), kv] as const));
    for (const w of asOf ? this.writes.slice(0, asOf.writes) : this.writes) {
      if (w.kind === 'deleteRange') {
        for (const [id, kv] of merged) if (spanContainsKey(w.span, kv.key)) merged.delete(id);
      } else if (spanContainsKey(read, w.key)) {
        if (w.kind === 'put') merged.set(w.key.toString('latin1'), { key: w.key, value: w.value });
        else merged.delete(w.key.toString('latin1'));
      }
    }
    const kvs = [...merged.values()].sort((a, b) => Buffer.compare(a.key, b.key) * (opts.reverse ? -1 : 1));
    return opts.limit === undefined ? kvs : kvs.slice(0, opts.limit);
  }

  put(key: Buffer, value: Buffer): void {
    this.lastWrite.set(key.toString('latin1'), this.writes.push({ kind: 'put', key, value }) - 1);
  }

  delete(key: Buffer): void {
    this.lastWrite.set(key.toString('latin1'), this.writes.push({ kind: 'delete', key }) - 1);
  }

  deleteRange(span: Span): void {
    this.rangeDeletes.push(this.writes.push({ kind: 'deleteRange', span }) - 1);
  }

  mark(): WriteMark {
    return { writes: this.writes.length, rangeDeletes: this.rangeDeletes.length, reads: this.readSpans.length };
  }

  /**
   * Forgets the writes buffered since `mark`. What was read since stays in
   * the read set: those reads happened, and a commit that depends on nothing
   * they saw is at worst refused when it need not have been.
   */
  rollbackTo(mark: WriteMark): void {
    if (mark.writes > this.writes.length || mark.rangeDeletes > this.rangeDeletes.length) throw new RangeError('write mark is past the buffered writes');
    this.writes.length = mark.writes;
    this.rangeDeletes.length = mark.rangeDeletes;
    this.lastWrite.clear();
    this.writes.forEach((w, i) => {
      if (w.kind !== 'deleteRange') this.lastWrite.set(w.key.toString('latin1'), i);
    });
  }

  /**
   * Forgets the writes and the reads since `mark`, as if what made them had
   * never run: only for work whose results nobody saw (a SQL statement run
   * again after waiting for a row lock).
   */
  forgetSince(mark: WriteMark): void {
    if (mark.reads > this.readSpans.length) throw new RangeError('read mark is past the read set');
    this.rollbackTo(mark);
    this.readSpans.length = mark.reads;
  }

  /**
   * Moves the snapshot to a fresh timestamp, once kvpod has checked that
   * nothing read so far changed since the old one (TXN_CONFLICT otherwise):
   * later reads see what committed in between, and the commit is validated
   * from there. With nothing read, the next read simply takes a new snapshot.
   */
  async refresh(): Promise<void> {
    if (this.readSpans.length === 0 || !this.snapshot) {
      this.snapshot = null;
      return;
    }
    this.snapshot = await this.client.refresh(condenseSpans(this.readSpans, MAX_COMMIT_READ_SPANS), this.snapshot);
  }

  get hasReads(): boolean {
    return this.readSpans.length > 0;
  }

  /** Commits the buffered writes; a read-only transaction has nothing to send. */
  async commit(): Promise<Timestamp | null> {
    if (this.writes.length === 0) return this.snapshot;
    const mutations: Mutation[] = this.writes.map((w) =>
      w.kind === 'put' ? { put: { key: w.key, value: w.value } } : w.kind === 'delete' ? { delete: w.key } : { deleteRange: w.span },
    );
    return this.client.commit(mutations, { readTs: this.snapshot, readSpans: condenseSpans(this.readSpans, MAX_COMMIT_READ_SPANS) });
  }

  /** undefined: not written here; null: deleted here. */
  /** The key's value as this transaction's writes before `limit` left it; undefined if they did not touch it. */
  private ownWrite(key: Buffer, limit = this.writes.length): Buffer | null | undefined {
    let at = this.lastWrite.get(key.toString('latin1'));
    if (at !== undefined && at >= limit) {
      at = undefined;
      for (let i = limit - 1; i >= 0; i--) {
        const w = this.writes[i];
        if (w && w.kind !== 'deleteRange' && w.key.equals(key)) {
          at = i;
          break;
        }
      }
    }
    // A range deletion after the key's last write wins over it.
    for (let j = this.rangeDeletes.length - 1; j >= 0; j--) {
      const i = this.rangeDeletes[j] ?? -1;
      if (i >= limit) continue;
      if (at !== undefined && i < at) break;
      const w = this.writes[i];
      if (w?.kind === 'deleteRange' && spanContainsKey(w.span, key)) return null;
    }
    if (at === undefined) return undefined;
    const w = this.writes[at];
    return w?.kind === 'put' ? w.value : null;
  }
}

export interface TransactionOptions {
  /** Runs of the function before giving up. Default 10. */
  maxAttempts?: number;
}

/** Runs `work` in a transaction and commits it, re-running on conflicts. */
export async function runTransaction<T>(
  client: KvClient,
  work: (txn: Transaction) => Promise<T>,
  opts: TransactionOptions = {},
): Promise<{ result: T; commitTs: Timestamp | null; attempts: number }> {
  const maxAttempts = opts.maxAttempts ?? 10;
  for (let attempt = 1; ; attempt++) {
    const txn = new Transaction(client);
    try {
      const result = await work(txn);
      const commitTs = await txn.commit();
      return { result, commitTs, attempts: attempt };
    } catch (err) {
      if (!(err instanceof KvError && err.isTransactionRetry) || attempt >= maxAttempts) throw err;
      await sleep(Math.random() * Math.min(100, 2 ** attempt));
    }
  }
}
