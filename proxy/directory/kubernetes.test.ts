import { describe, expect, it } from 'vitest';
import { DEFAULT_PORTS } from '../../shared/kube/sqlpod.js';
import { podView, type SqlPodObject } from './kubernetes.js';

const pod = (labels: Record<string, string>, extra: Partial<SqlPodObject> = {}): SqlPodObject => ({
  metadata: { name: 'p', namespace: 'shoal', labels, ...extra.metadata },
  spec: extra.spec ?? { containers: [{ ports: [{ name: 'sql', containerPort: 26257 }] }] },
  status: extra.status ?? { podIP: '10.244.0.7', phase: 'Running' },
});

describe('podView', () => {
  it('takes tenant and state from the labels and the address from the pod IP and its "sql" port', () => {
    expect(podView(pod({ 'shoal.dev/tenant': 'acme', 'shoal.dev/state': 'running' }))).toEqual({ name: 'p', tenant: 'acme', state: 'running', address: '10.244.0.7:26257' });
  });
  it('falls back to the default SQL port and brackets IPv6', () => {
    expect(podView(pod({ 'shoal.dev/tenant': 'acme', 'shoal.dev/state': 'stamping' }, { spec: { containers: [{}] }, status: { podIP: 'fd00::7' } }))?.address).toBe(`[fd00::7]:${DEFAULT_PORTS.sql}`);
  });
  it('counts a pod being deleted as draining', () => {
    expect(podView(pod({ 'shoal.dev/tenant': 'acme', 'shoal.dev/state': 'running' }, { metadata: { name: 'p', deletionTimestamp: '2026-11-22T00:00:00Z' } }))?.state).toBe('draining');
  });
  it.each([
    ['no tenant label', { 'shoal.dev/state': 'running' }, {}],
    ['no state label (plucked, not yet stamping)', { 'shoal.dev/tenant': 'acme' }, {}],
    ['an unknown state', { 'shoal.dev/tenant': 'acme', 'shoal.dev/state': 'weird' }, {}],
    ['no IP yet', { 'shoal.dev/tenant': 'acme', 'shoal.dev/state': 'running' }, { status: { phase: 'Pending' } }],
    ['a finished pod', { 'shoal.dev/tenant': 'acme', 'shoal.dev/state': 'running' }, { status: { podIP: '10.0.0.1', phase: 'Failed' } }],
  ] as const)('leaves out a pod with %s', (_what, labels, extra) => {
    expect(podView(pod({ ...labels }, extra as Partial<SqlPodObject>))).toBeUndefined();
  });
});
