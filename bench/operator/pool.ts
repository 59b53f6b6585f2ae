// What a cluster's ReplicaSet controller and kubelet would do for the SQL pod
// pool, played by the bench (there is no kubelet here): start a real, unbound
// SQL pod process per pool pod (sqlpod/main.ts with the pool certificate from
// the operator's shoal-pool-certs Secret), create its Pod object (the pool's
// labels, an owner reference to a stand-in ReplicaSet, its real ports), and
// once it answers /load as unbound, write its status (podIP 127.0.0.1,
// Running, Ready). Afterwards: a Pod object deleted by the operator gets its
// process stopped, and a bound pod's process that exits (a drained pod with no
// session ends itself) is counted as a container restart, as the kubelet of
// a Deployment's pod (restartPolicy Always) would report it.
import { KubeApiError, type KubeApi } from '../../shared/kube/api.js';
import { COMPONENT_LABEL, POOL_LABEL, PREWARMED } from '../../shared/kube/sqlpod.js';
import { PortAllocator, spawnPod, whenUnbound, type PodProcess } from '../../demo/orchestrator/processes.js';

export interface PoolFiles {
  readonly caCert: string;
  readonly cert: string;
  readonly key: string;
  readonly logDir: string;
}

export class PoolHarness {
  private readonly processes = new Map<string, PodProcess>();
  private readonly restarts = new Map<string, number>();
  private readonly ports = new PortAllocator();
  private serial = 0;
  private stopping = false;
  /** Pods whose process exited while their Pod object still existed (reported as restarts). */
  exitsReported = 0;

  constructor(
    private readonly api: KubeApi,
    private readonly namespace: string,
    private readonly repoRoot: string,
    private readonly files: PoolFiles,
    private readonly log: (message: string) => void,
  ) {}

  private get podsPath(): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/pods`;
  }

  get pids(): number[] {
    return [...this.processes.values()].filter((p) => p.running && p.pid !== undefined).map((p) => p.pid as number);
  }

  get size(): number {
    return this.processes.size;
  }

  /** Starts `count` pool pods, `parallel` at a time; resolves once every one is Ready in the API. */
  async addPods(count: number, parallel: number, onReady?: (done: number) => void): Promise<string[]> {
    const names: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < count) {
        next++;
        names.push(await this.addPod());
        onReady?.(names.length);
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
    return names;
  }

  private async addPod(): Promise<string> {
    const name = `sqlpod-pool-${String(++this.serial).padStart(4, '0')}`;
    const pod = await spawnPod({
      name,
      command: { executable: process.execPath, args: ['--import', 'tsx', 'sqlpod/main.ts'], cwd: this.repoRoot },
      files: { caCert: this.files.caCert, cert: this.files.cert, key: this.files.key, logDir: this.files.logDir },
      ports: this.ports,
      drainLimitMs: 600_000,
      logLevel: 'info',
    });
    this.processes.set(name, pod);
    void pod.exited.then(() => this.onExit(name));
    const port = (address: string) => Number(address.slice(address.lastIndexOf(':') + 1));
    // The ReplicaSet controller's part: the Pod object, before the container runs.
    await this.api.create(this.podsPath, {
      metadata: {
        name,
        labels: { [COMPONENT_LABEL]: 'sqlpod', [POOL_LABEL]: PREWARMED },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'shoal-sqlpod-pool-bench', uid: '00000000-0000-0000-0000-0000000000b1', controller: true }],
      },
      spec: {
        automountServiceAccountToken: false,
        containers: [
          {
            name: 'sqlpod',
            image: 'localhost/shoal/shoal:0.1.0',
            ports: [
              { name: 'sql', containerPort: port(pod.addresses.sql) },
              { name: 'control', containerPort: port(pod.addresses.control) },
              { name: 'ops', containerPort: port(pod.addresses.ops) },
            ],
          },
        ],
      },
    });
    // The kubelet's part: running, then Ready once the readiness check passes.
    await this.api.patch(`${this.podsPath}/${name}/status`, { status: { phase: 'Running', podIP: '127.0.0.1', podIPs: [{ ip: '127.0.0.1' }], conditions: [{ type: 'Ready', status: 'False' }] } }, 'application/merge-patch+json');
    await whenUnbound(pod, 120_000);
    await this.api.patch(
      `${this.podsPath}/${name}/status`,
      { status: { conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'sqlpod', ready: true, restartCount: 0, image: 'localhost/shoal/shoal:0.1.0', imageID: '', started: true, state: { running: { startedAt: new Date().toISOString() } } }] } },
      'application/merge-patch+json',
    );
    return name;
  }

  /** The kubelet saw the Pod object deleted: stop the container. */
  podDeleted(name: string): void {
    const pod = this.processes.get(name);
    if (!pod) return;
    this.processes.delete(name);
    if (pod.running) {
      pod.kill('SIGTERM');
      const kill = setTimeout(() => pod.kill('SIGKILL'), 5000);
      void pod.exited.then(() => clearTimeout(kill));
    }
  }

  /** A container that ended while its Pod exists: the kubelet reports a restart (restartPolicy Always). */
  private async onExit(name: string): Promise<void> {
    if (this.stopping || !this.processes.has(name)) return;
    const restarts = (this.restarts.get(name) ?? 0) + 1;
    this.restarts.set(name, restarts);
    this.exitsReported++;
    try {
      const patch = { status: { containerStatuses: [{ name: 'sqlpod', ready: false, restartCount: restarts, image: 'localhost/shoal/shoal:0.1.0', imageID: '', started: false, state: { waiting: { reason: 'CrashLoopBackOff' } } }], conditions: [{ type: 'Ready', status: 'False' }] } };
      await this.api.patch(`${this.podsPath}/${name}/status`, patch, 'application/merge-patch+json');
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 404)) this.log(`could not report the exit of ${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Stops every pod process (SIGTERM, SIGKILL after `graceMs`: a bound pod would otherwise drain). */
  async stop(graceMs = 2000): Promise<void> {
    this.stopping = true;
    const all = [...this.processes.values()];
    for (const p of all) p.kill('SIGTERM');
    const timer = setTimeout(() => all.forEach((p) => p.kill('SIGKILL')), graceMs);
    await Promise.all(all.map((p) => p.exited));
    clearTimeout(timer);
    this.processes.clear();
  }
}
