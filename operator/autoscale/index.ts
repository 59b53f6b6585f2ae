// The autoscaler (design brief, "Desired pod count"): about every 10 s it reads
// each bound SQL pod's /load and writes shared/scaling's answer to the
// CrdbTenant's spec.replicas through the scale subresource. The same loop as
// the demo's local orchestrator; only the I/O differs.
import { z } from 'zod';
import { KubeApiError, objectMetaSchema, type KubeApi } from '../../shared/kube/api.js';
import { CRDB_TENANT_API_VERSION, CRDB_TENANT_KIND, crdbTenantPath, type CrdbTenant } from '../../shared/kube/crdbtenant.js';
import type { SqlPodObject } from '../../shared/kube/sqlpod.js';
import type { Logger } from '../../shared/log/index.js';
import { readPodLoad, type PodLoad } from '../../shared/podctl/index.js';
import { CpuWindow, DEFAULT_CPU_WINDOW_MS, DEFAULT_SCALING_POLICY, desiredReplicas, idleSince, type ReplicaDecision } from '../../shared/scaling/index.js';
import type { EventRecorder } from '../kube/events.js';
import { acceptLoad, aggregate, observe, sampleTargets, scaleEventReason, scaleMessage, withReplicas, type PodReading, type TenantTrack } from './plan.js';

export interface AutoscalerDeps {
  readonly api: KubeApi;
  readonly namespace: string;
  /** The CrdbTenants, from the informer. */
  readonly tenants: () => readonly CrdbTenant[];
  /** A tenant's bound SQL pods in any state, from the informer. */
  readonly podsOf: (tenant: string) => readonly SqlPodObject[];
  /** About 10 s in production. */
  readonly sampleIntervalMs: number;
  /** Default 5 minutes. */
  readonly cpuWindowMs?: number;
  readonly scaleDownStabilizationMs?: number;
  /** Default readPodLoad with a 1 s timeout. */
  readonly readLoad?: (opsAddress: string) => Promise<PodLoad>;
  readonly events: EventRecorder;
  readonly log: Logger;
  readonly now?: () => number;
  /** Every tenant's decision, every tick: for metrics. */
  readonly onDecision?: (tenant: string, decision: ReplicaDecision) => void;
}

const LOAD_TIMEOUT_MS = 1000;
const scaleSchema = z.looseObject({ metadata: objectMetaSchema, spec: z.looseObject({ replicas: z.number().optional() }) });

export class Autoscaler {
  private readonly tracks = new Map<string, TenantTrack>();
  private readonly loads = new Map<string, PodLoad>();
  private readonly now: () => number;
  private readonly readLoad: (opsAddress: string) => Promise<PodLoad>;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly deps: AutoscalerDeps) {
    if (!(deps.sampleIntervalMs > 0 && Number.isFinite(deps.sampleIntervalMs))) throw new RangeError(`sampleIntervalMs must be a positive number, got ${deps.sampleIntervalMs}`);
    this.now = deps.now ?? Date.now;
    this.readLoad = deps.readLoad ?? ((address) => readPodLoad(address, LOAD_TIMEOUT_MS));
  }

  /** The first tick comes one interval after start, as in the demo: by then the informers have listed. */
  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => void this.tick(), this.deps.sampleIntervalMs);
  }

  /** No tick after this; resolves once the one in flight (if any) is over. No write is started after stop. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.inFlight;
  }

  /** One round for every tenant. Never rejects; a call while a round runs joins it rather than overlapping it. */
  tick(): Promise<void> {
    this.inFlight ??= this.round().finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  /** The last /load a bound pod answered (an arrow, so it can be handed over unbound). */
  readonly loadOf = (pod: string): PodLoad | undefined => this.loads.get(pod);

  private async round(): Promise<void> {
    if (this.stopped) return;
    try {
      const tenants = this.deps.tenants().filter((t) => !t.metadata.deletionTimestamp);
      const names = new Set(tenants.map((t) => t.metadata.name));
      for (const name of this.tracks.keys()) if (!names.has(name)) this.tracks.delete(name);
      const sampled = new Set<string>();
      await Promise.all(
        tenants.map((t) =>
          this.scaleTenant(t, sampled).catch((err: unknown) => this.deps.log.warn({ err, tenant: t.metadata.name }, 'autoscaling round failed for the tenant')),
        ),
      );
      for (const pod of this.loads.keys()) if (!sampled.has(pod)) this.loads.delete(pod);
    } catch (err) {
      this.deps.log.error({ err }, 'autoscaling round failed');
    }
  }

  private async scaleTenant(t: CrdbTenant, sampled: Set<string>): Promise<void> {
    const name = t.metadata.name;
    const targets = sampleTargets(this.deps.podsOf(name));
    for (const { pod } of targets) sampled.add(pod);
    const readings = await Promise.all(targets.map(({ pod, address }) => this.read(name, pod, address)));
    if (this.stopped) return;
    const now = this.now();
    const { cpu, sessions } = aggregate(readings);
    const seen = observe(this.tracks.get(name), { uid: t.metadata.uid, replicas: t.spec.replicas }, now, () => this.emptyWindow());
    const track = { ...seen, cpu: seen.cpu.withSample({ at: now, pods: cpu }), idleSince: idleSince({ previous: seen.idleSince, sessions, replicas: seen.replicas, now }) };
    this.tracks.set(name, track);
    const decision = desiredReplicas({
      now,
      currentReplicas: track.replicas,
      minReplicas: t.spec.minReplicas,
      maxReplicas: t.spec.maxReplicas,
      cpu: track.cpu.stats(now),
      sessions,
      idleSince: track.idleSince,
      lastScaleAt: track.lastScaleAt,
      policy: {
        targetAverageCpuPerPod: t.spec.autoscaling.targetAverageCpuPerPod,
        targetPeakCpuPerPod: t.spec.autoscaling.targetPeakCpuPerPod,
        idleTimeoutMs: t.spec.idleTimeout,
        scaleDownStabilizationMs: this.deps.scaleDownStabilizationMs ?? DEFAULT_SCALING_POLICY.scaleDownStabilizationMs,
      },
    });
    this.deps.onDecision?.(name, decision);
    const from = track.replicas;
    if (decision.replicas === from || !(await this.write(t, from, decision.replicas))) return;
    this.tracks.set(name, withReplicas(this.tracks.get(name) ?? track, decision.replicas, now));
    const reason = scaleEventReason(from, decision.replicas);
    const message = scaleMessage(from, decision.replicas, decision.reason);
    this.deps.log.info({ tenant: name, from, to: decision.replicas, rule: decision.rule }, message);
    this.deps.events.record({ apiVersion: CRDB_TENANT_API_VERSION, kind: CRDB_TENANT_KIND, metadata: t.metadata }, 'Normal', reason, message);
  }

  private async read(tenant: string, pod: string, address: string | undefined): Promise<PodReading> {
    const previous = this.loads.get(pod);
    let load: PodLoad | undefined;
    try {
      load = address === undefined ? undefined : acceptLoad(await this.readLoad(address), tenant);
    } catch (err) {
      this.deps.log.debug({ err, tenant, pod }, 'no /load answer: skipped this round');
    }
    if (load) this.loads.set(pod, load);
    return { pod, load, previous };
  }

  /**
   * GET then PUT of the Scale with the resourceVersion read, so a count another
   * writer set in between (a proxy resume, kubectl) is never overwritten: a
   * count that is no longer `from`, or a 409, skips this round. True once written.
   */
  private async write(t: CrdbTenant, from: number, to: number): Promise<boolean> {
    const path = `${crdbTenantPath(this.deps.namespace, t.metadata.name)}/scale`;
    try {
      const scale = await this.deps.api.get(path, scaleSchema);
      if (this.stopped) return false;
      if ((scale.spec.replicas ?? 0) !== from || (t.metadata.uid !== undefined && scale.metadata.uid !== t.metadata.uid)) {
        this.deps.log.info({ tenant: t.metadata.name, seen: from, now: scale.spec.replicas, wanted: to }, 'replicas changed by another writer: not scaling this round');
        return false;
      }
      await this.deps.api.replace(path, { ...scale, spec: { ...scale.spec, replicas: to } });
      return true;
    } catch (err) {
      if (!(err instanceof KubeApiError && (err.status === 409 || err.status === 404))) throw err;
      this.deps.log.info({ tenant: t.metadata.name, wanted: to, reason: err.reason }, 'scale write lost a race: not scaling this round');
      return false;
    }
  }

  private emptyWindow(): CpuWindow {
    // Three intervals bridge two missed reads in a row, as in the demo.
    return CpuWindow.empty({ windowMs: this.deps.cpuWindowMs ?? DEFAULT_CPU_WINDOW_MS, holdMs: Math.max(3 * this.deps.sampleIntervalMs, 1000) });
  }
}
