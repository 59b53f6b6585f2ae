// COPY's data formats as PostgreSQL defines them (copyfromparse.c,
// copyto.c): the option list and its checks, the streaming decoder of text
// and csv input (records may span CopyData chunks, csv records may span
// lines), and the row formatter for output. Pure: bytes and strings in,
// records and strings out; the executor (./execute.ts) does the I/O.
import { SQLSTATE, SqlError } from '../errors.js';

export type CopyFormat = 'text' | 'csv';

export interface CopyOptions {
  readonly format: CopyFormat;
  readonly delimiter: string;
  /** The string that stands for SQL NULL. */
  readonly null: string;
  /** 'match' (COPY FROM only): the header line must name the target columns. */
  readonly header: boolean | 'match';
  /** csv only. */
  readonly quote: string;
  /** csv only; defaults to the quote character. */
  readonly escape: string;
}

/** One option as written in the statement; value undefined when it has none (`HEADER`). */
export interface CopyOptionValue {
  readonly name: string;
  readonly value: string | boolean | number | undefined;
}

const bad = (message: string): SqlError => new SqlError(SQLSTATE.INVALID_PARAMETER_VALUE, message);
const unsupported = (message: string): SqlError => new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, message);

/** PostgreSQL's options that this server knows but does not implement. */
const UNSUPPORTED_OPTIONS = new Set(['force_quote', 'force_not_null', 'force_null', 'encoding', 'default', 'on_error', 'log_verbosity', 'oids']);

/** Boolean option spellings, as defGetBoolean accepts them. */
function booleanOption(name: string, value: CopyOptionValue['value'], allowMatch: boolean): boolean | 'match' {
  if (value === undefined) return true;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (value === 0 || value === 1) return value === 1;
  } else {
    const v = value.toLowerCase();
    if (['true', 'on', 't', 'yes', 'y', '1'].includes(v)) return true;
    if (['false', 'off', 'f', 'no', 'n', '0'].includes(v)) return false;
    if (allowMatch && v === 'match') return 'match';
  }
  throw new SqlError(SQLSTATE.SYNTAX_ERROR, `${name} requires a Boolean value${allowMatch ? ' or "match"' : ''}`);
}

function stringOption(name: string, value: CopyOptionValue['value']): string {
  if (typeof value === 'string') return value;
  throw new SqlError(SQLSTATE.SYNTAX_ERROR, `${name} requires a string value`);
}

const isOneByte = (s: string): boolean => s.length === 1 && s.charCodeAt(0) < 0x80;

/** The options of a COPY statement, checked as ProcessCopyOptions does; `from` is the direction. */
export function copyOptions(given: readonly CopyOptionValue[], from: boolean): CopyOptions {
  const seen = new Set<string>();
  let format: CopyFormat = 'text';
  let delimiter: string | undefined;
  let nullString: string | undefined;
  let header: boolean | 'match' = false;
  let quote: string | undefined;
  let escape: string | undefined;
  for (const { name, value } of given) {
    if (seen.has(name)) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'conflicting or redundant options');
    seen.add(name);
    switch (name) {
      case 'format': {
        const f = stringOption(name, value).toLowerCase();
        if (f === 'binary') throw unsupported('COPY BINARY is not supported; use FORMAT text or csv');
        if (f !== 'text' && f !== 'csv') throw bad(`COPY format "${f}" not recognized`);
        format = f;
        break;
      }
      case 'delimiter':
        delimiter = stringOption(name, value);
        break;
      case 'null':
        nullString = stringOption(name, value);
        break;
      case 'header':
        header = booleanOption(name, value, true);
        break;
      case 'quote':
        quote = stringOption(name, value);
        break;
      case 'escape':
        escape = stringOption(name, value);
        break;
      case 'freeze':
        // FREEZE only spares PostgreSQL the later hint-bit and vacuum work on the loaded heap pages; KV rows carry
        // nothing of the kind, so the option is checked and has no effect (pgbench -i sends `with (freeze on)`).
        if (booleanOption(name, value, false) === true && !from) throw unsupported('COPY FREEZE cannot be used with COPY TO');
        break;
      default:
        if (UNSUPPORTED_OPTIONS.has(name)) throw unsupported(`COPY option "${name.toUpperCase()}" is not supported`);
        throw new SqlError(SQLSTATE.SYNTAX_ERROR, `option "${name}" not recognized`);
    }
  }
  const csv = format === 'csv';
  if (!csv && quote !== undefined) throw unsupported('COPY QUOTE requires CSV mode');
  if (!csv && escape !== undefined) throw unsupported('COPY ESCAPE requires CSV mode');
  if (header === 'match' && !from) throw unsupported('cannot use "match" with HEADER in COPY TO');
  const options: CopyOptions = {
    format,
    delimiter: delimiter ?? (csv ? ',' : '\t'),
    null: nullString ?? (csv ? '' : '\\N'),
    header,
    quote: quote ?? '"',
    escape: escape ?? quote ?? '"',
  };
  if (!isOneByte(options.delimiter)) throw unsupported('COPY delimiter must be a single one-byte character');
  if (/[\r\n]/.test(options.delimiter)) throw bad('COPY delimiter cannot be newline or carriage return');
  if (/[\r\n]/.test(options.null)) throw bad('COPY null representation cannot use newline or carriage return');
  // In text format these would be read as part of a backslash escape.
  if (!csv && '\\.abcdefghijklmnopqrstuvwxyz0123456789'.includes(options.delimiter)) {
    throw bad(`COPY delimiter cannot be "${options.delimiter}"`);
  }
  if (csv) {
    if (!isOneByte(options.quote)) throw unsupported('COPY quote must be a single one-byte character');
    if (!isOneByte(options.escape)) throw unsupported('COPY escape must be a single one-byte character');
    if (options.delimiter === options.quote) throw bad('COPY delimiter and quote must be different');
  }
  if (options.null.includes(options.delimiter)) throw bad('COPY delimiter character must not appear in the NULL specification');
  return options;
}

/** One input record: its fields (null is SQL NULL) and the input line it ended on (1-based). */
export interface CopyRecord {
  readonly line: number;
  readonly fields: readonly (string | null)[];
  /** The record as read (without its line break), for error context. */
  readonly text: string;
}

const LF = 0x0a;
const CR = 0x0d;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Turns the bytes of COPY FROM input into records, whatever the chunking:
 * a line (or, in csv, a quoted field's embedded line break) may be split
 * across pushes, so the unfinished tail is kept until its end arrives.
 * Only that tail is buffered, never the whole input.
 */
export class CopyDecoder {
  private pending: Buffer = Buffer.alloc(0);
  /** Text format: chunks after `pending` without a line break, joined once one arrives (a long line costs no repeated copying). */
  private tail: Buffer[] = [];
  /** How far `pending` was scanned for the end of its first record (csv quote state carries along). */
  private scanned = 0;
  private inQuote = false;
  private escaped = false;
  /** Physical lines consumed so far. */
  private lines = 0;
  private ended = false;
  private readonly quote: number;
  private readonly escape: number;

  constructor(private readonly options: CopyOptions) {
    this.quote = options.quote.charCodeAt(0);
    this.escape = options.escape.charCodeAt(0);
  }

  /** True once the end-of-data marker `\.` was read: the rest of the input is ignored. */
  get finished(): boolean {
    return this.ended;
  }

  /** The physical line the decoder has reached (for errors found after the last record). */
  get line(): number {
    return this.lines;
  }

  push(chunk: Buffer): CopyRecord[] {
    if (this.ended) return [];
    if (this.options.format === 'text' && this.pending.length > 0 && !chunk.includes(LF)) {
      this.tail.push(chunk);
      return [];
    }
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, ...this.tail, chunk]);
    this.tail = [];
    const out: CopyRecord[] = [];
    let start = 0;
    for (;;) {
      const end = this.recordEnd(start);
      if (end < 0) break;
      const record = this.record(this.pending.subarray(start, end));
      start = end + 1;
      this.scanned = start;
      if (record === 'end') {
        this.ended = true;
        break;
      }
      out.push(record);
    }
    this.pending = this.ended ? Buffer.alloc(0) : this.pending.subarray(start);
    this.scanned -= start;
    return out;
  }

  /** The input is complete: a last line without a line break is a record too. */
  end(): CopyRecord[] {
    if (this.tail.length > 0) this.pending = Buffer.concat([this.pending, ...this.tail]);
    this.tail = [];
    if (this.ended || this.pending.length === 0) return [];
    if (this.inQuote) {
      throw new SqlError(SQLSTATE.BAD_COPY_FILE_FORMAT, 'unterminated CSV quoted field', { where: `line ${this.lines + 1}` });
    }
    const last = this.record(this.pending);
    this.pending = Buffer.alloc(0);
    this.ended = true;
    return last === 'end' ? [] : [last];
  }

  /** Index of the LF that ends the record starting at `start`, or -1 if it has not arrived yet. */
  private recordEnd(start: number): number {
    const buf = this.pending;
    let i = Math.max(start, this.scanned);
    if (this.options.format === 'text') {
      const at = buf.indexOf(LF, i);
      if (at < 0) this.scanned = buf.length;
      return at;
    }
    // csv: a line break inside quotes is data. Quote and escape are ASCII, so scanning bytes is safe in UTF-8.
    for (; i < buf.length; i++) {
      const c = buf[i] as number;
      if (this.inQuote) {
        if (this.escaped) {
          this.escaped = false;
        } else if (c === this.escape && this.escape !== this.quote) {
          // Whether it escapes depends on the next byte: decide when that has arrived.
          if (i + 1 >= buf.length) {
            this.scanned = i;
            return -1;
          }
          this.escaped = buf[i + 1] === this.quote || buf[i + 1] === this.escape;
        } else if (c === this.quote) {
          this.inQuote = false;
        } else if (c === LF) {
          this.lines++;
        }
      } else if (c === this.quote) {
        this.inQuote = true;
      } else if (c === LF) {
        this.scanned = i + 1;
        return i;
      }
    }
    this.scanned = buf.length;
    return -1;
  }

  private record(bytes: Buffer): CopyRecord | 'end' {
    this.lines++;
    const line = this.lines;
    const trimmed = bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.subarray(0, bytes.length - 1) : bytes;
    let text: string;
    try {
      text = utf8.decode(trimmed);
    } catch {
      throw new SqlError(SQLSTATE.CHARACTER_NOT_IN_REPERTOIRE, 'invalid byte sequence for encoding "UTF8"', { where: `line ${line}` });
    }
    if (text === '\\.') return 'end';
    const fields = this.options.format === 'text' ? textFields(text, this.options) : csvFields(text, this.options, line);
    return { line, fields, text };
  }
}

/** Splits a text-format line at unescaped delimiters; NULL is matched before de-escaping, as in PostgreSQL. */
export function textFields(line: string, options: CopyOptions): (string | null)[] {
  const out: (string | null)[] = [];
  let from = 0;
  for (let i = 0; ; i++) {
    if (i >= line.length || line[i] === options.delimiter) {
      const raw = line.slice(from, i);
      out.push(raw === options.null ? null : unescapeText(raw));
      if (i >= line.length) return out;
      from = i + 1;
    } else if (line[i] === '\\') {
      i++;
    }
  }
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** Text format's backslash sequences: \b \f \n \r \t \v, octal \ooo, hex \xhh; any other character stands for itself. */
export function unescapeText(raw: string): string {
  if (!raw.includes('\\')) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (c !== '\\' || i + 1 >= raw.length) {
      out += c;
      continue;
    }
    const n = raw[++i] as string;
    const simple = SIMPLE_ESCAPES[n];
    if (simple !== undefined) {
      out += simple;
    } else if (n >= '0' && n <= '7') {
      const digits = /^[0-7]{1,3}/.exec(raw.slice(i))?.[0] ?? n;
      out += String.fromCharCode(parseInt(digits, 8) & 0xff);
      i += digits.length - 1;
    } else if (n === 'x' && /^[0-9a-fA-F]/.test(raw.slice(i + 1))) {
      const digits = /^[0-9a-fA-F]{1,2}/.exec(raw.slice(i + 1))?.[0] ?? '0';
      out += String.fromCharCode(parseInt(digits, 16));
      i += digits.length;
    } else {
      out += n;
    }
  }
  return out;
}

/** Splits one csv record (embedded line breaks included); a quoted field is never NULL. */
export function csvFields(record: string, options: CopyOptions, line: number): (string | null)[] {
  const { delimiter, quote, escape } = options;
  const out: (string | null)[] = [];
  let value = '';
  let quoted = false;
  let inQuote = false;
  for (let i = 0; i <= record.length; i++) {
    const c = record[i];
    if (inQuote) {
      if (c === undefined) throw new SqlError(SQLSTATE.BAD_COPY_FILE_FORMAT, 'unterminated CSV quoted field', { where: `line ${line}` });
      const next = record[i + 1];
      if (c === escape && (next === quote || (escape !== quote && next === escape))) {
        value += next;
        i++;
      } else if (c === quote) {
        inQuote = false;
      } else {
        value += c;
      }
      continue;
    }
    if (c === undefined || c === delimiter) {
      out.push(!quoted && value === options.null ? null : value);
      value = '';
      quoted = false;
    } else if (c === quote) {
      inQuote = true;
      quoted = true;
    } else {
      value += c;
    }
  }
  return out;
}

/** One output line (with its line break) in the COPY format; null values print as the NULL string. */
export function formatRecord(values: readonly (string | null)[], options: CopyOptions): string {
  const single = values.length === 1;
  const parts = values.map((v) => (v === null ? options.null : options.format === 'text' ? escapeText(v, options.delimiter) : quoteCsv(v, options, single)));
  return parts.join(options.delimiter) + '\n';
}

const TEXT_ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' };

/** Text format output: backslash, the control characters with a short escape, and the delimiter get a backslash. */
export function escapeText(value: string, delimiter: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i] as string;
    const esc = TEXT_ESCAPES[c] ?? (c === delimiter ? `\\${c}` : undefined);
    if (esc === undefined) continue;
    out += value.slice(from, i) + esc;
    from = i + 1;
  }
  return from === 0 ? value : out + value.slice(from);
}

/**
 * csv output: quoted when it holds the delimiter, the quote, a line break, or
 * equals the NULL string (so it reads back as a value); a lone `\.` in a
 * one-column row is quoted so it does not read back as the end marker.
 */
export function quoteCsv(value: string, options: CopyOptions, single: boolean): string {
  const { delimiter, quote, escape } = options;
  const needs = value === options.null || (single && value === '\\.') || value.includes(delimiter) || value.includes(quote) || value.includes('\n') || value.includes('\r');
  if (!needs) return value;
  let out = quote;
  for (const c of value) out += c === quote || c === escape ? escape + c : c;
  return out + quote;
}
