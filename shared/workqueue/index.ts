// The operator's controller work queue, with client-go's semantics: a key is
// queued at most once and never handled by two workers at once (an add while
// it is handled reruns it afterwards), failures retry with capped exponential
// back-off, and a handler may ask to look again later. Timers only, no I/O.

/** `requeueAfterMs`: succeeded, but look again then (e.g. to scale an idle tenant down). */
export type HandlerResult = void | { readonly requeueAfterMs: number };
export type HandleOutcome = 'ok' | 'error' | 'requeue';

export interface WorkQueueHooks {
  /** Keys queued, after every change. */
  readonly onDepthChange?: (depth: number) => void;
  /** A failed key's back-off; an add meanwhile, or an earlier pending addAfter, runs it sooner. */
  readonly onRetry?: (key: string, delayMs: number, err: unknown) => void;
  readonly onHandled?: (key: string, ms: number, outcome: HandleOutcome) => void;
}

export interface WorkQueueOptions {
  /** First retry delay of a failing key; doubles per consecutive failure (default 5 ms). */
  readonly baseDelayMs?: number;
  /** Cap of the per-key retry delay (default 60 s). */
  readonly maxDelayMs?: number;
  /** Handlers running in parallel (default 4); one key is never handled by two at once. */
  readonly concurrency?: number;
  /** For metrics; a hook that throws is ignored rather than stalling the queue. */
  readonly hooks?: WorkQueueHooks;
}

export class WorkQueue {
  // A Set keeps insertion order, so it is the FIFO and the dedupe at once.
  private readonly queued = new Set<string>();
  private readonly inFlight = new Map<string, Promise<void>>();
  // Keys added while being handled: queued again once the handler returns.
  private readonly dirty = new Set<string>();
  private readonly waiting = new Map<string, { readonly at: number; readonly timer: NodeJS.Timeout }>();
  private readonly failureCounts = new Map<string, number>();
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly concurrency: number;
  private readonly hooks: WorkQueueHooks;
  private started = false;
  private stopped = false;

  constructor(
    private readonly handler: (key: string) => Promise<HandlerResult>,
    options: WorkQueueOptions = {},
  ) {
    this.baseDelayMs = options.baseDelayMs ?? 5;
    this.maxDelayMs = options.maxDelayMs ?? 60_000;
    this.concurrency = options.concurrency ?? 4;
    this.hooks = options.hooks ?? {};
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) throw new RangeError(`concurrency ${this.concurrency}`);
  }

  /** Keys queued: not in flight, not waiting on a timer. */
  get depth(): number {
    return this.queued.size;
  }

  /** Consecutive failures of the key (0 after a success). */
  failures(key: string): number {
    return this.failureCounts.get(key) ?? 0;
  }

  add(key: string): void {
    if (this.stopped) return;
    // New information is worth a reconcile now (level-triggered); that run
    // re-declares any later look it still needs, so a pending timer is dropped.
    this.clearWait(key);
    if (this.inFlight.has(key)) this.dirty.add(key);
    else if (!this.queued.has(key)) {
      this.queued.add(key);
      this.emit(this.hooks.onDepthChange, this.queued.size);
      this.pump();
    }
  }

  /** An add in `delayMs`; of several pending for one key the earliest wins. */
  addAfter(key: string, delayMs: number): void {
    // A run that starts after this call is already due.
    if (this.stopped || this.queued.has(key) || this.dirty.has(key)) return;
    if (delayMs <= 0) return this.add(key);
    const at = performance.now() + delayMs;
    const pending = this.waiting.get(key);
    if (pending && pending.at <= at) return;
    this.clearWait(key);
    const timer = setTimeout(() => this.add(key), delayMs);
    this.waiting.set(key, { at, timer });
  }

  start(): void {
    if (this.stopped) return;
    this.started = true;
    this.pump();
  }

  /** No new handling, timers cleared, queued keys dropped; resolves when handlers in flight return. */
  async shutDown(): Promise<void> {
    this.stopped = true;
    for (const key of [...this.waiting.keys()]) this.clearWait(key);
    this.dirty.clear();
    if (this.queued.size > 0) {
      this.queued.clear();
      this.emit(this.hooks.onDepthChange, 0);
    }
    await Promise.all(this.inFlight.values());
  }

  private pump(): void {
    while (this.started && !this.stopped && this.inFlight.size < this.concurrency) {
      const key = this.queued.values().next().value;
      if (key === undefined) return;
      this.queued.delete(key);
      this.emit(this.hooks.onDepthChange, this.queued.size);
      this.inFlight.set(key, this.handle(key));
    }
  }

  // Never rejects: shutDown awaits it and nobody else does.
  private async handle(key: string): Promise<void> {
    // Off the caller's stack, so a handler's own add() never re-enters pump()
    // before this key is marked in flight.
    await Promise.resolve();
    if (this.stopped) {
      this.inFlight.delete(key);
      return;
    }
    const started = performance.now();
    let outcome: HandleOutcome = 'ok';
    let requeueAfterMs = 0;
    let error: unknown;
    try {
      const result = await this.handler(key);
      if (result) {
        outcome = 'requeue';
        requeueAfterMs = result.requeueAfterMs;
      }
    } catch (err) {
      outcome = 'error';
      error = err;
    }
    this.inFlight.delete(key);
    let delayMs = requeueAfterMs;
    if (outcome === 'error') {
      const failures = this.failures(key) + 1;
      this.failureCounts.set(key, failures);
      delayMs = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (failures - 1));
      if (!this.stopped) this.emit(this.hooks.onRetry, key, delayMs, error);
    } else this.failureCounts.delete(key);
    // An add during the run queues the key now, which covers the retry or requeue.
    if (this.dirty.delete(key)) this.add(key);
    else if (outcome !== 'ok') this.addAfter(key, delayMs);
    this.emit(this.hooks.onHandled, key, performance.now() - started, outcome);
    this.pump();
  }

  private clearWait(key: string): void {
    const pending = this.waiting.get(key);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.waiting.delete(key);
  }

  private emit<A extends unknown[]>(hook: ((...args: A) => void) | undefined, ...args: A): void {
    try {
      hook?.(...args);
    } catch {
      // Metrics must not stall reconciles.
    }
  }
}
