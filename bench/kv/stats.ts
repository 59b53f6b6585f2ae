// Closed-loop load generation and the statistics the benchmark reports.
import { performance } from 'node:perf_hooks';

export interface PhaseResult {
  ops: number;
  /** From the start until the last loop finished its last operation. */
  elapsedMs: number;
  opsPerSec: number;
  /** Latency of every operation, in milliseconds. */
  latenciesMs: number[];
}

/**
 * Runs `concurrency` loops that each issue `op` back to back (the next one
 * starts when the previous one resolved) until `durationMs` have passed.
 * `op` gets the index of its loop.
 */
export async function runClosedLoop(concurrency: number, durationMs: number, op: (loop: number) => Promise<void>): Promise<PhaseResult> {
  const latenciesMs: number[] = [];
  const started = performance.now();
  const deadline = started + durationMs;
  const loop = async (_: unknown, index: number): Promise<void> => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      await op(index);
      latenciesMs.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsedMs = performance.now() - started;
  return { ops: latenciesMs.length, elapsedMs, opsPerSec: (latenciesMs.length * 1000) / elapsedMs, latenciesMs };
}

/** Nearest-rank percentile of `sorted` (ascending), p in [0, 100]. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? Number.NaN;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export interface LatencySummary {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
}

export function summarize(latenciesMs: readonly number[][]): LatencySummary {
  const all: number[] = [];
  for (const part of latenciesMs) for (const x of part) all.push(x);
  all.sort((a, b) => a - b);
  const sum = all.reduce((n, x) => n + x, 0);
  return { samples: all.length, p50Ms: percentile(all, 50), p99Ms: percentile(all, 99), meanMs: all.length ? sum / all.length : Number.NaN };
}

/** Rounds for JSON output and display. */
export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
