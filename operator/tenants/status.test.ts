import { describe, expect, it } from 'vitest';
import { carryTransitions, tenantConditions, tenantState, tenantStatus, type TenantFacts } from './status.js';

const base: TenantFacts = { name: 'acme', generation: 3, tenantId: 7, problem: null, desired: 0, pods: [], deleting: false, resources: { applied: true, reason: 'PoolDefaults', message: 'm' } };
const pods = (...states: ('stamping' | 'running' | 'draining')[]) => states.map((state, i) => ({ name: `p${i}`, state }));
const statusOf = (f: TenantFacts) => Object.fromEntries(tenantConditions(f).map((c) => [c.type, `${c.status}/${c.reason ?? ''}`]));

describe('tenantState and conditions', () => {
  it.each<[string, Partial<TenantFacts>, string, Record<string, string>]>([
    ['no keyspace yet', { tenantId: null }, 'Provisioning', { Ready: 'False/Provisioning', Suspended: 'True/ScaledToZero', Scaling: 'False/Converged', Degraded: 'False/AsExpected' }],
    ['kvpod unreachable', { tenantId: null, problem: { reason: 'KeyspaceUnavailable', message: 'no kvpod answered' } }, 'Failed', { Ready: 'False/KeyspaceUnavailable', Degraded: 'True/KeyspaceUnavailable', Scaling: 'False/Converged', Suspended: 'True/ScaledToZero' }],
    ['provisioned, suspended', {}, 'Suspended', { Ready: 'True/Suspended', Suspended: 'True/ScaledToZero', Scaling: 'False/Converged', Degraded: 'False/AsExpected' }],
    ['suspending: a pod still draining', { pods: pods('draining') }, 'Suspending', { Ready: 'True/Suspending', Suspended: 'False/HasPods', Scaling: 'True/ScalingDown' }],
    ['resuming: one desired, its pod stamping', { desired: 1, pods: pods('stamping') }, 'Resuming', { Ready: 'True/Resuming', Suspended: 'False/HasPods', Scaling: 'True/ScalingUp' }],
    ['running as desired', { desired: 2, pods: pods('running', 'running') }, 'Running', { Ready: 'True/Running', Scaling: 'False/Converged' }],
    ['scaling up', { desired: 3, pods: pods('running', 'running') }, 'Scaling', { Scaling: 'True/ScalingUp' }],
    ['scaling down: one draining beside the desired two', { desired: 2, pods: pods('running', 'running', 'draining') }, 'Scaling', { Scaling: 'True/ScalingDown' }],
    ['too many running', { desired: 1, pods: pods('running', 'running') }, 'Scaling', { Scaling: 'True/ScalingDown' }],
    ['deleting wins over everything', { deleting: true, desired: 2, pods: pods('running'), problem: { reason: 'X', message: 'y' } }, 'Deleting', { Ready: 'False/Deleting', Scaling: 'False/Converged', Degraded: 'True/X' }],
    ['a problem on a provisioned tenant with pods', { desired: 1, pods: pods('running'), problem: { reason: 'StampFailed', message: 'no' } }, 'Failed', { Ready: 'False/StampFailed', Degraded: 'True/StampFailed' }],
  ])('%s', (_name, facts, state, conditions) => {
    const f = { ...base, ...facts };
    expect(tenantState(f)).toBe(state);
    expect(statusOf(f)).toMatchObject(conditions);
  });

  it('stamps every condition with the generation it describes', () => {
    expect(tenantConditions(base).map((c) => c.observedGeneration)).toEqual([3, 3, 3, 3, 3]);
  });

  it.each<[string, TenantFacts['resources'], boolean, string]>([
    ['resources checked and applied', { applied: true, reason: 'Applied', message: '1 pod(s) at requests cpu=1' }, false, 'True/Applied'],
    ['a resize refused', { applied: false, reason: 'ResizeRefused', message: 'QoS' }, false, 'False/ResizeRefused'],
    ['pods not converged (a problem): not known', null, false, 'Unknown/NotConverged'],
    ['deleting: not known', null, true, 'Unknown/Deleting'],
  ])('ResourcesApplied: %s', (_name, resources, deleting, expected) => {
    expect(statusOf({ ...base, resources, deleting }).ResourcesApplied).toBe(expected);
  });

  it('says how many pods run and drain', () => {
    const scaling = tenantConditions({ ...base, desired: 2, pods: pods('running', 'draining') }).find((c) => c.type === 'Scaling');
    expect(scaling?.message).toBe('1 of 2 pod(s) running, 1 draining');
  });
});

describe('carryTransitions', () => {
  const t0 = '2026-12-04T10:00:00Z';
  const t1 = '2026-12-04T11:00:00Z';
  it('keeps the time of a condition whose status did not change, and moves it for one that did', () => {
    const before = carryTransitions(tenantConditions({ ...base, tenantId: null }), undefined, t0);
    const after = carryTransitions(tenantConditions(base), before, t1);
    const at = (type: string) => after.find((c) => c.type === type)?.lastTransitionTime;
    expect(at('Ready')).toBe(t1);
    expect(at('Suspended')).toBe(t0);
    expect(at('Degraded')).toBe(t0);
  });
});

describe('tenantStatus', () => {
  it('counts replicas without draining pods, ready ones as running, and gives the scale selector', () => {
    const s = tenantStatus({ ...base, desired: 2, pods: pods('running', 'stamping', 'draining') }, undefined, '2026-12-04T10:00:00Z');
    expect(s).toMatchObject({ observedGeneration: 3, tenantId: 7, state: 'Scaling', replicas: 2, readyReplicas: 1, selector: 'shoal.dev/tenant=acme' });
    expect(s.pods).toEqual([
      { name: 'p0', state: 'running' },
      { name: 'p1', state: 'stamping' },
      { name: 'p2', state: 'draining' },
    ]);
  });

  it('leaves tenantId out until it is known', () => {
    expect(tenantStatus({ ...base, tenantId: null }, undefined, '2026-12-04T10:00:00Z')).not.toHaveProperty('tenantId');
  });
});
