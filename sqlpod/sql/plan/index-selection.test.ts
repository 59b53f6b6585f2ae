// Index selection and the conjuncts it and the join planner see: a condition
// repeated in every arm of an OR is taken out of it (TPC-H Q19's join
// condition), so that it can be a hash key or an index constraint; a
// correlated subquery's scan is keyed by the outer row (TPC-H Q4's EXISTS).
import { beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../catalog/catalog.js';
import type { Descriptor, TableDescriptor } from '../catalog/descriptors.js';
import { loadParser } from '../parser/index.js';
import { T } from '../types/index.js';
import type { PlanNode, QueryPlan } from './plan.js';
import { planNodes, planner } from './testing.js';

beforeAll(loadParser);

function table(id: number, name: string, columns: readonly string[]): TableDescriptor {
  return {
    kind: 'table',
    id,
    name,
    databaseId: 1,
    schemaId: 2,
    columns: columns.map((c, i) => ({ id: i + 1, name: c, typeOid: T.int4.oid, typmod: -1, notNull: false, defaultExpr: null, hidden: false, missingValue: null })),
    primaryKey: { id: 1, name: `${name}_pkey`, unique: true, columnIds: [1], descending: [false] },
    indexes: [],
    checks: [],
    nextColumnId: columns.length + 1,
    nextIndexId: 2,
  };
}

const descriptors: Descriptor[] = [
  { kind: 'database', id: 1, name: 'db' },
  { kind: 'schema', id: 2, name: 'public', databaseId: 1 },
  table(10, 'part', ['p_partkey', 'p_size', 'p_brand']),
  table(11, 'lineitem', ['l_id', 'l_partkey', 'l_quantity']),
];
const { plan } = planner(new Catalog(1n, descriptors, new Map()), 'hash');
const ofKind = <K extends PlanNode['kind']>(p: QueryPlan, kind: K) => planNodes(p.root).filter((n): n is Extract<PlanNode, { kind: K }> => n.kind === kind);

describe('OR with a condition common to its arms', () => {
  it('hash-joins on the equality every arm repeats', () => {
    const [join] = ofKind(
      plan(
        'SELECT * FROM lineitem, part WHERE (p_partkey = l_partkey AND p_brand = 12 AND l_quantity < 10) ' +
          'OR (l_partkey = l_partkey AND p_size > 5) OR (p_brand = 23 AND p_partkey = l_partkey AND l_quantity > 20)',
      ),
      'join',
    );
    // The middle arm's l_partkey = l_partkey is not p_partkey = l_partkey: nothing is common, no key.
    expect(join?.leftKeys.length).toBe(0);
    const [keyed] = ofKind(
      plan('SELECT * FROM lineitem, part WHERE (p_partkey = l_partkey AND p_brand = 12 AND l_quantity < 10) OR (p_brand = 23 AND p_partkey = l_partkey AND l_quantity > 20)'),
      'join',
    );
    expect(keyed?.leftKeys.length).toBe(1);
  });

  it('reads the primary key when every arm constrains it alike', () => {
    const [scan] = ofKind(plan('SELECT * FROM part WHERE (p_partkey = 7 AND p_size = 1) OR (p_size = 2 AND p_partkey = 7)'), 'scan');
    expect(scan?.access.constraints[0]).toMatchObject({ kind: 'equal' });
  });

  it('drops the OR when an arm is only the common part', () => {
    const [scan] = ofKind(plan('SELECT * FROM part WHERE p_partkey = 7 OR (p_partkey = 7 AND p_size = 2)'), 'scan');
    expect(scan?.access.constraints[0]).toMatchObject({ kind: 'equal' });
    const filters = ofKind(plan('SELECT * FROM part WHERE p_partkey = 7 OR (p_partkey = 7 AND p_size = 2)'), 'filter');
    expect(JSON.stringify(filters.map((f) => f.predicate))).not.toContain('"or"');
  });
});

describe('correlated subquery', () => {
  const subqueryScans = (p: QueryPlan) => p.subqueries.flatMap((q) => planNodes(q.root)).filter((n): n is Extract<PlanNode, { kind: 'scan' }> => n.kind === 'scan');

  it('reads the primary key at the outer row\'s value', () => {
    const [scan] = subqueryScans(plan('SELECT * FROM lineitem WHERE EXISTS (SELECT 1 FROM part WHERE p_partkey = l_partkey AND p_size > 3)'));
    expect(scan?.table.name).toBe('part');
    expect(scan?.access.point).toBe(true);
    expect(scan?.access.constraints[0]).toMatchObject({ kind: 'equal', values: [{ kind: 'outer', depth: 1 }] });
  });

  it('also through an expression over outer columns, and not over its own', () => {
    const [keyed] = subqueryScans(plan('SELECT (SELECT p_size FROM part WHERE p_partkey = l_partkey + 1) FROM lineitem'));
    expect(keyed?.access.constraints[0]).toMatchObject({ kind: 'equal', values: [{ kind: 'call', args: [{ kind: 'outer' }, { kind: 'const' }] }] });
    const [own] = subqueryScans(plan('SELECT (SELECT p_size FROM part WHERE p_partkey = p_size + l_partkey) FROM lineitem'));
    expect(own?.access.constraints).toEqual([]);
  });
});
