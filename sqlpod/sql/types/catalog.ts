// The built-in types Shoal supports, with PostgreSQL's pg_type facts (OIDs,
// typlen, category, preferred flag) because clients see the OIDs and operator
// resolution depends on category and preference exactly as in PostgreSQL.
import { SqlError, SQLSTATE, type SqlState } from '../errors.js';
import type { Numeric } from './numeric.js';
import type { Interval } from './interval.js';
import type { Jsonb } from './jsonb.js';
import type { EnumLabels } from './enums.js';

/** pg_type.typcategory letters. */
export type TypeCategory = 'A' | 'B' | 'D' | 'E' | 'N' | 'P' | 'S' | 'T' | 'U' | 'X';

export interface SqlType {
  readonly oid: number;
  /** format_type's name without modifiers, e.g. 'character varying', 'integer'. */
  readonly name: string;
  /** pg_type.typname, e.g. 'varchar', 'int4'. */
  readonly typname: string;
  /** -1 when none; otherwise PostgreSQL's encoding (varchar(n): n+4, numeric(p,s): ((p<<16)|s)+4, timestamp(p): p). */
  readonly typmod: number;
  /** pg_type.typlen: fixed size in bytes, -1 variable length, -2 C string. */
  readonly typeSize: number;
  readonly category: TypeCategory;
  readonly preferred: boolean;
  /** For an array type (category 'A'), its element type; arrays are one-dimensional with lower bound 1. */
  readonly element?: SqlType;
  /** For an enum type (category 'E'), its labels; a value is its label. */
  readonly enumLabels?: EnumLabels;
}

/** A one-dimensional array value; NULL elements are null. */
export class SqlArray {
  constructor(readonly items: readonly Datum[]) {}
}

/**
 * A value of some SqlType. SQL NULL is null. See the module README in index.ts
 * for which JavaScript representation each type uses.
 */
export type Datum = null | boolean | number | bigint | string | Buffer | Numeric | Interval | Jsonb | SqlArray;

/** Session settings the type functions depend on. */
export interface TypeContext {
  /**
   * IANA zone name ('Europe/Berlin'), 'UTC', or an ISO 8601 offset ('+05:30',
   * '-08'; positive is east of Greenwich, unlike POSIX zone strings: the
   * session layer converts SET TIME ZONE's spellings to this form).
   */
  readonly timeZone: string;
  /** Transaction start (µs since 2000-01-01 UTC); enables the inputs 'now', 'today', 'tomorrow', 'yesterday'. */
  readonly now?: bigint;
}

export const DEFAULT_CONTEXT: TypeContext = { timeZone: 'UTC' };

/** SQLSTATEs raised here that errors.ts does not name. */
export const XSTATE = {
  INVALID_ARGUMENT_FOR_LOG: '2201E' as string as SqlState,
  INVALID_ARGUMENT_FOR_POWER: '2201F' as string as SqlState,
  INVALID_REGULAR_EXPRESSION: '2201B' as string as SqlState,
  DATETIME_VALUE_OUT_OF_RANGE: '22008' as string as SqlState,
  SUBSTRING_ERROR: '22011' as string as SqlState,
} as const;

export function sqlError(code: SqlState, message: string, fields: { detail?: string; hint?: string } = {}): SqlError {
  return new SqlError(code, message, fields);
}

function def(oid: number, typname: string, name: string, typeSize: number, category: TypeCategory, preferred = false): SqlType {
  return Object.freeze({ oid, name, typname, typmod: -1, typeSize, category, preferred });
}

export const T = {
  bool: def(16, 'bool', 'boolean', 1, 'B', true),
  bytea: def(17, 'bytea', 'bytea', -1, 'U'),
  name: def(19, 'name', 'name', 64, 'S'),
  int8: def(20, 'int8', 'bigint', 8, 'N'),
  int2: def(21, 'int2', 'smallint', 2, 'N'),
  int4: def(23, 'int4', 'integer', 4, 'N'),
  text: def(25, 'text', 'text', -1, 'S', true),
  oid: def(26, 'oid', 'oid', 4, 'N', true),
  float4: def(700, 'float4', 'real', 4, 'N'),
  float8: def(701, 'float8', 'double precision', 8, 'N', true),
  unknown: def(705, 'unknown', 'unknown', -2, 'X'),
  bpchar: def(1042, 'bpchar', 'character', -1, 'S'),
  varchar: def(1043, 'varchar', 'character varying', -1, 'S'),
  date: def(1082, 'date', 'date', 4, 'D'),
  timestamp: def(1114, 'timestamp', 'timestamp without time zone', 8, 'D'),
  timestamptz: def(1184, 'timestamptz', 'timestamp with time zone', 8, 'D', true),
  interval: def(1186, 'interval', 'interval', 16, 'T', true),
  numeric: def(1700, 'numeric', 'numeric', -1, 'N'),
  uuid: def(2950, 'uuid', 'uuid', 16, 'U'),
  jsonb: def(3802, 'jsonb', 'jsonb', -1, 'U'),
} as const;

/** Pseudo-types that only appear in operator and function signatures. */
export const PSEUDO = {
  any: def(2276, 'any', '"any"', 4, 'P'),
  anynonarray: def(2776, 'anynonarray', 'anynonarray', 4, 'P'),
  /** What pg_advisory_lock returns; its value is '' (void_out), so clients see what PostgreSQL sends. */
  void: def(2278, 'void', 'void', 4, 'P'),
} as const;

// PostgreSQL's array type OIDs (pg_type.typarray) for the element types Shoal has.
const ARRAY_OIDS: readonly (readonly [SqlType, number])[] = [
  [T.bool, 1000], [T.bytea, 1001], [T.name, 1003], [T.int2, 1005], [T.int4, 1007], [T.text, 1009], [T.oid, 1028],
  [T.bpchar, 1014], [T.varchar, 1015], [T.int8, 1016], [T.float4, 1021], [T.float8, 1022], [T.timestamp, 1115],
  [T.date, 1182], [T.timestamptz, 1185], [T.interval, 1187], [T.numeric, 1231], [T.uuid, 2951], [T.jsonb, 3807],
];
const ARRAY_OF = new Map<number, SqlType>(
  ARRAY_OIDS.map(([e, oid]) => [e.oid, Object.freeze({ oid, name: `${e.name}[]`, typname: `_${e.typname}`, typmod: -1, typeSize: -1, category: 'A' as const, preferred: false, element: e })]),
);

/** The array type whose elements are `t` (modifiers dropped), or undefined when Shoal has none. */
export function arrayOf(t: SqlType): SqlType | undefined {
  return ARRAY_OF.get(t.oid);
}

const BY_OID = new Map<number, SqlType>([...Object.values(T), ...ARRAY_OF.values()].map((t) => [t.oid, t]));

export function typeByOid(oid: number): SqlType | undefined {
  return BY_OID.get(oid);
}

/** The same type with another modifier (-1 for none). */
export function withTypmod(t: SqlType, typmod: number): SqlType {
  if (t.typmod === typmod) return t;
  const base = BY_OID.get(t.oid) ?? t;
  return typmod === -1 ? base : Object.freeze({ ...base, typmod });
}

/** Whether two types are the same type, ignoring modifiers. */
export function sameType(a: SqlType, b: SqlType): boolean {
  return a.oid === b.oid;
}

export const VARHDRSZ = 4;
export const MAX_CHAR_LENGTH = 10485760;
export const MAX_TIMESTAMP_PRECISION = 6;

export function numericTypmod(precision: number, scale: number): number {
  return ((precision << 16) | (scale & 0x7ff)) + VARHDRSZ;
}
export function numericTypmodPrecision(typmod: number): number {
  return ((typmod - VARHDRSZ) >> 16) & 0xffff;
}
export function numericTypmodScale(typmod: number): number {
  return (((typmod - VARHDRSZ) & 0x7ff) ^ 1024) - 1024;
}

// Interval typmods carry a field range mask and a precision, as in PostgreSQL's datetime.h.
export const INTERVAL_FULL_RANGE = 0x7fff;
export const INTERVAL_FULL_PRECISION = 0xffff;
export const IMASK = { MONTH: 1 << 1, YEAR: 1 << 2, DAY: 1 << 3, HOUR: 1 << 10, MINUTE: 1 << 11, SECOND: 1 << 12 } as const;
const INTERVAL_RANGES: ReadonlyMap<number, string> = new Map([
  [IMASK.YEAR, ' year'],
  [IMASK.MONTH, ' month'],
  [IMASK.DAY, ' day'],
  [IMASK.HOUR, ' hour'],
  [IMASK.MINUTE, ' minute'],
  [IMASK.SECOND, ' second'],
  [IMASK.YEAR | IMASK.MONTH, ' year to month'],
  [IMASK.DAY | IMASK.HOUR, ' day to hour'],
  [IMASK.DAY | IMASK.HOUR | IMASK.MINUTE, ' day to minute'],
  [IMASK.DAY | IMASK.HOUR | IMASK.MINUTE | IMASK.SECOND, ' day to second'],
  [IMASK.HOUR | IMASK.MINUTE, ' hour to minute'],
  [IMASK.HOUR | IMASK.MINUTE | IMASK.SECOND, ' hour to second'],
  [IMASK.MINUTE | IMASK.SECOND, ' minute to second'],
  [INTERVAL_FULL_RANGE, ''],
]);
export function intervalTypmodRange(typmod: number): number {
  return typmod < 0 ? INTERVAL_FULL_RANGE : (typmod >> 16) & 0x7fff;
}
export function intervalTypmodPrecision(typmod: number): number {
  return typmod < 0 ? INTERVAL_FULL_PRECISION : typmod & 0xffff;
}

/** PostgreSQL's format_type(oid, typmod). */
export function formatType(t: SqlType): string {
  const m = t.typmod;
  switch (t.oid) {
    case T.bpchar.oid:
      return m >= 0 ? `character(${m - VARHDRSZ})` : 'bpchar';
    case T.varchar.oid:
      return m >= 0 ? `character varying(${m - VARHDRSZ})` : 'character varying';
    case T.numeric.oid:
      return m >= 0 ? `numeric(${numericTypmodPrecision(m)},${numericTypmodScale(m)})` : 'numeric';
    case T.timestamp.oid:
      return m >= 0 ? `timestamp(${m}) without time zone` : t.name;
    case T.timestamptz.oid:
      return m >= 0 ? `timestamp(${m}) with time zone` : t.name;
    case T.interval.oid: {
      if (m < 0) return 'interval';
      const p = intervalTypmodPrecision(m);
      return `interval${INTERVAL_RANGES.get(intervalTypmodRange(m)) ?? ''}${p === INTERVAL_FULL_PRECISION ? '' : `(${p})`}`;
    }
    default:
      return t.element ? `${formatType(t.element)}[]` : t.name;
  }
}

// Names a TypeName node can carry: pg_type.typname values plus the SQL
// spellings users may pass unparsed ('integer', 'double precision', ...).
const BY_NAME: ReadonlyMap<string, SqlType> = new Map<string, SqlType>([
  ...[...Object.values(T), ...ARRAY_OF.values()].map((t): [string, SqlType] => [t.typname, t]),
  ['smallint', T.int2],
  ['integer', T.int4],
  ['int', T.int4],
  ['bigint', T.int8],
  ['real', T.float4],
  ['double precision', T.float8],
  ['float', T.float8],
  ['decimal', T.numeric],
  ['dec', T.numeric],
  ['boolean', T.bool],
  ['character varying', T.varchar],
  ['char varying', T.varchar],
  ['character', T.bpchar],
  ['char', T.bpchar],
  ['timestamp without time zone', T.timestamp],
  ['timestamp with time zone', T.timestamptz],
]);

// Real PostgreSQL types Shoal does not implement: a clearer error than "does not exist".
const UNSUPPORTED = new Set([
  'time', 'timetz', 'time without time zone', 'time with time zone', 'json', 'xml', 'money', 'inet', 'cidr',
  'macaddr', 'macaddr8', 'bit', 'varbit', 'bit varying', 'point', 'line', 'lseg', 'box', 'path', 'polygon',
  'circle', 'tsvector', 'tsquery', 'regclass', 'regtype', 'regproc', 'int2vector', 'oidvector', 'xid', 'cid', 'tid',
  'pg_lsn', 'jsonpath', 'int4range', 'int8range', 'numrange', 'tsrange', 'tstzrange', 'daterange', 'record',
]);

/** For serial, bigserial, smallserial and their numbered spellings: the column type they stand for. */
export function isSerialName(names: readonly string[]): 'int2' | 'int4' | 'int8' | null {
  if (names.length === 2 && names[0] !== 'pg_catalog') return null;
  if (names.length < 1 || names.length > 2) return null;
  switch (names[names.length - 1]) {
    case 'serial':
    case 'serial4':
      return 'int4';
    case 'bigserial':
    case 'serial8':
      return 'int8';
    case 'smallserial':
    case 'serial2':
      return 'int2';
    default:
      return null;
  }
}

/**
 * A user-defined type (an enum) by name: in `schema`, or the first found in
 * the search path when undefined. Throws 3F000 for a schema that does not
 * exist.
 */
export type UserTypeLookup = (schema: string | undefined, name: string) => SqlType | undefined;

/** Resolves a parse tree TypeName (names and integer typmods) to a type, with PostgreSQL's errors. */
export function typeFromName(names: readonly string[], typmods: readonly number[], userTypes?: UserTypeLookup): SqlType {
  const written = names.join('.');
  if (names.length === 0 || names.length > 3) {
    throw sqlError(SQLSTATE.SYNTAX_ERROR, `improper qualified name (too many dotted names): ${written}`);
  }
  if (names.length === 3) {
    throw sqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `cross-database references are not implemented: ${written}`);
  }
  const typname = names[names.length - 1] ?? '';
  const user = (schema: string | undefined): SqlType | undefined => {
    const t = userTypes?.(schema, typname);
    if (t && typmods.length > 0) throw sqlError(SQLSTATE.SYNTAX_ERROR, `type modifier is not allowed for type "${written}"`);
    return t;
  };
  if (names.length === 2) {
    const schema = names[0] ?? '';
    if (schema !== 'pg_catalog') {
      const found = user(schema);
      if (found) return found;
      if (!userTypes && schema !== 'public' && schema !== 'information_schema') throw sqlError(SQLSTATE.INVALID_SCHEMA_NAME, `schema "${schema}" does not exist`);
      throw sqlError(SQLSTATE.UNDEFINED_OBJECT, `type "${written}" does not exist`);
    }
  }
  if ((typname === 'float' || typname === 'float4' || typname === 'float8') && names.length === 1 && typmods.length === 1) {
    // float(p) as the user typed it; the grammar has already done this for parsed SQL.
    const p = typmods[0] ?? 0;
    if (p < 1) throw sqlError(SQLSTATE.INVALID_PARAMETER_VALUE, 'precision for type float must be at least 1 bit');
    if (p > 53) throw sqlError(SQLSTATE.INVALID_PARAMETER_VALUE, 'precision for type float must be less than 54 bits');
    return p <= 24 ? T.float4 : T.float8;
  }
  const base = BY_NAME.get(typname) ?? (names.length === 1 ? user(undefined) : undefined);
  if (base?.enumLabels) return base;
  if (base === undefined) {
    if (UNSUPPORTED.has(typname)) throw sqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `type "${written}" is not supported`);
    throw sqlError(SQLSTATE.UNDEFINED_OBJECT, `type "${written}" does not exist`);
  }
  if (typmods.length === 0) {
    // A bare CHARACTER means CHARACTER(1) per the SQL standard; 'bpchar' means unlimited.
    if (typname === 'char' || typname === 'character') return withTypmod(T.bpchar, 1 + VARHDRSZ);
    return base;
  }
  return withTypmod(base, typmodIn(base, typmods, written));
}

function invalidTypmod(): SqlError {
  return sqlError(SQLSTATE.INVALID_PARAMETER_VALUE, 'invalid type modifier');
}

function typmodIn(t: SqlType, mods: readonly number[], written: string): number {
  const first = mods[0] ?? 0;
  switch (t.oid) {
    case T.varchar.oid:
    case T.bpchar.oid: {
      if (mods.length !== 1) throw invalidTypmod();
      const what = t.oid === T.varchar.oid ? 'varchar' : 'char';
      if (first < 1) throw sqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `length for type ${what} must be at least 1`);
      if (first > MAX_CHAR_LENGTH) {
        throw sqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `length for type ${what} cannot exceed ${MAX_CHAR_LENGTH}`);
      }
      return first + VARHDRSZ;
    }
    case T.numeric.oid: {
      if (mods.length > 2) throw sqlError(SQLSTATE.INVALID_PARAMETER_VALUE, 'invalid NUMERIC type modifier');
      if (first < 1 || first > 1000) {
        throw sqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `NUMERIC precision ${first} must be between 1 and 1000`);
      }
      const scale = mods[1] ?? 0;
      if (scale < -1000 || scale > 1000) {
        throw sqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `NUMERIC scale ${scale} must be between -1000 and 1000`);
      }
      return numericTypmod(first, scale);
    }
    case T.timestamp.oid:
    case T.timestamptz.oid: {
      if (mods.length !== 1) throw invalidTypmod();
      const tz = t.oid === T.timestamptz.oid ? ' WITH TIME ZONE' : '';
      if (first < 0) throw sqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `TIMESTAMP(${first})${tz} precision must not be negative`);
      // PostgreSQL warns and caps; there is no channel for the warning here.
      return Math.min(first, MAX_TIMESTAMP_PRECISION);
    }
    case T.interval.oid: {
      if (mods.length > 2) throw invalidTypmod();
      const range = first;
      if (!INTERVAL_RANGES.has(range)) throw invalidTypmod();
      let precision = mods.length === 2 ? (mods[1] ?? 0) : INTERVAL_FULL_PRECISION;
      if (precision !== INTERVAL_FULL_PRECISION) {
        if (precision < 0) throw sqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `INTERVAL(${precision}) precision must not be negative`);
        precision = Math.min(precision, MAX_TIMESTAMP_PRECISION);
      }
      if (range === INTERVAL_FULL_RANGE && precision === INTERVAL_FULL_PRECISION) return -1;
      return ((range & 0x7fff) << 16) | (precision & 0xffff);
    }
    default:
      throw sqlError(SQLSTATE.SYNTAX_ERROR, `type modifier is not allowed for type "${written}"`);
  }
}

/** Types whose values are strings in the Datum representation and compare as text. */
export function isStringType(t: SqlType): boolean {
  return t.category === 'S' || t.oid === T.unknown.oid;
}
