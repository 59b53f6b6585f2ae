// CPU accounting per phase: this process, the server processes (kvpod and the
// noop gRPC server), and the whole machine (to show how much of it other work
// took while the phase ran).
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

/**
 * CPU seconds a process has used so far (all threads), from /proc/<pid>/stat;
 * undefined where there is no /proc or the process is gone.
 */
export function processCpuSeconds(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    // Fields after "(comm) ": state is field 3, utime 14 and stime 15, in USER_HZ (100 on Linux).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    const seconds = (Number(fields[11]) + Number(fields[12])) / 100;
    return Number.isFinite(seconds) ? seconds : undefined;
  } catch {
    return undefined;
  }
}

export interface CpuSample {
  bench: number;
  kvpod: number | undefined;
  noop: number | undefined;
  machine: { busy: number; total: number } | undefined;
}

export interface CpuDelta {
  /** CPU seconds of this (the load-generating) process. */
  benchS: number;
  /** CPU seconds of the kvpod process. */
  kvpodS: number | null;
  /** CPU seconds of the noop gRPC server process. */
  noopS: number | null;
  /** CPU seconds all processes of the machine used. */
  machineBusyS: number | null;
}

export function cpuDelta(before: CpuSample, after: CpuSample): CpuDelta {
  const machineBusyS = before.machine && after.machine ? after.machine.busy - before.machine.busy : null;
  const diff = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? b - a : null);
  return { benchS: after.bench - before.bench, kvpodS: diff(before.kvpod, after.kvpod), noopS: diff(before.noop, after.noop), machineBusyS };
}
