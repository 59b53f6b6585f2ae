import { describe, expect, it } from 'vitest';
import { deadlockCycle } from './wait-chain.js';

describe('deadlockCycle', () => {
  const waits = (edges: Record<string, string>) => (t: string) => edges[t] ?? null;

  const cases: { name: string; edges: Record<string, string>; waiter: string; blocker: string; cycle: string[] | null }[] = [
    { name: 'blocker waits for nobody', edges: {}, waiter: 'a', blocker: 'b', cycle: null },
    { name: 'blocker waits for the waiter', edges: { b: 'a' }, waiter: 'a', blocker: 'b', cycle: ['b', 'a'] },
    { name: 'a longer loop back', edges: { b: 'c', c: 'd', d: 'a' }, waiter: 'a', blocker: 'b', cycle: ['b', 'c', 'd', 'a'] },
    { name: 'a chain that ends elsewhere', edges: { b: 'c', c: 'd' }, waiter: 'a', blocker: 'b', cycle: null },
    { name: 'a cycle among others, not through the waiter', edges: { b: 'c', c: 'b' }, waiter: 'a', blocker: 'b', cycle: null },
  ];
  it.each(cases)('$name', ({ edges, waiter, blocker, cycle }) => {
    expect(deadlockCycle(waiter, blocker, waits(edges), 50)).toEqual(cycle);
  });
});
