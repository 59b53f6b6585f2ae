// The backend messages of the COPY sub-protocol (CopyInResponse,
// CopyOutResponse, CopyData, CopyDone) and an ErrorResponse carrying a
// CONTEXT (W) field, encoded here because the shared BackendWriter has no
// builders for them. The connection writes these bytes after its pending
// output, so message order is kept.
import type { FrontendPacket, NoticeFields } from '../../shared/pgwire/index.js';
import type { FormatCode } from '../sql/session-api.js';

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.allocUnsafe(5);
  head[0] = type.charCodeAt(0);
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

function copyResponse(type: 'G' | 'H', format: FormatCode, columns: number): Buffer {
  const body = Buffer.alloc(3 + 2 * columns);
  body[0] = format;
  body.writeInt16BE(columns, 1);
  for (let i = 0; i < columns; i++) body.writeInt16BE(format, 3 + 2 * i);
  return message(type, body);
}

/** CopyInResponse: the client may now send CopyData, then CopyDone or CopyFail. */
export const copyInResponse = (format: FormatCode, columns: number): Buffer => copyResponse('G', format, columns);

/** CopyOutResponse: CopyData messages follow, then CopyDone. */
export const copyOutResponse = (format: FormatCode, columns: number): Buffer => copyResponse('H', format, columns);

export const COPY_DONE: Buffer = Buffer.from([0x63, 0, 0, 0, 4]);

/** One CopyData message per payload, in one buffer (one socket write per batch). */
export function copyDataMessages(payloads: readonly Buffer[]): Buffer {
  let size = 0;
  for (const p of payloads) size += 5 + p.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const p of payloads) {
    out[at] = 0x64;
    out.writeInt32BE(p.length + 4, at + 1);
    at += 5 + p.copy(out, at + 5);
  }
  return out;
}

/** ErrorResponse with PostgreSQL's field order, plus W (CONTEXT), which psql prints as "CONTEXT:". */
export function errorResponseWithWhere(fields: NoticeFields, where: string): Buffer {
  const parts: [string, string][] = [
    ['S', fields.severity],
    ['V', fields.severity],
    ['C', fields.code],
    ['M', fields.message],
  ];
  if (fields.detail !== undefined) parts.push(['D', fields.detail]);
  if (fields.hint !== undefined) parts.push(['H', fields.hint]);
  if (fields.position !== undefined) parts.push(['P', String(fields.position)]);
  parts.push(['W', where.replaceAll('\0', '')]);
  const body = Buffer.concat([...parts.map(([code, value]) => Buffer.from(`${code}${value}\0`, 'utf8')), Buffer.from([0])]);
  return message('E', body);
}

/** Message type bytes, for PostgreSQL's "unexpected message type 0x.." during COPY. */
const TYPE_BYTES: Readonly<Record<string, string>> = {
  query: 'Q',
  parse: 'P',
  bind: 'B',
  describe: 'D',
  execute: 'E',
  close: 'C',
  sync: 'S',
  flush: 'H',
  terminate: 'X',
  password: 'p',
  functionCall: 'F',
};

export function messageTypeOf(packet: FrontendPacket): string {
  const byte = TYPE_BYTES[packet.type];
  return byte === undefined ? `"${packet.type}"` : `0x${byte.charCodeAt(0).toString(16).toUpperCase()}`;
}
