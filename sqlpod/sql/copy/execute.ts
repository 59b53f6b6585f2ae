// Running COPY: FROM STDIN decodes the client's data as it arrives and
// inserts it in batches through the INSERT executor (same constraint and
// unique checks, same transaction), so only one batch of rows is held at a
// time; TO STDOUT formats the rows of the plan batch by batch as they are
// produced.
//
// Limit: all rows of one COPY FROM are written in one KV transaction, which
// buffers its writes until commit, and a commit is bounded by the kvpod
// (maxBatchMutations, 10,000 mutations by default: one per row plus one per
// secondary index entry; maxRequestKeys for the read set; maxBatchBytes).
// Beyond those the commit fails with 54000; split the data into several
// COPY statements, each in its own transaction.
import { SQLSTATE, SqlError } from '../errors.js';
import { codecFor, run, sequenceUses, type ExecContext } from '../exec/run.js';
import { insert, validate, type Check } from '../exec/write.js';
import { compile, type Row } from '../plan/expr.js';
import type { CopyIn, CopyOut } from '../session-api.js';
import { formatText, parseText, type Datum, type SqlType, type TypeContext } from '../types/index.js';
import { CopyDecoder, formatRecord, type CopyRecord } from './format.js';
import type { CopyFromPlan, CopyPlan, CopyToPlan } from './plan.js';

/** Rows decoded before they are checked and written (one unique-key read per batch). */
const BATCH_ROWS = 1000;
/** PostgreSQL's limit on data quoted in an error context (MAX_COPY_DATA_DISPLAY). */
const MAX_DISPLAY = 100;

/** The COPY as the wire server drives it; each runs once. */
export function copyExecution(plan: CopyPlan, ctx: ExecContext): CopyIn | CopyOut {
  let started = false;
  const once = (): void => {
    if (started) throw new SqlError(SQLSTATE.OBJECT_NOT_IN_PREREQUISITE_STATE, 'COPY has already run');
    started = true;
  };
  if (plan.direction === 'from') {
    return { kind: 'copyIn', format: 0, columnCount: plan.targets.length, run: async (data) => (once(), `COPY ${await copyFrom(plan, ctx, data)}`) };
  }
  return { kind: 'copyOut', format: 0, columnCount: plan.columns.length, run: async (send) => (once(), `COPY ${await copyTo(plan, ctx, send)}`) };
}

/** Data quoted in a CONTEXT line, cut as PostgreSQL cuts it. */
export function displayed(s: string): string {
  const chars = Array.from(s);
  return chars.length > MAX_DISPLAY ? `${chars.slice(0, MAX_DISPLAY).join('')}...` : s;
}

/** The same error with a CONTEXT line (an inner one, e.g. the decoder's "line N", is replaced). */
function withWhere(err: unknown, where: string): unknown {
  if (!(err instanceof SqlError)) return err;
  return new SqlError(err.code, err.message, { ...err.fields, where });
}

/** HEADER MATCH: the header must name the target columns, in order. */
export function checkHeader(record: CopyRecord, names: readonly string[]): void {
  if (record.fields.length !== names.length) {
    throw new SqlError(SQLSTATE.BAD_COPY_FILE_FORMAT, `wrong number of fields in header line: got ${record.fields.length}, expected ${names.length}`);
  }
  record.fields.forEach((got, i) => {
    const expected = names[i] ?? '';
    if (got === null) throw new SqlError(SQLSTATE.BAD_COPY_FILE_FORMAT, `column name mismatch in header line field ${i + 1}: got null value, expected "${expected}"`);
    if (got !== expected) throw new SqlError(SQLSTATE.BAD_COPY_FILE_FORMAT, `column name mismatch in header line field ${i + 1}: got "${got}", expected "${expected}"`);
  });
}

/**
 * One input record as the input columns' values: each field through its
 * column type's input function; errors name the line and column as
 * PostgreSQL's CONTEXT does.
 */
export function decodeRecord(record: CopyRecord, tableName: string, columns: readonly { readonly name: string; readonly type: SqlType }[], typeCtx: TypeContext): Datum[] {
  const context = `COPY ${tableName}, line ${record.line}`;
  const { fields } = record;
  if (fields.length > columns.length) {
    throw new SqlError(SQLSTATE.BAD_COPY_FILE_FORMAT, 'extra data after last expected column', { where: `${context}: "${displayed(record.text)}"` });
  }
  if (fields.length < columns.length) {
    const missing = columns[fields.length]?.name ?? '?';
    throw new SqlError(SQLSTATE.BAD_COPY_FILE_FORMAT, `missing data for column "${missing}"`, { where: `${context}: "${displayed(record.text)}"` });
  }
  return columns.map((c, i) => {
    const field = fields[i] ?? null;
    if (field === null) return null;
    try {
      return parseText(c.type, field, typeCtx);
    } catch (err) {
      throw withWhere(err, `${context}, column ${c.name}: "${displayed(field)}"`);
    }
  });
}

async function copyFrom(plan: CopyFromPlan, ctx: ExecContext, data: AsyncIterable<Buffer>): Promise<number> {
  const { table, targets, types, options } = plan;
  const codec = codecFor(ctx.ks, ctx.types, table);
  const typeCtx: TypeContext = { timeZone: ctx.eval.timeZone, now: ctx.eval.transactionTimestamp };
  const inputs = targets.map((slot) => ({ name: table.columns[slot]?.name ?? '?', type: types[slot] as SqlType }));
  const defaults = plan.defaults.map((d) => ({ slot: d.slot, value: compile(d.expr) }));
  const sequenceNeeds = sequenceUses(plan.defaults.map((d) => d.expr));
  const checks: Check[] = plan.insert.checks.map((c) => {
    const f = compile(c.predicate);
    return { name: c.name, test: (row: Row) => f(row, ctx.eval) };
  });
  const decoder = new CopyDecoder(options);
  let headerPending = options.header !== false;
  let pending: { row: Row; record: CopyRecord }[] = [];

  const decode = (work: () => CopyRecord[]): CopyRecord[] => {
    try {
      return work();
    } catch (err) {
      const inner = err instanceof SqlError ? err.fields.where : undefined;
      throw withWhere(err, inner ? `COPY ${table.name}, ${inner}` : `COPY ${table.name}`);
    }
  };

  const accept = (record: CopyRecord): void => {
    if (headerPending) {
      headerPending = false;
      if (options.header === 'match') {
        try {
          checkHeader(record, inputs.map((c) => c.name));
        } catch (err) {
          throw withWhere(err, `COPY ${table.name}, line ${record.line}: "${displayed(record.text)}"`);
        }
      }
      return;
    }
    const values = decodeRecord(record, table.name, inputs, typeCtx);
    const row: Row = new Array<Datum>(table.columns.length).fill(null);
    targets.forEach((slot, i) => (row[slot] = values[i] ?? null));
    pending.push({ row, record });
  };

  // Defaults are evaluated per batch: nextval needs its values reserved (I/O) first.
  const complete = async (): Promise<Row[]> => {
    const batch = pending;
    pending = [];
    for (const [id, n] of sequenceNeeds) await ctx.sequences.reserve(id, n * batch.length);
    for (const { row, record } of batch) {
      for (const d of defaults) row[d.slot] = d.value(row, ctx.eval);
      try {
        validate(table, codec, checks, row);
      } catch (err) {
        throw withWhere(err, `COPY ${table.name}, line ${record.line}: "${displayed(record.text)}"`);
      }
    }
    return batch.map((p) => p.row);
  };

  async function* batches(): AsyncGenerator<Row[], void, undefined> {
    // Past the end marker (\.) the data is still read to CopyDone, and ignored.
    for await (const chunk of data) {
      ctx.checkCancel();
      for (const record of decode(() => decoder.push(chunk))) {
        accept(record);
        if (pending.length >= BATCH_ROWS) yield await complete();
      }
    }
    for (const record of decode(() => decoder.end())) accept(record);
    if (pending.length > 0) yield await complete();
  }

  try {
    return (await insert(plan.insert, ctx, batches())).count;
  } catch (err) {
    // Unique violations are found a batch at a time, after the line is gone: name the table at least.
    if (err instanceof SqlError && err.fields.where === undefined && err.code === SQLSTATE.UNIQUE_VIOLATION) throw withWhere(err, `COPY ${table.name}`);
    throw err;
  }
}

async function copyTo(plan: CopyToPlan, ctx: ExecContext, send: (lines: readonly Buffer[]) => Promise<void>): Promise<number> {
  const { options, columns } = plan;
  const typeCtx: TypeContext = { timeZone: ctx.eval.timeZone };
  let count = 0;
  if (options.header) await send([Buffer.from(formatRecord(columns.map((c) => c.name), options), 'utf8')]);
  for await (const batch of run(plan.root, ctx)) {
    ctx.checkCancel();
    const lines = batch.map((row) => {
      const texts = columns.map((c, i) => {
        const v = row[i] ?? null;
        return v === null ? null : formatText(c.type, v, typeCtx);
      });
      return Buffer.from(formatRecord(texts, options), 'utf8');
    });
    count += lines.length;
    await send(lines);
  }
  return count;
}
