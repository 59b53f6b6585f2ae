import { describe, expect, it } from 'vitest';
import { SqlError } from '../errors.js';
import { KeyReader, KeyWriter, compare, decodeKey, decodeValue, encodeKey, encodeValue, enumType, formatText, parseText, sortOrderForNewLabel, type EnumLabel } from './index.js';

const labels = (...names: string[]): EnumLabel[] => names.map((label, i) => ({ label, sortOrder: i + 1 }));
const mood = enumType(900_000_123, 'mood', labels('sad', 'ok', 'happy'));

function code(work: () => unknown): string | undefined {
  try {
    work();
  } catch (e) {
    return e instanceof SqlError ? e.code : 'not a SqlError';
  }
  return undefined;
}

describe('enum values', () => {
  it('read only the type’s labels', () => {
    expect(parseText(mood, 'ok')).toBe('ok');
    expect(code(() => parseText(mood, 'OK'))).toBe('22P02');
    expect(formatText(mood, 'happy')).toBe('happy');
  });

  it('compare, and key in both directions, by label order rather than alphabetically', () => {
    expect(compare(mood, 'sad', 'happy')).toBeLessThan(0);
    const key = (v: string, desc: boolean) => {
      const w = new KeyWriter();
      encodeKey(mood, v, desc, w);
      return w.finish();
    };
    for (const desc of [false, true]) {
      const keys = ['happy', 'sad', 'ok'].map((v) => ({ v, k: key(v, desc) }));
      keys.sort((a, b) => Buffer.compare(a.k, b.k));
      expect(keys.map((x) => x.v)).toEqual(desc ? ['happy', 'ok', 'sad'] : ['sad', 'ok', 'happy']);
      expect(decodeKey(mood, desc, new KeyReader(key('ok', desc)))).toBe('ok');
    }
  });

  it('are stored by sort order, so a renamed label reads back under its new name', () => {
    const w = new KeyWriter();
    encodeValue(mood, 'ok', w);
    const renamed = enumType(mood.oid, 'mood', [{ label: 'sad', sortOrder: 1 }, { label: 'fine', sortOrder: 2 }, { label: 'happy', sortOrder: 3 }]);
    expect(decodeValue(renamed, new KeyReader(w.finish()))).toBe('fine');
    const gone = enumType(mood.oid, 'mood', labels('sad'));
    const w2 = new KeyWriter();
    encodeValue(mood, 'happy', w2);
    expect(code(() => decodeValue(gone, new KeyReader(w2.finish())))).toBe('XX001');
  });
});

describe('sortOrderForNewLabel', () => {
  it('puts a new label last, or halfway to its neighbour', () => {
    const three = labels('a', 'b', 'c');
    expect(sortOrderForNewLabel(three)).toBe(4);
    expect(sortOrderForNewLabel(three, { label: 'b', before: true })).toBe(1.5);
    expect(sortOrderForNewLabel(three, { label: 'b', before: false })).toBe(2.5);
    expect(sortOrderForNewLabel(three, { label: 'a', before: true })).toBe(0);
    expect(sortOrderForNewLabel(three, { label: 'c', before: false })).toBe(4);
    expect(sortOrderForNewLabel([])).toBe(1);
  });

  it('refuses a neighbour that is not a label (22023) and a spot with no room left (54000)', () => {
    expect(code(() => sortOrderForNewLabel(labels('a'), { label: 'z', before: true }))).toBe('22023');
    let current = labels('a', 'b');
    let refused: string | undefined;
    for (let i = 0; i < 100 && !refused; i++) {
      refused = code(() => {
        current = [...current, { label: `x${i}`, sortOrder: sortOrderForNewLabel(current, { label: 'b', before: true }) }];
      });
    }
    expect(refused).toBe('54000');
    expect(current.length).toBeGreaterThan(40);
  });
});
