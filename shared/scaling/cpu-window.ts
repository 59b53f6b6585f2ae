// A tenant's CPU history over the last few minutes, the autoscaler's only load
// signal (design brief, "Desired pod count"). Immutable and clock-free: the
// caller stamps each sample and passes `now` to every question, so the operator,
// the local orchestrator and the tests all get the same answers.

/** How far back the average and the peak look: the brief's 5 minutes. */
export const DEFAULT_CPU_WINDOW_MS = 5 * 60_000;

/**
 * How long one reading stands for. Samples come about every 10 s, so three
 * intervals bridge two missed scrapes in a row; a longer silence is a gap (not
 * known, rather than zero), and a pod whose reading failed for longer stops
 * counting.
 */
export const DEFAULT_SAMPLE_HOLD_MS = 30_000;

/** One scrape of a tenant's pods. */
export interface CpuSample {
  /** When the pods were read, in milliseconds (the caller's clock). */
  readonly at: number;
  /**
   * Every pod the tenant has at `at`, with the cpuCores its `/load` reported.
   * `null`: the pod is there but could not be read; its last reading stands in
   * for up to the hold time. A pod that is not listed has gone and stops counting.
   */
  readonly pods: Readonly<Record<string, number | null>>;
}

export interface CpuStats {
  /** Total cores across the tenant's pods, time-weighted over the part of the window that samples cover. */
  readonly average: number;
  /** The highest total of any sample taken in the window. */
  readonly peak: number;
  /** How much of the window samples cover, 0..1: gaps and a young history make it smaller. */
  readonly coverage: number;
}

export interface CpuWindowOptions {
  windowMs?: number;
  holdMs?: number;
}

interface Stored {
  readonly at: number;
  readonly pods: ReadonlyMap<string, number | null>;
}

/** A sample with every pod's value settled: failed readings carried forward or dropped. */
interface Resolved {
  readonly at: number;
  readonly pods: ReadonlyMap<string, number>;
  readonly total: number;
}

/** A stretch of time over which one resolved sample stands. */
interface Span {
  readonly sample: Resolved;
  readonly from: number;
  readonly to: number;
}

export class CpuWindow {
  private constructor(
    readonly windowMs: number,
    readonly holdMs: number,
    // Sorted by `at`, one sample per timestamp.
    private readonly samples: readonly Stored[],
  ) {}

  static empty(options: CpuWindowOptions = {}): CpuWindow {
    const windowMs = options.windowMs ?? DEFAULT_CPU_WINDOW_MS;
    const holdMs = options.holdMs ?? DEFAULT_SAMPLE_HOLD_MS;
    if (!Number.isFinite(windowMs) || windowMs <= 0) throw new RangeError(`windowMs must be a positive number of milliseconds, got ${windowMs}`);
    if (!Number.isFinite(holdMs) || holdMs <= 0) throw new RangeError(`holdMs must be a positive number of milliseconds, got ${holdMs}`);
    return new CpuWindow(windowMs, holdMs, []);
  }

  /** Number of samples kept (the window plus what a carried-forward reading may still need). */
  get size(): number {
    return this.samples.length;
  }

  /**
   * A new window with `sample` added; this one is unchanged. Samples may come in
   * any order. One at the timestamp of a kept sample replaces it (a retried
   * scrape); one too old to matter any more is dropped.
   */
  withSample(sample: CpuSample): CpuWindow {
    if (!Number.isFinite(sample.at)) throw new RangeError(`sample time must be a finite timestamp, got ${sample.at}`);
    const pods = new Map<string, number | null>();
    for (const [pod, cores] of Object.entries(sample.pods)) {
      if (cores !== null && (!Number.isFinite(cores) || cores < 0)) {
        throw new RangeError(`cpuCores of pod ${pod} must be a finite number >= 0 or null, got ${cores}`);
      }
      pods.set(pod, cores);
    }
    const newest = Math.max(sample.at, this.samples.at(-1)?.at ?? -Infinity);
    // Keep one hold time before the window too: a reading from then still covers
    // the window's first seconds and stands in for failed reads inside it.
    const oldest = newest - this.windowMs - this.holdMs;
    if (sample.at < oldest) return this;
    const kept = this.samples.filter((s) => s.at >= oldest && s.at !== sample.at);
    const index = kept.findIndex((s) => s.at > sample.at);
    kept.splice(index === -1 ? kept.length : index, 0, { at: sample.at, pods });
    return new CpuWindow(this.windowMs, this.holdMs, kept);
  }

  /** Average and peak over the window ending at `now`; undefined when no sample was taken in it. */
  stats(now: number): CpuStats | undefined {
    const start = now - this.windowMs;
    const resolved = this.resolve(now);
    const inWindow = resolved.filter((s) => s.at >= start);
    if (inWindow.length === 0) return undefined;
    const spans = this.spans(resolved, now);
    const covered = sum(spans.map((s) => s.to - s.from));
    // Samples taken exactly at `now` cover no time yet; their plain mean is all we know.
    const average =
      covered > 0 ? sum(spans.map((s) => s.sample.total * (s.to - s.from))) / covered : sum(inWindow.map((s) => s.total)) / inWindow.length;
    return { average, peak: Math.max(...inWindow.map((s) => s.total)), coverage: covered / this.windowMs };
  }

  /** Time-weighted average of the tenant's total cores over the window; undefined when no sample was taken in it. */
  average(now: number): number | undefined {
    return this.stats(now)?.average;
  }

  /** The highest total of any sample in the window; undefined when no sample was taken in it. */
  peak(now: number): number | undefined {
    return this.stats(now)?.peak;
  }

  /**
   * Each current pod's time-weighted average cores over the window: steadier
   * than one 1-second reading for choosing which pod to drain. Current pods are
   * those of the newest sample up to `now`; pods that have gone are left out, and
   * so are pods with no reading in the window yet.
   */
  podAverages(now: number): ReadonlyMap<string, number> {
    const resolved = this.resolve(now);
    const current = this.samples.filter((s) => s.at <= now).at(-1);
    const result = new Map<string, number>();
    if (current === undefined) return result;
    const spans = this.spans(resolved, now);
    for (const pod of current.pods.keys()) {
      let weighted = 0;
      let covered = 0;
      for (const { sample, from, to } of spans) {
        const cores = sample.pods.get(pod);
        if (cores === undefined) continue;
        weighted += cores * (to - from);
        covered += to - from;
      }
      if (covered > 0) result.set(pod, weighted / covered);
    }
    return result;
  }

  /** Samples up to `now`, oldest first, with failed readings settled. */
  private resolve(now: number): Resolved[] {
    const lastRead = new Map<string, { at: number; cores: number }>();
    const resolved: Resolved[] = [];
    for (const sample of this.samples) {
      if (sample.at > now) break;
      const pods = new Map<string, number>();
      for (const [pod, cores] of sample.pods) {
        if (cores !== null) {
          lastRead.set(pod, { at: sample.at, cores });
          pods.set(pod, cores);
          continue;
        }
        // Measured from the last real reading, so a run of failures cannot keep a value alive forever.
        const last = lastRead.get(pod);
        if (last !== undefined && sample.at - last.at <= this.holdMs) pods.set(pod, last.cores);
      }
      resolved.push({ at: sample.at, pods, total: sum([...pods.values()]) });
    }
    return resolved;
  }

  /** Each sample stands until the next one or for the hold time, whichever is first, clipped to the window. */
  private spans(resolved: readonly Resolved[], now: number): Span[] {
    const start = now - this.windowMs;
    const spans: Span[] = [];
    resolved.forEach((sample, i) => {
      const next = resolved[i + 1]?.at ?? now;
      const from = Math.max(sample.at, start);
      const to = Math.min(next, sample.at + this.holdMs, now);
      if (to > from) spans.push({ sample, from, to });
    });
    return spans;
  }
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
