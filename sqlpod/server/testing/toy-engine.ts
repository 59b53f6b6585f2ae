// A TOY engine that exists ONLY to test the wire-protocol layer
// (sqlpod/server) before the real engine (sqlpod/sql) exists. It is not SQL:
// it understands a handful of made-up statements, honestly implementing the
// SqlEngine/SqlSession contract for them. Never use it outside tests.
//
//   SELECT <int>               one int4 row
//   SELECT generate(<n>)       n int4 rows 1..n, column "n"
//   SELECT $1, $2::int, ...    echoes its parameters (text unless typed or ::int)
//   BEGIN | COMMIT | ROLLBACK  transaction blocks (COMMIT of a failed block rolls back)
//   FAIL <sqlstate> [FATAL]    fails when executed, position at the code
//   SLEEP <ms>                 waits; cancel() ends it with 57014
//   SET <name> = <value>       reports a ParameterStatus change
//   NOTICE <text>              raises a NOTICE
//   INSERT <n>                 no rows, tag INSERT 0 n
//   CONFLICT                   the implicit transaction's commit (Sync) fails with 40001
//   THROW                      throws a plain Error (an engine bug)
import { setTimeout as sleep } from 'node:timers/promises';
import { hashPassword } from '../../../shared/pgwire/index.js';
import { SQLSTATE, SqlError, type SqlState } from '../../sql/errors.js';
import type {
  EncodedRow,
  ExecuteResult,
  FormatCode,
  LoginRole,
  Notice,
  ParsedStatement,
  Portal,
  PreparedStatement,
  ResultColumn,
  SessionOptions,
  SqlEngine,
  SqlSession,
} from '../../sql/session-api.js';

const INT4 = 23;
const TEXT = 25;
const SQLSTATES = new Set<string>(Object.values(SQLSTATE));
const isSqlState = (s: string): s is SqlState => SQLSTATES.has(s);

type Value = number | string | null;

interface Plan {
  kind: string;
  paramTypes: number[];
  columns: { name: string; typeOid: number }[] | null;
  run(session: ToySession, params: Value[], signal: AbortSignal): Promise<{ rows: Value[][]; tag: string }>;
}

export interface ToyRole {
  password?: string;
  canLogin?: boolean;
}

export class ToyEngine implements SqlEngine {
  readonly sessions: ToySession[] = [];
  private readonly roles = new Map<string, LoginRole>();
  private readonly databases: Set<string>;

  constructor(options: { roles: Record<string, ToyRole>; databases: string[] }) {
    for (const [name, r] of Object.entries(options.roles)) {
      this.roles.set(name, {
        name,
        scramVerifier: r.password === undefined ? null : hashPassword(r.password),
        canLogin: r.canLogin ?? true,
      });
    }
    this.databases = new Set(options.databases);
  }

  findRole(name: string): Promise<LoginRole | null> {
    return Promise.resolve(this.roles.get(name) ?? null);
  }

  openSession(options: SessionOptions): Promise<SqlSession> {
    if (!this.databases.has(options.database)) {
      return Promise.reject(new SqlError(SQLSTATE.INVALID_CATALOG_NAME, `database "${options.database}" does not exist`));
    }
    const session = new ToySession(options);
    this.sessions.push(session);
    return Promise.resolve(session);
  }

  initialParameters(): ReadonlyMap<string, string> {
    return new Map([
      ['server_version', '16.0'],
      ['server_encoding', 'UTF8'],
      ['client_encoding', 'UTF8'],
      ['DateStyle', 'ISO, MDY'],
      ['TimeZone', 'UTC'],
      ['integer_datetimes', 'on'],
      ['standard_conforming_strings', 'on'],
    ]);
  }

  get openSessions(): number {
    return this.sessions.filter((s) => !s.closed).length;
  }
}

function column(c: { name: string; typeOid: number }, format: FormatCode): ResultColumn {
  return { name: c.name, tableOid: 0, columnNumber: 0, typeOid: c.typeOid, typeSize: c.typeOid === INT4 ? 4 : -1, typeModifier: -1, format };
}

function encode(v: Value, typeOid: number, format: FormatCode): Buffer | null {
  if (v === null) return null;
  if (typeOid === INT4 && format === 1) {
    const b = Buffer.alloc(4);
    b.writeInt32BE(Number(v));
    return b;
  }
  return Buffer.from(String(v));
}

function decode(raw: Buffer | null, typeOid: number, format: FormatCode, n: number): Value {
  if (raw === null) return null;
  if (typeOid !== INT4) return raw.toString('utf8');
  if (format === 1) {
    if (raw.length !== 4) throw new SqlError(SQLSTATE.INVALID_BINARY_REPRESENTATION, `incorrect binary data format in bind parameter ${n}`);
    return raw.readInt32BE(0);
  }
  const text = raw.toString('utf8');
  if (!/^\s*-?\d+\s*$/.test(text)) throw new SqlError(SQLSTATE.INVALID_TEXT_REPRESENTATION, `invalid input syntax for type integer: "${text}"`);
  return Number(text);
}

/** The engine's methods are async by contract; synchronous failures become rejections. */
function attempt<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

const done = (tag: string, rows: Value[][] = []): Promise<{ rows: Value[][]; tag: string }> => Promise.resolve({ rows, tag });

function analyze(sql: string, given: readonly number[]): Plan {
  let m: RegExpExecArray | null;
  if ((m = /^select\s+(-?\d+)$/i.exec(sql))) {
    const v = Number(m[1]);
    return { kind: 'SELECT', paramTypes: [], columns: [{ name: '?column?', typeOid: INT4 }], run: () => done('SELECT', [[v]]) };
  }
  if ((m = /^select\s+generate\((\d+)\)$/i.exec(sql))) {
    const n = Number(m[1]);
    const rows = Array.from({ length: n }, (_, i) => [i + 1]);
    return { kind: 'SELECT', paramTypes: [], columns: [{ name: 'n', typeOid: INT4 }], run: () => done('SELECT', rows) };
  }
  if ((m = /^select\s+(\$\d+(?:::int)?(?:\s*,\s*\$\d+(?:::int)?)*)$/i.exec(sql))) {
    const refs = (m[1] ?? '').split(',').map((r) => ({ n: Number(/\$(\d+)/.exec(r)?.[1]), int: r.includes('::') }));
    const count = Math.max(...refs.map((r) => r.n));
    const paramTypes = Array.from({ length: count }, (_, i) => {
      const typed = given[i] ?? 0;
      return typed !== 0 ? typed : refs.some((r) => r.n === i + 1 && r.int) ? INT4 : TEXT;
    });
    return {
      kind: 'SELECT',
      paramTypes,
      columns: refs.map((r) => ({ name: '?column?', typeOid: paramTypes[r.n - 1] ?? TEXT })),
      run: (_s, params) => done('SELECT', [refs.map((r) => params[r.n - 1] ?? null)]),
    };
  }
  if (/^(begin|start transaction)$/i.test(sql)) return { kind: 'BEGIN', paramTypes: [], columns: null, run: (s) => s.begin() };
  if (/^(commit|end)$/i.test(sql)) return { kind: 'COMMIT', paramTypes: [], columns: null, run: (s) => s.commit() };
  if (/^rollback$/i.test(sql)) return { kind: 'ROLLBACK', paramTypes: [], columns: null, run: (s) => s.rollback() };
  if ((m = /^fail\s+(\w{5})(\s+fatal)?$/i.exec(sql)) && isSqlState(m[1] ?? '')) {
    const code = m[1] as SqlState;
    const fatal = m[2] !== undefined;
    const position = sql.indexOf(code) + 1;
    return {
      kind: 'FAIL',
      paramTypes: [],
      columns: null,
      run: () => Promise.reject(new SqlError(code, `toy failure ${code}`, { position, detail: 'asked for', ...(fatal ? { severity: 'FATAL' } : {}) })),
    };
  }
  if ((m = /^sleep\s+(\d+)$/i.exec(sql))) {
    const ms = Number(m[1]);
    return {
      kind: 'SLEEP',
      paramTypes: [],
      columns: null,
      run: async (_s, _p, signal) => {
        try {
          await sleep(ms, undefined, { signal });
        } catch {
          throw new SqlError(SQLSTATE.QUERY_CANCELED, 'canceling statement due to user request');
        }
        return { rows: [], tag: 'SLEEP' };
      },
    };
  }
  if ((m = /^set\s+(\w+)\s*(?:=|\s+to\s+)\s*'?([^']*)'?$/i.exec(sql))) {
    const [name = '', value = ''] = [m[1], m[2]];
    return { kind: 'SET', paramTypes: [], columns: null, run: (s) => (s.setParameter(name, value), done('SET')) };
  }
  if ((m = /^notice\s+(.*)$/is.exec(sql))) {
    const message = m[1] ?? '';
    return { kind: 'DO', paramTypes: [], columns: null, run: (s) => (s.notice(message), done('DO')) };
  }
  if ((m = /^insert\s+(\d+)$/i.exec(sql))) {
    const tag = `INSERT 0 ${m[1]}`;
    return { kind: 'INSERT', paramTypes: [], columns: null, run: () => done(tag) };
  }
  if (/^conflict$/i.test(sql)) return { kind: 'UPDATE', paramTypes: [], columns: null, run: (s) => s.conflict() };
  if (/^throw$/i.test(sql)) return { kind: 'THROW', paramTypes: [], columns: null, run: () => Promise.reject(new Error('toy engine bug')) };
  const word = /^\S*/.exec(sql)?.[0] ?? '';
  throw new SqlError(SQLSTATE.SYNTAX_ERROR, `syntax error at or near "${word}"`, { position: 1 });
}

interface ToyPrepared extends PreparedStatement {
  readonly plan: Plan;
}

export class ToySession implements SqlSession {
  closed = false;
  /** Whether close() found an open transaction block to roll back. */
  rolledBackOnClose = false;
  cancels = 0;
  prepares = 0;
  private block: 'none' | 'open' | 'failed' = 'none';
  private implicitFailed = false;
  private pendingConflict = false;
  private notices: Notice[] = [];
  private changes = new Map<string, string>();
  private running: AbortController | undefined;

  constructor(readonly options: SessionOptions) {
    const appName = options.parameters.get('application_name');
    if (appName !== undefined) this.changes.set('application_name', appName);
  }

  get transactionStatus(): 'I' | 'T' | 'E' {
    return this.block === 'open' ? 'T' : this.block === 'failed' ? 'E' : 'I';
  }

  parse(sql: string): readonly ParsedStatement[] {
    const out: ParsedStatement[] = [];
    let start = 0;
    let quote = -1;
    const push = (end: number): void => {
      const text = sql.slice(start, end).trim();
      if (text) out.push({ sql: text, kind: (/^\w+/.exec(text)?.[0] ?? '').toUpperCase() });
    };
    for (let i = 0; i < sql.length; i++) {
      const ch = sql[i];
      if (ch === "'") quote = quote < 0 ? i : -1;
      else if (ch === ';' && quote < 0) {
        push(i);
        start = i + 1;
      }
    }
    if (quote >= 0) {
      throw new SqlError(SQLSTATE.SYNTAX_ERROR, `unterminated quoted string at or near "${sql.slice(quote)}"`, { position: quote + 1 });
    }
    push(sql.length);
    return out;
  }

  prepare(statement: ParsedStatement, paramTypeOids: readonly number[]): Promise<PreparedStatement> {
    this.prepares++;
    return attempt(() => {
      const plan = analyze(statement.sql, paramTypeOids);
      if (this.block === 'failed' && plan.kind !== 'COMMIT' && plan.kind !== 'ROLLBACK') {
        throw new SqlError(SQLSTATE.IN_FAILED_SQL_TRANSACTION, 'current transaction is aborted, commands ignored until end of transaction block');
      }
      const prepared: ToyPrepared = { statement, paramTypeOids: plan.paramTypes, columns: plan.columns?.map((c) => column(c, 0)) ?? null, plan };
      return prepared;
    });
  }

  bind(
    prepared: PreparedStatement,
    params: readonly (Buffer | null)[],
    paramFormats: readonly FormatCode[],
    resultFormats: readonly FormatCode[],
  ): Promise<Portal> {
    return attempt(() => {
      const { plan } = prepared as ToyPrepared;
      const values = params.map((p, i) => decode(p, plan.paramTypes[i] ?? TEXT, paramFormats[i] ?? 0, i + 1));
      return new ToyPortal(this, plan, values, resultFormats);
    });
  }

  sync(): Promise<void> {
    if (this.block !== 'none') return Promise.resolve();
    const conflict = this.pendingConflict && !this.implicitFailed;
    this.pendingConflict = false;
    this.implicitFailed = false;
    if (conflict) return Promise.reject(new SqlError(SQLSTATE.SERIALIZATION_FAILURE, 'could not serialize access due to concurrent update'));
    return Promise.resolve();
  }

  fail(): void {
    if (this.block === 'open') this.block = 'failed';
    else if (this.block === 'none') this.implicitFailed = true;
  }

  takeNotices(): Notice[] {
    const n = this.notices;
    this.notices = [];
    return n;
  }

  takeParameterChanges(): ReadonlyMap<string, string> {
    const c = this.changes;
    this.changes = new Map();
    return c;
  }

  cancel(): void {
    this.cancels++;
    this.running?.abort();
  }

  close(): Promise<void> {
    this.rolledBackOnClose = this.block !== 'none';
    this.block = 'none';
    this.closed = true;
    return Promise.resolve();
  }

  async run(plan: Plan, params: Value[]): Promise<{ rows: Value[][]; tag: string }> {
    const controller = new AbortController();
    this.running = controller;
    try {
      return await plan.run(this, params, controller.signal);
    } finally {
      this.running = undefined;
    }
  }

  begin(): Promise<{ rows: Value[][]; tag: string }> {
    if (this.block !== 'none') this.notice('there is already a transaction in progress', 'WARNING');
    else this.block = 'open';
    return done('BEGIN');
  }

  commit(): Promise<{ rows: Value[][]; tag: string }> {
    const failed = this.block === 'failed';
    const conflict = this.pendingConflict && this.block === 'open';
    this.block = 'none';
    this.pendingConflict = false;
    if (conflict) return Promise.reject(new SqlError(SQLSTATE.SERIALIZATION_FAILURE, 'could not serialize access due to concurrent update'));
    return done(failed ? 'ROLLBACK' : 'COMMIT');
  }

  rollback(): Promise<{ rows: Value[][]; tag: string }> {
    this.block = 'none';
    this.pendingConflict = false;
    return done('ROLLBACK');
  }

  conflict(): Promise<{ rows: Value[][]; tag: string }> {
    this.pendingConflict = true;
    return done('UPDATE 1');
  }

  setParameter(name: string, value: string): void {
    this.changes.set(name, value);
  }

  notice(message: string, severity: Notice['severity'] = 'NOTICE'): void {
    this.notices.push({ severity, code: severity === 'WARNING' ? '25001' : '00000', message });
  }
}

class ToyPortal implements Portal {
  readonly columns: readonly ResultColumn[] | null;
  private rows: Value[][] | undefined;
  private tag = '';
  private at = 0;

  constructor(
    private readonly session: ToySession,
    private readonly plan: Plan,
    private readonly params: Value[],
    private readonly formats: readonly FormatCode[],
  ) {
    this.columns = plan.columns?.map((c, i) => column(c, formats[i] ?? 0)) ?? null;
  }

  async execute(maxRows: number): Promise<ExecuteResult> {
    if (!this.rows) {
      const result = await this.session.run(this.plan, this.params);
      this.rows = result.rows;
      this.tag = result.tag;
    }
    // Like PostgreSQL: having produced exactly maxRows, the portal suspends without looking further.
    const take = maxRows > 0 ? Math.min(maxRows, this.rows.length - this.at) : this.rows.length - this.at;
    const slice = this.rows.slice(this.at, this.at + take);
    this.at += take;
    const encoded: EncodedRow[] = slice.map((row) =>
      row.map((v, i) => encode(v, this.plan.columns?.[i]?.typeOid ?? TEXT, this.formats[i] ?? 0)),
    );
    if (maxRows > 0 && take === maxRows) return { kind: 'suspended', rows: encoded };
    return { kind: 'complete', rows: encoded, commandTag: this.tag === 'SELECT' ? `SELECT ${take}` : this.tag };
  }

  close(): void {
    this.rows = [];
  }
}
