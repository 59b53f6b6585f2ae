// pg_database and pg_tablespace. Every Shoal database is UTF8 with C
// collation (string comparison is by code point).
import { columns } from './columns.js';
import { OID, ownerOid, type SystemRow, type SystemView } from './view.js';

export const PG_DATABASE_COLUMNS = columns(`
  oid:oid datname:name datdba:oid encoding:int4 datlocprovider:char datistemplate:bool datallowconn:bool
  datconnlimit:int4 datfrozenxid:xid datminmxid:xid dattablespace:oid datcollate:text datctype:text
  daticulocale:text datcollversion:text datacl:array`);

export function pgDatabaseRows(view: SystemView): SystemRow[] {
  const owner = ownerOid(view);
  const rows: SystemRow[] = [];
  for (const d of view.catalog.descriptors) {
    if (d.kind !== 'database') continue;
    rows.push({
      oid: d.id,
      datname: d.name,
      datdba: owner,
      encoding: OID.utf8Encoding,
      datlocprovider: 'c',
      datistemplate: false,
      datallowconn: true,
      datconnlimit: -1,
      datfrozenxid: 0n,
      datminmxid: 0n,
      dattablespace: OID.defaultTablespace,
      datcollate: 'C',
      datctype: 'C',
    });
  }
  return rows;
}

export const PG_TABLESPACE_COLUMNS = columns('oid:oid spcname:name spcowner:oid spcacl:array spcoptions:array');

export function pgTablespaceRows(view: SystemView): SystemRow[] {
  const owner = ownerOid(view);
  return [
    { oid: OID.defaultTablespace, spcname: 'pg_default', spcowner: owner },
    { oid: OID.globalTablespace, spcname: 'pg_global', spcowner: owner },
  ];
}

/** pg_encoding_to_char for the encodings a client may ask about. */
export function encodingName(encoding: number): string {
  return encoding === OID.utf8Encoding ? 'UTF8' : encoding === 0 ? 'SQL_ASCII' : '';
}
