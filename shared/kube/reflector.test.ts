import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { objectMetaSchema, parseWatchLine, type KubeObject } from './api.js';
import { applyWatchEvent, backoffMs, diffStore, keyOf } from './reflector.js';

const obj = (name: string, rv: string, namespace = 'ns'): KubeObject => ({ metadata: { name, namespace, resourceVersion: rv } });
const item = z.object({ metadata: objectMetaSchema });

describe('diffStore (what a relist changes)', () => {
  it('adds new objects, updates changed ones, deletes vanished ones, leaves unchanged ones alone', () => {
    const current = new Map([obj('a', '1'), obj('b', '1'), obj('c', '1')].map((o) => [keyOf(o), o]));
    const events = diffStore(current, [obj('a', '1'), obj('b', '2'), obj('d', '1')]);
    expect(events.map((e) => [e.type, e.object.metadata.name])).toEqual([
      ['updated', 'b'],
      ['added', 'd'],
      ['deleted', 'c'],
    ]);
  });
  it('keys by namespace and name', () => {
    expect(keyOf(obj('a', '1', 'x'))).toBe('x/a');
    expect(keyOf({ metadata: { name: 'cluster-wide' } })).toBe('cluster-wide');
    expect(diffStore(new Map([['x/a', obj('a', '1', 'x')]]), [obj('a', '1', 'y')]).map((e) => e.type)).toEqual(['added', 'deleted']);
  });
});

describe('applyWatchEvent', () => {
  it('adds, updates (with the old object) and deletes; bookmarks and errors change nothing', () => {
    const store = new Map<string, KubeObject>();
    expect(applyWatchEvent(store, { type: 'ADDED', object: obj('a', '1') })).toMatchObject({ type: 'added' });
    expect(applyWatchEvent(store, { type: 'MODIFIED', object: obj('a', '2') })).toMatchObject({ type: 'updated', old: { metadata: { resourceVersion: '1' } } });
    // A MODIFIED for an object never seen (its ADDED fell in a gap) is an add.
    expect(applyWatchEvent(store, { type: 'MODIFIED', object: obj('b', '3') })).toMatchObject({ type: 'added' });
    expect(applyWatchEvent(store, { type: 'BOOKMARK', resourceVersion: '9' })).toBeUndefined();
    expect(applyWatchEvent(store, { type: 'ERROR', code: 410, reason: 'Expired', message: 'too old' })).toBeUndefined();
    expect(applyWatchEvent(store, { type: 'DELETED', object: obj('a', '4') })).toMatchObject({ type: 'deleted', object: { metadata: { resourceVersion: '2' } } });
    expect([...store.keys()]).toEqual(['ns/b']);
  });
});

describe('parseWatchLine', () => {
  it('reads events, bookmarks and 410 errors; skips what it cannot read', () => {
    expect(parseWatchLine('{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"5"}}}', item)).toEqual({ type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '5' } } });
    expect(parseWatchLine('{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"77"}}}', item)).toEqual({ type: 'BOOKMARK', resourceVersion: '77' });
    expect(parseWatchLine('{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version"}}', item)).toEqual({
      type: 'ERROR',
      code: 410,
      reason: 'Expired',
      message: 'too old resource version',
    });
    expect(parseWatchLine('not json', item)).toBeUndefined();
    expect(parseWatchLine('{"type":"ADDED","object":{"spec":{}}}', item)).toBeUndefined();
    expect(parseWatchLine('{"type":"WHATEVER","object":{}}', item)).toBeUndefined();
  });
});

describe('backoffMs', () => {
  it('doubles per attempt between half and all of the ceiling, capped', () => {
    expect([1, 2, 3, 4].map((a) => backoffMs(a, 100, 1000, () => 0))).toEqual([50, 100, 200, 400]);
    expect([1, 2, 3, 4, 5, 10].map((a) => backoffMs(a, 100, 1000, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
});
