// Planning COPY: which table and columns, the format options, what is
// refused (server files, programs, BINARY), and for COPY FROM an INSERT plan
// whose rows come from the client instead of a plan node; for COPY TO the
// query whose rows go out.
import type { Node } from '@pgsql/types';
import { columnType, resolveTable } from '../catalog/catalog.js';
import type { TableDescriptor } from '../catalog/descriptors.js';
import { SQLSTATE, SqlError } from '../errors.js';
import { qualifiedName, type PlanContext } from '../plan/context.js';
import { checksOf, defaultFor, type InsertPlan } from '../plan/dml.js';
import type { Expr } from '../plan/expr.js';
import { planForeignKeys } from '../plan/foreign-keys.js';
import type { OutputColumn, PlanNode, Subquery } from '../plan/plan.js';
import { fullScan, planSelect } from '../plan/select.js';
import type { SqlType } from '../types/index.js';
import { copyOptions, type CopyOptionValue, type CopyOptions } from './format.js';

type CopyNode = Extract<Node, { CopyStmt: unknown }>['CopyStmt'];

export interface CopyFromPlan {
  readonly direction: 'from';
  readonly table: TableDescriptor;
  /** The INSERT the rows go through (its source is unused: rows come from the client). */
  readonly insert: InsertPlan;
  /** Slots of the columns the input provides, in input order. */
  readonly targets: readonly number[];
  /** Every column's type (with typmod), by slot. */
  readonly types: readonly SqlType[];
  /** DEFAULT expressions of the columns the input does not provide, by slot. */
  readonly defaults: readonly { readonly slot: number; readonly expr: Expr }[];
  readonly options: CopyOptions;
}

export interface CopyToPlan {
  readonly direction: 'to';
  readonly root: PlanNode;
  readonly columns: readonly OutputColumn[];
  readonly subqueries: readonly Subquery[];
  readonly options: CopyOptions;
}

export type CopyPlan = CopyFromPlan | CopyToPlan;

/** The refusals PostgreSQL makes before looking at the table (files, programs) plus ours. */
function refuseUnsupported(stmt: CopyNode): void {
  const from = stmt.is_from === true;
  if (stmt.is_program) {
    throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `COPY ${from ? 'FROM' : 'TO'} PROGRAM is not supported: a serverless SQL pod runs no programs`, {
      hint: `Use COPY … ${from ? 'FROM STDIN' : 'TO STDOUT'}, for example psql's \\copy.`,
    });
  }
  if (stmt.filename !== undefined) {
    // As in PostgreSQL for a role without pg_read/write_server_files; here no role has them: the pod has no files of the client's.
    throw new SqlError(
      SQLSTATE.INSUFFICIENT_PRIVILEGE,
      from ? 'must be superuser or have privileges of the pg_read_server_files role to COPY from a file' : 'must be superuser or have privileges of the pg_write_server_files role to COPY to a file',
      { hint: "Anyone can COPY to stdout or from stdin. psql's \\copy command also works for anyone." },
    );
  }
  if (stmt.whereClause) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'COPY FROM … WHERE is not supported');
}

/** DefElem options as name and plain value. */
function optionValues(options: readonly Node[] | undefined): CopyOptionValue[] {
  return (options ?? []).flatMap((n) => {
    if (!('DefElem' in n)) return [];
    const d = n.DefElem;
    const arg = d.arg;
    let value: CopyOptionValue['value'];
    if (!arg) value = undefined;
    else if ('String' in arg) value = arg.String.sval ?? '';
    else if ('Boolean' in arg) value = arg.Boolean.boolval ?? false;
    else if ('Integer' in arg) value = arg.Integer.ival ?? 0;
    else if ('A_Star' in arg) value = '*';
    else if ('List' in arg) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `COPY option "${(d.defname ?? '').toUpperCase()}" is not supported`);
    return [{ name: (d.defname ?? '').toLowerCase(), value }];
  });
}

/** The column list (or every visible column) as slots; names must exist and appear once. */
function columnSlots(table: TableDescriptor, attlist: readonly Node[] | undefined): number[] {
  if (!attlist?.length) return table.columns.flatMap((c, slot) => (c.hidden ? [] : [slot]));
  const slots: number[] = [];
  for (const n of attlist) {
    const name = 'String' in n ? (n.String.sval ?? '') : '';
    const slot = table.columns.findIndex((c) => c.name === name && !c.hidden);
    if (slot < 0) throw new SqlError(SQLSTATE.UNDEFINED_COLUMN, `column "${name}" of relation "${table.name}" does not exist`);
    if (slots.includes(slot)) throw new SqlError(SQLSTATE.DUPLICATE_COLUMN, `column "${name}" specified more than once`);
    slots.push(slot);
  }
  return slots;
}

export function planCopy(stmt: CopyNode, ctx: PlanContext): CopyPlan {
  refuseUnsupported(stmt);
  const from = stmt.is_from === true;
  const options = copyOptions(optionValues(stmt.options), from);
  if (stmt.query) {
    const query = stmt.query;
    if (!('SelectStmt' in query)) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'COPY (INSERT/UPDATE/DELETE … RETURNING) TO is not supported; use COPY (SELECT …) TO');
    const plan = planSelect(query.SelectStmt, ctx);
    return { direction: 'to', root: plan.root, columns: plan.columns, subqueries: plan.subqueries, options };
  }
  const rv = stmt.relation ?? {};
  const table = resolveTable(ctx.catalog, ctx.names, qualifiedName(rv), ctx.position(rv.location));
  const targets = columnSlots(table, stmt.attlist);
  const types = table.columns.map((c) => columnType(ctx.catalog, c));
  if (!from) {
    const columns = targets.map((slot): OutputColumn => {
      const c = table.columns[slot];
      return { name: c?.name ?? '?', type: types[slot] as SqlType, tableOid: table.id, columnNumber: slot + 1 };
    });
    const root: PlanNode = { kind: 'project', input: fullScan(table), exprs: targets.map((slot) => ({ kind: 'column', type: types[slot] as SqlType, slot })) };
    return { direction: 'to', root, columns, subqueries: [], options };
  }
  const defaults = table.columns.flatMap((_, slot) => (targets.includes(slot) ? [] : [{ slot, expr: defaultFor(table, slot, ctx) }]));
  const insert: InsertPlan = { kind: 'insert', table, source: { kind: 'values', rows: [] }, checks: checksOf(table, ctx), onConflict: null, returning: null, foreignKeys: planForeignKeys(table, ctx) };
  return { direction: 'from', table, insert, targets, types, defaults, options };
}
