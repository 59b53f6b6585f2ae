// Parses sqllogictest scripts (the format of ../shared/conformance/sqllogictest/README.md)
// into records, and picks the records one engine runs.

export type SortMode = 'nosort' | 'rowsort' | 'valuesort';

export interface Condition {
  kind: 'skipif' | 'onlyif';
  engine: string;
}

export type Expected = { kind: 'values'; values: string[] } | { kind: 'hash'; count: number; md5: string };

interface Common {
  /** 1-based line of the record's first line (after its conditions). */
  line: number;
  conditions: Condition[];
}

export interface StatementRecord extends Common {
  kind: 'statement';
  expectError: boolean;
  sql: string;
}

export interface QueryRecord extends Common {
  kind: 'query';
  /** One letter per column: I, T or R. */
  types: string;
  sort: SortMode;
  label: string | undefined;
  sql: string;
  expected: Expected;
}

export type TestRecord =
  | StatementRecord
  | QueryRecord
  | (Common & { kind: 'halt' })
  | (Common & { kind: 'hash-threshold'; threshold: number });

/** A record to execute, with the hash threshold in force where it stands. */
export type Runnable = StatementRecord | (QueryRecord & { hashThreshold: number });

export class ParseError extends Error {
  constructor(file: string, line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.name = 'ParseError';
  }
}

const HASH_LINE = /^(\d+) values hashing to ([0-9a-f]{32})$/;
const SORT_MODES: ReadonlySet<string> = new Set(['nosort', 'rowsort', 'valuesort']);

/** Words of a control line, without a trailing `# comment` (e.g. `onlyif sqlite # empty RHS`). */
function words(line: string): string[] {
  const hash = line.indexOf('#');
  return (hash >= 0 ? line.slice(0, hash) : line).trim().split(/\s+/).filter(Boolean);
}

export function parseTest(text: string, file = '<input>'): TestRecord[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const records: TestRecord[] = [];
  let conditions: Condition[] = [];
  let i = 0;
  // The lines of the block starting at `i`, up to the next blank line (or `stop`).
  const block = (stop?: (line: string) => boolean): string[] => {
    const out: string[] = [];
    while (i < lines.length) {
      const line = lines[i] ?? '';
      if (line.trim() === '' || stop?.(line)) break;
      out.push(line);
      i++;
    }
    return out;
  };

  while (i < lines.length) {
    const raw = lines[i] ?? '';
    const lineNo = i + 1;
    if (raw.trim() === '') {
      // A condition belongs to the record right below it, in the same block.
      conditions = [];
      i++;
      continue;
    }
    if (raw.trimStart().startsWith('#')) {
      i++;
      continue;
    }
    const [head, ...rest] = words(raw);
    i++;
    switch (head) {
      case 'skipif':
      case 'onlyif': {
        const engine = rest[0];
        if (!engine) throw new ParseError(file, lineNo, `${head} without an engine`);
        conditions.push({ kind: head, engine });
        continue;
      }
      case 'halt':
        records.push({ kind: 'halt', line: lineNo, conditions });
        break;
      case 'hash-threshold': {
        const threshold = Number(rest[0]);
        if (!Number.isSafeInteger(threshold) || threshold < 0) throw new ParseError(file, lineNo, `bad hash-threshold: ${raw}`);
        records.push({ kind: 'hash-threshold', threshold, line: lineNo, conditions });
        break;
      }
      case 'statement': {
        const mode = rest[0];
        if (mode !== 'ok' && mode !== 'error') throw new ParseError(file, lineNo, `statement must be ok or error: ${raw}`);
        const sql = block().join('\n');
        if (!sql) throw new ParseError(file, lineNo, 'statement without SQL');
        records.push({ kind: 'statement', expectError: mode === 'error', sql, line: lineNo, conditions });
        break;
      }
      case 'query': {
        const [types, sort = 'nosort', label] = rest;
        if (!types || !/^[ITR]+$/.test(types)) throw new ParseError(file, lineNo, `bad column types: ${raw}`);
        if (!SORT_MODES.has(sort)) throw new ParseError(file, lineNo, `bad sort mode: ${raw}`);
        const sql = block((line) => line === '----').join('\n');
        if (!sql) throw new ParseError(file, lineNo, 'query without SQL');
        let expected: Expected = { kind: 'values', values: [] };
        if (lines[i] === '----') {
          i++;
          const values = block();
          const hash = values.length === 1 ? HASH_LINE.exec(values[0] ?? '') : null;
          expected = hash ? { kind: 'hash', count: Number(hash[1]), md5: hash[2] ?? '' } : { kind: 'values', values };
        }
        records.push({ kind: 'query', types, sort: sort as SortMode, label, sql, expected, line: lineNo, conditions });
        break;
      }
      default:
        throw new ParseError(file, lineNo, `unknown record: ${raw}`);
    }
    conditions = [];
  }
  return records;
}

export function appliesTo(conditions: readonly Condition[], engine: string): boolean {
  return conditions.every((c) => (c.kind === 'skipif' ? c.engine !== engine : c.engine === engine));
}

/**
 * The statements and queries `engine` runs, in order: conditions applied, up
 * to the first `halt` that applies, each query with the hash threshold set
 * before it. `total` counts every statement and query of the script.
 */
export function runnableRecords(records: readonly TestRecord[], engine: string): { runnable: Runnable[]; total: number } {
  const runnable: Runnable[] = [];
  let hashThreshold = 0;
  let halted = false;
  let total = 0;
  for (const record of records) {
    if (record.kind === 'statement' || record.kind === 'query') total++;
    if (halted || !appliesTo(record.conditions, engine)) continue;
    switch (record.kind) {
      case 'halt':
        halted = true;
        break;
      case 'hash-threshold':
        hashThreshold = record.threshold;
        break;
      case 'statement':
        runnable.push(record);
        break;
      case 'query':
        runnable.push({ ...record, hashThreshold });
        break;
    }
  }
  return { runnable, total };
}
