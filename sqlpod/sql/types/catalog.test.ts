import { describe, expect, it } from 'vitest';
import { T, formatType, isSerialName, typeByOid, typeFromName } from './index.js';
import { expectSqlError } from './test-util.js';

describe('typeFromName', () => {
  const cases: [string[], number[], number, number, string][] = [
    [['pg_catalog', 'int4'], [], 23, -1, 'integer'],
    [['int4'], [], 23, -1, 'integer'],
    [['integer'], [], 23, -1, 'integer'],
    [['int'], [], 23, -1, 'integer'],
    [['bigint'], [], 20, -1, 'bigint'],
    [['pg_catalog', 'int8'], [], 20, -1, 'bigint'],
    [['smallint'], [], 21, -1, 'smallint'],
    [['pg_catalog', 'int2'], [], 21, -1, 'smallint'],
    [['pg_catalog', 'bool'], [], 16, -1, 'boolean'],
    [['boolean'], [], 16, -1, 'boolean'],
    [['real'], [], 700, -1, 'real'],
    [['pg_catalog', 'float8'], [], 701, -1, 'double precision'],
    [['double precision'], [], 701, -1, 'double precision'],
    [['pg_catalog', 'varchar'], [10], 1043, 14, 'character varying(10)'],
    [['varchar'], [], 1043, -1, 'character varying'],
    [['character varying'], [5], 1043, 9, 'character varying(5)'],
    [['pg_catalog', 'bpchar'], [1], 1042, 5, 'character(1)'],
    [['char'], [], 1042, 5, 'character(1)'],
    [['bpchar'], [], 1042, -1, 'bpchar'],
    [['pg_catalog', 'numeric'], [10, 2], 1700, (10 << 16) + 2 + 4, 'numeric(10,2)'],
    [['decimal'], [5], 1700, (5 << 16) + 4, 'numeric(5,0)'],
    [['numeric'], [], 1700, -1, 'numeric'],
    [['pg_catalog', 'timestamptz'], [], 1184, -1, 'timestamp with time zone'],
    [['pg_catalog', 'timestamp'], [3], 1114, 3, 'timestamp(3) without time zone'],
    [['pg_catalog', 'timestamptz'], [0], 1184, 0, 'timestamp(0) with time zone'],
    [['pg_catalog', 'interval'], [], 1186, -1, 'interval'],
    [['text'], [], 25, -1, 'text'],
    [['jsonb'], [], 3802, -1, 'jsonb'],
    [['uuid'], [], 2950, -1, 'uuid'],
    [['bytea'], [], 17, -1, 'bytea'],
    [['date'], [], 1082, -1, 'date'],
    [['name'], [], 19, -1, 'name'],
    [['oid'], [], 26, -1, 'oid'],
  ];
  it.each(cases)('%j %j', (names, typmods, oid, typmod, formatted) => {
    const t = typeFromName(names, typmods);
    expect([t.oid, t.typmod, formatType(t)]).toEqual([oid, typmod, formatted]);
  });

  it('encodes interval typmods like PostgreSQL', () => {
    expect(formatType(typeFromName(['pg_catalog', 'interval'], [0x7fff, 3]))).toBe('interval(3)');
    expect(formatType(typeFromName(['pg_catalog', 'interval'], [1 << 3]))).toBe('interval day');
    expect(formatType(typeFromName(['pg_catalog', 'interval'], [(1 << 3) | (1 << 10) | (1 << 11) | (1 << 12), 2]))).toBe('interval day to second(2)');
  });

  it('rejects unknown types and bad modifiers with PostgreSQL errors', () => {
    expectSqlError(() => typeFromName(['foo'], []), '42704', 'type "foo" does not exist');
    expectSqlError(() => typeFromName(['pg_catalog', 'varchar'], [0]), '22023', 'length for type varchar must be at least 1');
    expectSqlError(() => typeFromName(['pg_catalog', 'bpchar'], [0]), '22023', 'length for type char must be at least 1');
    expectSqlError(() => typeFromName(['pg_catalog', 'varchar'], [10485761]), '22023', 'length for type varchar cannot exceed 10485760');
    expectSqlError(() => typeFromName(['pg_catalog', 'numeric'], [1001]), '22023', 'NUMERIC precision 1001 must be between 1 and 1000');
    expectSqlError(() => typeFromName(['pg_catalog', 'numeric'], [10, 1001]), '22023', 'NUMERIC scale 1001 must be between -1000 and 1000');
    expectSqlError(() => typeFromName(['text'], [3]), '42601', 'type modifier is not allowed for type "text"');
    expectSqlError(() => typeFromName(['pg_catalog', 'timestamp'], [-1]), '22023', 'TIMESTAMP(-1) precision must not be negative');
    expectSqlError(() => typeFromName(['nosuch', 'int4'], []), '3F000', 'schema "nosuch" does not exist');
    expect(typeFromName(['pg_catalog', 'timestamp'], [9]).typmod).toBe(6);
  });

  it('has PostgreSQL catalog facts', () => {
    expect([T.int4.typeSize, T.int8.typeSize, T.bool.typeSize, T.uuid.typeSize, T.date.typeSize, T.interval.typeSize, T.numeric.typeSize]).toEqual([
      4, 8, 1, 16, 4, 16, -1,
    ]);
    expect([T.float8.preferred, T.text.preferred, T.timestamptz.preferred, T.int4.preferred, T.varchar.preferred]).toEqual([true, true, true, false, false]);
    expect([T.int4.category, T.text.category, T.date.category, T.interval.category, T.jsonb.category, T.bool.category]).toEqual(['N', 'S', 'D', 'T', 'U', 'B']);
    expect(typeByOid(1184)).toBe(T.timestamptz);
    expect(typeByOid(705)).toBe(T.unknown);
    expect(typeByOid(1)).toBeUndefined();
  });

  it('recognizes serial pseudo-types', () => {
    expect(isSerialName(['serial'])).toBe('int4');
    expect(isSerialName(['pg_catalog', 'serial8'])).toBe('int8');
    expect(isSerialName(['bigserial'])).toBe('int8');
    expect(isSerialName(['smallserial'])).toBe('int2');
    expect(isSerialName(['serial2'])).toBe('int2');
    expect(isSerialName(['int4'])).toBeNull();
  });
});
