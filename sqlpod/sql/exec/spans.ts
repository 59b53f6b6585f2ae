// Turning an index access path into concrete keys and spans once the
// statement's parameters are known.
import { prefixEnd, type Span } from '../../../shared/keys/index.js';
import type { Row } from '../plan/expr.js';
import type { ColumnConstraint, IndexAccess } from '../plan/plan.js';
import type { RowCodec } from '../rows/codec.js';
import { T, type Datum, type SqlType } from '../types/index.js';
import { compile, type EvalContext, type Expr } from '../plan/expr.js';

/** At most this many spans from IN lists before the scan falls back to the constrained prefix. */
const MAX_SPANS = 10_000;

const STRINGS = new Set([T.text.oid, T.varchar.oid, T.name.oid]);

const INT_RANGE: Record<number, readonly [bigint, bigint]> = {
  [T.int2.oid]: [-32768n, 32767n],
  [T.int4.oid]: [-2147483648n, 2147483647n],
  [T.int8.oid]: [-(2n ** 63n), 2n ** 63n - 1n],
};

/** A constraint value as a datum of the column's type; undefined when no value of that type can equal it. */
export function toColumnDatum(value: Datum, from: SqlType, column: SqlType): Datum | undefined {
  if (value === null || from.oid === column.oid) return value;
  // text, varchar and name share one representation and one order.
  if (typeof value === 'string' && STRINGS.has(from.oid) && STRINGS.has(column.oid)) return value;
  const range = INT_RANGE[column.oid];
  if (!range || (typeof value !== 'number' && typeof value !== 'bigint')) return undefined;
  const big = BigInt(value);
  if (big < range[0] || big > range[1]) return undefined;
  return column.oid === T.int8.oid ? big : Number(big);
}

/**
 * One end of a span as index column values (EXPLAIN shows these): a start
 * that is `inclusive` begins at the keys these values begin, else after them;
 * an end that is `inclusive` stops after those keys, else before them.
 */
export interface KeyBound {
  readonly values: readonly Datum[];
  readonly inclusive: boolean;
}

export type AccessKeys =
  | { readonly kind: 'points'; readonly keys: Buffer[]; readonly values: readonly (readonly Datum[])[] }
  | { readonly kind: 'spans'; readonly spans: Span[]; readonly bounds: readonly { readonly start: KeyBound; readonly end: KeyBound }[] };

/** The keys (point access) or spans an access path reads, for this execution's parameters. */
export function accessKeys(codec: RowCodec, access: IndexAccess, ctx: EvalContext): AccessKeys {
  const columnTypes = access.index.columnIds.map((id) => codec.types[codec.slot(id)] ?? T.text);
  const evaluate = (e: Expr): Datum => compile(e)([] as Row, ctx);
  const prefixes: Datum[][] = [[]];
  let range: Extract<ColumnConstraint, { kind: 'range' }> | null = null;
  let combos: Datum[][] = prefixes;
  for (const [i, c] of access.constraints.entries()) {
    const type = columnTypes[i] ?? T.text;
    if (c.kind === 'range') {
      range = c;
      break;
    }
    const values: Datum[] = [];
    for (const e of c.values) {
      const v = toColumnDatum(evaluate(e), e.type, type);
      // NULL or out of the column's range: equal to nothing.
      if (v !== undefined && v !== null) values.push(v);
    }
    if (combos.length * values.length > MAX_SPANS) break;
    combos = combos.flatMap((p) => values.map((v) => [...p, v]));
  }
  if (access.point && range === null && combos.every((p) => p.length === access.index.columnIds.length)) {
    const points = distinctBy(
      combos.map((values) => ({ key: codec.indexKeyPrefix(access.index, values), values })),
      (p) => p.key.toString('latin1'),
    );
    return { kind: 'points', keys: points.map((p) => p.key), values: points.map((p) => p.values) };
  }
  const spans = combos.map((p) => {
    const prefix = codec.indexKeyPrefix(access.index, p);
    const whole: KeyBound = { values: p, inclusive: true };
    if (!range) return { span: { startKey: prefix, endKey: prefixEnd(prefix) }, start: whole, end: whole };
    const i = p.length;
    const type = columnTypes[i] ?? T.text;
    const descending = access.index.descending[i] ?? false;
    let startKey = prefix;
    let endKey = prefixEnd(prefix);
    let start = whole;
    let end = whole;
    const bound = (b: { value: Expr; inclusive: boolean } | null, lower: boolean): void => {
      if (!b) return;
      const v = toColumnDatum(evaluate(b.value), b.value.type, type);
      if (v === undefined || v === null) return;
      const at = codec.indexKeyPrefix(access.index, [...p, v]);
      const edge: KeyBound = { values: [...p, v], inclusive: b.inclusive };
      // Descending columns store larger values first, so a lower bound limits the end.
      const limitsStart = lower !== descending;
      if (limitsStart) {
        startKey = b.inclusive ? at : prefixEnd(at);
        start = edge;
      } else {
        endKey = b.inclusive ? prefixEnd(at) : at;
        end = edge;
      }
    };
    bound(range.lower, true);
    bound(range.upper, false);
    return { span: { startKey, endKey }, start, end };
  });
  // An IN list may name a value twice; each span must be read once.
  const distinct = distinctBy(
    spans.filter((s) => Buffer.compare(s.span.startKey, s.span.endKey) < 0),
    (s) => `${s.span.startKey.toString('latin1')}\u0000${s.span.endKey.toString('latin1')}`,
  );
  return { kind: 'spans', spans: distinct.map((s) => s.span), bounds: distinct.map(({ start, end }) => ({ start, end })) };
}

function distinctBy<T>(items: readonly T[], id: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = id(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
