// Advisory locks shared by every pod of a tenant. A lock is a record in the
// tenant's keyspace (Keyspace.advisoryLockKey) listing its holders; taking
// one is a KV transaction that reads the record and writes it back with the
// session added, so two sessions racing for it are serialized by kvpod's
// commit validation and one of them sees the other. The pod renews its
// sessions' leases in the background; a pod that dies stops renewing and its
// locks are free once their leases end. Locks are taken outside the
// session's SQL transaction: like PostgreSQL's, they survive its rollback.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { runTransaction, type KvClient } from '../../../shared/kv/client/index.js';
import type { Keyspace } from '../catalog/keyspace.js';
import { sqlErrorOf } from '../txn.js';
import type { LockScope } from './functions.js';
import { canAcquire, encodeHolders, parseHolders, renewed, withHolder, withoutHolder, type LockMode } from './holders.js';

export { ADVISORY_FUNCTIONS, advisoryFunctionOf, callSite, lockTag, returnsBoolean, type AdvisoryFunction, type LockScope } from './functions.js';
export type { LockMode } from './holders.js';

export interface AdvisoryLockOptions {
  /** How long a holder's lease lasts without renewal (default 10 s). */
  readonly leaseMs?: number;
  /** How often the pod renews its leases (default a fifth of the lease). */
  readonly renewMs?: number;
}

/** Waiting for a lock: first and longest pause between attempts. */
const WAIT_FIRST_MS = 10;
const WAIT_MAX_MS = 250;

interface Held {
  readonly key: Buffer;
  readonly mode: LockMode;
  /** Acquisitions not yet released, per scope (PostgreSQL counts them: locks are reentrant). */
  session: number;
  transaction: number;
}

/** One pod's advisory locks: owner identity, lease renewal, and a SessionLocks per session. */
export class AdvisoryLocks {
  /** Tells this pod's holders apart from other pods' (a pod restarted under the same name is another pod). */
  readonly podId = randomUUID();
  readonly leaseMs: number;
  private readonly sessions = new Set<SessionLocks>();
  private nextSession = 1;
  private readonly renewMs: number;
  /** Runs only while some session holds a lock. */
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private renewing: Promise<void> | null = null;

  constructor(
    private readonly kv: KvClient,
    readonly ks: Keyspace,
    options: AdvisoryLockOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 10_000;
    this.renewMs = options.renewMs ?? this.leaseMs / 5;
  }

  session(databaseId: number): SessionLocks {
    const s = new SessionLocks(this, `${this.podId}/${this.nextSession++}`, databaseId, () => this.sessions.delete(s));
    this.sessions.add(s);
    return s;
  }

  /**
   * Stops renewing leases. Sessions release their locks when they close (the
   * pod closes them first when it shuts down); anything still held then
   * expires with its lease, as if the pod had crashed.
   */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** A session holds a lock now: renew leases until none is held. */
  keepRenewing(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => void this.renew(), this.renewMs);
    this.timer.unref();
  }

  /** Extends the lease of every lock this pod's sessions hold, in one KV transaction. */
  private async renew(): Promise<void> {
    if (this.renewing) return this.renewing;
    this.renewing = this.renewOnce().finally(() => (this.renewing = null));
    return this.renewing;
  }

  private async renewOnce(): Promise<void> {
    const keys = new Map<string, Buffer>();
    for (const s of this.sessions) for (const h of s.heldLocks()) keys.set(h.key.toString('hex'), h.key);
    if (keys.size === 0) {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      return;
    }
    const list = [...keys.values()];
    const held = (owner: string, key: Buffer, mode: LockMode): boolean => [...this.sessions].some((s) => s.owner === owner && s.holds(key, mode));
    try {
      await runTransaction(this.kv, async (txn) => {
        const expires = Date.now() + this.leaseMs;
        const records = await txn.getMany(list);
        for (const [i, key] of list.entries()) {
          const holders = parseHolders(records[i] ?? null);
          const next = renewed(holders, (owner, mode) => held(owner, key, mode), expires);
          if (next.some((h, j) => h !== holders[j])) txn.put(key, encodeHolders(next));
        }
      });
    } catch {
      // Storage is unreachable: the next tick tries again. Leases are long enough for a few misses.
    }
  }

  /** One KV transaction: adds `owner` as a holder if nothing conflicts; false if something does. */
  async tryTake(key: Buffer, owner: string, mode: LockMode): Promise<boolean> {
    try {
      const { result } = await runTransaction(this.kv, async (txn) => {
        const now = Date.now();
        const holders = parseHolders(await txn.get(key));
        if (!canAcquire(holders, now, owner, mode)) return false;
        txn.put(key, encodeHolders(withHolder(holders, now, owner, mode, now + this.leaseMs)));
        return true;
      });
      return result;
    } catch (err) {
      throw sqlErrorOf(err);
    }
  }

  async release(key: Buffer, owner: string, mode: LockMode): Promise<void> {
    try {
      await runTransaction(this.kv, async (txn) => {
        const holders = parseHolders(await txn.get(key));
        const next = withoutHolder(holders, owner, mode);
        if (next.length === holders.length) return;
        if (next.length === 0) txn.delete(key);
        else txn.put(key, encodeHolders(next));
      });
    } catch (err) {
      throw sqlErrorOf(err);
    }
  }
}

/** One session's advisory locks: reentrancy counts per scope, waiting, release at transaction and session end. */
export class SessionLocks {
  private readonly held = new Map<string, Held>();

  constructor(
    private readonly pod: AdvisoryLocks,
    readonly owner: string,
    private readonly databaseId: number,
    private readonly forget: () => void,
  ) {}

  heldLocks(): Iterable<Held> {
    return this.held.values();
  }

  holds(key: Buffer, mode: LockMode): boolean {
    return this.held.has(id(key, mode));
  }

  /** Takes the lock, waiting (with backoff) while another session holds it; `checkCancel` throws 57014 to stop waiting. */
  async lock(tag: Buffer, mode: LockMode, scope: LockScope, checkCancel: () => void): Promise<void> {
    let pause = WAIT_FIRST_MS;
    while (!(await this.tryLock(tag, mode, scope))) {
      checkCancel();
      await sleep(pause);
      checkCancel();
      pause = Math.min(pause * 2, WAIT_MAX_MS);
    }
  }

  async tryLock(tag: Buffer, mode: LockMode, scope: LockScope): Promise<boolean> {
    const key = this.pod.ks.advisoryLockKey(this.databaseId, tag);
    const existing = this.held.get(id(key, mode));
    if (existing) {
      count(existing, scope);
      return true;
    }
    if (!(await this.pod.tryTake(key, this.owner, mode))) return false;
    const entry: Held = { key, mode, session: 0, transaction: 0 };
    count(entry, scope);
    this.held.set(id(key, mode), entry);
    this.pod.keepRenewing();
    return true;
  }

  /** Releases one session-level hold; false when the session holds none (PostgreSQL then warns). */
  async unlock(tag: Buffer, mode: LockMode): Promise<boolean> {
    const key = this.pod.ks.advisoryLockKey(this.databaseId, tag);
    const entry = this.held.get(id(key, mode));
    if (!entry || entry.session === 0) return false;
    entry.session--;
    await this.releaseIfFree(entry);
    return true;
  }

  /** pg_advisory_unlock_all: every session-level hold; transaction-level ones stay until the transaction ends. */
  async unlockAll(): Promise<void> {
    for (const entry of [...this.held.values()]) {
      entry.session = 0;
      await this.releaseIfFree(entry);
    }
  }

  /** COMMIT or ROLLBACK: transaction-level holds end. */
  async endTransaction(): Promise<void> {
    for (const entry of [...this.held.values()]) {
      if (entry.transaction === 0) continue;
      entry.transaction = 0;
      await this.releaseIfFree(entry);
    }
  }

  /** The session ended: release everything (best effort; an unreleased lock expires with its lease, which is no longer renewed). */
  async close(): Promise<void> {
    const entries = [...this.held.values()];
    this.held.clear();
    this.forget();
    const results = await Promise.allSettled(entries.map((e) => this.pod.release(e.key, this.owner, e.mode)));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private async releaseIfFree(entry: Held): Promise<void> {
    if (entry.session + entry.transaction > 0) return;
    // Forgotten first: should the release fail, renewals stop and the lease runs out.
    this.held.delete(id(entry.key, entry.mode));
    await this.pod.release(entry.key, this.owner, entry.mode);
  }
}

function id(key: Buffer, mode: LockMode): string {
  return `${mode}:${key.toString('hex')}`;
}

function count(entry: Held, scope: LockScope): void {
  if (scope === 'session') entry.session++;
  else entry.transaction++;
}
