// One operator replica: the PKI, the kvpod admin client, the ops endpoint,
// and the controller, which runs only while this replica holds the leader
// Lease (each term gets fresh informers and queue, so nothing a former
// term saw is trusted).
import { hostname } from 'node:os';
import { issueCert } from '../shared/certs/index.js';
import { KubeApi, serviceAccountNamespace } from '../shared/kube/api.js';
import { KvClient } from '../shared/kv/client/index.js';
import type { Logger } from '../shared/log/index.js';
import { splitHostPort } from '../shared/config/index.js';
import { startOpsEndpoint, type HttpEndpoint } from '../shared/net/index.js';
import type { OperatorIdentity } from '../shared/podctl/index.js';
import type { OperatorSettings } from './config.js';
import { TENANT_LABEL } from '../shared/kube/sqlpod.js';
import { Autoscaler } from './autoscale/index.js';
import { TenantController } from './controller.js';
import { EventRecorder } from './kube/events.js';
import { LeaderElector } from './leader/index.js';
import { OperatorMetrics } from './ops/metrics.js';
import { ensurePki } from './pki.js';

export interface OperatorTimings {
  /** Lease timings (tests shorten them). */
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
  readonly retry?: { readonly baseDelayMs: number; readonly maxDelayMs: number };
}

export class Operator {
  readonly metrics = new OperatorMetrics();
  private controller: TenantController | null = null;
  private autoscaler: Autoscaler | null = null;
  /** Start and stop of terms, in order. */
  private terms: Promise<void> = Promise.resolve();
  private elector: LeaderElector | null = null;
  private ops: HttpEndpoint | null = null;
  private stopped = false;

  private constructor(
    private readonly settings: OperatorSettings,
    private readonly api: KubeApi,
    readonly namespace: string,
    readonly identity: string,
    private readonly operatorIdentity: OperatorIdentity,
    private readonly kv: KvClient,
    private readonly log: Logger,
    private readonly timings: OperatorTimings,
  ) {}

  static async start(settings: OperatorSettings, log: Logger, timings: OperatorTimings = {}): Promise<Operator> {
    const api = KubeApi.fromKubeconfig(settings.kubeconfig);
    const namespace = settings.namespace ?? serviceAccountNamespace() ?? 'default';
    const identity = settings.identity ?? hostname();
    const ca = await ensurePki({ api, namespace, prefix: settings.pkiPrefix, kvpodHosts: settings.kvpodHosts, proxyHosts: settings.proxyHosts, log });
    // Its own client certificate lives only in memory: issued from the CA at every start.
    const own = await issueCert(ca, { kind: 'operator-client' });
    const kv = new KvClient({ seeds: settings.kvAddresses, tls: { ca: Buffer.from(ca.certPem), cert: Buffer.from(own.certPem), key: Buffer.from(own.keyPem) } });
    const o = new Operator(settings, api, namespace, identity, { caPem: ca.certPem, ...own }, kv, log.child({ identity }), timings);
    const { host, port } = splitHostPort(settings.opsListen);
    // Ready once the PKI is in place: a standby replica is as ready as the leader.
    o.ops = await startOpsEndpoint(host, port, o.metrics.registry, () => !o.stopped);
    if (settings.leaderElection) {
      o.elector = new LeaderElector({
        api,
        namespace,
        name: settings.leaseName,
        identity,
        ...(timings.leaseDurationMs === undefined ? {} : { leaseDurationMs: timings.leaseDurationMs }),
        ...(timings.renewDeadlineMs === undefined ? {} : { renewDeadlineMs: timings.renewDeadlineMs }),
        ...(timings.retryPeriodMs === undefined ? {} : { retryPeriodMs: timings.retryPeriodMs }),
        log: o.log,
        onStartedLeading: () => o.beginTerm(ca),
        onStoppedLeading: () => o.endTerm(),
        onNewLeader: (leader) => o.log.info({ leader }, 'leader'),
      });
      o.elector.start();
    } else {
      o.beginTerm(ca);
    }
    o.log.info({ namespace, kv: settings.kvAddresses, ops: settings.opsListen, leaderElection: settings.leaderElection }, 'operator started');
    return o;
  }

  get opsAddress(): string {
    const a = this.ops?.address;
    return a ? `${a.address}:${a.port}` : '';
  }

  get isLeading(): boolean {
    return this.controller !== null;
  }

  /** Stops reconciling, releases the Lease (a standby takes over at once), closes everything. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.elector) await this.elector.stop();
    else this.endTerm();
    await this.terms;
    this.kv.close();
    await this.ops?.close();
  }

  private beginTerm(ca: { certPem: string; keyPem: string }): void {
    this.terms = this.terms.then(async () => {
      if (this.stopped) return;
      this.metrics.leader.set(1);
      const events = new EventRecorder(this.api, 'shoal-operator', this.identity, this.log);
      const controller = new TenantController({
        api: this.api,
        namespace: this.namespace,
        keyspaces: this.kv,
        ca,
        operator: this.operatorIdentity,
        kvAddresses: this.settings.kvAddresses,
        drainLimitMs: this.settings.drainLimit,
        // Drains go to the idlest pods first, by the autoscaler's last reading.
        loadOf: (pod) => this.autoscaler?.loadOf(pod),
        events,
        log: this.log,
        concurrency: this.settings.concurrency,
        queueHooks: this.metrics.queueHooks(),
        podHooks: this.metrics.podHooks(),
        ...(this.timings.retry ? { retry: this.timings.retry } : {}),
        onReconcileError: (key, err) => this.log.warn({ tenant: key, err: err instanceof Error ? err.message : String(err) }, 'reconcile failed; retrying with back-off'),
      });
      const autoscaler = new Autoscaler({
        api: this.api,
        namespace: this.namespace,
        tenants: () => controller.tenants.list(),
        podsOf: (tenant) => controller.pods.list().filter((p) => p.metadata.labels?.[TENANT_LABEL] === tenant),
        sampleIntervalMs: this.settings.sampleInterval,
        cpuWindowMs: this.settings.cpuWindow,
        scaleDownStabilizationMs: this.settings.scaleDownStabilization,
        events,
        log: this.log.child({ loop: 'autoscaler' }),
        onDecision: (_tenant, d) => this.metrics.scaleDecisions.inc({ rule: d.rule }),
      });
      this.controller = controller;
      this.autoscaler = autoscaler;
      this.log.info('leading: reconciling tenants');
      await controller.start().then(
        () => autoscaler.start(),
        (err: unknown) => this.log.error({ err }, 'controller did not start'),
      );
    });
  }

  private endTerm(): void {
    this.terms = this.terms.then(async () => {
      const controller = this.controller;
      const autoscaler = this.autoscaler;
      this.controller = null;
      this.autoscaler = null;
      this.metrics.leader.set(0);
      // No scale write after the term: the autoscaler stops first.
      if (autoscaler) await autoscaler.stop();
      if (controller) {
        await controller.stop();
        this.log.info('no longer leading: stopped reconciling');
      }
    });
  }
}
