import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryDirectory, type PodView, type TenantEntry } from '../directory/index.js';
import { DEFAULT_RESUME_DEADLINE_MS, RESUME_SQLSTATE, ResumeCoordinator, ResumeError, type ResumeErrorCode } from './index.js';

const pod = (name: string, state: PodView['state'], tenant = 'acme'): PodView => ({ name, address: `${name}:26257`, state, tenant });

/** Settles or not, without letting a rejection go unhandled. */
function track(p: Promise<TenantEntry>): { state: () => string; value: () => TenantEntry | undefined; code: () => ResumeErrorCode | undefined } {
  let state = 'pending';
  let value: TenantEntry | undefined;
  let code: ResumeErrorCode | undefined;
  p.then(
    (v) => {
      state = 'resolved';
      value = v;
    },
    (e: unknown) => {
      state = 'rejected';
      code = e instanceof ResumeError ? e.code : undefined;
    },
  );
  return { state: () => state, value: () => value, code: () => code };
}

describe('ResumeCoordinator', () => {
  let dir: MemoryDirectory;
  let resume: ReturnType<typeof vi.fn<(tenant: string) => Promise<void>>>;
  let coordinator: ResumeCoordinator;

  beforeEach(() => {
    vi.useFakeTimers();
    dir = new MemoryDirectory({ tenants: { acme: [], zeta: [] } });
    resume = vi.fn(() => Promise.resolve());
    coordinator = new ResumeCoordinator({ directory: dir, resume });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('answers at once, without resuming, when a pod is running', async () => {
    dir.setTenant('acme', [pod('a', 'draining'), pod('b', 'running')]);
    await expect(coordinator.waitForRunningPod('acme')).resolves.toBe(dir.lookup('acme'));
    expect(resume).not.toHaveBeenCalled();
  });

  it('refuses an unknown tenant without resuming', async () => {
    await expect(coordinator.waitForRunningPod('nope')).rejects.toMatchObject({ code: 'GONE' });
    expect(resume).not.toHaveBeenCalled();
  });

  it('shares one resume call and one wait among concurrent connections', async () => {
    const waits = [1, 2, 3].map(() => coordinator.waitForRunningPod('acme'));
    expect(new Set(waits).size).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(resume).toHaveBeenCalledTimes(1);
    expect(resume).toHaveBeenCalledWith('acme');
    const tracked = waits.map(track);

    dir.upsertPod(pod('a', 'stamping'));
    await vi.advanceTimersByTimeAsync(0);
    expect(tracked.map((t) => t.state())).toEqual(['pending', 'pending', 'pending']);

    dir.upsertPod(pod('a', 'running'));
    await vi.advanceTimersByTimeAsync(0);
    expect(tracked.map((t) => t.state())).toEqual(['resolved', 'resolved', 'resolved']);
    expect(tracked[0]?.value()?.pods).toEqual([pod('a', 'running')]);
    expect(resume).toHaveBeenCalledTimes(1);
  });

  it('keeps tenants apart', async () => {
    const acme = track(coordinator.waitForRunningPod('acme'));
    const zeta = track(coordinator.waitForRunningPod('zeta'));
    expect(resume.mock.calls).toEqual([['acme'], ['zeta']]);
    dir.upsertPod(pod('z', 'running', 'zeta'));
    await vi.advanceTimersByTimeAsync(0);
    expect([acme.state(), zeta.state()]).toEqual(['pending', 'resolved']);
  });

  it('gives up at the deadline with a clear error, and a later connection tries again', async () => {
    const early = track(coordinator.waitForRunningPod('acme'));
    await vi.advanceTimersByTimeAsync(DEFAULT_RESUME_DEADLINE_MS - 1_000);
    const late = track(coordinator.waitForRunningPod('acme')); // joins; gets the remaining second
    await vi.advanceTimersByTimeAsync(999);
    expect([early.state(), late.state()]).toEqual(['pending', 'pending']);
    await vi.advanceTimersByTimeAsync(1);
    expect([early.code(), late.code()]).toEqual(['TIMEOUT', 'TIMEOUT']);
    const retry = track(coordinator.waitForRunningPod('acme'));
    expect(resume).toHaveBeenCalledTimes(2);
    expect(retry.state()).toBe('pending');
  });

  it('says how long it waited', async () => {
    const c = new ResumeCoordinator({ directory: dir, resume, deadlineMs: 5_000 });
    const p = c.waitForRunningPod('acme');
    const assertion = expect(p).rejects.toThrow('tenant "acme" has no running SQL pod after waiting 5s for one to start; try again');
    await vi.advanceTimersByTimeAsync(5_000);
    await assertion;
  });

  it('fails every waiter at once when the resume request fails, keeping the cause', async () => {
    const cause = new Error('crdbtenants.shoal.dev "acme" is forbidden');
    resume.mockImplementationOnce(() => Promise.reject(cause));
    const waits = [coordinator.waitForRunningPod('acme'), coordinator.waitForRunningPod('acme')];
    const results = await Promise.allSettled(waits);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    const err = (results[0] as PromiseRejectedResult).reason as ResumeError;
    expect(err.code).toBe('FAILED');
    expect(err.message).toBe('could not resume tenant "acme": crdbtenants.shoal.dev "acme" is forbidden');
    expect(err.cause).toBe(cause);
  });

  it('treats a resume function that throws like one that rejects', async () => {
    resume.mockImplementationOnce(() => {
      throw new Error('boom');
    });
    await expect(coordinator.waitForRunningPod('acme')).rejects.toMatchObject({ code: 'FAILED' });
  });

  it('fails waiters when the tenant is deleted meanwhile', async () => {
    const w = track(coordinator.waitForRunningPod('acme'));
    dir.removeTenant('acme');
    await vi.advanceTimersByTimeAsync(0);
    expect(w.code()).toBe('GONE');
  });

  it('resolves when the resume call itself makes a pod run synchronously', async () => {
    resume.mockImplementationOnce((tenant) => {
      dir.upsertPod(pod('a', 'running', tenant));
      return Promise.resolve();
    });
    await expect(coordinator.waitForRunningPod('acme')).resolves.toMatchObject({ name: 'acme' });
    // Nothing is left pending: a later cold start resumes again.
    dir.setTenant('acme', []);
    const again = track(coordinator.waitForRunningPod('acme'));
    expect(resume).toHaveBeenCalledTimes(2);
    dir.upsertPod(pod('b', 'running'));
    await vi.advanceTimersByTimeAsync(0);
    expect(again.state()).toBe('resolved');
  });

  it('leaves no timer and no subscription once settled', () => {
    const listeners = vi.spyOn(dir, 'subscribe');
    track(coordinator.waitForRunningPod('acme'));
    track(coordinator.waitForRunningPod('zeta'));
    expect(vi.getTimerCount()).toBe(2);
    dir.upsertPod(pod('a', 'running'));
    expect(vi.getTimerCount()).toBe(1);
    dir.removeTenant('zeta');
    expect(vi.getTimerCount()).toBe(0);
    const unsubscribed = listeners.mock.results.map((r) => r.value as () => boolean).map((off) => off());
    expect(unsubscribed).toEqual([false, false]); // already gone
  });

  it('does not crash the process when every waiter has left before a rejection', async () => {
    const unheard = vi.fn();
    process.on('unhandledRejection', unheard);
    try {
      void coordinator.waitForRunningPod('acme');
      await vi.advanceTimersByTimeAsync(DEFAULT_RESUME_DEADLINE_MS);
      vi.useRealTimers(); // Node reports unhandled rejections after the microtask queue drains
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', unheard);
    }
    expect(unheard).not.toHaveBeenCalled();
  });

  it('rejects a non-positive deadline', () => {
    expect(() => new ResumeCoordinator({ directory: dir, resume, deadlineMs: 0 })).toThrow(RangeError);
  });

  it('asks clients to retry after a timeout or failure, and refuses a deleted tenant', () => {
    expect(RESUME_SQLSTATE).toEqual({ TIMEOUT: '57P03', FAILED: '57P03', GONE: '08004' });
  });
});
