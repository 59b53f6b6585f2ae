// The life of one SQL pod (design brief, "Life of a SQL pod") as a pure state
// machine: every event returns the next state and what the edges must do, or a
// typed refusal. No I/O, no clock: `now` is passed in so the same code runs
// under the Kubernetes operator, the local orchestrator and the tests.

/** Default drain limit: open sessions get this long to finish before the pod exits anyway. */
export const DEFAULT_DRAIN_LIMIT_MS = 10 * 60_000;

export interface BoundTenant {
  tenantId: number;
  tenantName: string;
}

export type PodState =
  | { phase: 'unbound' }
  | { phase: 'running'; tenant: BoundTenant; sessions: number }
  | { phase: 'draining'; tenant: BoundTenant; sessions: number; deadline: number }
  | { phase: 'exited'; tenant: BoundTenant; reason: ExitReason };

export type Phase = PodState['phase'];

/** Why a draining pod exits: its last session closed, or the drain limit ran out first. */
export type ExitReason = 'sessions-closed' | 'drain-limit';

export type Decision =
  | { kind: 'closeStampingEndpoint' }
  | { kind: 'openSqlPort' }
  | { kind: 'refuseNewSessions' }
  | { kind: 'acceptNewSessions' }
  // The drain deadline is part of the state; the edge arms a timer for it so that
  // onTick fires even when no session event comes.
  | { kind: 'armDrainTimer'; deadline: number }
  | { kind: 'cancelDrainTimer' }
  | { kind: 'exit'; reason: ExitReason; openSessions: number };

export type RefusalCode = 'ALREADY_STAMPED' | 'NOT_RUNNING' | 'NOT_DRAINING' | 'EXITED' | 'INVALID_ARGUMENT';

export interface Refusal {
  code: RefusalCode;
  message: string;
}

export type Transition =
  | { ok: true; state: PodState; decisions: Decision[] }
  | { ok: false; refusal: Refusal };

/** For edges that prefer exceptions: carries the refusal's code. */
export class LifecycleError extends Error {
  override readonly name = 'LifecycleError';
  readonly code: RefusalCode;
  constructor(refusal: Refusal) {
    super(refusal.message);
    this.code = refusal.code;
  }
}

export const initialState = (): PodState => ({ phase: 'unbound' });

const ok = (state: PodState, ...decisions: Decision[]): Transition => ({ ok: true, state, decisions });
const refuse = (code: RefusalCode, message: string): Transition => ({ ok: false, refusal: { code, message } });

const who = (t: BoundTenant): string => `tenant ${t.tenantId} (${t.tenantName})`;

function exitedRefusal(state: Extract<PodState, { phase: 'exited' }>, event: string): Transition {
  return refuse('EXITED', `cannot ${event}: the pod of ${who(state.tenant)} has exited (${state.reason}); pluck a new pod instead`);
}

/** The operator stamps an unbound pod with its tenant, once. */
export function onStamp(state: PodState, tenant: BoundTenant): Transition {
  switch (state.phase) {
    case 'unbound':
      // Close the stamping endpoint first: a pod that serves SQL must never be re-stamped.
      return ok({ phase: 'running', tenant, sessions: 0 }, { kind: 'closeStampingEndpoint' }, { kind: 'openSqlPort' });
    case 'running':
    case 'draining':
      return refuse('ALREADY_STAMPED', `pod is already stamped for ${who(state.tenant)}; a pod is stamped once`);
    case 'exited':
      return exitedRefusal(state, 'stamp');
  }
}

/**
 * The operator drains a running pod: no new sessions; the pod exits when the last
 * session closes or at now + drainLimitMs. Draining a draining pod is a no-op that
 * keeps the first deadline, so a retried request cannot extend the limit.
 */
export function onDrain(state: PodState, now: number, drainLimitMs: number = DEFAULT_DRAIN_LIMIT_MS): Transition {
  if (!Number.isFinite(now)) return refuse('INVALID_ARGUMENT', `now must be a finite timestamp, got ${now}`);
  if (!Number.isFinite(drainLimitMs) || drainLimitMs < 0) {
    return refuse('INVALID_ARGUMENT', `drain limit must be a finite number of milliseconds >= 0, got ${drainLimitMs}`);
  }
  switch (state.phase) {
    case 'unbound':
      return refuse('NOT_RUNNING', 'cannot drain an unbound pod: it serves no tenant yet');
    case 'draining':
      return ok(state);
    case 'exited':
      return exitedRefusal(state, 'drain');
    case 'running': {
      if (state.sessions === 0) {
        return ok(
          { phase: 'exited', tenant: state.tenant, reason: 'sessions-closed' },
          { kind: 'refuseNewSessions' },
          { kind: 'exit', reason: 'sessions-closed', openSessions: 0 },
        );
      }
      const deadline = now + drainLimitMs;
      return ok(
        { phase: 'draining', tenant: state.tenant, sessions: state.sessions, deadline },
        { kind: 'refuseNewSessions' },
        { kind: 'armDrainTimer', deadline },
      );
    }
  }
}

/** The tenant needs a pod again: a draining pod goes back to running (preferred over plucking). */
export function onUndrain(state: PodState): Transition {
  switch (state.phase) {
    case 'unbound':
      return refuse('NOT_DRAINING', 'cannot undrain an unbound pod: pluck and stamp it instead');
    case 'running':
      return ok(state); // idempotent: the operator may retry
    case 'draining':
      return ok(
        { phase: 'running', tenant: state.tenant, sessions: state.sessions },
        { kind: 'cancelDrainTimer' },
        { kind: 'acceptNewSessions' },
      );
    case 'exited':
      return exitedRefusal(state, 'undrain');
  }
}

/** The number of open SQL sessions changed to `count`. */
export function onSessionsChanged(state: PodState, count: number, now: number): Transition {
  if (!Number.isSafeInteger(count) || count < 0) {
    return refuse('INVALID_ARGUMENT', `session count must be an integer >= 0, got ${count}`);
  }
  switch (state.phase) {
    case 'unbound':
      return refuse('NOT_RUNNING', 'an unbound pod has no SQL port, so it cannot have sessions');
    case 'running':
      return ok({ ...state, sessions: count });
    case 'draining':
      if (count === 0) return exitDraining(state, 'sessions-closed', 0);
      // A session event can arrive after the deadline, before the timer fired.
      if (now >= state.deadline) return exitDraining(state, 'drain-limit', count);
      return ok({ ...state, sessions: count });
    case 'exited':
      return exitedRefusal(state, 'count sessions');
  }
}

/** Time passed (the drain timer fired, or a periodic tick). Harmless in every phase. */
export function onTick(state: PodState, now: number): Transition {
  if (state.phase !== 'draining') return ok(state);
  if (now >= state.deadline) return exitDraining(state, 'drain-limit', state.sessions);
  // Timers run on the monotonic clock and may fire a millisecond before the
  // wall clock reaches the deadline; without a new timer the drain would never end.
  return ok(state, { kind: 'armDrainTimer', deadline: state.deadline });
}

function exitDraining(state: Extract<PodState, { phase: 'draining' }>, reason: ExitReason, openSessions: number): Transition {
  return ok(
    { phase: 'exited', tenant: state.tenant, reason },
    { kind: 'cancelDrainTimer' },
    { kind: 'exit', reason, openSessions },
  );
}

/** The `shoal.dev/state` label value of a bound pod; unbound and exited pods carry none. */
export function stateLabel(state: PodState): 'running' | 'draining' | undefined {
  return state.phase === 'running' || state.phase === 'draining' ? state.phase : undefined;
}
