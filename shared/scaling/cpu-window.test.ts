import { describe, expect, it } from 'vitest';
import { CpuWindow, DEFAULT_CPU_WINDOW_MS, type CpuSample, type CpuStats } from './cpu-window.js';

const S = 1_000;
const M = 60_000;
const T0 = 1_700_000_000_000;
// Every series below runs from T0 to NOW, one sample every 10 s: 31 samples,
// the last one at NOW itself, so 30 ten-second stretches cover the window exactly.
const NOW = T0 + 5 * M;

type Pods = Record<string, number | null>;

/** A sample every `step` ms from `from` to `to` inclusive; `pods(k, at)` gives the k-th sample's pods. */
function series(pods: (k: number, at: number) => Pods, from = T0, to = NOW, step = 10 * S): CpuSample[] {
  const samples: CpuSample[] = [];
  for (let at = from, k = 0; at <= to; at += step, k++) samples.push({ at, pods: pods(k, at) });
  return samples;
}

function windowOf(samples: readonly CpuSample[]): CpuWindow {
  return samples.reduce((w, s) => w.withSample(s), CpuWindow.empty());
}

/** A deterministic shuffle (the same on every run). */
function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  let seed = 42;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

const steady = series(() => ({ a: 0.6, b: 0.6 }));
const spike = series((k) => ({ a: k === 18 ? 2.4 : 0.3 }));

interface StatsCase {
  name: string;
  samples: CpuSample[];
  now?: number;
  stats: CpuStats | undefined;
}

const statsCases: StatsCase[] = [
  {
    name: 'steady load of two pods at 0.6 cores averages and peaks at 1.2 with the window fully covered',
    samples: steady,
    stats: { average: 1.2, peak: 1.2, coverage: 1 },
  },
  {
    name: 'one 10-second spike to 2.4 cores sets the peak but moves the average only by its share of time',
    samples: spike,
    // 29 stretches at 0.3 and one at 2.4, ten seconds each, over 300 s.
    stats: { average: (29 * 0.3 + 2.4) / 30, peak: 2.4, coverage: 1 },
  },
  {
    name: 'a slow ramp from 0 to 3 cores averages the stretches before the last reading and peaks at that reading',
    samples: series((k) => ({ a: k / 10 })),
    // Each reading stands for the 10 s after it: the mean of 0.0 .. 2.9.
    stats: { average: 1.45, peak: 3, coverage: 1 },
  },
  {
    name: 'bursty load alternating between 0 and 2 cores averages 1 and peaks at 2',
    samples: series((k) => ({ a: k % 2 === 0 ? 0 : 2 })),
    stats: { average: 1, peak: 2, coverage: 1 },
  },
  {
    name: 'a pod that disappears halfway stops counting from the first sample that no longer lists it',
    samples: series((k): Pods => (k < 15 ? { a: 1, b: 1 } : { a: 1 })),
    stats: { average: 1.5, peak: 2, coverage: 1 },
  },
  {
    name: 'two failed reads of a pod in a row are bridged by its last reading',
    samples: series((k) => ({ a: 1, b: k === 10 || k === 11 ? null : 1 })),
    stats: { average: 2, peak: 2, coverage: 1 },
  },
  {
    name: 'a pod unreadable for longer than the hold time stops counting until it is read again',
    // Last read at 90 s; carried at 100, 110 and 120 s (30 s), not at 130 and 140 s.
    samples: series((k) => ({ a: 1, b: k >= 10 && k <= 14 ? null : 1 })),
    stats: { average: (300 * 2 - 20) / 300, peak: 2, coverage: 1 },
  },
  {
    name: 'a two-minute gap counts as unknown, not as zero: the average is over the covered 210 s only',
    // 2 cores from 0 to 90 s (the 90 s reading holds 30 s, to 120 s), nothing
    // until 210 s, then 0.5 cores to the end.
    samples: series((k) => ({ a: k < 10 ? 2 : 0.5 })).filter((_, k) => k < 10 || k > 20),
    stats: { average: (120 * 2 + 90 * 0.5) / 210, peak: 2, coverage: 210 / 300 },
  },
  {
    name: 'the same spike series fed out of order gives the same answers',
    samples: shuffled(spike),
    stats: { average: (29 * 0.3 + 2.4) / 30, peak: 2.4, coverage: 1 },
  },
  {
    name: 'a spike six minutes ago has left the window: neither the peak nor the average sees it',
    samples: series((_, at) => ({ a: at === NOW - 6 * M ? 5 : 0.3 }), T0 - 2 * M),
    stats: { average: 0.3, peak: 0.3, coverage: 1 },
  },
  {
    name: 'a reading taken just before the window covers its first seconds but is not the peak',
    samples: [{ at: T0 - 5 * S, pods: { a: 3 } }, ...series(() => ({ a: 1 }), T0 + 5 * S, NOW - 5 * S)],
    // 5 s at 3 cores, then 295 s at 1 core.
    stats: { average: (5 * 3 + 295) / 300, peak: 1, coverage: 1 },
  },
  {
    name: 'a young history of 20 s averages what it has and reports its small coverage',
    samples: [
      { at: NOW - 20 * S, pods: { a: 1 } },
      { at: NOW - 10 * S, pods: { a: 2 } },
      { at: NOW, pods: { a: 9 } },
    ],
    stats: { average: 1.5, peak: 9, coverage: 20 / 300 },
  },
  {
    name: 'a single sample taken right now is all there is: it is the average and the peak',
    samples: [{ at: NOW, pods: { a: 0.7, b: 0.2 } }],
    stats: { average: 0.9, peak: 0.9, coverage: 0 },
  },
  {
    name: 'a tenant with no pods reads zero cores',
    samples: series(() => ({})),
    stats: { average: 0, peak: 0, coverage: 1 },
  },
  {
    name: 'samples newer than now are not counted yet',
    samples: [...series(() => ({ a: 0.5 })), { at: NOW + 10 * S, pods: { a: 8 } }],
    stats: { average: 0.5, peak: 0.5, coverage: 1 },
  },
  { name: 'an empty window knows nothing', samples: [], stats: undefined },
  {
    name: 'a window whose samples all lie before its start knows nothing',
    samples: series(() => ({ a: 1 }), T0 - 3 * M, T0 - 1 * S),
    stats: undefined,
  },
  {
    name: 'asked later, the same samples slide out of the window',
    samples: steady,
    now: NOW + 4 * M,
    // Readings from T0 + 4m to NOW remain; the last one covers 30 s after NOW, then a gap.
    stats: { average: 1.2, peak: 1.2, coverage: 90 / 300 },
  },
];

describe('CpuWindow statistics over synthetic 5-minute series', () => {
  it.each(statsCases)('$name', ({ samples, now = NOW, stats }) => {
    const window = windowOf(samples);
    const got = window.stats(now);
    if (stats === undefined) {
      expect(got).toBeUndefined();
      expect(window.average(now)).toBeUndefined();
      expect(window.peak(now)).toBeUndefined();
      return;
    }
    expect(got).toBeDefined();
    expect(got?.average).toBeCloseTo(stats.average, 9);
    expect(got?.peak).toBeCloseTo(stats.peak, 9);
    expect(got?.coverage).toBeCloseTo(stats.coverage, 9);
    expect(window.average(now)).toBe(got?.average);
    expect(window.peak(now)).toBe(got?.peak);
  });
});

interface PodCase {
  name: string;
  samples: CpuSample[];
  averages: Record<string, number>;
}

const podCases: PodCase[] = [
  { name: 'each pod of a steady tenant averages its own load', samples: steady, averages: { a: 0.6, b: 0.6 } },
  {
    name: 'a pod that has gone is left out',
    samples: series((k): Pods => (k < 15 ? { a: 1, b: 3 } : { a: 1 })),
    averages: { a: 1 },
  },
  {
    name: 'a pod that joined late averages over its own time only',
    samples: series((k): Pods => (k < 20 ? { a: 0.2 } : { a: 0.2, c: 0.9 })),
    averages: { a: 0.2, c: 0.9 },
  },
  {
    name: 'a pod whose newest reading failed is still there, with its earlier readings',
    samples: series((k) => ({ a: 0.4, b: k === 30 ? null : 0.8 })),
    averages: { a: 0.4, b: 0.8 },
  },
  {
    name: 'a pod never read in the window is left out until it is',
    samples: series(() => ({ a: 0.4, fresh: null })),
    averages: { a: 0.4 },
  },
  { name: 'an empty window has no pods', samples: [], averages: {} },
];

describe('CpuWindow per-pod averages', () => {
  it.each(podCases)('$name', ({ samples, averages }) => {
    const got = Object.fromEntries(windowOf(samples).podAverages(NOW));
    expect(Object.keys(got).sort()).toEqual(Object.keys(averages).sort());
    for (const [pod, cores] of Object.entries(averages)) expect(got[pod]).toBeCloseTo(cores, 9);
  });
});

describe('CpuWindow bookkeeping', () => {
  it('is immutable: adding a sample returns a new window and leaves the old one as it was', () => {
    const before = windowOf(steady.slice(0, 5));
    const after = before.withSample({ at: T0 + 50 * S, pods: { a: 9 } });
    expect(before.size).toBe(5);
    expect(after.size).toBe(6);
    expect(before.peak(T0 + 50 * S)).toBeCloseTo(1.2, 9);
    expect(after.peak(T0 + 50 * S)).toBe(9);
  });

  it('replaces a sample that arrives again for the same timestamp (a retried scrape)', () => {
    const window = windowOf(spike).withSample({ at: T0 + 180 * S, pods: { a: 0.3 } });
    expect(window.size).toBe(spike.length);
    expect(window.peak(NOW)).toBe(0.3);
  });

  it('drops a late sample too old to matter, and keeps one that still falls in the window', () => {
    const window = windowOf(steady);
    expect(window.withSample({ at: NOW - 10 * M, pods: { a: 99 } })).toBe(window);
    expect(window.withSample({ at: T0 + 5 * S, pods: { a: 99 } }).peak(NOW)).toBe(99);
  });

  it('keeps memory bounded: an hour of samples keeps only the window and one hold time before it', () => {
    const window = windowOf(series(() => ({ a: 0.5 }), T0, T0 + 60 * M));
    // Samples from T0 + 60m − 5m30s to T0 + 60m, one every 10 s.
    expect(window.size).toBe(34);
    expect(window.stats(T0 + 60 * M)).toEqual({ average: 0.5, peak: 0.5, coverage: 1 });
  });

  it('uses a 5-minute window and a 30 s hold by default, and honours custom ones', () => {
    // The spike series without its readings from 4m10s to 4m40s.
    const sparse = spike.filter((s) => s.at <= T0 + 4 * M || s.at >= NOW - 10 * S);
    expect(CpuWindow.empty().windowMs).toBe(DEFAULT_CPU_WINDOW_MS);
    expect(windowOf(sparse).stats(NOW)?.peak).toBe(2.4);
    expect(windowOf(sparse).stats(NOW)?.coverage).toBeCloseTo(280 / 300, 9);
    const short = sparse.reduce((w, s) => w.withSample(s), CpuWindow.empty({ windowMs: M, holdMs: 10 * S }));
    // The spike (at 3m) is before this minute; each reading covers 10 s: 4m0s and 4m50s.
    expect(short.stats(NOW)).toEqual({ average: 0.3, peak: 0.3, coverage: 20 / 60 });
  });

  it.each([
    ['a non-finite sample time', { at: NaN, pods: { a: 1 } }],
    ['a negative reading', { at: T0, pods: { a: -0.1 } }],
    ['an infinite reading', { at: T0, pods: { a: Infinity } }],
    ['a NaN reading', { at: T0, pods: { a: NaN } }],
  ] satisfies [string, CpuSample][])('refuses %s', (_, sample) => {
    expect(() => CpuWindow.empty().withSample(sample)).toThrow(RangeError);
  });

  it.each([
    ['a zero window', { windowMs: 0 }],
    ['a negative hold time', { holdMs: -1 }],
    ['an infinite window', { windowMs: Infinity }],
  ])('refuses %s', (_, options) => {
    expect(() => CpuWindow.empty(options)).toThrow(RangeError);
  });
});
