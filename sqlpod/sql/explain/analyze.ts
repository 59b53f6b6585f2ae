// EXPLAIN ANALYZE's instrumentation: each plan node's batches pass through a
// wrapper that counts rows, loops and time, and each scan reads through a
// view of the transaction that counts its KV round trips and rows. Only
// EXPLAIN ANALYZE installs it (ExecContext.instrument); other statements run
// the executor as it is.
import type { Batches, ExecContext } from '../exec/run.js';
import type { PlanNode } from '../plan/plan.js';
import type { SqlTxn } from '../txn.js';

export interface NodeStats {
  /** Times the node was started (a subquery or a LATERAL item runs once per outer row). */
  loops: number;
  rows: number;
  /** Milliseconds until the first batch (summed over loops). */
  startupMs: number;
  /** Milliseconds spent producing this node's batches, its inputs' included (summed over loops). */
  totalMs: number;
  /** Scans and lookup joins only: what they read from KV. */
  kv: KvStats | null;
}

export interface KvStats {
  roundTrips: number;
  rows: number;
}

export class Instrumentation {
  readonly stats = new Map<PlanNode, NodeStats>();
  /** The whole statement's KV reads (a write's own reads included). */
  readonly total: KvStats = { roundTrips: 0, rows: 0 };

  /** The statement's context, instrumented. */
  context(ctx: ExecContext): ExecContext {
    return { ...ctx, txn: countingTxn(ctx.txn, this.total), instrument: this.instrument };
  }

  private readonly instrument = (node: PlanNode, ctx: ExecContext, execute: (node: PlanNode, ctx: ExecContext) => Batches): Batches => {
    let stats = this.stats.get(node);
    if (!stats) {
      stats = { loops: 0, rows: 0, startupMs: 0, totalMs: 0, kv: node.kind === 'scan' || node.kind === 'lookupJoin' ? { roundTrips: 0, rows: 0 } : null };
      this.stats.set(node, stats);
    }
    if (!stats.kv) return measured(execute(node, ctx), stats);
    // A scan below a lookup join counts its reads, not the join's: it counts over what the join's count wraps.
    const base = this.nodeTxns.get(ctx.txn) ?? ctx.txn;
    const txn = countingTxn(base, stats.kv);
    this.nodeTxns.set(txn, base);
    return measured(execute(node, { ...ctx, txn }), stats);
  };

  /** A node's counting view of the transaction → the transaction it wraps. */
  private readonly nodeTxns = new WeakMap<SqlTxn, SqlTxn>();
}

async function* measured(batches: Batches, stats: NodeStats): Batches {
  stats.loops++;
  let first = true;
  try {
    for (;;) {
      const started = performance.now();
      const next = await batches.next();
      const took = performance.now() - started;
      stats.totalMs += took;
      if (first) stats.startupMs += took;
      first = false;
      if (next.done) return;
      stats.rows += next.value.length;
      yield next.value;
    }
  } finally {
    // A consumer that stops early (LIMIT) ends the node's own generator too.
    await batches.return(undefined);
  }
}

/**
 * The transaction as one scan sees it: its reads are counted as SqlTxn's
 * hooks count them for the pod's metrics (a round trip per KV call, the
 * values found). Everything else, and all state, is the transaction's own.
 */
function countingTxn(txn: SqlTxn, kv: KvStats): SqlTxn {
  const getMany: SqlTxn['getMany'] = async (keys) => {
    if (keys.length > 0 || !txn.catalogChecked) kv.roundTrips++;
    const values = await txn.getMany(keys);
    kv.rows += values.filter((v) => v !== null).length;
    return values;
  };
  const scan: SqlTxn['scan'] = async (span, limit, reverse) => {
    kv.roundTrips += txn.catalogChecked ? 1 : 2;
    const kvs = await txn.scan(span, limit, reverse);
    kv.rows += kvs.length;
    return kvs;
  };
  return new Proxy(txn, {
    // Methods other than these two run with the proxy as `this`, so pages() reads through the counting scan().
    get: (target, prop, receiver): unknown => (prop === 'getMany' ? getMany : prop === 'scan' ? scan : Reflect.get(target, prop, receiver)),
  });
}
