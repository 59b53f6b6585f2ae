// Where ranges live, as last learned from the kvpods: descriptors sorted by
// start key, non-overlapping. A RANGE_NOT_HERE answer replaces what it
// contradicts.
import type { RangeDescriptor } from '../protocol.js';
import { containsBefore, spanContainsKey } from '../../keys/index.js';

export class RangeCache {
  private ranges: RangeDescriptor[] = [];

  get size(): number {
    return this.ranges.length;
  }

  /** The range holding `key` or, with `before`, the keys just below it. */
  lookup(key: Buffer, before = false): RangeDescriptor | undefined {
    let lo = 0;
    let hi = this.ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const range = this.ranges[mid];
      if (!range) break;
      const cmp = Buffer.compare(key, range.startKey);
      if (before ? cmp <= 0 : cmp < 0) hi = mid - 1;
      else if (before ? containsBefore(range, key) : spanContainsKey(range, key)) return range;
      else lo = mid + 1;
    }
    return undefined;
  }

  insert(range: RangeDescriptor): void {
    const overlaps = (r: RangeDescriptor) =>
      (range.endKey.length === 0 || Buffer.compare(r.startKey, range.endKey) < 0) &&
      (r.endKey.length === 0 || Buffer.compare(range.startKey, r.endKey) < 0);
    const stale = this.ranges.filter(overlaps);
    // An older generation never replaces what a newer answer taught us.
    if (stale.some((r) => r.rangeId === range.rangeId && r.generation > range.generation)) return;
    this.ranges = [...this.ranges.filter((r) => !overlaps(r)), range].sort((a, b) => Buffer.compare(a.startKey, b.startKey));
  }

  evict(range: RangeDescriptor): void {
    this.ranges = this.ranges.filter((r) => r.rangeId !== range.rangeId);
  }
}
