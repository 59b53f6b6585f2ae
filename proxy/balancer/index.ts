// Which SQL pod gets a new connection: the running pod with the fewest of the
// proxy's own connections. Stamping pods cannot serve yet and draining pods
// must not get new sessions, so neither is ever chosen. Ties go round-robin in
// name order, after the tenant's previous pick, so neither a burst nor a
// stream of short connections piles onto the first pod by name.
import type { PodView, TenantEntry } from '../directory/index.js';

/** Pure choice; `previous` is the name of the tenant's last pick. Undefined when no pod is running. */
export function pickPod(pods: readonly PodView[], connectionsOf: (podName: string) => number, previous?: string): PodView | undefined {
  let least = Infinity;
  let tied: PodView[] = [];
  for (const pod of pods) {
    if (pod.state !== 'running') continue;
    const n = connectionsOf(pod.name);
    if (n < least) [least, tied] = [n, [pod]];
    else if (n === least) tied.push(pod);
  }
  // Names, not directory order (which may change between lookups), define the rotation.
  tied.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return tied.find((p) => previous !== undefined && p.name > previous) ?? tied[0];
}

export interface Assignment {
  pod: PodView;
  /** Ends the connection's claim on the pod; later calls do nothing. */
  release(): void;
}

/** Connection counts per pod, and each tenant's last pick. */
export class Balancer {
  private readonly counts = new Map<string, number>();
  private readonly lastPick = new Map<string, string>();

  connections(podName: string): number {
    return this.counts.get(podName) ?? 0;
  }

  /**
   * Picks a pod and counts the connection at once: a connection that is still
   * dialing or authenticating already weighs on its pod, so a burst of
   * connections spreads instead of piling onto the pod that looked idlest.
   * `exclude`: pods this connection already tried (they turned it away).
   */
  assign(entry: TenantEntry, exclude?: ReadonlySet<string>): Assignment | undefined {
    const pods = exclude?.size ? entry.pods.filter((p) => !exclude.has(p.name)) : entry.pods;
    const pod = pickPod(pods, (n) => this.connections(n), this.lastPick.get(entry.name));
    if (!pod) return undefined;
    const { name } = pod;
    this.lastPick.set(entry.name, name);
    this.counts.set(name, this.connections(name) + 1);
    let released = false;
    return {
      pod,
      release: () => {
        if (released) return;
        released = true;
        const left = this.connections(name) - 1;
        if (left > 0) this.counts.set(name, left);
        else this.counts.delete(name);
      },
    };
  }
}
