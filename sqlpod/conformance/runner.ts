// Runs the records of one sqllogictest script against a PostgreSQL-wire
// server through node-postgres, one record at a time, and counts what passed.
import pg from 'pg';
import { runnableRecords, type QueryRecord, type Runnable, type TestRecord } from './parser.js';
import { expectedBlock, formatResult, hashValues, matches, type Cell } from './results.js';

/** Where a script runs: a clean database (or schema, or tenant) of its own. */
export interface Place {
  url: string;
  /** Called after the script, whatever happened. */
  release?: () => Promise<void>;
}

export interface RunOptions {
  /** The engine name `skipif` / `onlyif` are matched against. */
  engine: string;
  /** Gives each script a clean place to run in; called once per script. */
  prepare: (file: string) => Promise<Place>;
  /** A record taking longer fails, and its connection is replaced. */
  recordTimeoutMs?: number;
  connectTimeoutMs?: number;
}

export interface Failure {
  line: number;
  sql: string;
  reason: string;
}

export interface FileOutcome {
  file: string;
  passed: number;
  run: number;
  skipped: number;
  failures: Failure[];
  ms: number;
}

// Every column in the server's text form: the formatting follows the declared type letter, not the wire type.
const RAW_TEXT: pg.CustomTypesConfig = { getTypeParser: () => (value: string) => value };

/** After this many connection failures in a row the server is taken to be gone, and the rest of the script fails. */
const MAX_CONNECT_FAILURES = 3;

/** One connection that is replaced whenever it breaks or a record times out. */
class Session {
  private client: pg.Client | undefined;
  connectFailures = 0;

  constructor(
    private readonly url: string,
    private readonly connectTimeoutMs: number,
  ) {}

  private async connected(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: this.connectTimeoutMs, types: RAW_TEXT });
    // A connection lost between queries is noticed here; the next record reconnects.
    client.on('error', () => this.discard(client));
    client.on('end', () => this.discard(client));
    try {
      await client.connect();
      this.connectFailures = 0;
    } catch (err) {
      this.connectFailures++;
      await client.end().catch(() => undefined);
      throw err;
    }
    this.client = client;
    return client;
  }

  private discard(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => undefined);
  }

  /** Rows of the statement's last result, each cell in text form; rejects with the server's error, a connection error or a timeout. */
  async execute(sql: string, timeoutMs: number): Promise<{ columns: number; rows: Cell[][] }> {
    const client = await this.connected();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const result: unknown = await Promise.race([client.query({ text: sql, rowMode: 'array' }), timeout]);
      // A simple-protocol query holding several statements answers one result each.
      const last = (Array.isArray(result) ? result.at(-1) : result) as pg.QueryArrayResult<Cell[]> | undefined;
      return { columns: last?.fields.length ?? 0, rows: last?.rows ?? [] };
    } catch (err) {
      // A FATAL error ends the session on the server's side: the connection is about to close.
      if (!(err instanceof pg.DatabaseError) || err.severity === 'FATAL' || err.severity === 'PANIC') this.discard(client);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

function preview(values: readonly string[], threshold: number): string {
  const block = expectedBlock(values, threshold);
  if (block.length === 0) return '(no values)';
  return block.length > 12 ? `${block.slice(0, 12).join(' ')} ... (${block.length} values)` : block.join(' ');
}

/** Runs one record; returns why it failed, or undefined when it passed. */
async function runRecord(session: Session, record: Runnable, labels: Map<string, string>, timeoutMs: number): Promise<string | undefined> {
  if (record.kind === 'statement') {
    try {
      await session.execute(record.sql, timeoutMs);
      return record.expectError ? 'statement succeeded, expected an error' : undefined;
    } catch (err) {
      // Only an error the server raised counts: a timeout or a lost connection is not an answer.
      if (record.expectError && err instanceof pg.DatabaseError) return undefined;
      return `error: ${messageOf(err)}`;
    }
  }
  let result: { columns: number; rows: Cell[][] };
  try {
    result = await session.execute(record.sql, timeoutMs);
  } catch (err) {
    return `error: ${messageOf(err)}`;
  }
  return checkQuery(record, result, labels);
}

function checkQuery(record: QueryRecord & { hashThreshold: number }, result: { columns: number; rows: Cell[][] }, labels: Map<string, string>) {
  if (result.columns !== record.types.length) return `expected ${record.types.length} columns, got ${result.columns}`;
  const values = formatResult(result.rows, record.types, record.sort);
  if (!matches(record.expected, values)) {
    const expected = record.expected.kind === 'hash' ? [`${record.expected.count} values hashing to ${record.expected.md5}`] : record.expected.values;
    return `expected ${preview(expected, 0)} | got ${preview(values, record.hashThreshold)}`;
  }
  if (record.label !== undefined) {
    const hash = hashValues(values);
    const first = labels.get(record.label);
    if (first === undefined) labels.set(record.label, hash);
    else if (first !== hash) return `result differs from the earlier query labelled ${record.label}`;
  }
  return undefined;
}

export async function runFile(file: string, records: readonly TestRecord[], options: RunOptions): Promise<FileOutcome> {
  const started = performance.now();
  const { runnable, total } = runnableRecords(records, options.engine);
  const outcome: FileOutcome = { file, passed: 0, run: runnable.length, skipped: total - runnable.length, failures: [], ms: 0 };
  const timeoutMs = options.recordTimeoutMs ?? 10_000;
  const fail = (record: Runnable, reason: string) => outcome.failures.push({ line: record.line, sql: record.sql, reason });

  let place: Place;
  try {
    place = await options.prepare(file);
  } catch (err) {
    for (const record of runnable) fail(record, `prepare: ${messageOf(err)}`);
    outcome.ms = performance.now() - started;
    return outcome;
  }
  const session = new Session(place.url, options.connectTimeoutMs ?? 10_000);
  const labels = new Map<string, string>();
  try {
    for (const record of runnable) {
      if (session.connectFailures >= MAX_CONNECT_FAILURES) {
        fail(record, 'server unreachable');
        continue;
      }
      const reason = await runRecord(session, record, labels, timeoutMs);
      if (reason === undefined) outcome.passed++;
      else fail(record, reason);
    }
  } finally {
    await session.close();
    // The outcome stands even when tidying up fails; a leftover database is harmless.
    await place.release?.().catch(() => undefined);
  }
  outcome.ms = performance.now() - started;
  return outcome;
}
