// The simple and extended query protocols of one ready session: turns
// frontend messages into SqlSession calls and their results into backend
// messages, as PostgreSQL's postgres.c does.
import type { BackendWriter, FieldDescription, FrontendMessage, FrontendPacket } from '../../shared/pgwire/index.js';
import type { Logger } from '../../shared/log/index.js';
import { SQLSTATE, SqlError } from '../sql/errors.js';
import type { CopyIn, CopyOut, EncodedRow, ParsedStatement, ResultColumn, SqlSession } from '../sql/session-api.js';
import { COPY_DONE, copyDataMessages, copyInResponse, copyOutResponse, errorResponseWithWhere, messageTypeOf } from './copy-wire.js';
import { noNul, statementOffsets, toErrorResponse } from './errors.js';
import { ExtendedState, checkParamCount, expandFormats, zeroRowsTag, type PortalEntry } from './extended.js';
import type { SafeHooks } from './hooks.js';

/** Pending output beyond this is written out even in the middle of a result. */
export const OUTPUT_CHUNK = 64 * 1024;

/**
 * Rows asked of a portal at a time: a result is written out while it is
 * produced, never collected whole, and the engine waits while the socket is
 * backed up.
 */
export const RESULT_CHUNK_ROWS = 1000;

export type QueryMessage = Extract<
  FrontendMessage,
  { type: 'query' | 'parse' | 'bind' | 'describe' | 'execute' | 'close' | 'sync' | 'flush' }
>;

/** What the protocol needs from its connection. */
export interface QueryIO {
  readonly out: BackendWriter;
  /** Aborted once the client is gone: stop calling the engine. */
  readonly signal: AbortSignal;
  /** Awaits an engine call, writing pending output out if the call does not settle at once. */
  engine<T>(call: Promise<T>): Promise<T>;
  flush(): void;
  /** Writes pending output out and waits while the socket is backed up. */
  checkpoint(): Promise<void>;
  /** Writes pending output, then these encoded messages. */
  send(bytes: Buffer): void;
  /**
   * The client's next message, taken out of turn (COPY FROM STDIN reads its
   * data while the statement runs); null once the connection is closing.
   */
  read(): Promise<FrontendPacket | null>;
}

function fieldsOf(columns: readonly ResultColumn[]): FieldDescription[] {
  return columns.map((c) => ({
    name: noNul(c.name),
    tableOid: c.tableOid,
    columnAttr: c.columnNumber,
    typeOid: c.typeOid,
    typeSize: c.typeSize,
    typeModifier: c.typeModifier,
    format: c.format,
  }));
}

export class QueryProtocol {
  private readonly ext = new ExtendedState();
  /** After an error in extended mode everything up to the next Sync is discarded. */
  private skipping = false;
  /** Where the statement of the current extended message starts in its Parse text, for error positions. */
  private errorOffset: number | undefined;
  /**
   * A COPY FROM STDIN ended (failed) before the client's CopyDone/CopyFail:
   * the client may still be sending its data, which is dropped as PostgreSQL
   * does, up to and including its CopyDone or CopyFail.
   */
  private staleCopy = false;

  constructor(
    private readonly session: SqlSession,
    private readonly io: QueryIO,
    private readonly hooks: SafeHooks,
    private readonly log: Logger,
  ) {}

  /** Handles one message; false when a FATAL error ended the session. */
  async handle(msg: QueryMessage): Promise<boolean> {
    if (msg.type === 'sync') {
      this.skipping = false;
      return this.endOfTransaction();
    }
    if (this.skipping) return true;
    switch (msg.type) {
      case 'query':
        return this.simpleQuery(msg.sql);
      case 'flush':
        this.io.flush();
        return true;
      default:
        this.errorOffset = undefined;
        try {
          await this.extended(msg);
          return true;
        } catch (err) {
          if (this.report(err, this.errorOffset)) return false;
          this.session.fail(err);
          this.skipping = true;
          return true;
        }
    }
  }

  private async simpleQuery(sql: string): Promise<boolean> {
    this.ext.dropUnnamed();
    let statements: readonly ParsedStatement[] = [];
    try {
      statements = this.session.parse(sql);
      if (statements.length === 0) this.io.out.emptyQueryResponse();
    } catch (err) {
      if (this.report(err, 0)) return false;
      this.session.fail(err);
    }
    const offsets = statementOffsets(sql, statements);
    for (const [i, statement] of statements.entries()) {
      try {
        await this.runStatement(statement);
      } catch (err) {
        if (this.report(err, offsets[i])) return false;
        this.session.fail(err);
        break;
      }
      if (this.io.signal.aborted) return false;
    }
    return this.endOfTransaction();
  }

  private async runStatement(statement: ParsedStatement): Promise<void> {
    this.hooks.onStatement(statement.kind);
    const prepared = await this.io.engine(this.session.prepare(statement, []));
    if (prepared.paramTypeOids.length > 0) {
      throw new SqlError(SQLSTATE.UNDEFINED_PARAMETER, 'there is no parameter $1');
    }
    const resultFormats = expandFormats([], prepared.columns?.length ?? 0, 'result');
    const portal = await this.io.engine(this.session.bind(prepared, [], [], resultFormats));
    try {
      if (portal.columns) this.io.out.rowDescription(fieldsOf(portal.columns));
      // Asked a chunk at a time until it completes, so that rows stream out as they are made.
      let sent = 0;
      for (;;) {
        const result = await this.io.engine(portal.execute(RESULT_CHUNK_ROWS));
        if (result.kind === 'empty') {
          this.emitSessionEvents();
          this.io.out.emptyQueryResponse();
          return;
        }
        if (result.kind === 'copyIn' || result.kind === 'copyOut') {
          const tag = await this.copy(result);
          this.emitSessionEvents();
          this.io.out.commandComplete(noNul(tag));
          return;
        }
        await this.writeRows(result.rows);
        sent += result.rows.length;
        if (result.kind === 'complete') {
          this.emitSessionEvents();
          // CREATE TABLE … AS is tagged SELECT n too, counting the rows it stored, not sent.
          this.io.out.commandComplete(noNul(portal.columns ? countedTag(result.commandTag, sent) : result.commandTag));
          return;
        }
      }
    } finally {
      portal.close();
    }
  }

  private async extended(msg: Exclude<QueryMessage, { type: 'query' | 'sync' | 'flush' }>): Promise<void> {
    const out = this.io.out;
    switch (msg.type) {
      case 'parse': {
        this.ext.beginParse(msg.name);
        this.errorOffset = 0;
        const statements = this.session.parse(msg.sql);
        if (statements.length > 1) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'cannot insert multiple commands into a prepared statement');
        const statement = statements[0];
        if (!statement) {
          this.ext.addStatement({ name: msg.name, prepared: null, paramTypeOids: msg.paramTypes, columns: null, offset: 0 });
        } else {
          const offset = statementOffsets(msg.sql, [statement])[0];
          this.errorOffset = offset;
          const prepared = await this.io.engine(this.session.prepare(statement, msg.paramTypes));
          this.emitSessionEvents();
          this.ext.addStatement({ name: msg.name, prepared, paramTypeOids: prepared.paramTypeOids, columns: prepared.columns, offset });
        }
        out.parseComplete();
        return;
      }
      case 'bind': {
        const statement = this.ext.statement(msg.statement);
        this.errorOffset = statement.offset;
        const paramFormats = expandFormats(msg.paramFormats, msg.params.length, 'parameter');
        checkParamCount(msg.params.length, msg.statement, statement.paramTypeOids.length);
        const resultFormats = expandFormats(msg.resultFormats, statement.columns?.length ?? 0, 'result');
        this.ext.beginBind(msg.portal);
        const portal = statement.prepared
          ? await this.io.engine(this.session.bind(statement.prepared, msg.params, paramFormats, resultFormats))
          : null;
        this.ext.addPortal({ name: msg.portal, portal, statement, state: 'ready' });
        this.emitSessionEvents();
        out.bindComplete();
        return;
      }
      case 'describe':
        if (msg.target === 'S') {
          const statement = this.ext.statement(msg.name);
          out.parameterDescription(statement.paramTypeOids);
          this.describeRows(statement.columns);
        } else {
          this.describeRows(this.ext.portal(msg.name).portal?.columns ?? null);
        }
        return;
      case 'execute':
        return this.execute(this.ext.portal(msg.portal), msg.maxRows);
      case 'close':
        if (msg.target === 'S') this.ext.closeStatement(msg.name);
        else this.ext.closePortal(msg.name);
        out.closeComplete();
        return;
    }
  }

  private describeRows(columns: readonly ResultColumn[] | null): void {
    if (columns) this.io.out.rowDescription(fieldsOf(columns));
    else this.io.out.noData();
  }

  private async execute(entry: PortalEntry, maxRows: number): Promise<void> {
    const out = this.io.out;
    this.errorOffset = entry.statement.offset;
    if (!entry.portal) {
      out.emptyQueryResponse();
      return;
    }
    if (entry.state === 'done' && entry.doneTag !== undefined) {
      // A finished row-returning portal has no rows left, as a re-run FETCH finds.
      out.commandComplete(zeroRowsTag(entry.doneTag));
      return;
    }
    if (entry.state === 'done' || entry.state === 'failed') {
      throw new SqlError(SQLSTATE.OBJECT_NOT_IN_PREREQUISITE_STATE, `portal "${entry.name}" cannot be run`);
    }
    if (entry.state === 'ready') this.hooks.onStatement(entry.statement.prepared?.statement.kind ?? '');
    // PostgreSQL reads a zero or negative row count as "all rows"; they are asked for a chunk at a time.
    let left = maxRows > 0 ? maxRows : Infinity;
    let sent = 0;
    let result;
    try {
      for (;;) {
        result = await this.io.engine(entry.portal.execute(Math.min(left, RESULT_CHUNK_ROWS)));
        if (result.kind === 'copyIn' || result.kind === 'copyOut') {
          const tag = await this.copy(result);
          entry.state = 'done';
          this.emitSessionEvents();
          out.commandComplete(noNul(tag));
          return;
        }
        if (result.kind === 'empty') break;
        left -= result.rows.length;
        sent += result.rows.length;
        if (result.kind === 'complete' || left <= 0) break;
        await this.writeRows(result.rows);
      }
    } catch (err) {
      entry.state = 'failed';
      throw err;
    }
    if (result.kind === 'empty') {
      entry.state = 'done';
      this.emitSessionEvents();
      out.emptyQueryResponse();
      return;
    }
    await this.writeRows(result.rows);
    this.emitSessionEvents();
    if (result.kind === 'suspended') {
      entry.state = 'suspended';
      out.portalSuspended();
      return;
    }
    entry.state = 'done';
    const tag = entry.portal.columns ? countedTag(result.commandTag, sent) : result.commandTag;
    if (entry.portal.columns) entry.doneTag = tag;
    out.commandComplete(noNul(tag));
  }

  /** Sync, or the end of a simple Query: the engine ends the implicit transaction, then ReadyForQuery. */
  private async endOfTransaction(): Promise<boolean> {
    try {
      await this.io.engine(this.session.sync());
    } catch (err) {
      if (this.report(err, undefined)) return false;
    }
    if (this.io.signal.aborted) return false;
    if (this.session.transactionStatus === 'I') this.ext.closeAllPortals();
    this.emitSessionEvents();
    this.io.out.readyForQuery(this.session.transactionStatus);
    return true;
  }

  /** A CopyData, CopyDone or CopyFail outside COPY: true when it is the rest of a failed COPY's data, to be dropped. */
  absorbsCopy(type: 'copyData' | 'copyDone' | 'copyFail'): boolean {
    if (!this.staleCopy) return false;
    if (type !== 'copyData') this.staleCopy = false;
    return true;
  }

  /** Runs COPY's sub-protocol; resolves with the command tag. */
  private async copy(c: CopyIn | CopyOut): Promise<string> {
    if (c.kind === 'copyOut') {
      this.io.send(copyOutResponse(c.format, c.columnCount));
      const tag = await this.io.engine(
        c.run(async (lines) => {
          this.io.send(copyDataMessages(lines));
          await this.io.checkpoint();
        }),
      );
      this.io.send(COPY_DONE);
      return tag;
    }
    this.io.send(copyInResponse(c.format, c.columnCount));
    const input = { ended: false };
    try {
      return await this.io.engine(c.run(this.copyData(input)));
    } finally {
      if (!input.ended) this.staleCopy = true;
    }
  }

  /** The client's COPY data, message by message, until CopyDone; CopyFail and stray messages end it with an error. */
  private async *copyData(input: { ended: boolean }): AsyncGenerator<Buffer, void, undefined> {
    for (;;) {
      const msg = await this.io.read();
      if (msg === null) {
        input.ended = true;
        throw new SqlError(SQLSTATE.CONNECTION_FAILURE, 'connection lost during COPY from stdin');
      }
      switch (msg.type) {
        case 'copyData':
          yield msg.data;
          break;
        case 'copyDone':
          input.ended = true;
          return;
        case 'copyFail':
          input.ended = true;
          throw new SqlError(SQLSTATE.QUERY_CANCELED, `COPY from stdin failed: ${msg.message}`);
        case 'flush':
        case 'sync':
          // Ignored during copy-in, per the protocol: libpq may send them without noticing the command was COPY.
          break;
        default:
          throw new SqlError(SQLSTATE.PROTOCOL_VIOLATION, `unexpected message type ${messageTypeOf(msg)} during COPY from stdin`);
      }
    }
  }

  private async writeRows(rows: readonly EncodedRow[]): Promise<void> {
    const out = this.io.out;
    for (const row of rows) {
      out.dataRow(row);
      if (out.length >= OUTPUT_CHUNK) await this.io.checkpoint();
    }
  }

  private emitSessionEvents(): void {
    const out = this.io.out;
    for (const n of this.session.takeNotices()) {
      out.noticeResponse({
        severity: n.severity,
        code: n.code,
        message: noNul(n.message),
        ...(n.detail !== undefined ? { detail: noNul(n.detail) } : {}),
        ...(n.hint !== undefined ? { hint: noNul(n.hint) } : {}),
      });
    }
    for (const [name, value] of this.session.takeParameterChanges()) out.parameterStatus(noNul(name), noNul(value));
  }

  /** Writes the ErrorResponse (after the notices raised before the error); true when it is FATAL. */
  private report(err: unknown, statementOffset: number | undefined): boolean {
    this.emitSessionEvents();
    const { fields, internal, where } = toErrorResponse(err, statementOffset);
    if (internal) this.log.error({ err }, 'engine threw something other than a SqlError');
    this.hooks.onError(fields.code);
    if (where === undefined) this.io.out.errorResponse(fields);
    else this.io.send(errorResponseWithWhere(fields, where));
    return fields.severity === 'FATAL';
  }
}

/**
 * A SELECT's tag counts the rows of this Execute (or Query), as PostgreSQL's
 * does, however many chunks the engine was asked for and whatever earlier
 * Executes of the same portal returned.
 */
function countedTag(tag: string, rows: number): string {
  return /^SELECT \d+$/.test(tag) ? `SELECT ${rows}` : tag;
}
