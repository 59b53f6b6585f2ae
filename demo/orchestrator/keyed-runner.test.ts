import { describe, expect, it } from 'vitest';
import { KeyedRunner } from './keyed-runner.js';

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

describe('KeyedRunner', () => {
  it('never runs one key twice at once, collapses kicks during a run into one rerun, runs keys in parallel', async () => {
    const log: string[] = [];
    let active = 0;
    let maxActive = 0;
    const gates: Record<string, ReturnType<typeof gate>[]> = { a: [gate(), gate()], b: [gate()] };
    const runs: Record<string, number> = { a: 0, b: 0 };
    const runner = new KeyedRunner(
      async (key) => {
        active++;
        maxActive = Math.max(maxActive, active);
        log.push(`start ${key}`);
        const run = runs[key] ?? 0;
        runs[key] = run + 1;
        await gates[key]?.[run]?.promise;
        log.push(`end ${key}`);
        active--;
      },
      () => undefined,
    );
    const first = runner.kick('a');
    const second = runner.kick('a');
    const third = runner.kick('a');
    const other = runner.kick('b');
    expect(log).toEqual(['start a', 'start b']);
    gates.b?.[0]?.open();
    await other;
    gates.a?.[0]?.open();
    await Promise.resolve();
    await new Promise((r) => setTimeout(r, 0));
    // The kicks during the first run collapsed into one rerun.
    expect(log).toEqual(['start a', 'start b', 'end b', 'end a', 'start a']);
    gates.a?.[1]?.open();
    await Promise.all([first, second, third]);
    expect(log.filter((l) => l === 'start a')).toHaveLength(2);
    expect(maxActive).toBe(2);
  });

  it('reports a failed run and keeps going; stop ends new runs', async () => {
    const errors: string[] = [];
    let runs = 0;
    const runner = new KeyedRunner(
      (key) => {
        runs++;
        return Promise.reject(new Error(`boom ${key}`));
      },
      (key, err) => errors.push(`${key}: ${(err as Error).message}`),
    );
    await runner.kick('x');
    await runner.kick('x');
    expect(errors).toEqual(['x: boom x', 'x: boom x']);
    await runner.stop();
    await runner.kick('x');
    expect(runs).toBe(2);
  });
});
