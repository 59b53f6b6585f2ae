import type { PgWireError } from './errors.js';

export type TransactionStatus = 'I' | 'T' | 'E';

export interface FieldDescription {
  name: string;
  tableOid?: number;
  columnAttr?: number;
  typeOid: number;
  /** pg_type.typlen: -1 for varlena, -2 for cstring. */
  typeSize: number;
  typeModifier?: number;
  /** 0 text, 1 binary. */
  format?: 0 | 1;
}

export type Severity = 'ERROR' | 'FATAL' | 'PANIC' | 'WARNING' | 'NOTICE' | 'DEBUG' | 'INFO' | 'LOG';

export interface NoticeFields {
  severity: Severity;
  code: string;
  message: string;
  detail?: string;
  hint?: string;
  /** 1-based character offset into the query string. */
  position?: number;
}

/** One-byte answers to SSLRequest / GSSENCRequest. */
export const ENCRYPTION_ACCEPT = Buffer.from('S');
export const ENCRYPTION_REJECT = Buffer.from('N');

const MIN_CAPACITY = 1024;

/**
 * Encodes backend messages into one growable buffer. `flush()` hands out
 * everything written so far as a single Buffer for one socket write; the
 * handed-out bytes are never reused, because sockets write without copying.
 */
export class BackendWriter {
  private buf: Buffer;
  private pos = 0;
  private start = 0;

  constructor(private readonly initialCapacity = MIN_CAPACITY) {
    this.buf = Buffer.allocUnsafe(initialCapacity);
  }

  get length(): number {
    return this.pos;
  }

  flush(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    const rest = this.buf.subarray(this.pos);
    this.buf = rest.length >= MIN_CAPACITY ? rest : Buffer.allocUnsafe(Math.max(this.initialCapacity, MIN_CAPACITY));
    this.pos = 0;
    return out;
  }

  authenticationOk(): this {
    return this.begin('R').int32(0).end();
  }

  authenticationCleartextPassword(): this {
    return this.begin('R').int32(3).end();
  }

  authenticationSasl(mechanisms: readonly string[]): this {
    this.begin('R').int32(10);
    for (const m of mechanisms) this.cstring(m);
    return this.byte(0).end();
  }

  authenticationSaslContinue(data: string | Buffer): this {
    return this.begin('R').int32(11).bytes(data).end();
  }

  authenticationSaslFinal(data: string | Buffer): this {
    return this.begin('R').int32(12).bytes(data).end();
  }

  parameterStatus(name: string, value: string): this {
    return this.begin('S').cstring(name).cstring(value).end();
  }

  backendKeyData(processId: number, secretKey: number): this {
    return this.begin('K').int32(processId).int32(secretKey).end();
  }

  readyForQuery(status: TransactionStatus): this {
    return this.begin('Z').byte(status.charCodeAt(0)).end();
  }

  rowDescription(fields: readonly FieldDescription[]): this {
    this.begin('T').int16(fields.length);
    for (const f of fields) {
      this.cstring(f.name)
        .int32(f.tableOid ?? 0)
        .int16(f.columnAttr ?? 0)
        .int32(f.typeOid)
        .int16(f.typeSize)
        .int32(f.typeModifier ?? -1)
        .int16(f.format ?? 0);
    }
    return this.end();
  }

  /** Strings go out as UTF-8; null is SQL NULL (length -1). */
  dataRow(values: readonly (string | Buffer | null)[]): this {
    this.begin('D').int16(values.length);
    for (const v of values) {
      if (v === null) {
        this.int32(-1);
        continue;
      }
      const lenAt = this.pos;
      this.int32(0).bytes(v);
      this.buf.writeInt32BE(this.pos - lenAt - 4, lenAt);
    }
    return this.end();
  }

  commandComplete(tag: string): this {
    return this.begin('C').cstring(tag).end();
  }

  emptyQueryResponse(): this {
    return this.begin('I').end();
  }

  parseComplete(): this {
    return this.begin('1').end();
  }

  bindComplete(): this {
    return this.begin('2').end();
  }

  closeComplete(): this {
    return this.begin('3').end();
  }

  noData(): this {
    return this.begin('n').end();
  }

  portalSuspended(): this {
    return this.begin('s').end();
  }

  parameterDescription(typeOids: readonly number[]): this {
    this.begin('t').int16(typeOids.length);
    for (const oid of typeOids) this.uint32(oid);
    return this.end();
  }

  errorResponse(fields: NoticeFields): this {
    return this.notice('E', fields);
  }

  noticeResponse(fields: NoticeFields): this {
    return this.notice('N', fields);
  }

  /** Codec and auth failures end the session, hence FATAL. */
  wireError(err: PgWireError): this {
    return this.errorResponse({ severity: 'FATAL', code: err.code, message: err.message });
  }

  negotiateProtocolVersion(newestMinor: number, unrecognizedOptions: readonly string[]): this {
    this.begin('v').int32(newestMinor).int32(unrecognizedOptions.length);
    for (const o of unrecognizedOptions) this.cstring(o);
    return this.end();
  }

  private notice(type: 'E' | 'N', f: NoticeFields): this {
    this.begin(type);
    // S may be localized, V never is; we do not localize, so both carry the same word.
    this.field('S', f.severity).field('V', f.severity).field('C', f.code).field('M', f.message);
    if (f.detail !== undefined) this.field('D', f.detail);
    if (f.hint !== undefined) this.field('H', f.hint);
    if (f.position !== undefined) this.field('P', String(f.position));
    return this.byte(0).end();
  }

  private field(code: string, value: string): this {
    return this.byte(code.charCodeAt(0)).cstring(value);
  }

  private begin(type: string): this {
    this.ensure(5);
    this.start = this.pos;
    this.buf[this.pos] = type.charCodeAt(0);
    this.pos += 5;
    return this;
  }

  private end(): this {
    this.buf.writeInt32BE(this.pos - this.start - 1, this.start + 1);
    return this;
  }

  private byte(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }

  private int16(v: number): this {
    this.ensure(2);
    this.pos = this.buf.writeInt16BE(v, this.pos);
    return this;
  }

  private int32(v: number): this {
    this.ensure(4);
    this.pos = this.buf.writeInt32BE(v, this.pos);
    return this;
  }

  private uint32(v: number): this {
    this.ensure(4);
    this.pos = this.buf.writeUInt32BE(v, this.pos);
    return this;
  }

  private bytes(v: string | Buffer): this {
    if (typeof v === 'string') {
      this.ensure(Buffer.byteLength(v));
      this.pos += this.buf.write(v, this.pos, 'utf8');
    } else {
      this.ensure(v.length);
      this.pos += v.copy(this.buf, this.pos);
    }
    return this;
  }

  /** The protocol cannot carry NUL inside a string; truncating silently would corrupt the stream. */
  private cstring(v: string): this {
    if (v.includes('\0')) throw new RangeError('string sent to the client contains a NUL byte');
    return this.bytes(v).byte(0);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.pos + n));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }
}

/** Encodes a batch of messages into one Buffer: `encode((w) => w.parseComplete().bindComplete())`. */
export function encode(write: (w: BackendWriter) => void): Buffer {
  const w = new BackendWriter(256);
  write(w);
  return w.flush();
}
