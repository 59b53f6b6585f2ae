// Reading a client's first packets without consuming what follows them:
// the proxy parses only the untyped startup packets and hands every byte
// after them to the pod untouched.
import type { Socket } from 'node:net';
import { FrontendParser, PgWireError, SQLSTATE, type StartupPacket } from '../../shared/pgwire/index.js';

/** Same bound as PostgreSQL's MAX_STARTUP_PACKET_LENGTH. */
const MAX_STARTUP = 10_000;

export interface StartupRead {
  readonly packet: StartupPacket;
  /** Bytes that arrived after the packet (to forward, or to refuse after an encryption request). */
  readonly rest: Buffer;
}

/** Reads one startup-phase packet; rejects on a malformed packet, a closed socket or the deadline. */
export function readStartup(socket: Socket, deadline: number, initial: Buffer = Buffer.alloc(0)): Promise<StartupRead> {
  return new Promise((resolve, reject) => {
    let buf = initial;
    const timer = setTimeout(() => finish(new PgWireError(SQLSTATE.PROTOCOL_VIOLATION, 'timeout waiting for the startup packet')), Math.max(0, deadline - Date.now()));
    const tryParse = (): boolean => {
      if (buf.length < 4) return false;
      const length = buf.readInt32BE(0);
      if (length < 8 || length > MAX_STARTUP) throw new PgWireError(SQLSTATE.PROTOCOL_VIOLATION, 'invalid length of startup packet');
      if (buf.length < length) return false;
      const [packet] = new FrontendParser().feed(buf.subarray(0, length));
      if (!packet || !('type' in packet) || !isStartup(packet)) throw new PgWireError(SQLSTATE.PROTOCOL_VIOLATION, 'invalid startup packet');
      finish(undefined, { packet, rest: buf.subarray(length) });
      return true;
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        tryParse();
      } catch (err) {
        finish(err as Error);
      }
    };
    const onEnd = () => finish(new PgWireError(SQLSTATE.PROTOCOL_VIOLATION, 'connection closed before the startup packet'));
    const finish = (err: Error | undefined, read?: StartupRead) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onEnd);
      socket.pause();
      if (err) reject(err);
      else if (read) resolve(read);
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onEnd);
    try {
      if (!tryParse()) socket.resume();
    } catch (err) {
      finish(err as Error);
    }
  });
}

function isStartup(p: { type: string }): p is StartupPacket {
  return p.type === 'startup' || p.type === 'sslRequest' || p.type === 'gssEncRequest' || p.type === 'cancelRequest';
}

/** A StartupMessage for protocol 3.0 with these parameters. */
export function encodeStartup(params: Readonly<Record<string, string>>): Buffer {
  const body = Buffer.concat([
    ...Object.entries(params).flatMap(([k, v]) => [Buffer.from(`${k}\0`, 'utf8'), Buffer.from(`${v}\0`, 'utf8')]),
    Buffer.from([0]),
  ]);
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + body.length, 0);
  head.writeInt32BE(196608, 4);
  return Buffer.concat([head, body]);
}

export function encodeCancel(processId: number, secretKey: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeInt32BE(16, 0);
  b.writeInt32BE(80877102, 4);
  b.writeInt32BE(processId, 8);
  b.writeInt32BE(secretKey, 12);
  return b;
}
