// The system tenant's SQL server in the demo: the wire server of a SQL pod in
// front of an engine that only manages virtual clusters. Only the system
// admin may log in.
import { hashPassword } from '../../shared/pgwire/scram.js';
import { SQLSTATE, SqlError } from '../../sqlpod/sql/errors.js';
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
} from '../../sqlpod/sql/session-api.js';
import { T, formatBinary, formatText, type Datum, type SqlType } from '../../sqlpod/sql/types/index.js';
import { parseSystemStatement, splitStatements, type SystemStatement } from './statements.js';

/** A virtual cluster as SHOW VIRTUAL CLUSTERS lists it. */
export interface VirtualClusterView {
  readonly name: string;
  readonly id: number;
  /** 'suspended' (no pod), 'resuming' (pods starting), 'running', 'draining' (pods on their way out), 'system'. */
  readonly state: string;
  /** The desired pod count. */
  readonly replicas: number;
  /** Pods serving SQL now. */
  readonly pods: number;
}

export type VirtualClusterErrorCode = 'EXISTS' | 'NOT_FOUND' | 'INVALID_NAME' | 'RESERVED' | 'FAILED';

export class VirtualClusterError extends Error {
  override readonly name = 'VirtualClusterError';
  constructor(
    readonly code: VirtualClusterErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** What the system interface drives: the local orchestrator in the demo. */
export interface VirtualClusters {
  create(name: string): Promise<VirtualClusterView>;
  /** Drains and stops its pods and destroys its keyspace. */
  drop(name: string): Promise<void>;
  list(): VirtualClusterView[];
}

const SQLSTATE_OF: Readonly<Record<VirtualClusterErrorCode, SqlError['code']>> = {
  EXISTS: SQLSTATE.DUPLICATE_OBJECT,
  NOT_FOUND: SQLSTATE.UNDEFINED_OBJECT,
  INVALID_NAME: SQLSTATE.INVALID_NAME,
  RESERVED: SQLSTATE.INVALID_NAME,
  FAILED: SQLSTATE.SYSTEM_ERROR,
};

const SHOW_COLUMNS: readonly { name: string; type: SqlType }[] = [
  { name: 'name', type: T.text },
  { name: 'id', type: T.int8 },
  { name: 'state', type: T.text },
  { name: 'replicas', type: T.int4 },
  { name: 'pods', type: T.int4 },
];

export interface SystemEngineOptions {
  readonly clusters: VirtualClusters;
  readonly admin: { readonly username: string; readonly password: string };
}

export class SystemEngine implements SqlEngine {
  private readonly role: LoginRole;

  constructor(private readonly options: SystemEngineOptions) {
    this.role = { name: options.admin.username, scramVerifier: hashPassword(options.admin.password), canLogin: true };
  }

  findRole(name: string): Promise<LoginRole | null> {
    return Promise.resolve(name === this.role.name ? this.role : null);
  }

  openSession(_options: SessionOptions): Promise<SqlSession> {
    return Promise.resolve(new SystemSession(this.options.clusters));
  }

  initialParameters(): ReadonlyMap<string, string> {
    return new Map([
      ['server_version', '16.4'],
      ['server_encoding', 'UTF8'],
      ['client_encoding', 'UTF8'],
      ['DateStyle', 'ISO, MDY'],
      ['IntervalStyle', 'postgres'],
      ['TimeZone', 'UTC'],
      ['integer_datetimes', 'on'],
      ['standard_conforming_strings', 'on'],
      ['is_superuser', 'on'],
      ['application_name', ''],
    ]);
  }
}

interface SystemParsed extends ParsedStatement {
  readonly parsed: SystemStatement | SqlError;
}

class SystemSession implements SqlSession {
  readonly transactionStatus = 'I' as const;
  private notices: Notice[] = [];

  constructor(private readonly clusters: VirtualClusters) {}

  parse(sql: string): readonly ParsedStatement[] {
    return splitStatements(sql).map(({ text }): SystemParsed => {
      let parsed: SystemStatement | SqlError;
      try {
        parsed = parseSystemStatement(text);
      } catch (e) {
        if (!(e instanceof SqlError)) throw e;
        parsed = e;
      }
      const kind = parsed instanceof SqlError ? (text.trim().split(/\s+/)[0] ?? '').toUpperCase() : parsed.kind.toUpperCase();
      return { sql: text, kind, parsed };
    });
  }

  prepare(statement: ParsedStatement): Promise<PreparedStatement> {
    const parsed = parsedOf(statement);
    return Promise.resolve({ statement, paramTypeOids: [], columns: parsed.kind === 'show' ? columns([]) : null });
  }

  bind(prepared: PreparedStatement, params: readonly (Buffer | null)[], _paramFormats: readonly FormatCode[], resultFormats: readonly FormatCode[]): Promise<Portal> {
    if (params.length > 0) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'the system interface takes no parameters');
    const parsed = parsedOf(prepared.statement);
    return Promise.resolve(new SystemPortal(parsed, this.clusters, resultFormats, (n) => this.notices.push(n)));
  }

  sync(): Promise<void> {
    return Promise.resolve();
  }

  fail(): void {}

  takeNotices(): Notice[] {
    const out = this.notices;
    this.notices = [];
    return out;
  }

  takeParameterChanges(): ReadonlyMap<string, string> {
    return new Map();
  }

  cancel(): void {}

  close(): Promise<void> {
    return Promise.resolve();
  }
}

class SystemPortal implements Portal {
  readonly columns: readonly ResultColumn[] | null;
  private pending: EncodedRow[] | null = null;
  private done = false;

  constructor(
    private readonly statement: SystemStatement,
    private readonly clusters: VirtualClusters,
    private readonly formats: readonly FormatCode[],
    private readonly notice: (n: Notice) => void,
  ) {
    this.columns = statement.kind === 'show' ? columns(formats) : null;
  }

  async execute(maxRows: number): Promise<ExecuteResult> {
    if (this.done) return { kind: 'complete', rows: [], commandTag: this.tag(0) };
    if (this.statement.kind !== 'show') {
      this.done = true;
      await this.run(this.statement);
      return { kind: 'complete', rows: [], commandTag: this.tag(0) };
    }
    this.pending ??= this.showRows(this.statement.name);
    const rows = maxRows > 0 ? this.pending.splice(0, maxRows) : this.pending.splice(0);
    if (this.pending.length > 0) return { kind: 'suspended', rows };
    this.done = true;
    return { kind: 'complete', rows, commandTag: this.tag(rows.length) };
  }

  close(): void {}

  private tag(rows: number): string {
    switch (this.statement.kind) {
      case 'create':
        return 'CREATE VIRTUAL CLUSTER';
      case 'drop':
        return 'DROP VIRTUAL CLUSTER';
      case 'show':
        return `SHOW ${rows}`;
    }
  }

  private async run(statement: Extract<SystemStatement, { kind: 'create' | 'drop' }>): Promise<void> {
    try {
      if (statement.kind === 'create') await this.clusters.create(statement.name);
      else await this.clusters.drop(statement.name);
    } catch (e) {
      if (!(e instanceof VirtualClusterError)) throw e;
      if (statement.kind === 'create' && statement.ifNotExists && e.code === 'EXISTS') {
        this.notice({ severity: 'NOTICE', code: SQLSTATE.DUPLICATE_OBJECT, message: `virtual cluster "${statement.name}" already exists, skipping` });
        return;
      }
      if (statement.kind === 'drop' && statement.ifExists && e.code === 'NOT_FOUND') {
        this.notice({ severity: 'NOTICE', code: SQLSTATE.UNDEFINED_OBJECT, message: `virtual cluster "${statement.name}" does not exist, skipping` });
        return;
      }
      throw new SqlError(SQLSTATE_OF[e.code], e.message);
    }
  }

  private showRows(name: string | null): EncodedRow[] {
    const all = this.clusters.list();
    const chosen = name === null ? all : all.filter((c) => c.name === name);
    if (name !== null && chosen.length === 0) throw new SqlError(SQLSTATE.UNDEFINED_OBJECT, `virtual cluster "${name}" does not exist`);
    return chosen.map((c) => {
      const values: Datum[] = [c.name, BigInt(c.id), c.state, c.replicas, c.pods];
      return SHOW_COLUMNS.map(({ type }, i) => {
        const v = values[i] ?? null;
        if (v === null) return null;
        return formatOf(this.formats, i) === 1 ? formatBinary(type, v) : Buffer.from(formatText(type, v), 'utf8');
      });
    });
  }
}

function parsedOf(statement: ParsedStatement): SystemStatement {
  const parsed = (statement as SystemParsed).parsed;
  if (parsed instanceof SqlError) throw parsed;
  return parsed;
}

/** Bind's result formats: none = all text, one = all alike, else one per column. */
function formatOf(formats: readonly FormatCode[], i: number): FormatCode {
  return formats.length === 0 ? 0 : formats.length === 1 ? (formats[0] ?? 0) : (formats[i] ?? 0);
}

function columns(formats: readonly FormatCode[]): ResultColumn[] {
  return SHOW_COLUMNS.map(({ name, type }, i) => ({
    name,
    tableOid: 0,
    columnNumber: 0,
    typeOid: type.oid,
    typeSize: type.typeSize,
    typeModifier: -1,
    format: formatOf(formats, i),
  }));
}
