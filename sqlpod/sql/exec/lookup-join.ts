// Lookup joins: per batch of input rows, the table rows their keys name are
// read in one go (point reads of a unique key, else one span per distinct key
// prefix, read concurrently), then paired with the input rows in input order.
// Only one batch and what it found are held at a time.
import { prefixEnd } from '../../../shared/keys/index.js';
import { PRIMARY_INDEX_ID } from '../catalog/descriptors.js';
import { compile, type EvalContext, type Row } from '../plan/expr.js';
import type { PlanNode } from '../plan/plan.js';
import type { RowCodec } from '../rows/codec.js';
import { SCAN_PAGE, type SqlTxn } from '../txn.js';
import type { Datum, SqlType } from '../types/index.js';
import { rowBytes, type MemoryAccount } from './memory.js';
import { toColumnDatum } from './spans.js';

type LookupNode = Extract<PlanNode, { kind: 'lookupJoin' }>;

/** Span reads of one batch in flight at once. */
const CONCURRENT_SPANS = 32;

/** What a lookup join needs of the executor (./run.ts), passed in to keep the modules acyclic. */
export interface LookupRuntime {
  readonly eval: EvalContext;
  readonly txn: Pick<SqlTxn, 'getMany' | 'pages' | 'catalogChecked'>;
  readonly codec: RowCodec;
  readonly input: AsyncGenerator<Row[], void, undefined>;
  /** Throws when the statement was cancelled; lets other work run now and then. */
  readonly pause: () => Promise<void>;
  /** Where the batch being joined is charged (the caller releases it). */
  readonly memory: Pick<MemoryAccount, 'grow' | 'shrink'>;
}

export async function* lookupJoin(node: LookupNode, rt: LookupRuntime): AsyncGenerator<Row[], void, undefined> {
  const { index, offset } = node;
  const codec = rt.codec;
  const columnTypes = index.columnIds.slice(0, node.keys.length).map((id) => codec.types[codec.slot(id)] as SqlType);
  const keys = node.keys.map(compile);
  const keyTypes = node.keys.map((k) => k.type);
  const filter = node.filter ? compile(node.filter) : null;
  const residual = node.residual ? compile(node.residual) : null;
  const width = node.table.columns.length;
  const point = node.keys.length === index.columnIds.length && (index.id === PRIMARY_INDEX_ID || index.unique);
  const primary = index.id === PRIMARY_INDEX_ID;

  /** The index key prefix a row looks up; null when a value is NULL or no column value can equal it. */
  const keyOf = (row: Row): Buffer | null => {
    const values: Datum[] = [];
    for (const [i, k] of keys.entries()) {
      const v = toColumnDatum(k(row, rt.eval), keyTypes[i] as SqlType, columnTypes[i] as SqlType);
      if (v === null || v === undefined) return null;
      values.push(v);
    }
    return codec.indexKeyPrefix(index, values);
  };

  /** Table rows per distinct key, in index order. */
  const fetch = async (prefixes: readonly Buffer[]): Promise<Row[][]> => {
    if (!rt.txn.catalogChecked) await rt.txn.getMany([]);
    if (point) {
      const values = await rt.txn.getMany(prefixes);
      if (primary) return values.map((v, i) => (v ? [codec.decodeRow(prefixes[i] as Buffer, v)] : []));
      const entries = values.map((v, i) => (v ? [{ key: prefixes[i] as Buffer, value: v }] : []));
      return rowsOf(entries);
    }
    const found: { key: Buffer; value: Buffer }[][] = prefixes.map(() => []);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < prefixes.length) {
        const i = next++;
        const prefix = prefixes[i] as Buffer;
        await rt.pause();
        for await (const page of rt.txn.pages({ startKey: prefix, endKey: prefixEnd(prefix) })) found[i]?.push(...page);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENT_SPANS, prefixes.length) }, worker));
    if (primary) return found.map((kvs) => kvs.map((kv) => codec.decodeRow(kv.key, kv.value)));
    return rowsOf(found);
  };

  /** Secondary index entries → their rows, with one read of the primary index for the whole batch. */
  const rowsOf = async (entries: readonly (readonly { key: Buffer; value: Buffer }[])[]): Promise<Row[][]> => {
    const pks = entries.map((list) => list.map((e) => codec.primaryKeyOf(index, e)));
    const values = await rt.txn.getMany(pks.flat());
    let at = 0;
    return pks.map((list) =>
      list.flatMap((pk) => {
        const v = values[at++];
        return v ? [codec.decodeRow(pk, v)] : [];
      }),
    );
  };

  let out: Row[] = [];
  for await (const batch of rt.input) {
    await rt.pause();
    const rowKeys = batch.map(keyOf);
    const distinct = new Map<string, number>();
    const prefixes: Buffer[] = [];
    for (const key of rowKeys) {
      if (key === null) continue;
      const id = key.toString('latin1');
      if (!distinct.has(id)) {
        distinct.set(id, prefixes.length);
        prefixes.push(key);
      }
    }
    const found = prefixes.length ? await fetch(prefixes) : [];
    let held = 0;
    for (const rows of found) for (const r of rows) held += rowBytes(r);
    rt.memory.grow(held);
    try {
      for (const [i, row] of batch.entries()) {
        const key = rowKeys[i];
        const matches = key ? (found[distinct.get(key.toString('latin1')) ?? -1] ?? []) : [];
        let any = false;
        for (const match of matches) {
          const candidate = row.slice();
          for (let c = 0; c < width; c++) candidate[offset + c] = match[c] ?? null;
          if (filter && filter(candidate, rt.eval) !== true) continue;
          if (residual && residual(candidate, rt.eval) !== true) continue;
          any = true;
          out.push(candidate);
        }
        // The input row is NULL in the table's slots already.
        if (!any && node.type === 'left') out.push(row);
        if (out.length >= SCAN_PAGE) {
          yield out;
          out = [];
        }
      }
    } finally {
      rt.memory.shrink(held);
    }
  }
  if (out.length) yield out;
}
