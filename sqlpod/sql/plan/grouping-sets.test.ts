import type { Node } from '@pgsql/types';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadParser, parseStatements } from '../parser/index.js';
import { groupingSets } from './grouping-sets.js';

beforeAll(loadParser);

/** The sets of a GROUP BY clause, each as its keys' column names. */
function setsOf(groupBy: string): string[][] | null {
  const stmt = parseStatements(`SELECT 1 FROM t GROUP BY ${groupBy}`)[0]?.node as Node;
  const clause = 'SelectStmt' in stmt ? (stmt.SelectStmt.groupClause ?? []) : [];
  const distinct = 'SelectStmt' in stmt && (stmt.SelectStmt.groupDistinct ?? false);
  const names: string[] = [];
  const key = (n: Node): number => {
    const field = 'ColumnRef' in n ? n.ColumnRef.fields?.[0] : undefined;
    const name = field && 'String' in field ? (field.String.sval ?? '?') : '?';
    if (!names.includes(name)) names.push(name);
    return names.indexOf(name);
  };
  return groupingSets(clause, distinct, key, () => ({}))?.map((s) => s.map((k) => names[k] ?? '?')) ?? null;
}

describe('groupingSets', () => {
  it('has none for a plain list', () => expect(setsOf('a, b')).toBeNull());

  it('expands ROLLUP, CUBE, GROUPING SETS and () as PostgreSQL, sorted by size', () => {
    expect(setsOf('ROLLUP (a, b)')).toEqual([[], ['a'], ['a', 'b']]);
    expect(setsOf('CUBE (a, b)')).toEqual([[], ['a'], ['b'], ['a', 'b']]);
    expect(setsOf('GROUPING SETS ((a, b), a, ())')).toEqual([[], ['a'], ['a', 'b']]);
    expect(setsOf('()')).toEqual([[]]);
    expect(setsOf('ROLLUP ((a, b), c)')).toEqual([[], ['a', 'b'], ['a', 'b', 'c']]);
  });

  it('combines items by cartesian product, keeping duplicates unless DISTINCT', () => {
    expect(setsOf('a, ROLLUP (b, c)')).toEqual([['a'], ['a', 'b'], ['a', 'b', 'c']]);
    expect(setsOf('ROLLUP (a), ROLLUP (a)')).toEqual([[], ['a'], ['a'], ['a']]);
    expect(setsOf('DISTINCT ROLLUP (a), ROLLUP (a)')).toEqual([[], ['a']]);
    expect(setsOf('GROUPING SETS (ROLLUP (a), CUBE (b))')).toEqual([[], [], ['a'], ['b']]);
  });

  it('refuses more than PostgreSQL allows', () => {
    expect(() => setsOf(`CUBE (${'abcdefghijklm'.split('').join(', ')})`)).toThrow(expect.objectContaining({ code: '54011' }) as unknown);
    expect(() => setsOf('CUBE (a, b, c, d, e, f, g), CUBE (h, i, j, k, l, m)')).toThrow(expect.objectContaining({ code: '54001' }) as unknown);
  });
});
