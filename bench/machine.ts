// What every benchmark report says about the machine it ran on, and the
// command-line number check they share.
import { arch, cpus, loadavg, platform, release, totalmem } from 'node:os';
import { round } from './kv/stats.js';

export function machineInfo(loadavgAtStart: readonly number[] = loadavg()) {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    totalMemGiB: round(totalmem() / 2 ** 30, 1),
    platform: `${platform()} ${release()} ${arch()}`,
    node: process.version,
    loadavgAtStart: loadavgAtStart.map((x) => round(x, 2)),
  };
}

/** A flag's value as a whole number ≥ min; `unit` names what it counts in the message. */
export function wholeNumber(flag: string, raw: string | undefined, min: number, unit = ''): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${flag} must be a whole number${unit ? ` of ${unit}` : ''}, at least ${min}; got ${raw}`);
  return n;
}
