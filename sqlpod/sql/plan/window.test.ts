import { beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../catalog/catalog.js';
import type { Descriptor, TableDescriptor } from '../catalog/descriptors.js';
import { loadParser } from '../parser/index.js';
import { T } from '../types/index.js';
import type { PlanNode, QueryPlan } from './plan.js';
import { planNodes, planner } from './testing.js';

beforeAll(loadParser);

const types = { id: T.int4, g: T.int4, v: T.int4, b: T.int8, n: T.numeric, f: T.float4, t: T.text, d: T.date };
const wf: TableDescriptor = {
  kind: 'table',
  id: 10,
  name: 'wf',
  databaseId: 1,
  schemaId: 2,
  columns: Object.entries(types).map(([name, type], i) => ({ id: i + 1, name, typeOid: type.oid, typmod: -1, notNull: false, defaultExpr: null, hidden: false, missingValue: null })),
  primaryKey: { id: 1, name: 'wf_pkey', unique: true, columnIds: [1], descending: [false] },
  indexes: [],
  checks: [],
  nextColumnId: Object.keys(types).length + 1,
  nextIndexId: 2,
};
const descriptors: Descriptor[] = [{ kind: 'database', id: 1, name: 'db' }, { kind: 'schema', id: 2, name: 'public', databaseId: 1 }, wf];
const { plan, errorOf } = planner(new Catalog(1n, descriptors, new Map()));
const windowOf = (p: QueryPlan) => planNodes(p.root).find((n): n is Extract<PlanNode, { kind: 'window' }> => n.kind === 'window');

describe('window frames', () => {
  it('plans ROWS and RANGE bounds, the default frame when none is given', () => {
    const w = windowOf(plan('SELECT sum(v) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 2 FOLLOWING), sum(v) OVER (ORDER BY id), sum(v) OVER (ORDER BY id ROWS UNBOUNDED PRECEDING) FROM wf'));
    expect(w?.windows.map((x) => x.frame)).toEqual([
      { mode: 'rows', start: { kind: 'preceding', offset: expect.objectContaining({ type: T.int8 }) as unknown }, end: { kind: 'following', offset: expect.objectContaining({ type: T.int8 }) as unknown } },
      { mode: 'range', start: { kind: 'unbounded' }, end: { kind: 'current' } },
      { mode: 'rows', start: { kind: 'unbounded' }, end: { kind: 'current' } },
    ]);
  });

  it('computes windows that differ only in their frame separately, equal ones once', () => {
    const w = windowOf(plan('SELECT sum(v) OVER (ORDER BY id ROWS 1 PRECEDING), count(*) OVER (ORDER BY id ROWS 1 PRECEDING), sum(v) OVER (ORDER BY id ROWS 2 PRECEDING) FROM wf'));
    expect(w?.windows).toHaveLength(2);
    expect(w?.functions.map((f) => f.window)).toEqual([0, 0, 1]);
  });

  it('picks PostgreSQL’s in_range function for RANGE offsets by the ORDER BY column’s type', () => {
    const kinds = (sql: string) => windowOf(plan(sql))?.windows.map((x) => x.frame.inRange);
    expect(kinds('SELECT sum(v) OVER (ORDER BY v RANGE BETWEEN 1 PRECEDING AND 1::int8 FOLLOWING) FROM wf')).toEqual(['integer']);
    expect(kinds("SELECT sum(v) OVER (ORDER BY n RANGE BETWEEN 1.5 PRECEDING AND '2' FOLLOWING) FROM wf")).toEqual(['numeric']);
    expect(kinds("SELECT sum(v) OVER (ORDER BY f DESC RANGE '0.5' PRECEDING) FROM wf")).toEqual(['float']);
    expect(kinds('SELECT sum(v) OVER (ORDER BY b RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) FROM wf')).toEqual([undefined]);
  });

  // Codes and messages are PostgreSQL 15's for the same statements (checked with psql).
  const refusals: [string, string, string][] = [
    ['SELECT sum(v) OVER (ORDER BY id, v RANGE BETWEEN 1 PRECEDING AND CURRENT ROW) FROM wf', '42P20', 'RANGE with offset PRECEDING/FOLLOWING requires exactly one ORDER BY column'],
    ['SELECT sum(v) OVER (RANGE BETWEEN 1 PRECEDING AND CURRENT ROW) FROM wf', '42P20', 'RANGE with offset PRECEDING/FOLLOWING requires exactly one ORDER BY column'],
    ['SELECT sum(v) OVER (ORDER BY t RANGE BETWEEN 1 PRECEDING AND CURRENT ROW) FROM wf', '0A000', 'RANGE with offset PRECEDING/FOLLOWING is not supported for column type text'],
    ['SELECT sum(v) OVER (ORDER BY v RANGE BETWEEN 1.5 PRECEDING AND CURRENT ROW) FROM wf', '0A000', 'RANGE with offset PRECEDING/FOLLOWING is not supported for column type integer and offset type numeric'],
    ['SELECT sum(v) OVER (ORDER BY id ROWS BETWEEN id PRECEDING AND CURRENT ROW) FROM wf', '42P10', 'argument of ROWS must not contain variables'],
    ["SELECT sum(v) OVER (ORDER BY id ROWS BETWEEN 'a'::text PRECEDING AND CURRENT ROW) FROM wf", '42804', 'argument of ROWS must be type bigint, not type text'],
    ['SELECT sum(v) OVER (ROWS BETWEEN UNBOUNDED FOLLOWING AND CURRENT ROW) FROM wf', '42P20', 'frame start cannot be UNBOUNDED FOLLOWING'],
    ['SELECT sum(v) OVER (ROWS BETWEEN CURRENT ROW AND 1 PRECEDING) FROM wf', '42P20', 'frame starting from current row cannot have preceding rows'],
    ["SELECT lag('a') OVER () FROM wf", '42804', 'could not determine polymorphic type because input has type unknown'],
    ['SELECT lag(v, 2::bigint) OVER () FROM wf', '42883', 'function lag(integer, bigint) does not exist'],
    ["SELECT lag(v, 1, 'x'::text) OVER () FROM wf", '42883', 'function lag(integer, integer, text) does not exist'],
    ['SELECT ntile(2::bigint) OVER () FROM wf', '42883', 'function ntile(bigint) does not exist'],
    ['SELECT lag(v) FILTER (WHERE v > 1) OVER () FROM wf', '0A000', 'FILTER is not implemented for non-aggregate window functions'],
    ['SELECT lag(DISTINCT v) OVER () FROM wf', '0A000', 'DISTINCT is not implemented for window functions'],
  ];
  for (const [sql, code, message] of refusals) it(`refuses ${sql}`, () => expect(errorOf(sql)).toEqual({ code, message }));

  it('plans GROUPS frames (int8 offsets, ORDER BY required) and EXCLUDE', () => {
    const frame = (sql: string) => windowOf(plan(sql))?.windows[0]?.frame;
    const groups = frame('SELECT sum(v) OVER (ORDER BY g GROUPS BETWEEN 1 PRECEDING AND 2 FOLLOWING EXCLUDE TIES) FROM wf');
    expect(groups?.mode).toBe('groups');
    expect(groups?.exclude).toBe('ties');
    expect(groups?.start.kind === 'preceding' ? groups.start.offset.type : undefined).toBe(T.int8);
    expect(frame('SELECT sum(v) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW EXCLUDE CURRENT ROW) FROM wf')?.exclude).toBe('current');
    expect(frame('SELECT sum(v) OVER (ORDER BY id RANGE UNBOUNDED PRECEDING EXCLUDE GROUP) FROM wf')?.exclude).toBe('group');
    expect(frame('SELECT sum(v) OVER (ORDER BY id ROWS UNBOUNDED PRECEDING EXCLUDE NO OTHERS) FROM wf')?.exclude).toBeUndefined();
    expect(errorOf('SELECT sum(v) OVER (GROUPS CURRENT ROW) FROM wf')).toEqual({ code: '42P20', message: 'GROUPS mode requires an ORDER BY clause' });
    expect(errorOf("SELECT sum(v) OVER (ORDER BY g GROUPS 'x' PRECEDING) FROM wf").code).toBe('22P02');
  });

  it('refuses what Shoal does not do with 0A000 naming it', () => {
    const dates = errorOf("SELECT sum(v) OVER (ORDER BY d RANGE BETWEEN '1 day'::interval PRECEDING AND CURRENT ROW) FROM wf");
    expect(dates.code).toBe('0A000');
    expect(dates.message).toContain('RANGE with offset');
  });
});

describe('value window functions', () => {
  it('types lag/lead as their value (anycompatible with a default), ntile as integer', () => {
    const typesOf = (sql: string) => plan(sql).columns.map((c) => c.type.name);
    expect(typesOf("SELECT lag(v), lead(t, 2), lag(v, 1, 0.5), lag(t, 1, 'zz'), ntile(3), first_value(n), last_value(b), nth_value(f, 2) OVER () FROM wf".replace(/\), /g, ') OVER (), '))).toEqual([
      'integer',
      'text',
      'numeric',
      'text',
      'integer',
      'numeric',
      'bigint',
      'real',
    ]);
  });
});
