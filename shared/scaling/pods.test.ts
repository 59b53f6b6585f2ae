import { describe, expect, it } from 'vitest';
import { choosePodToBind, choosePodsToBind, planScale, type PoolPod, type ScaleAction, type TenantPod } from './pods.js';

const NOW = 1_700_000_000_000;

const pool = (name: string, createdAt: number, ready = true, terminating?: boolean): PoolPod => ({
  name,
  createdAt,
  ready,
  ...(terminating === undefined ? {} : { terminating }),
});

describe('choosePodToBind', () => {
  it.each([
    { name: 'an empty pool has nothing to bind', pool: [], chosen: undefined },
    { name: 'a pool with no ready pod has nothing to bind', pool: [pool('a', 1, false), pool('b', 2, false)], chosen: undefined },
    { name: 'the oldest ready pod is chosen', pool: [pool('young', 30), pool('old', 10), pool('middle', 20)], chosen: 'old' },
    { name: 'an older pod that is not ready is passed over', pool: [pool('oldest', 1, false), pool('next', 2)], chosen: 'next' },
    { name: 'a ready pod being deleted is passed over', pool: [pool('leaving', 1, true, true), pool('staying', 2)], chosen: 'staying' },
    { name: 'pods created at the same time go by name', pool: [pool('pool-b', 5), pool('pool-a', 5)], chosen: 'pool-a' },
    { name: 'names compare by code unit, not by locale or number: pod-10 before pod-9', pool: [pool('pod-9', 5), pool('pod-10', 5)], chosen: 'pod-10' },
  ])('$name', ({ pool, chosen }) => {
    expect(choosePodToBind(pool)?.name).toBe(chosen);
    expect(choosePodToBind([...pool].reverse())?.name).toBe(chosen);
  });

  it('returns the caller’s own pod object, with whatever else it carries', () => {
    const pods = [{ ...pool('a', 2), uid: 'u-a' }, { ...pool('b', 1), uid: 'u-b' }];
    expect(choosePodToBind(pods)?.uid).toBe('u-b');
  });

  it('does not reorder the pool it is given', () => {
    const given = [pool('c', 3), pool('a', 1), pool('b', 2)];
    choosePodToBind(given);
    expect(given.map((p) => p.name)).toEqual(['c', 'a', 'b']);
  });
});

describe('choosePodsToBind', () => {
  const five = [pool('e', 50), pool('a', 10), pool('d', 40, false), pool('b', 20), pool('c', 30)];
  it.each([
    { name: 'two bindings take the two oldest ready pods, oldest first', count: 2, chosen: ['a', 'b'] },
    { name: 'more bindings than ready pods take every ready pod', count: 9, chosen: ['a', 'b', 'c', 'e'] },
    { name: 'no binding takes no pod', count: 0, chosen: [] },
  ])('$name', ({ count, chosen }) => {
    expect(choosePodsToBind(five, count).map((p) => p.name)).toEqual(chosen);
  });

  it.each([-1, 1.5, NaN])('refuses a count of %s', (count) => {
    expect(() => choosePodsToBind(five, count)).toThrow(RangeError);
  });
});

const running = (name: string, cpuCores: number, sessions = 1): TenantPod => ({ name, state: 'running', cpuCores, sessions });
const stamping = (name: string): TenantPod => ({ name, state: 'stamping', cpuCores: 0, sessions: 0 });
const draining = (name: string, cpuCores: number, sessions: number, drainDeadline?: number): TenantPod => ({
  name,
  state: 'draining',
  cpuCores,
  sessions,
  ...(drainDeadline === undefined ? {} : { drainDeadline }),
});

const undrain = (pod: string): ScaleAction => ({ kind: 'undrain', pod });
const pluck = (count: number): ScaleAction => ({ kind: 'pluck', count });
const drain = (pod: string): ScaleAction => ({ kind: 'drain', pod });

interface PlanCase {
  name: string;
  pods: TenantPod[];
  desired: number;
  actions: ScaleAction[];
}

const planCases: PlanCase[] = [
  { name: 'a tenant at its desired count needs nothing', pods: [running('a', 0.4), running('b', 0.2)], desired: 2, actions: [] },
  { name: 'a suspended tenant staying at zero needs nothing', pods: [], desired: 0, actions: [] },

  // Up.
  { name: 'resuming from zero plucks pods from the pool', pods: [], desired: 2, actions: [pluck(2)] },
  { name: 'a stamping pod counts as coming: nothing more to pluck', pods: [running('a', 0.5), stamping('b')], desired: 2, actions: [] },
  { name: 'stamping pods count towards a bigger target, and the rest is plucked', pods: [stamping('b')], desired: 3, actions: [pluck(2)] },
  {
    name: 'a draining pod is undrained rather than a new one plucked',
    pods: [running('a', 0.5), draining('b', 0.1, 1, NOW + 60_000)],
    desired: 2,
    actions: [undrain('b')],
  },
  {
    name: 'every draining pod is undrained before the rest is plucked, most sessions first',
    pods: [draining('few', 0.1, 1), running('a', 0.5), draining('many', 0.1, 4)],
    desired: 5,
    actions: [undrain('many'), undrain('few'), pluck(2)],
  },
  {
    name: 'the draining pod with the most sessions is undrained first, even if another is busier',
    pods: [draining('busy', 0.9, 1), draining('crowded', 0.1, 5)],
    desired: 1,
    actions: [undrain('crowded')],
  },
  {
    name: 'among draining pods with as many sessions, the busier one is undrained first',
    pods: [draining('calm', 0.1, 2), draining('busy', 0.8, 2)],
    desired: 1,
    actions: [undrain('busy')],
  },
  {
    name: 'among draining pods alike in sessions and CPU, the first by name is undrained',
    pods: [draining('pod-b', 0.3, 2), draining('pod-a', 0.3, 2)],
    desired: 1,
    actions: [undrain('pod-a')],
  },
  {
    name: 'a draining pod past its drain deadline is exiting, so a pod is plucked instead',
    pods: [draining('late', 0.3, 2, NOW - 1)],
    desired: 1,
    actions: [pluck(1)],
  },
  {
    name: 'a draining pod at its drain deadline exactly is exiting too',
    pods: [draining('due', 0.3, 2, NOW)],
    desired: 1,
    actions: [pluck(1)],
  },
  {
    name: 'a draining pod before its deadline is preferred to one past it',
    pods: [draining('late', 0.9, 9, NOW - 1), draining('in-time', 0.1, 1, NOW + 1)],
    desired: 1,
    actions: [undrain('in-time')],
  },

  // Down.
  {
    name: 'scaling down drains the running pods with the lowest CPU first',
    pods: [running('a', 0.5), running('b', 0.1), running('c', 0.3)],
    desired: 1,
    actions: [drain('b'), drain('c')],
  },
  {
    name: 'among pods with the same CPU, the one with fewer sessions is drained first',
    pods: [running('a', 0.2, 5), running('b', 0.2, 1)],
    desired: 1,
    actions: [drain('b')],
  },
  {
    name: 'among pods alike in CPU and sessions, the first by name is drained first',
    pods: [running('pod-9', 0.2, 1), running('pod-10', 0.2, 1)],
    desired: 1,
    actions: [drain('pod-10')],
  },
  {
    name: 'draining pods count for nothing and are not drained again',
    pods: [running('a', 0.5), draining('b', 0.1, 3)],
    desired: 1,
    actions: [],
  },
  {
    name: 'scaling to zero drains every running pod',
    pods: [running('a', 0.1, 0), running('b', 0, 0), draining('c', 0, 1)],
    desired: 0,
    actions: [drain('b'), drain('a')],
  },
  {
    name: 'a stamping pod cannot be drained yet: its share of the surplus waits for it',
    pods: [running('a', 0.5, 3), stamping('b'), stamping('c')],
    desired: 1,
    actions: [],
  },
  {
    name: 'the surplus beyond the stamping pods drains running pods now',
    pods: [running('a', 0.5), running('b', 0.1), running('c', 0.3), stamping('d')],
    desired: 2,
    actions: [drain('b')],
  },
  { name: 'a tenant going to zero while its only pod is stamping waits for the stamp', pods: [stamping('a')], desired: 0, actions: [] },
];

describe('planScale', () => {
  it.each(planCases)('$name', ({ pods, desired, actions }) => {
    expect(planScale(pods, desired, NOW)).toEqual(actions);
    expect(planScale([...pods].reverse(), desired, NOW)).toEqual(actions);
  });

  it.each([-1, 0.5, NaN])('refuses a desired count of %s', (desired) => {
    expect(() => planScale([], desired, NOW)).toThrow(RangeError);
  });

  it('refuses a NaN now', () => {
    expect(() => planScale([], 1, NaN)).toThrow(RangeError);
  });
});
