import { describe, expect, it } from 'vitest';
import { PgWireError } from '../../shared/pgwire/index.js';
import { SqlError } from '../sql/errors.js';
import type { Portal, PreparedStatement } from '../sql/session-api.js';
import { sessionOptions } from './connection.js';
import { charLength, queryPosition, statementOffsets, toErrorResponse } from './errors.js';
import { ExtendedState, checkParamCount, expandFormats, zeroRowsTag, type StatementEntry } from './extended.js';

function thrown(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof SqlError) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected an error');
}

describe('positions', () => {
  it.each([
    ['', 0],
    ['abc', 3],
    ['é', 1],
    ['😀', 1],
    ['a😀b', 3],
  ])('charLength(%j) = %i', (s, n) => expect(charLength(s)).toBe(n));

  it.each<[string, string[], (number | undefined)[]]>([
    ['SELECT 1; SELECT 2', ['SELECT 1', 'SELECT 2'], [0, 10]],
    ['SELECT 1;SELECT 1', ['SELECT 1', 'SELECT 1'], [0, 9]],
    ['  FAIL 22012  ', ['FAIL 22012'], [2]],
    ['NOTICE 😀😀; FAIL 22012', ['NOTICE 😀😀', 'FAIL 22012'], [0, 11]],
    ['SELECT 1; select  2; SELECT 3', ['SELECT 1', 'SELECT 2', 'SELECT 3'], [0, undefined, 21]],
  ])('statementOffsets(%j)', (query, statements, offsets) => {
    expect(statementOffsets(query, statements.map((sql) => ({ sql })))).toEqual(offsets);
  });

  it.each<[number | undefined, number | undefined, number | undefined]>([
    [6, 10, 16],
    [1, 0, 1],
    [undefined, 10, undefined],
    [6, undefined, undefined],
  ])('queryPosition(%s, %s) = %s', (pos, offset, out) => expect(queryPosition(pos, offset)).toBe(out));
});

describe('toErrorResponse', () => {
  it('keeps a SqlError’s fields and rebases its position', () => {
    const err = new SqlError('22012', 'division by zero', { position: 6, detail: 'd', hint: 'h' });
    expect(toErrorResponse(err, 10)).toEqual({
      fields: { severity: 'ERROR', code: '22012', message: 'division by zero', detail: 'd', hint: 'h', position: 16 },
      internal: false,
    });
  });

  it('drops a position it cannot place, keeps FATAL, strips NUL', () => {
    const err = new SqlError('53200', 'out\0 of memory', { position: 3, severity: 'FATAL' });
    expect(toErrorResponse(err, undefined).fields).toEqual({ severity: 'FATAL', code: '53200', message: 'out of memory' });
  });

  it.each<[string, unknown, object]>([
    ['a PgWireError is FATAL', new PgWireError('08P01', 'bad'), { severity: 'FATAL', code: '08P01', message: 'bad' }],
    ['a FATAL SqlError keeps its severity', new SqlError('53300', 'full', { severity: 'FATAL' }), { severity: 'FATAL', code: '53300', message: 'full' }],
    ['an Error is XX000', new Error('oops'), { severity: 'ERROR', code: 'XX000', message: 'internal error: oops' }],
    ['a thrown string is XX000', 'why', { severity: 'ERROR', code: 'XX000', message: 'internal error: why' }],
  ])('%s', (_name, err, fields) => {
    const reported = toErrorResponse(err, 0);
    expect(reported.fields).toEqual(fields);
    expect(reported.internal).toBe(!(err instanceof PgWireError || err instanceof SqlError));
  });
});

describe('Bind checks', () => {
  it.each<[number[], number, number[]]>([
    [[], 3, [0, 0, 0]],
    [[1], 3, [1, 1, 1]],
    [[0, 1], 2, [0, 1]],
    [[1], 0, []],
    [[], 0, []],
  ])('expandFormats(%j, %i) = %j', (codes, count, out) => expect(expandFormats(codes, count, 'parameter')).toEqual(out));

  it.each<[number[], number, 'parameter' | 'result', string, string]>([
    [[0, 1, 0], 2, 'parameter', '08P01', 'bind message has 3 parameter formats but 2 parameters'],
    [[1, 1], 1, 'result', '08P01', 'bind message has 2 result formats but query has 1 columns'],
    [[0, 0], 0, 'result', '08P01', 'bind message has 2 result formats but query has 0 columns'],
    [[2], 1, 'parameter', '22023', 'unsupported format code: 2'],
    [[0, -1], 2, 'result', '22023', 'unsupported format code: -1'],
  ])('expandFormats(%j, %i, %s) fails with %s', (codes, count, what, code, message) => {
    expect(thrown(() => expandFormats(codes, count, what))).toEqual({ code, message });
  });

  it('checks the parameter count like PostgreSQL words it', () => {
    expect(() => checkParamCount(2, 'q', 2)).not.toThrow();
    expect(thrown(() => checkParamCount(1, '', 2))).toEqual({
      code: '08P01',
      message: 'bind message supplies 1 parameters, but prepared statement "" requires 2',
    });
  });

  it.each([
    ['SELECT 3', 'SELECT 0'],
    ['INSERT 0 5', 'INSERT 0 0'],
    ['UPDATE 2', 'UPDATE 0'],
    ['FETCH 7', 'FETCH 0'],
    ['SELECT', 'SELECT'],
    ['SHOW', 'SHOW'],
    ['EXPLAIN', 'EXPLAIN'],
  ])('zeroRowsTag(%j) = %j', (tag, out) => expect(zeroRowsTag(tag)).toBe(out));
});

describe('sessionOptions', () => {
  it('defaults the database to the user and passes everything else on', () => {
    expect(sessionOptions({ user: 'alice' })).toEqual({ user: 'alice', database: 'alice', parameters: new Map() });
    expect(sessionOptions({ user: 'alice', database: 'app', application_name: 'psql', options: '-c x=1' })).toEqual({
      user: 'alice',
      database: 'app',
      parameters: new Map([
        ['application_name', 'psql'],
        ['options', '-c x=1'],
      ]),
    });
  });
});

describe('ExtendedState', () => {
  const prepared = { statement: { sql: 'x', kind: 'SELECT' }, paramTypeOids: [], columns: null } satisfies PreparedStatement;
  const statement = (name: string): StatementEntry => ({ name, prepared, paramTypeOids: [], columns: null, offset: 0 });
  const portal = (): Portal & { closed: number } => ({
    columns: null,
    closed: 0,
    execute: () => Promise.resolve({ kind: 'empty' }),
    close() {
      this.closed++;
    },
  });

  it('replaces the unnamed statement but refuses to redefine a named one (42P05)', () => {
    const ext = new ExtendedState();
    ext.beginParse('');
    ext.addStatement(statement(''));
    ext.beginParse('');
    expect(thrown(() => ext.statement(''))).toEqual({ code: '26000', message: 'unnamed prepared statement does not exist' });
    ext.addStatement(statement('q'));
    expect(thrown(() => ext.beginParse('q'))).toEqual({ code: '42P05', message: 'prepared statement "q" already exists' });
    ext.closeStatement('q');
    expect(thrown(() => ext.statement('q'))).toEqual({ code: '26000', message: 'prepared statement "q" does not exist' });
    ext.closeStatement('never there');
  });

  it('replaces the unnamed portal, refuses a second named one (42P03), closes all at transaction end', () => {
    const ext = new ExtendedState();
    const [a, b, c] = [portal(), portal(), portal()];
    ext.addPortal({ name: '', portal: a, statement: statement(''), state: 'ready' });
    ext.beginBind('');
    expect(a.closed).toBe(1);
    ext.addPortal({ name: '', portal: b, statement: statement(''), state: 'ready' });
    ext.addPortal({ name: 'p', portal: c, statement: statement(''), state: 'ready' });
    expect(thrown(() => ext.beginBind('p'))).toEqual({ code: '42P03', message: 'cursor "p" already exists' });
    ext.closeAllPortals();
    expect([b.closed, c.closed]).toEqual([1, 1]);
    expect(thrown(() => ext.portal('p'))).toEqual({ code: '34000', message: 'portal "p" does not exist' });
  });

  it('a simple query drops the unnamed statement and portal only', () => {
    const ext = new ExtendedState();
    const [a, b] = [portal(), portal()];
    ext.addStatement(statement(''));
    ext.addStatement(statement('keep'));
    ext.addPortal({ name: '', portal: a, statement: statement(''), state: 'ready' });
    ext.addPortal({ name: 'keep', portal: b, statement: statement(''), state: 'ready' });
    ext.dropUnnamed();
    expect(a.closed).toBe(1);
    expect(b.closed).toBe(0);
    expect(ext.statement('keep').name).toBe('keep');
    expect(() => ext.statement('')).toThrow(SqlError);
  });
});
