import { compareTimestamps, type Timestamp } from '../../shared/kv/timestamp.js';

/**
 * A hybrid logical clock: follows physical time, never goes backwards, and
 * moves past every timestamp it is shown, so causally later events get larger
 * timestamps across kvpods.
 */
export class HybridClock {
  private last: Timestamp = { wallMs: 0, logical: 0 };

  constructor(
    private readonly physicalNow: () => number = Date.now,
    /** Timestamps further ahead of local physical time than this are refused. */
    readonly maxOffsetMs = 500,
  ) {}

  now(): Timestamp {
    const wallMs = this.physicalNow();
    this.last = wallMs > this.last.wallMs ? { wallMs, logical: 0 } : { wallMs: this.last.wallMs, logical: this.last.logical + 1 };
    return this.last;
  }

  /** The largest timestamp handed out or observed so far. */
  peek(): Timestamp {
    return this.last;
  }

  /** Moves the clock past `ts`; false when `ts` is implausibly far in the future. */
  observe(ts: Timestamp): boolean {
    if (ts.wallMs > this.physicalNow() + this.maxOffsetMs) return false;
    if (compareTimestamps(ts, this.last) > 0) this.last = ts;
    return true;
  }

  /** Unconditionally moves past `ts` (recovery: timestamps this node itself wrote). */
  forward(ts: Timestamp): void {
    if (compareTimestamps(ts, this.last) > 0) this.last = ts;
  }
}
