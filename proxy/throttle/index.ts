// Back-off for failed logins per (client IP, tenant), after CockroachDB's
// sqlproxy throttler: after a failure, attempts from that key within the
// back-off window are refused without contacting a backend; a success resets
// the key. Pure: the caller passes `now`; memory is an LRU of at most maxKeys.
//
// Racing attempts: a key with failures allows one attempt in flight at a time.
// Attempts that started together before any failure (a connection pool) all
// run, but once one of them fails, the others' outcomes are withheld
// ('throttled'), so a burst of guesses yields one answer, not many.

export const THROTTLE_SQLSTATE = '08004';
export const THROTTLE_MESSAGE = 'too many failed login attempts';
export const THROTTLE_HINT = 'Repeated authentication failures from your address delay new attempts; check the user name and password.';

export interface ThrottleOptions {
  /** Wait after the second consecutive failure; doubles with each further one. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Keys remembered; the least recently used is forgotten first. */
  maxKeys?: number;
  /** An attempt not reported after this long no longer blocks its key (a caller bug must not lock a user out). */
  attemptTimeoutMs?: number;
}

export const DEFAULT_THROTTLE_OPTIONS: Readonly<Required<ThrottleOptions>> = {
  baseDelayMs: 250,
  maxDelayMs: 30_000,
  maxKeys: 10_000,
  attemptTimeoutMs: 60_000,
};

/** Joins the two parts of a throttle key; a tenant name cannot contain "/". */
export const throttleKey = (clientIp: string, tenant: string): string => `${tenant}/${clientIp}`;

/** Handed out by an allowed check; report exactly once with it. */
export interface AttemptTicket {
  readonly key: string;
  /** The key's last failure when the attempt began, to spot failures that raced it. */
  readonly failureSeq: number;
}

export type ThrottleCheck =
  | { allowed: true; ticket: AttemptTicket }
  | { allowed: false; reason: 'backoff' | 'in-flight'; retryAfterMs: number };

/** 'abandoned': the attempt ended without an authentication result (client left, backend unreachable). */
export type AttemptOutcome = 'success' | 'failure' | 'abandoned';

/** 'forward': tell the client what the backend said. 'throttled': say THROTTLE_MESSAGE instead. */
export type ReportVerdict = 'forward' | 'throttled';

interface KeyState {
  failures: number;
  failureSeq: number;
  retryAt: number;
  inFlight: number;
  lastStartAt: number;
}

export class LoginThrottle {
  private readonly options: Required<ThrottleOptions>;
  // Map iteration follows insertion order; touching a key re-inserts it, so the first key is the least recently used.
  private readonly keys = new Map<string, KeyState>();
  private seq = 0;

  constructor(options: ThrottleOptions = {}) {
    this.options = { ...DEFAULT_THROTTLE_OPTIONS, ...options };
    for (const [name, v] of Object.entries(this.options)) {
      if (!Number.isSafeInteger(v) || v < (name === 'maxKeys' ? 1 : 0)) {
        throw new RangeError(`throttle option ${name} must be an integer ≥ ${name === 'maxKeys' ? 1 : 0}, got ${v}`);
      }
    }
  }

  /** Keys currently remembered. */
  get size(): number {
    return this.keys.size;
  }

  check(key: string, now: number): ThrottleCheck {
    let state = this.touch(key);
    if (state && state.failures > 0) {
      if (now < state.retryAt) return { allowed: false, reason: 'backoff', retryAfterMs: state.retryAt - now };
      if (state.inFlight > 0 && now - state.lastStartAt < this.options.attemptTimeoutMs) {
        return { allowed: false, reason: 'in-flight', retryAfterMs: Math.max(this.options.baseDelayMs, 1) };
      }
    }
    state ??= this.insert(key);
    state.inFlight++;
    state.lastStartAt = now;
    return { allowed: true, ticket: { key, failureSeq: state.failureSeq } };
  }

  report(ticket: AttemptTicket, outcome: AttemptOutcome, now: number): ReportVerdict {
    const state = this.touch(ticket.key);
    if (state) state.inFlight = Math.max(0, state.inFlight - 1);
    // Like CockroachDB, a raced attempt neither counts nor resets: its outcome is simply withheld.
    if ((state?.failureSeq ?? 0) > ticket.failureSeq) return 'throttled';
    if (outcome === 'failure') {
      const s = state ?? this.insert(ticket.key);
      s.failures++;
      s.failureSeq = ++this.seq;
      s.retryAt = now + this.delay(s.failures);
    } else if (state && outcome === 'success') {
      state.failures = 0;
      state.retryAt = 0;
    }
    if (state && state.failures === 0 && state.inFlight === 0) this.keys.delete(ticket.key);
    return 'forward';
  }

  /** The first failure costs nothing (a typo); then baseDelayMs, doubling up to maxDelayMs. */
  private delay(failures: number): number {
    if (failures <= 1) return 0;
    return Math.min(this.options.baseDelayMs * 2 ** (failures - 2), this.options.maxDelayMs);
  }

  private touch(key: string): KeyState | undefined {
    const state = this.keys.get(key);
    if (state) {
      this.keys.delete(key);
      this.keys.set(key, state);
    }
    return state;
  }

  private insert(key: string): KeyState {
    if (this.keys.size >= this.options.maxKeys) {
      const [oldest] = this.keys.keys();
      if (oldest !== undefined) this.keys.delete(oldest);
    }
    const state: KeyState = { failures: 0, failureSeq: 0, retryAt: 0, inFlight: 0, lastStartAt: 0 };
    this.keys.set(key, state);
    return state;
  }
}
