// SQL-level cursors (DECLARE, FETCH, MOVE, CLOSE). A cursor holds its query's
// batch iterator, so it reads a KV page at a time as FETCHes ask for rows.
// Positioning is PostgreSQL's (PortalRunFetch / PortalRunSelect in pquery.c)
// over a row source that can only move forward unless the cursor is SCROLL,
// in which case every row read is kept (charged to the cursor's memory
// budget) so that it can be read again backward.
import type { FetchStmt } from '@pgsql/types';
import { SQLSTATE, SqlError } from './errors.js';
import type { MemoryAccount, MemoryBudget } from './exec/memory.js';
import type { Row } from './plan/expr.js';
import type { ResultColumn } from './session-api.js';

/** DECLARE's option bits (parsenodes.h CURSOR_OPT_*). */
const OPT_BINARY = 0x1;
const OPT_SCROLL = 0x2;
const OPT_HOLD = 0x20;
/** The parser's FETCH_ALL (LONG_MAX on the 32-bit wasm build). */
const PARSER_FETCH_ALL = 2147483647;

type Batches = AsyncGenerator<Row[], void, undefined>;

export interface CursorQuery {
  readonly rows: Batches;
  /** The query's statement budget: its operators' holdings, and the cursor's own rows. */
  readonly memory: MemoryBudget;
  /** Result columns in text format. */
  readonly columns: readonly ResultColumn[];
}

export class Cursor {
  /** Rows read from the query (forward-only cursors); those before `pendingAt` were returned. */
  private pending: Row[] = [];
  private pendingAt = 0;
  /** Every row read so far (SCROLL cursors), in order. */
  private readonly seen: Row[] | null;
  private source: Batches | null;
  private readonly held: MemoryAccount;
  /** The physical position: 0 before the first row, i on row i, seen.length + 1 past the last. */
  private cur = 0;
  // PostgreSQL's portal bookkeeping, which decides what each FETCH variant does.
  private pos = 0;
  private atStart = true;
  private atEnd = false;
  /** Survived the COMMIT of its transaction (rows materialized). */
  persisted = false;
  /** A read failed; the cursor cannot be used again. */
  private failed = false;

  constructor(
    readonly name: string,
    readonly id: number,
    private readonly options: number,
    private readonly query: CursorQuery,
  ) {
    this.source = query.rows;
    this.seen = this.scroll ? [] : null;
    this.held = query.memory.account(this.scroll ? 'SCROLL cursor' : 'WITH HOLD cursor');
  }

  get scroll(): boolean {
    return (this.options & OPT_SCROLL) !== 0;
  }

  get hold(): boolean {
    return (this.options & OPT_HOLD) !== 0;
  }

  get binary(): boolean {
    return (this.options & OPT_BINARY) !== 0;
  }

  get columns(): readonly ResultColumn[] {
    return this.query.columns;
  }

  /** Runs a FETCH (rows streamed through the returned batches; the count comes with the tag) or a MOVE (nothing to send). */
  async *fetch(stmt: FetchStmt, emit: boolean): AsyncGenerator<Row[], number, undefined> {
    if (this.failed) throw new SqlError(SQLSTATE.OBJECT_NOT_IN_PREREQUISITE_STATE, `portal "${this.name}" cannot be run`);
    return yield* this.runFetch(stmt.direction ?? 'FETCH_FORWARD', fetchCount(stmt.howMany), emit);
  }

  private async *runFetch(direction: NonNullable<FetchStmt['direction']>, count: number, emit: boolean): AsyncGenerator<Row[], number, undefined> {
    let forward = direction !== 'FETCH_BACKWARD';
    switch (direction) {
      case 'FETCH_FORWARD':
      case 'FETCH_BACKWARD':
        if (count < 0) {
          forward = !forward;
          count = -count;
        }
        break;
      case 'FETCH_ABSOLUTE':
        if (count > 0) {
          // From the start when the target is nearer to it than to where the cursor is, else from here.
          if (count - 1 <= this.pos / 2) {
            this.rewind();
            if (count > 1) yield* this.select(true, count - 1, false);
          } else {
            let at = this.pos;
            if (this.atEnd) at++;
            if (count <= at) yield* this.select(false, at - count + 1, false);
            else if (count > at + 1) yield* this.select(true, count - at - 1, false);
          }
          return yield* this.select(true, 1, emit);
        }
        if (count < 0) {
          yield* this.select(true, Infinity, false);
          if (count < -1) yield* this.select(false, -count - 1, false);
          return yield* this.select(false, 1, emit);
        }
        this.rewind();
        return yield* this.select(true, 0, emit);
      case 'FETCH_RELATIVE':
        if (count > 0) {
          if (count > 1) yield* this.select(true, count - 1, false);
          return yield* this.select(true, 1, emit);
        }
        if (count < 0) {
          if (count < -1) yield* this.select(false, -count - 1, false);
          return yield* this.select(false, 1, emit);
        }
        // RELATIVE 0 is FETCH 0: the current row again.
        forward = true;
        break;
    }
    if (count === 0) {
      const onRow = !this.atStart && !this.atEnd;
      if (!emit) return onRow ? 1 : 0;
      if (onRow) {
        yield* this.select(false, 1, false);
        count = 1;
        forward = true;
      }
    }
    if (!forward && count === Infinity && !emit) {
      // MOVE BACKWARD ALL is a rewind.
      let result = this.pos;
      if (result > 0 && !this.atEnd) result--;
      this.rewind();
      return result;
    }
    return yield* this.select(forward, count, emit);
  }

  /** PortalRunSelect: moves up to count rows (Infinity = all) and keeps PostgreSQL's position bookkeeping. */
  private async *select(forward: boolean, count: number, emit: boolean): AsyncGenerator<Row[], number, undefined> {
    let n = 0;
    if (forward) {
      if (this.atEnd || count <= 0) return 0;
      for await (const rows of this.forward(count)) {
        n += rows.length;
        this.pos += rows.length;
        if (rows.length > 0) this.atStart = false;
        if (emit) yield rows;
      }
      if (count === Infinity || n < count) this.atEnd = true;
      return n;
    }
    if (!this.scroll) throw backwardRefused();
    if (this.atStart || count <= 0) return 0;
    const rows = this.backward(count);
    n = rows.length;
    if (n > 0 && this.atEnd) {
      this.atEnd = false;
      this.pos++;
    }
    if (count === Infinity || n < count) {
      this.atStart = true;
      this.pos = 0;
    } else {
      this.pos -= n;
    }
    if (emit && rows.length > 0) yield rows;
    return n;
  }

  private rewind(): void {
    if (this.atStart && !this.atEnd) return;
    if (!this.scroll) throw backwardRefused();
    this.cur = 0;
    this.atStart = true;
    this.atEnd = false;
    this.pos = 0;
  }

  /** The next rows going forward, in batches, at most count of them. */
  private async *forward(count: number): AsyncGenerator<Row[], void, undefined> {
    let left = count;
    while (left > 0) {
      if (this.seen) {
        if (this.cur < this.seen.length) {
          const rows = this.seen.slice(this.cur, this.cur + Math.min(left, this.seen.length - this.cur));
          this.cur += rows.length;
          left -= rows.length;
          yield rows;
          continue;
        }
        const batch = await this.read();
        if (!batch) {
          this.cur = this.seen.length + 1;
          return;
        }
        this.held.addRows(batch);
        this.seen.push(...batch);
        continue;
      }
      if (this.pendingAt >= this.pending.length) {
        const batch = await this.read();
        if (!batch) return;
        this.pending = batch;
        this.pendingAt = 0;
        continue;
      }
      const take = Math.min(left, this.pending.length - this.pendingAt);
      const rows = this.pending.slice(this.pendingAt, this.pendingAt + take);
      this.pendingAt += take;
      left -= take;
      yield rows;
    }
  }

  /** The previous rows, nearest first (SCROLL cursors only: every row is in `seen`). */
  private backward(count: number): Row[] {
    const seen = this.seen ?? [];
    const out: Row[] = [];
    while (out.length < count && this.cur > 1) {
      this.cur--;
      const row = seen[this.cur - 1];
      if (row) out.push(row);
    }
    if (out.length < count) this.cur = 0;
    return out;
  }

  private async read(): Promise<Row[] | null> {
    if (!this.source) return null;
    let next: IteratorResult<Row[], void>;
    try {
      next = await this.source.next();
    } catch (err) {
      // The query's operators are in an unknown state: as PostgreSQL's failed portal, it cannot go on.
      this.failed = true;
      this.source = null;
      throw err;
    }
    if (!next.done) return next.value;
    this.source = null;
    return null;
  }

  /** At COMMIT: reads the rest of the query into memory (charged to the budget), as the transaction's reads end here. */
  async materialize(): Promise<void> {
    if (this.failed) return;
    this.pending = this.pending.slice(this.pendingAt);
    this.pendingAt = 0;
    for (;;) {
      const batch = await this.read();
      if (!batch) break;
      this.held.addRows(batch);
      for (const row of batch) (this.seen ?? this.pending).push(row);
    }
  }

  close(): void {
    const source = this.source;
    this.source = null;
    this.pending = [];
    if (this.seen) this.seen.length = 0;
    const memory = this.query.memory;
    const release = (): void => memory.close();
    if (source) void source.return(undefined).then(release, release);
    else release();
  }
}

function backwardRefused(): SqlError {
  return new SqlError(SQLSTATE.OBJECT_NOT_IN_PREREQUISITE_STATE, 'cursor can only scan forward', { hint: 'Declare it with SCROLL option to enable backward scan.' });
}

function fetchCount(howMany: bigint | number | undefined): number {
  const n = Number(howMany ?? 0);
  if (n >= PARSER_FETCH_ALL) return Infinity;
  return n;
}

/** A session's open cursors, and what the ends of transactions and savepoints do to them. */
export class Cursors {
  private readonly open = new Map<string, Cursor>();
  private nextId = 1;

  get(name: string): Cursor {
    const cursor = this.open.get(name);
    if (!cursor) throw new SqlError(SQLSTATE.INVALID_CURSOR_NAME, `cursor "${name}" does not exist`);
    return cursor;
  }

  /** Checks that DECLARE may create the cursor; the query is started only then. */
  checkDeclare(name: string, options: number, inBlock: boolean): void {
    if ((options & OPT_HOLD) === 0 && !inBlock) throw new SqlError(SQLSTATE.NO_ACTIVE_SQL_TRANSACTION, 'DECLARE CURSOR can only be used in transaction blocks');
    if (this.open.has(name)) throw new SqlError(SQLSTATE.DUPLICATE_CURSOR, `cursor "${name}" already exists`);
  }

  declare(name: string, options: number, query: CursorQuery): void {
    this.open.set(name, new Cursor(name, this.nextId++, options, query));
  }

  close(name: string | undefined): void {
    if (name === undefined) {
      for (const c of this.open.values()) c.close();
      this.open.clear();
      return;
    }
    this.get(name).close();
    this.open.delete(name);
  }

  /** What a savepoint remembers: cursors declared after it are closed by ROLLBACK TO it. */
  mark(): number {
    return this.nextId;
  }

  rollbackTo(mark: number): void {
    this.drop((c) => c.id >= mark && !c.persisted);
  }

  /** Before COMMIT: WITH HOLD cursors of the transaction read the rest of their rows. */
  async beforeCommit(): Promise<void> {
    for (const c of this.open.values()) if (c.hold && !c.persisted) await c.materialize();
  }

  /** The transaction ended: committed, its WITH HOLD cursors live on; else they go too. */
  endTransaction(committed: boolean): void {
    this.drop((c) => !c.persisted && !(committed && c.hold));
    for (const c of this.open.values()) c.persisted = true;
  }

  private drop(which: (c: Cursor) => boolean): void {
    for (const [name, c] of this.open) {
      if (!which(c)) continue;
      c.close();
      this.open.delete(name);
    }
  }
}
