import { beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../catalog/catalog.js';
import type { Descriptor, ViewDescriptor } from '../catalog/descriptors.js';
import { loadParser, parseStatements } from '../parser/index.js';
import { T } from '../types/index.js';
import { bindNames, dependentViews, replacementProblem } from './view.js';

beforeAll(loadParser);

const col = (name: string, typeOid: number = T.int4.oid) => ({ name, sourceName: name, typeOid, typmod: -1 });
const view = (id: number, name: string, dependsOn: number[]): ViewDescriptor => ({ kind: 'view', id, name, databaseId: 1, schemaId: 2, query: '{}', columns: [col('a')], dependsOn });

describe('replacementProblem', () => {
  const cases: { name: string; before: ReturnType<typeof col>[]; after: ReturnType<typeof col>[]; problem: string | null }[] = [
    { name: 'same columns', before: [col('a'), col('b')], after: [col('a'), col('b')], problem: null },
    { name: 'a column added at the end', before: [col('a')], after: [col('a'), col('b')], problem: null },
    { name: 'a column dropped', before: [col('a'), col('b')], after: [col('a')], problem: 'cannot drop columns from view' },
    { name: 'a column renamed', before: [col('a')], after: [col('z')], problem: 'cannot change name of view column "a" to "z"' },
    { name: 'a type changed', before: [col('a')], after: [col('a', T.text.oid)], problem: 'cannot change data type of view column "a" from integer to text' },
  ];
  for (const c of cases) it(c.name, () => expect(replacementProblem(c.before, c.after)).toBe(c.problem));
});

describe('dependentViews', () => {
  const descriptors: Descriptor[] = [view(20, 'v', [10]), view(21, 'w', [20]), view(22, 'x', [11]), view(23, 'y', [10, 21])];
  const cases: { of: number; names: string[] }[] = [
    { of: 10, names: ['v', 'w', 'y'] },
    { of: 20, names: ['w', 'y'] },
    { of: 11, names: ['x'] },
    { of: 23, names: [] },
  ];
  for (const c of cases) it(`of ${c.of}`, () => expect(dependentViews(c.of, descriptors).map((v) => v.name).sort()).toEqual(c.names));
});

describe('bindNames', () => {
  const catalog = new Catalog(
    1n,
    [
      { kind: 'database', id: 1, name: 'db' },
      { kind: 'schema', id: 2, name: 'public', databaseId: 1 },
      { kind: 'schema', id: 3, name: 'other', databaseId: 1 },
      view(30, 't', []),
      { ...view(31, 'u', []), schemaId: 3 },
    ],
    new Map(),
  );
  const bind = (sql: string) => {
    const [stmt] = parseStatements(sql);
    if (!stmt) throw new Error('no statement');
    const { stored, dependsOn } = bindNames(stmt.node, catalog, { names: { databaseId: 1, searchPath: ['public', 'other'] } });
    const names: string[] = [];
    JSON.stringify(JSON.parse(stored), (key, value: unknown) => {
      if (key === 'RangeVar') {
        const rv = value as { schemaname?: string; relname?: string };
        names.push(`${rv.schemaname ?? ''}.${rv.relname ?? ''}`);
      }
      return value;
    });
    return { names, dependsOn, stored };
  };

  it('qualifies names with the schema they resolve to and lists them', () => {
    const b = bind('SELECT * FROM t, u WHERE EXISTS (SELECT 1 FROM other.u)');
    expect(b.names).toEqual(['public.t', 'other.u', 'other.u']);
    expect(b.dependsOn.sort()).toEqual([30, 31]);
  });

  it('leaves WITH query names and unknown names alone, and drops positions', () => {
    const b = bind('WITH t AS (SELECT 1) SELECT * FROM t, nope');
    expect(b.names).toEqual(['.t', '.nope']);
    expect(b.dependsOn).toEqual([]);
    expect(b.stored).not.toContain('location');
  });
});
