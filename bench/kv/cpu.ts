// CPU accounting per phase: this process, the kvpod process, and the whole
// machine (to show how much of it other work took while the phase ran).
import { readFileSync } from 'node:fs';
import { cpuUsage } from 'node:process';

/** CPU seconds this process has used (all threads). */
export function ownCpuSeconds(): number {
  const u = cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Busy and total CPU seconds of the whole machine since boot, from /proc/stat; undefined without /proc. */
export function machineCpuSeconds(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...
    const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    return { busy: (total - idle) / 100, total: total / 100 };
  } catch {
    return undefined;
  }
}

export interface CpuSample {
  bench: number;
  kvpod: number | undefined;
  machine: { busy: number; total: number } | undefined;
}

export interface CpuDelta {
  /** CPU seconds of this (the load-generating) process. */
  benchS: number;
  /** CPU seconds of the kvpod process. */
  kvpodS: number | null;
  /** CPU seconds all processes of the machine used. */
  machineBusyS: number | null;
}

export function cpuDelta(before: CpuSample, after: CpuSample): CpuDelta {
  const machineBusyS = before.machine && after.machine ? after.machine.busy - before.machine.busy : null;
  const kvpodS = before.kvpod !== undefined && after.kvpod !== undefined ? after.kvpod - before.kvpod : null;
  return { benchS: after.bench - before.bench, kvpodS, machineBusyS };
}
