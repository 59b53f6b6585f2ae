import { describe, expect, it } from 'vitest';
import type { SqlPodObject } from '../../shared/kube/sqlpod.js';
import { boundState, isPoolPod, pluckPatch, poolView, stampInterrupted, statePatch } from './pods.js';

const pod = (labels: Record<string, string>, extra: Partial<SqlPodObject> = {}, meta: Partial<SqlPodObject['metadata']> = {}): SqlPodObject => ({
  metadata: { name: 'p', resourceVersion: '42', creationTimestamp: '2026-12-04T10:00:00Z', labels, ...meta },
  ...extra,
});
const ready = { status: { podIP: '10.0.0.7', conditions: [{ type: 'Ready', status: 'True' }] } };

describe('pool pods', () => {
  it('are prewarmed and bound to nobody', () => {
    expect(isPoolPod(pod({ 'shoal.dev/pool': 'prewarmed' }))).toBe(true);
    expect(isPoolPod(pod({ 'shoal.dev/pool': 'prewarmed', 'shoal.dev/tenant': 'acme' }))).toBe(false);
    expect(isPoolPod(pod({ 'shoal.dev/tenant': 'acme' }))).toBe(false);
  });

  it.each<[string, Partial<SqlPodObject>, boolean]>([
    ['Ready with an IP', ready, true],
    ['Ready without an IP', { status: { conditions: [{ type: 'Ready', status: 'True' }] } }, false],
    ['not Ready', { status: { podIP: '10.0.0.7', conditions: [{ type: 'Ready', status: 'False' }] } }, false],
    ['no status', {}, false],
  ])('are ready to pluck when %s: %s', (_name, extra, want) => {
    expect(poolView(pod({ 'shoal.dev/pool': 'prewarmed' }, extra)).ready).toBe(want);
  });

  it('report creation time and termination', () => {
    const v = poolView(pod({}, ready, { deletionTimestamp: '2026-12-04T11:00:00Z' }));
    expect(v.createdAt).toBe(Date.parse('2026-12-04T10:00:00Z'));
    expect(v.terminating).toBe(true);
  });
});

describe('boundState', () => {
  it.each([
    [{ 'shoal.dev/state': 'running' }, {}, 'running'],
    [{ 'shoal.dev/state': 'draining' }, {}, 'draining'],
    [{ 'shoal.dev/state': 'stamping' }, {}, 'stamping'],
    [{}, {}, 'stamping'],
    [{ 'shoal.dev/state': 'running' }, { deletionTimestamp: '2026-12-04T11:00:00Z' }, 'draining'],
  ] as const)('%j %j → %s', (labels, meta, want) => {
    expect(boundState(pod(labels, {}, meta))).toBe(want);
  });
});

describe('pluckPatch', () => {
  it('applies only to the version seen, still in the pool, and hands the pod to the tenant as its controller', () => {
    expect(pluckPatch(pod({ 'shoal.dev/pool': 'prewarmed' }), { name: 'acme', uid: 'u-1' }, new Date('2026-12-04T10:00:00Z'))).toEqual([
      { op: 'test', path: '/metadata/resourceVersion', value: '42' },
      { op: 'test', path: '/metadata/labels/shoal.dev~1pool', value: 'prewarmed' },
      { op: 'remove', path: '/metadata/labels/shoal.dev~1pool' },
      { op: 'add', path: '/metadata/labels/shoal.dev~1tenant', value: 'acme' },
      { op: 'add', path: '/metadata/labels/shoal.dev~1state', value: 'stamping' },
      { op: 'add', path: '/metadata/ownerReferences', value: [{ apiVersion: 'shoal.dev/v1alpha1', kind: 'CrdbTenant', name: 'acme', uid: 'u-1', controller: true, blockOwnerDeletion: true }] },
      { op: 'add', path: '/metadata/annotations', value: { 'shoal.dev/plucked-at': '2026-12-04T10:00:00.000Z' } },
    ]);
  });

  it('adds the pluck time to annotations the pod already has', () => {
    expect(pluckPatch(pod({}, {}, { annotations: { a: 'b' } }), { name: 'acme', uid: 'u-1' }, new Date('2026-12-04T10:00:00Z')).at(-1)).toEqual({
      op: 'add',
      path: '/metadata/annotations/shoal.dev~1plucked-at',
      value: '2026-12-04T10:00:00.000Z',
    });
  });
});

describe('stampInterrupted', () => {
  const at = (iso: string) => pod({}, {}, { annotations: { 'shoal.dev/plucked-at': iso } });
  it.each([
    ['plucked a moment ago: a stamp may be in flight', at('2026-12-04T10:00:00Z'), Date.parse('2026-12-04T10:00:05Z'), false],
    ['plucked 15 s ago', at('2026-12-04T10:00:00Z'), Date.parse('2026-12-04T10:00:15Z'), true],
    ['no pluck time (an older operator)', pod({}), Date.parse('2026-12-04T10:00:00Z'), true],
  ] as const)('%s', (_name, p, now, want) => {
    expect(stampInterrupted(p, now)).toBe(want);
  });
});

describe('statePatch', () => {
  it('moves the state only from the one seen', () => {
    expect(statePatch(pod({ 'shoal.dev/state': 'stamping' }), 'stamping', 'running')).toEqual([
      { op: 'test', path: '/metadata/labels/shoal.dev~1state', value: 'stamping' },
      { op: 'replace', path: '/metadata/labels/shoal.dev~1state', value: 'running' },
    ]);
  });

  it('creates the annotations map when the pod has none, and removes only annotations that exist', () => {
    expect(statePatch(pod({}), 'running', 'draining', { 'shoal.dev/drain-deadline': 'T', 'shoal.dev/x': null }).slice(2)).toEqual([
      { op: 'add', path: '/metadata/annotations', value: {} },
      { op: 'add', path: '/metadata/annotations/shoal.dev~1drain-deadline', value: 'T' },
    ]);
    expect(statePatch(pod({}, {}, { annotations: { 'shoal.dev/drain-deadline': 'T' } }), 'draining', 'running', { 'shoal.dev/drain-deadline': null }).slice(2)).toEqual([
      { op: 'remove', path: '/metadata/annotations/shoal.dev~1drain-deadline' },
    ]);
  });
});
