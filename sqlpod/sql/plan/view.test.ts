import { describe, expect, it } from 'vitest';
import { T } from '../types/index.js';
import { staleness } from './view.js';

describe('staleness', () => {
  const view = {
    columns: [
      { name: 'k', sourceName: 'a', typeOid: T.int4.oid, typmod: -1 },
      { name: 'b', sourceName: 'b', typeOid: T.text.oid, typmod: -1 },
    ],
    dependsOn: [10, 11],
  };
  const a = { name: 'a', type: T.int4 };
  const b = { name: 'b', type: T.text };
  const cases: { name: string; columns: { name: string; type: typeof T.int4 }[]; named: number[]; stale: boolean }[] = [
    { name: 'unchanged', columns: [a, b], named: [10, 11], stale: false },
    { name: 'a column added behind (SELECT *)', columns: [a, b, { name: 'c', type: T.int4 }], named: [10], stale: false },
    { name: 'a column gone', columns: [a], named: [10], stale: true },
    { name: 'a column dropped and another added', columns: [a, { name: 'c', type: T.text }], named: [10], stale: true },
    { name: 'a type changed', columns: [a, { name: 'b', type: T.int8 }], named: [10], stale: true },
    { name: 'a table replaced by another of its name', columns: [a, b], named: [12], stale: true },
  ];
  for (const c of cases) it(c.name, () => expect(staleness(view, c.columns, c.named) !== null).toBe(c.stale));
});
