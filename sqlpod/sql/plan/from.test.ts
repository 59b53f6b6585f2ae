import { beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../catalog/catalog.js';
import type { ColumnDescriptor, Descriptor, TableDescriptor } from '../catalog/descriptors.js';
import { loadParser } from '../parser/index.js';
import { T } from '../types/index.js';
import type { PlanNode, QueryPlan } from './plan.js';
import { planNodes, planner } from './testing.js';

beforeAll(loadParser);

const column = (id: number, name: string, hidden = false): ColumnDescriptor => ({
  id,
  name,
  typeOid: hidden ? T.int8.oid : T.int4.oid,
  typmod: -1,
  notNull: false,
  defaultExpr: null,
  hidden,
  missingValue: null,
});

/** A table of int4 columns; the first is the primary key, or a hidden row id comes last. */
function table(id: number, name: string, columns: readonly string[], withKey = true): TableDescriptor {
  const cols = columns.map((c, i) => column(i + 1, c));
  if (!withKey) cols.push(column(cols.length + 1, 'rowid', true));
  const keyColumn = withKey ? 1 : cols.length;
  return {
    kind: 'table',
    id,
    name,
    databaseId: 1,
    schemaId: 2,
    columns: cols,
    primaryKey: { id: 1, name: `${name}_pkey`, unique: true, columnIds: [keyColumn], descending: [false] },
    indexes: [],
    checks: [],
    nextColumnId: cols.length + 1,
    nextIndexId: 2,
  };
}

const tables: TableDescriptor[] = [
  table(10, 'a', ['id', 'x', 'name']),
  table(11, 'b', ['id', 'x', 'tag']),
  table(12, 'c', ['k', 'w'], false),
  ...Array.from({ length: 8 }, (_, i) => table(20 + i, `t${i + 1}`, [`a${i + 1}`, `b${i + 1}`, `x${i + 1}`])),
];
const descriptors: Descriptor[] = [{ kind: 'database', id: 1, name: 'db' }, { kind: 'schema', id: 2, name: 'public', databaseId: 1 }, ...tables];
const catalog = new Catalog(1n, descriptors, new Map());

const { plan, errorOf } = planner(catalog);
const hashOnly = planner(catalog, 'hash').plan;
const ofKind = <K extends PlanNode['kind']>(p: QueryPlan, kind: K) => planNodes(p.root).filter((n): n is Extract<PlanNode, { kind: K }> => n.kind === kind);

describe('FROM with several items', () => {
  it('hash-joins on the equality and pushes the constant to the scan, which reads the key', () => {
    const p = hashOnly('SELECT * FROM a, b WHERE a.id = b.x AND b.id = 5');
    const [join] = ofKind(p, 'join');
    expect(join?.leftKeys.length).toBe(1);
    expect(join?.residual).toBeNull();
    const b = ofKind(p, 'scan').find((s) => s.table.name === 'b');
    expect(b?.access.point).toBe(true);
  });

  it("looks up the other table's key for the row of a point read instead (when not forced to hash)", () => {
    const p = plan('SELECT * FROM a, b WHERE a.id = b.x AND b.id = 5');
    expect(ofKind(p, 'join')).toHaveLength(0);
    const [lookup] = ofKind(p, 'lookupJoin');
    expect(lookup).toMatchObject({ type: 'inner', offset: 0, filter: null, residual: null });
    expect(lookup?.table.name).toBe('a');
    expect(lookup?.index.name).toBe('a_pkey');
    expect(lookup?.keys).toEqual([{ kind: 'column', type: T.int4, slot: 4 }]);
    expect(ofKind(p, 'scan').map((s) => [s.table.name, s.access.point])).toEqual([['b', true]]);
  });

  it('joins eight tables with an equality at every step, whatever the FROM order', () => {
    const sql =
      'SELECT x1, x8 FROM t5, t2, t8, t1, t7, t3, t6, t4 WHERE a1 = b2 AND a2 = b3 AND a3 = b4 AND a4 = b5 AND a5 = b6 AND a6 = b7 AND a7 = b8 AND a8 = 3';
    const hashed = hashOnly(sql);
    const joins = ofKind(hashed, 'join');
    expect(joins).toHaveLength(7);
    expect(joins.every((j) => j.leftKeys.length === 1 && j.residual === null)).toBe(true);
    expect(ofKind(hashed, 'filter')).toHaveLength(1);
    // From t8's point read on, each next table is looked up by its key.
    const looked = plan(sql);
    const lookups = ofKind(looked, 'lookupJoin');
    expect(lookups.map((l) => l.table.name)).toEqual(['t1', 't2', 't3', 't4', 't5', 't6', 't7']);
    expect(lookups.every((l) => l.keys.length === 1 && l.residual === null && l.filter === null)).toBe(true);
    expect(ofKind(looked, 'scan').map((s) => s.table.name)).toEqual(['t8']);
  });

  it('orders explicit inner joins and comma items as one set', () => {
    const joins = ofKind(plan('SELECT 1 FROM t1 CROSS JOIN t2, t3 WHERE a1 = b3 AND a2 = b3'), 'join');
    expect(joins.map((j) => j.leftKeys.length)).toEqual([1, 1]);
  });

  it('uses a nested loop with the condition when no equality joins', () => {
    const [join] = ofKind(plan('SELECT 1 FROM a JOIN b ON a.id < b.id'), 'join');
    expect(join?.leftKeys).toEqual([]);
    expect(join?.residual).not.toBeNull();
  });

  it('filters the preserved side of a LEFT JOIN by WHERE and the other by ON before joining', () => {
    const p = plan('SELECT 1 FROM a LEFT JOIN b ON a.id = b.id AND b.x = 3 WHERE a.x = 4');
    const [join] = ofKind(p, 'join');
    expect(join?.type).toBe('left');
    expect(join?.residual).toBeNull();
    expect(p.root.kind === 'project' && p.root.input.kind).toBe('join');
    expect(ofKind(p, 'filter')).toHaveLength(2);
  });

  it('keeps a WHERE conjunct over the NULL-extended side above the join', () => {
    const p = plan('SELECT 1 FROM a LEFT JOIN b ON a.id = b.id WHERE b.x IS NULL');
    expect(p.root.kind === 'project' && p.root.input.kind).toBe('filter');
  });

  it('computes the merged column of FULL JOIN USING', () => {
    const p = plan('SELECT * FROM a FULL JOIN b USING (id)');
    expect(p.columns.map((c) => c.name)).toEqual(['id', 'x', 'name', 'x', 'tag']);
    expect(ofKind(p, 'compute')).toHaveLength(1);
  });

  const stars: [string, string[]][] = [
    ['SELECT * FROM a, c', ['id', 'x', 'name', 'k', 'w']],
    ['SELECT * FROM a JOIN b USING (id)', ['id', 'x', 'name', 'x', 'tag']],
    ['SELECT * FROM a NATURAL JOIN b', ['id', 'x', 'name', 'tag']],
    ['SELECT b.*, a.* FROM a JOIN b USING (id, x)', ['id', 'x', 'tag', 'id', 'x', 'name']],
    ['SELECT * FROM a JOIN b USING (id) JOIN c ON c.k = id', ['id', 'x', 'name', 'x', 'tag', 'k', 'w']],
    ['SELECT * FROM (SELECT id, x FROM a) AS d(p), b AS e(q)', ['p', 'x', 'q', 'x', 'tag']],
  ];
  it.each(stars)('expands %s', (sql, names) => {
    expect(plan(sql).columns.map((c) => c.name)).toEqual(names);
  });

  const errors: [string, string][] = [
    ['SELECT x FROM a, b', '42702'],
    ['SELECT id FROM a JOIN b ON true', '42702'],
    ['SELECT * FROM a, a', '42712'],
    ['SELECT * FROM a, b AS a', '42712'],
    ['SELECT * FROM a JOIN b USING (nope)', '42703'],
    ['SELECT * FROM a JOIN b USING (id, id)', '42701'],
    ['SELECT * FROM (a CROSS JOIN b) JOIN c ON true JOIN b AS e USING (id)', '42702'],
    ['SELECT * FROM a JOIN b ON a.id = c.k, c', '42P01'],
    ['SELECT * FROM a RIGHT JOIN LATERAL (SELECT a.id) s ON true', '42P10'],
    ['SELECT * FROM a FULL JOIN generate_series(1, a.x) g ON true', '42P10'],
    ['SELECT * FROM a JOIN (b JOIN LATERAL (SELECT a.id) s ON true) ON true', '0A000'],
    ['SELECT * FROM a JOIN LATERAL (SELECT a.id) s USING (id)', '0A000'],
    ['SELECT * FROM a JOIN LATERAL (SELECT a.id AS k) s ON EXISTS (SELECT 1 FROM c WHERE c.k = s.k)', '0A000'],
    ["SELECT * FROM json_each('{}')", '0A000'],
    ['SELECT * FROM generate_series(1, 3) AS g(a, b)', '42P10'],
    ['SELECT * FROM count(*)', '42803'],
    ["SELECT * FROM generate_series('a'::text, 'b')", '42883'],
    ['SELECT * FROM (a JOIN b USING (id)) AS j', '0A000'],
    ['SELECT * FROM a LEFT JOIN b ON EXISTS (SELECT 1 FROM c WHERE c.k = a.id)', '0A000'],
    ['SELECT * FROM a JOIN b ON count(*) > 0', '42803'],
  ];
  it.each(errors)('refuses %s with %s', (sql, code) => {
    expect(errorOf(sql).code).toBe(code);
  });
});

describe('LATERAL and functions in FROM', () => {
  it('runs a LATERAL subquery that reads an earlier item per row of it, after the WHERE conjuncts on that item', () => {
    const p = plan('SELECT * FROM a, LATERAL (SELECT b.tag FROM b WHERE b.x = a.x) s WHERE a.id = 3');
    const [lateral] = ofKind(p, 'lateral');
    expect(lateral?.type).toBe('inner');
    expect(ofKind(p, 'join')).toHaveLength(0);
    // a.id = 3 went below the lateral node, to a's scan.
    const scanA = lateral ? planNodes(lateral.left).find((n): n is Extract<PlanNode, { kind: 'scan' }> => n.kind === 'scan') : undefined;
    expect(scanA?.access.point).toBe(true);
  });

  it('plans LATERAL without references like any subquery (hash-joinable), and LEFT JOIN LATERAL as a left lateral', () => {
    expect(ofKind(plan('SELECT * FROM a, LATERAL (SELECT id FROM b) s WHERE s.id = a.id'), 'lateral')).toHaveLength(0);
    const left = ofKind(plan('SELECT * FROM a LEFT JOIN LATERAL (SELECT b.id FROM b WHERE b.x = a.x) s ON s.id > 1'), 'lateral');
    expect(left.map((l) => [l.type, l.condition !== null])).toEqual([['left', true]]);
  });

  it('runs functions per row only when their arguments read earlier items', () => {
    expect(ofKind(plan('SELECT * FROM a, generate_series(1, 3) g'), 'lateral')).toHaveLength(0);
    expect(ofKind(plan('SELECT * FROM a, generate_series(1, a.x) g'), 'lateral')).toHaveLength(1);
    // A lone item reading only the enclosing query runs once per outer row, over one empty row.
    const inner = plan('SELECT (SELECT sum(g) FROM generate_series(1, a.x) g) FROM a');
    expect(inner.subqueries.some((s) => s.correlated && planNodes(s.root).some((n) => n.kind === 'lateral'))).toBe(true);
  });

  const names: [string, string[], string[]][] = [
    ['SELECT * FROM generate_series(1, 3)', ['generate_series'], ['integer']],
    ['SELECT * FROM generate_series(1, 3) AS g', ['g'], ['integer']],
    ['SELECT * FROM generate_series(1, 3::int8) AS g(n)', ['n'], ['bigint']],
    ['SELECT * FROM generate_series(1, 2.5) WITH ORDINALITY', ['generate_series', 'ordinality'], ['numeric', 'bigint']],
    ["SELECT * FROM generate_series('2020-01-01'::timestamp, '2020-02-01', '1 day') AS d(day)", ['day'], ['timestamp without time zone']],
    ["SELECT * FROM ROWS FROM (generate_series(1, 2), unnest(ARRAY['x'])) AS r", ['generate_series', 'unnest'], ['integer', 'text']],
    ["SELECT * FROM lower('X')", ['lower'], ['text']],
  ];
  it.each(names)('names and types the columns of %s', (sql, columns, types) => {
    const p = plan(sql);
    expect(p.columns.map((c) => c.name)).toEqual(columns);
    expect(p.columns.map((c) => c.type.name)).toEqual(types);
  });
});
