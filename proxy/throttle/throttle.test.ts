import { describe, expect, it } from 'vitest';
import { LoginThrottle, throttleKey, type AttemptOutcome, type ThrottleCheck, type ThrottleOptions } from './index.js';

const K = throttleKey('10.0.0.1', 'acme');
const T0 = 1_000_000;
const opts: ThrottleOptions = { baseDelayMs: 100, maxDelayMs: 1_000 };

/** One step: a check at `at` (ms after T0), and if allowed, its report right away. */
type Step = { at: number; outcome?: AttemptOutcome; key?: string };
type Seen = 'ok' | `refused ${number}` | 'in-flight' | 'throttled';

function run(t: LoginThrottle, steps: Step[]): Seen[] {
  return steps.map(({ at, outcome, key = K }): Seen => {
    const c = t.check(key, T0 + at);
    if (!c.allowed) return c.reason === 'backoff' ? `refused ${c.retryAfterMs}` : 'in-flight';
    return t.report(c.ticket, outcome ?? 'success', T0 + at) === 'forward' ? 'ok' : 'throttled';
  });
}

interface Case {
  name: string;
  steps: Step[];
  seen: Seen[];
  options?: ThrottleOptions;
}

const fail = (at: number, key?: string): Step => ({ at, outcome: 'failure', ...(key && { key }) });
const ok = (at: number, key?: string): Step => ({ at, outcome: 'success', ...(key && { key }) });

const cases: Case[] = [
  { name: 'successes are never throttled', steps: [ok(0), ok(0), ok(0)], seen: ['ok', 'ok', 'ok'] },
  { name: 'the first failure costs no wait', steps: [fail(0), ok(0)], seen: ['ok', 'ok'] },
  {
    name: 'then base, doubling: 100, 200, 400 ms',
    steps: [fail(0), fail(0), fail(99), fail(100), fail(299), fail(300), fail(699), ok(700)],
    seen: ['ok', 'ok', 'refused 1', 'ok', 'refused 1', 'ok', 'refused 1', 'ok'],
  },
  {
    name: 'the wait is capped at maxDelayMs',
    steps: [fail(0), fail(0), fail(100), fail(300), fail(700), fail(1_500), fail(2_500), fail(3_499)],
    seen: ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'refused 1'],
  },
  {
    name: 'a refused attempt does not lengthen the wait',
    steps: [fail(0), fail(0), fail(10), fail(50), fail(100)],
    seen: ['ok', 'ok', 'refused 90', 'refused 50', 'ok'],
  },
  {
    name: 'a success resets the schedule',
    steps: [fail(0), fail(0), fail(100), ok(300), fail(300), fail(300), fail(300)],
    seen: ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'refused 100'],
  },
  {
    name: 'an abandoned attempt neither counts nor resets',
    steps: [fail(0), fail(0), { at: 100, outcome: 'abandoned' }, { at: 100, outcome: 'abandoned' }, fail(100), fail(100)],
    seen: ['ok', 'ok', 'ok', 'ok', 'ok', 'refused 200'],
  },
  {
    name: 'keys are independent: another IP, another tenant',
    steps: [fail(0), fail(0), fail(1), fail(1, throttleKey('10.0.0.2', 'acme')), fail(1, throttleKey('10.0.0.1', 'zeta'))],
    seen: ['ok', 'ok', 'refused 99', 'ok', 'ok'],
  },
  {
    name: 'zero base delay disables the back-off',
    options: { baseDelayMs: 0 },
    steps: [fail(0), fail(0), fail(0), fail(0)],
    seen: ['ok', 'ok', 'ok', 'ok'],
  },
];

describe('LoginThrottle: back-off', () => {
  it.each(cases)('$name', (c) => {
    expect(run(new LoginThrottle({ ...opts, ...c.options }), c.steps)).toEqual(c.seen);
  });
});

describe('LoginThrottle: concurrent attempts', () => {
  const allowed = (c: ThrottleCheck) => {
    if (!c.allowed) throw new Error(`refused: ${c.reason}`);
    return c.ticket;
  };

  it('lets a clean key run attempts in parallel (a connection pool)', () => {
    const t = new LoginThrottle(opts);
    const tickets = [1, 2, 3].map(() => allowed(t.check(K, T0)));
    expect(tickets.map((k) => t.report(k, 'success', T0 + 5))).toEqual(['forward', 'forward', 'forward']);
    expect(t.size).toBe(0);
  });

  it('refuses a second attempt of a key with failures while one is in flight', () => {
    const t = new LoginThrottle(opts);
    t.report(allowed(t.check(K, T0)), 'failure', T0);
    const inFlight = allowed(t.check(K, T0 + 1));
    expect(t.check(K, T0 + 2)).toMatchObject({ allowed: false, reason: 'in-flight' });
    t.report(inFlight, 'success', T0 + 3);
    expect(t.check(K, T0 + 4).allowed).toBe(true);
  });

  it('withholds the outcomes of attempts that raced a failure, and counts the burst once', () => {
    const t = new LoginThrottle(opts);
    const burst = [1, 2, 3, 4].map(() => allowed(t.check(K, T0)));
    const verdicts = (['failure', 'success', 'failure', 'abandoned'] as const).map((o, i) => t.report(burst[i]!, o, T0 + 10));
    expect(verdicts).toEqual(['forward', 'throttled', 'throttled', 'throttled']);
    // One failure counted (free), so the next attempt is allowed at once; the hidden success reset nothing.
    const next = allowed(t.check(K, T0 + 10));
    t.report(next, 'failure', T0 + 10);
    expect(t.check(K, T0 + 10)).toEqual({ allowed: false, reason: 'backoff', retryAfterMs: 100 });
  });

  it('does not let a forgotten attempt block its key past attemptTimeoutMs', () => {
    const t = new LoginThrottle({ ...opts, attemptTimeoutMs: 5_000 });
    t.report(allowed(t.check(K, T0)), 'failure', T0);
    allowed(t.check(K, T0)); // never reported
    expect(t.check(K, T0 + 4_999)).toMatchObject({ allowed: false, reason: 'in-flight' });
    expect(t.check(K, T0 + 5_000).allowed).toBe(true);
  });

  it('counts a failure reported after its key was evicted', () => {
    const t = new LoginThrottle({ ...opts, maxKeys: 1 });
    const ticket = allowed(t.check(K, T0));
    allowed(t.check('other', T0));
    expect(t.report(ticket, 'failure', T0)).toBe('forward');
    t.report(allowed(t.check(K, T0)), 'failure', T0);
    expect(t.check(K, T0)).toMatchObject({ allowed: false, reason: 'backoff' });
  });
});

describe('LoginThrottle: memory', () => {
  it('forgets keys that succeed', () => {
    const t = new LoginThrottle(opts);
    run(t, [fail(0), ok(1)]);
    expect(t.size).toBe(0);
  });

  it('keeps at most maxKeys, forgetting the least recently used', () => {
    const t = new LoginThrottle({ ...opts, maxKeys: 2 });
    const [a, b, c] = ['a', 'b', 'c'].map((ip) => throttleKey(ip, 'acme')) as [string, string, string];
    run(t, [fail(0, a), fail(0, a), fail(0, b), fail(0, b)]);
    expect(t.check(a, T0 + 1).allowed).toBe(false); // touches a: b is now the oldest
    run(t, [fail(1, c)]);
    expect(t.size).toBe(2);
    expect(t.check(a, T0 + 2).allowed).toBe(false);
    expect(t.check(b, T0 + 2).allowed).toBe(true); // forgotten
  });

  it('rejects nonsensical options', () => {
    expect(() => new LoginThrottle({ maxKeys: 0 })).toThrow(/maxKeys must be an integer ≥ 1/);
    expect(() => new LoginThrottle({ baseDelayMs: -1 })).toThrow(/baseDelayMs/);
    expect(() => new LoginThrottle({ maxDelayMs: 1.5 })).toThrow(/maxDelayMs/);
  });
});
