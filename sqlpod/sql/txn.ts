// A SQL transaction over one KV transaction. Its first read also reads the
// catalog version, in the same round trip: if another pod changed the schema,
// the statement is planned again on the new catalog before it has done
// anything (StaleCatalog), and because the version key is in the read set, a
// schema change that commits later makes this transaction fail with 40001
// instead of writing with an old schema.
import type { KvClient, Transaction as KvTransaction, WriteMark } from '../../shared/kv/client/index.js';
import { KvError, Transaction } from '../../shared/kv/client/index.js';
import type { KeyValue, Span } from '../../shared/kv/protocol.js';
import type { Catalog } from './catalog/catalog.js';
import { keyNext } from '../../shared/keys/index.js';
import { CATALOG_VERSION, decodeCounter, type Keyspace } from './catalog/keyspace.js';
import { loadCatalog } from './catalog/store.js';
import { SQLSTATE, SqlError } from './errors.js';
import type { LockWait, RowLockHolder } from './row-locks/index.js';
import { timestampNow } from './types/index.js';
import type { Timestamp } from '../../shared/kv/timestamp.js';

/** The schema changed since the statement was planned; plan it again with `catalog`. */
/** Key-value pairs per page of a scan. */
export const SCAN_PAGE = 1000;

export class StaleCatalog extends Error {
  override readonly name = 'StaleCatalog';

  constructor(readonly catalog: Catalog) {
    super('catalog changed; the statement must be planned again');
  }
}

/**
 * A row the statement is about to change was changed by a transaction that
 * committed after this one's snapshot (it waited for that transaction's row
 * lock): the statement runs again on a newer snapshot (restartStatement).
 */
export class RestartStatement extends Error {
  override readonly name = 'RestartStatement';

  constructor() {
    super('a locked row changed after the snapshot; the statement must run again');
  }
}

export interface CatalogCache {
  current: Catalog;
}

export interface TxnHooks {
  /** Called once per KV round trip (for metrics). */
  onRoundTrip?: () => void;
  /** Rows (key-value pairs) a read returned. */
  onRowsRead?: (count: number) => void;
  /** A statement runs again after another transaction of the pod committed a row it locked. */
  onStatementRestart?: () => void;
}

/** What a savepoint restores: the buffered writes and the schema as this transaction had changed it. */
export interface TxnMark {
  readonly writes: WriteMark;
  readonly changedCatalog: Catalog | null;
}

export class SqlTxn {
  readonly kv: KvTransaction;
  /** The catalog at this transaction's snapshot, once its version was read. */
  private snapshotCatalog: Catalog | null = null;
  /** The catalog as this transaction's own schema changes left it. */
  private changedCatalog: Catalog | null = null;
  /** Microseconds since 2000-01-01, fixed at the start (now(), CURRENT_TIMESTAMP). */
  readonly timestamp: bigint = timestampNow();

  constructor(
    client: KvClient,
    private readonly ks: Keyspace,
    private readonly cache: CatalogCache,
    private readonly rowLocks: RowLockHolder,
    private readonly hooks: TxnHooks = {},
  ) {
    this.kv = new Transaction(client);
  }

  /** The catalog at this transaction's snapshot (costs a round trip if nothing was read yet). */
  async catalog(): Promise<Catalog> {
    if (this.checked) return this.checked;
    try {
      await this.getMany([]);
    } catch (err) {
      if (!(err instanceof StaleCatalog)) throw err;
    }
    return this.checked ?? this.cache.current;
  }

  /** The catalog to plan with before anything was read: the checked one, or the pod's latest. */
  get planningCatalog(): Catalog {
    return this.checked ?? this.cache.current;
  }

  get catalogChecked(): boolean {
    return this.checked !== null;
  }

  /** Point reads; the first read of the transaction carries the catalog version along. */
  async getMany(keys: readonly Buffer[], asOf?: TxnMark): Promise<(Buffer | null)[]> {
    if (this.checked) {
      if (keys.length === 0) return [];
      return this.counted(await this.kvCall(() => this.kv.getMany(keys, asOf?.writes)));
    }
    const [version, ...values] = this.counted(await this.kvCall(() => this.kv.getMany([this.ks.counterKey(CATALOG_VERSION), ...keys], asOf?.writes)));
    const v = decodeCounter(version ?? null);
    const planned = this.cache.current;
    if (v === planned.version) {
      this.snapshotCatalog = planned;
      return values;
    }
    const fresh = await this.kvCall(() => loadCatalog(this.kv, this.ks));
    if (fresh.version > this.cache.current.version) this.cache.current = fresh;
    this.snapshotCatalog = fresh;
    throw new StaleCatalog(fresh);
  }

  async scan(span: Span, limit?: number, reverse = false, asOf?: TxnMark): Promise<KeyValue[]> {
    if (!this.checked) await this.getMany([]);
    const kvs = await this.kvCall(() => this.kv.scan(span, { ...(limit === undefined ? {} : { limit }), reverse, ...(asOf ? { asOf: asOf.writes } : {}) }));
    this.hooks.onRowsRead?.(kvs.length);
    return kvs;
  }

  private counted(values: (Buffer | null)[]): (Buffer | null)[] {
    this.hooks.onRowsRead?.(values.filter((v) => v !== null).length);
    return values;
  }

  /** Reads a span a page at a time, in key order (pages are never empty). */
  async *pages(span: Span, pageSize = SCAN_PAGE): AsyncGenerator<KeyValue[], void, undefined> {
    let rest = span;
    for (;;) {
      const page = await this.scan(rest, pageSize);
      if (page.length > 0) yield page;
      const last = page[page.length - 1];
      if (page.length < pageSize || !last) return;
      rest = { startKey: keyNext(last.key), endKey: rest.endKey };
    }
  }

  put(key: Buffer, value: Buffer): void {
    this.kv.put(key, value);
  }

  delete(key: Buffer): void {
    this.kv.delete(key);
  }

  deleteRange(span: Span): void {
    this.kv.deleteRange(span);
  }

  /** After a schema change in this transaction: later statements plan with its result. */
  adopt(catalog: Catalog): void {
    this.changedCatalog = catalog;
  }

  /**
   * The transaction as a cursor declared now reads it: later writes of the
   * transaction are not seen, as PostgreSQL's cursors keep the snapshot of
   * their DECLARE. The first read of the transaction still checks the catalog.
   */
  asOf(mark: TxnMark): SqlTxn {
    const getMany: SqlTxn['getMany'] = (keys) => this.getMany(keys, mark);
    const scan: SqlTxn['scan'] = (span, limit, reverse) => this.scan(span, limit, reverse, mark);
    // Other methods run with the proxy as `this`, so pages() reads through this scan().
    return new Proxy(this, { get: (target, prop, receiver): unknown => (prop === 'getMany' ? getMany : prop === 'scan' ? scan : Reflect.get(target, prop, receiver)) });
  }

  mark(): TxnMark {
    return { writes: this.kv.mark(), changedCatalog: this.changedCatalog };
  }

  rollbackTo(mark: TxnMark): void {
    this.kv.rollbackTo(mark.writes);
    this.changedCatalog = mark.changedCatalog;
  }

  /**
   * Locks the rows (their primary keys) the statement is about to change,
   * waiting for other transactions of this pod that hold them; throws
   * RestartStatement if one of them committed a row after the snapshot.
   * False when a row was busy and `wait.onBusy` said to skip it.
   */
  async lockRows(rows: readonly Buffer[], wait: LockWait): Promise<boolean> {
    if (rows.length === 0) return true;
    const outcome = await this.rowLocks.lock(rows, this.kv.readTs, wait);
    if (outcome === 'stale') {
      this.hooks.onStatementRestart?.();
      throw new RestartStatement();
    }
    return outcome === 'current';
  }

  /**
   * Undoes the statement begun at `mark` as if it had never run (nobody saw
   * its results: the reads it made need not hold either) and moves the
   * snapshot to now, once kvpod has checked that the reads before it still
   * hold (40001 otherwise). If nothing is left read, the next read takes a
   * fresh snapshot and checks the catalog again.
   */
  async restartStatement(mark: TxnMark): Promise<void> {
    this.kv.forgetSince(mark.writes);
    this.changedCatalog = mark.changedCatalog;
    if (!this.kv.hasReads) this.snapshotCatalog = null;
    await this.kvCall(() => this.kv.refresh());
  }

  /** Gives up the row locks of a transaction that ends without committing. Idempotent. */
  abandon(): void {
    this.rowLocks.end(null);
  }

  /** The catalog this transaction reads and writes with, once checked against its snapshot. */
  private get checked(): Catalog | null {
    return this.changedCatalog ?? this.snapshotCatalog;
  }

  async commit(): Promise<void> {
    let commitTs: Timestamp | null = null;
    try {
      // A transaction that only wrote never saw the catalog version; check it now.
      if (this.kv.hasWrites && !this.checked) await this.getMany([]);
      const wrote = this.kv.hasWrites;
      const ts = await this.kvCall(() => this.kv.commit());
      if (wrote) commitTs = ts;
    } finally {
      // Waiters for these rows read again above the commit timestamp.
      this.rowLocks.end(commitTs);
    }
    const changed = this.changedCatalog;
    if (changed && changed.version > this.cache.current.version) this.cache.current = changed;
  }

  private async kvCall<R>(work: () => Promise<R>): Promise<R> {
    this.hooks.onRoundTrip?.();
    try {
      return await work();
    } catch (err) {
      throw sqlErrorOf(err);
    }
  }
}

/** KV failures as the SQL client sees them. */
export function sqlErrorOf(err: unknown): unknown {
  if (!(err instanceof KvError)) return err;
  if (err.isTransactionRetry) {
    return new SqlError(SQLSTATE.SERIALIZATION_FAILURE, 'could not serialize access due to read/write dependencies among transactions', {
      detail: err.message,
      hint: 'The transaction might succeed if retried.',
    });
  }
  if (err.code === 'LIMIT_EXCEEDED') {
    // A transaction's writes (and its read set) go to kvpod in one commit, which kvpod bounds (maxBatchMutations, maxBatchBytes, maxRequestKeys).
    return new SqlError(SQLSTATE.PROGRAM_LIMIT_EXCEEDED, `transaction exceeds a storage limit: ${err.message}`, {
      hint: 'Split the work into several smaller transactions (for COPY, several COPY statements outside a transaction block).',
    });
  }
  return new SqlError(SQLSTATE.SYSTEM_ERROR, `storage error: ${err.message}`, { detail: `KV error ${err.code}` });
}
