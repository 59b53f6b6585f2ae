import { describe, expect, it } from 'vitest';
import { canAcquire, encodeHolders, parseHolders, renewed, withHolder, withoutHolder, type Holder, type LockMode } from './holders.js';

const NOW = 1_000_000;
const live = (owner: string, mode: LockMode): Holder => ({ owner, mode, expires: NOW + 5_000 });
const expired = (owner: string, mode: LockMode): Holder => ({ owner, mode, expires: NOW - 1 });

describe('canAcquire', () => {
  const cases: [string, Holder[], LockMode, boolean][] = [
    ['free lock, exclusive', [], 'exclusive', true],
    ['free lock, shared', [], 'shared', true],
    ['another session holds it exclusively', [live('p/2', 'exclusive')], 'exclusive', false],
    ['another session holds it exclusively, shared wanted', [live('p/2', 'exclusive')], 'shared', false],
    ['another session shares it, shared wanted', [live('p/2', 'shared')], 'shared', true],
    ['another session shares it, exclusive wanted', [live('p/2', 'shared')], 'exclusive', false],
    ['the same session holds it exclusively (reentrant)', [live('p/1', 'exclusive')], 'exclusive', true],
    ['the same session shares it, exclusive wanted (PG allows)', [live('p/1', 'shared')], 'exclusive', true],
    ['the holder lease ran out (crashed pod)', [expired('q/7', 'exclusive')], 'exclusive', true],
    ['a lease that ends exactly now has ended', [{ owner: 'q/7', mode: 'exclusive', expires: NOW }], 'exclusive', true],
    ['one expired and one live sharer', [expired('q/7', 'exclusive'), live('p/2', 'shared')], 'exclusive', false],
  ];
  it.each(cases)('%s', (_name, holders, mode, expected) => {
    expect(canAcquire(holders, NOW, 'p/1', mode)).toBe(expected);
  });
});

describe('record changes', () => {
  it('withHolder drops expired holders and replaces the own entry of that mode', () => {
    const before = [expired('q/7', 'exclusive'), live('p/2', 'shared'), { owner: 'p/1', mode: 'shared' as const, expires: NOW + 1 }];
    expect(withHolder(before, NOW, 'p/1', 'shared', NOW + 10_000)).toEqual([live('p/2', 'shared'), { owner: 'p/1', mode: 'shared', expires: NOW + 10_000 }]);
  });

  it('withoutHolder removes only that owner and mode', () => {
    const before = [live('p/1', 'shared'), live('p/1', 'exclusive'), live('p/2', 'shared')];
    expect(withoutHolder(before, 'p/1', 'shared')).toEqual([live('p/1', 'exclusive'), live('p/2', 'shared')]);
  });

  it('renewed extends only what this pod still holds and never re-adds a lost holder', () => {
    const before = [live('p/1', 'exclusive'), live('q/1', 'shared'), live('p/3', 'shared')];
    const after = renewed(before, (owner) => owner === 'p/1', NOW + 10_000);
    expect(after).toEqual([{ owner: 'p/1', mode: 'exclusive', expires: NOW + 10_000 }, live('q/1', 'shared'), live('p/3', 'shared')]);
    expect(renewed([], () => true, NOW + 10_000)).toEqual([]);
  });

  it('encodes and parses; a corrupt record is refused', () => {
    const holders = [live('p/1', 'exclusive')];
    expect(parseHolders(encodeHolders(holders))).toEqual(holders);
    expect(parseHolders(null)).toEqual([]);
    expect(() => parseHolders(Buffer.from('{"holders":[{"owner":1}]}'))).toThrow(/corrupt/);
  });
});
