// Memory accounting of statements. Rows passing through a pipeline are
// garbage a batch later; what an operator holds (a sort's input, a hash
// join's build side, groups, seen rows) is charged to its statement's
// budget, which draws from the pod's pool: one query cannot exhaust the
// process, nor can many queries at once (CockroachDB's --max-sql-memory).
// Over either limit the statement fails with 53200 and its session goes on.
// Sizes are estimates of V8's heap use, cheap to compute and growing with
// the real size; they are not exact.
import { SQLSTATE, SqlError } from '../errors.js';
import type { Row } from '../plan/expr.js';
import { Interval } from '../types/interval.js';
import { Jsonb, isJsonArray, isJsonObject, type JsonValue } from '../types/jsonb.js';
import { Numeric } from '../types/numeric.js';
import type { Datum } from '../types/index.js';

export const MiB = 1024 * 1024;

/** What the pod's queries may hold together; shared by every session. */
export class MemoryPool {
  private used = 0;

  constructor(readonly limit: number) {}

  get reserved(): number {
    return this.used;
  }

  tryReserve(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}

export interface MemoryLimits {
  /** Most one statement may hold, in bytes. */
  readonly perQuery: number;
  /** The pod's pool; null for no pod-wide bound. */
  readonly pool: MemoryPool | null;
}

/** One statement's account. Closing it gives everything still held back to the pool. */
export class MemoryBudget {
  private used = 0;

  constructor(
    private readonly limits: MemoryLimits,
    private readonly onClose?: (budget: MemoryBudget) => void,
  ) {}

  get reserved(): number {
    return this.used;
  }

  /** The per-statement limit, in bytes. */
  get limit(): number {
    return this.limits.perQuery;
  }

  /** Reserves bytes for an operator, or fails the statement with 53200 naming it. */
  grow(bytes: number, operator: string): void {
    if (this.used + bytes > this.limits.perQuery) {
      throw new SqlError(SQLSTATE.OUT_OF_MEMORY, `query memory limit of ${formatBytes(this.limits.perQuery)} exceeded by ${operator} (set by --max-query-memory)`, {
        hint: 'Add a LIMIT or a narrower WHERE, or read the result without ORDER BY, DISTINCT or GROUP BY over so many rows.',
      });
    }
    const pool = this.limits.pool;
    if (pool && !pool.tryReserve(bytes)) {
      throw new SqlError(SQLSTATE.OUT_OF_MEMORY, `pod memory limit of ${formatBytes(pool.limit)} exceeded by ${operator} (set by --max-sql-memory)`, {
        detail: `Queries of this pod hold ${formatBytes(pool.reserved)}.`,
        hint: 'Retry when other queries have finished.',
      });
    }
    this.used += bytes;
  }

  /** Reserves bytes if both limits allow it; for what can do without (a cache). */
  tryGrow(bytes: number): boolean {
    if (this.used + bytes > this.limits.perQuery) return false;
    if (this.limits.pool && !this.limits.pool.tryReserve(bytes)) return false;
    this.used += bytes;
    return true;
  }

  shrink(bytes: number): void {
    const n = Math.min(bytes, this.used);
    this.used -= n;
    this.limits.pool?.release(n);
  }

  /** An account for one operator's holdings, released together. */
  account(operator: string): MemoryAccount {
    return new MemoryAccount(this, operator);
  }

  close(): void {
    this.shrink(this.used);
    this.onClose?.(this);
  }
}

export class MemoryAccount {
  private held = 0;

  constructor(
    private readonly budget: MemoryBudget,
    readonly operator: string,
  ) {}

  grow(bytes: number): void {
    this.budget.grow(bytes, this.operator);
    this.held += bytes;
  }

  addRows(rows: readonly Row[]): void {
    let bytes = 0;
    for (const row of rows) bytes += rowBytes(row);
    this.grow(bytes);
  }

  /** Gives back part of what the operator holds. */
  shrink(bytes: number): void {
    const n = Math.min(bytes, this.held);
    this.budget.shrink(n);
    this.held -= n;
  }

  release(): void {
    this.budget.shrink(this.held);
    this.held = 0;
  }
}

const ROW_HEADER = 32;
const SLOT = 8;
/** A Map or Set entry's share of its table, beyond the key. */
export const ENTRY_BYTES = 48;

export function rowBytes(row: readonly Datum[]): number {
  let bytes = ROW_HEADER + SLOT * row.length;
  for (const d of row) bytes += datumBytes(d);
  return bytes;
}

/** A string held as a key (V8 keeps one byte per character for Latin-1 text). */
export function keyBytes(key: string): number {
  return 16 + key.length + ENTRY_BYTES;
}

/** Heap bytes beyond the row slot holding the value. */
export function datumBytes(d: Datum): number {
  if (d === null || typeof d === 'boolean') return 0;
  if (typeof d === 'number') return 16;
  if (typeof d === 'bigint') return 24;
  if (typeof d === 'string') return 16 + d.length;
  if (Buffer.isBuffer(d)) return 96 + d.length;
  if (d instanceof Numeric) return 64;
  if (d instanceof Interval) return 56;
  if (d instanceof Jsonb) return 32 + jsonBytes(d.value);
  return 64;
}

function jsonBytes(v: JsonValue): number {
  if (v === null || typeof v === 'boolean') return SLOT;
  if (typeof v === 'string') return SLOT + 16 + v.length;
  if (v instanceof Numeric) return SLOT + 64;
  let bytes = 64;
  if (isJsonArray(v)) for (const item of v) bytes += jsonBytes(item);
  else if (isJsonObject(v)) for (const [k, item] of v) bytes += ENTRY_BYTES + k.length + jsonBytes(item);
  return bytes;
}

export function formatBytes(bytes: number): string {
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${bytes} bytes`;
}
