// What the proxy knows about tenants and their SQL pods. Implemented by a
// Kubernetes watch (pods labelled shoal.dev/tenant and shoal.dev/state, and
// the CrdbTenants), by the demo's local orchestrator, and in memory.

/** The `shoal.dev/state` label of a bound SQL pod. */
export type PodState = 'stamping' | 'running' | 'draining';

export interface PodView {
  /**
   * The Kubernetes pod name; the balancer counts connections by it. The static
   * directory names pods by address, so tenants fronting one server share its count.
   */
  name: string;
  /** host:port of the pod's SQL port. */
  address: string;
  state: PodState;
  tenant: string;
}

/**
 * A known tenant; no pods means suspended (scaled to zero). Entries are
 * immutable snapshots, and every pod in one belongs to its tenant.
 */
export interface TenantEntry {
  readonly name: string;
  readonly pods: readonly PodView[];
}

/** A tenant whose entry changed; `entry` is undefined when the tenant no longer exists. */
export interface DirectoryChange {
  tenant: string;
  entry: TenantEntry | undefined;
}

export type DirectoryListener = (change: DirectoryChange) => void;

export interface TenantDirectory {
  /** Undefined for a tenant that does not exist: refuse the client, contact no backend. */
  lookup(tenant: string): TenantEntry | undefined;
  /**
   * Calls `listener` synchronously after every change, until the returned
   * function is called. Listeners must not throw: they run inside the
   * implementation's update path.
   */
  subscribe(listener: DirectoryListener): () => void;
  /**
   * Asks for at least one replica of `tenant` (the CrdbTenant's spec.replicas
   * 0 → 1) and resolves once asked, not once a pod runs: the running pod
   * shows up through `subscribe`. Idempotent.
   */
  resume(tenant: string): Promise<void>;
}

export const hasRunningPod = (entry: TenantEntry | undefined): boolean =>
  entry?.pods.some((p) => p.state === 'running') ?? false;
