// Row locks among the transactions of one SQL pod. kvpod validates
// transactions optimistically, so two that update the same row both run and
// one of them fails at COMMIT with 40001; pgbench's TPC-B has every client
// update the one branch row. PostgreSQL instead makes the second UPDATE wait
// until the first transaction ends and then update the row as it was left.
// Here an UPDATE, DELETE or SELECT … FOR UPDATE locks the rows it is about to
// change (or, for FOR UPDATE, returns); a statement that had to wait, or whose rows another transaction of
// this pod committed after its snapshot, is run again on a newer snapshot
// (SqlTxn.restartStatement), so it sees that commit and COMMIT succeeds.
// Transactions on different pods of a tenant are still serialized by kvpod
// alone (40001 at COMMIT).
import { setTimeout as sleep } from 'node:timers/promises';
import { compareTimestamps, maxTimestamp, type Timestamp } from '../../../shared/kv/timestamp.js';
import { SQLSTATE, SqlError } from '../errors.js';
import { deadlockCycle } from './wait-chain.js';

/** How a statement waits for a lock. */
export interface LockWait {
  /** Throws (57014) once the statement is cancelled or past statement_timeout; called while waiting. */
  readonly checkCancel: () => void;
  /** lock_timeout: most milliseconds to wait for one row (0: no limit). */
  readonly lockTimeoutMs: number;
  /** A row another transaction holds: wait (the default), fail at once with 55P03 (NOWAIT), or give up (SKIP LOCKED). */
  readonly onBusy?: BusyPolicy;
}

export type BusyPolicy = 'wait' | 'error' | 'skip';

/**
 * `stale`: a row was committed by another transaction of this pod after the
 * snapshot; the statement must read again. `skipped`: a row was busy and the
 * policy was to skip it (rows locked before it stay locked).
 */
export type LockOutcome = 'current' | 'stale' | 'skipped';

/** Commit timestamps remembered per row, for the staleness check. */
const REMEMBERED_COMMITS = 100_000;
/** How often a waiter looks at cancel and the timeouts. */
const WAIT_POLL_MS = 50;

/** One pod's row locks (one tenant per pod). */
export class RowLockTable {
  private readonly holders = new Map<string, RowLockHolder>();
  /** Row -> timestamp of the last commit of this pod that held its lock, oldest first. */
  private readonly commits = new Map<string, Timestamp>();
  /** Every commit forgotten to bound `commits` was at or below this. */
  private forgottenUpTo: Timestamp | null = null;

  constructor(private readonly remembered = REMEMBERED_COMMITS) {}

  /** A holder for one transaction; it must end (RowLockHolder.end) however the transaction ends. */
  holder(): RowLockHolder {
    return new RowLockHolder(this);
  }

  /** Rows locked now (for tests and metrics). */
  get size(): number {
    return this.holders.size;
  }

  holderOf(row: string): RowLockHolder | undefined {
    return this.holders.get(row);
  }

  take(row: string, holder: RowLockHolder): void {
    this.holders.set(row, holder);
  }

  give(row: string, holder: RowLockHolder, commitTs: Timestamp | null): void {
    if (this.holders.get(row) === holder) this.holders.delete(row);
    if (!commitTs) return;
    this.commits.delete(row);
    this.commits.set(row, commitTs);
    for (const [oldest, ts] of this.commits) {
      if (this.commits.size <= this.remembered) break;
      this.commits.delete(oldest);
      this.forgottenUpTo = this.forgottenUpTo ? maxTimestamp(this.forgottenUpTo, ts) : ts;
    }
  }

  /** Whether a transaction of this pod may have committed `row` after `snapshot`. */
  committedAfter(row: string, snapshot: Timestamp | null): boolean {
    if (!snapshot) return false;
    const ts = this.commits.get(row) ?? this.forgottenUpTo;
    return ts !== null && compareTimestamps(ts, snapshot) > 0;
  }
}

/** The row locks of one transaction. */
export class RowLockHolder {
  private readonly held = new Set<string>();
  private waitingFor: RowLockHolder | null = null;
  private ended = false;
  private readonly endedSignal: Promise<void>;
  private signalEnd!: () => void;

  constructor(private readonly table: RowLockTable) {
    this.endedSignal = new Promise((resolve) => (this.signalEnd = resolve));
  }

  get count(): number {
    return this.held.size;
  }

  /**
   * Locks `rows` (KV keys of rows), waiting for other transactions of this pod
   * that hold them to end. Deadlocks fail with 40P01, a lock_timeout with
   * 55P03, cancel and statement_timeout with 57014; the locks taken so far
   * stay held until the transaction ends, as PostgreSQL's do.
   */
  async lock(rows: readonly Buffer[], snapshot: Timestamp | null, wait: LockWait): Promise<LockOutcome> {
    if (this.ended) throw new Error('row locks of an ended transaction');
    // Sorted, so that two statements locking overlapping sets take them in the same order.
    const ids = [...new Set(rows.map((r) => r.toString('latin1')))].sort();
    let outcome: LockOutcome = 'current';
    for (const row of ids) {
      if (!this.held.has(row) && !(await this.acquire(row, wait))) return 'skipped';
      if (this.table.committedAfter(row, snapshot)) outcome = 'stale';
    }
    return outcome;
  }

  /** Releases every lock; `commitTs` when the transaction committed (waiters then read again). Idempotent. */
  end(commitTs: Timestamp | null): void {
    if (this.ended) return;
    this.ended = true;
    for (const row of this.held) this.table.give(row, this, commitTs);
    this.held.clear();
    this.signalEnd();
  }

  /** False when the row is busy and the policy is to skip it. */
  private async acquire(row: string, wait: LockWait): Promise<boolean> {
    const deadline = wait.lockTimeoutMs > 0 ? Date.now() + wait.lockTimeoutMs : Infinity;
    for (let other = this.table.holderOf(row); other && other !== this; other = this.table.holderOf(row)) {
      if (wait.onBusy === 'skip') return false;
      if (wait.onBusy === 'error') throw new SqlError(SQLSTATE.LOCK_NOT_AVAILABLE, 'could not obtain lock on row in relation');
      const cycle = deadlockCycle<RowLockHolder>(this, other, (h) => h.waitingFor);
      if (cycle) {
        throw new SqlError(SQLSTATE.DEADLOCK_DETECTED, 'deadlock detected', {
          detail: `This transaction waits for a row locked by another transaction, which waits (through ${cycle.length - 1} more) for a row this one locked.`,
          hint: 'See server log for query details.',
        });
      }
      this.waitingFor = other;
      try {
        while (!other.ended) {
          wait.checkCancel();
          const left = deadline - Date.now();
          if (left <= 0) throw new SqlError(SQLSTATE.LOCK_NOT_AVAILABLE, 'canceling statement due to lock timeout');
          await Promise.race([other.endedSignal, sleep(Math.min(WAIT_POLL_MS, left), undefined, { ref: false })]);
        }
      } finally {
        this.waitingFor = null;
      }
    }
    // The session went away while this waited: taking the row now would lock it for good.
    if (this.ended) throw new SqlError(SQLSTATE.QUERY_CANCELED, 'canceling statement: its transaction ended while it waited for a row lock');
    this.table.take(row, this);
    this.held.add(row);
    return true;
  }
}
