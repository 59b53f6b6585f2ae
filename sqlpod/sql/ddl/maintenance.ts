// VACUUM and ANALYZE. PostgreSQL needs them to reclaim dead tuples and to
// refresh planner statistics; Shoal has neither: kvpod garbage-collects old
// MVCC versions on its own schedule, and the planner does not read
// statistics. Tools still send them (pgbench -i vacuums every table, and
// vacuums two before each run; migration and restore scripts ANALYZE), so
// they are accepted as no-ops after the checks PostgreSQL makes first: the
// options exist, the relations and columns exist, VACUUM is not inside a
// transaction block.
import type { Node } from '@pgsql/types';
import { findRelation, type Catalog, type NameContext } from '../catalog/catalog.js';
import { SQLSTATE, SqlError } from '../errors.js';
import { qualifiedName, stringsOf } from '../plan/context.js';

type VacuumNode = Extract<Node, { VacuumStmt: unknown }>['VacuumStmt'];

const VACUUM_OPTIONS = new Set([
  'verbose',
  'skip_locked',
  'analyze',
  'freeze',
  'full',
  'disable_page_skipping',
  'index_cleanup',
  'process_main',
  'process_toast',
  'truncate',
  'parallel',
  'skip_database_stats',
  'only_database_stats',
  'buffer_usage_limit',
]);
const ANALYZE_OPTIONS = new Set(['verbose', 'skip_locked', 'buffer_usage_limit']);

/** The command tag, after PostgreSQL's checks; nothing is done. */
export function maintenance(stmt: VacuumNode, catalog: Catalog, names: NameContext, inTransactionBlock: boolean): string {
  const vacuum = stmt.is_vacuumcmd ?? false;
  const verb = vacuum ? 'VACUUM' : 'ANALYZE';
  const known = vacuum ? VACUUM_OPTIONS : ANALYZE_OPTIONS;
  for (const o of stmt.options ?? []) {
    if (!('DefElem' in o)) continue;
    const name = o.DefElem.defname ?? '';
    if (!known.has(name)) throw new SqlError(SQLSTATE.SYNTAX_ERROR, `unrecognized ${verb} option "${name}"`);
  }
  if (vacuum && inTransactionBlock) throw new SqlError(SQLSTATE.ACTIVE_SQL_TRANSACTION, 'VACUUM cannot run inside a transaction block');
  for (const r of stmt.rels ?? []) {
    if (!('VacuumRelation' in r)) continue;
    const rv = r.VacuumRelation.relation ?? {};
    const qn = qualifiedName(rv);
    const rel = findRelation(catalog, names, qn);
    if (!rel) throw new SqlError(SQLSTATE.UNDEFINED_TABLE, `relation "${qn.schema === undefined ? qn.name : `${qn.schema}.${qn.name}`}" does not exist`);
    for (const column of stringsOf(r.VacuumRelation.va_cols)) {
      const columns = rel.kind === 'table' ? rel.columns.filter((c) => !c.hidden) : rel.kind === 'view' ? rel.columns : [];
      if (!columns.some((c) => c.name === column)) {
        throw new SqlError(SQLSTATE.UNDEFINED_COLUMN, `column "${column}" of relation "${rel.name}" does not exist`);
      }
    }
  }
  return verb;
}
