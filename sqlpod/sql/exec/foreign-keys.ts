// Enforcing FOREIGN KEY constraints in the write path, with PostgreSQL's
// semantics (MATCH SIMPLE: a NULL in any referencing column exempts the row;
// MATCH FULL: only all of them NULL does, some NULL is an error).
//
// Referencing side: the rows a statement inserts or changes look up their
// referenced key with one batched point read (getMany) per batch of rows,
// through the referenced table's primary key or unique index. That read is
// a KV read in the statement's transaction, so it joins the transaction's
// read set: a concurrent transaction that deletes or changes the referenced
// row and commits first makes this one fail at commit with 40001 (and one
// that commits later finds this row when it checks its own delete). The
// serializable KV transaction is the lock PostgreSQL takes with
// SELECT … FOR KEY SHARE; nothing else is needed.
//
// Referenced side: the keys a statement removes (DELETE, or UPDATE of key
// columns) are looked up in each referencing table, through an index whose
// leading columns are the referencing columns when there is one, else by a
// scan (PostgreSQL does not create that index either). RESTRICT fails at
// once; NO ACTION is checked when the statement's own actions are done (the
// key may have come back meanwhile); CASCADE, SET NULL and SET DEFAULT change
// the referencing rows, which may in turn be referenced (recursively, to a
// bounded depth). Reads see the transaction's own writes, so the checks run
// after the statement's writes, as PostgreSQL's AFTER triggers do.
import { referencedIndex, type TypeSource } from '../catalog/catalog.js';
import type { ForeignKeyDescriptor, IndexDescriptor, TableDescriptor } from '../catalog/descriptors.js';
import type { Keyspace } from '../catalog/keyspace.js';
import { SQLSTATE, SqlError } from '../errors.js';
import { compile, type Row } from '../plan/expr.js';
import type { ForeignKeyPlan } from '../plan/foreign-keys.js';
import type { RowCodec } from '../rows/codec.js';
import type { SqlTxn } from '../txn.js';
import { KeyWriter, castDatum, compare, encodeKey, formatText, type Datum, type SqlType } from '../types/index.js';
import { prefixEnd } from '../../../shared/keys/index.js';
import { codecFor, type ExecContext } from './run.js';

/** Cascades deeper than this are taken for a cycle that does not end. */
const MAX_CASCADE_DEPTH = 1000;
/** Referenced keys looked up through an index concurrently. */
const LOOKUP_CONCURRENCY = 16;

/** A foreign key with both tables and how their columns line up. */
export interface ResolvedForeignKey {
  readonly fk: ForeignKeyDescriptor;
  readonly child: TableDescriptor;
  readonly parent: TableDescriptor;
  readonly childSlots: readonly number[];
  readonly parentSlots: readonly number[];
  /** The referenced table's primary key or unique index over the referenced columns. */
  readonly parentIndex: IndexDescriptor;
}

export function resolveForeignKey(ks: Keyspace, types: TypeSource, fk: ForeignKeyDescriptor, child: TableDescriptor, parent: TableDescriptor): ResolvedForeignKey {
  const parentIndex = referencedIndex(parent, fk.refColumnIds);
  if (!parentIndex) throw new SqlError(SQLSTATE.INTERNAL_ERROR, `foreign key ${fk.name} has lost its referenced index`);
  const cc = codecFor(ks, types, child);
  const pc = codecFor(ks, types, parent);
  return { fk, child, parent, childSlots: fk.columnIds.map((id) => cc.slot(id)), parentSlots: fk.refColumnIds.map((id) => pc.slot(id)), parentIndex };
}

const NO_MATCH = Symbol('no match');

/**
 * The referencing values of a child row in the referenced columns' types;
 * null when one is NULL (MATCH SIMPLE), NO_MATCH when one has no equal of the
 * referenced type (a bigint beyond integer's range references no integer key).
 */
function childTuple(r: ResolvedForeignKey, cc: RowCodec, pc: RowCodec, row: Row): Datum[] | null | typeof NO_MATCH {
  const out: Datum[] = [];
  for (const [i, slot] of r.childSlots.entries()) {
    const v = row[slot] ?? null;
    if (v === null) return null;
    const from = cc.types[slot] as SqlType;
    const to = pc.types[r.parentSlots[i] as number] as SqlType;
    if (from.oid === to.oid) {
      out.push(v);
      continue;
    }
    // Out of range, or changed by the cast (a float into a narrower one): no key of the referenced type equals it.
    const cast = castOrNone(v, from, to);
    const back = cast === NO_MATCH ? NO_MATCH : castOrNone(cast, to, from);
    if (cast === NO_MATCH || back === NO_MATCH || compare(from, back, v) !== 0) return NO_MATCH;
    out.push(cast);
  }
  return out;
}

function castOrNone(v: Datum, from: SqlType, to: SqlType): Datum | typeof NO_MATCH {
  try {
    return castDatum(v, from, to, 'explicit');
  } catch {
    return NO_MATCH;
  }
}

/** The referenced tuple of a child row found referencing one (so neither NULL nor out of the referenced type). */
function referencedBy(r: ResolvedForeignKey, cc: RowCodec, pc: RowCodec, row: Row): Datum[] {
  const t = childTuple(r, cc, pc, row);
  if (t === null || t === NO_MATCH) throw new SqlError(SQLSTATE.INTERNAL_ERROR, `row of ${r.child.name} matched no key of ${r.fk.name}`);
  return t;
}

function parentTuple(r: ResolvedForeignKey, row: Row): Datum[] | null {
  const out = r.parentSlots.map((s) => row[s] ?? null);
  return out.includes(null) ? null : out;
}

/** A tuple of referenced values as a map key. */
function tupleId(r: ResolvedForeignKey, pc: RowCodec, tuple: readonly Datum[]): string {
  const w = new KeyWriter();
  tuple.forEach((v, i) => encodeKey(pc.types[r.parentSlots[i] as number] as SqlType, v, false, w));
  return w.finish().toString('latin1');
}

/** The key of the referenced table's index entry for a tuple (a primary key, or a unique entry without suffix). */
function referencedKey(r: ResolvedForeignKey, pc: RowCodec, tuple: readonly Datum[]): Buffer {
  const row: Row = new Array<Datum>(r.parent.columns.length).fill(null);
  r.parentSlots.forEach((s, i) => (row[s] = tuple[i] ?? null));
  return r.parentIndex.id === r.parent.primaryKey.id ? pc.primaryKey(row) : pc.indexEntry(r.parentIndex, row).key;
}

function show(types: readonly SqlType[], slots: readonly number[], values: readonly Datum[]): string {
  return values.map((v, i) => (v === null ? 'null' : formatText(types[slots[i] as number] as SqlType, v))).join(', ');
}

function names(table: TableDescriptor, slots: readonly number[]): string {
  return slots.map((s) => table.columns[s]?.name ?? '?').join(', ');
}

/** 23503 for a referencing row whose key is not there. */
function missingParent(r: ResolvedForeignKey, cc: RowCodec, row: Row): SqlError {
  return new SqlError(SQLSTATE.FOREIGN_KEY_VIOLATION, `insert or update on table "${r.child.name}" violates foreign key constraint "${r.fk.name}"`, {
    detail: `Key (${names(r.child, r.childSlots)})=(${show(cc.types, r.childSlots, r.childSlots.map((s) => row[s] ?? null))}) is not present in table "${r.parent.name}".`,
  });
}

/** 23503 for a referenced key that is still referenced. */
function stillReferenced(r: ResolvedForeignKey, pc: RowCodec, tuple: readonly Datum[]): SqlError {
  return new SqlError(SQLSTATE.FOREIGN_KEY_VIOLATION, `update or delete on table "${r.parent.name}" violates foreign key constraint "${r.fk.name}" on table "${r.child.name}"`, {
    detail: `Key (${names(r.parent, r.parentSlots)})=(${show(pc.types, r.parentSlots, tuple)}) is still referenced from table "${r.child.name}".`,
  });
}

/** Fails with 23503 unless every row's referenced key exists: one batched read for all of them. */
export async function checkReferenced(txn: SqlTxn, ks: Keyspace, types: TypeSource, r: ResolvedForeignKey, rows: readonly Row[]): Promise<void> {
  const cc = codecFor(ks, types, r.child);
  const pc = codecFor(ks, types, r.parent);
  const wanted = new Map<string, { key: Buffer; row: Row }>();
  for (const row of rows) {
    if (r.fk.match === 'f') {
      const nulls = r.childSlots.filter((s) => (row[s] ?? null) === null).length;
      if (nulls > 0 && nulls < r.childSlots.length) {
        throw new SqlError(SQLSTATE.FOREIGN_KEY_VIOLATION, `insert or update on table "${r.child.name}" violates foreign key constraint "${r.fk.name}"`, {
          detail: 'MATCH FULL does not allow mixing of null and nonnull key values.',
        });
      }
    }
    const tuple = childTuple(r, cc, pc, row);
    if (!tuple) continue;
    if (tuple === NO_MATCH) throw missingParent(r, cc, row);
    const key = referencedKey(r, pc, tuple);
    const id = key.toString('latin1');
    if (!wanted.has(id)) wanted.set(id, { key, row });
  }
  if (wanted.size === 0) return;
  const entries = [...wanted.values()];
  const found = await txn.getMany(entries.map((e) => e.key));
  const missing = found.findIndex((v) => v === null);
  if (missing >= 0) throw missingParent(r, cc, (entries[missing] as { row: Row }).row);
}

/** Which of these referenced tuples no longer exist in the referenced table. */
async function gone(txn: SqlTxn, ks: Keyspace, types: TypeSource, r: ResolvedForeignKey, tuples: readonly (readonly Datum[])[]): Promise<(readonly Datum[])[]> {
  const pc = codecFor(ks, types, r.parent);
  const found = await txn.getMany(tuples.map((t) => referencedKey(r, pc, t)));
  return tuples.filter((_, i) => found[i] === null);
}

/** The referencing rows whose key is one of `tuples` (given in the referenced columns' types). */
export async function referencingRows(txn: SqlTxn, ks: Keyspace, types: TypeSource, r: ResolvedForeignKey, tuples: readonly (readonly Datum[])[]): Promise<Row[]> {
  if (tuples.length === 0) return [];
  const cc = codecFor(ks, types, r.child);
  const pc = codecFor(ks, types, r.parent);
  const wanted = new Set(tuples.map((t) => tupleId(r, pc, t)));
  const matches = (row: Row) => {
    const t = childTuple(r, cc, pc, row);
    return t !== null && t !== NO_MATCH && wanted.has(tupleId(r, pc, t));
  };
  const index = lookupIndex(r, cc, pc);
  if (!index) {
    const rows: Row[] = [];
    for await (const page of txn.pages(ks.indexSpan(r.child.id, r.child.primaryKey.id))) {
      for (const kv of page) {
        const row = cc.decodeRow(kv.key, kv.value);
        if (matches(row)) rows.push(row);
      }
    }
    return rows;
  }
  // Index order of the referencing columns; the types are the same on both sides here, so the values need no cast.
  const order = index.columnIds.slice(0, r.childSlots.length).map((id) => r.childSlots.indexOf(cc.slot(id)));
  const entries = [];
  for (let i = 0; i < tuples.length; i += LOOKUP_CONCURRENCY) {
    const chunk = tuples.slice(i, i + LOOKUP_CONCURRENCY).map((t) => {
      const prefix = cc.indexKeyPrefix(index, order.map((j) => t[j] ?? null));
      return txn.scan({ startKey: prefix, endKey: prefixEnd(prefix) });
    });
    for (const kvs of await Promise.all(chunk)) entries.push(...kvs);
  }
  if (index.id === r.child.primaryKey.id) return entries.map((kv) => cc.decodeRow(kv.key, kv.value));
  const keys = entries.map((kv) => cc.primaryKeyOf(index, kv));
  const values = keys.length ? await txn.getMany(keys) : [];
  return values.flatMap((v, i) => (v ? [cc.decodeRow(keys[i] as Buffer, v)] : []));
}

/** An index of the referencing table led by the referencing columns, usable when both sides' types are the same. */
function lookupIndex(r: ResolvedForeignKey, cc: RowCodec, pc: RowCodec): IndexDescriptor | undefined {
  const sameTypes = r.childSlots.every((s, i) => (cc.types[s] as SqlType).oid === (pc.types[r.parentSlots[i] as number] as SqlType).oid);
  if (!sameTypes) return undefined;
  const ids = new Set(r.fk.columnIds);
  return [r.child.primaryKey, ...r.child.indexes].find((i) => i.columnIds.length >= ids.size && i.columnIds.slice(0, ids.size).every((id) => ids.has(id)));
}

export interface RowChange {
  readonly old: Row;
  /** null: deleted. */
  readonly next: Row | null;
}

/** Row writes the enforcer needs from the write path (kept there with the index maintenance). */
export interface RowWriter {
  deleteRow(table: TableDescriptor, row: Row): void;
  replaceRow(table: TableDescriptor, old: Row, next: Row): Promise<void>;
  validate(table: TableDescriptor, checks: readonly { readonly name: string; readonly test: (row: Row) => Datum }[], row: Row): void;
}

/** One statement's foreign key work. */
export class ForeignKeyEnforcer {
  /** NO ACTION checks left for the end of the statement: per foreign key, the referenced tuples that went. */
  private readonly deferred = new Map<string, { r: ResolvedForeignKey; tuples: Map<string, readonly Datum[]> }>();
  private readonly compiled = new Map<number, { checks: { name: string; test: (row: Row) => Datum }[]; defaults: ((row: Row) => Datum)[] | null }>();

  constructor(
    private readonly plan: ForeignKeyPlan,
    private readonly ctx: ExecContext,
    private readonly writer: RowWriter,
  ) {}

  /** Whether the table has foreign keys on either side (else the write path skips all of this). */
  static involves(plan: ForeignKeyPlan, table: TableDescriptor): boolean {
    return (table.foreignKeys?.length ?? 0) > 0 || plan.catalog.referencing(table.id).length > 0;
  }

  private resolve(fk: ForeignKeyDescriptor, child: TableDescriptor): ResolvedForeignKey {
    const parent = this.plan.catalog.table(fk.refTableId);
    if (!parent) throw new SqlError(SQLSTATE.INTERNAL_ERROR, `foreign key ${fk.name} references a missing table`);
    return resolveForeignKey(this.ctx.ks, this.ctx.types, fk, child, parent);
  }

  /**
   * Referencing side: rows written to `table`. With `olds` (an UPDATE), only
   * rows whose referencing columns changed are checked, as in PostgreSQL.
   */
  async checkWritten(table: TableDescriptor, rows: readonly Row[], olds?: readonly Row[]): Promise<void> {
    for (const fk of table.foreignKeys ?? []) {
      const r = this.resolve(fk, table);
      const codec = codecFor(this.ctx.ks, this.ctx.types, table);
      const changed = olds ? rows.filter((row, i) => !sameValues(codec, r.childSlots, row, olds[i] as Row)) : rows;
      if (changed.length) await checkReferenced(this.ctx.txn, this.ctx.ks, this.ctx.types, r, changed);
    }
  }

  /** Referenced side: rows of `table` deleted or changed by the statement (or by a cascade `depth` levels down). */
  async changed(table: TableDescriptor, changes: readonly RowChange[], depth = 0): Promise<void> {
    if (depth > MAX_CASCADE_DEPTH) throw new SqlError(SQLSTATE.STATEMENT_TOO_COMPLEX, `foreign key actions cascade deeper than ${MAX_CASCADE_DEPTH} levels`);
    for (const { table: referencing, fk } of this.plan.catalog.referencing(table.id)) {
      // The referencing table as this catalog has it (it may be `table` itself).
      const r = this.resolve(fk, referencing);
      const pc = codecFor(this.ctx.ks, this.ctx.types, table);
      // Referenced tuple id → [old tuple, new tuple or null when deleted].
      const moved = new Map<string, { from: readonly Datum[]; to: readonly Datum[] | null }>();
      let deleting = false;
      for (const c of changes) {
        const from = parentTuple(r, c.old);
        if (!from) continue;
        if (c.next && sameValues(pc, r.parentSlots, c.old, c.next)) continue;
        const to = c.next ? r.parentSlots.map((s) => (c.next as Row)[s] ?? null) : null;
        if (!to) deleting = true;
        moved.set(tupleId(r, pc, from), { from, to });
      }
      if (moved.size === 0) continue;
      // One statement either deletes or updates; the action follows which.
      const action = deleting ? fk.onDelete : fk.onUpdate;
      const tuples = [...moved.values()].map((m) => m.from);
      if (action === 'a') {
        const pending = this.deferred.get(`${referencing.id}/${fk.name}`) ?? { r, tuples: new Map() };
        for (const [id, m] of moved) pending.tuples.set(id, m.from);
        this.deferred.set(`${referencing.id}/${fk.name}`, pending);
        continue;
      }
      const rows = await referencingRows(this.ctx.txn, this.ctx.ks, this.ctx.types, r, tuples);
      if (rows.length === 0) continue;
      const cc = codecFor(this.ctx.ks, this.ctx.types, referencing);
      if (action === 'r') throw stillReferenced(r, pc, referencedBy(r, cc, pc, rows[0] as Row));
      this.ctx.checkCancel();
      if (action === 'c' && deleting) {
        for (const row of rows) this.writer.deleteRow(referencing, row);
        await this.changed(referencing, rows.map((old) => ({ old, next: null })), depth + 1);
        continue;
      }
      const target = this.target(referencing);
      const next = rows.map((old) => {
        const row = [...old];
        if (action === 'c') {
          const to = moved.get(tupleId(r, pc, referencedBy(r, cc, pc, old)))?.to ?? [];
          r.childSlots.forEach((s, i) => {
            const from = pc.types[r.parentSlots[i] as number] as SqlType;
            const type = cc.types[s] as SqlType;
            const v = to[i] ?? null;
            row[s] = v === null || from.oid === type.oid ? v : castDatum(v, from, type, 'assignment');
          });
        } else {
          r.childSlots.forEach((s) => (row[s] = action === 'n' ? null : (target.defaults?.[s]?.(old) ?? null)));
        }
        this.writer.validate(referencing, target.checks, row);
        return row;
      });
      for (const [i, old] of rows.entries()) await this.writer.replaceRow(referencing, old, next[i] as Row);
      if (action === 'd') {
        // A row whose default is the very key that went still references it (PostgreSQL looks again for this case).
        const kept = next.find((row) => {
          const t = childTuple(r, cc, pc, row);
          return t !== null && t !== NO_MATCH && moved.has(tupleId(r, pc, t));
        });
        if (kept) throw stillReferenced(r, pc, referencedBy(r, cc, pc, kept));
        await this.checkWritten(referencing, next, rows);
      }
      await this.changed(referencing, rows.map((old, i) => ({ old, next: next[i] as Row })), depth + 1);
    }
  }

  /** The NO ACTION checks, once the statement and its actions are done. */
  async finish(): Promise<void> {
    for (const { r, tuples } of this.deferred.values()) {
      const missing = await gone(this.ctx.txn, this.ctx.ks, this.ctx.types, r, [...tuples.values()]);
      const rows = await referencingRows(this.ctx.txn, this.ctx.ks, this.ctx.types, r, missing);
      const first = rows[0];
      if (first) {
        const cc = codecFor(this.ctx.ks, this.ctx.types, r.child);
        const pc = codecFor(this.ctx.ks, this.ctx.types, r.parent);
        throw stillReferenced(r, pc, referencedBy(r, cc, pc, first));
      }
    }
    this.deferred.clear();
  }

  private target(table: TableDescriptor): { checks: { name: string; test: (row: Row) => Datum }[]; defaults: ((row: Row) => Datum)[] | null } {
    let t = this.compiled.get(table.id);
    if (!t) {
      const planned = this.plan.actionTargets.get(table.id);
      if (!planned) throw new SqlError(SQLSTATE.INTERNAL_ERROR, `no plan for foreign key actions on ${table.name}`);
      const ev = this.ctx.eval;
      t = {
        checks: planned.checks.map((c) => {
          const f = compile(c.predicate);
          return { name: c.name, test: (row: Row) => f(row, ev) };
        }),
        defaults: planned.defaults?.map((e) => {
          const f = compile(e);
          return (row: Row) => f(row, ev);
        }) ?? null,
      };
      this.compiled.set(table.id, t);
    }
    return t;
  }
}

function sameValues(codec: RowCodec, slots: readonly number[], a: Row, b: Row): boolean {
  return slots.every((s) => {
    const x = a[s] ?? null;
    const y = b[s] ?? null;
    if (x === null || y === null) return x === y;
    const type = codec.types[s] as SqlType;
    const wx = new KeyWriter();
    const wy = new KeyWriter();
    encodeKey(type, x, false, wx);
    encodeKey(type, y, false, wy);
    return wx.finish().equals(wy.finish());
  });
}
