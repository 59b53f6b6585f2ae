// Mutual-TLS connections to the stamping endpoints of ready pool pods, opened
// while the pods wait in the pool: a resume then stamps over a connection
// whose handshake is already paid (the demo's orchestrator does the same).
// Pods plucked but not yet stamped keep theirs; anything else is closed.
import type { SqlPodObject } from '../../shared/kube/sqlpod.js';
import { TENANT_LABEL, podAddress } from '../../shared/kube/sqlpod.js';
import type { Logger } from '../../shared/log/index.js';
import type { PodControl } from '../../shared/podctl/index.js';
import { boundState, isPoolPod, poolView } from './pods.js';

/** Whether a pod's connection is worth holding: it may be stamped soon (by this replica or another). */
function mayBeStamped(pod: SqlPodObject): boolean {
  if (pod.metadata.deletionTimestamp) return false;
  if (isPoolPod(pod)) return poolView(pod).ready;
  return pod.metadata.labels?.[TENANT_LABEL] !== undefined && boundState(pod) === 'stamping';
}

/** What a pool connection needs of a pod's control client (PodControl in the operator). */
export type StampingConnection = Pick<PodControl, 'connect' | 'close'>;

/** Opens a control client to `address`: kept alive for a pre-opened connection, one-shot otherwise. */
export type DialPod<C extends StampingConnection> = (address: string, keepAlive: boolean) => C;

export class PoolConnections<C extends StampingConnection = PodControl> {
  private readonly open = new Map<string, { readonly address: string; readonly control: C }>();
  /**
   * Pods whose connection a stamp took: the pluck's own watch event still shows
   * them stampable, and opening another connection then would pay a second
   * handshake on both sides for nothing.
   */
  private readonly taken = new Set<string>();

  constructor(
    private readonly dial: DialPod<C>,
    private readonly log: Logger,
  ) {}

  /** Follows one pod's watch event: opens a connection to a pod that may be stamped, closes any other. */
  update(pod: SqlPodObject, deleted: boolean): void {
    const name = pod.metadata.name;
    const address = !deleted && mayBeStamped(pod) ? podAddress(pod, 'control') : undefined;
    if (address === undefined) this.taken.delete(name);
    const held = this.open.get(name);
    if (held && held.address === address) return;
    if (held) this.drop(name);
    if (address === undefined || this.taken.has(name)) return;
    const control = this.dial(address, true);
    this.open.set(name, { address, control });
    control.connect().catch((err: unknown) => {
      // Not fatal: the stamp opens its own connection.
      this.log.debug({ err, pod: name }, 'could not pre-open the stamping connection');
      if (this.open.get(name)?.control === control) this.drop(name);
    });
  }

  /** The connection to stamp the pod over, handed to the caller, who closes it; a fresh one when none is held. */
  take(pod: SqlPodObject, address: string): C {
    const held = this.open.get(pod.metadata.name);
    this.taken.add(pod.metadata.name);
    if (held?.address === address) {
      this.open.delete(pod.metadata.name);
      return held.control;
    }
    return this.dial(address, false);
  }

  closeAll(): void {
    for (const name of [...this.open.keys()]) this.drop(name);
    this.taken.clear();
  }

  get size(): number {
    return this.open.size;
  }

  private drop(name: string): void {
    this.open.get(name)?.control.close();
    this.open.delete(name);
  }
}
