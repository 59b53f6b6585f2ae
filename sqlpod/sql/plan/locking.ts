// SELECT's locking clauses (FOR UPDATE, FOR NO KEY UPDATE, FOR SHARE, FOR
// KEY SHARE; OF, NOWAIT, SKIP LOCKED): which tables of FROM get their rows
// locked, and how a busy row is met. The two UPDATE strengths take the pod's
// row locks (../row-locks); the two SHARE strengths take none: transactions
// are SERIALIZABLE, so a row read FOR SHARE that another transaction changes
// before this one commits fails this one's COMMIT with 40001 instead of
// making the writer wait.
import type { Node } from '@pgsql/types';
import { SQLSTATE, SqlError } from '../errors.js';
import type { LockableTable } from './from.js';

type SelectNode = Extract<Node, { SelectStmt: unknown }>['SelectStmt'];
type Wait = 'wait' | 'error' | 'skip';

export interface LockedTable extends LockableTable {
  readonly wait: Wait;
}

/** PostgreSQL's name of the first clause's strength, for messages ("FOR UPDATE"). */
export function lockingName(select: SelectNode): string {
  const first = select.lockingClause?.[0];
  const strength = first && 'LockingClause' in first ? first.LockingClause.strength : undefined;
  switch (strength) {
    case 'LCS_FORNOKEYUPDATE':
      return 'FOR NO KEY UPDATE';
    case 'LCS_FORSHARE':
      return 'FOR SHARE';
    case 'LCS_FORKEYSHARE':
      return 'FOR KEY SHARE';
    default:
      return 'FOR UPDATE';
  }
}

/** 0A000 for a query shape PostgreSQL refuses to lock (`what`: "GROUP BY clause", "DISTINCT clause", …). */
export function lockingNotAllowed(select: SelectNode, what: string): SqlError {
  return new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `${lockingName(select)} is not allowed with ${what}`);
}

/**
 * The tables whose rows the query locks: those named by OF (or every table
 * read directly in FROM), each with the wait policy of its strongest clause
 * (NOWAIT over SKIP LOCKED over waiting, as in PostgreSQL). Views and
 * subqueries in FROM are not locked through (a subquery's own clause is).
 */
export function lockedTables(select: SelectNode, tables: readonly LockableTable[], others: ReadonlyMap<string, string>): LockedTable[] {
  const locked = new Map<LockableTable, Wait>();
  for (const node of select.lockingClause ?? []) {
    if (!('LockingClause' in node)) continue;
    const clause = node.LockingClause;
    const exclusive = clause.strength === 'LCS_FORUPDATE' || clause.strength === 'LCS_FORNOKEYUPDATE';
    const wait: Wait = clause.waitPolicy === 'LockWaitError' ? 'error' : clause.waitPolicy === 'LockWaitSkip' ? 'skip' : 'wait';
    const named = (clause.lockedRels ?? []).map((rel) => {
      const rv = 'RangeVar' in rel ? rel.RangeVar : undefined;
      const name = rv?.relname ?? '';
      const table = tables.find((t) => t.alias === name);
      if (table) return table;
      const what = others.get(name);
      const strength = lockingName({ lockingClause: [node] });
      if (what) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `${strength} cannot be applied to ${what}`);
      throw new SqlError(SQLSTATE.UNDEFINED_TABLE, `relation "${name}" in ${strength} clause not found in FROM clause`);
    });
    if (!exclusive) continue;
    for (const table of named.length ? named : tables) locked.set(table, stronger(locked.get(table), wait));
  }
  return [...locked].map(([table, wait]) => ({ ...table, wait }));
}

function stronger(a: Wait | undefined, b: Wait): Wait {
  const rank: Record<Wait, number> = { wait: 0, skip: 1, error: 2 };
  return a === undefined || rank[b] > rank[a] ? b : a;
}
