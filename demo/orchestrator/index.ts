// The demo's local orchestrator: what the Kubernetes operator does, with SQL
// pods as processes. Every decision (which pod to pluck, how many pods, when
// to suspend, which pods to drain, undrain before plucking) comes from
// shared/scaling, the code the operator uses; only the I/O here is local.
//
// It keeps the proxy's tenant directory current and is the directory's resume.
import { issueTenantCertificates, type PemPair } from '../../shared/certs/index.js';
import type { KvClient } from '../../shared/kv/client/index.js';
import { KvError } from '../../shared/kv/client/index.js';
import { SYSTEM_TENANT_ID, SYSTEM_TENANT_NAME, TENANT_NAME } from '../../shared/keys/index.js';
import type { Logger } from '../../shared/log/index.js';
import { PodControl, readPodLoad, type OperatorIdentity } from '../../shared/podctl/index.js';
import {
  CpuWindow,
  choosePodsToBind,
  desiredReplicas,
  idleSince,
  planScale,
  type PoolPod,
  type ScaleAction,
  type ScaleRule,
  type ScalingPolicy,
  type TenantPod,
  type TenantPodState,
} from '../../shared/scaling/index.js';
import { MemoryDirectory } from '../../proxy/directory/index.js';
import { VirtualClusterError, type VirtualClusterView, type VirtualClusters } from '../system/engine.js';
import { KeyedRunner } from './keyed-runner.js';
import { PortAllocator, spawnPod, whenUnbound, type PodFiles, type PodProcess, type SqlpodCommand } from './processes.js';

export interface OrchestratorOptions {
  /** An admin client of the kvpods, with the operator certificate. */
  readonly kv: KvClient;
  readonly kvAddresses: readonly string[];
  /** Stamps pods and drains them. */
  readonly operator: OperatorIdentity;
  /** Issues each tenant's client and serving certificates. */
  readonly ca: PemPair;
  readonly command: SqlpodCommand;
  readonly podFiles: PodFiles;
  /** Unbound pods kept warm. */
  readonly poolSize: number;
  readonly maxReplicas: number;
  readonly drainLimitMs: number;
  /** How often each tenant's pods' /load is read. */
  readonly sampleIntervalMs: number;
  readonly cpuWindowMs: number;
  readonly policy: Partial<ScalingPolicy>;
  /** The admin every tenant's catalog is created with. */
  readonly tenantAdmin: { readonly username: string; readonly password: string };
  readonly podLogLevel: string;
  readonly podStartTimeoutMs?: number;
  readonly log: Logger;
  readonly onEvent?: (event: OrchestratorEvent) => void;
}

/** What happened, for the demo's output, its log and the cold-start benchmark. */
export type OrchestratorEvent =
  | { readonly kind: 'created'; readonly tenant: string; readonly id: number }
  | { readonly kind: 'dropped'; readonly tenant: string; readonly id: number }
  | { readonly kind: 'pool-ready'; readonly pod: string; readonly startMs: number; readonly ready: number }
  | { readonly kind: 'scaled'; readonly tenant: string; readonly from: number; readonly to: number; readonly rule: ScaleRule | 'resume' | 'manual'; readonly reason: string; readonly at: number }
  | { readonly kind: 'bound'; readonly tenant: string; readonly pod: string; readonly pid: number | undefined; readonly pluckMs: number; readonly stampMs: number; readonly at: number; readonly resumeMs: number | null }
  | { readonly kind: 'bind-failed'; readonly tenant: string; readonly pod: string; readonly message: string }
  | { readonly kind: 'draining'; readonly tenant: string; readonly pod: string }
  | { readonly kind: 'undrained'; readonly tenant: string; readonly pod: string }
  | { readonly kind: 'pod-exited'; readonly pod: string; readonly tenant: string | null; readonly code: number | null; readonly expected: boolean };

type Phase = 'starting' | 'unbound' | TenantPodState;

interface PodRecord {
  readonly process: PodProcess;
  /** Connected while the pod waits in the pool, so its stamp skips the TLS handshake. */
  readonly control: PodControl;
  readonly createdAt: number;
  phase: Phase;
  tenant: string | null;
  drainDeadline: number | undefined;
  cpuCores: number;
  sessions: number;
  /** Set when we asked it to go (drain, drop, shutdown): its exit is no surprise. */
  leaving: boolean;
}

interface TenantCredentials {
  readonly client: PemPair;
  readonly serving: PemPair;
}

interface TenantRecord {
  readonly name: string;
  readonly id: number;
  replicas: number;
  lastScaleAt: number | null;
  idleSince: number | null;
  cpu: CpuWindow;
  readonly credentials: Promise<TenantCredentials>;
  /** When a resume was asked and no pod has run since: the resume latency's start. */
  resumeAskedAt: number | null;
}

const POOL = '';

export class LocalOrchestrator implements VirtualClusters {
  readonly directory: MemoryDirectory;
  private readonly tenants = new Map<string, TenantRecord>();
  private readonly pods = new Map<string, PodRecord>();
  private readonly ports = new PortAllocator();
  private readonly runner: KeyedRunner;
  private podSerial = 0;
  private poolFailures = 0;
  private sampler: NodeJS.Timeout | null = null;
  private sampling = false;
  private stopping = false;

  private constructor(private readonly options: OrchestratorOptions) {
    this.directory = new MemoryDirectory({ resume: (tenant) => this.resume(tenant) });
    this.runner = new KeyedRunner(
      (key) => (key === POOL ? this.reconcilePool() : this.reconcileTenant(key)),
      (key, err) => this.options.log.error({ err, tenant: key || undefined }, key ? 'tenant reconcile failed' : 'pool reconcile failed'),
    );
  }

  /** Reads the tenants the kvpods know (all start suspended), fills the pool, starts the autoscaler. */
  static async start(options: OrchestratorOptions): Promise<LocalOrchestrator> {
    const o = new LocalOrchestrator(options);
    for (const t of await options.kv.listTenants()) {
      if (t.state === 'TENANT_STATE_ACTIVE') o.register(t.name, t.tenantId);
    }
    void o.runner.kick(POOL);
    o.sampler = setInterval(() => void o.sampleAll(), options.sampleIntervalMs);
    return o;
  }

  // ── Virtual clusters (the system interface) ───────────────────────────

  async create(name: string): Promise<VirtualClusterView> {
    checkName(name);
    if (this.tenants.has(name)) throw new VirtualClusterError('EXISTS', `virtual cluster "${name}" already exists`);
    let id: number;
    try {
      id = (await this.options.kv.createTenant(name)).tenantId;
    } catch (e) {
      if (e instanceof KvError && e.code === 'TENANT_EXISTS') throw new VirtualClusterError('EXISTS', `virtual cluster "${name}" already exists`, { cause: e });
      throw new VirtualClusterError('FAILED', `could not create the keyspace of "${name}": ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    // A concurrent create of the same name got here first; the kvpod's answer was the same tenant.
    const record = this.tenants.get(name) ?? this.register(name, id);
    this.options.log.info({ tenant: name, tenantId: id }, 'virtual cluster created');
    this.options.onEvent?.({ kind: 'created', tenant: name, id });
    return this.view(record);
  }

  async drop(name: string): Promise<void> {
    const t = this.tenants.get(name);
    if (!t) throw new VirtualClusterError(name === SYSTEM_TENANT_NAME ? 'RESERVED' : 'NOT_FOUND', name === SYSTEM_TENANT_NAME ? 'the system tenant cannot be dropped' : `virtual cluster "${name}" does not exist`);
    // Gone from routing first: no new session may start on a keyspace about to vanish.
    this.tenants.delete(name);
    this.directory.removeTenant(name);
    const pods = this.podsOf(name);
    await Promise.all(pods.map((p) => this.stopPod(p, 0)));
    try {
      await this.options.kv.destroyTenant(t.id);
    } catch (e) {
      throw new VirtualClusterError('FAILED', `pods of "${name}" stopped, but its keyspace could not be destroyed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    this.options.log.info({ tenant: name, tenantId: t.id }, 'virtual cluster dropped: pods stopped, keyspace destroyed');
    this.options.onEvent?.({ kind: 'dropped', tenant: name, id: t.id });
  }

  list(): VirtualClusterView[] {
    const system: VirtualClusterView = { name: SYSTEM_TENANT_NAME, id: SYSTEM_TENANT_ID, state: 'system', replicas: 1, pods: 1 };
    return [system, ...[...this.tenants.values()].sort((a, b) => a.id - b.id).map((t) => this.view(t))];
  }

  // ── Scaling ───────────────────────────────────────────────────────────

  /** The proxy's resume: at least one replica. Resolves once asked; the pod shows up in the directory. */
  resume(name: string): Promise<void> {
    const t = this.tenants.get(name);
    if (!t) return Promise.reject(new Error(`tenant "${name}" does not exist`));
    if (t.replicas < 1) {
      t.resumeAskedAt = performance.now();
      this.setReplicas(t, 1, 'resume', 'a client connected');
    }
    return Promise.resolve();
  }

  /** Sets the desired pod count (what `kubectl scale` does to a CrdbTenant); resolves once the pods are converged. */
  async scale(name: string, replicas: number): Promise<void> {
    const t = this.tenants.get(name);
    if (!t) throw new VirtualClusterError('NOT_FOUND', `virtual cluster "${name}" does not exist`);
    if (!Number.isSafeInteger(replicas) || replicas < 0 || replicas > this.options.maxReplicas) {
      throw new RangeError(`replicas must be an integer in [0, ${this.options.maxReplicas}], got ${replicas}`);
    }
    if (replicas > 0 && t.replicas === 0) t.resumeAskedAt = performance.now();
    this.setReplicas(t, replicas, 'manual', `set to ${replicas}`, false);
    await this.runner.kick(name);
  }

  /** The tenant's pods as the operator would list them (for tests and the benchmark). */
  podsOfTenant(name: string): { name: string; state: Phase; pid: number | undefined; sql: string }[] {
    return this.podsOf(name).map((p) => ({ name: p.process.name, state: p.phase, pid: p.process.pid, sql: p.process.addresses.sql }));
  }

  /** Unbound pods ready to be stamped. */
  get readyPool(): number {
    return [...this.pods.values()].filter((p) => p.phase === 'unbound').length;
  }

  /** Resolves once the pool holds `poolSize` ready pods (or rejects after `timeoutMs`). */
  async waitForPool(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.readyPool < this.options.poolSize) {
      if (Date.now() > deadline) throw new Error(`pool has ${this.readyPool} of ${this.options.poolSize} ready pods after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Stops every pod: bound ones drain for up to `graceMs`, then everything left is killed. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    if (this.sampler) clearInterval(this.sampler);
    await this.runner.stop();
    await Promise.all([...this.pods.values()].map((p) => this.stopPod(p, graceMs)));
  }

  // ── Reconcile ─────────────────────────────────────────────────────────

  private register(name: string, id: number): TenantRecord {
    const record: TenantRecord = {
      name,
      id,
      replicas: 0,
      lastScaleAt: null,
      idleSince: null,
      cpu: CpuWindow.empty({ windowMs: this.options.cpuWindowMs, holdMs: Math.max(3 * this.options.sampleIntervalMs, 1000) }),
      // Issued now, so a resume does not wait for key generation.
      credentials: this.issueCredentials(name, id),
      resumeAskedAt: null,
    };
    record.credentials.catch(() => undefined);
    this.tenants.set(name, record);
    this.directory.setTenant(name);
    return record;
  }

  private issueCredentials(name: string, id: number): Promise<TenantCredentials> {
    return issueTenantCertificates(this.options.ca, id, name);
  }

  private setReplicas(t: TenantRecord, replicas: number, rule: ScaleRule | 'resume' | 'manual', reason: string, kick = true): void {
    if (replicas === t.replicas) return;
    const from = t.replicas;
    t.replicas = replicas;
    t.lastScaleAt = Date.now();
    if (replicas === 0) {
      t.resumeAskedAt = null;
      // The idle clock stops at zero, so a resume (by the proxy, before the next
      // sample) starts a whole idle timeout rather than the old stretch.
      t.idleSince = idleSince({ previous: t.idleSince, sessions: 0, replicas: 0, now: t.lastScaleAt });
    }
    this.options.log.info({ tenant: t.name, from, to: replicas, rule }, reason);
    this.options.onEvent?.({ kind: 'scaled', tenant: t.name, from, to: replicas, rule, reason, at: performance.now() });
    if (kick) void this.runner.kick(t.name);
  }

  private async reconcileTenant(name: string): Promise<void> {
    const t = this.tenants.get(name);
    if (!t || this.stopping) return;
    const actions = planScale(this.podsOf(name).map(tenantPodView), t.replicas, Date.now());
    await Promise.all(actions.map((a) => this.carryOut(t, a)));
  }

  private async carryOut(t: TenantRecord, action: ScaleAction): Promise<void> {
    switch (action.kind) {
      case 'undrain': {
        const p = this.pods.get(action.pod);
        if (!p) return;
        await p.control.undrain();
        p.phase = 'running';
        p.drainDeadline = undefined;
        p.leaving = false;
        this.publish(p);
        this.options.onEvent?.({ kind: 'undrained', tenant: t.name, pod: action.pod });
        return;
      }
      case 'pluck': {
        const started = performance.now();
        // Chosen and marked with no await in between: another tenant's reconcile cannot take the same pod.
        const chosen = choosePodsToBind(this.poolView(), action.count).map(({ record }) => record);
        for (const p of chosen) {
          p.phase = 'stamping';
          p.tenant = t.name;
          this.publish(p);
        }
        const pluckMs = performance.now() - started;
        // Replacements start now; a short pool is retried when a new pod is ready.
        void this.runner.kick(POOL);
        await Promise.all(chosen.map((p) => this.bind(t, p, pluckMs)));
        return;
      }
      case 'drain': {
        const p = this.pods.get(action.pod);
        if (!p) return;
        p.phase = 'draining';
        p.leaving = true;
        p.drainDeadline = Date.now() + this.options.drainLimitMs;
        this.publish(p);
        this.options.onEvent?.({ kind: 'draining', tenant: t.name, pod: action.pod });
        try {
          await p.control.drain(this.options.drainLimitMs);
        } catch (err) {
          this.options.log.warn({ err, pod: action.pod, tenant: t.name }, 'drain call failed: stopping the pod');
          p.process.kill('SIGTERM');
        }
        return;
      }
    }
  }

  private async bind(t: TenantRecord, p: PodRecord, pluckMs: number): Promise<void> {
    const started = performance.now();
    try {
      const { client, serving } = await t.credentials;
      await p.control.stamp({
        tenantId: t.id,
        tenantName: t.name,
        tenantClientCert: client.certPem,
        tenantClientKey: client.keyPem,
        servingCert: serving.certPem,
        servingKey: serving.keyPem,
        kvAddresses: [...this.options.kvAddresses],
        admin: { ...this.options.tenantAdmin },
      });
    } catch (err) {
      // A pod whose stamp failed may hold anything: it goes to nobody else (design brief).
      p.leaving = true;
      p.process.kill('SIGKILL');
      const message = err instanceof Error ? err.message : String(err);
      this.options.log.error({ err, pod: p.process.name, tenant: t.name }, 'stamp failed: pod discarded');
      this.options.onEvent?.({ kind: 'bind-failed', tenant: t.name, pod: p.process.name, message });
      return;
    }
    const at = performance.now();
    if (this.tenants.get(t.name) !== t || p.phase !== 'stamping') {
      // Dropped (or stopped) while stamping.
      void this.stopPod(p, 0);
      return;
    }
    p.phase = 'running';
    this.publish(p);
    const resumeMs = t.resumeAskedAt === null ? null : at - t.resumeAskedAt;
    t.resumeAskedAt = null;
    this.options.log.info({ tenant: t.name, pod: p.process.name, stampMs: Math.round(at - started), resumeMs: resumeMs === null ? undefined : Math.round(resumeMs) }, 'pod bound');
    this.options.onEvent?.({ kind: 'bound', tenant: t.name, pod: p.process.name, pid: p.process.pid, pluckMs, stampMs: at - started, at, resumeMs });
  }

  private async reconcilePool(): Promise<void> {
    if (this.stopping) return;
    const warm = [...this.pods.values()].filter((p) => p.tenant === null).length;
    const missing = this.options.poolSize - warm;
    if (missing <= 0) return;
    // A pod that keeps failing to start must not become a fork loop.
    if (this.poolFailures > 0) await new Promise((r) => setTimeout(r, Math.min(30_000, 250 * 2 ** this.poolFailures)));
    await Promise.all(Array.from({ length: missing }, () => this.startPoolPod()));
  }

  private async startPoolPod(): Promise<void> {
    const name = `sqlpod-${++this.podSerial}`;
    const started = performance.now();
    const process = await spawnPod({
      name,
      command: this.options.command,
      files: this.options.podFiles,
      ports: this.ports,
      drainLimitMs: this.options.drainLimitMs,
      logLevel: this.options.podLogLevel,
    });
    const control = new PodControl(process.addresses.control, this.options.operator, { keepAlive: true });
    const record: PodRecord = { process, control, createdAt: Date.now(), phase: 'starting', tenant: null, drainDeadline: undefined, cpuCores: 0, sessions: 0, leaving: false };
    this.pods.set(name, record);
    void process.exited.then((code) => {
      control.close();
      this.onExit(record, code);
    });
    try {
      await whenUnbound(process, this.options.podStartTimeoutMs ?? 60_000);
      await control.connect();
    } catch (err) {
      this.poolFailures++;
      record.leaving = true;
      process.kill('SIGKILL');
      this.options.log.error({ err, pod: name }, 'pool pod failed to start');
      return;
    }
    this.poolFailures = 0;
    if (record.phase !== 'starting') return;
    record.phase = 'unbound';
    this.options.onEvent?.({ kind: 'pool-ready', pod: name, startMs: performance.now() - started, ready: this.readyPool });
    // Tenants short of pods were waiting for this one.
    for (const t of this.tenants.values()) {
      if (this.podsOf(t.name).filter((p) => p.phase !== 'draining').length < t.replicas) void this.runner.kick(t.name);
    }
  }

  private onExit(p: PodRecord, code: number | null): void {
    const name = p.process.name;
    this.pods.delete(name);
    if (p.tenant !== null) this.directory.removePod(p.tenant, name);
    const expected = p.leaving || this.stopping;
    if (!expected) this.options.log.warn({ pod: name, tenant: p.tenant ?? undefined, code, log: p.process.logFile }, 'SQL pod exited unexpectedly');
    this.options.onEvent?.({ kind: 'pod-exited', pod: name, tenant: p.tenant, code, expected });
    if (this.stopping) return;
    if (p.tenant !== null) {
      void this.runner.kick(p.tenant);
      if (p.phase === 'stamping') void this.runner.kick(POOL);
    } else {
      void this.runner.kick(POOL);
    }
  }

  /** Asks a pod to go: bound pods drain for `graceMs` (0: cut now), unbound ones stop; killed if still there after. */
  private async stopPod(p: PodRecord, graceMs: number): Promise<void> {
    p.leaving = true;
    if (p.phase === 'running' || p.phase === 'draining') {
      await new PodControl(p.process.addresses.control, this.options.operator, { timeoutMs: 2000 }).drain(graceMs).catch(() => p.process.kill('SIGTERM'));
    } else {
      p.process.kill('SIGTERM');
    }
    const killer = setTimeout(() => p.process.kill('SIGKILL'), graceMs + 3000);
    await p.process.exited;
    clearTimeout(killer);
  }

  // ── Autoscaler ────────────────────────────────────────────────────────

  private async sampleAll(): Promise<void> {
    if (this.sampling || this.stopping) return;
    this.sampling = true;
    try {
      await Promise.all([...this.tenants.values()].map((t) => this.sampleTenant(t)));
    } finally {
      this.sampling = false;
    }
  }

  private async sampleTenant(t: TenantRecord): Promise<void> {
    const pods = this.podsOf(t.name).filter((p) => p.phase === 'running' || p.phase === 'draining');
    const readings = await Promise.all(
      pods.map(async (p) => {
        try {
          const load = await readPodLoad(p.process.addresses.ops, 1000);
          p.cpuCores = load.cpuCores;
          p.sessions = load.sessions;
          return [p.process.name, load.cpuCores] as const;
        } catch {
          return [p.process.name, null] as const;
        }
      }),
    );
    if (this.tenants.get(t.name) !== t) return;
    const now = Date.now();
    t.cpu = t.cpu.withSample({ at: now, pods: Object.fromEntries(readings) });
    const sessions = pods.reduce((n, p) => n + p.sessions, 0);
    t.idleSince = idleSince({ previous: t.idleSince, sessions, replicas: t.replicas, now });
    const decision = desiredReplicas({
      now,
      currentReplicas: t.replicas,
      minReplicas: 0,
      maxReplicas: this.options.maxReplicas,
      cpu: t.cpu.stats(now),
      sessions,
      idleSince: t.idleSince,
      lastScaleAt: t.lastScaleAt,
      policy: this.options.policy,
    });
    if (decision.replicas !== t.replicas) this.setReplicas(t, decision.replicas, decision.rule, decision.reason);
    // Level-triggered: converge even when the count did not change (a pod died, a drain ended).
    else void this.runner.kick(t.name);
  }

  // ── Views ─────────────────────────────────────────────────────────────

  private podsOf(tenant: string): PodRecord[] {
    return [...this.pods.values()].filter((p) => p.tenant === tenant);
  }

  private poolView(): (PoolPod & { record: PodRecord })[] {
    return [...this.pods.values()]
      .filter((p) => p.tenant === null && (p.phase === 'unbound' || p.phase === 'starting'))
      .map((record) => ({ name: record.process.name, ready: record.phase === 'unbound', createdAt: record.createdAt, terminating: record.leaving, record }));
  }

  private publish(p: PodRecord): void {
    if (p.tenant === null || p.phase === 'starting' || p.phase === 'unbound') return;
    if (!this.tenants.has(p.tenant)) return;
    this.directory.upsertPod({ name: p.process.name, address: p.process.addresses.sql, state: p.phase, tenant: p.tenant });
  }

  private view(t: TenantRecord): VirtualClusterView {
    const pods = this.podsOf(t.name);
    const running = pods.filter((p) => p.phase === 'running').length;
    const state =
      running > 0
        ? 'running'
        : pods.some((p) => p.phase === 'stamping') || t.replicas > 0
          ? 'resuming'
          : pods.length > 0
            ? 'suspending'
            : 'suspended';
    return { name: t.name, id: t.id, state, replicas: t.replicas, pods: running };
  }
}

function tenantPodView(p: PodRecord): TenantPod {
  const state: TenantPodState = p.phase === 'stamping' || p.phase === 'running' || p.phase === 'draining' ? p.phase : 'stamping';
  return { name: p.process.name, state, cpuCores: p.cpuCores, sessions: p.sessions, ...(p.drainDeadline === undefined ? {} : { drainDeadline: p.drainDeadline }) };
}

function checkName(name: string): void {
  if (name === SYSTEM_TENANT_NAME) throw new VirtualClusterError('RESERVED', `"${SYSTEM_TENANT_NAME}" is reserved for the system tenant`);
  if (!TENANT_NAME.test(name)) {
    throw new VirtualClusterError('INVALID_NAME', `virtual cluster name "${name}" must be a DNS-1123 label: lowercase letters, digits and '-', at most 63 characters, starting and ending with a letter or digit`);
  }
}
