// Joins: the build side is read into a hash table keyed by its join keys
// (one bucket when there are none: a nested loop), the probe side streams
// past it a batch at a time. Rows are as wide as the query's row, so a pair
// is the left row with the right row's slots copied in, and a row kept
// without a match is already NULL in the other side's slots.
import type { Compiled, EvalContext, Row } from '../plan/expr.js';
import { compile } from '../plan/expr.js';
import type { PlanNode } from '../plan/plan.js';
import { SCAN_PAGE } from '../txn.js';
import type { Datum, SqlType } from '../types/index.js';
import { keyBytes, rowBytes, type MemoryAccount } from './memory.js';
import { toColumnDatum } from './spans.js';

type JoinNode = Extract<PlanNode, { kind: 'join' }>;

const PAIRS_PER_PAUSE = 50_000;

/** What a join needs of the executor (./run.ts), passed in to keep the modules acyclic. */
export interface JoinRuntime {
  readonly eval: EvalContext;
  readonly input: (node: PlanNode) => AsyncGenerator<Row[], void, undefined>;
  /** Lets other work run now and then in long loops; throws when the statement was cancelled. */
  readonly pause: () => Promise<void>;
  readonly hashKey: (values: readonly Datum[], types: readonly SqlType[]) => string;
  /** Settles the transaction's snapshot, so that reads may run concurrently. */
  readonly beforeConcurrentReads: () => Promise<void>;
  /** Where the build side is charged (the caller releases it). */
  readonly memory: Pick<MemoryAccount, 'grow'>;
}

/** Which sides keep their unmatched rows. */
export function preserved(node: Pick<JoinNode, 'type' | 'build'>): { build: boolean; probe: boolean } {
  const left = node.type === 'left' || node.type === 'full';
  const right = node.type === 'right' || node.type === 'full';
  return node.build === 'left' ? { build: left, probe: right } : { build: right, probe: left };
}

export async function* hashJoin(node: JoinNode, rt: JoinRuntime): AsyncGenerator<Row[], void, undefined> {
  const buildLeft = node.build === 'left';
  const keep = preserved(node);
  const buildKeys = keyReader(buildLeft ? node.leftKeys : node.rightKeys, node.keyTypes);
  const probeKeys = keyReader(buildLeft ? node.rightKeys : node.leftKeys, node.keyTypes);
  const residual = node.residual ? compile(node.residual) : null;
  const rightSlots = node.rightSlots;
  const pair = (left: Row, right: Row): Row => {
    const out = left.slice();
    for (const s of rightSlots) out[s] = right[s] ?? null;
    return out;
  };

  // The probe side starts reading while the build side is read: in a join of
  // many tables every scan is then in flight at once, not one after another.
  await rt.beforeConcurrentReads();
  const probe = rt.input(buildLeft ? node.right : node.left)[Symbol.asyncIterator]();
  const firstProbe = probe.next();
  firstProbe.catch(() => undefined);
  const built: Row[] = [];
  const buckets = new Map<string, number[]>();
  try {
    for await (const batch of rt.input(buildLeft ? node.left : node.right)) {
      let bytes = 0;
      for (const row of batch) {
        const id = bucketOf(buildKeys(row, rt.eval), node.keyTypes, rt);
        // A NULL key equals nothing; the row is still kept if its side is preserved.
        if (id !== null) {
          const bucket = buckets.get(id);
          if (bucket) bucket.push(built.length);
          else {
            buckets.set(id, [built.length]);
            bytes += keyBytes(id);
          }
        }
        built.push(row);
        bytes += rowBytes(row) + 8;
      }
      rt.memory.grow(bytes);
    }
  } catch (err) {
    await firstProbe.then(() => probe.return(), () => undefined);
    throw err;
  }
  const matched = keep.build ? new Uint8Array(built.length) : null;
  if (buckets.size === 0 && !keep.probe) {
    await firstProbe;
    await probe.return();
    if (matched) yield* unmatched(built, matched);
    return;
  }

  let out: Row[] = [];
  // Pairs looked at since the last pause: a nested loop whose condition rejects
  // everything yields nothing for a long time, and must still be cancellable.
  let tried = 0;
  for await (const batch of resumed(firstProbe, probe)) {
    for (const row of batch) {
      const id = bucketOf(probeKeys(row, rt.eval), node.keyTypes, rt);
      let any = false;
      for (const i of id === null ? [] : (buckets.get(id) ?? [])) {
        if (++tried >= PAIRS_PER_PAUSE) {
          tried = 0;
          await rt.pause();
        }
        const other = built[i] as Row;
        const candidate = buildLeft ? pair(other, row) : pair(row, other);
        if (residual && residual(candidate, rt.eval) !== true) continue;
        any = true;
        if (matched) matched[i] = 1;
        out.push(candidate);
        if (out.length >= SCAN_PAGE) {
          yield out;
          out = [];
          await rt.pause();
        }
      }
      if (!any && keep.probe) out.push(row);
    }
    if (out.length >= SCAN_PAGE) {
      yield out;
      out = [];
    }
    await rt.pause();
  }
  if (out.length) yield out;
  if (matched) yield* unmatched(built, matched);
}

/** The rest of an iteration whose first step was already taken; closing it closes the iterator. */
async function* resumed<T>(first: Promise<IteratorResult<T, void>>, rest: AsyncIterator<T, void, undefined>): AsyncGenerator<T, void, undefined> {
  let step = await first;
  try {
    while (!step.done) {
      yield step.value;
      step = await rest.next();
    }
  } finally {
    if (!step.done) await rest.return?.();
  }
}

function* unmatched(rows: readonly Row[], matched: Uint8Array): Generator<Row[]> {
  const left = rows.filter((_, i) => matched[i] === 0);
  for (let i = 0; i < left.length; i += SCAN_PAGE) yield left.slice(i, i + SCAN_PAGE);
}

/** Key values of a row, as the types they are hashed as; null when one is NULL (or can equal nothing). */
function keyReader(keys: JoinNode['leftKeys'], types: readonly SqlType[]): (row: Row, ctx: EvalContext) => Datum[] | null {
  const compiled: Compiled[] = keys.map(compile);
  const from = keys.map((k) => k.type);
  return (row, ctx) => {
    const values: Datum[] = [];
    for (const [i, c] of compiled.entries()) {
      const v = toColumnDatum(c(row, ctx), from[i] as SqlType, types[i] as SqlType);
      if (v === null || v === undefined) return null;
      values.push(v);
    }
    return values;
  };
}

function bucketOf(values: readonly Datum[] | null, types: readonly SqlType[], rt: JoinRuntime): string | null {
  if (values === null) return null;
  return values.length === 0 ? '' : rt.hashKey(values, types);
}
