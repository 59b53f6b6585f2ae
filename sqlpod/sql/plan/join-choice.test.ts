import { describe, expect, it } from 'vitest';
import type { IndexDescriptor, TableDescriptor } from '../catalog/descriptors.js';
import { T, type SqlType } from '../types/index.js';
import type { Expr } from './expr.js';
import { bounded, findLookup, preferLookup, type JoinStrategy, type LookupCandidate } from './join-choice.js';
import { describeConjunct } from './join.js';
import type { IndexAccess, PlanNode } from './plan.js';

const col = (slot: number, type: SqlType = T.int4): Expr => ({ kind: 'column', type, slot });
const konst = (value: number): Expr => ({ kind: 'const', type: T.int4, value });
const call = (op: string, a: Expr, b: Expr, type: SqlType = T.bool): Expr => ({ kind: 'call', type, op, args: [a, b], strict: true, volatile: false, fn: () => null });
const eq = (a: Expr, b: Expr) => call('=', a, b);

const index = (id: number, name: string, columnIds: number[], unique = false): IndexDescriptor => ({ id, name, unique, columnIds, descending: columnIds.map(() => false) });

/** Columns a, b, c, d (ids 1–4, int4; d text) at slots 10–13; primary key (a, b), unique index on c, index on (d, c). */
const table: TableDescriptor = {
  kind: 'table',
  id: 50,
  name: 't',
  databaseId: 1,
  schemaId: 2,
  columns: ['a', 'b', 'c', 'd'].map((name, i) => ({
    id: i + 1,
    name,
    typeOid: name === 'd' ? T.text.oid : T.int4.oid,
    typmod: -1,
    notNull: false,
    defaultExpr: null,
    hidden: false,
    missingValue: null,
  })),
  primaryKey: index(1, 't_pkey', [1, 2], true),
  indexes: [index(2, 't_c', [3], true), index(3, 't_d_c', [4, 3])],
  checks: [],
  nextColumnId: 5,
  nextIndexId: 4,
};
const OFFSET = 10;
const [A, B, C, D] = [10, 11, 12, 13];
const input = new Set([0, 1, 2]);

describe('findLookup', () => {
  const cases: [string, Expr[], { index: string; keys: number; used: number[]; point: boolean } | null][] = [
    ['the primary key in full: a point lookup', [eq(col(A), col(0)), eq(col(B), col(1))], { index: 't_pkey', keys: 2, used: [0, 1], point: true }],
    ['either side of the equality', [eq(col(0), col(A))], { index: 't_pkey', keys: 1, used: [0], point: false }],
    ['a unique index in full beats a primary key prefix', [eq(col(A), col(0)), eq(col(C), col(1))], { index: 't_c', keys: 1, used: [1], point: true }],
    ['the longer prefix of a secondary index', [eq(col(D, T.text), col(2, T.varchar)), eq(col(C), col(1))], { index: 't_c', keys: 1, used: [1], point: true }],
    ['a prefix without the second column', [eq(col(D, T.text), col(2, T.text))], { index: 't_d_c', keys: 1, used: [0], point: false }],
    ['an expression over the input as the key', [eq(col(A), call('+', col(0), col(1), T.int4))], { index: 't_pkey', keys: 1, used: [0], point: false }],
    ['an int8 key into an int4 column', [eq(col(A), col(0, T.int8))], { index: 't_pkey', keys: 1, used: [0], point: false }],
    ['no key on a leading column', [eq(col(B), col(0))], null],
    ['a constant is no lookup key', [eq(col(A), konst(3))], null],
    ['a key reading the table itself', [eq(col(A), col(B))], null],
    ['a comparison that is not =', [call('<', col(A), col(0))], null],
    ['types compared otherwise than their keys', [eq(col(A), col(0, T.numeric))], null],
  ];
  it.each(cases)('%s', (_, conditions, want) => {
    const got = findLookup(table, OFFSET, conditions.map((e) => describeConjunct(e, () => false)), input);
    expect(got && { index: got.index.name, keys: got.keys.length, used: got.used, point: got.point }).toEqual(want);
  });

  it('leaves correlated (pinned) conditions alone', () => {
    expect(findLookup(table, OFFSET, [{ ...describeConjunct(eq(col(A), col(0)), () => false), pinned: true }], input)).toBeNull();
  });
});

const access = (constraints: number, point = false): IndexAccess => ({
  index: table.primaryKey,
  constraints: Array.from({ length: constraints }, () => ({ kind: 'equal', values: [konst(1)] })),
  point,
});
const rangeAccess: IndexAccess = { index: table.primaryKey, constraints: [{ kind: 'range', lower: { value: konst(1), inclusive: true }, upper: null }], point: false };

describe('preferLookup', () => {
  const candidate = (inputBounded: boolean, inputEstimate: number, tableAccess: IndexAccess, tableEstimate: number): LookupCandidate => ({
    inputBounded,
    inputEstimate,
    tableAccess,
    tableEstimate,
  });
  const cases: [string, JoinStrategy, LookupCandidate, boolean][] = [
    ['a bounded input, a table read whole', 'auto', candidate(true, 1, access(0), 1000), true],
    ['an unbounded input', 'auto', candidate(false, 1000, access(0), 1000), false],
    ['a table read by point reads anyway', 'auto', candidate(true, 1, access(2, true), 1), false],
    ['a table span wider than the input', 'auto', candidate(true, 1, access(1), 100), true],
    ['a table span narrower than the input', 'auto', candidate(true, 300, access(1), 100), false],
    ['forced lookup', 'lookup', candidate(false, 1000, access(2, true), 1), true],
    ['forced hash', 'hash', candidate(true, 1, access(0), 1000), false],
  ];
  it.each(cases)('%s (%s)', (_, strategy, c, want) => {
    expect(preferLookup(strategy, c)).toBe(want);
  });
});

describe('bounded', () => {
  const scan = (constraints: number): PlanNode => ({ kind: 'scan', table, access: access(constraints) });
  const cases: [string, PlanNode, boolean][] = [
    ['a full scan', scan(0), false],
    ['a scan pinning an index prefix by equality', scan(1), true],
    ['a scan of a range of an index', { kind: 'scan', table, access: rangeAccess }, false],
    ['a filtered, placed full scan', { kind: 'filter', input: { kind: 'place', input: scan(0), offset: 0, width: 9 }, predicate: eq(col(0), konst(1)) }, false],
    ['a filtered, placed constrained scan', { kind: 'filter', input: { kind: 'place', input: scan(1), offset: 0, width: 9 }, predicate: eq(col(0), konst(1)) }, true],
    ['VALUES', { kind: 'values', rows: [[konst(1)]] }, true],
    ['a LIMIT over a full scan', { kind: 'limit', input: scan(0), limit: konst(5), offset: null }, true],
    ['a LIMIT of more than a batch', { kind: 'limit', input: scan(0), limit: konst(5000), offset: null }, false],
    ['a LIMIT of a parameter', { kind: 'limit', input: scan(0), limit: { kind: 'param', type: T.int8, index: 0 }, offset: null }, false],
    ['a long VALUES list', { kind: 'values', rows: Array.from({ length: 1001 }, () => [konst(1)]) }, false],
    ['an OFFSET alone', { kind: 'limit', input: scan(0), limit: null, offset: konst(5) }, false],
    [
      'a lookup keyed by a bounded input',
      { kind: 'lookupJoin', type: 'inner', input: scan(1), table, index: table.primaryKey, keys: [col(0)], offset: 0, filter: null, residual: null },
      true,
    ],
    ['a function scan', { kind: 'functionScan', functions: [], ordinality: false }, false],
  ];
  it.each(cases)('%s', (_, node, want) => {
    expect(bounded(node)).toBe(want);
  });
});
