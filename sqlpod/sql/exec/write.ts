// Executing INSERT, UPDATE and DELETE: constraint checks, unique checks
// batched into one read per batch of rows, index maintenance in the same
// transaction as the row.
import type { IndexDescriptor, TableDescriptor } from '../catalog/descriptors.js';
import { SQLSTATE, SqlError } from '../errors.js';
import { compile, type Row } from '../plan/expr.js';
import type { DeletePlan, InsertPlan, UpdatePlan, WritePlan } from '../plan/dml.js';
import type { RowCodec } from '../rows/codec.js';
import { formatText, type Datum, type SqlType } from '../types/index.js';
import { ForeignKeyEnforcer, type RowChange } from './foreign-keys.js';
import { codecFor, run, type ExecContext } from './run.js';

export interface WriteResult {
  readonly count: number;
  /** RETURNING rows, when the statement has RETURNING. */
  readonly rows: Row[];
}

export async function executeWrite(plan: WritePlan, ctx: ExecContext): Promise<WriteResult> {
  switch (plan.kind) {
    case 'insert':
      return insert(plan, ctx);
    case 'update':
      return update(plan, ctx);
    case 'delete':
      return remove(plan, ctx);
  }
}

export type Check = { readonly name: string; readonly test: (row: Row) => Datum };

function compileChecks(plan: InsertPlan | UpdatePlan, ctx: ExecContext): Check[] {
  return plan.checks.map((c) => {
    const f = compile(c.predicate);
    return { name: c.name, test: (row: Row) => f(row, ctx.eval) };
  });
}

/** NOT NULL and CHECK, with PostgreSQL's messages. */
export function validate(table: TableDescriptor, codec: RowCodec, checks: readonly Check[], row: Row): void {
  table.columns.forEach((c, i) => {
    if (c.notNull && (row[i] ?? null) === null) {
      throw new SqlError(SQLSTATE.NOT_NULL_VIOLATION, `null value in column "${c.name}" of relation "${table.name}" violates not-null constraint`, {
        detail: `Failing row contains ${describeRow(table, codec, row)}.`,
      });
    }
  });
  for (const check of checks) {
    if (check.test(row) === false) {
      throw new SqlError(SQLSTATE.CHECK_VIOLATION, `new row for relation "${table.name}" violates check constraint "${check.name}"`, {
        detail: `Failing row contains ${describeRow(table, codec, row)}.`,
      });
    }
  }
}

function describeRow(table: TableDescriptor, codec: RowCodec, row: Row): string {
  const parts = table.columns.flatMap((c, i) => (c.hidden ? [] : [display(codec.types[i] as SqlType, row[i] ?? null)]));
  return `(${parts.join(', ')})`;
}

function display(type: SqlType, v: Datum): string {
  return v === null ? 'null' : formatText(type, v);
}

/** The unique keys a row claims: primary key and each unique index without NULLs. */
function claims(table: TableDescriptor, codec: RowCodec, row: Row, indexes: readonly IndexDescriptor[]): { index: IndexDescriptor; key: Buffer }[] {
  const out = [{ index: table.primaryKey, key: codec.primaryKey(row) }];
  for (const index of indexes) {
    if (!index.unique || codec.uniqueKeyOf(index, row) === null) continue;
    out.push({ index, key: codec.indexEntry(index, row).key });
  }
  return out;
}

function uniqueViolation(table: TableDescriptor, codec: RowCodec, index: IndexDescriptor, row: Row): SqlError {
  const names = index.columnIds.map((id) => table.columns.find((c) => c.id === id)?.name ?? '?');
  const values = index.columnIds.map((id) => {
    const slot = codec.slot(id);
    return display(codec.types[slot] as SqlType, row[slot] ?? null);
  });
  return new SqlError(SQLSTATE.UNIQUE_VIOLATION, `duplicate key value violates unique constraint "${index.name}"`, {
    detail: `Key (${names.join(', ')})=(${values.join(', ')}) already exists.`,
  });
}

function putRow(ctx: ExecContext, table: TableDescriptor, codec: RowCodec, row: Row): void {
  ctx.txn.put(codec.primaryKey(row), codec.encodeRowValue(row));
  for (const index of table.indexes) {
    const e = codec.indexEntry(index, row);
    ctx.txn.put(e.key, e.value);
  }
}

function deleteRow(ctx: ExecContext, table: TableDescriptor, codec: RowCodec, row: Row): void {
  ctx.txn.delete(codec.primaryKey(row));
  for (const index of table.indexes) ctx.txn.delete(codec.indexEntry(index, row).key);
}

/** The statement's foreign key work, when the table references or is referenced by another. */
function foreignKeys(plan: WritePlan, ctx: ExecContext): ForeignKeyEnforcer | null {
  if (!ForeignKeyEnforcer.involves(plan.foreignKeys, plan.table)) return null;
  return new ForeignKeyEnforcer(plan.foreignKeys, ctx, {
    deleteRow: (table, row) => deleteRow(ctx, table, codecFor(ctx.ks, ctx.types, table), row),
    replaceRow: (table, old, next) => replaceRow(ctx, table, codecFor(ctx.ks, ctx.types, table), old, next),
    validate: (table, checks, row) => validate(table, codecFor(ctx.ks, ctx.types, table), checks, row),
  });
}

/** `batches` stands in for the plan's source when the rows come from elsewhere (COPY FROM). */
export async function insert(plan: InsertPlan, ctx: ExecContext, batches: AsyncIterable<Row[]> = run(plan.source, ctx)): Promise<WriteResult> {
  const { table } = plan;
  const codec = codecFor(ctx.ks, ctx.types, table);
  const checks = compileChecks(plan, ctx);
  const returning = plan.returning?.exprs.map(compile) ?? null;
  const hiddenKey = table.columns.some((c) => c.hidden);
  const out: Row[] = [];
  let count = 0;
  // Keys claimed by rows of this statement (for conflicts within one INSERT).
  const claimed = new Map<string, Row>();
  const updated = new Set<string>();
  const onConflict = plan.onConflict;
  const arbiterIds = new Set(onConflict?.arbiters.map((a) => a.id) ?? []);
  const sets = onConflict?.action === 'update' ? onConflict.sets.map((s) => ({ slot: s.slot, f: compile(s.expr) })) : [];
  const where = onConflict?.action === 'update' && onConflict.where ? compile(onConflict.where) : null;
  const fks = foreignKeys(plan, ctx);
  const upserts: RowChange[] = [];
  // The keys a row claims are locked, so that a concurrent INSERT of the same key on this pod waits and then
  // sees it (23505, or the ON CONFLICT action), as in PostgreSQL. Not for INSERT … SELECT and COPY: a bulk
  // load would fill the lock table, and its conflicts are 40001 at COMMIT as before.
  const lockClaims = onConflict !== undefined || plan.source.kind === 'values';

  for await (const batch of batches) {
    const written: Row[] = [];
    const upserted = upserts.length;
    ctx.checkCancel();
    for (const row of batch) validate(table, codec, checks, row);
    const rowClaims = batch.map((row) => claims(table, codec, row, table.indexes));
    // A hidden row id is unique by construction; everything else is read once per batch.
    const toRead = rowClaims.flatMap((cs) => cs.filter((c) => !(hiddenKey && c.index === table.primaryKey)).map((c) => c.key));
    const existing = new Map<string, Buffer>();
    if (lockClaims) await ctx.lockRows(toRead);
    if (toRead.length) {
      const values = await ctx.txn.getMany(toRead);
      values.forEach((v, i) => v && existing.set((toRead[i] as Buffer).toString('latin1'), v));
    }
    for (const [i, row] of batch.entries()) {
      let conflict: { index: IndexDescriptor; key: Buffer; value: Buffer | Row } | null = null;
      for (const c of rowClaims[i] ?? []) {
        const id = c.key.toString('latin1');
        const mine = claimed.get(id);
        const stored = existing.get(id);
        if (mine) conflict = { index: c.index, key: c.key, value: mine };
        else if (stored) conflict = { index: c.index, key: c.key, value: stored };
        if (conflict) break;
      }
      if (conflict) {
        if (!onConflict || !arbiterIds.has(conflict.index.id)) throw uniqueViolation(table, codec, conflict.index, row);
        if (onConflict.action === 'nothing') continue;
        const old = await existingRow(ctx, table, codec, conflict);
        // Found through another unique index: the row itself is locked, as UPDATE locks it.
        await ctx.lockRows([codec.primaryKey(old)]);
        const oldKey = codec.primaryKey(old).toString('latin1');
        if (updated.has(oldKey) || claimed.has(oldKey)) {
          throw new SqlError(SQLSTATE.CARDINALITY_VIOLATION, 'ON CONFLICT DO UPDATE command cannot affect row a second time', {
            hint: 'Ensure that no rows proposed for insertion within the same command have duplicate constrained values.',
          });
        }
        const both = [...old, ...row];
        if (where && where(both, ctx.eval) !== true) continue;
        const next = [...old];
        for (const s of sets) next[s.slot] = s.f(both, ctx.eval);
        validate(table, codec, checks, next);
        await replaceRow(ctx, table, codec, old, next);
        if (fks) upserts.push({ old, next });
        updated.add(codec.primaryKey(next).toString('latin1'));
        count++;
        if (returning) out.push(returning.map((f) => f(next, ctx.eval)));
        continue;
      }
      for (const c of rowClaims[i] ?? []) claimed.set(c.key.toString('latin1'), row);
      putRow(ctx, table, codec, row);
      if (fks) written.push(row);
      count++;
      if (returning) out.push(returning.map((f) => f(row, ctx.eval)));
    }
    if (fks) {
      await fks.checkWritten(table, written);
      const batchUpserts = upserts.slice(upserted);
      await fks.checkWritten(table, batchUpserts.map((u) => u.next as Row), batchUpserts.map((u) => u.old));
    }
  }
  if (fks) {
    await fks.changed(table, upserts);
    await fks.finish();
  }
  return { count, rows: out };
}

/** The stored row a conflicting claim points at. */
async function existingRow(ctx: ExecContext, table: TableDescriptor, codec: RowCodec, conflict: { index: IndexDescriptor; key: Buffer; value: Buffer | Row }): Promise<Row> {
  if (Array.isArray(conflict.value)) return conflict.value;
  const value = conflict.value;
  if (conflict.index === table.primaryKey) return codec.decodeRow(conflict.key, value);
  const pk = codec.primaryKeyOf(conflict.index, { key: conflict.key, value });
  const [row] = await ctx.txn.getMany([pk]);
  if (!row) throw new SqlError(SQLSTATE.INTERNAL_ERROR, `index ${conflict.index.name} points at a missing row`);
  return codec.decodeRow(pk, row);
}

/** Writes `next` in place of `old`: moves the row if its key changed, updates the index entries that changed. */
async function replaceRow(ctx: ExecContext, table: TableDescriptor, codec: RowCodec, old: Row, next: Row): Promise<void> {
  const oldKey = codec.primaryKey(old);
  const newKey = codec.primaryKey(next);
  const checks: { index: IndexDescriptor; key: Buffer }[] = [];
  if (!oldKey.equals(newKey)) checks.push({ index: table.primaryKey, key: newKey });
  for (const index of table.indexes) {
    const before = codec.indexEntry(index, old);
    const after = codec.indexEntry(index, next);
    if (before.key.equals(after.key)) continue;
    if (index.unique && codec.uniqueKeyOf(index, next) !== null) checks.push({ index, key: after.key });
  }
  if (checks.length) {
    const found = await ctx.txn.getMany(checks.map((c) => c.key));
    found.forEach((v, i) => {
      const c = checks[i];
      if (v && c) throw uniqueViolation(table, codec, c.index, next);
    });
  }
  if (!oldKey.equals(newKey)) ctx.txn.delete(oldKey);
  ctx.txn.put(newKey, codec.encodeRowValue(next));
  for (const index of table.indexes) {
    const before = codec.indexEntry(index, old);
    const after = codec.indexEntry(index, next);
    if (before.key.equals(after.key) && before.value.equals(after.value)) continue;
    ctx.txn.delete(before.key);
    ctx.txn.put(after.key, after.value);
  }
}

async function update(plan: UpdatePlan, ctx: ExecContext): Promise<WriteResult> {
  const { table } = plan;
  const codec = codecFor(ctx.ks, ctx.types, table);
  const checks = compileChecks(plan, ctx);
  const sets = plan.sets.map((s) => ({ slot: s.slot, f: compile(s.expr) }));
  const returning = plan.returning?.exprs.map(compile) ?? null;
  // Read every row first: the writes must not feed back into the scan (Halloween problem).
  const rows: Row[] = [];
  for await (const batch of run(plan.source, ctx)) rows.push(...batch);
  await ctx.lockRows(rows.map((r) => codec.primaryKey(r)));
  const correlated = ctx.subqueries.correlatedIn([...plan.sets.map((x) => x.expr), ...(plan.returning?.exprs ?? [])]);
  if (correlated.length) await ctx.subqueries.prepareFor(correlated, rows, ctx);
  const out: Row[] = [];
  const changes = rows.map((old) => {
    const next = [...old];
    for (const s of sets) next[s.slot] = s.f(old, ctx.eval);
    validate(table, codec, checks, next);
    return { old, next };
  });
  // Rows that change key must not collide with each other or with rows that stay.
  const movedFrom = new Set(changes.map((c) => codec.primaryKey(c.old).toString('latin1')));
  const movedTo = new Set<string>();
  for (const c of changes) {
    const to = codec.primaryKey(c.next).toString('latin1');
    if (to === codec.primaryKey(c.old).toString('latin1')) continue;
    if (movedTo.has(to)) throw uniqueViolation(table, codec, table.primaryKey, c.next);
    movedTo.add(to);
  }
  for (const c of changes) {
    ctx.checkCancel();
    const from = codec.primaryKey(c.old).toString('latin1');
    const to = codec.primaryKey(c.next).toString('latin1');
    if (from !== to && movedFrom.has(to)) {
      // The key is vacated by another row of this statement: no stored conflict to look for.
      deleteRow(ctx, table, codec, c.old);
      putRow(ctx, table, codec, c.next);
    } else {
      await replaceRow(ctx, table, codec, c.old, c.next);
    }
    if (returning) out.push(returning.map((f) => f(c.next, ctx.eval)));
  }
  const fks = foreignKeys(plan, ctx);
  if (fks) {
    await fks.checkWritten(table, changes.map((c) => c.next), changes.map((c) => c.old));
    await fks.changed(table, changes);
    await fks.finish();
  }
  return { count: changes.length, rows: out };
}

async function remove(plan: DeletePlan, ctx: ExecContext): Promise<WriteResult> {
  const { table } = plan;
  const codec = codecFor(ctx.ks, ctx.types, table);
  const returning = plan.returning?.exprs.map(compile) ?? null;
  const rows: Row[] = [];
  for await (const batch of run(plan.source, ctx)) rows.push(...batch);
  await ctx.lockRows(rows.map((r) => codec.primaryKey(r)));
  const out: Row[] = [];
  for (const row of rows) {
    deleteRow(ctx, table, codec, row);
    if (returning) out.push(returning.map((f) => f(row, ctx.eval)));
  }
  const fks = foreignKeys(plan, ctx);
  if (fks) {
    await fks.changed(table, rows.map((old) => ({ old, next: null })));
    await fks.finish();
  }
  return { count: rows.length, rows: out };
}
