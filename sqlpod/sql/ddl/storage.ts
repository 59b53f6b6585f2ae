// Storage parameters (CREATE TABLE … WITH (fillfactor = 90, …)). They tune
// PostgreSQL's heap pages and autovacuum, neither of which Shoal has: rows
// live in KV and kvpod collects old versions itself. Scripts written for
// PostgreSQL set them (pgbench -i creates its tables `with (fillfactor=100)`),
// so the names PostgreSQL knows are accepted, values checked where a wrong one
// would be an error there, and otherwise ignored.
import type { Node } from '@pgsql/types';
import { SQLSTATE, SqlError } from '../errors.js';
import { formatType, typeByOid } from '../types/index.js';

const HEAP_PARAMETERS = new Set([
  'fillfactor',
  'toast_tuple_target',
  'parallel_workers',
  'autovacuum_enabled',
  'autovacuum_vacuum_threshold',
  'autovacuum_vacuum_insert_threshold',
  'autovacuum_analyze_threshold',
  'autovacuum_vacuum_scale_factor',
  'autovacuum_vacuum_insert_scale_factor',
  'autovacuum_analyze_scale_factor',
  'autovacuum_vacuum_cost_delay',
  'autovacuum_vacuum_cost_limit',
  'autovacuum_freeze_min_age',
  'autovacuum_freeze_max_age',
  'autovacuum_freeze_table_age',
  'autovacuum_multixact_freeze_min_age',
  'autovacuum_multixact_freeze_max_age',
  'autovacuum_multixact_freeze_table_age',
  'log_autovacuum_min_duration',
  'user_catalog_table',
  'vacuum_index_cleanup',
  'vacuum_truncate',
]);

/** Checks a table's WITH (…) list as PostgreSQL's heap_reloptions would; the values have no effect here. */
export function checkStorageParameters(options: readonly Node[] | undefined): void {
  for (const o of options ?? []) {
    if (!('DefElem' in o)) continue;
    const d = o.DefElem;
    const name = d.defname ?? '';
    const namespace = d.defnamespace;
    if (namespace !== undefined && namespace !== 'toast') throw new SqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `unrecognized parameter namespace "${namespace}"`);
    if (!HEAP_PARAMETERS.has(name)) throw new SqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `unrecognized parameter "${name}"`);
    if (name === 'fillfactor') {
      const arg = d.arg;
      const value = arg && 'Integer' in arg ? (arg.Integer.ival ?? 0) : arg && 'String' in arg ? Number(arg.String.sval) : NaN;
      if (!Number.isInteger(value)) throw new SqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `invalid value for integer option "fillfactor"`);
      if (value < 10 || value > 100) {
        throw new SqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `value ${value} out of bounds for option "fillfactor"`, { detail: 'Valid values are between "10" and "100".' });
      }
    }
  }
}

/** Index keys hold order-preserving encodings, which array values do not have in storage: refused in keys. */
export function checkKeyColumn(column: { readonly name: string; readonly typeOid: number }): void {
  const type = typeByOid(column.typeOid);
  if (type?.element) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `column "${column.name}" of array type ${formatType(type)} cannot be part of a key or index: array keys are not supported`);
}
