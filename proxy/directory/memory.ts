import type { DirectoryListener, PodView, TenantDirectory, TenantEntry } from './types.js';

export interface MemoryDirectoryOptions {
  /** Initial tenants and their pods. */
  tenants?: Readonly<Record<string, readonly PodView[]>>;
  /** What `resume` does; without it, resume is refused (a static directory has nothing to start). */
  resume?: (tenant: string) => Promise<void>;
}

/**
 * A directory held in memory and changed by its owner: tests, the static
 * routing file, and any orchestrator that already knows its pods.
 */
export class MemoryDirectory implements TenantDirectory {
  private readonly entries = new Map<string, TenantEntry>();
  private readonly listeners = new Set<DirectoryListener>();
  private readonly onResume: ((tenant: string) => Promise<void>) | undefined;

  constructor(options: MemoryDirectoryOptions = {}) {
    for (const [name, pods] of Object.entries(options.tenants ?? {})) this.entries.set(name, entry(name, pods));
    this.onResume = options.resume;
  }

  lookup(tenant: string): TenantEntry | undefined {
    return this.entries.get(tenant);
  }

  subscribe(listener: DirectoryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  resume(tenant: string): Promise<void> {
    if (!this.entries.has(tenant)) return Promise.reject(new Error(`cannot resume tenant "${tenant}": it does not exist`));
    if (this.onResume === undefined) return Promise.reject(new Error(`cannot resume tenant "${tenant}": this directory is static`));
    return this.onResume(tenant);
  }

  /** Creates or replaces a tenant with exactly these pods. */
  setTenant(name: string, pods: readonly PodView[] = []): void {
    this.update(name, entry(name, pods));
  }

  removeTenant(name: string): void {
    if (this.entries.has(name)) this.update(name, undefined);
  }

  /** Adds the pod, or replaces the tenant's pod of the same name (e.g. a state change). */
  upsertPod(pod: PodView): void {
    const pods = this.entries.get(pod.tenant)?.pods ?? [];
    this.update(pod.tenant, entry(pod.tenant, [...pods.filter((p) => p.name !== pod.name), pod]));
  }

  removePod(tenant: string, podName: string): void {
    const current = this.entries.get(tenant);
    if (!current?.pods.some((p) => p.name === podName)) return;
    this.update(tenant, entry(tenant, current.pods.filter((p) => p.name !== podName)));
  }

  private update(tenant: string, next: TenantEntry | undefined): void {
    if (next === undefined) this.entries.delete(tenant);
    else this.entries.set(tenant, next);
    // A snapshot: a listener may unsubscribe itself while we iterate.
    for (const listener of [...this.listeners]) listener({ tenant, entry: next });
  }
}

function entry(name: string, pods: readonly PodView[]): TenantEntry {
  const foreign = pods.find((p) => p.tenant !== name);
  if (foreign) throw new Error(`pod ${foreign.name} belongs to tenant "${foreign.tenant}", not "${name}"`);
  return Object.freeze({ name, pods: Object.freeze(pods.map((p) => Object.freeze({ ...p }))) });
}
