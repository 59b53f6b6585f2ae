// The Prometheus text the operator's /metrics serves, read back: plain
// samples, and histograms as cumulative buckets, so a phase can be measured as
// the difference of two scrapes.

export type Scrape = ReadonlyMap<string, number>;

/** Every sample of a scrape, keyed by `name{labels}` exactly as served (labels in the served order). */
export function parseScrape(text: string): Scrape {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?)\s+(\S+)/.exec(line);
    if (!m?.[1] || m[2] === undefined) continue;
    const value = Number(m[2]);
    if (!Number.isNaN(value)) out.set(m[1], value);
  }
  return out;
}

export async function scrape(opsAddress: string): Promise<Scrape> {
  const res = await fetch(`http://${opsAddress}/metrics`);
  if (!res.ok) throw new Error(`GET http://${opsAddress}/metrics: HTTP ${res.status}`);
  return parseScrape(await res.text());
}

export function sample(s: Scrape, key: string): number | undefined {
  return s.get(key);
}

export interface HistogramDelta {
  count: number;
  sumS: number;
  meanMs: number | null;
  /** Upper bounds (ms) of the buckets the p50 and p99 fall in: "at most". */
  p50AtMostMs: number | '+Inf' | null;
  p99AtMostMs: number | '+Inf' | null;
  /** Cumulative counts per upper bound (ms), over the phase. */
  bucketsMs: Record<string, number>;
}

/** A histogram's observations between two scrapes. */
export function histogramDelta(before: Scrape, after: Scrape, name: string): HistogramDelta {
  const bounds: { le: number; count: number }[] = [];
  const prefix = `${name}_bucket{le="`;
  for (const [key, value] of after) {
    if (!key.startsWith(prefix)) continue;
    const leText = key.slice(prefix.length, key.indexOf('"', prefix.length));
    const le = leText === '+Inf' ? Infinity : Number(leText);
    bounds.push({ le, count: value - (before.get(key) ?? 0) });
  }
  bounds.sort((a, b) => a.le - b.le);
  const count = (after.get(`${name}_count`) ?? 0) - (before.get(`${name}_count`) ?? 0);
  const sumS = (after.get(`${name}_sum`) ?? 0) - (before.get(`${name}_sum`) ?? 0);
  const at = (q: number): number | '+Inf' | null => {
    if (count === 0) return null;
    const b = bounds.find((x) => x.count >= q * count);
    return b === undefined ? null : b.le === Infinity ? '+Inf' : Math.round(b.le * 1000);
  };
  return {
    count,
    sumS: Math.round(sumS * 1000) / 1000,
    meanMs: count === 0 ? null : Math.round((sumS / count) * 1000 * 10) / 10,
    p50AtMostMs: at(0.5),
    p99AtMostMs: at(0.99),
    bucketsMs: Object.fromEntries(bounds.map((b) => [b.le === Infinity ? '+Inf' : String(Math.round(b.le * 1000)), b.count])),
  };
}

/** The sum over every labelled series of a counter, between two scrapes (e.g. reconciles of any result). */
export function counterDelta(before: Scrape, after: Scrape, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of after) {
    if (key !== name && !key.startsWith(`${name}{`)) continue;
    const label = key === name ? 'total' : key.slice(name.length);
    out[label] = value - (before.get(key) ?? 0);
  }
  return out;
}
