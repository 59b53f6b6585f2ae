// Where the CPU of a run goes, from /proc: PostgreSQL (the postmaster and
// every backend, including backends that exited during the run, which the
// postmaster's children's times count once it has reaped them), pgbench (a
// child of this process, counted once reaped), the process in the middle
// (PgBouncer or the proxy), interrupts and softirqs, and the rest of the machine. All
// figures are CPU seconds (user + system, all threads); undefined without /proc.
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ; 100 on Linux. */
const TICKS = 100;

interface Stat {
  ppid: number;
  /** utime + stime. */
  own: number;
  /** cutime + cstime: children it has waited for. */
  children: number;
}

function stat(pid: number | string): Stat | undefined {
  try {
    // Fields after "(comm) ": state is field 3, ppid 4, utime 14, stime 15, cutime 16, cstime 17.
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(') ') + 2).split(' ');
    const n = (i: number) => Number(f[i - 3]);
    return { ppid: n(4), own: (n(14) + n(15)) / TICKS, children: (n(16) + n(17)) / TICKS };
  } catch {
    return undefined;
  }
}

export interface CpuSample {
  postgres: number | undefined;
  middle: number | undefined;
  /** This process's waited-for children: pgbench. */
  pgbench: number | undefined;
  machineBusy: number | undefined;
  /** Time the machine spent in interrupts and softirqs (the loopback TCP stack runs much of its work there). */
  machineIrq: number | undefined;
}

/** Busy and interrupt CPU seconds of the whole machine since boot, from /proc/stat. */
function machineStat(): { busy: number; irq: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    // cpu user nice system idle iowait irq softirq steal ...
    const t = line.trim().split(/\s+/).slice(1).map(Number);
    const at = (i: number) => t[i] ?? 0;
    const total = t.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: (total - at(3) - at(4)) / TICKS, irq: (at(5) + at(6)) / TICKS };
  } catch {
    return undefined;
  }
}

export interface CpuSources {
  /** The postmaster's pid. */
  postmaster: () => number | undefined;
  /** PgBouncer's or the proxy's pid; undefined for the direct target. */
  middle: () => number | undefined;
}

/**
 * The postmaster's own and reaped children's time plus its live children's.
 * A backend reaped between reading the postmaster and scanning its children
 * would be missed (backends of the previous run are still exiting when the
 * next starts), so the scan is repeated until the postmaster's reaped time
 * did not change across it.
 */
function postgresCpu(postmaster: number): number | undefined {
  for (let attempt = 0; attempt < 20; attempt++) {
    const root = stat(postmaster);
    if (!root) return undefined;
    let live = 0;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const s = stat(entry);
      if (s?.ppid === postmaster) live += s.own;
    }
    const again = stat(postmaster);
    if (again && again.children === root.children) return root.own + root.children + live;
  }
  return undefined;
}

export function sampleCpu(sources: CpuSources): CpuSample {
  const postmaster = sources.postmaster();
  const postgres = postmaster === undefined ? undefined : postgresCpu(postmaster);
  const middlePid = sources.middle();
  const self = stat('self');
  const m = machineStat();
  return {
    postgres,
    middle: middlePid === undefined ? undefined : stat(middlePid)?.own,
    pgbench: self?.children,
    machineBusy: m?.busy,
    machineIrq: m?.irq,
  };
}

export interface CpuSplit {
  postgres: number | undefined;
  middle: number | undefined;
  pgbench: number | undefined;
  /** Interrupts and softirqs, not charged to any process. */
  irq: number | undefined;
  /** Everything else the machine did: this process, kernel threads, and other work on the machine. */
  other: number | undefined;
  machine: number | undefined;
}

export function cpuSplit(before: CpuSample, after: CpuSample): CpuSplit {
  const d = (k: keyof CpuSample) => {
    const [a, b] = [before[k], after[k]];
    return a === undefined || b === undefined ? undefined : b - a;
  };
  const machine = d('machineBusy');
  const parts = [d('postgres'), d('middle') ?? 0, d('pgbench'), d('machineIrq')];
  const known = parts.every((p) => p !== undefined) ? parts.reduce<number>((s, p) => s + (p ?? 0), 0) : undefined;
  return {
    postgres: d('postgres'),
    middle: d('middle'),
    pgbench: d('pgbench'),
    irq: d('machineIrq'),
    other: machine === undefined || known === undefined ? undefined : Math.max(0, machine - known),
    machine,
  };
}
