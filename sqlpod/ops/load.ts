// The pod's current CPU use, cheap to ask for at any moment: a sampler keeps
// the last second's process CPU time, so /load answers from memory with a
// figure at most about a second old.
export interface LoadSample {
  /** CPU seconds used per wall-clock second over the last window (1.0 = one core busy). */
  readonly cpuCores: number;
  /** Length of that window in milliseconds. */
  readonly windowMs: number;
}

export class CpuSampler {
  private last = { at: performance.now(), cpu: process.cpuUsage() };
  private previous = this.last;
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 1000) {
    this.timer = setInterval(() => {
      this.previous = this.last;
      this.last = { at: performance.now(), cpu: process.cpuUsage() };
    }, intervalMs);
    this.timer.unref();
  }

  /** CPU use since the older of the last two samples (so the window is never tiny). */
  sample(): LoadSample {
    const now = performance.now();
    const cpu = process.cpuUsage();
    const base = this.previous;
    const used = cpu.user + cpu.system - (base.cpu.user + base.cpu.system);
    const windowMs = Math.max(1, now - base.at);
    return { cpuCores: used / 1000 / windowMs, windowMs };
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
