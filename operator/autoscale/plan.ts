// The autoscaler's pure parts: which of a tenant's pods to read, what their
// /load answers add up to, and the small per-tenant memory (CPU window, idle
// clock, last change of spec.replicas) with its rules, so the edge cases are
// table-tested without an API server.
import { podAddress, type SqlPodObject } from '../../shared/kube/sqlpod.js';
import type { PodLoad } from '../../shared/podctl/index.js';
import type { CpuWindow } from '../../shared/scaling/index.js';
import { boundState } from '../pods/pods.js';

export interface SampleTarget {
  readonly pod: string;
  /** host:port of its ops endpoint; undefined while it has no IP (counted as an unanswered read). */
  readonly address: string | undefined;
}

/** Running and draining pods: both serve sessions and burn the tenant's CPU. Stamping ones do not yet. */
export function sampleTargets(pods: readonly SqlPodObject[]): SampleTarget[] {
  return pods
    .filter((p) => boundState(p) !== 'stamping')
    .map((p) => ({ pod: p.metadata.name, address: podAddress(p, 'ops') }))
    .sort((a, b) => (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0));
}

/** An answer counts only from a pod that says it serves this tenant: a restarted container comes back unbound. */
export function acceptLoad(load: PodLoad | undefined, tenant: string): PodLoad | undefined {
  return load !== undefined && load.tenantName === tenant ? load : undefined;
}

export interface PodReading {
  readonly pod: string;
  /** This round's answer; undefined when the pod did not answer (or not for this tenant). */
  readonly load: PodLoad | undefined;
  /** The pod's last accepted answer before this round, if any. */
  readonly previous: PodLoad | undefined;
}

export interface TenantLoad {
  /** For CpuWindow.withSample: null for a pod that did not answer, so the window bridges it for its hold time. */
  readonly cpu: Readonly<Record<string, number | null>>;
  /** Open sessions; a pod that did not answer counts with its last answer, so one lost read cannot make a busy tenant look idle. */
  readonly sessions: number;
}

export function aggregate(readings: readonly PodReading[]): TenantLoad {
  const cpu: Record<string, number | null> = {};
  let sessions = 0;
  for (const r of readings) {
    cpu[r.pod] = r.load?.cpuCores ?? null;
    sessions += (r.load ?? r.previous)?.sessions ?? 0;
  }
  return { cpu, sessions };
}

/** What the autoscaler remembers of one tenant between ticks. */
export interface TenantTrack {
  /** A tenant deleted and created again under its name starts over. */
  readonly uid: string | undefined;
  /** spec.replicas as last seen or written. */
  readonly replicas: number;
  /** When spec.replicas last changed as seen from here; null: not since this autoscaler started. */
  readonly lastScaleAt: number | null;
  readonly idleSince: number | null;
  readonly cpu: CpuWindow;
}

/**
 * The track after seeing the tenant's spec.replicas now. A count that differs
 * from the remembered one was changed by someone (the proxy, kubectl, or a
 * write of ours the informer had not shown yet): the stabilization window
 * restarts from now, as it would for our own change.
 */
export function observe(track: TenantTrack | undefined, tenant: { readonly uid: string | undefined; readonly replicas: number }, now: number, emptyWindow: () => CpuWindow): TenantTrack {
  if (track === undefined || track.uid !== tenant.uid) {
    return { uid: tenant.uid, replicas: tenant.replicas, lastScaleAt: null, idleSince: null, cpu: emptyWindow() };
  }
  return withReplicas(track, tenant.replicas, now);
}

/**
 * The track once spec.replicas is `replicas`, changed at `now` by anyone. To
 * or from zero the idle clock stops: a resume (the proxy's, possibly before
 * our next tick) then gets a whole idle timeout before its client's session
 * opens, instead of the stretch that led to the suspension.
 */
export function withReplicas(track: TenantTrack, replicas: number, now: number): TenantTrack {
  if (replicas === track.replicas) return track;
  const idleSince = replicas === 0 || track.replicas === 0 ? null : track.idleSince;
  return { ...track, replicas, lastScaleAt: now, idleSince };
}

/** The Event reason of a change of the pod count. */
export function scaleEventReason(from: number, to: number): 'ScaledUp' | 'ScaledDown' | 'Suspended' {
  return to === 0 ? 'Suspended' : to > from ? 'ScaledUp' : 'ScaledDown';
}

/** The Event message: "2 → 3 pods: peak 2.4 cores over 0.9 per pod: 3 pods". */
export function scaleMessage(from: number, to: number, reason: string): string {
  return `${from} → ${to} ${to === 1 ? 'pod' : 'pods'}: ${reason}`;
}
