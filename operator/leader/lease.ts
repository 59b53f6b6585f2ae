// Leader election on a coordination.k8s.io/v1 Lease, the decisions only: what
// one round does with the Lease it read is pure, so every branch is
// table-tested; LeaderElector (index.ts) does the reading and writing.
//
// Expiry is judged the way client-go's leaderelection does it, by the lease's
// own leaseDurationSeconds (what its holder promised to renew within), with
// one difference: client-go counts only from when the follower itself saw the
// record change (immune to clock skew, but a lease left behind by a crashed
// leader costs a new follower a full duration); here renewTime counts too, so
// a long-dead lease is taken at once. That trusts clocks to agree within
// leaseDuration − renewDeadline (5 s by default). A renewTime that is missing,
// unreadable or ahead of the follower's clock falls back to when the record
// was first seen, so a skewed or odd writer can delay a takeover by at most
// one duration, never block it.
import { z } from 'zod';
import { objectMetaSchema } from '../../shared/kube/api.js';

// Loose objects: a PUT sends back what was read, so fields this code does not
// know (spec.strategy, spec.preferredHolder, metadata.managedFields) survive.
export const leaseSpecSchema = z.looseObject({
  holderIdentity: z.string().nullish(),
  leaseDurationSeconds: z.number().int().nullish(),
  acquireTime: z.string().nullish(),
  renewTime: z.string().nullish(),
  leaseTransitions: z.number().int().nullish(),
});
export type LeaseSpec = z.infer<typeof leaseSpecSchema>;

export const leaseSchema = z.looseObject({
  metadata: objectMetaSchema.loose(),
  // A Lease created without a spec comes back with `spec: {}` or none at all.
  spec: leaseSpecSchema.default({}),
});
export type Lease = z.infer<typeof leaseSchema>;

/**
 * RFC 3339 with exactly six fraction digits: the API server's MicroTime
 * parser refuses three (400 BadRequest) or none. JS clocks have milliseconds,
 * so the last three digits are zeros.
 */
export function formatMicroTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/i;

/** Milliseconds since the epoch (sub-millisecond digits dropped); null for no or an unreadable time. */
export function parseMicroTime(text: string | null | undefined): number | null {
  const m = text ? RFC3339.exec(text) : null;
  if (!m) return null;
  // Rewritten into the one format Date.parse must understand, so no engine leniency is relied on.
  const ms = Date.parse(`${m[1]}.${(m[2] ?? '').padEnd(3, '0').slice(0, 3)}${(m[3] ?? 'Z').toUpperCase()}`);
  return Number.isNaN(ms) ? null : ms;
}

/** leaseDurationSeconds is an int32 > 0: a duration of 1500 ms is written as 2 s. */
export function leaseDurationSeconds(leaseDurationMs: number): number {
  return Math.max(1, Math.ceil(leaseDurationMs / 1000));
}

/**
 * The last instant the lease still counts (it expires strictly after). From
 * renewTime, or from `seenAtMs` (when this version of the record was first
 * read) when that is earlier or renewTime is unusable: the record was written
 * before it was read, so the holder's term cannot outlast seenAt + duration.
 */
export function leaseExpiresAtMs(spec: LeaseSpec, seenAtMs: number, fallbackDurationMs: number): number {
  const durationMs = spec.leaseDurationSeconds && spec.leaseDurationSeconds > 0 ? spec.leaseDurationSeconds * 1000 : fallbackDurationMs;
  const renewedMs = parseMicroTime(spec.renewTime);
  return (renewedMs === null ? seenAtMs : Math.min(renewedMs, seenAtMs)) + durationMs;
}

export type Decision =
  | {
      readonly action: 'create' | 'renew' | 'takeover';
      /** What to write: POST for create, PUT with the read resourceVersion otherwise. */
      readonly spec: LeaseSpec;
      /** Who holds an unexpired lease as read: null when none, released or expired. */
      readonly leader: string | null;
      /** When the written lease will expire. */
      readonly expiresAtMs: number;
    }
  | { readonly action: 'follow'; readonly leader: string; readonly expiresAtMs: number };

/**
 * One round of the election for `me`, given the Lease as read (null: none).
 * `seenAtMs` is when this resourceVersion was first read; without it a lease
 * with no usable renewTime never expires.
 *
 * A lease that names me is renewed even if it expired: nobody else can have
 * led since (they would have written their name), so acquireTime and
 * leaseTransitions are kept, as client-go does. Whether that makes me leader
 * again is the elector's business. An empty holder is a released lease,
 * taken at once whatever its times say.
 */
export function decide(observed: Lease | null, me: string, nowMs: number, leaseDurationMs: number, seenAtMs: number = nowMs): Decision {
  const now = formatMicroTime(nowMs);
  const fresh = { holderIdentity: me, leaseDurationSeconds: leaseDurationSeconds(leaseDurationMs), renewTime: now };
  const expiresAtMs = nowMs + leaseDurationSeconds(leaseDurationMs) * 1000;
  if (!observed) return { action: 'create', spec: { ...fresh, acquireTime: now, leaseTransitions: 0 }, leader: null, expiresAtMs };

  const spec = observed.spec;
  const holder = spec.holderIdentity ? spec.holderIdentity : null;
  const observedExpiry = leaseExpiresAtMs(spec, seenAtMs, leaseDurationMs);
  const valid = holder !== null && nowMs <= observedExpiry;
  if (holder === me) {
    const renewed = { ...spec, ...fresh, acquireTime: spec.acquireTime ?? now, leaseTransitions: spec.leaseTransitions ?? 0 };
    return { action: 'renew', spec: renewed, leader: valid ? me : null, expiresAtMs };
  }
  if (valid) return { action: 'follow', leader: holder, expiresAtMs: observedExpiry };
  return { action: 'takeover', spec: { ...spec, ...fresh, acquireTime: now, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }, leader: null, expiresAtMs };
}

/**
 * What a leader writes when it steps down for good (client-go's
 * ReleaseOnCancel): no holder, so a follower takes over on its next round,
 * and a one-second duration for electors that would wait for expiry anyway.
 */
export function releaseSpec(spec: LeaseSpec, nowMs: number): LeaseSpec {
  return { ...spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: formatMicroTime(nowMs) };
}
