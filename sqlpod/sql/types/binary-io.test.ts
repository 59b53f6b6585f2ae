import { describe, expect, it } from 'vitest';
import { T, formatBinary, formatText, parseBinary, parseText, typeFromName, type SqlType } from './index.js';
import { expectSqlError } from './test-util.js';

describe('binary send/receive', () => {
  it.each([
    [T.bool, 't', '01'],
    [T.int2, '-2', 'fffe'],
    [T.int4, '1', '00000001'],
    [T.int8, '-1', 'ffffffffffffffff'],
    [T.oid, '4294967295', 'ffffffff'],
    [T.float4, '1.5', '3fc00000'],
    [T.float8, '-0', '8000000000000000'],
    [T.numeric, '12345.678', '0003000100000003000109291a7c'],
    [T.numeric, '-0.5', '0001ffff400000011388'],
    [T.numeric, '0.00', '0000000000000002'],
    [T.numeric, '10000', '0001000100000000' + '0001'],
    [T.numeric, 'NaN', '00000000c0000000'],
    [T.numeric, 'Infinity', '00000000d0000000'],
    [T.numeric, '-Infinity', '00000000f0000000'],
    [T.text, 'hé', '68c3a9'],
    [T.bytea, '\\x00ff', '00ff'],
    [T.date, '2000-01-02', '00000001'],
    [T.date, 'infinity', '7fffffff'],
    [T.timestamp, '2000-01-01 00:00:01', '00000000000f4240'],
    [T.timestamptz, '-infinity', '8000000000000000'],
    [T.interval, '1 mon 2 days 00:00:01', '00000000000f42400000000200000001'],
    [T.uuid, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'a0eebc999c0b4ef8bb6d6bb9bd380a11'],
    [T.jsonb, '{"a":1}', '017b2261223a20317d'],
  ] as [SqlType, string, string][])('%o %j', (t, text, hex) => {
    const bin = formatBinary(t, parseText(t, text));
    expect(bin.toString('hex')).toBe(hex);
    expect(formatText(t, parseBinary(t, bin))).toBe(formatText(t, parseText(t, text)));
  });

  it('truncates numeric digits beyond dscale on receive, as numeric_recv does', () => {
    const buf = Buffer.from('000200000000000100010d05', 'hex'); // digits 1.3333 with dscale 1
    expect(formatText(T.numeric, parseBinary(T.numeric, buf))).toBe('1.3');
  });

  it('applies typmods on receive', () => {
    expectSqlError(() => parseBinary(typeFromName(['varchar'], [2]), Buffer.from('abc')), '22001', 'value too long for type character varying(2)');
  });

  it('rejects malformed input with 22P03', () => {
    expectSqlError(() => parseBinary(T.int4, Buffer.from([1, 2, 3])), '22P03');
    expectSqlError(() => parseBinary(T.numeric, Buffer.from('0001000000000000ffff', 'hex')), '22P03', 'invalid digit in external "numeric" value');
    expectSqlError(() => parseBinary(T.numeric, Buffer.from('0000000012340000', 'hex')), '22P03', 'invalid sign in external "numeric" value');
    expectSqlError(() => parseBinary(T.jsonb, Buffer.from('027b7d', 'hex')), '22P03', 'unsupported jsonb version number 2');
    expectSqlError(() => parseBinary(T.uuid, Buffer.alloc(15)), '22P03');
    expectSqlError(() => parseBinary(T.text, Buffer.from([0xff])), '22021');
  });
});
