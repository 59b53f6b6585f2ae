import { describe, expect, it, vi } from 'vitest';
import { FileFormatError } from '../files/index.js';
import { MemoryDirectory, hasRunningPod, parseStaticRouting, staticDirectory, type DirectoryChange, type PodView } from './index.js';

const pod = (name: string, state: PodView['state'] = 'running', tenant = 'acme'): PodView => ({ name, address: `10.0.0.${name.length}:26257`, state, tenant });

describe('MemoryDirectory', () => {
  it('knows its tenants; a tenant without pods exists (suspended)', () => {
    const d = new MemoryDirectory({ tenants: { acme: [pod('a')], idle: [] } });
    expect(d.lookup('acme')?.pods.map((p) => p.name)).toEqual(['a']);
    expect(d.lookup('idle')).toEqual({ name: 'idle', pods: [] });
    expect(d.lookup('zeta')).toBeUndefined();
  });

  it('tells subscribers about every change, with the new snapshot', () => {
    const d = new MemoryDirectory();
    const seen: DirectoryChange[] = [];
    const unsubscribe = d.subscribe((c) => seen.push(c));
    d.setTenant('acme');
    d.upsertPod(pod('a', 'stamping'));
    d.upsertPod(pod('a', 'running'));
    d.upsertPod(pod('b', 'running'));
    d.removePod('acme', 'a');
    d.removePod('acme', 'nope'); // no change, no event
    d.removeTenant('acme');
    d.removeTenant('acme');
    unsubscribe();
    d.setTenant('zeta');
    expect(seen.map((c) => [c.tenant, c.entry?.pods.map((p) => `${p.name}:${p.state}`)])).toEqual([
      ['acme', []],
      ['acme', ['a:stamping']],
      ['acme', ['a:running']],
      ['acme', ['a:running', 'b:running']],
      ['acme', ['b:running']],
      ['acme', undefined],
    ]);
  });

  it('hands out immutable snapshots', () => {
    const d = new MemoryDirectory({ tenants: { acme: [pod('a')] } });
    const before = d.lookup('acme');
    d.upsertPod(pod('a', 'draining'));
    expect(before?.pods[0]?.state).toBe('running');
    expect(Object.isFrozen(before?.pods)).toBe(true);
    expect(() => (before?.pods as PodView[]).push(pod('x'))).toThrow();
  });

  it('refuses a pod of another tenant', () => {
    expect(() => new MemoryDirectory({ tenants: { acme: [pod('z', 'running', 'zeta')] } })).toThrow(/belongs to tenant "zeta"/);
  });

  it('lets a listener unsubscribe itself during a notification', () => {
    const d = new MemoryDirectory();
    const calls: string[] = [];
    const off = d.subscribe(() => {
      calls.push('first');
      off();
    });
    d.subscribe(() => calls.push('second'));
    d.setTenant('acme');
    d.setTenant('acme');
    expect(calls).toEqual(['first', 'second', 'second']);
  });

  it('resumes through the given function, and refuses unknown tenants or when it has none', async () => {
    const resume = vi.fn(() => Promise.resolve());
    const d = new MemoryDirectory({ tenants: { acme: [] }, resume });
    await d.resume('acme');
    expect(resume).toHaveBeenCalledWith('acme');
    await expect(d.resume('zeta')).rejects.toThrow(/"zeta": it does not exist/);
    await expect(new MemoryDirectory({ tenants: { acme: [] } }).resume('acme')).rejects.toThrow(/static/);
  });

  it('hasRunningPod', () => {
    expect([undefined, { name: 'a', pods: [] }, { name: 'a', pods: [pod('a', 'draining'), pod('b', 'stamping')] }, { name: 'a', pods: [pod('a', 'draining'), pod('b')] }].map(hasRunningPod)).toEqual([false, false, false, true]);
  });
});

describe('static routing file', () => {
  it('makes every address a running pod named after it', () => {
    const d = staticDirectory(parseStaticRouting('{"tenants":{"acme":{"addresses":["10.0.0.1:5432","db.local:5433","[::1]:5432"]},"zeta":{"addresses":["10.0.0.1:5432"]}}}'));
    expect(d.lookup('acme')?.pods).toEqual([
      { name: '10.0.0.1:5432', address: '10.0.0.1:5432', state: 'running', tenant: 'acme' },
      { name: 'db.local:5433', address: 'db.local:5433', state: 'running', tenant: 'acme' },
      { name: '[::1]:5432', address: '[::1]:5432', state: 'running', tenant: 'acme' },
    ]);
    expect(d.lookup('zeta')?.pods.map((p) => p.name)).toEqual(['10.0.0.1:5432']);
  });

  const bad: [string, string, string[]][] = [
    ['not JSON', 'tenants:', ['not valid JSON (']],
    ['no address', '{"tenants":{"acme":{"addresses":[]}}}', ['tenants.acme.addresses: a tenant needs at least one address']],
    ['address without port', '{"tenants":{"acme":{"addresses":["10.0.0.1"]}}}', ['tenants.acme.addresses[0]: expected host:port']],
    ['repeated address', '{"tenants":{"acme":{"addresses":["a:1","a:1"]}}}', ['tenants.acme.addresses: addresses repeat']],
    ['unknown key', '{"tenants":{"acme":{"address":["a:1"]}}}', ['tenants.acme.addresses:', 'tenants.acme: Unrecognized key: "address"']],
    ['bad tenant name', '{"tenants":{"ACME":{"addresses":["a:1"]}}}', ['tenants.ACME: "ACME" is not a valid tenant name']],
    ['tenants missing', '{"tenant":{}}', ['tenants:', '(top level): Unrecognized key: "tenant"']],
  ];
  it.each(bad)('refuses %s, saying where', (_name, text, want) => {
    let err: unknown;
    try {
      parseStaticRouting(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FileFormatError);
    const { problems, message } = err as FileFormatError;
    expect(message.startsWith('static routing file: ')).toBe(true);
    expect(problems).toHaveLength(want.length);
    want.forEach((w, i) => expect(problems[i]).toContain(w));
  });
});
