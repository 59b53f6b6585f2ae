import { describe, expect, it } from 'vitest';
import { SQLSTATE, SqlError } from './errors.js';
import { SessionSettings, formatMilliseconds, parseMilliseconds } from './settings.js';

describe('time settings', () => {
  it.each([
    ['0', 0],
    ['250', 250],
    ['250ms', 250],
    ['1.5s', 1500],
    ['2 min', 120_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['1500us', 2],
  ])('reads %s as %i ms', (text, ms) => {
    expect(parseMilliseconds('statement_timeout', text)).toBe(ms);
  });

  it.each(['', '-1', 'soon', '5 weeks', '1e3', '3000000000'])('refuses %j with 22023 and the units', (text) => {
    const err = (() => {
      try {
        parseMilliseconds('statement_timeout', text);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(SqlError);
    expect([(err as SqlError).code, (err as SqlError).fields.hint]).toEqual([SQLSTATE.INVALID_PARAMETER_VALUE, 'Valid units for this parameter are "us", "ms", "s", "min", "h", and "d".']);
  });

  it.each([
    [0, '0'],
    [250, '250ms'],
    [5000, '5s'],
    [1500, '1500ms'],
    [60_000, '1min'],
    [7_200_000, '2h'],
    [86_400_000, '1d'],
  ])('shows %i ms as %s', (ms, text) => {
    expect(formatMilliseconds(ms)).toBe(text);
  });

  it('keeps statement_timeout as SHOW prints it and gives the session its milliseconds', () => {
    const s = new SessionSettings('admin', true);
    expect(s.statementTimeoutMs).toBe(0);
    s.set('statement_timeout', '60000');
    expect([s.get('statement_timeout'), s.statementTimeoutMs]).toEqual(['1min', 60_000]);
    s.set('statement_timeout', null);
    expect(s.statementTimeoutMs).toBe(0);
  });
});

describe('settings across a transaction', () => {
  it('reports only values that changed, including the ones a rollback restores', () => {
    const s = new SessionSettings('u', false);
    s.takeChanged();
    s.set('application_name', '');
    expect(s.takeChanged().size).toBe(0);
    const begin = s.mark();
    s.set('application_name', 'a');
    s.set('TimeZone', 'Europe/Paris', 'local');
    expect(s.takeChanged()).toEqual(new Map([['application_name', 'a'], ['TimeZone', 'Europe/Paris']]));
    s.restore(begin);
    expect(s.takeChanged()).toEqual(new Map([['application_name', ''], ['TimeZone', 'UTC']]));
  });

  it('ends SET LOCAL at commit, keeping a plain SET made after it', () => {
    const s = new SessionSettings('u', false);
    s.set('search_path', 'a', 'local');
    s.set('extra_float_digits', '3', 'local');
    s.set('extra_float_digits', '2');
    s.set('search_path', 'b', 'local');
    s.commitTransaction();
    expect([s.get('search_path'), s.get('extra_float_digits')]).toEqual(['"$user", public', '2']);
  });

  it('restores the SET LOCAL bookkeeping of a savepoint', () => {
    const s = new SessionSettings('u', false);
    s.set('search_path', 'x', 'local');
    const savepoint = s.mark();
    s.set('search_path', 'y');
    s.restore(savepoint);
    s.commitTransaction();
    expect(s.get('search_path')).toBe('"$user", public');
  });
});
