// Resume from zero: a client of a tenant with no running pod waits while the
// tenant is scaled 0 → 1. Every connection of that tenant arriving meanwhile
// shares one request and one wait, bounded by a deadline, so a burst of
// clients makes one resume call and all of them start as soon as a pod runs.
import { hasRunningPod, type TenantDirectory, type TenantEntry } from '../directory/index.js';

export const DEFAULT_RESUME_DEADLINE_MS = 30_000;

export type ResumeErrorCode = 'TIMEOUT' | 'FAILED' | 'GONE';

/** 57P03 (cannot_connect_now) tells clients and pools to try again; a deleted tenant is a plain refusal. */
export const RESUME_SQLSTATE: Readonly<Record<ResumeErrorCode, string>> = {
  TIMEOUT: '57P03',
  FAILED: '57P03',
  GONE: '08004',
};

export class ResumeError extends Error {
  override readonly name = 'ResumeError';
  constructor(
    readonly code: ResumeErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface ResumeCoordinatorOptions {
  directory: Pick<TenantDirectory, 'lookup' | 'subscribe'>;
  /** Asks for ≥ 1 replica; resolving means "asked", the running pod arrives through the directory. */
  resume: (tenant: string) => Promise<void>;
  deadlineMs?: number;
}

const gone = (tenant: string): ResumeError => new ResumeError('GONE', `tenant "${tenant}" does not exist (it may have been deleted)`);

export class ResumeCoordinator {
  private readonly pending = new Map<string, Promise<TenantEntry>>();
  private readonly deadlineMs: number;

  constructor(private readonly options: ResumeCoordinatorOptions) {
    this.deadlineMs = options.deadlineMs ?? DEFAULT_RESUME_DEADLINE_MS;
    if (!Number.isFinite(this.deadlineMs) || this.deadlineMs <= 0) {
      throw new RangeError(`resume deadline must be a positive number of milliseconds, got ${this.deadlineMs}`);
    }
  }

  /**
   * Resolves with the tenant's entry once it has a running pod: at once if it
   * has one, else after resuming it. Rejects with a ResumeError.
   */
  waitForRunningPod(tenant: string): Promise<TenantEntry> {
    const entry = this.options.directory.lookup(tenant);
    if (!entry) return Promise.reject(gone(tenant));
    if (hasRunningPod(entry)) return Promise.resolve(entry);
    return this.pending.get(tenant) ?? this.start(tenant);
  }

  private start(tenant: string): Promise<TenantEntry> {
    let resolve!: (entry: TenantEntry) => void;
    let reject!: (err: ResumeError) => void;
    const shared = new Promise<TenantEntry>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Every waiter may have gone (clients hung up); a rejection nobody hears must not crash the process.
    shared.catch(() => undefined);
    this.pending.set(tenant, shared);

    const settle = (outcome: () => void): void => {
      if (this.pending.get(tenant) !== shared) return;
      this.pending.delete(tenant);
      clearTimeout(timer);
      unsubscribe();
      outcome();
    };
    // Subscribe before asking: the pod may start before the resume call returns.
    const unsubscribe = this.options.directory.subscribe((change) => {
      if (change.tenant !== tenant) return;
      const { entry } = change;
      if (!entry) settle(() => reject(gone(tenant)));
      else if (hasRunningPod(entry)) settle(() => resolve(entry));
    });
    const timer = setTimeout(() => {
      const seconds = this.deadlineMs / 1000;
      settle(() => reject(new ResumeError('TIMEOUT', `tenant "${tenant}" has no running SQL pod after waiting ${seconds}s for one to start; try again`)));
    }, this.deadlineMs);
    // A resume function that throws instead of rejecting is caught the same way.
    void new Promise<void>((res) => res(this.options.resume(tenant))).catch((err: unknown) => {
      const why = err instanceof Error ? err.message : String(err);
      settle(() => reject(new ResumeError('FAILED', `could not resume tenant "${tenant}": ${why}`, { cause: err })));
    });
    return shared;
  }
}
