import { describe, expect, it } from 'vitest';
import { SqlError } from '../../sqlpod/sql/errors.js';
import { parseSystemStatement, splitStatements, type SystemStatement } from './statements.js';

describe('parseSystemStatement', () => {
  const good: [string, SystemStatement][] = [
    ['CREATE VIRTUAL CLUSTER acme', { kind: 'create', name: 'acme', ifNotExists: false }],
    ['create virtual cluster IF NOT EXISTS Acme-2', { kind: 'create', name: 'acme-2', ifNotExists: true }],
    ['  CREATE\n VIRTUAL  CLUSTER "acme" ', { kind: 'create', name: 'acme', ifNotExists: false }],
    ['CREATE VIRTUAL CLUSTER "Acme"', { kind: 'create', name: 'Acme', ifNotExists: false }],
    ['DROP VIRTUAL CLUSTER acme', { kind: 'drop', name: 'acme', ifExists: false }],
    ['DROP VIRTUAL CLUSTER IF EXISTS acme IMMEDIATE', { kind: 'drop', name: 'acme', ifExists: true }],
    ['SHOW VIRTUAL CLUSTERS', { kind: 'show', name: null }],
    ['show virtual clusters -- all of them', { kind: 'show', name: null }],
    ['SHOW VIRTUAL CLUSTER globex', { kind: 'show', name: 'globex' }],
  ];
  it.each(good)('%s', (sql, want) => expect(parseSystemStatement(sql)).toEqual(want));

  const bad: [string, string, RegExp, number | undefined][] = [
    ['SELECT 1', '0A000', /"SELECT 1" is not supported here: the system interface runs CREATE VIRTUAL CLUSTER/, 1],
    ['CREATE TABLE t (a int)', '0A000', /"CREATE TABLE t" is not supported/, 1],
    ['DROP TABLE t', '0A000', /not supported/, 1],
    ['SHOW TABLES', '0A000', /not supported/, 1],
    ['CREATE VIRTUAL CLUSTER', '42601', /at end of input: expected a virtual cluster name/, 23],
    ['CREATE VIRTUAL CLUSTER a b', '42601', /at or near "b": expected the end of the statement/, 26],
    ['CREATE VIRTUAL CLUSTER IF EXISTS a', '42601', /at or near "EXISTS": expected NOT/, 27],
    ['DROP VIRTUAL CLUSTER IF NOT EXISTS a', '42601', /at or near "NOT": expected EXISTS/, 25],
    ['SHOW VIRTUAL CLUSTER', '42601', /at end of input: expected a virtual cluster name/, 21],
    ['CREATE VIRTUAL CLUSTER a.b', '42601', /at or near "\."/, 25],
    ['CREATE VIRTUAL CLUSTER "acme', '42601', /unterminated quoted identifier/, 24],
  ];
  it.each(bad)('refuses %s with %s', (sql, code, message, position) => {
    let err: unknown;
    try {
      parseSystemStatement(sql);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SqlError);
    expect((err as SqlError).code).toBe(code);
    expect((err as SqlError).message).toMatch(message);
    expect((err as SqlError).fields.position).toBe(position);
  });
});

describe('splitStatements', () => {
  it('splits at semicolons outside quotes and drops empty statements', () => {
    expect(splitStatements(`CREATE VIRTUAL CLUSTER "a;b"; ;SHOW VIRTUAL CLUSTERS;`).map((s) => s.text.trim())).toEqual(['CREATE VIRTUAL CLUSTER "a;b"', 'SHOW VIRTUAL CLUSTERS']);
    expect(splitStatements('  ')).toEqual([]);
  });
});
