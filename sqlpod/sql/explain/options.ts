// EXPLAIN's options, checked as PostgreSQL checks them. Shoal prints text
// only and has no cost model, so COSTS is accepted and changes nothing, and
// options about what Shoal does not have (buffers, WAL, generic plans…) are
// refused when turned on.
import type { Node } from '@pgsql/types';
import { SQLSTATE, SqlError } from '../errors.js';

export interface ExplainOptions {
  readonly analyze: boolean;
  readonly verbose: boolean;
  /** ANALYZE: per-node times (default on). */
  readonly timing: boolean;
  /** Planning and execution time at the end (default: with ANALYZE). */
  readonly summary: boolean;
}

const UNSUPPORTED = new Set(['buffers', 'wal', 'settings', 'generic_plan', 'memory']);

export function explainOptions(nodes: readonly Node[] | undefined, position: (location: number | undefined) => number | undefined): ExplainOptions {
  const set = new Map<string, boolean>();
  for (const n of nodes ?? []) {
    if (!('DefElem' in n)) continue;
    const { defname = '', arg, location } = n.DefElem;
    const name = defname.toLowerCase();
    const where = { position: position(location) };
    if (name === 'format') {
      const format = arg ? valueText(arg).toLowerCase() : '';
      if (format === 'text') continue;
      if (format === 'json' || format === 'xml' || format === 'yaml') throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `EXPLAIN option FORMAT ${format.toUpperCase()} is not supported: only FORMAT TEXT`, where);
      throw new SqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `unrecognized value for EXPLAIN option "format": "${format}"`, where);
    }
    if (name === 'serialize') {
      if (arg && valueText(arg).toLowerCase() === 'none') continue;
      throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'EXPLAIN option SERIALIZE is not supported', where);
    }
    const known = ['analyze', 'verbose', 'costs', 'timing', 'summary'].includes(name);
    if (!known && !UNSUPPORTED.has(name)) throw new SqlError(SQLSTATE.SYNTAX_ERROR, `unrecognized EXPLAIN option "${defname}"`, where);
    const on = arg ? booleanOf(arg, name, where) : true;
    if (UNSUPPORTED.has(name)) {
      if (on) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `EXPLAIN option ${name.toUpperCase()} is not supported`, where);
      continue;
    }
    set.set(name, on);
  }
  const analyze = set.get('analyze') ?? false;
  if (set.get('timing') && !analyze) throw new SqlError(SQLSTATE.INVALID_PARAMETER_VALUE, 'EXPLAIN option TIMING requires ANALYZE');
  return { analyze, verbose: set.get('verbose') ?? false, timing: set.get('timing') ?? analyze, summary: set.get('summary') ?? analyze };
}

function valueText(n: Node): string {
  if ('String' in n) return n.String.sval ?? '';
  if ('Integer' in n) return String(n.Integer.ival ?? 0);
  if ('Boolean' in n) return n.Boolean.boolval ? 'true' : 'false';
  if ('A_Const' in n) return n.A_Const.sval?.sval ?? String(n.A_Const.ival?.ival ?? n.A_Const.boolval?.boolval ?? '');
  return '';
}

/** PostgreSQL's defGetBoolean. */
function booleanOf(n: Node, name: string, where: { position: number | undefined }): boolean {
  const text = valueText(n).toLowerCase();
  if (['true', 'on', '1', 'yes'].includes(text)) return true;
  if (['false', 'off', '0', 'no'].includes(text)) return false;
  throw new SqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `${name} requires a Boolean value`, where);
}
