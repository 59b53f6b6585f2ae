import { describe, expect, it } from 'vitest';
import type { SqlPodObject } from '../../shared/kube/sqlpod.js';
import { resizeFor, resizePatch, resizeProgress, resourcesFinding, type PodResources } from './resources.js';

const pod = (resources?: { requests?: Record<string, string>; limits?: Record<string, string> }, conditions: NonNullable<SqlPodObject['status']>['conditions'] = []): SqlPodObject => ({
  metadata: { name: 'p1' },
  spec: { containers: [{ name: 'istio-proxy' }, { name: 'sqlpod', ...(resources ? { resources } : {}) }] },
  status: { conditions },
});
const pool = { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } };

describe('resizeFor', () => {
  it('does nothing without sqlPodResources', () => {
    expect(resizeFor(pod(pool), undefined)).toBeUndefined();
  });

  it('does nothing when the pod already has the values, however they are written', () => {
    expect(resizeFor(pod(pool), { requests: { cpu: '0.1', memory: 268435456 }, limits: { memory: '1024Mi' } })).toBeUndefined();
  });

  it("changes only what the spec names and keeps the pool's other values (the QoS class stays)", () => {
    expect(resizeFor(pod(pool), { requests: { cpu: '500m' }, limits: { cpu: 1 } })).toEqual({
      container: 1,
      resources: { requests: { cpu: '500m', memory: '256Mi' }, limits: { memory: '1Gi', cpu: '1' } },
    });
  });

  it('gives a container without resources just what the spec names', () => {
    expect(resizeFor(pod(), { limits: { memory: '2Gi' } })).toEqual({ container: 1, resources: { limits: { memory: '2Gi' } } });
  });

  it('resizes the first container of a pod with no container named sqlpod', () => {
    const other: SqlPodObject = { metadata: { name: 'p' }, spec: { containers: [{ name: 'main' }] } };
    expect(resizeFor(other, { requests: { cpu: '1' } })?.container).toBe(0);
  });
});

describe('resizePatch', () => {
  it("sets the container's resources only if it is still the container that was seen", () => {
    const p = pod(pool);
    const resize = resizeFor(p, { requests: { cpu: '1' } });
    if (!resize) throw new Error('no resize');
    expect(resizePatch(p, resize)).toEqual([
      { op: 'test', path: '/spec/containers/1/name', value: 'sqlpod' },
      { op: 'add', path: '/spec/containers/1/resources', value: { requests: { cpu: '1', memory: '256Mi' }, limits: { memory: '1Gi' } } },
    ]);
  });
});

describe('resizeProgress', () => {
  it("reads the kubelet's PodResizePending and PodResizeInProgress conditions", () => {
    expect(resizeProgress(pod(pool))).toEqual({ inProgress: false });
    expect(resizeProgress(pod(pool, [{ type: 'PodResizePending', status: 'True', reason: 'Infeasible', message: 'Node didn\'t have enough capacity: cpu' }]))).toEqual({
      pending: { reason: 'Infeasible', message: "Node didn't have enough capacity: cpu" },
      inProgress: false,
    });
    expect(resizeProgress(pod(pool, [{ type: 'PodResizeInProgress', status: 'True' }])).inProgress).toBe(true);
  });
});

describe('resourcesFinding', () => {
  const wanted = { requests: { cpu: '500m' }, limits: { memory: '1Gi' } };
  const done: PodResources = { name: 'a', needsResize: false, progress: { inProgress: false } };
  it.each<[string, PodResources[], string, boolean]>([
    ['every pod resized and actuated', [done, { ...done, name: 'b' }], 'Applied', true],
    ['no pod (suspended): nothing is wrong', [], 'Applied', true],
    ['a spec still to be resized', [done, { ...done, name: 'b', needsResize: true }], 'Resizing', false],
    ['the kubelet deferring', [{ ...done, progress: { pending: { reason: 'Deferred', message: '' }, inProgress: false } }], 'Resizing', false],
    ['the kubelet still actuating', [{ ...done, progress: { inProgress: true } }], 'Resizing', false],
    ['infeasible on the node', [{ ...done, progress: { pending: { reason: 'Infeasible', message: 'no room' }, inProgress: false } }], 'ResizeInfeasible', false],
    ['refused by the API server, which wins', [{ ...done, progress: { inProgress: true } }, { ...done, name: 'b', needsResize: true, refused: 'Pod QoS Class may not change as a result of resizing' }], 'ResizeRefused', false],
  ])('%s', (_name, pods, reason, applied) => {
    expect(resourcesFinding(wanted, pods)).toMatchObject({ reason, applied });
  });

  it('names the pod and the reason the API server gave', () => {
    expect(resourcesFinding(wanted, [{ ...done, name: 'pool-x', needsResize: true, refused: 'QoS may not change' }]).message).toBe(
      'pod pool-x cannot be resized to requests cpu=500m; limits memory=1Gi: QoS may not change',
    );
  });

  it("without sqlPodResources the pods keep the pool's resources", () => {
    expect(resourcesFinding(undefined, [done])).toMatchObject({ applied: true, reason: 'PoolDefaults' });
  });
});
