import { describe, expect, it } from 'vitest';
import { T, formatText, parseText, typeFromName, type SqlType, type TypeContext } from './index.js';
import { expectSqlError } from './test-util.js';

/** What SELECT 'input'::type prints in psql (DateStyle ISO, MDY; TimeZone as given). */
function roundTrip(t: SqlType, input: string, ctx?: TypeContext): string {
  return formatText(t, parseText(t, input, ctx), ctx);
}

describe('integers', () => {
  it.each([
    [T.int4, ' 42 ', 42],
    [T.int4, '-2147483648', -2147483648],
    [T.int4, '+7', 7],
    [T.int4, '1_000_000', 1000000],
    [T.int4, '0x1F', 31],
    [T.int4, '0o17', 15],
    [T.int4, '0b101', 5],
    [T.int2, '-32768', -32768],
    [T.int8, '9223372036854775807', 9223372036854775807n],
    [T.oid, '4294967295', 4294967295],
    [T.oid, '-1', 4294967295],
  ])('%s %j', (t, input, value) => expect(parseText(t, input)).toBe(value));

  it('reports PostgreSQL errors', () => {
    expectSqlError(() => parseText(T.int4, 'abc'), '22P02', 'invalid input syntax for type integer: "abc"');
    expectSqlError(() => parseText(T.int4, ''), '22P02', 'invalid input syntax for type integer: ""');
    expectSqlError(() => parseText(T.int4, '1.5'), '22P02', 'invalid input syntax for type integer: "1.5"');
    expectSqlError(() => parseText(T.int4, '99999999999'), '22003', 'value "99999999999" is out of range for type integer');
    expectSqlError(() => parseText(T.int2, '32768'), '22003', 'value "32768" is out of range for type smallint');
    expectSqlError(() => parseText(T.int8, '9223372036854775808'), '22003', 'value "9223372036854775808" is out of range for type bigint');
    expectSqlError(() => parseText(T.int8, '1__0'), '22P02', 'invalid input syntax for type bigint: "1__0"');
    expectSqlError(() => parseText(T.oid, 'x'), '22P02', 'invalid input syntax for type oid: "x"');
  });

  it('prints', () => {
    expect(formatText(T.int8, -5n)).toBe('-5');
    expect(formatText(T.int2, 7)).toBe('7');
  });
});

describe('floats', () => {
  it.each([
    [T.float8, '0.1', '0.1'],
    [T.float8, '1e100', '1e+100'],
    [T.float8, '1e15', '1e+15'],
    [T.float8, '123456789012345', '123456789012345'],
    [T.float8, '0.0001', '0.0001'],
    [T.float8, '0.00001', '1e-05'],
    [T.float8, '-0', '-0'],
    [T.float8, '  1.5  ', '1.5'],
    [T.float8, 'NaN', 'NaN'],
    [T.float8, 'nan', 'NaN'],
    [T.float8, 'Infinity', 'Infinity'],
    [T.float8, '-inf', '-Infinity'],
    [T.float8, '3.141592653589793', '3.141592653589793'],
    [T.float8, '1.7976931348623157e308', '1.7976931348623157e+308'],
    [T.float8, '5e-324', '5e-324'],
    [T.float8, '100', '100'],
    [T.float8, '.5', '0.5'],
    [T.float4, '0.1', '0.1'],
    [T.float4, '1000000', '1e+06'],
    [T.float4, '123456', '123456'],
    [T.float4, '3.14159', '3.14159'],
    [T.float4, '16777217', '1.6777216e+07'],
    [T.float4, '1.5e-5', '1.5e-05'],
    [T.float4, '3.4028235e38', '3.4028235e+38'],
  ])('%s %j → %j', (t, input, output) => expect(roundTrip(t, input)).toBe(output));

  it('prints the sum 0.1 + 0.2 exactly as PostgreSQL 12+', () => {
    expect(formatText(T.float8, 0.1 + 0.2)).toBe('0.30000000000000004');
  });

  it('reports PostgreSQL errors', () => {
    expectSqlError(() => parseText(T.float8, 'abc'), '22P02', 'invalid input syntax for type double precision: "abc"');
    expectSqlError(() => parseText(T.float8, '1e400'), '22003', '"1e400" is out of range for type double precision');
    expectSqlError(() => parseText(T.float8, '1e-400'), '22003', '"1e-400" is out of range for type double precision');
    expectSqlError(() => parseText(T.float4, '1e40'), '22003', '"1e40" is out of range for type real');
    expectSqlError(() => parseText(T.float4, 'x'), '22P02', 'invalid input syntax for type real: "x"');
  });
});

describe('numeric', () => {
  it.each([
    ['1.50', '1.50'],
    ['  -0.00 ', '0.00'],
    ['1e3', '1000'],
    ['1.5e-3', '0.0015'],
    ['.5', '0.5'],
    ['5.', '5'],
    ['NaN', 'NaN'],
    ['-Infinity', '-Infinity'],
    ['inf', 'Infinity'],
    ['1_000.000_1', '1000.0001'],
    ['0x10', '16'],
    ['123456789012345678901234567890.123456789', '123456789012345678901234567890.123456789'],
  ])('%j → %j', (input, output) => expect(roundTrip(T.numeric, input)).toBe(output));

  it('applies numeric(p,s) on input', () => {
    const t = typeFromName(['numeric'], [5, 2]);
    expect(roundTrip(t, '123.456')).toBe('123.46');
    expect(roundTrip(t, '-1.005')).toBe('-1.01');
    expect(roundTrip(t, '1')).toBe('1.00');
    const e = expectSqlError(() => parseText(t, '1234.5'), '22003', 'numeric field overflow');
    expect(e.fields.detail).toBe('A field with precision 5, scale 2 must round to an absolute value less than 10^3.');
    const e2 = expectSqlError(() => parseText(typeFromName(['numeric'], [2, 2]), '1'), '22003', 'numeric field overflow');
    expect(e2.fields.detail).toBe('A field with precision 2, scale 2 must round to an absolute value less than 1.');
    expect(roundTrip(typeFromName(['numeric'], [3, -2]), '12345')).toBe('12300');
    expect(roundTrip(t, 'NaN')).toBe('NaN');
    expectSqlError(() => parseText(t, 'Infinity'), '22003', 'numeric field overflow');
  });

  it('reports PostgreSQL errors', () => {
    expectSqlError(() => parseText(T.numeric, 'abc'), '22P02', 'invalid input syntax for type numeric: "abc"');
    expectSqlError(() => parseText(T.numeric, '1e'), '22P02', 'invalid input syntax for type numeric: "1e"');
    expectSqlError(() => parseText(T.numeric, '.'), '22P02', 'invalid input syntax for type numeric: "."');
    expectSqlError(() => parseText(T.numeric, '1e1000000'), '22003', 'value overflows numeric format');
  });
});

describe('boolean', () => {
  it.each([
    ['t', true], ['TRUE', true], [' yes ', true], ['on', true], ['1', true], ['tr', true], ['y', true],
    ['f', false], ['False', false], ['no', false], ['off', false], ['of', false], ['0', false], ['n', false],
  ])('%j', (input, value) => expect(parseText(T.bool, input)).toBe(value));

  it('rejects', () => {
    for (const bad of ['o', 'maybe', '', '2', 'truee']) {
      expectSqlError(() => parseText(T.bool, bad), '22P02', `invalid input syntax for type boolean: "${bad}"`);
    }
    expect(formatText(T.bool, true)).toBe('t');
    expect(formatText(T.bool, false)).toBe('f');
  });
});

describe('character types', () => {
  const vc3 = typeFromName(['varchar'], [3]);
  const c3 = typeFromName(['bpchar'], [3]);
  it('checks and pads lengths like the input functions', () => {
    expect(parseText(vc3, 'abc')).toBe('abc');
    expect(parseText(vc3, 'ab    ')).toBe('ab ');
    expect(parseText(vc3, 'héé')).toBe('héé');
    expectSqlError(() => parseText(vc3, 'abcd'), '22001', 'value too long for type character varying(3)');
    expect(parseText(c3, 'a')).toBe('a  ');
    expect(parseText(c3, 'abc   ')).toBe('abc');
    expectSqlError(() => parseText(c3, 'abcd'), '22001', 'value too long for type character(3)');
    expect(parseText(T.text, 'any thing')).toBe('any thing');
  });

  it('truncates names to 63 bytes', () => {
    expect(parseText(T.name, 'x'.repeat(70))).toBe('x'.repeat(63));
    expect(parseText(T.name, 'é'.repeat(40))).toBe('é'.repeat(31));
  });

  it('rejects NUL characters', () => {
    expectSqlError(() => parseText(T.text, 'a\u0000b'), '22021');
  });
});

describe('bytea and uuid', () => {
  it('reads hex and escape formats, prints hex', () => {
    expect(roundTrip(T.bytea, '\\x0102ff')).toBe('\\x0102ff');
    expect(roundTrip(T.bytea, '\\x01 02')).toBe('\\x0102');
    expect(roundTrip(T.bytea, 'abc')).toBe('\\x616263');
    expect(roundTrip(T.bytea, 'a\\\\b\\001')).toBe('\\x615c6201');
    expect(roundTrip(T.bytea, '')).toBe('\\x');
    expectSqlError(() => parseText(T.bytea, '\\x0'), '22023', 'invalid hexadecimal data: odd number of digits');
    expectSqlError(() => parseText(T.bytea, '\\xzz'), '22023', 'invalid hexadecimal digit: "z"');
    expectSqlError(() => parseText(T.bytea, 'a\\9'), '22P02', 'invalid input syntax for type bytea');
  });

  it('normalizes uuids', () => {
    const canon = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
    for (const s of ['A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}', 'a0eebc999c0b4ef8bb6d6bb9bd380a11', 'a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11']) {
      expect(parseText(T.uuid, s)).toBe(canon);
    }
    for (const bad of ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-', ' a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11']) {
      expectSqlError(() => parseText(T.uuid, bad), '22P02', `invalid input syntax for type uuid: "${bad}"`);
    }
  });
});

describe('date', () => {
  it.each([
    ['2024-01-31', '2024-01-31'],
    ['2024-1-5', '2024-01-05'],
    ['20240131', '2024-01-31'],
    ['1/8/1999', '1999-01-08'],
    ['01/02/03', '2003-01-02'],
    ['January 8, 1999', '1999-01-08'],
    ['8 Jan 1999', '1999-01-08'],
    ['1999-Jan-08', '1999-01-08'],
    ['2024-01-31 12:34:56', '2024-01-31'],
    ['0001-01-01 BC', '0001-01-01 BC'],
    ['4714-11-24 BC', '4714-11-24 BC'],
    ['5874897-12-31', '5874897-12-31'],
    ['infinity', 'infinity'],
    ['-infinity', '-infinity'],
    ['epoch', '1970-01-01'],
    ['2000-02-29', '2000-02-29'],
  ])('%j → %j', (input, output) => expect(roundTrip(T.date, input)).toBe(output));

  it('counts days from 2000-01-01', () => {
    expect(parseText(T.date, '2000-01-01')).toBe(0);
    expect(parseText(T.date, '1999-12-31')).toBe(-1);
    expect(parseText(T.date, '1970-01-01')).toBe(-10957);
    expect(parseText(T.date, 'infinity')).toBe(Infinity);
  });

  it('reports PostgreSQL errors', () => {
    expectSqlError(() => parseText(T.date, 'abc'), '22007', 'invalid input syntax for type date: "abc"');
    expectSqlError(() => parseText(T.date, '2024-02-30'), '22008', 'date/time field value out of range: "2024-02-30"');
    expectSqlError(() => parseText(T.date, '2023-02-29'), '22008', 'date/time field value out of range: "2023-02-29"');
    expectSqlError(() => parseText(T.date, '2024-13-01'), '22008', 'date/time field value out of range: "2024-13-01"');
    expectSqlError(() => parseText(T.date, '0000-01-01'), '22008', 'date/time field value out of range: "0000-01-01"');
    const e = expectSqlError(() => parseText(T.date, '13/01/2024'), '22008', 'date/time field value out of range: "13/01/2024"');
    expect(e.fields.hint).toBe('Perhaps you need a different "datestyle" setting.');
    expectSqlError(() => parseText(T.date, '5874898-01-01'), '22008', 'date out of range: "5874898-01-01"');
    expectSqlError(() => parseText(T.date, '4714-11-23 BC'), '22008', 'date out of range: "4714-11-23 BC"');
  });

  it('supports now/today only with a transaction time', () => {
    expectSqlError(() => parseText(T.date, 'today'), '0A000');
    const now = parseText(T.timestamptz, '2024-03-10 23:30:00+00') as bigint;
    expect(formatText(T.date, parseText(T.date, 'today', { timeZone: 'UTC', now }))).toBe('2024-03-10');
    expect(formatText(T.date, parseText(T.date, 'today', { timeZone: 'Asia/Tokyo', now }))).toBe('2024-03-11');
    expect(formatText(T.date, parseText(T.date, 'tomorrow', { timeZone: 'UTC', now }))).toBe('2024-03-11');
    expect(parseText(T.timestamptz, 'now', { timeZone: 'UTC', now })).toBe(now);
  });
});

describe('timestamp', () => {
  it.each([
    ['2024-01-31 12:34:56.789', '2024-01-31 12:34:56.789'],
    ['2024-01-31T12:34:56', '2024-01-31 12:34:56'],
    ['2024-01-31', '2024-01-31 00:00:00'],
    ['2024-01-31 12:34', '2024-01-31 12:34:00'],
    ['2024-01-31 12:34:56.1234567', '2024-01-31 12:34:56.123457'],
    ['2024-01-31 12:34:56+05', '2024-01-31 12:34:56'],
    ['2024-01-31 24:00:00', '2024-02-01 00:00:00'],
    ['2024-01-31 01:00 pm', '2024-01-31 13:00:00'],
    ['2024-01-31 12:00 am', '2024-01-31 00:00:00'],
    ['0044-03-15 12:00 BC', '0044-03-15 12:00:00 BC'],
    ['epoch', '1970-01-01 00:00:00'],
    ['infinity', 'infinity'],
    ['-infinity', '-infinity'],
    ['294276-12-31 23:59:59.999999', '294276-12-31 23:59:59.999999'],
  ])('%j → %j', (input, output) => expect(roundTrip(T.timestamp, input)).toBe(output));

  it('uses microseconds since 2000-01-01 and int64 sentinels', () => {
    expect(parseText(T.timestamp, '2000-01-01 00:00:01')).toBe(1000000n);
    expect(parseText(T.timestamp, 'infinity')).toBe(2n ** 63n - 1n);
    expect(parseText(T.timestamp, '-infinity')).toBe(-(2n ** 63n));
  });

  it('rounds to the declared precision', () => {
    expect(roundTrip(typeFromName(['timestamp'], [2]), '2024-01-31 12:34:56.789')).toBe('2024-01-31 12:34:56.79');
    expect(roundTrip(typeFromName(['timestamp'], [0]), '2024-01-31 12:34:56.5')).toBe('2024-01-31 12:34:57');
  });

  it('reports PostgreSQL errors', () => {
    expectSqlError(() => parseText(T.timestamp, 'abc'), '22007', 'invalid input syntax for type timestamp: "abc"');
    expectSqlError(() => parseText(T.timestamptz, 'abc'), '22007', 'invalid input syntax for type timestamp with time zone: "abc"');
    expectSqlError(() => parseText(T.timestamp, '2024-01-31 25:00'), '22008', 'date/time field value out of range: "2024-01-31 25:00"');
    expectSqlError(() => parseText(T.timestamp, '2024-01-31 12:60'), '22008', 'date/time field value out of range: "2024-01-31 12:60"');
    expectSqlError(() => parseText(T.timestamp, '294277-01-01'), '22008', 'timestamp out of range: "294277-01-01"');
  });
});

describe('timestamptz', () => {
  it.each([
    ['2024-01-31 12:34:56.789+00', 'UTC', '2024-01-31 12:34:56.789+00'],
    ['2024-01-31 12:34:56+02', 'UTC', '2024-01-31 10:34:56+00'],
    ['2024-01-31T12:34:56Z', 'UTC', '2024-01-31 12:34:56+00'],
    ['2024-01-31 12:34:56-0330', 'UTC', '2024-01-31 16:04:56+00'],
    ['2024-01-31 12:00:00+05:30', 'UTC', '2024-01-31 06:30:00+00'],
    ['2024-01-31 12:00 UTC', 'Asia/Kolkata', '2024-01-31 17:30:00+05:30'],
    ['2024-01-31 12:00', 'America/New_York', '2024-01-31 12:00:00-05'],
    ['2024-07-01 12:00', 'America/New_York', '2024-07-01 12:00:00-04'],
    ['2024-07-01 12:00 Europe/Berlin', 'UTC', '2024-07-01 10:00:00+00'],
    ['2024-01-31 12:00', '+05:30', '2024-01-31 12:00:00+05:30'],
    ['2024-01-31 12:00', '-08', '2024-01-31 12:00:00-08'],
    // DST gap: the offset from before the transition; fall-back ambiguity: standard time.
    ['2018-03-11 02:30', 'America/New_York', '2018-03-11 03:30:00-04'],
    ['2018-11-04 01:30', 'America/New_York', '2018-11-04 01:30:00-05'],
    ['1880-01-01 00:00', 'America/New_York', '1880-01-01 00:00:00-04:56:02'],
    ['infinity', 'Europe/Paris', 'infinity'],
  ])('%j in %s → %j', (input, timeZone, output) => expect(roundTrip(T.timestamptz, input, { timeZone })).toBe(output));

  it('rejects unknown zones', () => {
    expectSqlError(() => formatText(T.timestamptz, 0n, { timeZone: 'Mars/Olympus' }), '22023', 'time zone "Mars/Olympus" not recognized');
  });
});

describe('interval', () => {
  it.each([
    ['1 year 2 months 3 days 04:05:06.5', '1 year 2 mons 3 days 04:05:06.5'],
    ['1 day 02:03:04', '1 day 02:03:04'],
    ['3 mons', '3 mons'],
    ['1 year 2 months', '1 year 2 mons'],
    ['-1 days', '-1 days'],
    ['0', '00:00:00'],
    ['00:00:00', '00:00:00'],
    ['1 day -02:00', '1 day -02:00:00'],
    ['-1 day 2 hours', '-1 days +02:00:00'],
    ['-1 year -2 mons', '-1 years -2 mons'],
    ['1.5 days', '1 day 12:00:00'],
    ['1.5 months', '1 mon 15 days'],
    ['1.5 years', '1 year 6 mons'],
    ['2 weeks', '14 days'],
    ['10 minutes', '00:10:00'],
    ['90 seconds', '00:01:30'],
    ['1 hour 30 min', '01:30:00'],
    ['@ 1 hour ago', '-01:00:00'],
    ['1 day ago', '-1 days'],
    ['25:00:00', '25:00:00'],
    ['-00:00:01.5', '-00:00:01.5'],
    ['100 ms', '00:00:00.1'],
    ['1 decade', '10 years'],
    ['P1DT2H', '1 day 02:00:00'],
    ['P1Y2M3DT4H5M6S', '1 year 2 mons 3 days 04:05:06'],
    ['PT1.5S', '00:00:01.5'],
    ['P2W', '14 days'],
    ['1-2', '1 year 2 mons'],
    ['1 02:00', '1 day 02:00:00'],
  ])('%j → %j', (input, output) => expect(roundTrip(T.interval, input)).toBe(output));

  it('applies interval typmods', () => {
    expect(roundTrip(typeFromName(['pg_catalog', 'interval'], [1 << 3]), '1 day 02:03:04')).toBe('1 day');
    expect(roundTrip(typeFromName(['pg_catalog', 'interval'], [0x7fff, 1]), '00:00:01.25')).toBe('00:00:01.3');
  });

  it('reports PostgreSQL errors', () => {
    expectSqlError(() => parseText(T.interval, 'abc'), '22007', 'invalid input syntax for type interval: "abc"');
    expectSqlError(() => parseText(T.interval, '1 fortnight'), '22007', 'invalid input syntax for type interval: "1 fortnight"');
    expectSqlError(() => parseText(T.interval, ''), '22007', 'invalid input syntax for type interval: ""');
  });
});

describe('jsonb', () => {
  it.each([
    ['{"b": 1, "a": [1, 2]}', '{"a": [1, 2], "b": 1}'],
    ['{"aa":1, "b":2}', '{"b": 2, "aa": 1}'],
    ['{"a":1,"a":2}', '{"a": 2}'],
    [' [ 1.50 , 1e2, -0.5E-1, true, false, null ] ', '[1.50, 100, -0.05, true, false, null]'],
    ['"a\\nb\\u00e9\\"\\\\"', '"a\\nbé\\"\\\\"'],
    ['"\\u0001"', '"\\u0001"'],
    ['"\\ud83d\\ude00"', '"😀"'],
    ['{}', '{}'],
    ['[]', '[]'],
    ['null', 'null'],
    ['{"a": {"c": [], "b": {}}}', '{"a": {"b": {}, "c": []}}'],
  ])('%j → %j', (input, output) => expect(roundTrip(T.jsonb, input)).toBe(output));

  it('reports PostgreSQL errors', () => {
    for (const bad of ['nul', '{"a":}', '[1,]', '{"a" 1}', "{'a':1}", '01', '1 2', '"x', '']) {
      expectSqlError(() => parseText(T.jsonb, bad), '22P02', 'invalid input syntax for type json');
    }
    expectSqlError(() => parseText(T.jsonb, '"\\u0000"'), '22P05', 'unsupported Unicode escape sequence');
  });
});
