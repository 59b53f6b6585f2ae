/**
 * The contract between the wire server (sqlpod/server) and the SQL engine
 * (sqlpod/sql). The wire server owns bytes, messages, authentication and the
 * extended-protocol bookkeeping (named statements and portals, skipping to
 * Sync after an error); the engine owns SQL: parsing, planning, transactions,
 * and encoding values in the formats the client asked for.
 *
 * Every method that fails throws a SqlError (sqlpod/sql/errors.ts); anything
 * else thrown is a bug and is reported as XX000.
 */

/** 0 = text, 1 = binary, as in the Bind message. */
export type FormatCode = 0 | 1;

/** One column of a result, as RowDescription describes it. */
export interface ResultColumn {
  readonly name: string;
  /** pg_class OID of the source table, 0 if not a plain column reference. */
  readonly tableOid: number;
  /** Attribute number in that table, 0 if none. */
  readonly columnNumber: number;
  readonly typeOid: number;
  /** pg_type.typlen: -1 for variable length. */
  readonly typeSize: number;
  readonly typeModifier: number;
  readonly format: FormatCode;
}

/** A row whose values are already encoded in the portal's result formats; null is SQL NULL. */
export type EncodedRow = readonly (Buffer | null)[];

export interface Notice {
  readonly severity: 'NOTICE' | 'WARNING' | 'INFO';
  readonly code: string;
  readonly message: string;
  readonly detail?: string;
  readonly hint?: string;
}

/** One statement of a query string, parsed; opaque to the wire server. */
export interface ParsedStatement {
  /** The statement's own text (for logs and pg_stat-like views). */
  readonly sql: string;
  /** Command tag kind, e.g. 'SELECT', 'INSERT', 'BEGIN', known before execution. */
  readonly kind: string;
}

export interface PreparedStatement {
  readonly statement: ParsedStatement;
  /** One OID per $n, resolved from the Parse message's types and the statement. */
  readonly paramTypeOids: readonly number[];
  /** Result columns in text format; null when the statement returns no rows (NoData). */
  readonly columns: readonly ResultColumn[] | null;
}

export type ExecuteResult =
  /** Hit the row limit; the portal can be executed again for more (PortalSuspended). */
  | { readonly kind: 'suspended'; readonly rows: readonly EncodedRow[] }
  /** Finished; commandTag is e.g. 'SELECT 3', 'INSERT 0 1', 'BEGIN' (CommandComplete). */
  | { readonly kind: 'complete'; readonly rows: readonly EncodedRow[]; readonly commandTag: string }
  /** The statement was empty (EmptyQueryResponse). */
  | { readonly kind: 'empty' }
  | CopyIn
  | CopyOut;

/**
 * COPY … FROM STDIN: the wire server sends CopyInResponse, then hands the
 * client's CopyData payloads to `run`; the iterable ends at CopyDone and
 * throws the error to report at CopyFail (or a protocol violation).
 */
export interface CopyIn {
  readonly kind: 'copyIn';
  /** Overall format for CopyInResponse (0 text, 1 binary); each column uses the same. */
  readonly format: FormatCode;
  readonly columnCount: number;
  /** Reads and stores the rows; resolves with the command tag ('COPY n'). */
  run(data: AsyncIterable<Buffer>): Promise<string>;
}

/** COPY … TO STDOUT: CopyOutResponse, one CopyData per `send`ed line, CopyDone, then the tag. */
export interface CopyOut {
  readonly kind: 'copyOut';
  readonly format: FormatCode;
  readonly columnCount: number;
  /** Produces the lines (each one CopyData payload) batch by batch; awaits `send` for flow control; resolves with the tag. */
  run(send: (lines: readonly Buffer[]) => Promise<void>): Promise<string>;
}

export interface Portal {
  /** Result columns with the Bind message's result formats applied; null when no rows. */
  readonly columns: readonly ResultColumn[] | null;
  /** Runs until maxRows rows are produced (0 = no limit) or the statement completes. */
  execute(maxRows: number): Promise<ExecuteResult>;
  /** Releases what the portal holds (Close, or the end of its transaction). */
  close(): void;
}

export interface SqlSession {
  /** ReadyForQuery's status: idle, in a transaction block, or in a failed one. */
  readonly transactionStatus: 'I' | 'T' | 'E';
  /**
   * Splits a query string into statements (simple protocol: several; Parse:
   * at most one, else 42601). An empty string yields no statements.
   */
  parse(sql: string): readonly ParsedStatement[];
  /** Analyzes a statement; paramTypeOids may be shorter than the statement's parameters, 0 = infer. */
  prepare(statement: ParsedStatement, paramTypeOids: readonly number[]): Promise<PreparedStatement>;
  /** Decodes the parameters and creates a portal ready to execute. */
  bind(
    prepared: PreparedStatement,
    params: readonly (Buffer | null)[],
    paramFormats: readonly FormatCode[],
    resultFormats: readonly FormatCode[],
  ): Promise<Portal>;
  /**
   * Ends the implicit transaction: Sync in the extended protocol, the end of
   * a simple Query message. Commits it if it succeeded, rolls it back if a
   * statement failed. Explicit transaction blocks stay open.
   */
  sync(): Promise<void>;
  /** Marks that a statement of the current implicit or explicit transaction failed. */
  fail(error: unknown): void;
  /** Notices raised since the last call (e.g. by DROP ... IF EXISTS). */
  takeNotices(): Notice[];
  /** ParameterStatus values changed since the last call (e.g. by SET TimeZone). */
  takeParameterChanges(): ReadonlyMap<string, string>;
  /** Cancels the running statement, if any: it fails with 57014. */
  cancel(): void;
  /** Rolls back an open transaction and releases everything; the connection is gone. */
  close(): Promise<void>;
}

export interface SessionOptions {
  readonly user: string;
  readonly database: string;
  /** Startup parameters other than user/database (application_name, options, …). */
  readonly parameters: ReadonlyMap<string, string>;
}

/** A login role as the wire server needs it for authentication. */
export interface LoginRole {
  readonly name: string;
  /** SCRAM-SHA-256 verifier in pg_authid format, or null when the role has no password. */
  readonly scramVerifier: string | null;
  readonly canLogin: boolean;
}

/** The tenant's SQL engine in this pod; one per bound pod. */
export interface SqlEngine {
  /** Looks a role up for authentication; null when it does not exist. */
  findRole(name: string): Promise<LoginRole | null>;
  /** Opens a session after authentication; 3D000 when the database does not exist. */
  openSession(options: SessionOptions): Promise<SqlSession>;
  /** ParameterStatus values every session starts with (server_version, TimeZone, …). */
  initialParameters(): ReadonlyMap<string, string>;
}
