// Deadlock detection for row locks. A transaction waits for one row at a
// time, so what it waits on is a chain, not a graph: a transaction about to
// wait deadlocks exactly when the chain from the one it would wait for leads
// back to itself.

/**
 * The chain of waiters from `blocker` on, if it reaches `waiter` (then
 * waiting would close a cycle); null if it ends elsewhere. `limit` bounds the
 * walk, should the chain ever be corrupt.
 */
export function deadlockCycle<T>(waiter: T, blocker: T, waitingFor: (t: T) => T | null, limit = 10_000): T[] | null {
  const chain: T[] = [];
  for (let at: T | null = blocker; at !== null && chain.length < limit; at = waitingFor(at)) {
    chain.push(at);
    if (at === waiter) return chain;
  }
  return null;
}
