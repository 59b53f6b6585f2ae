import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WorkQueue, type HandleOutcome, type HandlerResult, type WorkQueueOptions } from './index.js';

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** Lets started handlers run and finished ones be accounted, without moving the clock. */
async function advance(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}
const settle = (): Promise<void> => advance(0);

/** A queue whose handler logs each call with the fake clock and runs `behave` for it. */
function harness(behave: (key: string, call: number) => Promise<HandlerResult>, options: WorkQueueOptions = {}) {
  const calls: { key: string; at: number }[] = [];
  const t0 = performance.now();
  const queue = new WorkQueue((key) => {
    const call = calls.filter((c) => c.key === key).length;
    calls.push({ key, at: performance.now() - t0 });
    return behave(key, call);
  }, options);
  const callsOf = (key: string): number[] => calls.filter((c) => c.key === key).map((c) => c.at);
  return { queue, calls, callsOf };
}

const fail = (): Promise<HandlerResult> => Promise.reject(new Error('boom'));
const ok = (): Promise<HandlerResult> => Promise.resolve();

describe('WorkQueue', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('queues a key once however often it is added', async () => {
    const { queue, calls } = harness(ok);
    for (const key of ['a', 'a', 'b', 'a', 'b']) queue.add(key);
    expect(queue.depth).toBe(2);
    queue.start();
    await settle();
    expect(calls.map((c) => c.key)).toEqual(['a', 'b']);
    expect(queue.depth).toBe(0);
  });

  it('handles queued keys first in, first out; a re-add keeps the place', async () => {
    const { queue, calls } = harness(ok, { concurrency: 1 });
    for (const key of ['c', 'a', 'b', 'c', 'd', 'a']) queue.add(key);
    queue.start();
    await settle();
    expect(calls.map((c) => c.key)).toEqual(['c', 'a', 'b', 'd']);
  });

  it('never handles one key twice at once and collapses a burst of adds into one rerun', async () => {
    const first = gate();
    let active = 0;
    let maxActive = 0;
    const { queue, callsOf } = harness(
      async (_key, call) => {
        active++;
        maxActive = Math.max(maxActive, active);
        if (call === 0) await first.promise;
        active--;
      },
      { concurrency: 4 },
    );
    queue.start();
    queue.add('a');
    await settle();
    for (let i = 0; i < 20; i++) {
      queue.add('a');
      await settle();
    }
    // Dirty, not queued: nothing for an idle worker to pick up.
    expect(queue.depth).toBe(0);
    expect(callsOf('a')).toHaveLength(1);
    first.open();
    await settle();
    expect(callsOf('a')).toHaveLength(2);
    expect(maxActive).toBe(1);
    await advance(60_000);
    expect(callsOf('a')).toHaveLength(2);
  });

  it('handles different keys in parallel up to the concurrency and not beyond', async () => {
    const gates = new Map(['a', 'b', 'c', 'd', 'e'].map((k) => [k, gate()]));
    let active = 0;
    let maxActive = 0;
    const { queue, calls } = harness(
      async (key) => {
        active++;
        maxActive = Math.max(maxActive, active);
        await gates.get(key)?.promise;
        active--;
      },
      { concurrency: 3 },
    );
    for (const key of gates.keys()) queue.add(key);
    queue.start();
    await settle();
    expect(calls.map((c) => c.key)).toEqual(['a', 'b', 'c']);
    expect(queue.depth).toBe(2);
    gates.get('b')?.open();
    await settle();
    expect(calls.map((c) => c.key)).toEqual(['a', 'b', 'c', 'd']);
    expect(queue.depth).toBe(1);
    for (const g of gates.values()) g.open();
    await settle();
    expect(calls.map((c) => c.key)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(maxActive).toBe(3);
  });

  it('retries a failing key with exact exponential back-off, capped, and resets the count on success', async () => {
    const retries: number[] = [];
    const { queue, callsOf } = harness((_key, call) => (call === 5 ? ok() : fail()), {
      baseDelayMs: 10,
      maxDelayMs: 50,
      hooks: { onRetry: (_key, delayMs) => retries.push(delayMs) },
    });
    queue.start();
    queue.add('a');
    await settle();
    expect(queue.failures('a')).toBe(1);
    // Just short of each retry nothing runs; at it, exactly one run.
    await advance(9);
    expect(callsOf('a')).toEqual([0]);
    await advance(1);
    expect(callsOf('a')).toEqual([0, 10]);
    expect(queue.failures('a')).toBe(2);
    await advance(200);
    expect(callsOf('a')).toEqual([0, 10, 30, 70, 120, 170]);
    expect(retries).toEqual([10, 20, 40, 50, 50]);
    expect(queue.failures('a')).toBe(0);
    await advance(1_000);
    expect(callsOf('a')).toHaveLength(6);
  });

  it('starts the back-off afresh after a success', async () => {
    const retries: number[] = [];
    const { queue } = harness((_key, call) => (call === 2 ? ok() : fail()), {
      baseDelayMs: 10,
      hooks: { onRetry: (_key, delayMs) => retries.push(delayMs) },
    });
    queue.start();
    queue.add('a');
    await advance(30); // fails at 0 and 10, succeeds at 30
    expect(queue.failures('a')).toBe(0);
    queue.add('a');
    await settle();
    expect(queue.failures('a')).toBe(1);
    expect(retries).toEqual([10, 20, 10]);
  });

  it('runs a key added during its retry wait now and keeps its failure count', async () => {
    const retries: number[] = [];
    const { queue, callsOf } = harness(fail, { baseDelayMs: 10, hooks: { onRetry: (_key, delayMs) => retries.push(delayMs) } });
    queue.start();
    queue.add('a');
    await advance(10); // failed at 0 and 10; next retry due at 30
    expect(queue.failures('a')).toBe(2);
    await advance(5);
    queue.add('a');
    await settle();
    expect(callsOf('a')).toEqual([0, 10, 15]);
    expect(queue.failures('a')).toBe(3);
    // The superseded timer (due at 30) does not fire; the new back-off (40) counts from 15.
    await advance(39);
    expect(callsOf('a')).toEqual([0, 10, 15]);
    await advance(1);
    expect(callsOf('a')).toEqual([0, 10, 15, 55]);
    expect(retries).toEqual([10, 20, 40, 80]);
  });

  it('reruns a key added while its failing handler runs at once, keeping the count', async () => {
    const first = gate();
    const { queue, callsOf } = harness(
      async (_key, call) => {
        if (call === 0) await first.promise;
        throw new Error('boom');
      },
      { baseDelayMs: 100 },
    );
    queue.start();
    queue.add('a');
    await settle();
    queue.add('a');
    first.open();
    await settle();
    expect(callsOf('a')).toEqual([0, 0]);
    expect(queue.failures('a')).toBe(2);
    // Only the second failure's back-off (200) is pending; the first's (100) was covered by the rerun.
    await advance(199);
    expect(callsOf('a')).toHaveLength(2);
    await advance(1);
    expect(callsOf('a')).toEqual([0, 0, 200]);
  });

  it('requeues after requeueAfterMs as a success', async () => {
    const outcomes: HandleOutcome[] = [];
    const { queue, callsOf } = harness(
      (_key, call) => (call === 0 ? fail() : call === 1 ? Promise.resolve({ requeueAfterMs: 100 }) : ok()),
      { baseDelayMs: 10, hooks: { onHandled: (_key, _ms, outcome) => outcomes.push(outcome) } },
    );
    queue.start();
    queue.add('a');
    await advance(10);
    expect(queue.failures('a')).toBe(0);
    await advance(99);
    expect(callsOf('a')).toEqual([0, 10]);
    await advance(1);
    expect(callsOf('a')).toEqual([0, 10, 110]);
    await advance(1_000);
    expect(callsOf('a')).toHaveLength(3);
    expect(outcomes).toEqual(['error', 'requeue', 'ok']);
  });

  it('keeps the earliest of several pending addAfters, and an add supersedes them', async () => {
    const { queue, callsOf } = harness(ok);
    queue.start();
    queue.addAfter('a', 100);
    queue.addAfter('a', 50);
    queue.addAfter('a', 200);
    expect(queue.depth).toBe(0);
    expect(vi.getTimerCount()).toBe(1);
    await advance(49);
    expect(callsOf('a')).toEqual([]);
    await advance(1);
    expect(callsOf('a')).toEqual([50]);
    await advance(1_000);
    expect(callsOf('a')).toEqual([50]);

    queue.addAfter('b', 100);
    await advance(10);
    queue.add('b');
    await settle();
    await advance(1_000);
    expect(callsOf('b')).toEqual([1_060]);
  });

  it('drops an addAfter for a key whose run is already due: queued, or added while handled', async () => {
    const first = gate();
    const { queue, callsOf } = harness((key, call) => (key === 'x' && call === 0 ? first.promise : ok()), { concurrency: 1 });
    queue.start();
    queue.add('x');
    await settle();
    queue.add('q');
    queue.addAfter('q', 100);
    queue.add('x');
    queue.addAfter('x', 100);
    expect(vi.getTimerCount()).toBe(0);
    first.open();
    await advance(1_000);
    expect(callsOf('q')).toEqual([0]);
    expect(callsOf('x')).toEqual([0, 0]);
  });

  it('shutDown waits for handlers in flight, drops queued keys and timers, and ignores later adds', async () => {
    const running = gate();
    let returned = false;
    const depths: number[] = [];
    const { queue, calls } = harness(
      async () => {
        await running.promise;
        returned = true;
      },
      { concurrency: 1, hooks: { onDepthChange: (d) => depths.push(d) } },
    );
    queue.start();
    queue.add('a');
    queue.add('b');
    queue.addAfter('c', 100);
    await settle();
    expect(queue.depth).toBe(1);
    let done = false;
    const stopped = queue.shutDown().then(() => (done = true));
    expect(queue.depth).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    await settle();
    expect(done).toBe(false);
    running.open();
    await stopped;
    expect(returned).toBe(true);
    queue.add('d');
    queue.addAfter('e', 10);
    queue.start();
    await advance(1_000);
    expect(calls.map((c) => c.key)).toEqual(['a']);
    expect(queue.depth).toBe(0);
    expect(depths).toEqual([1, 0, 1, 0]);
  });

  it('does not retry a key whose handler fails during shutDown', async () => {
    const running = gate();
    const retries: string[] = [];
    const { queue, calls } = harness(
      async () => {
        await running.promise;
        throw new Error('boom');
      },
      { hooks: { onRetry: (key) => retries.push(key) } },
    );
    queue.start();
    queue.add('a');
    await settle();
    const stopped = queue.shutDown();
    running.open();
    await stopped;
    await advance(60_000);
    expect(calls).toHaveLength(1);
    expect(retries).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('reports depth changes and each handling with its duration and outcome', async () => {
    const depths: number[] = [];
    const handled: [string, number, HandleOutcome][] = [];
    const retried: [string, number, string][] = [];
    const { queue } = harness(
      async (key) => {
        await new Promise((r) => setTimeout(r, 7));
        if (key === 'bad') throw new Error('nope');
        return key === 'later' ? { requeueAfterMs: 1_000 } : undefined;
      },
      {
        concurrency: 1,
        baseDelayMs: 1_000,
        hooks: {
          onDepthChange: (d) => depths.push(d),
          onHandled: (key, ms, outcome) => handled.push([key, ms, outcome]),
          onRetry: (key, ms, err) => retried.push([key, ms, (err as Error).message]),
        },
      },
    );
    queue.add('good');
    queue.add('bad');
    queue.add('later');
    queue.start();
    await advance(21);
    expect(depths).toEqual([1, 2, 3, 2, 1, 0]);
    expect(handled).toEqual([
      ['good', 7, 'ok'],
      ['bad', 7, 'error'],
      ['later', 7, 'requeue'],
    ]);
    expect(retried).toEqual([['bad', 1_000, 'nope']]);
  });

  it('keeps working when a hook throws', async () => {
    const { queue, calls } = harness(fail, {
      baseDelayMs: 10,
      hooks: {
        onDepthChange: () => {
          throw new Error('metrics');
        },
        onHandled: () => {
          throw new Error('metrics');
        },
        onRetry: () => {
          throw new Error('metrics');
        },
      },
    });
    queue.start();
    queue.add('a');
    queue.add('b');
    await advance(10);
    expect(calls.map((c) => c.key)).toEqual(['a', 'b', 'a', 'b']);
  });

  describe('treats any handler failure as a rejection, never an unhandled one', () => {
    const throwers: [string, (key: string) => Promise<HandlerResult>][] = [
      ['rejected promise', () => Promise.reject(new Error('boom'))],
      ['throw inside async', async () => {
        await Promise.resolve();
        throw new Error('boom');
      }],
      ['synchronous throw', () => {
        throw new Error('boom');
      }],
    ];
    it.each(throwers)('%s', async (_name, handler) => {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        const errors: unknown[] = [];
        const queue = new WorkQueue(handler, { baseDelayMs: 10, hooks: { onRetry: (_key, _ms, err) => errors.push(err) } });
        queue.start();
        queue.add('a');
        await advance(10);
        expect(queue.failures('a')).toBe(2);
        expect(errors).toHaveLength(2);
        await queue.shutDown();
        // Node reports unhandled rejections once the microtask queue drains.
        await vi.advanceTimersByTimeAsync(1);
        expect(unhandled).toEqual([]);
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    });
  });
});
