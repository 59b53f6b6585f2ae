// A client session: transaction state (implicit and explicit blocks, the
// failed state), prepared statements and portals as the wire server drives
// them, session variables, and statement execution with re-planning when the
// schema changed underneath.
import type { FetchStmt, Node, PrepareStmt } from '@pgsql/types';
import type { KvClient } from '../../shared/kv/client/index.js';
import type { Catalog, NameContext } from './catalog/catalog.js';
import type { SequenceDescriptor } from './catalog/descriptors.js';
import { sequenceBounds } from './catalog/system/relations.js';
import type { Keyspace } from './catalog/keyspace.js';
import { copyExecution } from './copy/execute.js';
import { planCopy, type CopyPlan } from './copy/plan.js';
import { Cursors } from './cursors.js';
import { createStatement, createTableAsOf, insertStatement, type CreateTableAs } from './ddl/create-table-as.js';
import { DDL_KINDS, executeDdl } from './ddl/index.js';
import { maintenance } from './ddl/maintenance.js';
import { SQLSTATE, SqlError } from './errors.js';
import { MemoryBudget, rowBytes, type MemoryLimits } from './exec/memory.js';
import { Subqueries, run, type ExecContext } from './exec/run.js';
import { advisoryFunctionOf, lockTag, type AdvisoryFunction, type AdvisoryLocks, type SessionLocks } from './locks/index.js';
import { executeWrite } from './exec/write.js';
import { EXPLAIN_COLUMN, planExplain, runExplain, type ExplainPlan } from './explain/index.js';
import { ParamTypes, analyzeExpr, coerce, typeOf, type SessionInfo } from './plan/analyze-expr.js';
import { exprLookups } from './plan/context.js';
import { Scope } from './plan/scope.js';
import type { PlanContext } from './plan/context.js';
import { planDelete, planInsert, planUpdate, type WritePlan } from './plan/dml.js';
import { compile, type EvalContext, type Expr, type Row } from './plan/expr.js';
import type { OutputColumn, PlanNode, QueryPlan, Subquery } from './plan/plan.js';
import { planSelect } from './plan/select.js';
import type { CopyIn, CopyOut, ExecuteResult, FormatCode, EncodedRow, Notice, ParsedStatement, Portal, PreparedStatement, ResultColumn, SqlSession } from './session-api.js';
import { SERVER_VERSION, SessionSettings, type SettingScope, type SettingsMark } from './settings.js';
import { Statement, splitQuery } from './statement.js';
import { RestartStatement, SqlTxn, StaleCatalog, type CatalogCache, type TxnHooks, type TxnMark } from './txn.js';
import type { RowLockTable } from './row-locks/index.js';
import { T, findCast, formatType, timestampNow, formatBinary, formatText, parseBinary, parseText, typeByOid, type Datum, type SqlType } from './types/index.js';
import { unsupportedStatement, unsupportedTransactionStatement } from './unsupported.js';

/** What sessions share: the tenant's storage, catalog cache and id sources. */
export interface EngineServices {
  readonly kv: KvClient;
  readonly ks: Keyspace;
  readonly catalogs: CatalogCache;
  readonly hooks: TxnHooks;
  readonly advisoryLocks: AdvisoryLocks;
  /** Row locks among the pod's transactions (UPDATE, DELETE, FOR UPDATE wait for each other). */
  readonly rowLocks: RowLockTable;
  /** Bounds on what a statement's operators may hold. */
  readonly memory: MemoryLimits;
  reserveSequence(sequence: SequenceDescriptor, count: number): Promise<bigint[]>;
  setSequence(sequence: SequenceDescriptor, value: bigint, isCalled: boolean): Promise<void>;
  /** Reads the catalog version (one round trip) and reloads the catalog if it changed. */
  refreshCatalog(): Promise<Catalog>;
  uniqueRowId(): bigint;
}

type Planned =
  | { readonly kind: 'query'; readonly plan: QueryPlan }
  | { readonly kind: 'write'; readonly plan: WritePlan; readonly subqueries: readonly Subquery[] }
  | { readonly kind: 'copy'; readonly plan: CopyPlan; readonly subqueries: readonly Subquery[] }
  | { readonly kind: 'utility' }
  /** DECLARE: the cursor's query. */
  | { readonly kind: 'cursor'; readonly plan: QueryPlan }
  /** EXECUTE of an SQL-level prepared statement, with its arguments coerced to its parameter types. */
  | { readonly kind: 'execute'; readonly target: Prepared; readonly args: readonly Expr[] }
  /** FETCH from an open cursor (its columns are the cursor's). */
  | { readonly kind: 'fetch'; readonly columns: readonly ResultColumn[] | null }
  | ExplainPlan;

class Prepared implements PreparedStatement {
  constructor(
    readonly statement: Statement,
    readonly paramTypeOids: readonly number[],
    public columns: readonly ResultColumn[] | null,
    readonly paramTypes: readonly SqlType[],
    /** The plan and the catalog version it was made for. */
    public planned: { readonly version: bigint; readonly plan: Planned },
  ) {}
}

const MAX_STATEMENT_ATTEMPTS = 3;
/**
 * Times a statement runs again after waiting for row locks: each one follows
 * another transaction's commit, so many in a row means heavy contention, and
 * the statement fails with 40001 as it would without the locks.
 */
const MAX_STATEMENT_RESTARTS = 100;

export class Session implements SqlSession {
  private txn: SqlTxn | null = null;
  private explicit = false;
  /** The explicit block failed: only ROLLBACK/COMMIT are accepted (25P02). */
  private failed = false;
  private implicitFailed = false;
  /** The open savepoints of the explicit block, oldest first. */
  private savepoints: { readonly name: string; readonly mark: TxnMark; readonly settings: SettingsMark; readonly cursors: number }[] = [];
  /** SQL-level cursors (DECLARE), open until CLOSE or the end of their transaction (./cursors.ts). */
  private readonly cursors = new Cursors();
  /** SQL-level prepared statements (PREPARE), by name; they outlive transactions, as PostgreSQL's do. */
  private readonly sqlPrepared = new Map<string, Prepared>();
  /** The settings at BEGIN, restored if the block rolls back. */
  private settingsAtBegin: SettingsMark | null = null;
  private cancelled = false;
  /** When the running statement exceeds statement_timeout (Date.now() scale); Infinity without one. */
  private statementDeadline = Infinity;
  private notices: Notice[] = [];
  /** Budgets of statements not yet ended (a suspended portal's among them), closed with the session. */
  private readonly budgets = new Set<MemoryBudget>();
  readonly settings: SessionSettings;
  private readonly locks: SessionLocks;
  /** currval: per sequence, what nextval (or setval) last gave this session; lastval: the latest of them. */
  private readonly sequenceValues = new Map<number, bigint>();
  private lastSequenceValue: bigint | null = null;
  /** setval calls of the running statement, written when it has run. */
  private pendingSetvals: { readonly sequence: SequenceDescriptor; readonly value: bigint; readonly isCalled: boolean }[] = [];

  constructor(
    private readonly engine: EngineServices,
    readonly user: string,
    private readonly database: { readonly id: number; readonly name: string },
    superuser: boolean,
  ) {
    this.settings = new SessionSettings(user, superuser);
    this.locks = engine.advisoryLocks.session(database.id);
  }

  get transactionStatus(): 'I' | 'T' | 'E' {
    if (this.failed) return 'E';
    return this.explicit ? 'T' : 'I';
  }

  parse(sql: string): readonly ParsedStatement[] {
    return splitQuery(sql);
  }

  async prepare(statement: ParsedStatement, paramTypeOids: readonly number[]): Promise<PreparedStatement> {
    const stmt = asStatement(statement);
    this.refuseIfFailed(stmt);
    const declared = paramTypeOids.map((oid) => {
      if (oid === 0) return null;
      const t = (this.txn?.planningCatalog ?? this.engine.catalogs.current).sqlType(oid);
      if (!t) throw new SqlError(SQLSTATE.UNDEFINED_OBJECT, `type with OID ${oid} does not exist`);
      return t;
    });
    return this.prepareStatement(stmt, declared);
  }

  private async prepareStatement(stmt: Statement, declared: readonly (SqlType | null)[]): Promise<Prepared> {
    let catalog = this.txn?.planningCatalog ?? this.engine.catalogs.current;
    let params = new ParamTypes(declared);
    let plan: Planned;
    try {
      plan = this.plan(stmt, catalog, params);
    } catch (err) {
      // The statement may name something another pod just created: look at the latest catalog before failing.
      if (!(err instanceof SqlError) || this.txn?.catalogChecked) throw err;
      const fresh = this.txn ? await this.txn.catalog() : await this.engine.refreshCatalog();
      if (fresh.version === catalog.version) throw err;
      catalog = fresh;
      params = new ParamTypes(declared);
      plan = this.plan(stmt, catalog, params);
    }
    const types = params.resolved();
    return new Prepared(stmt, types.map((t) => t.oid), columnsOf(stmt, plan), types, { version: catalog.version, plan });
  }

  /** PREPARE name [(types)] AS statement: planned now, as the extended protocol's Parse does. */
  private async prepareSql(node: PrepareStmt, stmt: Statement): Promise<string> {
    const name = node.name ?? '';
    if (this.sqlPrepared.has(name)) throw new SqlError(SQLSTATE.DUPLICATE_PREPARED_STATEMENT, `prepared statement "${name}" already exists`);
    const declared = (node.argtypes ?? []).map((t) => ('TypeName' in t ? typeOf(t.TypeName, stmt) : T.text));
    const inner = stmt.inner(node.query ?? null);
    const prepared = await this.prepareStatement(inner, declared);
    if (prepared.planned.plan.kind === 'utility' && inner.node) throw unsupportedStatement(inner.node, inner.kind);
    this.sqlPrepared.set(name, prepared);
    return 'PREPARE';
  }

  private deallocate(name: string | undefined): string {
    if (name === undefined) {
      this.sqlPrepared.clear();
      return 'DEALLOCATE ALL';
    }
    if (!this.sqlPrepared.delete(name)) throw new SqlError(SQLSTATE.INVALID_SQL_STATEMENT_NAME, `prepared statement "${name}" does not exist`);
    return 'DEALLOCATE';
  }

  private sqlPreparedNamed(name: string): Prepared {
    const p = this.sqlPrepared.get(name);
    if (!p) throw new SqlError(SQLSTATE.INVALID_SQL_STATEMENT_NAME, `prepared statement "${name}" does not exist`);
    return p;
  }

  /** EXECUTE's arguments, typed as the statement's parameters (an assignment coercion, as PostgreSQL's). */
  private executeArgs(target: Prepared, name: string, args: readonly Node[], ctx: PlanContext): Expr[] {
    if (args.length !== target.paramTypes.length) {
      throw new SqlError(SQLSTATE.SYNTAX_ERROR, `wrong number of parameters for prepared statement "${name}"`, {
        detail: `Expected ${target.paramTypes.length} parameters but got ${args.length}.`,
      });
    }
    const exprCtx = { scope: Scope.empty(), params: ctx.params, session: ctx.session, position: ctx.position, ...exprLookups(ctx), grouping: null };
    return args.map((arg, i) => {
      const type = target.paramTypes[i] ?? T.text;
      const e = analyzeExpr(arg, exprCtx);
      if (e.kind !== 'param' && !(e.kind === 'const' && e.type.oid === T.unknown.oid) && e.type.oid !== type.oid && findCast(e.type, type, 'assignment') === null) {
        throw new SqlError(SQLSTATE.DATATYPE_MISMATCH, `parameter $${i + 1} of type ${formatType(e.type)} cannot be coerced to the expected type ${formatType(type)}`, {
          hint: 'You will need to rewrite or cast the expression.',
        });
      }
      return coerce(e, type, 'assignment', exprCtx, undefined);
    });
  }

  async bind(prepared: PreparedStatement, params: readonly (Buffer | null)[], paramFormats: readonly FormatCode[], resultFormats: readonly FormatCode[]): Promise<Portal> {
    const p = asPrepared(prepared);
    const values = params.map((raw, i) => {
      const type = p.paramTypes[i] ?? T.text;
      if (raw === null) return null;
      const format = paramFormats.length === 1 ? paramFormats[0] : (paramFormats[i] ?? 0);
      try {
        return format === 1 ? parseBinary(type, raw) : parseText(type, raw.toString('utf8'), { timeZone: this.settings.timeZone, now: timestampNow() });
      } catch (err) {
        if (err instanceof SqlError) throw new SqlError(err.code, err.message, { ...err.fields, detail: `while decoding parameter $${i + 1}` });
        throw err;
      }
    });
    const portal = new SessionPortal(this, p, values, resultFormats);
    // A query starts at Bind: its first read checks the catalog, so the RowDescription the client gets
    // next already reflects a schema change made through another pod.
    if (p.planned.plan.kind === 'query') await portal.begin(true);
    return portal;
  }

  async sync(): Promise<void> {
    if (this.explicit) return;
    const txn = this.txn;
    const failed = this.implicitFailed;
    let committed = false;
    try {
      if (txn && !failed) {
        await this.cursors.beforeCommit();
        await txn.commit();
      }
      committed = !failed;
    } finally {
      txn?.abandon();
      this.txn = null;
      this.implicitFailed = false;
      this.cursors.endTransaction(committed);
      await this.locks.endTransaction();
    }
  }

  fail(_error: unknown): void {
    if (this.explicit) this.failed = true;
    else this.implicitFailed = true;
    // The transaction can no longer commit: as in PostgreSQL, its row locks go now, not at ROLLBACK,
    // unless a savepoint can still bring it back.
    if (this.savepoints.length === 0) this.txn?.abandon();
  }

  takeNotices(): Notice[] {
    const out = this.notices;
    this.notices = [];
    return out;
  }

  takeParameterChanges(): ReadonlyMap<string, string> {
    return this.settings.takeChanged();
  }

  cancel(): void {
    this.cancelled = true;
  }

  async close(): Promise<void> {
    // Buffered writes of an open transaction are simply dropped: nothing was sent to kvpod.
    this.resetTransaction();
    this.cursors.close(undefined);
    for (const budget of this.budgets) budget.close();
    await this.locks.close();
  }

  /** The session as the analyzer sees it. */
  info(): SessionInfo {
    const catalog = this.txn?.planningCatalog ?? this.engine.catalogs.current;
    return {
      user: this.user,
      database: this.database.name,
      // current_schema() is the first schema of the path that exists.
      searchPath: this.settings.searchPath(this.user).filter((s) => catalog.schema(this.database.id, s) !== undefined),
      timeZone: this.settings.timeZone,
      serverVersion: SERVER_VERSION,
      joinStrategy: this.settings.joinStrategy,
    };
  }

  private names(): NameContext {
    return { databaseId: this.database.id, searchPath: this.settings.searchPath(this.user) };
  }

  private plan(stmt: Pick<Statement, 'node' | 'position'>, catalog: Catalog, params: ParamTypes): Planned {
    const node = stmt.node;
    if (!node) return { kind: 'utility' };
    const ctx: PlanContext = { catalog, names: this.names(), session: { ...this.info(), catalog, databaseId: this.database.id }, params, position: stmt.position, subqueries: [] };
    // SELECT … INTO creates a table: planned when it runs, as CREATE TABLE … AS is.
    if ('SelectStmt' in node && node.SelectStmt.intoClause) return { kind: 'utility' };
    if ('SelectStmt' in node) return { kind: 'query', plan: planSelect(node.SelectStmt, ctx) };
    if ('InsertStmt' in node) return { kind: 'write', plan: planInsert(node.InsertStmt, ctx), subqueries: ctx.subqueries };
    if ('UpdateStmt' in node) return { kind: 'write', plan: planUpdate(node.UpdateStmt, ctx), subqueries: ctx.subqueries };
    if ('DeleteStmt' in node) return { kind: 'write', plan: planDelete(node.DeleteStmt, ctx), subqueries: ctx.subqueries };
    if ('DeclareCursorStmt' in node) {
      const query = node.DeclareCursorStmt.query;
      if (!query || !('SelectStmt' in query)) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'DECLARE CURSOR needs a SELECT or VALUES query');
      return { kind: 'cursor', plan: planSelect(query.SelectStmt, ctx) };
    }
    if ('ExecuteStmt' in node) {
      const name = node.ExecuteStmt.name ?? '';
      const target = this.sqlPreparedNamed(name);
      return { kind: 'execute', target, args: this.executeArgs(target, name, node.ExecuteStmt.params ?? [], ctx) };
    }
    if ('FetchStmt' in node) {
      const cursor = this.cursors.get(node.FetchStmt.portalname ?? '');
      return { kind: 'fetch', columns: node.FetchStmt.ismove ? null : cursor.columns.map((c) => ({ ...c, format: cursor.binary ? 1 : 0 })) };
    }
    if ('ExplainStmt' in node) {
      return planExplain(node.ExplainStmt, stmt.position, (query) => {
        const target = this.plan({ node: query, position: stmt.position }, catalog, params);
        // EXPLAIN of DECLARE, EXECUTE or FETCH is refused as any statement EXPLAIN does not take.
        return target.kind === 'cursor' || target.kind === 'execute' || target.kind === 'fetch' ? { kind: 'utility' } : target;
      });
    }
    if ('CopyStmt' in node) {
      const copy = planCopy(node.CopyStmt, ctx);
      return { kind: 'copy', plan: copy, subqueries: copy.direction === 'to' ? copy.subqueries : ctx.subqueries };
    }
    return { kind: 'utility' };
  }

  private refuseIfFailed(stmt: Statement): void {
    if (!this.failed) return;
    if (stmt.kind === 'COMMIT' || stmt.kind === 'ROLLBACK') return;
    throw new SqlError(SQLSTATE.IN_FAILED_SQL_TRANSACTION, 'current transaction is aborted, commands ignored until end of transaction block');
  }

  private ensureTxn(): SqlTxn {
    this.txn ??= new SqlTxn(this.engine.kv, this.engine.ks, this.engine.catalogs, this.engine.rowLocks.holder(), this.engine.hooks);
    return this.txn;
  }

  /**
   * Runs a prepared statement: rows stream for queries; everything else
   * completes at once. With `reshape`, a statement planned again on a newer
   * catalog may change its result columns (the client has not seen them yet).
   */
  async start(p: Prepared, params: readonly Datum[], reshape = false): Promise<Execution> {
    const stmt = p.statement;
    this.refuseIfFailed(stmt);
    this.cancelled = false;
    const timeoutMs = this.settings.statementTimeoutMs;
    this.statementDeadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
    const node = stmt.node;
    if (!node) return { kind: 'empty' };
    if ('TransactionStmt' in node) return { kind: 'done', tag: await this.transactionControl(node.TransactionStmt.kind ?? '', node.TransactionStmt.savepoint_name ?? '') };
    if ('VariableSetStmt' in node) return { kind: 'done', tag: this.set(node.VariableSetStmt) };
    if ('VariableShowStmt' in node) return { kind: 'rows', rows: [[this.show(node.VariableShowStmt.name ?? '')]], tag: 'SHOW', iterator: null };
    if ('DiscardStmt' in node) {
      if (this.explicit) throw new SqlError(SQLSTATE.ACTIVE_SQL_TRANSACTION, 'DISCARD ALL cannot run inside a transaction block');
      for (const name of ['search_path', 'timezone', 'application_name']) this.settings.set(name, null);
      return { kind: 'done', tag: 'DISCARD ALL' };
    }
    if ('FetchStmt' in node) return this.fetch(node.FetchStmt);
    if ('ClosePortalStmt' in node) {
      const name = node.ClosePortalStmt.portalname;
      this.cursors.close(name);
      return { kind: 'done', tag: name === undefined ? 'CLOSE CURSOR ALL' : 'CLOSE CURSOR' };
    }
    if ('PrepareStmt' in node) return { kind: 'done', tag: await this.prepareSql(node.PrepareStmt, stmt) };
    if ('DeallocateStmt' in node) return { kind: 'done', tag: this.deallocate(node.DeallocateStmt.isall ? undefined : (node.DeallocateStmt.name ?? '')) };
    if ('VacuumStmt' in node) {
      const catalog = this.txn ? await this.txn.catalog() : await this.engine.refreshCatalog();
      return { kind: 'done', tag: maintenance(node.VacuumStmt, catalog, this.names(), this.explicit) };
    }
    const key = Object.keys(node)[0] ?? '';
    let restarts = 0;
    for (let attempt = 1; ; attempt++) {
      const txn = this.ensureTxn();
      const statementStart = txn.mark();
      this.pendingSetvals = [];
      // The statement's memory, given back here unless something that outlives this call holds it.
      let memory: MemoryBudget | null = null;
      try {
        if (DDL_KINDS.has(key)) return { kind: 'done', tag: await this.ddl(node, stmt, txn) };
        const ctas = createTableAsOf(node);
        if (ctas) return { kind: 'done', tag: await this.createTableAs(ctas, stmt, txn, p.paramTypes, params) };
        if (p.planned.version !== txn.planningCatalog.version) {
          const params2 = new ParamTypes(p.paramTypes);
          const replanned = this.plan(stmt, txn.planningCatalog, params2);
          const cols = columnsOf(stmt, replanned);
          if (!reshape && !sameColumns(cols, p.columns)) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'cached plan must not change result type');
          p.planned = { version: txn.planningCatalog.version, plan: replanned };
          p.columns = cols;
        }
        const planned = p.planned.plan;
        if (planned.kind === 'utility' || planned.kind === 'fetch') throw unsupportedStatement(node, stmt.kind);
        if (planned.kind === 'execute') {
          const target = this.sqlPreparedNamed('ExecuteStmt' in node ? (node.ExecuteStmt.name ?? '') : '');
          if (target !== planned.target && !sameColumns(target.columns, planned.target.columns)) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'cached plan must not change result type');
          const exec = this.execContext(txn, params, [], true);
          exec.memory.close();
          const args = planned.args.map((a) => compile(a)([], exec.eval));
          const result = await this.start(target, args, reshape);
          if (reshape) p.columns = target.columns;
          return result;
        }
        if (planned.kind === 'cursor') {
          const declare = 'DeclareCursorStmt' in node ? node.DeclareCursorStmt : {};
          const options = declare.options ?? 0;
          this.cursors.checkDeclare(declare.portalname ?? '', options, this.explicit);
          // The query reads nothing before the first FETCH, so its plan is checked against the snapshot's catalog now.
          if (!txn.catalogChecked && (await txn.catalog()).version !== p.planned.version) continue;
          const exec = this.execContext(txn.asOf(txn.mark()), params, planned.plan.subqueries, true);
          this.cursors.declare(declare.portalname ?? '', options, { rows: cursorRows(planned.plan.root, exec), memory: exec.memory, columns: planned.plan.columns.map(resultColumn) });
          return { kind: 'done', tag: 'DECLARE CURSOR' };
        }
        // COPY answers the client before its first read, so its plan is checked against the snapshot's catalog now.
        if (planned.kind === 'copy' && !txn.catalogChecked && (await txn.catalog()).version !== p.planned.version) continue;
        if (planned.kind === 'explain') {
          // Plain EXPLAIN reads nothing, so its plan is checked against the snapshot's catalog as COPY's is.
          if (!planned.options.analyze && !txn.catalogChecked && (await txn.catalog()).version !== p.planned.version) continue;
          const { target } = planned;
          const exec = this.execContext(txn, params, target.kind === 'query' ? target.plan.subqueries : target.subqueries, target.kind === 'query');
          memory = exec.memory;
          return { kind: 'rows', rows: await runExplain(planned, exec), tag: 'EXPLAIN', iterator: null };
        }
        let exec = this.execContext(txn, params, planned.kind === 'query' ? planned.plan.subqueries : planned.subqueries, planned.kind === 'query');
        memory = exec.memory;
        await exec.subqueries.prepare(exec);
        if (planned.kind === 'query') exec = await this.takeAdvisoryLocks(planned.plan.root, exec);
        if (planned.kind === 'copy') {
          memory = null;
          return { kind: 'copy', copy: releasing(copyExecution(planned.plan, exec), exec.memory) };
        }
        if (planned.kind === 'write') {
          const result = await executeWrite(planned.plan, exec);
          await this.applySetvals();
          const tag = planned.plan.kind === 'insert' ? `INSERT 0 ${result.count}` : `${planned.plan.kind.toUpperCase()} ${result.count}`;
          return { kind: 'rows', rows: result.rows, tag, iterator: null };
        }
        const iterator = run(planned.plan.root, exec);
        // FOR UPDATE locks every row before one goes out, so that a row lock's wait can still run the query again.
        if (planned.plan.locksRows) {
          const rows = await drained(iterator, exec.memory);
          await this.applySetvals();
          return { kind: 'rows', rows, tag: 'SELECT', iterator: null };
        }
        // The first batch reads first, so a stale catalog shows here, before any row went out.
        const first = await iterator.next();
        if (first.done) return { kind: 'rows', rows: [], tag: 'SELECT', iterator: null };
        if (this.pendingSetvals.length) {
          // `SELECT setval(…)`: its one row is sent once the value is written.
          const rows = [...first.value, ...(await drained(iterator, exec.memory))];
          await this.applySetvals();
          return { kind: 'rows', rows, tag: 'SELECT', iterator: null };
        }
        // The portal closes the budget once the rows are read or it is closed.
        memory = null;
        return { kind: 'rows', rows: first.value, tag: 'SELECT', iterator: restartsAsConflicts(iterator), memory: exec.memory };
      } catch (err) {
        if (err instanceof StaleCatalog && attempt < MAX_STATEMENT_ATTEMPTS) continue;
        if (err instanceof RestartStatement) {
          if (++restarts > MAX_STATEMENT_RESTARTS) {
            throw new SqlError(SQLSTATE.SERIALIZATION_FAILURE, 'could not serialize access due to concurrent update', {
              detail: `the statement waited for row locks and ran again ${MAX_STATEMENT_RESTARTS} times`,
              hint: 'The transaction might succeed if retried.',
            });
          }
          memory?.close();
          memory = null;
          await txn.restartStatement(statementStart);
          attempt--;
          continue;
        }
        throw err;
      } finally {
        memory?.close();
      }
    }
  }

  /** FETCH streams the cursor's rows; MOVE only counts them. */
  private async fetch(stmt: FetchStmt): Promise<Execution> {
    const cursor = this.cursors.get(stmt.portalname ?? '');
    if (!stmt.ismove) return { kind: 'rows', rows: [], tag: 'FETCH', iterator: batchesOf(cursor.fetch(stmt, true)) };
    const moving = cursor.fetch(stmt, false);
    for (;;) {
      const next = await moving.next();
      if (next.done) return { kind: 'done', tag: `MOVE ${next.value}` };
    }
  }

  private execContext(txn: SqlTxn, params: readonly Datum[], subqueryPlans: readonly Subquery[], readOnly: boolean): ExecContext {
    const reserved = new Map<number, bigint[]>();
    const engine = this.engine;
    const subqueries = new Subqueries(subqueryPlans);
    const evalCtx: EvalContext = {
      params,
      timeZone: this.settings.timeZone,
      statementTimestamp: timestampNow(),
      transactionTimestamp: txn.timestamp,
      subqueries,
      sequences: {
        next: (id) => {
          const v = reserved.get(id)?.shift();
          if (v === undefined) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'nextval is only supported in INSERT values and defaults');
          this.sequenceValues.set(id, v);
          this.lastSequenceValue = v;
          return v;
        },
        current: (id) => {
          const v = this.sequenceValues.get(id);
          if (v === undefined) {
            throw new SqlError(SQLSTATE.OBJECT_NOT_IN_PREREQUISITE_STATE, `currval of sequence "${this.sequenceOf(txn, id).name}" is not yet defined in this session`);
          }
          return v;
        },
        last: () => {
          if (this.lastSequenceValue === null) throw new SqlError(SQLSTATE.OBJECT_NOT_IN_PREREQUISITE_STATE, 'lastval is not yet defined in this session');
          return this.lastSequenceValue;
        },
        set: (id, value, isCalled) => {
          const sequence = this.sequenceOf(txn, id);
          const { min, max } = sequenceBounds(txn.planningCatalog, sequence);
          if (value < min || value > max) {
            throw new SqlError(SQLSTATE.NUMERIC_VALUE_OUT_OF_RANGE, `setval: value ${value} is out of bounds for sequence "${sequence.name}" (${min}..${max})`);
          }
          this.pendingSetvals.push({ sequence, value, isCalled });
          if (isCalled) this.sequenceValues.set(id, value);
          return value;
        },
      },
      uniqueRowId: () => engine.uniqueRowId(),
      settings: {
        get: (name) => this.show(name),
        set: (name, value, local) => {
          this.settings.set(name, value, local ? 'local' : 'session');
          const now = this.show(name);
          // Outside a block the transaction ends with the statement, and a local value with it.
          if (local && !this.explicit) this.settings.commitTransaction();
          return now;
        },
      },
      outer: [],
    };
    const catalog = txn.planningCatalog;
    const checkCancel = (): void => {
      if (this.cancelled) throw new SqlError(SQLSTATE.QUERY_CANCELED, 'canceling statement due to user request');
      if (Date.now() >= this.statementDeadline) throw new SqlError(SQLSTATE.QUERY_CANCELED, 'canceling statement due to statement timeout');
    };
    return {
      txn,
      ks: this.engine.ks,
      types: catalog,
      eval: evalCtx,
      subqueries,
      scanCache: readOnly ? new Map() : null,
      memory: this.budget(),
      checkCancel,
      lockRows: (rows, onBusy) => txn.lockRows(rows, { checkCancel, lockTimeoutMs: this.settings.lockTimeoutMs, ...(onBusy && { onBusy }) }),
      sequences: {
        async reserve(id, count) {
          if (count <= 0) return;
          const seq = catalog.byIdOf(id);
          if (seq?.kind !== 'sequence') throw new SqlError(SQLSTATE.UNDEFINED_TABLE, `sequence with id ${id} does not exist`);
          const values = await engine.reserveSequence(seq, count);
          reserved.set(id, [...(reserved.get(id) ?? []), ...values]);
        },
      },
    };
  }

  private sequenceOf(txn: SqlTxn, id: number): SequenceDescriptor {
    const seq = txn.planningCatalog.byIdOf(id);
    if (seq?.kind !== 'sequence') throw new SqlError(SQLSTATE.UNDEFINED_TABLE, `sequence with id ${id} does not exist`);
    return seq;
  }

  /** Writes the running statement's setval calls, in order (outside its transaction, as PostgreSQL's). */
  private async applySetvals(): Promise<void> {
    for (const { sequence, value, isCalled } of this.pendingSetvals.splice(0)) await this.engine.setSequence(sequence, value, isCalled);
  }

  /**
   * The advisory lock calls in the select list of a SELECT without FROM or
   * WHERE (what migration tools send), taken in order before evaluation,
   * which then returns their outcomes (./locks/functions.ts). Elsewhere a
   * call fails with 0A000 when evaluated.
   */
  private async takeAdvisoryLocks(root: PlanNode, exec: ExecContext): Promise<ExecContext> {
    if (root.kind !== 'project' || root.input.kind !== 'values' || root.input.rows.length !== 1 || root.input.rows[0]?.length !== 0) return exec;
    const outcomes = new Map<object, Datum>();
    for (const e of root.exprs) {
      const f = e.kind === 'call' ? advisoryFunctionOf(e.fn) : undefined;
      if (e.kind !== 'call' || !f) continue;
      const args = e.args.map((a) => compile(a)([], exec.eval));
      outcomes.set(e.fn, args.includes(null) ? null : await this.advisoryLock(f, args, exec.checkCancel));
    }
    return outcomes.size === 0 ? exec : { ...exec, eval: { ...exec.eval, advisoryLocks: outcomes } };
  }

  private async advisoryLock(f: AdvisoryFunction, args: readonly Datum[], checkCancel: () => void): Promise<Datum> {
    switch (f.action) {
      case 'lock':
        await this.locks.lock(lockTag(args), f.mode, f.scope, checkCancel);
        return '';
      case 'try':
        return this.locks.tryLock(lockTag(args), f.mode, f.scope);
      case 'unlock': {
        const released = await this.locks.unlock(lockTag(args), f.mode);
        if (!released) this.notices.push({ severity: 'WARNING', code: SQLSTATE.WARNING, message: `you don't own a lock of type ${f.mode === 'shared' ? 'ShareLock' : 'ExclusiveLock'}` });
        return released;
      }
      case 'unlockAll':
        await this.locks.unlockAll();
        return '';
    }
  }

  private budget(): MemoryBudget {
    const budget = new MemoryBudget(this.engine.memory, (b) => this.budgets.delete(b));
    this.budgets.add(budget);
    return budget;
  }

  private async ddl(node: Node, stmt: Statement, txn: SqlTxn): Promise<string> {
    if (('CreatedbStmt' in node || 'DropdbStmt' in node) && this.explicit) {
      throw new SqlError(SQLSTATE.ACTIVE_SQL_TRANSACTION, `${stmt.kind} cannot run inside a transaction block`);
    }
    const catalog = await txn.catalog();
    const exec = this.execContext(txn, [], [], false);
    // DDL evaluates expressions only: nothing it runs holds rows.
    exec.memory.close();
    const result = await executeDdl(node, {
      txn,
      ks: this.engine.ks,
      catalog,
      names: this.names(),
      session: this.info(),
      params: new ParamTypes([]),
      position: stmt.position,
      eval: exec.eval,
      notice: (n) => this.notices.push(n),
    });
    txn.adopt(result.catalog);
    return result.tag;
  }

  /** CREATE TABLE … AS / SELECT … INTO: the table from the query's columns, then INSERT … SELECT in the same transaction. */
  private async createTableAs(ctas: CreateTableAs, stmt: Statement, txn: SqlTxn, paramTypes: readonly SqlType[], params: readonly Datum[]): Promise<string> {
    const query = this.plan({ node: ctas.query, position: stmt.position }, await txn.catalog(), new ParamTypes(paramTypes));
    if (query.kind !== 'query') throw new SqlError(SQLSTATE.INTERNAL_ERROR, 'CREATE TABLE … AS needs a query');
    const before = txn.planningCatalog;
    await this.ddl(createStatement(ctas, query.plan.columns), stmt, txn);
    // IF NOT EXISTS found the table: nothing was created, nothing goes in.
    if (txn.planningCatalog === before || ctas.into.skipData) return 'CREATE TABLE AS';
    const insert = this.plan({ node: insertStatement(ctas), position: stmt.position }, txn.planningCatalog, new ParamTypes(paramTypes));
    if (insert.kind !== 'write') throw new SqlError(SQLSTATE.INTERNAL_ERROR, 'CREATE TABLE … AS needs an INSERT');
    const exec = this.execContext(txn, params, insert.subqueries, false);
    try {
      await exec.subqueries.prepare(exec);
      const result = await executeWrite(insert.plan, exec);
      return `SELECT ${result.count}`;
    } finally {
      exec.memory.close();
    }
  }

  private async transactionControl(kind: string, savepoint: string): Promise<string> {
    switch (kind) {
      case 'TRANS_STMT_BEGIN':
      case 'TRANS_STMT_START':
        if (this.explicit) {
          this.notices.push({ severity: 'WARNING', code: SQLSTATE.ACTIVE_SQL_TRANSACTION, message: 'there is already a transaction in progress' });
        }
        if (!this.explicit) this.settingsAtBegin = this.settings.mark();
        this.explicit = true;
        return kind === 'TRANS_STMT_BEGIN' ? 'BEGIN' : 'START TRANSACTION';
      case 'TRANS_STMT_COMMIT': {
        if (!this.explicit) {
          this.notices.push({ severity: 'WARNING', code: SQLSTATE.NO_ACTIVE_SQL_TRANSACTION, message: 'there is no transaction in progress' });
          return 'COMMIT';
        }
        const txn = this.txn;
        const failed = this.failed;
        const settingsAtBegin = this.settingsAtBegin;
        // Detached first: resetting gives up an open transaction's row locks, which this one keeps until it has committed.
        this.txn = null;
        this.resetTransaction();
        let committed = false;
        try {
          if (failed) return 'ROLLBACK';
          if (txn) {
            // WITH HOLD cursors read the rest of their rows while the transaction's snapshot is still there.
            await this.cursors.beforeCommit();
            await txn.commit();
          }
          committed = true;
          return 'COMMIT';
        } finally {
          txn?.abandon();
          this.cursors.endTransaction(committed);
          if (committed) this.settings.commitTransaction();
          else if (settingsAtBegin) this.settings.restore(settingsAtBegin);
          await this.locks.endTransaction();
        }
      }
      case 'TRANS_STMT_ROLLBACK':
        if (!this.explicit) {
          this.notices.push({ severity: 'WARNING', code: SQLSTATE.NO_ACTIVE_SQL_TRANSACTION, message: 'there is no transaction in progress' });
        }
        if (this.settingsAtBegin) this.settings.restore(this.settingsAtBegin);
        this.resetTransaction();
        this.cursors.endTransaction(false);
        await this.locks.endTransaction();
        return 'ROLLBACK';
      case 'TRANS_STMT_SAVEPOINT':
        if (!this.explicit) throw new SqlError(SQLSTATE.NO_ACTIVE_SQL_TRANSACTION, 'SAVEPOINT can only be used in transaction blocks');
        this.savepoints.push({ name: savepoint, mark: this.ensureTxn().mark(), settings: this.settings.mark(), cursors: this.cursors.mark() });
        return 'SAVEPOINT';
      case 'TRANS_STMT_RELEASE':
        this.savepoints.length = this.savepointIndex('RELEASE SAVEPOINT', savepoint);
        return 'RELEASE';
      case 'TRANS_STMT_ROLLBACK_TO': {
        const at = this.savepointIndex('ROLLBACK TO SAVEPOINT', savepoint);
        const target = this.savepoints[at];
        // The savepoint stays (it can be rolled back to again); the ones made after it are gone.
        this.savepoints.length = at + 1;
        if (target) {
          this.ensureTxn().rollbackTo(target.mark);
          this.settings.restore(target.settings);
          this.cursors.rollbackTo(target.cursors);
        }
        this.failed = false;
        return 'ROLLBACK';
      }
      default:
        throw unsupportedTransactionStatement(kind);
    }
  }

  /** Where the newest savepoint of that name is on the stack (as PostgreSQL, a reused name hides the older one). */
  private savepointIndex(statement: string, name: string): number {
    if (!this.explicit) throw new SqlError(SQLSTATE.NO_ACTIVE_SQL_TRANSACTION, `${statement} can only be used in transaction blocks`);
    const at = this.savepoints.findLastIndex((s) => s.name === name);
    if (at < 0) throw new SqlError(SQLSTATE.INVALID_SAVEPOINT_SPECIFICATION, `savepoint "${name}" does not exist`);
    return at;
  }

  private resetTransaction(): void {
    this.txn?.abandon();
    this.txn = null;
    this.savepoints = [];
    this.settingsAtBegin = null;
    this.explicit = false;
    this.failed = false;
    this.implicitFailed = false;
  }

  private set(stmt: Extract<Node, { VariableSetStmt: unknown }>['VariableSetStmt']): string {
    const tag = this.applySet(stmt, stmt.is_local ? 'local' : 'session');
    if (stmt.is_local && !this.explicit) {
      // Outside a block its transaction ends right here: the value was checked, and is gone again.
      this.settings.commitTransaction();
      this.notices.push({ severity: 'WARNING', code: SQLSTATE.NO_ACTIVE_SQL_TRANSACTION, message: 'SET LOCAL can only be used in transaction blocks' });
    }
    return tag;
  }

  private applySet(stmt: Extract<Node, { VariableSetStmt: unknown }>['VariableSetStmt'], scope: SettingScope): string {
    const name = stmt.name ?? '';
    switch (stmt.kind) {
      case 'VAR_RESET':
        this.settings.set(name, null);
        return 'RESET';
      case 'VAR_RESET_ALL':
        for (const n of ['search_path', 'timezone', 'application_name', 'extra_float_digits', 'statement_timeout']) this.settings.set(n, null);
        return 'RESET';
      case 'VAR_SET_DEFAULT':
        this.settings.set(name, null, scope);
        return 'SET';
      case 'VAR_SET_MULTI':
        // SET TRANSACTION / SESSION CHARACTERISTICS: every transaction is SERIALIZABLE already.
        return 'SET';
      case 'VAR_SET_CURRENT':
        throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'SET … FROM CURRENT is not supported');
      default: {
        const values = (stmt.args ?? []).map(settingValue);
        const lower = name.toLowerCase();
        if (lower === 'transaction_isolation') return 'SET';
        this.settings.set(name, lower === 'search_path' ? values.map((v) => (/^[a-z_][a-z0-9_$]*$/.test(v) ? v : `"${v}"`)).join(', ') : values.join(', '), scope);
        return 'SET';
      }
    }
  }

  private show(name: string): string {
    const lower = name.toLowerCase();
    if (lower === 'all') throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'SHOW ALL is not supported yet');
    if (lower === 'transaction_isolation' || lower === 'transaction isolation level') return 'serializable';
    return this.settings.get(lower === 'time zone' ? 'timezone' : lower);
  }

  encode(rows: readonly Row[], columns: readonly ResultColumn[] | null, types: readonly SqlType[]): EncodedRow[] {
    if (!columns) return [];
    const ctx = { timeZone: this.settings.timeZone };
    return rows.map((row) =>
      columns.map((c, i) => {
        const v = row[i] ?? null;
        if (v === null) return null;
        const type = types[i] ?? T.text;
        return c.format === 1 ? formatBinary(type, v) : Buffer.from(formatText(type, v, ctx), 'utf8');
      }),
    );
  }
}

type Execution =
  | { readonly kind: 'empty' }
  | { readonly kind: 'done'; readonly tag: string }
  | { readonly kind: 'copy'; readonly copy: CopyIn | CopyOut }
  | {
      readonly kind: 'rows';
      readonly rows: Row[];
      readonly tag: string;
      readonly iterator: AsyncGenerator<Row[], void, undefined> | null;
      /** What the running query holds; closed when it ends. */
      readonly memory?: MemoryBudget;
    };

/** A cursor's rows: its uncorrelated subqueries, too, are computed at the first FETCH, not at DECLARE. */
async function* cursorRows(root: PlanNode, exec: ExecContext): AsyncGenerator<Row[], void, undefined> {
  await exec.subqueries.prepare(exec);
  yield* restartsAsConflicts(run(root, exec));
}

/** The rest of a query's rows (all of a FOR UPDATE query's), held within the statement's memory budget. */
async function drained(batches: AsyncGenerator<Row[], void, undefined>, memory: MemoryBudget): Promise<Row[]> {
  const account = memory.account('LockRows');
  const rows: Row[] = [];
  for await (const batch of batches) {
    for (const row of batch) account.grow(rowBytes(row));
    rows.push(...batch);
  }
  return rows;
}

/**
 * Rows of a query some of whose rows were already sent: it cannot run again,
 * so a row it must lock that another transaction changed is a serialization
 * failure, as a conflict at COMMIT would be.
 */
async function* restartsAsConflicts(batches: AsyncGenerator<Row[], void, undefined>): AsyncGenerator<Row[], void, undefined> {
  try {
    yield* batches;
  } catch (err) {
    if (!(err instanceof RestartStatement)) throw err;
    throw new SqlError(SQLSTATE.SERIALIZATION_FAILURE, 'could not serialize access due to concurrent update', {
      detail: 'a row the query locks was changed by a transaction that committed after the query had started sending rows',
      hint: 'The transaction might succeed if retried.',
    });
  }
}

async function* batchesOf(rows: AsyncGenerator<Row[], unknown, undefined>): AsyncGenerator<Row[], void, undefined> {
  yield* rows;
}

/** A COPY whose statement's memory is given back when it has run. */
function releasing(copy: CopyIn | CopyOut, memory: MemoryBudget): CopyIn | CopyOut {
  if (copy.kind === 'copyIn') return { ...copy, run: (data: AsyncIterable<Buffer>) => copy.run(data).finally(() => memory.close()) };
  return { ...copy, run: (send: (lines: readonly Buffer[]) => Promise<void>) => copy.run(send).finally(() => memory.close()) };
}

class SessionPortal implements Portal {
  private execution: Execution | null = null;
  private buffer: Row[] = [];
  private sent = 0;
  private finished = false;
  private types: readonly SqlType[] = [];
  columns: readonly ResultColumn[] | null = null;

  constructor(
    private readonly session: Session,
    private readonly prepared: Prepared,
    private readonly params: readonly Datum[],
    private readonly resultFormats: readonly FormatCode[],
  ) {
    this.shape();
  }

  /** Starts the statement (at Bind for queries, else at the first Execute). */
  async begin(reshape: boolean): Promise<void> {
    if (this.execution) return;
    this.execution = await this.session.start(this.prepared, this.params, reshape);
    if (this.execution.kind === 'rows') this.buffer = this.execution.rows;
    this.shape();
  }

  private shape(): void {
    const cols = this.prepared.columns;
    const formats = this.resultFormats;
    // A BINARY cursor's FETCH is binary whatever the client asked for.
    this.columns = cols?.map((c, i) => ({ ...c, format: c.format === 1 ? 1 : ((formats.length === 1 ? formats[0] : (formats[i] ?? 0)) ?? 0) })) ?? null;
    this.types = (cols ?? []).map((c) => ({ ...(typeByOid(c.typeOid) ?? T.text), typmod: c.typeModifier }));
  }

  async execute(maxRows: number): Promise<ExecuteResult> {
    await this.begin(false);
    const ex = this.execution;
    if (!ex) return { kind: 'empty' };
    if (ex.kind === 'empty') return { kind: 'empty' };
    if (ex.kind === 'done') return { kind: 'complete', rows: [], commandTag: ex.tag };
    if (ex.kind === 'copy') return ex.copy;
    const limit = maxRows > 0 ? maxRows : Infinity;
    const out: Row[] = [];
    while (out.length < limit) {
      if (this.buffer.length === 0) {
        if (this.finished || !ex.iterator) break;
        let next: IteratorResult<Row[], void>;
        try {
          next = await ex.iterator.next();
        } catch (err) {
          this.finished = true;
          ex.memory?.close();
          throw err;
        }
        if (next.done) {
          this.finished = true;
          ex.memory?.close();
          break;
        }
        this.buffer = next.value;
        continue;
      }
      const take = Math.min(limit - out.length, this.buffer.length);
      out.push(...this.buffer.slice(0, take));
      this.buffer = this.buffer.slice(take);
    }
    this.sent += out.length;
    const rows = this.session.encode(out, this.columns, this.types);
    const more = this.buffer.length > 0 || (!this.finished && ex.iterator !== null);
    if (more && out.length >= limit) return { kind: 'suspended', rows };
    const tag = ex.tag === 'SELECT' || ex.tag === 'FETCH' ? `${ex.tag} ${this.sent}` : ex.tag;
    return { kind: 'complete', rows, commandTag: tag };
  }

  close(): void {
    const ex = this.execution;
    if (ex?.kind === 'rows' && ex.iterator && !this.finished) {
      // Closing the iterator lets its operators give back what they hold; the budget's rest goes after.
      const memory = ex.memory;
      const release = (): void => memory?.close();
      void ex.iterator.return(undefined).then(release, release);
    }
    this.buffer = [];
    this.finished = true;
  }
}

function columnsOf(stmt: Statement, planned: Planned): ResultColumn[] | null {
  const node = stmt.node;
  if (node && 'VariableShowStmt' in node) {
    const name = (node.VariableShowStmt.name ?? '').toLowerCase();
    return [resultColumn({ name: name === 'timezone' ? 'TimeZone' : name, type: T.text, tableOid: 0, columnNumber: 0 })];
  }
  if (planned.kind === 'query') return planned.plan.columns.map(resultColumn);
  if (planned.kind === 'explain') return [resultColumn(EXPLAIN_COLUMN)];
  if (planned.kind === 'write' && planned.plan.returning) return planned.plan.returning.columns.map(resultColumn);
  if (planned.kind === 'execute') return planned.target.columns ? [...planned.target.columns] : null;
  if (planned.kind === 'fetch') return planned.columns ? [...planned.columns] : null;
  return null;
}

function resultColumn(c: OutputColumn): ResultColumn {
  return { name: c.name, tableOid: c.tableOid, columnNumber: c.columnNumber, typeOid: c.type.oid, typeSize: c.type.typeSize, typeModifier: c.type.typmod, format: 0 };
}

function sameColumns(a: readonly ResultColumn[] | null, b: readonly ResultColumn[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((c, i) => c.typeOid === b[i]?.typeOid && c.name === b[i]?.name);
}

function settingValue(n: Node): string {
  if ('A_Const' in n) {
    const c = n.A_Const;
    if (c.sval) return c.sval.sval ?? '';
    if (c.ival) return String(c.ival.ival ?? 0);
    if (c.fval) return c.fval.fval ?? '';
    if (c.boolval) return c.boolval.boolval ? 'on' : 'off';
  }
  if ('TypeCast' in n && n.TypeCast.arg) return settingValue(n.TypeCast.arg);
  if ('String' in n) return n.String.sval ?? '';
  throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'SET value must be a constant');
}

function asStatement(s: ParsedStatement): Statement {
  if (!(s instanceof Statement)) throw new SqlError(SQLSTATE.INTERNAL_ERROR, 'statement was not parsed by this session');
  return s;
}

function asPrepared(p: PreparedStatement): Prepared {
  if (!(p instanceof Prepared)) throw new SqlError(SQLSTATE.INTERNAL_ERROR, 'statement was not prepared by this session');
  return p;
}
