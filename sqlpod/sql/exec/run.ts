// Runs a plan as a pipeline of batches: leaves read KV a page at a time,
// the operators above work a batch at a time with synchronous expressions.
import type { TypeSource } from '../catalog/catalog.js';
import type { Keyspace } from '../catalog/keyspace.js';
import type { TableDescriptor } from '../catalog/descriptors.js';
import { PRIMARY_INDEX_ID } from '../catalog/descriptors.js';
import { SQLSTATE, SqlError } from '../errors.js';
import { compile, exprChildren, type EvalContext, type Expr, type Row, type SubqueryResults } from '../plan/expr.js';
import type { PlanNode, SortKey, Subquery, WorkTable } from '../plan/plan.js';
import { RowCodec } from '../rows/codec.js';
import { SCAN_PAGE, type SqlTxn } from '../txn.js';
import { KeyWriter, compare, encodeKey, type Datum, type SqlType } from '../types/index.js';
import { accumulatorFactory, type GroupAccumulator } from './aggregate.js';
import { hashJoin } from './join.js';
import { lookupJoin } from './lookup-join.js';
import { recursiveUnion } from './recursive.js';
import { windowExprs } from '../plan/window.js';
import { computeWindows } from './window.js';
import { lateralJoin } from './lateral.js';
import { functionScan } from './srf.js';
import { accessKeys } from './spans.js';
import { keyBytes, rowBytes, type MemoryAccount, type MemoryBudget } from './memory.js';
import { lockRows } from './lock-rows.js';
import type { BusyPolicy } from '../row-locks/index.js';


/** Sequence values a statement draws; reserved (with I/O) before the expressions that use them run. */
export interface SequenceReservations {
  reserve(sequenceId: number, count: number): Promise<void>;
}

export interface ExecContext {
  readonly txn: SqlTxn;
  readonly sequences: SequenceReservations;
  readonly subqueries: Subqueries;
  /** Decoded rows of spans already read by this statement (read-only statements only: the snapshot cannot change). */
  readonly scanCache: Map<string, Row[]> | null;
  readonly ks: Keyspace;
  /** The statement's catalog, for the types of its tables' columns (enums live there). */
  readonly types: TypeSource;
  readonly eval: EvalContext;
  /** Throws 57014 when the statement was cancelled. */
  readonly checkCancel: () => void;
  /**
   * Locks rows (primary keys) the statement is about to change or FOR UPDATE
   * reads, waiting for other transactions of the pod (SqlTxn.lockRows).
   */
  readonly lockRows: (rows: readonly Buffer[], onBusy?: BusyPolicy) => Promise<boolean>;
  /** The current rows of the recursive WITH queries being run around this point of the plan. */
  readonly workTables?: ReadonlyMap<WorkTable, readonly Row[]>;
  /** What the statement's operators hold (53200 beyond the limits); closed when the statement ends. */
  readonly memory: MemoryBudget;
  /** EXPLAIN ANALYZE (../explain/analyze.ts): every node runs through this, which counts what it does; absent otherwise. */
  readonly instrument?: (node: PlanNode, ctx: ExecContext, execute: (node: PlanNode, ctx: ExecContext) => Batches) => Batches;
}

export type Batches = AsyncGenerator<Row[], void, undefined>;

// By catalog, then table: a table descriptor outlives a change to an enum its columns use.
const codecs = new WeakMap<TypeSource, WeakMap<TableDescriptor, RowCodec>>();

export function codecFor(ks: Keyspace, types: TypeSource, table: TableDescriptor): RowCodec {
  let byTable = codecs.get(types);
  if (!byTable) {
    byTable = new WeakMap();
    codecs.set(types, byTable);
  }
  let codec = byTable.get(table);
  if (!codec) {
    codec = new RowCodec(ks, types, table);
    byTable.set(table, codec);
  }
  return codec;
}

export function run(node: PlanNode, ctx: ExecContext): Batches {
  return ctx.instrument ? ctx.instrument(node, ctx, execute) : execute(node, ctx);
}

async function* execute(node: PlanNode, ctx: ExecContext): Batches {
  switch (node.kind) {
    case 'values': {
      for (const [id, n] of sequenceUses(node.rows.flat())) await ctx.sequences.reserve(id, n);
      const rows = node.rows.map((exprs) => {
        const compiled = exprs.map(compile);
        return compiled.map((c) => c([], ctx.eval));
      });
      yield rows;
      return;
    }
    case 'scan':
      yield* scan(node.table, node.access, ctx);
      return;
    case 'filter': {
      const predicate = compile(node.predicate);
      const correlated = ctx.subqueries.correlatedIn([node.predicate]);
      for await (const batch of run(node.input, ctx)) {
        if (correlated.length) await ctx.subqueries.prepareFor(correlated, batch, ctx);
        const kept = batch.filter((row) => predicate(row, ctx.eval) === true);
        if (kept.length) yield kept;
      }
      return;
    }
    case 'place': {
      const { offset, width } = node;
      for await (const batch of run(node.input, ctx)) {
        yield batch.map((row) => {
          const wide: Row = new Array<Datum>(width).fill(null);
          for (let i = 0; i < row.length; i++) wide[offset + i] = row[i] ?? null;
          return wide;
        });
      }
      return;
    }
    case 'compute': {
      const values = node.values.map((v) => ({ slot: v.slot, value: compile(v.expr) }));
      for await (const batch of run(node.input, ctx)) {
        yield batch.map((row) => {
          const out = row.slice();
          for (const v of values) out[v.slot] = v.value(row, ctx.eval);
          return out;
        });
      }
      return;
    }
    case 'join': {
      const memory = ctx.memory.account('Hash Join');
      try {
        yield* hashJoin(node, { eval: ctx.eval, input: (n) => run(n, ctx), pause: () => yieldNow(ctx), hashKey: (values, types) => rowKey(values, types, values.length),
          beforeConcurrentReads: async () => {
            if (!ctx.txn.catalogChecked) await ctx.txn.getMany([]);
          },
          memory,
        });
      } finally {
        memory.release();
      }
      return;
    }
    case 'lookupJoin': {
      const memory = ctx.memory.account('Lookup Join');
      try {
        yield* lookupJoin(node, { eval: ctx.eval, txn: ctx.txn, codec: codecFor(ctx.ks, ctx.types, node.table), input: run(node.input, ctx), pause: () => yieldNow(ctx), memory });
      } finally {
        memory.release();
      }
      return;
    }
    case 'project': {
      const exprs = node.exprs.map(compile);
      const uses = sequenceUses(node.exprs);
      const correlated = ctx.subqueries.correlatedIn(node.exprs);
      for await (const batch of run(node.input, ctx)) {
        if (correlated.length) await ctx.subqueries.prepareFor(correlated, batch, ctx);
        for (const [id, n] of uses) await ctx.sequences.reserve(id, n * batch.length);
        yield batch.map((row) => exprs.map((e) => e(row, ctx.eval)));
      }
      return;
    }
    case 'aggregate':
      yield* aggregate(node, ctx);
      return;
    case 'sort': {
      const memory = ctx.memory.account('Sort');
      try {
        const rows = await hold(run(node.input, ctx), memory, ctx);
        rows.sort(comparator(node.keys));
        yield* chunks(rows);
      } finally {
        memory.release();
      }
      return;
    }
    case 'window': {
      const memory = ctx.memory.account('WindowAgg');
      try {
        const rows = await hold(run(node.input, ctx), memory, ctx);
        const correlated = ctx.subqueries.correlatedIn(windowExprs(node.windows, node.functions));
        if (correlated.length) await ctx.subqueries.prepareFor(correlated, rows, ctx);
        yield* chunks(computeWindows(node, rows, ctx.eval));
      } finally {
        memory.release();
      }
      return;
    }
    case 'distinct': {
      const seen = new Set<string>();
      const types = node.types;
      const memory = ctx.memory.account('Distinct');
      try {
        for await (const batch of run(node.input, ctx)) {
          let bytes = 0;
          const kept = batch.filter((row) => {
            const id = rowKey(row, types, node.width);
            if (seen.has(id)) return false;
            seen.add(id);
            bytes += keyBytes(id);
            return true;
          });
          memory.grow(bytes);
          if (kept.length) yield kept;
        }
      } finally {
        memory.release();
      }
      return;
    }
    case 'limit': {
      const limit = node.limit ? count(compile(node.limit)([], ctx.eval), 'LIMIT') : null;
      let skip = node.offset ? count(compile(node.offset)([], ctx.eval), 'OFFSET') : 0;
      let left = limit ?? Infinity;
      if (left === 0) return;
      for await (const batch of run(node.input, ctx)) {
        let rows = batch;
        if (skip > 0) {
          const dropped = Math.min(skip, rows.length);
          rows = rows.slice(dropped);
          skip -= dropped;
        }
        if (rows.length > left) rows = rows.slice(0, left);
        left -= rows.length;
        if (rows.length) yield rows;
        if (left <= 0) return;
      }
      return;
    }
    case 'lockRows': {
      const limit = node.limit ? count(compile(node.limit)([], ctx.eval), 'LIMIT') : null;
      const offset = node.offset ? count(compile(node.offset)([], ctx.eval), 'OFFSET') : 0;
      yield* lockRows(node, run(node.input, ctx), ctx, limit === null ? Infinity : limit + offset);
      return;
    }
    case 'trim':
      for await (const batch of run(node.input, ctx)) yield batch.map((row) => row.slice(0, node.width));
      return;
    case 'union':
      for (const input of node.inputs) yield* run(input, ctx);
      return;
    case 'recursive': {
      const memory = ctx.memory.account('Recursive Union');
      try {
        yield* recursiveUnion(node, {
          base: () => run(node.base, ctx),
          step: (rows) => run(node.step, { ...ctx, workTables: new Map(ctx.workTables ?? []).set(node.table, rows) }),
          rowKey: (row) => rowKey(row, node.types, node.types.length),
          pause: () => yieldNow(ctx),
          memory,
        });
      } finally {
        memory.release();
      }
      return;
    }
    case 'workTable': {
      const rows = ctx.workTables?.get(node.table);
      if (!rows) throw new SqlError(SQLSTATE.INTERNAL_ERROR, `work table of "${node.table.name}" read outside its recursion`);
      yield* chunks([...rows]);
      return;
    }
    case 'functionScan': {
      // Correlated subqueries in the arguments are prepared for one empty row, which the arguments are then evaluated over.
      const row: Row = [];
      const args = node.functions.flatMap((f) => (f.kind === 'values' ? f.values : f.kind === 'elements' ? [f.array] : [f.start, f.stop, ...(f.step ? [f.step] : [])]));
      const correlated = ctx.subqueries.correlatedIn(args);
      if (correlated.length) await ctx.subqueries.prepareFor(correlated, [row], ctx);
      for (const [id, n] of sequenceUses(args)) await ctx.sequences.reserve(id, n);
      yield* functionScan(node.functions, node.ordinality, row, ctx);
      return;
    }
    case 'lateral':
      yield* lateralJoin(node, { eval: ctx.eval, run: (n, evalCtx) => run(n, { ...ctx, eval: evalCtx }), pause: () => yieldNow(ctx) });
      return;
    case 'materialize': {
      let rows = ctx.subqueries.materialized.get(node);
      if (!rows) {
        // Held until the statement ends (its budget is closed then): any later read may need them.
        rows = hold(run(node.input, ctx), ctx.memory.account('CTE Scan'), ctx);
        ctx.subqueries.materialized.set(node, rows);
      }
      yield* chunks(await rows);
      return;
    }
    case 'setop': {
      const memory = ctx.memory.account('HashSetOp');
      try {
        const right = new Map<string, number>();
        for await (const batch of run(node.right, ctx)) {
          let bytes = 0;
          for (const row of batch) {
            const id = rowKey(row, node.types, node.types.length);
            const n = right.get(id);
            if (n === undefined) bytes += keyBytes(id);
            right.set(id, (n ?? 0) + 1);
          }
          memory.grow(bytes);
        }
        const emitted = new Set<string>();
        for await (const batch of run(node.left, ctx)) {
          const out: Row[] = [];
          let bytes = 0;
          for (const row of batch) {
            const id = rowKey(row, node.types, node.types.length);
            const n = right.get(id) ?? 0;
            if (node.all) {
              if ((node.op === 'intersect') === n > 0) out.push(row);
              if (n > 0) right.set(id, n - 1);
            } else if ((node.op === 'intersect') === n > 0 && !emitted.has(id)) {
              emitted.add(id);
              bytes += keyBytes(id);
              out.push(row);
            }
          }
          memory.grow(bytes);
          if (out.length) yield out;
        }
      } finally {
        memory.release();
      }
      return;
    }
  }
}

/** The part of a statement's memory limit one cached span may take. */
const SCAN_CACHE_SHARE = 0.25;

/** Reads a table's rows through the access path, a page at a time. */
async function* scan(table: TableDescriptor, access: Parameters<typeof accessKeys>[1], ctx: ExecContext): Batches {
  const codec = codecFor(ctx.ks, ctx.types, table);
  const keys = accessKeys(codec, access, ctx.eval);
  const primary = access.index.id === PRIMARY_INDEX_ID;
  if (keys.kind === 'points') {
    if (keys.keys.length === 0) return;
    const values = await ctx.txn.getMany(keys.keys);
    if (primary) {
      const rows: Row[] = [];
      values.forEach((v, i) => v && rows.push(codec.decodeRow(keys.keys[i] as Buffer, v)));
      if (rows.length) yield rows;
      return;
    }
    const entries = values.flatMap((v, i) => (v ? [{ key: keys.keys[i] as Buffer, value: v }] : []));
    const rows = await lookupRows(codec, access.index, entries, ctx);
    if (rows.length) yield rows;
    return;
  }
  for (const span of keys.spans) {
    const cacheKey = `${span.startKey.toString('hex')}/${span.endKey.toString('hex')}`;
    const cached = ctx.scanCache?.get(cacheKey);
    if (cached) {
      yield* chunks(cached);
      continue;
    }
    // The cache keeps a span only while it fits its share of the budget: a scan too big for it streams.
    let all: Row[] | null = ctx.scanCache ? [] : null;
    let charged = 0;
    let complete = false;
    try {
      for await (const page of ctx.txn.pages(span)) {
        ctx.checkCancel();
        const rows = primary ? page.map((kv) => codec.decodeRow(kv.key, kv.value)) : await lookupRows(codec, access.index, page, ctx);
        if (all) {
          let bytes = 0;
          for (const row of rows) bytes += rowBytes(row);
          if (charged + bytes <= ctx.memory.limit * SCAN_CACHE_SHARE && ctx.memory.tryGrow(bytes)) {
            charged += bytes;
            all.push(...rows);
          } else {
            ctx.memory.shrink(charged);
            charged = 0;
            all = null;
          }
        }
        if (rows.length) yield rows;
      }
      complete = true;
    } finally {
      if (all && complete) ctx.scanCache?.set(cacheKey, all);
      else ctx.memory.shrink(charged);
    }
  }
}

/** Index entries → the rows they point at, in index order. */
async function lookupRows(codec: RowCodec, index: Parameters<RowCodec['primaryKeyOf']>[0], entries: readonly { key: Buffer; value: Buffer }[], ctx: ExecContext): Promise<Row[]> {
  if (entries.length === 0) return [];
  const pks = entries.map((e) => codec.primaryKeyOf(index, e));
  const values = await ctx.txn.getMany(pks);
  const rows: Row[] = [];
  values.forEach((v, i) => v && rows.push(codec.decodeRow(pks[i] as Buffer, v)));
  return rows;
}

/**
 * Hash aggregation. With grouping sets every row joins one group per set,
 * keyed by the set and its keys; a set's rows have NULL for the keys it
 * leaves out, and GROUPING(…) reports which those are. A set without keys
 * has its group (one row) even when no row comes, as in PostgreSQL.
 */
async function* aggregate(node: Extract<PlanNode, { kind: 'aggregate' }>, ctx: ExecContext): Batches {
  const keys = node.keys.map(compile);
  const keyTypes = node.keys.map((k) => k.type);
  const sets = node.sets ?? [node.keys.map((_, i) => i)];
  const factories = node.aggregates.map(accumulatorFactory);
  const masks = sets.map((set) => node.aggregates.map((a) => a.groupingKeys?.reduce((m, k) => (m << 1) | (set.includes(k) ? 0 : 1), 0) ?? null));
  type Group = { key: Datum[]; set: number; states: GroupAccumulator[] };
  const groups = new Map<string, Group>();
  const newGroup = (key: Datum[], set: number): Group => ({ key, set, states: factories.map((f) => f()) });
  const setKeys = sets.map((set) => ({ set, types: set.map((k) => keyTypes[k] as SqlType), all: set.length === keys.length && set.every((k, i) => k === i) }));
  sets.forEach((set, s) => set.length === 0 && groups.set(`${s}:`, newGroup(keys.map(() => null), s)));
  const memory = ctx.memory.account(sets.length > 1 ? 'MixedAggregate' : 'HashAggregate');
  // A group's accumulators, roughly: their state objects and closures.
  const statesBytes = factories.length * 96;
  try {
    for await (const batch of run(node.input, ctx)) {
      ctx.checkCancel();
      let bytes = 0;
      for (const row of batch) {
        const key = keys.map((k) => k(row, ctx.eval));
        for (const [s, { set, types, all }] of setKeys.entries()) {
          const values = all ? key : set.map((k) => key[k] ?? null);
          const id = `${s}:${set.length === 0 ? '' : rowKey(values, types, values.length)}`;
          let group = groups.get(id);
          if (!group) {
            const full = all ? key : key.map((v, i) => (set.includes(i) ? v : null));
            group = newGroup(full, s);
            groups.set(id, group);
            bytes += keyBytes(id) + rowBytes(full) + statesBytes;
          }
          for (const st of group.states) bytes += st.add(row, ctx.eval);
        }
      }
      memory.grow(bytes);
    }
    // Set by set, in the order the sets are planned (Array.prototype.sort is stable).
    const ordered = sets.length > 1 ? [...groups.values()].sort((a, b) => a.set - b.set) : [...groups.values()];
    yield* chunks(ordered.map((g) => [...g.key, ...g.states.map((st, j) => masks[g.set]?.[j] ?? st.result(ctx.eval))]));
  } finally {
    memory.release();
  }
}

/**
 * The statement's subqueries: uncorrelated ones run once before it,
 * correlated ones once per row of their enclosing query, a batch at a time,
 * so that expressions can stay synchronous.
 */
export class Subqueries implements SubqueryResults {
  private readonly once: Row[][] = [];
  private readonly perRow = new WeakMap<Row, Map<number, Row[]>>();
  /** Rows of 'materialize' nodes (WITH queries read more than once), computed on first read. */
  readonly materialized = new Map<PlanNode, Promise<Row[]>>();

  constructor(private readonly plans: readonly Subquery[]) {}

  rows(id: number, row: Row): Row[] {
    const plan = this.plans[id];
    const rows = plan?.correlated ? this.perRow.get(row)?.get(id) : this.once[id];
    if (!rows) throw new SqlError(SQLSTATE.INTERNAL_ERROR, `subquery ${id} was not run before its use`);
    return rows;
  }

  /** Runs the uncorrelated subqueries (inner ones first: their ids are lower). */
  async prepare(ctx: ExecContext): Promise<void> {
    for (const [id, plan] of this.plans.entries()) {
      // Held until the statement ends, when its budget is closed.
      if (!plan.correlated) this.once[id] = await hold(run(plan.root, ctx), ctx.memory.account('SubPlan'), ctx);
    }
  }

  /** The correlated subqueries these expressions use. */
  correlatedIn(exprs: readonly Expr[]): number[] {
    const ids = new Set<number>();
    const visit = (e: Expr): void => {
      if ((e.kind === 'subqueryValue' || e.kind === 'subqueryExists' || e.kind === 'subqueryIn') && this.plans[e.id]?.correlated) ids.add(e.id);
      for (const child of exprChildren(e)) visit(child);
    };
    exprs.forEach(visit);
    return [...ids];
  }

  /** Runs correlated subqueries for each row of a batch, with that row as their outer row. */
  async prepareFor(ids: readonly number[], batch: readonly Row[], ctx: ExecContext): Promise<void> {
    for (const row of batch) {
      await yieldNow(ctx);
      const results = new Map<number, Row[]>();
      const inner: ExecContext = { ...ctx, eval: { ...ctx.eval, outer: [row, ...ctx.eval.outer] } };
      for (const id of ids) {
        const plan = this.plans[id];
        if (plan) results.set(id, await collect(run(plan.root, inner)));
      }
      this.perRow.set(row, results);
    }
  }
}

let lastYield = performance.now();

/**
 * Correlated subqueries over cached scans resolve as microtasks only, which
 * would starve the event loop (no cancel request, no other session) for the
 * whole statement; give it a turn every few milliseconds.
 */
async function yieldNow(ctx: ExecContext): Promise<void> {
  if (performance.now() - lastYield > 5) {
    await new Promise((resolve) => setImmediate(resolve));
    lastYield = performance.now();
  }
  ctx.checkCancel();
}

/** All rows of an input, charged to an operator's account as they arrive. */
async function hold(batches: Batches, memory: MemoryAccount, ctx: ExecContext): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const batch of batches) {
    ctx.checkCancel();
    memory.addRows(batch);
    for (const row of batch) rows.push(row);
  }
  return rows;
}

async function collect(batches: Batches): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const batch of batches) rows.push(...batch);
  return rows;
}

/** How many values each sequence gives per evaluation of these expressions (nextval calls). */
export function sequenceUses(exprs: readonly Expr[]): Map<number, number> {
  const uses = new Map<number, number>();
  const visit = (e: Expr): void => {
    if (e.kind === 'call' && e.sequence !== undefined) uses.set(e.sequence, (uses.get(e.sequence) ?? 0) + 1);
    for (const child of exprChildren(e)) visit(child);
  };
  exprs.forEach(visit);
  return uses;
}

/** A string that is equal for rows PostgreSQL considers not distinct (NULLs equal, 1.0 = 1.00). */
export function rowKey(row: readonly Datum[], types: readonly SqlType[], width: number): string {
  const w = new KeyWriter();
  for (let i = 0; i < width; i++) encodeKey(types[i] as SqlType, row[i] ?? null, false, w);
  return w.finish().toString('latin1');
}

function comparator(keys: readonly SortKey[]): (a: Row, b: Row) => number {
  return (a, b) => {
    for (const k of keys) {
      const x = a[k.slot] ?? null;
      const y = b[k.slot] ?? null;
      let c: number;
      if (x === null || y === null) {
        if (x === y) continue;
        c = (x === null) === k.nullsFirst ? -1 : 1;
        if (c !== 0) return c;
        continue;
      }
      c = compare(k.type, x, y);
      if (c !== 0) return k.descending ? -c : c;
    }
    return 0;
  };
}

function count(v: Datum, clause: 'LIMIT' | 'OFFSET'): number {
  if (v === null) return clause === 'LIMIT' ? Infinity : 0;
  const n = Number(v);
  if (n < 0) {
    throw new SqlError(clause === 'LIMIT' ? SQLSTATE.INVALID_ROW_COUNT_IN_LIMIT_CLAUSE : SQLSTATE.INVALID_ROW_COUNT_IN_RESULT_OFFSET_CLAUSE, `${clause} must not be negative`);
  }
  return n;
}

function* chunks(rows: Row[]): Generator<Row[]> {
  for (let i = 0; i < rows.length; i += SCAN_PAGE) yield rows.slice(i, i + SCAN_PAGE);
}
