// pg_type and pg_collation: the built-in types Shoal has (with their array types) and the three
// collations every PostgreSQL database has.
import { T, arrayOf, type SqlType } from '../../types/index.js';
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
  return Object.values(T).flatMap((t) => {
    const array = arrayOf(t);
    return array ? [typeRow(t, owner), typeRow(array, owner)] : [typeRow(t, owner)];
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
