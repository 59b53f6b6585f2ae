/** A hybrid logical clock timestamp: physical milliseconds plus a logical counter. */
export interface Timestamp {
  readonly wallMs: number;
  readonly logical: number;
}

export const ZERO_TIMESTAMP: Timestamp = { wallMs: 0, logical: 0 };

export function compareTimestamps(a: Timestamp, b: Timestamp): number {
  return a.wallMs !== b.wallMs ? a.wallMs - b.wallMs : a.logical - b.logical;
}

export function maxTimestamp(a: Timestamp, b: Timestamp): Timestamp {
  return compareTimestamps(a, b) >= 0 ? a : b;
}

export function isZeroTimestamp(ts: Timestamp): boolean {
  return ts.wallMs === 0 && ts.logical === 0;
}

export function formatTimestamp(ts: Timestamp): string {
  return `${ts.wallMs}.${ts.logical}`;
}
