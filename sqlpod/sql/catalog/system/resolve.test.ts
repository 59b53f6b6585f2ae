// How FROM finds the virtual relations: pg_catalog is searched first unless
// search_path names it later; what is not there is refused with 0A000.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadParser } from '../../parser/index.js';
import { ParamTypes } from '../../plan/analyze-expr.js';
import type { PlanContext } from '../../plan/context.js';
import { planSelect } from '../../plan/select.js';
import { planNodes, selectOf } from '../../plan/testing.js';
import type { QueryPlan } from '../../plan/plan.js';
import { SqlError } from '../../errors.js';
import { T } from '../../types/index.js';
import { Catalog } from '../catalog.js';
import type { Descriptor } from '../descriptors.js';

const descriptors: Descriptor[] = [
  { kind: 'database', id: 100, name: 'db' },
  { kind: 'schema', id: 101, name: 'public', databaseId: 100 },
  {
    kind: 'table',
    id: 102,
    name: 'pg_class',
    databaseId: 100,
    schemaId: 101,
    columns: [{ id: 1, name: 'mine', typeOid: T.int4.oid, typmod: -1, notNull: true, defaultExpr: null, hidden: false, missingValue: null }],
    primaryKey: { id: 1, name: 'pg_class_pkey', unique: true, columnIds: [1], descending: [false] },
    indexes: [],
    checks: [],
    nextColumnId: 2,
    nextIndexId: 2,
  },
];
const catalog = new Catalog(1n, descriptors, new Map([['u', { name: 'u', scramVerifier: null, canLogin: true, superuser: true }]]));

function plan(sql: string, searchPath: readonly string[] = ['public']): QueryPlan {
  const ctx: PlanContext = {
    catalog,
    names: { databaseId: 100, searchPath },
    session: { user: 'u', database: 'db', searchPath, timeZone: 'UTC', serverVersion: '16.0', catalog, databaseId: 100 },
    params: new ParamTypes([]),
    position: (l) => (l === undefined ? undefined : l + 1),
    subqueries: [],
  };
  return planSelect(selectOf(sql), ctx);
}

function errorOf(sql: string): { code: string; message: string } {
  try {
    plan(sql);
  } catch (e) {
    if (e instanceof SqlError) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error(`planned: ${sql}`);
}

const readsTable = (p: QueryPlan) => planNodes(p.root).some((n) => n.kind === 'scan');

beforeAll(() => loadParser());

describe('virtual relations in FROM', () => {
  it('an unqualified pg_* name is pg_catalog’s, even when a table of the search path has it', () => {
    const p = plan('SELECT relname FROM pg_class');
    expect(p.columns.map((c) => c.name)).toEqual(['relname']);
    expect(readsTable(p)).toBe(false);
  });
  it('unless search_path names pg_catalog after that schema', () => {
    expect(readsTable(plan('SELECT mine FROM pg_class', ['public', 'pg_catalog']))).toBe(true);
    expect(readsTable(plan('SELECT relname FROM pg_catalog.pg_class', ['public', 'pg_catalog']))).toBe(false);
  });
  it('information_schema is found only qualified', () => {
    expect(plan('SELECT table_name FROM information_schema.tables').columns.map((c) => c.name)).toEqual(['table_name']);
    expect(errorOf('SELECT * FROM tables').code).toBe('42P01');
  });
  it('refuses system relations Shoal does not have with 0A000', () => {
    expect(errorOf('SELECT * FROM pg_catalog.pg_stat_activity')).toEqual({ code: '0A000', message: 'pg_catalog.pg_stat_activity is not supported' });
    expect(errorOf('SELECT * FROM information_schema.routines').code).toBe('0A000');
  });
  it('analyzes psql’s constructs: OPERATOR(pg_catalog.~), COLLATE, regclass, = ANY (array), ARRAY(subquery)', () => {
    expect(() =>
      plan(`SELECT c.oid::pg_catalog.regclass, ARRAY(SELECT rolname FROM pg_roles WHERE oid = c.relowner) FROM pg_catalog.pg_class c
            WHERE c.relname OPERATOR(pg_catalog.~) '^(t1)$' COLLATE pg_catalog.default AND 'r' = ANY ('{r,v}') AND c.oid <> 'pg_class'::regclass`),
    ).not.toThrow();
    expect(errorOf("SELECT 'x' COLLATE \"de_DE\"").code).toBe('0A000');
    expect(errorOf("SELECT 'nope'::regclass").code).toBe('42P01');
  });
});
