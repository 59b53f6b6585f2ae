// The total order of each type, as its default btree operator class defines it.
// Text types compare by code point: Shoal's only collation is C.
import { compareArrays } from './arrays.js';
import { T, type Datum, type SqlType } from './catalog.js';
import type { Interval} from './interval.js';
import { compareInterval } from './interval.js';
import type { Jsonb} from './jsonb.js';
import { compareJsonb, compareText } from './jsonb.js';
import type { Numeric} from './numeric.js';
import { compareNumeric } from './numeric.js';
import { compareEnum } from './enums.js';

/** Floats: NaN equals NaN and sorts above every number; -0 equals 0. */
export function compareFloat(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
  if (Number.isNaN(b)) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** char(n) semantics: trailing spaces are insignificant. */
export function bpcharTrim(s: string): string {
  return s.replace(/ +$/, '');
}

function cmp<V extends number | bigint | string>(a: V, b: V): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Negative, zero or positive as a sorts before, with or after b (both non-null values of type t). */
export function compare(t: SqlType, a: Datum, b: Datum): number {
  const element = t.element;
  if (element) return compareArrays(a, b, (x, y) => compare(element, x, y));
  if (t.enumLabels) return compareEnum(t, a as string, b as string);
  switch (t.oid) {
    case T.bool.oid:
      return Number(a) - Number(b);
    case T.int2.oid:
    case T.int4.oid:
    case T.oid.oid:
    case T.date.oid:
      return cmp(a as number, b as number);
    case T.int8.oid:
    case T.timestamp.oid:
    case T.timestamptz.oid:
      return cmp(a as bigint, b as bigint);
    case T.float4.oid:
    case T.float8.oid:
      return compareFloat(a as number, b as number);
    case T.numeric.oid:
      return compareNumeric(a as Numeric, b as Numeric);
    case T.bpchar.oid:
      return Math.sign(compareText(bpcharTrim(a as string), bpcharTrim(b as string)));
    case T.text.oid:
    case T.varchar.oid:
    case T.name.oid:
    case T.unknown.oid:
      return Math.sign(compareText(a as string, b as string));
    case T.uuid.oid:
      return cmp(a as string, b as string);
    case T.bytea.oid:
      return Buffer.compare(a as Buffer, b as Buffer);
    case T.interval.oid:
      return compareInterval(a as Interval, b as Interval);
    case T.jsonb.oid:
      return compareJsonb(a as Jsonb, b as Jsonb);
    default:
      throw new TypeError(`type ${t.name} has no ordering`);
  }
}
