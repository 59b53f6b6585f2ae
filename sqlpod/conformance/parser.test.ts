import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ParseError, parseTest, runnableRecords, type QueryRecord } from './parser.js';

const SCRIPT = `# a comment line
hash-threshold 8

statement ok
CREATE TABLE t1(a INTEGER, b TEXT)

statement error
CREATE TABLE t1(a INTEGER)

skipif postgresql
statement ok
INSERT INTO t1 VALUES(1, 'sqlite only')

onlyif postgresql # a comment after the condition
query IT rowsort label-1
SELECT a, b
  FROM t1
----
1
x

query I nosort
SELECT count(*) FROM t1
----
30 values hashing to 0123456789abcdef0123456789abcdef

query T valuesort
SELECT b FROM t1 WHERE 0
----

query R
SELECT 1.5

onlyif mysql
halt

onlyif postgresql
halt

statement ok
DROP TABLE t1
`;

describe('parseTest', () => {
  const records = parseTest(SCRIPT, 'inline');

  it('reads every kind of record with its conditions', () => {
    expect(records.map((r) => r.kind)).toEqual([
      'hash-threshold',
      'statement',
      'statement',
      'statement',
      'query',
      'query',
      'query',
      'query',
      'halt',
      'halt',
      'statement',
    ]);
    expect(records[0]).toMatchObject({ kind: 'hash-threshold', threshold: 8, line: 2 });
    expect(records[1]).toMatchObject({ kind: 'statement', expectError: false, sql: 'CREATE TABLE t1(a INTEGER, b TEXT)', line: 4, conditions: [] });
    expect(records[2]).toMatchObject({ kind: 'statement', expectError: true });
    expect(records[3]).toMatchObject({ conditions: [{ kind: 'skipif', engine: 'postgresql' }] });
  });

  it('reads queries: types, sort mode, label, multi-line SQL, values and hashes', () => {
    const [q1, q2, q3, q4] = records.filter((r): r is QueryRecord => r.kind === 'query');
    expect(q1).toMatchObject({
      types: 'IT',
      sort: 'rowsort',
      label: 'label-1',
      sql: 'SELECT a, b\n  FROM t1',
      expected: { kind: 'values', values: ['1', 'x'] },
      conditions: [{ kind: 'onlyif', engine: 'postgresql' }],
    });
    expect(q2).toMatchObject({ sort: 'nosort', label: undefined, expected: { kind: 'hash', count: 30, md5: '0123456789abcdef0123456789abcdef' } });
    expect(q3).toMatchObject({ sort: 'valuesort', expected: { kind: 'values', values: [] } });
    // No sort mode and no `----`: in order, expecting no values.
    expect(q4).toMatchObject({ types: 'R', sort: 'nosort', sql: 'SELECT 1.5', expected: { kind: 'values', values: [] } });
  });

  it('runs what applies to the engine, up to a halt that applies', () => {
    const pg = runnableRecords(records, 'postgresql');
    expect(pg.total).toBe(8);
    expect(pg.runnable.map((r) => r.line)).toEqual([4, 7, 15, 22, 27, 31]);
    expect(pg.runnable.every((r) => r.kind === 'statement' || r.hashThreshold === 8)).toBe(true);
    // sqlite runs the skipif-postgresql insert, not the onlyif-postgresql query, and halts at neither.
    expect(runnableRecords(records, 'sqlite').runnable.map((r) => r.line)).toEqual([4, 7, 11, 22, 27, 31, 40]);
    expect(runnableRecords(records, 'mysql').runnable).toHaveLength(6);
  });

  it('rejects what it does not understand, naming the line', () => {
    expect(() => parseTest('statement maybe\nSELECT 1\n', 'bad')).toThrow(ParseError);
    expect(() => parseTest('query X\nSELECT 1\n', 'bad')).toThrow('bad:1: bad column types');
    expect(() => parseTest('\n\nfrobnicate\n', 'bad')).toThrow('bad:3: unknown record');
  });
});

const corpus = resolve(
  process.env.SHOAL_CONFORMANCE_CORPUS ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'conformance', 'sqllogictest'),
);

describe.skipIf(!existsSync(corpus))(`the sqllogictest corpus${existsSync(corpus) ? '' : ` (skipped: not found at ${corpus})`}`, () => {
  const count = (paths: string[]) =>
    paths.reduce((n, path) => {
      const records = parseTest(readFileSync(path, 'utf8'), path);
      for (const r of records) {
        // Values come one per line, row after row.
        if (r.kind === 'query' && r.expected.kind === 'values') expect(r.expected.values.length % r.types.length, `${path}:${r.line}`).toBe(0);
      }
      return n + runnableRecords(records, 'postgresql').runnable.length;
    }, 0);

  it('has the README count of records runnable as postgresql in select1–5', () => {
    expect(count([1, 2, 3, 4, 5].map((i) => join(corpus, `select${i}.test`)))).toBe(10_706);
  });

  it('has the README count of records runnable as postgresql in evidence/', () => {
    const dir = join(corpus, 'evidence');
    const files = readdirSync(dir).filter((f) => f.endsWith('.test'));
    expect(files.length).toBeGreaterThan(0);
    expect(count(files.map((f) => join(dir, f)))).toBe(324);
  });
});
