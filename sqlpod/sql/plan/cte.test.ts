import { beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../catalog/catalog.js';
import { loadParser } from '../parser/index.js';
import { countReferences, recursiveTermProblem } from './cte.js';
import type { PlanNode } from './plan.js';
import { planNodes, planner, selectOf } from './testing.js';

beforeAll(loadParser);

const catalog = new Catalog(1n, [{ kind: 'database', id: 1, name: 'db' }, { kind: 'schema', id: 2, name: 'public', databaseId: 1 }], new Map());

const { plan, errorOf } = planner(catalog);
const kinds = (n: PlanNode): string[] => planNodes(n).map((x) => x.kind);

/** The recursive term (right side of the UNION) of `WITH RECURSIVE r AS (… UNION ALL <term>)`. */
function recursiveTerm(term: string) {
  const w = selectOf(`WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL ${term}) SELECT * FROM r`).withClause?.ctes?.[0];
  const q = w && 'CommonTableExpr' in w ? w.CommonTableExpr.ctequery : undefined;
  if (!q || !('SelectStmt' in q) || !q.SelectStmt.rarg) throw new Error('no recursive term');
  return { SelectStmt: q.SelectStmt.rarg };
}

describe('recursiveTermProblem', () => {
  const cases: { term: string; problem: string | null }[] = [
    { term: 'SELECT n + 1 FROM r WHERE n < 3', problem: null },
    { term: 'SELECT n + 1 FROM r JOIN (SELECT 1 AS k) s ON s.k = r.n', problem: null },
    { term: 'SELECT n + 1 FROM (SELECT n FROM r) s', problem: null },
    { term: 'SELECT n FROM r GROUP BY n', problem: null },
    { term: 'SELECT (SELECT max(n) FROM r)', problem: 'must not appear within a subquery' },
    { term: 'SELECT 1 WHERE EXISTS (SELECT 1 FROM r)', problem: 'must not appear within a subquery' },
    { term: 'SELECT n FROM (SELECT 1 AS k) s LEFT JOIN r ON true', problem: 'must not appear within an outer join' },
    { term: 'SELECT n FROM r RIGHT JOIN (SELECT 1 AS k) s ON true', problem: 'must not appear within an outer join' },
    { term: 'SELECT r.n FROM r LEFT JOIN (SELECT 1 AS k) s ON true', problem: null },
    { term: 'SELECT r.n FROM r, r AS u', problem: 'must not appear more than once' },
    { term: 'SELECT count(*) FROM r', problem: 'aggregate functions are not allowed' },
    { term: 'SELECT n FROM r HAVING sum(n) > 1', problem: 'aggregate functions are not allowed' },
    { term: '(SELECT n FROM r ORDER BY n)', problem: 'ORDER BY in a recursive query' },
    { term: '(SELECT n FROM r LIMIT 1)', problem: 'LIMIT and OFFSET' },
    { term: '(WITH w AS (SELECT n FROM r) SELECT n FROM w)', problem: 'WITH inside the recursive term' },
  ];
  for (const c of cases) {
    it(c.term, () => {
      const problem = recursiveTermProblem(recursiveTerm(c.term), 'r');
      if (c.problem === null) expect(problem).toBeNull();
      else expect(problem?.message).toContain(c.problem);
    });
  }
});

describe('countReferences', () => {
  const cases: { sql: string; name: string; count: number }[] = [
    { sql: 'SELECT * FROM x', name: 'x', count: 1 },
    { sql: 'SELECT * FROM x, x AS y WHERE EXISTS (SELECT 1 FROM x)', name: 'x', count: 3 },
    { sql: 'SELECT * FROM public.x', name: 'x', count: 0 },
    { sql: 'SELECT x FROM y', name: 'x', count: 0 },
  ];
  for (const c of cases) it(c.sql, () => expect(countReferences({ SelectStmt: selectOf(c.sql) }, c.name)).toBe(c.count));
});

describe('planning WITH', () => {
  it('inlines a WITH query read once and materializes one read twice', () => {
    expect(kinds(plan('WITH x AS (SELECT 1 AS v) SELECT v FROM x').root)).not.toContain('materialize');
    expect(kinds(plan('WITH x AS (SELECT 1 AS v) SELECT a.v FROM x AS a, x AS b').root)).toContain('materialize');
  });

  it('plans a recursive query as base and step over the work table, with the base term fixing the types', () => {
    const p = plan("WITH RECURSIVE r(n, s) AS (SELECT 1, 'a' UNION SELECT n + 1, s FROM r WHERE n < 3) SELECT * FROM r");
    expect(p.columns.map((c) => [c.name, c.type.name])).toEqual([
      ['n', 'integer'],
      ['s', 'text'],
    ]);
    const k = kinds(p.root);
    expect(k).toContain('recursive');
    expect(k).toContain('workTable');
  });

  it('lets a later WITH query read an earlier one, not the other way round', () => {
    expect(plan('WITH a AS (SELECT 1 AS v), b AS (SELECT v + 1 AS w FROM a) SELECT w FROM b').columns.map((c) => c.name)).toEqual(['w']);
    expect(errorOf('WITH b AS (SELECT v FROM a), a AS (SELECT 1 AS v) SELECT * FROM b').code).toBe('42P01');
  });

  const errors: { sql: string; code: string }[] = [
    { sql: 'WITH x AS (SELECT 1), x AS (SELECT 2) SELECT * FROM x', code: '42712' },
    { sql: 'WITH x(a, b) AS (SELECT 1) SELECT * FROM x', code: '42P10' },
    { sql: 'WITH RECURSIVE a AS (SELECT * FROM b), b AS (SELECT * FROM a) SELECT * FROM a', code: '0A000' },
    { sql: 'WITH RECURSIVE r(n) AS (SELECT n FROM r UNION ALL SELECT 1) SELECT * FROM r', code: '42P19' },
    { sql: 'WITH RECURSIVE r(n) AS (SELECT 1 INTERSECT SELECT n FROM r) SELECT * FROM r', code: '42P19' },
    { sql: 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n::int8 FROM r) SELECT * FROM r', code: '42804' },
    { sql: 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n FROM r ORDER BY 1) SELECT * FROM r', code: '0A000' },
    { sql: 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n, n FROM r) SELECT * FROM r', code: '42601' },
    { sql: 'SELECT (WITH c AS (SELECT o.v) SELECT v FROM c) FROM (SELECT 1 AS v) o', code: '0A000' },
  ];
  for (const e of errors) it(`refuses ${e.sql}`, () => expect(errorOf(e.sql).code).toBe(e.code));
});
