// pg_roles, pg_authid, pg_user, pg_auth_members from the tenant's roles.
// Shoal roles have only LOGIN and SUPERUSER; a superuser can do everything,
// so it shows PostgreSQL's other capabilities as well.
import { columns } from './columns.js';
import { roleOid, rolesOf, type SystemRow, type SystemView } from './view.js';

export const PG_ROLES_COLUMNS = columns(`
  rolname:name rolsuper:bool rolinherit:bool rolcreaterole:bool rolcreatedb:bool rolcanlogin:bool
  rolreplication:bool rolconnlimit:int4 rolpassword:text rolvaliduntil:timestamptz rolbypassrls:bool
  rolconfig:array oid:oid`);

export function pgRolesRows(view: SystemView): SystemRow[] {
  return rolesOf(view).map((r) => ({
    rolname: r.name,
    rolsuper: r.superuser,
    rolinherit: true,
    rolcreaterole: r.superuser,
    rolcreatedb: r.superuser,
    rolcanlogin: r.canLogin,
    rolreplication: r.superuser,
    rolconnlimit: -1,
    // pg_roles never shows passwords.
    rolpassword: '********',
    rolbypassrls: r.superuser,
    oid: roleOid(r.name),
  }));
}

export const PG_AUTHID_COLUMNS = columns(`
  oid:oid rolname:name rolsuper:bool rolinherit:bool rolcreaterole:bool rolcreatedb:bool rolcanlogin:bool
  rolreplication:bool rolbypassrls:bool rolconnlimit:int4 rolpassword:text rolvaliduntil:timestamptz`);

export function pgAuthidRows(view: SystemView): SystemRow[] {
  return pgRolesRows(view).map((r) => ({ ...r, rolpassword: null }));
}

export const PG_USER_COLUMNS = columns(`
  usename:name usesysid:oid usecreatedb:bool usesuper:bool userepl:bool usebypassrls:bool passwd:text
  valuntil:timestamptz useconfig:array`);

export function pgUserRows(view: SystemView): SystemRow[] {
  return rolesOf(view)
    .filter((r) => r.canLogin)
    .map((r) => ({ usename: r.name, usesysid: roleOid(r.name), usecreatedb: r.superuser, usesuper: r.superuser, userepl: r.superuser, usebypassrls: r.superuser, passwd: '********' }));
}

export const PG_AUTH_MEMBERS_COLUMNS = columns('oid:oid roleid:oid member:oid grantor:oid admin_option:bool');
