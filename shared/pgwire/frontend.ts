import { PgWireError, SQLSTATE } from './errors.js';

/** Request codes sent in place of a protocol version in the untyped first packet. */
export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;
export const CANCEL_REQUEST_CODE = 80877102;
export const PROTOCOL_3_0 = 196608;

/** PostgreSQL's MaxAllocSize - 1: no message can be larger, whatever is configured. */
export const MAX_MESSAGE_LENGTH_CAP = 0x3fff_ffff;
export const DEFAULT_MAX_MESSAGE_LENGTH = 64 * 1024 * 1024;
/** Same bound as the server's MAX_STARTUP_PACKET_LENGTH; the packet arrives before authentication. */
const MAX_STARTUP_LENGTH = 10_000;

export type StartupPacket =
  | {
      type: 'startup';
      /** Requested minor version; anything above 0 must be answered with NegotiateProtocolVersion. */
      minorVersion: number;
      params: Readonly<Record<string, string>>;
      /** `_pq_.*` options we do not implement; also for NegotiateProtocolVersion. */
      protocolOptions: readonly string[];
    }
  | { type: 'sslRequest' }
  | { type: 'gssEncRequest' }
  | { type: 'cancelRequest'; processId: number; secretKey: number };

export type Target = 'S' | 'P';

export type FrontendMessage =
  | { type: 'query'; sql: string }
  | { type: 'parse'; name: string; sql: string; paramTypes: number[] }
  | {
      type: 'bind';
      portal: string;
      statement: string;
      paramFormats: number[];
      params: (Buffer | null)[];
      resultFormats: number[];
    }
  | { type: 'describe'; target: Target; name: string }
  | { type: 'execute'; portal: string; maxRows: number }
  | { type: 'close'; target: Target; name: string }
  | { type: 'sync' }
  | { type: 'flush' }
  | { type: 'terminate' }
  /** 'p': PasswordMessage, SASLInitialResponse or SASLResponse; only the auth state can tell. */
  | { type: 'password'; payload: Buffer }
  | { type: 'copyData'; data: Buffer }
  | { type: 'copyDone' }
  | { type: 'copyFail'; message: string };

export type FrontendPacket = StartupPacket | FrontendMessage;

export interface FrontendParserOptions {
  /** Largest accepted payload of a typed message, in bytes. */
  maxMessageLength?: number;
}

const violation = (message: string): PgWireError => new PgWireError(SQLSTATE.PROTOCOL_VIOLATION, message);

/** Bounds-checked reads of one message payload; any misfit is a protocol violation. */
class Reader {
  private pos = 0;

  constructor(private readonly buf: Buffer) {}

  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  uint16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  byte(): number {
    this.need(1);
    return this.buf[this.pos++] ?? 0;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  cstring(): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw violation('invalid string in message');
    const v = this.buf.toString('utf8', this.pos, end);
    this.pos = end + 1;
    return v;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  /** The server rejects trailing bytes too: they mean the two sides disagree on the format. */
  end(): void {
    if (this.pos !== this.buf.length) throw violation('invalid message format');
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw violation('insufficient data left in message');
  }
}

const FIXED_EMPTY = new Set(['S', 'H', 'X', 'c']);
const KNOWN_TYPES = new Set(['Q', 'P', 'B', 'D', 'E', 'S', 'H', 'C', 'X', 'p', 'd', 'c', 'f']);

/**
 * Incremental parser of what a client sends: the untyped first packet(s),
 * then typed messages. Feed it socket chunks as they come; it returns the
 * complete packets and keeps the rest. After a TLS upgrade use a new parser
 * on the TLS stream.
 */
export class FrontendParser {
  private readonly maxMessageLength: number;
  private phase: 'startup' | 'typed' | 'closed' = 'startup';
  // Unread bytes are buf[off, off + len). Bytes before `off` may back payloads
  // already handed out, so they are never overwritten: growth allocates anew.
  private buf: Buffer = Buffer.alloc(0);
  private off = 0;
  private len = 0;
  private owned = false;

  constructor(options: FrontendParserOptions = {}) {
    const max = options.maxMessageLength ?? DEFAULT_MAX_MESSAGE_LENGTH;
    if (!Number.isInteger(max) || max < 0 || max > MAX_MESSAGE_LENGTH_CAP) {
      throw new RangeError(`maxMessageLength must be an integer in [0, ${MAX_MESSAGE_LENGTH_CAP}]`);
    }
    this.maxMessageLength = max;
  }

  /** Bytes received but not yet part of a complete packet. */
  get buffered(): number {
    return this.len;
  }

  /** Returns the packets completed by `chunk`, in order; throws PgWireError on malformed input. */
  feed(chunk: Buffer): FrontendPacket[] {
    if (this.phase === 'closed' && chunk.length > 0) throw violation('unexpected data after cancel request');
    this.append(chunk);
    const out: FrontendPacket[] = [];
    for (;;) {
      const packet = this.phase === 'startup' ? this.nextStartup() : this.phase === 'typed' ? this.nextTyped() : undefined;
      if (packet === undefined) break;
      out.push(packet);
    }
    return out;
  }

  private nextStartup(): StartupPacket | undefined {
    if (this.len < 4) return undefined;
    const length = this.buf.readInt32BE(this.off);
    if (length < 8 || length > MAX_STARTUP_LENGTH) throw violation('invalid length of startup packet');
    if (this.len < length) return undefined;
    const r = new Reader(this.take(length).subarray(4));
    const code = r.int32();
    switch (code) {
      case SSL_REQUEST_CODE:
      case GSSENC_REQUEST_CODE:
        r.end();
        // Bytes after the request arrived before our one-byte answer, so an
        // attacker could have injected them outside the coming TLS session.
        if (this.len > 0) throw violation('received unencrypted data after encryption request');
        return { type: code === SSL_REQUEST_CODE ? 'sslRequest' : 'gssEncRequest' };
      case CANCEL_REQUEST_CODE: {
        const processId = r.int32();
        const secretKey = r.int32();
        r.end();
        this.phase = 'closed';
        if (this.len > 0) throw violation('unexpected data after cancel request');
        return { type: 'cancelRequest', processId, secretKey };
      }
    }
    const major = code >>> 16;
    const minor = code & 0xffff;
    if (major !== 3) {
      throw new PgWireError(SQLSTATE.FEATURE_NOT_SUPPORTED, `unsupported frontend protocol ${major}.${minor}: server supports 3.0`);
    }
    const params: Record<string, string> = Object.create(null) as Record<string, string>;
    const protocolOptions: string[] = [];
    for (;;) {
      const name = r.cstring();
      if (name === '') break;
      const value = r.cstring();
      if (name.startsWith('_pq_.')) protocolOptions.push(name);
      else params[name] = value;
    }
    r.end();
    if (!params['user']) {
      throw new PgWireError(SQLSTATE.INVALID_AUTHORIZATION_SPECIFICATION, 'no PostgreSQL user name specified in startup packet');
    }
    this.phase = 'typed';
    return { type: 'startup', minorVersion: minor, params, protocolOptions };
  }

  private nextTyped(): FrontendMessage | undefined {
    if (this.len < 1) return undefined;
    const type = String.fromCharCode(this.buf[this.off] ?? 0);
    // Judge the header as soon as it is here, not after buffering a huge payload.
    if (!KNOWN_TYPES.has(type)) throw violation(`invalid frontend message type ${type.charCodeAt(0)}`);
    if (this.len < 5) return undefined;
    const length = this.buf.readInt32BE(this.off + 1);
    if (length < 4 || length - 4 > this.maxMessageLength || (FIXED_EMPTY.has(type) && length !== 4)) {
      throw violation(`invalid message length ${length} for message type "${type}"`);
    }
    if (this.len < length + 1) return undefined;
    const r = new Reader(this.take(length + 1).subarray(5));
    const msg = decodeTyped(type, r);
    r.end();
    return msg;
  }

  private append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.len === 0) {
      // Common case: the chunk holds whole messages; parse it in place.
      this.buf = chunk;
      this.off = 0;
      this.len = chunk.length;
      this.owned = false;
      return;
    }
    const end = this.off + this.len;
    if (this.owned && end + chunk.length <= this.buf.length) {
      chunk.copy(this.buf, end);
      this.len += chunk.length;
      return;
    }
    // Doubling keeps a large message arriving in many chunks linear overall.
    const grown = Buffer.allocUnsafe(Math.max(2 * (this.len + chunk.length), 4096));
    this.buf.copy(grown, 0, this.off, end);
    chunk.copy(grown, this.len);
    this.buf = grown;
    this.off = 0;
    this.len += chunk.length;
    this.owned = true;
  }

  private take(n: number): Buffer {
    const v = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    this.len -= n;
    return v;
  }
}

function target(r: Reader): Target {
  const t = String.fromCharCode(r.byte());
  if (t !== 'S' && t !== 'P') throw violation(`invalid target type "${t}"`);
  return t;
}

function formats(r: Reader): number[] {
  const n = r.uint16();
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(r.int16());
  return out;
}

function decodeTyped(type: string, r: Reader): FrontendMessage {
  switch (type) {
    case 'Q':
      return { type: 'query', sql: r.cstring() };
    case 'P': {
      const name = r.cstring();
      const sql = r.cstring();
      const n = r.uint16();
      const paramTypes: number[] = [];
      for (let i = 0; i < n; i++) paramTypes.push(r.uint32());
      return { type: 'parse', name, sql, paramTypes };
    }
    case 'B': {
      const portal = r.cstring();
      const statement = r.cstring();
      const paramFormats = formats(r);
      const n = r.uint16();
      const params: (Buffer | null)[] = [];
      for (let i = 0; i < n; i++) {
        const len = r.int32();
        if (len < -1) throw violation(`invalid length ${len} of bind parameter ${i + 1}`);
        params.push(len === -1 ? null : r.bytes(len));
      }
      return { type: 'bind', portal, statement, paramFormats, params, resultFormats: formats(r) };
    }
    case 'D':
      return { type: 'describe', target: target(r), name: r.cstring() };
    case 'E':
      return { type: 'execute', portal: r.cstring(), maxRows: r.int32() };
    case 'C':
      return { type: 'close', target: target(r), name: r.cstring() };
    case 'S':
      return { type: 'sync' };
    case 'H':
      return { type: 'flush' };
    case 'X':
      return { type: 'terminate' };
    case 'p':
      return { type: 'password', payload: r.bytes(r.remaining) };
    case 'd':
      return { type: 'copyData', data: r.bytes(r.remaining) };
    case 'c':
      return { type: 'copyDone' };
    case 'f':
      return { type: 'copyFail', message: r.cstring() };
    default:
      throw violation(`invalid frontend message type ${type.charCodeAt(0)}`);
  }
}

/** Reads a 'p' payload as PasswordMessage (cleartext). */
export function decodePasswordMessage(payload: Buffer): string {
  const r = new Reader(payload);
  const password = r.cstring();
  r.end();
  return password;
}

/** Reads a 'p' payload as SASLInitialResponse; `data` is null when the client sent none (-1). */
export function decodeSaslInitialResponse(payload: Buffer): { mechanism: string; data: Buffer | null } {
  const r = new Reader(payload);
  const mechanism = r.cstring();
  const len = r.int32();
  if (len < -1) throw violation('invalid SASL initial response length');
  const data = len === -1 ? null : r.bytes(len);
  r.end();
  return { mechanism, data };
}

/**
 * Splits the startup `options` parameter like the server does: whitespace
 * separates arguments, a backslash makes the next character literal.
 */
export function splitStartupOptions(options: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inArg = false;
  for (let i = 0; i < options.length; i++) {
    const ch = options[i] ?? '';
    if (/\s/.test(ch)) {
      if (inArg) out.push(cur);
      cur = '';
      inArg = false;
      continue;
    }
    if (ch === '\\' && i + 1 < options.length) cur += options[++i] ?? '';
    else cur += ch;
    inArg = true;
  }
  if (inArg) out.push(cur);
  return out;
}
