import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DRAIN_LIMIT_MS,
  LifecycleError,
  initialState,
  onDrain,
  onSessionsChanged,
  onStamp,
  onTick,
  onUndrain,
  stateLabel,
  type Decision,
  type PodState,
  type RefusalCode,
  type Transition,
} from './state.js';

const tenant = { tenantId: 7, tenantName: 'acme' };
const T0 = 1_000_000;
const unbound: PodState = { phase: 'unbound' };
const running = (sessions: number): PodState => ({ phase: 'running', tenant, sessions });
const draining = (sessions: number, deadline = T0 + 1_000): PodState => ({ phase: 'draining', tenant, sessions, deadline });
const exitedClosed: PodState = { phase: 'exited', tenant, reason: 'sessions-closed' };
const exitedLimit: PodState = { phase: 'exited', tenant, reason: 'drain-limit' };

interface Case {
  name: string;
  run: () => Transition;
  state?: PodState;
  decisions?: Decision[];
  refusal?: RefusalCode;
}

const cases: Case[] = [
  // stamp
  {
    name: 'stamp: unbound → running, closes the stamping endpoint and opens the SQL port',
    run: () => onStamp(unbound, tenant),
    state: running(0),
    decisions: [{ kind: 'closeStampingEndpoint' }, { kind: 'openSqlPort' }],
  },
  { name: 'stamp: running → ALREADY_STAMPED', run: () => onStamp(running(3), tenant), refusal: 'ALREADY_STAMPED' },
  { name: 'stamp: draining → ALREADY_STAMPED', run: () => onStamp(draining(1), tenant), refusal: 'ALREADY_STAMPED' },
  { name: 'stamp: exited → EXITED', run: () => onStamp(exitedClosed, tenant), refusal: 'EXITED' },

  // drain
  { name: 'drain: unbound → NOT_RUNNING', run: () => onDrain(unbound, T0, 1_000), refusal: 'NOT_RUNNING' },
  {
    name: 'drain: running with sessions → draining with a deadline, refuses new sessions',
    run: () => onDrain(running(2), T0, 1_000),
    state: draining(2, T0 + 1_000),
    decisions: [{ kind: 'refuseNewSessions' }, { kind: 'armDrainTimer', deadline: T0 + 1_000 }],
  },
  {
    name: 'drain: default limit is 10 minutes',
    run: () => onDrain(running(1), T0),
    state: draining(1, T0 + 600_000),
    decisions: [{ kind: 'refuseNewSessions' }, { kind: 'armDrainTimer', deadline: T0 + 600_000 }],
  },
  {
    name: 'drain: running with no session → exited at once',
    run: () => onDrain(running(0), T0, 1_000),
    state: exitedClosed,
    decisions: [{ kind: 'refuseNewSessions' }, { kind: 'exit', reason: 'sessions-closed', openSessions: 0 }],
  },
  {
    name: 'drain: draining → no-op that keeps the first deadline',
    run: () => onDrain(draining(2, T0 + 50), T0 + 10, 1_000_000),
    state: draining(2, T0 + 50),
    decisions: [],
  },
  { name: 'drain: exited → EXITED', run: () => onDrain(exitedLimit, T0, 1_000), refusal: 'EXITED' },
  { name: 'drain: negative limit → INVALID_ARGUMENT', run: () => onDrain(running(1), T0, -1), refusal: 'INVALID_ARGUMENT' },
  { name: 'drain: infinite limit → INVALID_ARGUMENT', run: () => onDrain(running(1), T0, Infinity), refusal: 'INVALID_ARGUMENT' },
  { name: 'drain: NaN now → INVALID_ARGUMENT', run: () => onDrain(running(1), NaN, 1_000), refusal: 'INVALID_ARGUMENT' },

  // undrain
  { name: 'undrain: unbound → NOT_DRAINING', run: () => onUndrain(unbound), refusal: 'NOT_DRAINING' },
  { name: 'undrain: running → no-op', run: () => onUndrain(running(4)), state: running(4), decisions: [] },
  {
    name: 'undrain: draining → running, keeps its sessions and accepts new ones',
    run: () => onUndrain(draining(3)),
    state: running(3),
    decisions: [{ kind: 'cancelDrainTimer' }, { kind: 'acceptNewSessions' }],
  },
  { name: 'undrain: exited → EXITED', run: () => onUndrain(exitedClosed), refusal: 'EXITED' },

  // sessions
  { name: 'sessions: unbound → NOT_RUNNING', run: () => onSessionsChanged(unbound, 1, T0), refusal: 'NOT_RUNNING' },
  { name: 'sessions: running counts up', run: () => onSessionsChanged(running(1), 5, T0), state: running(5), decisions: [] },
  { name: 'sessions: running may reach 0 and stay running', run: () => onSessionsChanged(running(1), 0, T0), state: running(0), decisions: [] },
  {
    name: 'sessions: draining counts down before the deadline',
    run: () => onSessionsChanged(draining(3), 2, T0),
    state: draining(2),
    decisions: [],
  },
  {
    name: 'sessions: draining reaches 0 → exited (sessions-closed)',
    run: () => onSessionsChanged(draining(1), 0, T0),
    state: exitedClosed,
    decisions: [{ kind: 'cancelDrainTimer' }, { kind: 'exit', reason: 'sessions-closed', openSessions: 0 }],
  },
  {
    name: 'sessions: draining past the deadline → exited (drain-limit) even with sessions open',
    run: () => onSessionsChanged(draining(3, T0), 2, T0),
    state: exitedLimit,
    decisions: [{ kind: 'cancelDrainTimer' }, { kind: 'exit', reason: 'drain-limit', openSessions: 2 }],
  },
  { name: 'sessions: exited → EXITED', run: () => onSessionsChanged(exitedClosed, 0, T0), refusal: 'EXITED' },
  { name: 'sessions: negative → INVALID_ARGUMENT', run: () => onSessionsChanged(running(1), -1, T0), refusal: 'INVALID_ARGUMENT' },
  { name: 'sessions: fractional → INVALID_ARGUMENT', run: () => onSessionsChanged(draining(1), 0.5, T0), refusal: 'INVALID_ARGUMENT' },

  // tick
  { name: 'tick: unbound → no-op', run: () => onTick(unbound, T0), state: unbound, decisions: [] },
  { name: 'tick: running → no-op', run: () => onTick(running(2), T0 + 10 * DEFAULT_DRAIN_LIMIT_MS), state: running(2), decisions: [] },
  {
    name: 'tick: draining before the deadline (a timer that fired early) → the timer is armed again',
    run: () => onTick(draining(2), T0 + 999),
    state: draining(2),
    decisions: [{ kind: 'armDrainTimer', deadline: T0 + 1_000 }],
  },
  {
    name: 'tick: draining at the deadline → exited (drain-limit)',
    run: () => onTick(draining(2), T0 + 1_000),
    state: exitedLimit,
    decisions: [{ kind: 'cancelDrainTimer' }, { kind: 'exit', reason: 'drain-limit', openSessions: 2 }],
  },
  { name: 'tick: exited → no-op', run: () => onTick(exitedLimit, T0), state: exitedLimit, decisions: [] },
];

describe('SQL pod state machine', () => {
  it.each(cases)('$name', (c) => {
    const t = c.run();
    if (c.refusal) {
      expect(t.ok).toBe(false);
      if (t.ok) return;
      expect(t.refusal.code).toBe(c.refusal);
      expect(t.refusal.message).not.toBe('');
      expect(new LifecycleError(t.refusal).code).toBe(c.refusal);
    } else {
      expect(t).toEqual({ ok: true, state: c.state, decisions: c.decisions });
    }
  });

  it('starts unbound and runs a whole life: stamp, drain, undrain, drain, last session closes', () => {
    const steps: ((s: PodState) => Transition)[] = [
      (s) => onStamp(s, tenant),
      (s) => onSessionsChanged(s, 2, T0),
      (s) => onDrain(s, T0, 1_000),
      (s) => onUndrain(s),
      (s) => onDrain(s, T0 + 5, 1_000),
      (s) => onSessionsChanged(s, 0, T0 + 10),
    ];
    const phases: string[] = [];
    let s = initialState();
    for (const step of steps) {
      const t = step(s);
      if (!t.ok) throw new LifecycleError(t.refusal);
      s = t.state;
      phases.push(s.phase);
    }
    expect(phases).toEqual(['running', 'running', 'draining', 'running', 'draining', 'exited']);
    expect(s).toEqual(exitedClosed);
  });

  it('labels bound pods running or draining, and no other', () => {
    expect([unbound, running(0), draining(1), exitedClosed].map(stateLabel)).toEqual([undefined, 'running', 'draining', undefined]);
  });
});
