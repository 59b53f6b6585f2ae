// Bad first packets, case by case: the proxy answers each with an exact
// FATAL ErrorResponse or a clean close, keeps no socket behind, and a session
// opened before them (and a new one after them) still works.
import { connect as tcpConnect, type Socket } from 'node:net';
import { createSecureContext } from 'node:tls';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { createTestCerts, startTestKvpod, type TestCerts, type TestKvpod } from '../kvpod/testing/fixtures.js';
import { createLogger } from '../shared/log/index.js';
import type { SqlPod } from '../sqlpod/pod.js';
import { ADMIN, createTenant, startStampedPod } from '../sqlpod/testing/fixtures.js';
import { MemoryDirectory } from './directory/index.js';
import { encodeCancel, encodeStartup } from './forwarder/startup.js';
import { startProxy, type Proxy } from './server.js';

const STARTUP_TIMEOUT_MS = 1000;
// Far beyond the startup deadline: reaching it means the proxy left the client hanging.
const CLIENT_LIMIT_MS = 8000;

let certs: TestCerts;
let kv: TestKvpod;
let pod: SqlPod;
let proxy: Proxy;
let earlier: pg.Client;

const pgClient = () => new pg.Client({ host: '127.0.0.1', port: proxy.address.port, user: ADMIN.username, password: ADMIN.password, database: 'acme.defaultdb' });

beforeAll(async () => {
  certs = await createTestCerts();
  kv = await startTestKvpod(certs);
  pod = await startStampedPod(certs, await createTenant(certs, kv.address, 'acme'), kv.address);
  const directory = new MemoryDirectory({
    tenants: { acme: [{ name: 'acme-1', tenant: 'acme', state: 'running', address: `127.0.0.1:${pod.addresses.sql?.port ?? 0}` }] },
  });
  proxy = await startProxy({ host: '127.0.0.1', port: 0, directory, podCa: certs.ca.certPem, startupTimeoutMs: STARTUP_TIMEOUT_MS, log: createLogger('proxy', 'silent') });
  // Opened before any bad input, to show the bad input does not reach it.
  earlier = pgClient();
  await earlier.connect();
  await earlier.query('SELECT 1');
});

afterAll(async () => {
  await earlier?.end();
  await proxy?.close(0);
  await pod?.shutdown();
  await kv?.stop();
});

const opened = new Set<Socket>();
// Every bad connection must be gone from the proxy, leaving only the earlier
// session. Client ends left open by a failed case are cut first, so that one
// failure does not fail the cases after it.
afterEach(async () => {
  opened.forEach((s) => s.destroy());
  opened.clear();
  for (let i = 0; i < 100 && proxy.connections > 1; i++) await sleep(50);
  expect(proxy.connections).toBe(1);
});

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
const int32 = (...ns: number[]) => Buffer.concat(ns.map((n) => Buffer.from([n >>> 24, n >>> 16, n >>> 8, n].map((b) => b & 0xff))));
const SSL_REQUEST = int32(8, 80877103);
const GSSENC_REQUEST = int32(8, 80877104);
const STARTUP = encodeStartup({ user: ADMIN.username, database: 'acme.defaultdb' });

type Received = { bytes: Buffer; closed: boolean };

/** A raw TCP client that keeps all it receives; `until` settles on a condition or on close, and fails the test on a hang. */
function raw() {
  const socket = tcpConnect({ host: '127.0.0.1', port: proxy.address.port });
  opened.add(socket);
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  const got: Received = { bytes: Buffer.alloc(0), closed: false };
  const checks = new Set<() => void>();
  socket.on('data', (chunk: Buffer) => {
    got.bytes = Buffer.concat([got.bytes, chunk]);
    checks.forEach((c) => c());
  });
  socket.once('close', () => {
    got.closed = true;
    checks.forEach((c) => c());
  });
  const until = (done: (bytes: Buffer) => boolean = () => false) =>
    new Promise<Received>((resolve, reject) => {
      const timer = setTimeout(() => {
        checks.delete(check);
        socket.destroy();
        reject(new Error(`no close within ${CLIENT_LIMIT_MS} ms; received ${got.bytes.toString('hex')}`));
      }, CLIENT_LIMIT_MS);
      const check = () => {
        if (!got.closed && !done(got.bytes)) return;
        clearTimeout(timer);
        checks.delete(check);
        resolve({ ...got });
      };
      checks.add(check);
      check();
    });
  return { socket, until };
}

type Message = { type: string; body: Buffer };

/** Backend messages in `bytes`; a trailing partial message is left out. */
function messages(bytes: Buffer): Message[] {
  const out: Message[] = [];
  for (let at = 0; at + 5 <= bytes.length; ) {
    const end = at + 1 + bytes.readInt32BE(at + 1);
    if (end > bytes.length) break;
    out.push({ type: String.fromCharCode(bytes[at] ?? 0), body: bytes.subarray(at + 5, end) });
    at = end;
  }
  return out;
}

/** ErrorResponse fields by their one-letter code. */
function fields(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  for (let at = 0; at < body.length && body[at] !== 0; ) {
    const end = body.indexOf(0, at + 1);
    out[String.fromCharCode(body[at] ?? 0)] = body.toString('utf8', at + 1, end);
    at = end + 1;
  }
  return out;
}

const hasAuthRequest = (bytes: Buffer) => messages(bytes).some((m) => m.type === 'R');
// The pod's first word to a valid startup: AuthenticationSASL offering SCRAM-SHA-256.
const SASL_REQUEST: Message = { type: 'R', body: Buffer.concat([int32(10), Buffer.from('SCRAM-SHA-256\0\0')]) };

function expectRefusal(got: Received, code: string, message: string): void {
  expect(got.closed).toBe(true);
  expect(messages(got.bytes).map((m) => ({ type: m.type, ...fields(m.body) }))).toEqual([
    expect.objectContaining({ type: 'E', S: 'FATAL', C: code, M: expect.stringContaining(message) as string }),
  ]);
}

it.each([
  { name: 'nothing at all', send: Buffer.alloc(0), code: '08P01', message: 'timeout waiting for the startup packet' },
  // Only the header: a proxy that waited for the announced payload would answer with the timeout instead.
  { name: 'a length field over 10000', send: int32(10_001, 196608), code: '08P01', message: 'invalid length of startup packet' },
  { name: 'a length field of 7', send: int32(7, 196608), code: '08P01', message: 'invalid length of startup packet' },
  { name: 'a negative length field', send: int32(-1), code: '08P01', message: 'invalid length of startup packet' },
  { name: 'protocol 4.0', send: int32(8, 4 << 16), code: '0A000', message: 'unsupported frontend protocol 4.0: server supports 3.0' },
  { name: 'protocol 2.0', send: int32(8, 2 << 16), code: '0A000', message: 'unsupported frontend protocol 2.0: server supports 3.0' },
  { name: 'SSLRequest with plaintext in the same write', send: Buffer.concat([SSL_REQUEST, STARTUP]), code: '08P01', message: 'received unencrypted data after encryption request' },
  { name: 'GSSENCRequest with plaintext in the same write', send: Buffer.concat([GSSENC_REQUEST, STARTUP]), code: '08P01', message: 'received unencrypted data after encryption request' },
  // 'GET ' read as a length is 1195725856.
  { name: 'an HTTP request', send: Buffer.from('GET / HTTP/1.1\r\nHost: shoal\r\n\r\n'), code: '08P01', message: 'invalid length of startup packet' },
  { name: 'a startup packet without a user', send: encodeStartup({ database: 'acme.defaultdb' }), code: '28000', message: 'no PostgreSQL user name specified' },
])('refuses $name with $code', async ({ send, code, message }) => {
  const c = raw();
  if (send.length) c.socket.write(send);
  expectRefusal(await c.until(), code, message);
});

it('refuses a valid startup packet trickled past the deadline', async () => {
  const c = raw();
  void (async () => {
    for (let i = 0; i < STARTUP.length && !c.socket.destroyed; i++) {
      c.socket.write(STARTUP.subarray(i, i + 1));
      await sleep(300);
    }
  })();
  expectRefusal(await c.until(), '08P01', 'timeout waiting for the startup packet');
});

it('closes a refused client that answers the refusal with Terminate, as node-postgres does', async () => {
  const c = raw();
  c.socket.write(encodeStartup({ user: ADMIN.username, database: 'nobody.defaultdb' }));
  await c.until((b) => messages(b).some((m) => m.type === 'E'));
  // Terminate: the proxy must keep reading after its refusal, or it never sees the hang-up.
  c.socket.write(Buffer.from([0x58, 0, 0, 0, 4]));
  c.socket.end();
  const got = await c.until();
  expect(got.closed).toBe(true);
  expect(fields(messages(got.bytes)[0]?.body ?? Buffer.alloc(0)).C).toBe('08004');
});

it('closes a CancelRequest with an unknown key without a word', async () => {
  const c = raw();
  c.socket.write(encodeCancel(12345, 67890));
  expect(await c.until()).toEqual({ bytes: Buffer.alloc(0), closed: true });
});

it("answers GSSENCRequest 'N', then takes a normal startup on the same socket", async () => {
  const c = raw();
  c.socket.write(GSSENC_REQUEST);
  expect((await c.until((b) => b.length >= 1)).bytes.toString('latin1')).toBe('N');
  c.socket.write(STARTUP);
  const got = await c.until((b) => hasAuthRequest(b.subarray(1)));
  expect(got.closed).toBe(false);
  expect(messages(got.bytes.subarray(1))).toEqual([SASL_REQUEST]);
});

it('refuses a third encryption request after two were answered', async () => {
  const c = raw();
  c.socket.write(GSSENC_REQUEST);
  await c.until((b) => b.length >= 1);
  c.socket.write(SSL_REQUEST);
  await c.until((b) => b.length >= 2);
  c.socket.write(SSL_REQUEST);
  const got = await c.until();
  expect(got.bytes.subarray(0, 2).toString('latin1')).toBe('NN');
  expectRefusal({ bytes: got.bytes.subarray(2), closed: got.closed }, '08P01', 'unexpected encryption request');
});

it('lets go of a client that hangs up at the authentication request', async () => {
  const c = raw();
  c.socket.write(STARTUP);
  const got = await c.until(hasAuthRequest);
  expect(messages(got.bytes)).toEqual([SASL_REQUEST]);
  c.socket.destroy();
  // afterEach checks that the proxy's side of it is gone, which is the point of this case.
});

it('holds the TLS handshake to the startup deadline: a client that asks for TLS and then stalls is let go', async () => {
  const serving = await certs.issue({ kind: 'proxy-server' });
  const tlsProxy = await startProxy({
    host: '127.0.0.1',
    port: 0,
    directory: new MemoryDirectory(),
    podCa: certs.ca.certPem,
    clientTls: createSecureContext({ cert: serving.certPem, key: serving.keyPem }),
    startupTimeoutMs: STARTUP_TIMEOUT_MS,
    log: createLogger('proxy', 'silent'),
  });
  try {
    const socket = tcpConnect({ host: '127.0.0.1', port: tlsProxy.address.port });
    opened.add(socket);
    socket.on('error', () => undefined);
    let received = '';
    socket.on('data', (b: Buffer) => (received += b.toString('latin1')));
    socket.write(SSL_REQUEST);
    const closed = await new Promise<boolean>((resolve) => {
      socket.once('close', () => resolve(true));
      setTimeout(() => resolve(false), CLIENT_LIMIT_MS);
    });
    expect(received.startsWith('S')).toBe(true);
    expect(closed).toBe(true);
    for (let i = 0; i < 40 && tlsProxy.connections > 0; i++) await sleep(50);
    expect(tlsProxy.connections).toBe(0);
  } finally {
    await tlsProxy.close(0);
  }
});

it('still serves the session opened before the bad input, and a new one', async () => {
  expect((await earlier.query('SELECT 1 AS alive')).rows).toEqual([{ alive: 1 }]);
  const c = pgClient();
  await c.connect();
  expect((await c.query('SELECT 1 AS alive')).rows).toEqual([{ alive: 1 }]);
  await c.end();
});
