// Column lists of the virtual relations, written as PostgreSQL's catalogs
// declare them. Types Shoal lacks are stood in for by the nearest one it has,
// with the same text output: "char" and arrays (their text form, '{a,b}')
// as text, xid as bigint, regproc and pg_node_tree as text.
import { T, type SqlType } from '../../types/index.js';
import type { SystemColumn } from './view.js';

const TYPES: Readonly<Record<string, SqlType>> = {
  oid: T.oid,
  name: T.name,
  text: T.text,
  bool: T.bool,
  int2: T.int2,
  int4: T.int4,
  int8: T.int8,
  float4: T.float4,
  char: T.text,
  varchar: T.varchar,
  timestamptz: T.timestamptz,
  xid: T.int8,
  regproc: T.text,
  node: T.text,
  array: T.text,
};

/** `'oid:oid relname:name …'` → columns. */
export function columns(spec: string): SystemColumn[] {
  return spec
    .trim()
    .split(/\s+/)
    .map((part) => {
      const [name, type] = part.split(':');
      const t = TYPES[type ?? ''];
      if (!name || !t) throw new Error(`bad system column spec ${part}`);
      return { name, type: t };
    });
}
