import type { ChildProcess } from 'node:child_process';

// Child processes: stopping one (SIGTERM, then SIGKILL), and, on the child's
// side, not outliving its parent. A child of a local orchestrator (the demo) must not outlive it: if the
// orchestrator is killed outright it cannot stop its children, so each child
// watches for itself. Linux has no portable parent-death signal from Node; the
// parent PID changing (re-parented to init or a subreaper) is the sign.

/** Calls `onOrphaned` once when this process's parent is no longer `parentPid`. Returns a stop function. */
export function watchParent(parentPid: number, onOrphaned: () => void, intervalMs = 500): () => void {
  const timer = setInterval(() => {
    if (process.ppid === parentPid) return;
    clearInterval(timer);
    onOrphaned();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** SIGTERM, then SIGKILL if it is still there after `graceMs`; resolves once it has exited. */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(killer);
}
