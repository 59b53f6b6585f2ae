// Lease-based leader election, like client-go's leaderelection: every retry
// period, read the Lease, decide (lease.ts), and write with the read
// resourceVersion so that of two electors writing in one round exactly one
// succeeds. A leader counts its term from the moment before its last
// successful renew and ends it renewDeadline later unless renewed again,
// which is before the lease it wrote can expire for anyone else.
import { KubeApiError, type KubeApi } from '../../shared/kube/api.js';
import type { Logger } from '../../shared/log/index.js';
import { decide, leaseSchema, releaseSpec, type Lease, type LeaseSpec } from './lease.js';

export { decide, formatMicroTime, leaseDurationSeconds, leaseExpiresAtMs, leaseSchema, leaseSpecSchema, parseMicroTime, releaseSpec } from './lease.js';
export type { Decision, Lease, LeaseSpec } from './lease.js';

export interface LeaderElectorOptions {
  readonly api: KubeApi;
  readonly namespace: string;
  /** The Lease's name. */
  readonly name: string;
  /** Unique per process (e.g. pod name plus a random suffix): two electors with one identity would both lead. */
  readonly identity: string;
  /** How long followers wait for a renew before taking over (written in whole seconds, rounded up). Default 15 s. */
  readonly leaseDurationMs?: number;
  /** How long a leader keeps leading without a successful renew. Default 10 s; less than leaseDurationMs. */
  readonly renewDeadlineMs?: number;
  /** Pause between rounds, for leaders and followers. Default 2 s; less than renewDeadlineMs. */
  readonly retryPeriodMs?: number;
  readonly log: Logger;
  /** A term began; `signal` aborts when it ends. Work must stop then (or check isLeader before each effect). */
  readonly onStartedLeading: (signal: AbortSignal) => void;
  /** The term ended: once per onStartedLeading, after its signal aborted. */
  readonly onStoppedLeading: () => void;
  /** Who holds the lease, when that changes: null when nobody validly does. */
  readonly onNewLeader?: (identity: string | null) => void;
  readonly clock?: () => number;
}

export class LeaderElectorStoppedError extends Error {
  override readonly name = 'LeaderElectorStoppedError';
}

const isConflict = (err: unknown) => err instanceof KubeApiError && (err.reason === 'Conflict' || err.reason === 'AlreadyExists');

interface Term {
  readonly controller: AbortController;
  renewedAtMs: number;
  deadline: NodeJS.Timeout;
}

export class LeaderElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly clock: () => number;
  private readonly log: Logger;
  private readonly path: string;
  private loop: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  private stopped = false;
  private wake: (() => void) | null = null;
  private term: Term | null = null;
  /** The resourceVersion last read or written, and when it was first seen: expiry falls back on it. */
  private seen: { resourceVersion: string; atMs: number } | null = null;
  private reported: string | null | undefined = undefined;

  constructor(private readonly options: LeaderElectorOptions) {
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    this.clock = options.clock ?? Date.now;
    if (!options.identity) throw new RangeError('leader election needs a non-empty identity');
    // The leader must give up before followers may take over, and must get a retry or more in before giving up.
    if (!(this.leaseDurationMs > this.renewDeadlineMs && this.renewDeadlineMs > this.retryPeriodMs && this.retryPeriodMs > 0)) {
      throw new RangeError(`need leaseDuration (${this.leaseDurationMs}) > renewDeadline (${this.renewDeadlineMs}) > retryPeriod (${this.retryPeriodMs}) > 0`);
    }
    this.path = `/apis/coordination.k8s.io/v1/namespaces/${options.namespace}/leases/${options.name}`;
    this.log = options.log.child({ lease: `${options.namespace}/${options.name}`, identity: options.identity });
  }

  /** True while a term lasts; judged by the clock, so a late timer cannot stretch it. */
  get isLeader(): boolean {
    return this.term !== null && this.clock() < this.term.renewedAtMs + this.renewDeadlineMs;
  }

  start(): void {
    if (this.stopped) throw new LeaderElectorStoppedError('this elector was stopped; make a new one');
    this.loop ??= this.run();
  }

  /**
   * Ends the loop and any term (its signal aborts at once). With `release`
   * (the default) a lease naming this elector is handed back so a follower
   * takes over on its next round; without, followers wait for it to expire,
   * as after a crash. onStoppedLeading follows the release. Waits for a
   * request in flight and the release at most renewDeadlineMs.
   */
  stop(options: { release?: boolean } = {}): Promise<void> {
    this.stopping ??= this.shutdown(options.release ?? true);
    return this.stopping;
  }

  private async shutdown(release: boolean): Promise<void> {
    this.stopped = true;
    this.wake?.();
    const hadTerm = this.endTerm('stopping');
    const finished = (async () => {
      await this.loop;
      if (release && this.loop) await this.release();
    })();
    // Bounded like client-go's release: an API server that does not answer must not hold up a shutdown. The term
    // is over already; a write still landing later only makes followers wait for its expiry.
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([finished.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.renewDeadlineMs)))]);
    clearTimeout(timer);
    if (late) this.log.warn('stopping: the API server did not answer within the renew deadline; not waiting for it');
    if (hadTerm) this.notify('onStoppedLeading', () => this.options.onStoppedLeading());
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.round();
      } catch (err) {
        this.log.error({ err }, 'leader election round failed');
      }
      if (!this.stopped) await this.sleep(this.retryPeriodMs);
    }
  }

  private async round(): Promise<void> {
    const { identity } = this.options;
    let observed: Lease | null;
    try {
      observed = await this.read();
    } catch (err) {
      // A leader that cannot read keeps its term until the deadline timer ends it.
      this.log.warn({ err }, 'reading the lease failed');
      return;
    }
    if (this.stopped) return;
    const now = this.clock();
    const resourceVersion = observed?.metadata.resourceVersion ?? '';
    const seenAtMs = this.seen?.resourceVersion === resourceVersion ? this.seen.atMs : now;
    this.seen = { resourceVersion, atMs: seenAtMs };
    const decision = decide(observed, identity, now, this.leaseDurationMs, seenAtMs);

    // Anything but our own name in the lease ends the term now, even if we might retake it in this round.
    if (decision.action !== 'renew') this.stepDown(`the lease is ${decision.leader === null ? 'no longer ours' : `held by ${decision.leader}`}`);
    if (decision.action === 'follow') {
      this.report(decision.leader);
      return;
    }

    let written: Lease;
    try {
      written = await this.write(observed, decision.spec);
    } catch (err) {
      // Someone else wrote in between: they won this round, or it was an outside edit; the next read tells.
      if (isConflict(err)) this.log.debug({ action: decision.action }, 'lost a write race for the lease');
      else {
        this.log.warn({ err, action: decision.action }, 'writing the lease failed');
        this.report(decision.leader);
      }
      return;
    }
    this.seen = { resourceVersion: written.metadata.resourceVersion ?? '', atMs: this.clock() };
    // The lease now names us; stop() is about to release it, so no term begins.
    if (this.stopped) return;
    if (this.clock() >= now + this.renewDeadlineMs) {
      // Answered too late to count: the term may already be over for followers' sake. The next round renews afresh.
      this.stepDown('the renew was answered after the renew deadline');
      return;
    }
    this.report(identity);
    if (this.term) {
      this.term.renewedAtMs = now;
      clearTimeout(this.term.deadline);
      this.term.deadline = this.armDeadline(now);
      return;
    }
    const controller = new AbortController();
    this.term = { controller, renewedAtMs: now, deadline: this.armDeadline(now) };
    this.log.info({ action: decision.action, leaseTransitions: written.spec.leaseTransitions }, 'started leading');
    this.notify('onStartedLeading', () => this.options.onStartedLeading(controller.signal));
  }

  private armDeadline(renewedAtMs: number): NodeJS.Timeout {
    return setTimeout(() => this.stepDown('no successful renew within the renew deadline'), Math.max(0, renewedAtMs + this.renewDeadlineMs - this.clock()));
  }

  private stepDown(reason: string): void {
    if (this.endTerm(reason)) this.notify('onStoppedLeading', () => this.options.onStoppedLeading());
  }

  /** Ends the term without telling onStoppedLeading (stop() tells after releasing); false if there was none. */
  private endTerm(reason: string): boolean {
    const term = this.term;
    if (!term) return false;
    this.term = null;
    clearTimeout(term.deadline);
    this.log.info({ reason }, 'stopped leading');
    term.controller.abort(new Error(`leadership lost: ${reason}`));
    return true;
  }

  private async read(): Promise<Lease | null> {
    try {
      return await this.options.api.get(this.path, leaseSchema);
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return null;
      throw err;
    }
  }

  /** POST when there was none, else PUT with the read resourceVersion (the API server refuses a Lease PUT without one). */
  private async write(observed: Lease | null, spec: LeaseSpec): Promise<Lease> {
    const { api, namespace, name } = this.options;
    const head = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' };
    const raw = observed
      ? await api.replace(this.path, { ...observed, ...head, spec })
      : await api.create(`/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`, { ...head, metadata: { name, namespace }, spec });
    return leaseSchema.parse(raw);
  }

  private async release(): Promise<void> {
    // A few tries: a conflict is a write between our read and ours, perhaps one that leaves the lease ours.
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        const lease = await this.read();
        if (lease?.spec.holderIdentity !== this.options.identity) return;
        await this.write(lease, releaseSpec(lease.spec, this.clock()));
        this.log.info('released the lease');
        this.report(null);
        return;
      } catch (err) {
        if (isConflict(err) && attempt < 3) continue;
        this.log.warn({ err }, 'releasing the lease failed; followers take over when it expires');
        return;
      }
    }
  }

  private report(leader: string | null): void {
    if (leader === this.reported) return;
    this.reported = leader;
    const { onNewLeader } = this.options;
    if (onNewLeader) this.notify('onNewLeader', () => onNewLeader(leader));
  }

  /** Callbacks are the caller's code: a throw or a rejected promise is logged, never let into the loop. */
  private notify(name: string, callback: () => unknown): void {
    try {
      const result = callback();
      if (result instanceof Promise) result.catch((err: unknown) => this.log.error({ err }, `${name} failed`));
    } catch (err) {
      this.log.error({ err }, `${name} failed`);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
