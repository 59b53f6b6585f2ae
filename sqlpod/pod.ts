// One SQL pod process: unbound until the operator stamps it, then the
// tenant's SQL server until it is drained. The lifecycle decisions come from
// the pure state machine in lifecycle/; this file carries them out.
import { readFile } from 'node:fs/promises';
import { splitHostPort } from '../shared/config/index.js';
import { KvClient } from '../shared/kv/client/index.js';
import type { Logger } from '../shared/log/index.js';
import {
  createStampingServer,
  initialState,
  onDrain,
  onSessionsChanged,
  onStamp,
  onTick,
  onUndrain,
  type Decision,
  type ExitReason,
  type PodState,
  type Stamp,
  type StampingEndpoint,
  type Transition,
} from './lifecycle/index.js';
import { prewarm } from './lifecycle/prewarm.js';
import { startControlEndpoint, type ControlEndpoint } from './ops/control.js';
import { startOpsEndpoint, type OpsEndpoint } from './ops/http.js';
import { CpuSampler } from './ops/load.js';
import { PodMetrics } from './ops/metrics.js';
import { createPgServer, type PgServer } from './server/index.js';
import { TenantEngine } from './sql/engine.js';
import { MemoryPool } from './sql/exec/memory.js';
import { sqlMemoryLimit, type SqlpodSettings } from './config.js';

interface Bound {
  readonly kv: KvClient;
  readonly engine: TenantEngine;
  readonly server: PgServer;
}

export class SqlPod {
  private state: PodState = initialState();
  private bound: Bound | null = null;
  private control: ControlEndpoint | null = null;
  private drainTimer: NodeJS.Timeout | null = null;
  private resolveExit!: (reason: ExitReason) => void;
  /** Resolves when the pod has finished (drained); the process should then exit. */
  readonly exited: Promise<ExitReason> = new Promise((resolve) => (this.resolveExit = resolve));

  private constructor(
    private readonly settings: SqlpodSettings,
    private readonly tls: { caPem: string; certPem: string; keyPem: string },
    private readonly log: Logger,
    readonly metrics: PodMetrics,
    private readonly sampler: CpuSampler,
    private stamping: StampingEndpoint | null,
    private ops: OpsEndpoint | null,
  ) {}

  static async start(settings: SqlpodSettings, log: Logger): Promise<SqlPod> {
    const [caPem, certPem, keyPem] = await Promise.all([readFile(settings.caCert, 'utf8'), readFile(settings.cert, 'utf8'), readFile(settings.key, 'utf8')]);
    // Before anything listens: the pod reports ready (to be stamped) only once warm.
    const warm = await prewarm({ caPem, certPem, keyPem });
    const metrics = new PodMetrics();
    const sampler = new CpuSampler();
    const pod = new SqlPod(settings, { caPem, certPem, keyPem }, log, metrics, sampler, null, null);
    metrics.setState('unbound');
    const { host, port } = splitHostPort(settings.opsListen);
    pod.ops = await startOpsEndpoint(host, port, metrics, {
      load: () => pod.load(),
      ready: () => pod.state.phase === 'unbound' || pod.state.phase === 'running',
    });
    const { host: chost, port: cport } = splitHostPort(settings.controlListen);
    pod.stamping = await createStampingServer({ caPem, certPem, keyPem, onStamp: (stamp) => pod.bind(stamp) }).start(chost, cport);
    log.info({ control: settings.controlListen, ops: settings.opsListen, prewarmMs: Math.round(warm.ms), prewarmedEngine: warm.engine }, 'sqlpod unbound, waiting for a stamp');
    return pod;
  }

  get phase(): PodState['phase'] {
    return this.state.phase;
  }

  get addresses() {
    return {
      control: this.control?.address ?? this.stamping?.address ?? null,
      sql: this.bound?.server.address ?? null,
      ops: this.ops?.address ?? null,
    };
  }

  load(): Record<string, unknown> {
    const cpu = this.sampler.sample();
    const s = this.state;
    return {
      state: s.phase,
      tenantId: s.phase === 'unbound' ? null : s.tenant.tenantId,
      tenantName: s.phase === 'unbound' ? null : s.tenant.tenantName,
      sessions: s.phase === 'running' || s.phase === 'draining' ? s.sessions : 0,
      cpuCores: Number(cpu.cpuCores.toFixed(4)),
      windowMs: Math.round(cpu.windowMs),
    };
  }

  /** The stamp: connect to the tenant's keyspace, open the SQL port. Throws (pod stays unbound) on failure. */
  private async bind(stamp: Stamp): Promise<void> {
    const started = performance.now();
    const kv = new KvClient({
      seeds: stamp.kvAddresses,
      tls: { ca: Buffer.from(this.tls.caPem), cert: Buffer.from(stamp.tenantClientCert), key: Buffer.from(stamp.tenantClientKey) },
    });
    const pool = new MemoryPool(sqlMemoryLimit(this.settings));
    this.metrics.memoryPool = pool;
    this.metrics.sqlMemoryLimit.set(pool.limit);
    try {
      const engine = await TenantEngine.start({
        kv,
        tenantId: stamp.tenantId,
        admin: { user: stamp.admin.username, password: stamp.admin.password },
        hooks: { onRoundTrip: () => this.metrics.kvRoundTrips.inc(), onRowsRead: (n) => this.metrics.kvRowsRead.inc(n), onStatementRestart: () => this.metrics.statementRestarts.inc() },
        memory: { perQuery: this.settings.maxQueryMemory, pool },
      });
      const { host, port } = splitHostPort(this.settings.sqlListen);
      const server = await createPgServer({
        engine,
        host,
        port,
        tls: { cert: stamp.servingCert, key: stamp.servingKey },
        logger: this.log,
        limits: { maxSessions: this.settings.maxSessions },
        hooks: {
          onStatement: (kind) => this.metrics.statements.inc({ command: kind }),
          onError: (sqlstate) => this.metrics.errors.inc({ sqlstate }),
          onSessionCountChange: (count) => {
            this.metrics.sessions.set(count);
            this.apply(onSessionsChanged(this.state, count, Date.now()));
          },
          onConnectionRefused: (reason) => this.metrics.refused.inc({ reason }),
        },
      });
      this.bound = { kv, engine, server };
    } catch (err) {
      kv.close();
      throw err;
    }
    this.apply(onStamp(this.state, { tenantId: stamp.tenantId, tenantName: stamp.tenantName }));
    this.log.info({ tenantId: stamp.tenantId, tenant: stamp.tenantName, sql: this.settings.sqlListen, ms: Math.round(performance.now() - started) }, 'stamped: serving SQL');
  }

  drain(limitMs = this.settings.drainLimit): Transition {
    return this.apply(onDrain(this.state, Date.now(), limitMs));
  }

  undrain(): Transition {
    return this.apply(onUndrain(this.state));
  }

  /** SIGTERM: an unbound pod just stops; a bound one drains. */
  terminate(): void {
    if (this.state.phase === 'unbound') {
      void this.shutdown().then(() => this.resolveExit('sessions-closed'));
      return;
    }
    this.drain();
  }

  private apply(t: Transition): Transition {
    if (!t.ok) {
      this.log.warn({ code: t.refusal.code }, t.refusal.message);
      return t;
    }
    this.state = t.state;
    this.metrics.setState(t.state.phase);
    for (const d of t.decisions) this.carryOut(d);
    return t;
  }

  private carryOut(d: Decision): void {
    switch (d.kind) {
      case 'closeStampingEndpoint':
        // The stamping server closes itself once its answer is sent; then the control endpoint takes the address.
        void this.stamping?.closed.then(() => this.openControl());
        return;
      case 'openSqlPort':
        return; // opened in bind(), before the transition, so a failed listen leaves the pod unbound
      case 'refuseNewSessions':
        this.bound?.server.drain();
        this.log.info('draining: refusing new sessions');
        return;
      case 'acceptNewSessions':
        this.bound?.server.undrain();
        this.log.info('undrained: accepting sessions again');
        return;
      case 'armDrainTimer':
        this.clearDrainTimer();
        this.drainTimer = setTimeout(() => this.apply(onTick(this.state, Date.now())), Math.max(0, d.deadline - Date.now()));
        return;
      case 'cancelDrainTimer':
        this.clearDrainTimer();
        return;
      case 'exit':
        this.log.info({ reason: d.reason, openSessions: d.openSessions }, 'drained: exiting');
        void this.shutdown().then(() => this.resolveExit(d.reason));
        return;
    }
  }

  private async openControl(): Promise<void> {
    const { host, port } = splitHostPort(this.settings.controlListen);
    try {
      this.control = await startControlEndpoint(this.tls, host, this.stamping?.address.port ?? port, {
        drain: (limit) => result(this.drain(limit)),
        undrain: () => result(this.undrain()),
        state: () => this.load(),
      });
    } catch (err) {
      this.log.error({ err }, 'could not open the control endpoint; drain with SIGTERM');
    }
  }

  private clearDrainTimer(): void {
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.drainTimer = null;
  }

  /** Closes everything; open sessions are cut (used at exit and in tests). */
  async shutdown(): Promise<void> {
    this.clearDrainTimer();
    this.sampler.stop();
    await Promise.all([
      this.stamping?.close(),
      this.control?.close(),
      this.bound?.server.close({ force: true }),
    ]);
    this.bound?.engine.close();
    this.bound?.kv.close();
    await this.ops?.close();
    this.ops = null;
  }
}

function result(t: Transition): { ok: true; state: unknown } | { ok: false; code: string; message: string } {
  return t.ok ? { ok: true, state: t.state.phase } : { ok: false, code: t.refusal.code, message: t.refusal.message };
}
