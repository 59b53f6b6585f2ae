// A byte-level PostgreSQL client for tests that need exact message sequences
// (row-limited Execute, Describe, errors in a pipeline, malformed input) that
// node-postgres and psql do not let a test choose. Frontend messages come
// from pg-protocol's serializer; backend frames are split and decoded here.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { serialize } from 'pg-protocol';

export interface Frame {
  /** The backend message type byte, e.g. 'Z' for ReadyForQuery. */
  type: string;
  payload: Buffer;
}

export function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

/** A StartupMessage with any protocol version and parameters (pg-protocol always says 3.0). */
export function startupPacket(params: Record<string, string>, major = 3, minor = 0): Buffer {
  const body = Buffer.concat([
    int32((major << 16) | minor),
    ...Object.entries(params).map(([k, v]) => Buffer.from(`${k}\0${v}\0`)),
    Buffer.from([0]),
  ]);
  return Buffer.concat([int32(body.length + 4), body]);
}

/** A Bind message with any format codes, valid or not (pg-protocol's serializer only writes sensible ones). */
export function bindMessage(opts: {
  portal?: string;
  statement?: string;
  paramFormats?: number[];
  params?: (Buffer | null)[];
  resultFormats?: number[];
}): Buffer {
  const int16 = (n: number): Buffer => {
    const b = Buffer.alloc(2);
    b.writeInt16BE(n);
    return b;
  };
  const codes = (list: number[]): Buffer[] => [int16(list.length), ...list.map(int16)];
  const params = opts.params ?? [];
  const body = Buffer.concat([
    Buffer.from(`${opts.portal ?? ''}\0${opts.statement ?? ''}\0`),
    ...codes(opts.paramFormats ?? []),
    int16(params.length),
    ...params.flatMap((p) => (p === null ? [int32(-1)] : [int32(p.length), p])),
    ...codes(opts.resultFormats ?? []),
  ]);
  return Buffer.concat([Buffer.from('B'), int32(body.length + 4), body]);
}

/** Error and notice fields by their one-letter codes (S, C, M, P, ...). */
export function fieldsOf(frame: Frame): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < frame.payload.length && frame.payload[at] !== 0) {
    const code = String.fromCharCode(frame.payload[at] ?? 0);
    const end = frame.payload.indexOf(0, at + 1);
    out[code] = frame.payload.toString('utf8', at + 1, end);
    at = end + 1;
  }
  return out;
}

export function cstrings(frame: Frame): string[] {
  return frame.payload.toString('utf8').split('\0').slice(0, -1);
}

export function dataRow(frame: Frame): (Buffer | null)[] {
  const n = frame.payload.readInt16BE(0);
  const out: (Buffer | null)[] = [];
  let at = 2;
  for (let i = 0; i < n; i++) {
    const len = frame.payload.readInt32BE(at);
    at += 4;
    if (len < 0) out.push(null);
    else {
      out.push(frame.payload.subarray(at, at + len));
      at += len;
    }
  }
  return out;
}

export function rowDescription(frame: Frame): { name: string; typeOid: number; format: number }[] {
  const n = frame.payload.readInt16BE(0);
  const out: { name: string; typeOid: number; format: number }[] = [];
  let at = 2;
  for (let i = 0; i < n; i++) {
    const end = frame.payload.indexOf(0, at);
    const name = frame.payload.toString('utf8', at, end);
    at = end + 1;
    out.push({ name, typeOid: frame.payload.readInt32BE(at + 6), format: frame.payload.readInt16BE(at + 16) });
    at += 18;
  }
  return out;
}

export function parameterDescription(frame: Frame): number[] {
  const n = frame.payload.readInt16BE(0);
  return Array.from({ length: n }, (_, i) => frame.payload.readUInt32BE(2 + 4 * i));
}

/** A compact picture of a frame for assertions: 'C SELECT 2', 'E 42601', 'Z I', 'D 1,2', ... */
export function describe(frame: Frame): string {
  switch (frame.type) {
    case 'C':
      return `C ${cstrings(frame)[0] ?? ''}`;
    case 'E':
    case 'N':
      return `${frame.type} ${fieldsOf(frame)['C'] ?? ''}`;
    case 'Z':
      return `Z ${String.fromCharCode(frame.payload[0] ?? 0)}`;
    case 'D':
      return `D ${dataRow(frame).map((v) => (v === null ? 'NULL' : v.toString('utf8'))).join(',')}`;
    case 'T':
      return `T ${rowDescription(frame).map((f) => f.name).join(',')}`;
    case 'S':
      return `S ${cstrings(frame).join('=')}`;
    default:
      return frame.type;
  }
}

export interface LoginResult {
  processId: number;
  secretKey: number;
  parameters: Map<string, string>;
  /** Everything from the first frame after the startup packet to ReadyForQuery. */
  frames: Frame[];
}

export class RawClient {
  private socket: Socket;
  private buf = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | undefined;
  readonly closed: Promise<void>;
  /** Socket reads so far: how many pieces the server's answers arrived in. */
  chunks = 0;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    this.attach(socket);
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = netConnect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  /** Connects and logs in with SCRAM-SHA-256. */
  static async login(port: number, user: string, password: string, extra: Record<string, string> = {}): Promise<{ client: RawClient; login: LoginResult }> {
    const client = await RawClient.connect(port);
    client.send(startupPacket({ user, database: 'app', ...extra }));
    return { client, login: await client.scram(password) };
  }

  send(...messages: Buffer[]): void {
    this.socket.write(Buffer.concat(messages));
  }

  /** Sends SSLRequest and, on 'S', continues over TLS; returns the answer byte. */
  async requestTls(options: ConnectionOptions): Promise<string> {
    this.send(serialize.requestSsl());
    const answer = (await this.pull(1)).toString();
    if (answer !== 'S') return answer;
    const plain = this.socket;
    plain.removeAllListeners('data');
    const secure = tlsConnect({ ...options, socket: plain });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.socket = secure;
    this.attach(secure);
    return answer;
  }

  async readByte(): Promise<string> {
    return (await this.pull(1)).toString('latin1');
  }

  async next(): Promise<Frame> {
    const head = await this.pull(5);
    const type = String.fromCharCode(head[0] ?? 0);
    const payload = await this.pull(head.readInt32BE(1) - 4);
    return { type, payload };
  }

  /** Frames up to and including the first of `type`. */
  async until(type: string): Promise<Frame[]> {
    const out: Frame[] = [];
    for (;;) {
      const f = await this.next();
      out.push(f);
      if (f.type === type) return out;
    }
  }

  /** Frames until the server closes the connection. */
  async rest(): Promise<Frame[]> {
    const out: Frame[] = [];
    for (;;) {
      try {
        out.push(await this.next());
      } catch {
        return out;
      }
    }
  }

  /** Runs the SCRAM exchange after the startup packet was sent. */
  async scram(password: string): Promise<LoginResult> {
    const frames: Frame[] = [];
    const expectAuth = async (code: number): Promise<Buffer> => {
      for (;;) {
        const f = await this.next();
        frames.push(f);
        if (f.type === 'E') throw new Error(`login failed: ${JSON.stringify(fieldsOf(f))}`);
        if (f.type === 'R' && f.payload.readInt32BE(0) === code) return f.payload.subarray(4);
        if (f.type !== 'v') throw new Error(`unexpected frame ${f.type} during login`);
      }
    };
    await expectAuth(10);
    const clientFirstBare = `n=,r=${randomBytes(18).toString('base64')}`;
    this.send(serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', `n,,${clientFirstBare}`));
    const serverFirst = (await expectAuth(11)).toString();
    this.send(serialize.sendSCRAMClientFinalMessage(scramClientFinal(password, clientFirstBare, serverFirst)));
    await expectAuth(12);
    for (;;) {
      const f = await this.next();
      frames.push(f);
      if (f.type === 'E') throw new Error(`login failed: ${JSON.stringify(fieldsOf(f))}`);
      if (f.type === 'Z') break;
    }
    const key = frames.find((f) => f.type === 'K');
    const parameters = new Map(frames.filter((f) => f.type === 'S').map((f) => cstrings(f) as [string, string]));
    return { processId: key?.payload.readInt32BE(0) ?? 0, secretKey: key?.payload.readInt32BE(4) ?? 0, parameters, frames };
  }

  /** Stops reading from the socket, so the server's writes back up. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  end(): void {
    this.socket.end(serialize.end());
  }

  destroy(): void {
    this.socket.destroy();
  }

  private attach(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.chunks++;
      this.buf = Buffer.concat([this.buf, chunk]);
      this.wake?.();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
    socket.on('error', () => undefined);
  }

  private async pull(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      if (this.ended) throw new Error('connection closed');
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
}

/** The client half of SCRAM-SHA-256 (RFC 5802), without channel binding. */
export function scramClientFinal(password: string, clientFirstBare: string, serverFirst: string): string {
  const attrs = new Map(serverFirst.split(',').map((a) => [a.slice(0, 1), a.slice(2)]));
  const salted = pbkdf2Sync(password, Buffer.from(attrs.get('s') ?? '', 'base64'), Number(attrs.get('i')), 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const withoutProof = `c=biws,r=${attrs.get('r') ?? ''}`;
  const signature = createHmac('sha256', storedKey).update(`${clientFirstBare},${serverFirst},${withoutProof}`).digest();
  const proof = Buffer.from(clientKey.map((b, i) => b ^ (signature[i] ?? 0)));
  return `${withoutProof},p=${proof.toString('base64')}`;
}
