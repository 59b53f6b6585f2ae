import { describe, expect, it } from 'vitest';
import { serialize } from 'pg-protocol';
import { Parser } from 'pg-protocol/dist/parser.js';
import type { BackendMessage } from 'pg-protocol/dist/messages.js';
import {
  BackendWriter,
  FrontendParser,
  PgWireError,
  decodePasswordMessage,
  decodeSaslInitialResponse,
  encode,
  splitStartupOptions,
  type FrontendPacket,
} from './index.js';

const hex = (b: Buffer): string => b.toString('hex').replace(/(..)(?!$)/g, '$1 ');

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

/** A raw untyped first packet: length, code, body. */
function untyped(code: number, body: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([int32(8 + body.length), int32(code), body]);
}

function typed(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([Buffer.from(type), int32(4 + body.length), body]);
}

function parseAll(...chunks: Buffer[]): FrontendPacket[] {
  const p = new FrontendParser();
  return chunks.flatMap((c) => p.feed(c));
}

function wireError(fn: () => unknown): PgWireError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PgWireError) return err;
    throw err;
  }
  throw new Error('expected a PgWireError');
}

/** Decodes backend bytes with node-postgres' own client-side parser. */
function clientParse(buf: Buffer): (BackendMessage & Record<string, unknown>)[] {
  const out: (BackendMessage & Record<string, unknown>)[] = [];
  new Parser().parse(buf, (msg) => out.push(msg as BackendMessage & Record<string, unknown>));
  return out;
}

describe('FrontendParser: first packet', () => {
  it('reads StartupMessage parameters including options', () => {
    const start = serialize.startup({
      user: 'alice',
      database: 'app',
      options: '--cluster=acme-42 -c search_path=a\\ b',
      application_name: 'psql',
    });
    const [pkt, ...rest] = parseAll(start);
    expect(rest).toEqual([]);
    expect(pkt).toEqual({
      type: 'startup',
      minorVersion: 0,
      params: {
        user: 'alice',
        database: 'app',
        options: '--cluster=acme-42 -c search_path=a\\ b',
        application_name: 'psql',
        client_encoding: 'UTF8',
      },
      protocolOptions: [],
    });
    if (pkt?.type !== 'startup') throw new Error('unreachable');
    expect(splitStartupOptions(pkt.params['options'] ?? '')).toEqual(['--cluster=acme-42', '-c', 'search_path=a b']);
  });

  it('reports a newer minor version and _pq_ options for negotiation', () => {
    const body = Buffer.from('user\0bob\0_pq_.compression\0on\0\0');
    expect(parseAll(untyped((3 << 16) | 2, body))).toEqual([
      { type: 'startup', minorVersion: 2, params: { user: 'bob' }, protocolOptions: ['_pq_.compression'] },
    ]);
  });

  it('reads SSLRequest, then the StartupMessage that follows', () => {
    const p = new FrontendParser();
    expect(p.feed(untyped(80877103))).toEqual([{ type: 'sslRequest' }]);
    expect(p.feed(untyped(80877104))).toEqual([{ type: 'gssEncRequest' }]);
    const [pkt] = p.feed(serialize.startup({ user: 'u' }));
    expect(pkt?.type).toBe('startup');
  });

  it('matches the client serializer for SSLRequest and CancelRequest', () => {
    expect(parseAll(serialize.requestSsl())).toEqual([{ type: 'sslRequest' }]);
    expect(parseAll(serialize.cancel(4242, -7))).toEqual([{ type: 'cancelRequest', processId: 4242, secretKey: -7 }]);
  });

  it('rejects data pipelined behind SSLRequest (injection before TLS)', () => {
    const err = wireError(() => parseAll(Buffer.concat([serialize.requestSsl(), serialize.startup({ user: 'u' })])));
    expect(err.code).toBe('08P01');
  });

  it('rejects anything after a CancelRequest', () => {
    const p = new FrontendParser();
    p.feed(serialize.cancel(1, 2));
    expect(wireError(() => p.feed(Buffer.from([0]))).code).toBe('08P01');
  });

  it.each([
    ['protocol 2.0', untyped(2 << 16, Buffer.from('user\0u\0\0')), '0A000'],
    ['protocol 4.0', untyped(4 << 16, Buffer.from('user\0u\0\0')), '0A000'],
    ['length below 8', Buffer.concat([int32(7), int32(196608)]), '08P01'],
    ['length above 10000', Buffer.concat([int32(10_001), int32(196608)]), '08P01'],
    ['negative length', Buffer.concat([int32(-5), int32(196608)]), '08P01'],
    ['TLS ClientHello instead of startup', Buffer.from('160301020001', 'hex'), '08P01'],
    ['unterminated parameter', untyped(196608, Buffer.from('user\0u')), '08P01'],
    ['cancel request with extra bytes', untyped(80877102, Buffer.alloc(12)), '08P01'],
    ['no user', untyped(196608, Buffer.from('database\0d\0\0')), '28000'],
  ])('rejects %s', (_name, bytes, code) => {
    expect(wireError(() => parseAll(bytes)).code).toBe(code);
  });
});

describe('FrontendParser: typed messages', () => {
  const startup = serialize.startup({ user: 'u' });
  const stream = Buffer.concat([
    startup,
    serialize.query('SELECT 1'),
    serialize.parse({ name: 's1', text: 'SELECT $1::int, $2', types: [23, 0] }),
    serialize.bind({ portal: 'p1', statement: 's1', values: ['42', null] }),
    serialize.describe({ type: 'P', name: 'p1' }),
    serialize.execute({ portal: 'p1', rows: 10 }),
    serialize.close({ type: 'S', name: 's1' }),
    serialize.flush(),
    serialize.sync(),
    serialize.password('secret'),
    serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', 'n,,n=*,r=abc'),
    serialize.copyData(Buffer.from([0, 1, 2])),
    serialize.copyDone(),
    serialize.copyFail('oops'),
    serialize.end(),
  ]);
  const expected: unknown[] = [
    { type: 'startup', minorVersion: 0, params: { user: 'u', client_encoding: 'UTF8' }, protocolOptions: [] },
    { type: 'query', sql: 'SELECT 1' },
    { type: 'parse', name: 's1', sql: 'SELECT $1::int, $2', paramTypes: [23, 0] },
    { type: 'bind', portal: 'p1', statement: 's1', paramFormats: [0, 0], params: [Buffer.from('42'), null], resultFormats: [0] },
    { type: 'describe', target: 'P', name: 'p1' },
    { type: 'execute', portal: 'p1', maxRows: 10 },
    { type: 'close', target: 'S', name: 's1' },
    { type: 'flush' },
    { type: 'sync' },
    { type: 'password', payload: Buffer.from('secret\0') },
    { type: 'password', payload: expect.any(Buffer) as unknown },
    { type: 'copyData', data: Buffer.from([0, 1, 2]) },
    { type: 'copyDone' },
    { type: 'copyFail', message: 'oops' },
    { type: 'terminate' },
  ];

  it('parses a coalesced stream in one chunk', () => {
    const got = parseAll(stream);
    expect(got).toEqual(expected);
    const sasl = got[10];
    if (sasl?.type !== 'password') throw new Error('unreachable');
    expect(decodeSaslInitialResponse(sasl.payload)).toEqual({ mechanism: 'SCRAM-SHA-256', data: Buffer.from('n,,n=*,r=abc') });
    const pw = got[9];
    if (pw?.type !== 'password') throw new Error('unreachable');
    expect(decodePasswordMessage(pw.payload)).toBe('secret');
  });

  it('gives the same result when split at every byte boundary', () => {
    for (let i = 0; i <= stream.length; i++) {
      expect(parseAll(stream.subarray(0, i), stream.subarray(i))).toEqual(expected);
    }
  });

  it('gives the same result fed one byte at a time, and payloads survive later chunks', () => {
    const p = new FrontendParser();
    const got: FrontendPacket[] = [];
    for (let i = 0; i < stream.length; i++) got.push(...p.feed(stream.subarray(i, i + 1)));
    expect(got).toEqual(expected);
    expect(p.buffered).toBe(0);
  });

  it('keeps a partial message buffered until complete', () => {
    const p = new FrontendParser();
    p.feed(startup);
    const q = serialize.query('SELECT 2');
    expect(p.feed(q.subarray(0, 3))).toEqual([]);
    expect(p.buffered).toBe(3);
    expect(p.feed(q.subarray(3))).toEqual([{ type: 'query', sql: 'SELECT 2' }]);
  });

  it('rejects an oversized length from the header alone, before the payload arrives', () => {
    const p = new FrontendParser({ maxMessageLength: 1024 });
    p.feed(startup);
    expect(p.feed(typed('d', Buffer.alloc(1024)))).toHaveLength(1);
    const err = wireError(() => p.feed(Buffer.concat([Buffer.from('d'), int32(4 + 1025)])));
    expect(err.code).toBe('08P01');
    expect(err.message).toMatch(/invalid message length/);
  });

  it('caps the configurable limit at 1 GiB', () => {
    expect(() => new FrontendParser({ maxMessageLength: 2 ** 30 })).toThrow(RangeError);
    expect(() => new FrontendParser({ maxMessageLength: 2 ** 30 - 1 })).not.toThrow();
  });

  it.each([
    ['negative length', Buffer.concat([Buffer.from('Q'), int32(-1)])],
    ['length below 4', Buffer.concat([Buffer.from('Q'), int32(3)])],
    ['unknown type', Buffer.from('F')],
    ['Sync with a body', typed('S', Buffer.from([0]))],
    ['unterminated query', typed('Q', Buffer.from('SELECT'))],
    ['trailing bytes', typed('Q', Buffer.from('SELECT 1\0x'))],
    ['bad describe target', typed('D', Buffer.from('Xname\0'))],
    ['bind parameter length -2', typed('B', Buffer.concat([Buffer.from('\0\0'), Buffer.from([0, 0, 0, 1]), int32(-2), Buffer.from([0, 0])]))],
    ['bind parameter longer than message', typed('B', Buffer.concat([Buffer.from('\0\0'), Buffer.from([0, 0, 0, 1]), int32(100)]))],
  ])('rejects %s with 08P01', (_name, bytes) => {
    const p = new FrontendParser();
    p.feed(startup);
    expect(wireError(() => p.feed(bytes)).code).toBe('08P01');
  });
});

describe('BackendWriter', () => {
  it.each<[string, (w: BackendWriter) => void, string]>([
    ['ReadyForQuery I', (w) => w.readyForQuery('I'), '5a 00 00 00 05 49'],
    ['ReadyForQuery T', (w) => w.readyForQuery('T'), '5a 00 00 00 05 54'],
    ['ReadyForQuery E', (w) => w.readyForQuery('E'), '5a 00 00 00 05 45'],
    ['AuthenticationOk', (w) => w.authenticationOk(), '52 00 00 00 08 00 00 00 00'],
    ['AuthenticationCleartextPassword', (w) => w.authenticationCleartextPassword(), '52 00 00 00 08 00 00 00 03'],
    ['ParseComplete', (w) => w.parseComplete(), '31 00 00 00 04'],
    ['BindComplete', (w) => w.bindComplete(), '32 00 00 00 04'],
    ['CloseComplete', (w) => w.closeComplete(), '33 00 00 00 04'],
    ['NoData', (w) => w.noData(), '6e 00 00 00 04'],
    ['PortalSuspended', (w) => w.portalSuspended(), '73 00 00 00 04'],
    ['EmptyQueryResponse', (w) => w.emptyQueryResponse(), '49 00 00 00 04'],
    ['CommandComplete', (w) => w.commandComplete('SELECT 1'), '43 00 00 00 0d 53 45 4c 45 43 54 20 31 00'],
    ['BackendKeyData', (w) => w.backendKeyData(1, -1), '4b 00 00 00 0c 00 00 00 01 ff ff ff ff'],
    ['ParameterDescription', (w) => w.parameterDescription([23, 4294967295]), '74 00 00 00 0e 00 02 00 00 00 17 ff ff ff ff'],
    ['DataRow with NULL', (w) => w.dataRow([null, 'é']), '44 00 00 00 10 00 02 ff ff ff ff 00 00 00 02 c3 a9'],
    ['NegotiateProtocolVersion', (w) => w.negotiateProtocolVersion(0, ['_pq_.x']), '76 00 00 00 13 00 00 00 00 00 00 00 01 5f 70 71 5f 2e 78 00'],
    ['SASL mechanisms', (w) => w.authenticationSasl(['SCRAM-SHA-256']), '52 00 00 00 17 00 00 00 0a 53 43 52 41 4d 2d 53 48 41 2d 32 35 36 00 00'],
  ])('encodes %s byte-exactly', (_name, write, bytes) => {
    expect(hex(encode(write))).toBe(bytes);
  });

  it('round-trips through the node-postgres parser', () => {
    const buf = encode((w) =>
      w
        .authenticationOk()
        .authenticationSasl(['SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS'])
        .authenticationSaslContinue('r=abc,s=c2FsdA==,i=4096')
        .authenticationSaslFinal('v=xyz')
        .parameterStatus('server_version', '16.0')
        .backendKeyData(77, 1234)
        .rowDescription([
          { name: '?column?', typeOid: 23, typeSize: 4 },
          { name: 'name', tableOid: 16384, columnAttr: 2, typeOid: 25, typeSize: -1, typeModifier: -1, format: 1 },
        ])
        .dataRow(['1', null, Buffer.from('bin')])
        .commandComplete('SELECT 1')
        .parameterDescription([23, 25])
        .errorResponse({ severity: 'ERROR', code: '42601', message: 'syntax error at or near "x"', detail: 'd', hint: 'h', position: 8 })
        .noticeResponse({ severity: 'NOTICE', code: '00000', message: 'hello' })
        .readyForQuery('E'),
    );
    const msgs = clientParse(buf);
    expect(msgs.map((m) => m.name)).toEqual([
      'authenticationOk',
      'authenticationSASL',
      'authenticationSASLContinue',
      'authenticationSASLFinal',
      'parameterStatus',
      'backendKeyData',
      'rowDescription',
      'dataRow',
      'commandComplete',
      'parameterDescription',
      'error',
      'notice',
      'readyForQuery',
    ]);
    expect(msgs[1]).toMatchObject({ mechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS'] });
    expect(msgs[2]).toMatchObject({ data: 'r=abc,s=c2FsdA==,i=4096' });
    expect(msgs[3]).toMatchObject({ data: 'v=xyz' });
    expect(msgs[4]).toMatchObject({ parameterName: 'server_version', parameterValue: '16.0' });
    expect(msgs[5]).toMatchObject({ processID: 77, secretKey: 1234 });
    expect(msgs[6]).toMatchObject({
      fieldCount: 2,
      fields: [
        { name: '?column?', tableID: 0, columnID: 0, dataTypeID: 23, dataTypeSize: 4, dataTypeModifier: -1, format: 'text' },
        { name: 'name', tableID: 16384, columnID: 2, dataTypeID: 25, dataTypeSize: -1, dataTypeModifier: -1, format: 'binary' },
      ],
    });
    expect(msgs[7]).toMatchObject({ fields: ['1', null, 'bin'] });
    expect(msgs[8]).toMatchObject({ text: 'SELECT 1' });
    expect(msgs[9]).toMatchObject({ dataTypeIDs: [23, 25] });
    expect(msgs[10]).toMatchObject({ severity: 'ERROR', code: '42601', message: 'syntax error at or near "x"', detail: 'd', hint: 'h', position: '8' });
    expect(msgs[11]).toMatchObject({ severity: 'NOTICE', code: '00000', message: 'hello' });
    expect(msgs[12]).toMatchObject({ status: 'E' });
  });

  it('grows past its initial capacity and keeps flushed buffers intact', () => {
    const w = new BackendWriter(16);
    const first = w.commandComplete('A'.repeat(100)).flush();
    const second = w.dataRow(['x'.repeat(5000)]).flush();
    expect(clientParse(first)).toMatchObject([{ text: 'A'.repeat(100) }]);
    expect(clientParse(second)).toMatchObject([{ fields: ['x'.repeat(5000)] }]);
    w.readyForQuery('I').flush();
    expect(clientParse(first)).toMatchObject([{ text: 'A'.repeat(100) }]);
  });

  it('refuses strings with NUL bytes', () => {
    expect(() => encode((w) => w.commandComplete('a\0b'))).toThrow(RangeError);
  });
});
