import { describe, expect, it } from 'vitest';
import type { Timestamp } from '../../../shared/kv/timestamp.js';
import { SqlError } from '../errors.js';
import { RowLockTable, type LockWait } from './index.js';

const row = (s: string): Buffer => Buffer.from(s);
const ts = (wallMs: number): Timestamp => ({ wallMs, logical: 0 });
const patient: LockWait = { checkCancel: () => undefined, lockTimeoutMs: 0 };

async function codeOf(work: Promise<unknown>): Promise<string> {
  const err = await work.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof SqlError)) throw new Error(`expected an SqlError, got ${String(err)}`);
  return err.code;
}

describe('RowLockTable', () => {
  it('hands a row to a waiter once its holder ends, and tells it the row is stale only if the holder committed after its snapshot', async () => {
    const table = new RowLockTable();
    const first = table.holder();
    const second = table.holder();
    expect(await first.lock([row('a'), row('b')], ts(10), patient)).toBe('current');
    let got: string | null = null;
    const waiting = second.lock([row('b')], ts(10), patient).then((outcome) => (got = outcome));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(got).toBeNull();
    first.end(ts(20));
    await waiting;
    expect(got).toBe('stale');
    // Read again above the commit: current.
    expect(await second.lock([row('b')], ts(21), patient)).toBe('current');
    second.end(null);
    // A rolled-back holder leaves nothing stale behind.
    const third = table.holder();
    expect(await third.lock([row('c')], ts(30), patient)).toBe('current');
    third.end(null);
    const fourth = table.holder();
    expect(await fourth.lock([row('c')], ts(5), patient)).toBe('current');
    fourth.end(null);
    expect(table.size).toBe(0);
  });

  it('bounds what it remembers, and treats a forgotten row as possibly stale for snapshots below what it forgot', async () => {
    const table = new RowLockTable(2);
    for (const [key, at] of [['a', 100], ['b', 200], ['c', 300]] as const) {
      const h = table.holder();
      await h.lock([row(key)], ts(at - 1), patient);
      h.end(ts(at));
    }
    // 'a' was forgotten (up to 100); 'b' and 'c' are remembered.
    expect(table.committedAfter('a', ts(99))).toBe(true);
    expect(table.committedAfter('a', ts(100))).toBe(false);
    expect(table.committedAfter('zzz', ts(50))).toBe(true);
    expect(table.committedAfter('b', ts(150))).toBe(true);
    expect(table.committedAfter('b', ts(250))).toBe(false);
    expect(table.committedAfter('c', null)).toBe(false);
  });

  it('refuses with NOWAIT and lock_timeout (55P03), ends a wait on cancel (the checker throws), and never locks for an ended holder', async () => {
    const table = new RowLockTable();
    const holder = table.holder();
    await holder.lock([row('x')], ts(1), patient);
    const other = table.holder();
    expect(await codeOf(other.lock([row('x')], ts(1), { ...patient, onBusy: 'error' }))).toBe('55P03');
    // SKIP LOCKED: the free row before the busy one is taken, the busy one is not waited for.
    expect(await other.lock([row('w'), row('x')], ts(1), { ...patient, onBusy: 'skip' })).toBe('skipped');
    expect(table.holderOf('w')).toBe(other);
    expect(await codeOf(other.lock([row('x')], ts(1), { ...patient, lockTimeoutMs: 60 }))).toBe('55P03');
    let cancelled = false;
    const cancel = (): void => {
      if (cancelled) throw new SqlError('57014', 'canceling statement due to user request');
    };
    const waiting = other.lock([row('x')], ts(1), { checkCancel: cancel, lockTimeoutMs: 0 });
    cancelled = true;
    expect(await codeOf(waiting)).toBe('57014');
    // The session goes away while its statement waits: the row must not end up locked by it.
    const gone = table.holder();
    const orphan = gone.lock([row('x')], ts(1), patient);
    gone.end(null);
    holder.end(ts(2));
    expect(await codeOf(orphan)).toBe('57014');
    expect(table.holderOf('x')).toBeUndefined();
  });

  it('detects a deadlock when the wait would close a cycle, and leaves the first waiter waiting', async () => {
    const table = new RowLockTable();
    const [a, b, c] = [table.holder(), table.holder(), table.holder()];
    await a.lock([row('1')], ts(1), patient);
    await b.lock([row('2')], ts(1), patient);
    await c.lock([row('3')], ts(1), patient);
    const aWaits = a.lock([row('2')], ts(1), patient);
    const bWaits = b.lock([row('3')], ts(1), patient);
    await new Promise((resolve) => setTimeout(resolve, 10));
    // c -> a -> b -> c
    expect(await codeOf(c.lock([row('1')], ts(1), patient))).toBe('40P01');
    c.end(null);
    expect(await bWaits).toBe('current');
    b.end(ts(5));
    expect(await aWaits).toBe('stale');
    a.end(null);
  });
});
