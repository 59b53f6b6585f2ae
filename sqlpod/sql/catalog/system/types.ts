// pg_type, pg_enum and pg_collation: the built-in types Shoal has (with their array types), the
// database's enum types and their labels, and the three collations every PostgreSQL database has.
import { enumSqlType, findEnumType } from '../catalog.js';
import { T, arrayOf, formatType, type SqlType } from '../../types/index.js';
import { quoteIdent } from './deparse.js';
import { schemaName } from './namespaces.js';
import { columns } from './columns.js';
import { collationOf } from './relations.js';
import { OID, ownerOid, type SystemRow, type SystemView } from './view.js';

export const PG_TYPE_COLUMNS = columns(`
  oid:oid typname:name typnamespace:oid typowner:oid typlen:int2 typbyval:bool typtype:char
  typcategory:char typispreferred:bool typisdefined:bool typdelim:char typrelid:oid typsubscript:regproc
  typelem:oid typarray:oid typinput:regproc typoutput:regproc typreceive:regproc typsend:regproc
  typmodin:regproc typmodout:regproc typanalyze:regproc typalign:char typstorage:char typnotnull:bool
  typbasetype:oid typtypmod:int4 typndims:int4 typcollation:oid typdefaultbin:node typdefault:text
  typacl:array`);

function typeRow(t: SqlType, owner: number): SystemRow {
  const element = t.element;
  if (element) {
    return {
      ...typeRow(element, owner),
      oid: t.oid,
      typname: t.typname,
      typlen: -1,
      typbyval: false,
      typcategory: 'A',
      typispreferred: false,
      typsubscript: 'array_subscript_handler',
      typelem: element.oid,
      typarray: 0,
      typinput: 'array_in',
      typoutput: 'array_out',
      typreceive: 'array_recv',
      typsend: 'array_send',
      typanalyze: 'array_typanalyze',
      typalign: element.typeSize === 8 ? 'd' : 'i',
      typstorage: 'x',
    };
  }
  return {
    oid: t.oid,
    typname: t.typname,
    typnamespace: OID.pgCatalog,
    typowner: owner,
    typlen: t.typeSize,
    typbyval: t.typeSize > 0 && t.typeSize <= 8,
    typtype: t.category === 'P' ? 'p' : 'b',
    typcategory: t.category,
    typispreferred: t.preferred,
    typisdefined: true,
    typdelim: ',',
    typrelid: 0,
    typsubscript: '-',
    typelem: 0,
    typarray: arrayOf(t)?.oid ?? 0,
    typinput: `${t.typname}in`,
    typoutput: `${t.typname}out`,
    typreceive: `${t.typname}recv`,
    typsend: `${t.typname}send`,
    typmodin: '-',
    typmodout: '-',
    typanalyze: '-',
    typalign: t.typeSize === 8 ? 'd' : t.typeSize === 2 ? 's' : t.typeSize === 1 ? 'c' : 'i',
    typstorage: t.typeSize < 0 ? 'x' : 'p',
    typnotnull: false,
    typbasetype: 0,
    typtypmod: -1,
    typndims: 0,
    typcollation: collationOf(t),
  };
}

export function pgTypeRows(view: SystemView): SystemRow[] {
  const owner = ownerOid(view);
  const builtin = Object.values(T).flatMap((t) => {
    const array = arrayOf(t);
    return array ? [typeRow(t, owner), typeRow(array, owner)] : [typeRow(t, owner)];
  });
  const enums = view.catalog.enumsOf(view.databaseId).map((d): SystemRow => ({
    ...typeRow(enumSqlType(d), owner),
    typnamespace: d.schemaId,
    typtype: 'e',
    typinput: 'enum_in',
    typoutput: 'enum_out',
    typreceive: 'enum_recv',
    typsend: 'enum_send',
    typcollation: 0,
  }));
  return [...builtin, ...enums];
}

export const PG_ENUM_COLUMNS = columns('oid:oid enumtypid:oid enumsortorder:float4 enumlabel:name');

// A label's OID: its type's descriptor id and its place among the type's labels.
const ENUM_LABEL_OID_BASE = 3_000_000_000;

export function pgEnumRows(view: SystemView): SystemRow[] {
  return view.catalog.enumsOf(view.databaseId).flatMap((d) => {
    const typeOid = enumSqlType(d).oid;
    return d.labels.map((l, i): SystemRow => ({ oid: ENUM_LABEL_OID_BASE + d.id * 1000 + i, enumtypid: typeOid, enumsortorder: l.sortOrder, enumlabel: l.label }));
  });
}

export const PG_COLLATION_COLUMNS = columns(`
  oid:oid collname:name collnamespace:oid collowner:oid collprovider:char collisdeterministic:bool
  collencoding:int4 collcollate:text collctype:text colliculocale:text collversion:text`);

export function pgCollationRows(view: SystemView): SystemRow[] {
  const owner = ownerOid(view);
  const base = { collnamespace: OID.pgCatalog, collowner: owner, collisdeterministic: true };
  return [
    { ...base, oid: OID.defaultCollation, collname: 'default', collprovider: 'd', collencoding: -1 },
    { ...base, oid: OID.cCollation, collname: 'C', collprovider: 'c', collencoding: -1, collcollate: 'C', collctype: 'C' },
    { ...base, oid: OID.posixCollation, collname: 'POSIX', collprovider: 'c', collencoding: -1, collcollate: 'POSIX', collctype: 'POSIX' },
  ];
}

/** Whether an unqualified name finds this type (pg_type_is_visible): built-ins always, an enum when the search path reaches it first. */
export function typeIsVisible(view: SystemView, t: SqlType): boolean {
  const d = view.catalog.enumByOid(t.oid);
  return !d || findEnumType(view.catalog, view, undefined, d.name)?.id === d.id;
}

/** format_type as this session prints it: an enum the search path does not find is schema-qualified. */
export function formatTypeIn(view: SystemView, t: SqlType): string {
  const d = view.catalog.enumByOid(t.oid);
  if (!d) return formatType(t);
  return typeIsVisible(view, t) ? quoteIdent(d.name) : `${quoteIdent(schemaName(view, d.schemaId) ?? '')}.${quoteIdent(d.name)}`;
}
