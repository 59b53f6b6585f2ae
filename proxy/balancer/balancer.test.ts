import { describe, expect, it } from 'vitest';
import type { PodState, PodView, TenantEntry } from '../directory/index.js';
import { Balancer, pickPod } from './index.js';

const pod = (name: string, state: PodState = 'running'): PodView => ({ name, address: `${name}:26257`, state, tenant: 'acme' });
const entry = (...pods: PodView[]): TenantEntry => ({ name: 'acme', pods });

interface Case {
  name: string;
  pods: PodView[];
  counts?: Record<string, number>;
  previous?: string;
  picked: string | undefined;
}

const cases: Case[] = [
  { name: 'no pods', pods: [], picked: undefined },
  { name: 'only stamping and draining pods', pods: [pod('a', 'stamping'), pod('b', 'draining')], picked: undefined },
  { name: 'the one running pod', pods: [pod('a', 'draining'), pod('b'), pod('c', 'stamping')], picked: 'b' },
  { name: 'fewest connections', pods: [pod('a'), pod('b'), pod('c')], counts: { a: 3, b: 1, c: 2 }, picked: 'b' },
  { name: 'a draining pod with no connections is still never chosen', pods: [pod('a', 'draining'), pod('b')], counts: { b: 50 }, picked: 'b' },
  { name: 'a stamping pod with no connections is never chosen', pods: [pod('a', 'stamping'), pod('b')], counts: { b: 50 }, picked: 'b' },
  { name: 'ties: no previous pick takes the first by name, whatever the order', pods: [pod('c'), pod('a'), pod('b')], picked: 'a' },
  { name: 'ties: the one after the previous pick', pods: [pod('c'), pod('a'), pod('b')], previous: 'a', picked: 'b' },
  { name: 'ties: wraps around after the last name', pods: [pod('c'), pod('a'), pod('b')], previous: 'c', picked: 'a' },
  { name: 'ties: the previous pick may have gone', pods: [pod('c'), pod('a')], previous: 'b', picked: 'c' },
  { name: 'ties: only the least loaded are tied', pods: [pod('a'), pod('b'), pod('c')], counts: { a: 1, b: 2, c: 1 }, previous: 'a', picked: 'c' },
  { name: 'ties: the previous pick itself is not tied', pods: [pod('a'), pod('b'), pod('c')], counts: { b: 1 }, previous: 'b', picked: 'c' },
];

describe('pickPod', () => {
  it.each(cases)('$name', (c) => {
    expect(pickPod(c.pods, (name) => c.counts?.[name] ?? 0, c.previous)?.name).toBe(c.picked);
  });
});

describe('Balancer', () => {
  it('spreads a burst evenly, because a connection counts from the moment it is assigned', () => {
    const b = new Balancer();
    const e = entry(pod('a'), pod('b'), pod('c'));
    const names = Array.from({ length: 9 }, () => b.assign(e)?.pod.name);
    expect(names).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c']);
    expect(['a', 'b', 'c'].map((n) => b.connections(n))).toEqual([3, 3, 3]);
  });

  it('rotates short serial connections instead of always using the first pod', () => {
    const b = new Balancer();
    const e = entry(pod('a'), pod('b'));
    const names: string[] = [];
    for (let i = 0; i < 4; i++) {
      const a = b.assign(e);
      if (!a) throw new Error('no pod');
      names.push(a.pod.name);
      a.release();
    }
    expect(names).toEqual(['a', 'b', 'a', 'b']);
  });

  it('rotates each tenant on its own', () => {
    const b = new Balancer();
    const acme = entry(pod('a1'), pod('a2'));
    const zeta: TenantEntry = { name: 'zeta', pods: [{ ...pod('z1'), tenant: 'zeta' }, { ...pod('z2'), tenant: 'zeta' }] };
    const picks = [acme, zeta, acme, zeta].map((e) => {
      const a = b.assign(e);
      a?.release();
      return a?.pod.name;
    });
    expect(picks).toEqual(['a1', 'z1', 'a2', 'z2']);
  });

  it('fills the pod that lost connections first', () => {
    const b = new Balancer();
    const e = entry(pod('a'), pod('b'));
    const [a1, , a2] = [b.assign(e), b.assign(e), b.assign(e)];
    expect(a1?.pod.name).toBe('a');
    expect(a2?.pod.name).toBe('a');
    a1?.release();
    a2?.release();
    expect(b.assign(e)?.pod.name).toBe('a');
  });

  it('release is idempotent and forgets idle pods', () => {
    const b = new Balancer();
    const e = entry(pod('a'));
    const first = b.assign(e);
    const second = b.assign(e);
    first?.release();
    first?.release();
    expect(b.connections('a')).toBe(1);
    second?.release();
    expect(b.connections('a')).toBe(0);
  });

  it('counts connections on a pod that started draining until they end', () => {
    const b = new Balancer();
    const a = b.assign(entry(pod('a')));
    expect(b.assign(entry(pod('a', 'draining')))).toBeUndefined();
    expect(b.connections('a')).toBe(1);
    a?.release();
    expect(b.connections('a')).toBe(0);
  });
});
