// 100,000 random and mutated first packets against the proxy, then an
// ordinary client must still get in. Deterministic: a seeded generator.
import { connect as tcpConnect } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestCerts, startTestKvpod, type TestCerts, type TestKvpod } from '../kvpod/testing/fixtures.js';
import { createLogger } from '../shared/log/index.js';
import type { SqlPod } from '../sqlpod/pod.js';
import { ADMIN, createTenant, startStampedPod } from '../sqlpod/testing/fixtures.js';
import { MemoryDirectory } from './directory/index.js';
import { encodeCancel, encodeStartup } from './forwarder/startup.js';
import { startProxy, type Proxy } from './server.js';

const CASES = 100_000;
const CONCURRENCY = 64;

let certs: TestCerts;
let kv: TestKvpod;
let pod: SqlPod;
let proxy: Proxy;

beforeAll(async () => {
  certs = await createTestCerts();
  kv = await startTestKvpod(certs);
  pod = await startStampedPod(certs, await createTenant(certs, kv.address, 'acme'), kv.address);
  const directory = new MemoryDirectory({
    tenants: {
      acme: [{ name: 'acme-1', tenant: 'acme', state: 'running', address: `127.0.0.1:${pod.addresses.sql?.port ?? 0}` }],
      // A tenant whose only pod address accepts nothing.
      ghost: [{ name: 'ghost-1', tenant: 'ghost', state: 'running', address: '127.0.0.1:1' }],
    },
  });
  proxy = await startProxy({ host: '127.0.0.1', port: 0, directory, podCa: certs.ca.certPem, startupTimeoutMs: 2000, log: createLogger('proxy', 'silent') });
});

afterAll(async () => {
  await proxy?.close(0);
  await pod?.shutdown();
  await kv?.stop();
});

/** xorshift32: the same cases on every run. */
function generator(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  return {
    int: (n: number) => next() % n,
    bytes: (n: number) => Buffer.from(Array.from({ length: n }, () => next() & 0xff)),
  };
}

const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n | 0);
  return b;
};

function fuzzCase(r: ReturnType<typeof generator>): Buffer {
  const valid = [
    encodeStartup({ user: ADMIN.username, database: 'acme.defaultdb' }),
    encodeStartup({ user: 'x', database: 'defaultdb', options: '--cluster=ghost' }),
    encodeStartup({ user: 'x', database: 'nobody.db' }),
    encodeStartup({ user: 'x', options: '-c cluster=acme --cluster=ghost' }),
  ];
  const base = valid[r.int(valid.length)] ?? Buffer.alloc(0);
  switch (r.int(9)) {
    case 0:
      return r.bytes(r.int(64));
    case 1: {
      // Flip a few bytes of a valid packet.
      const b = Buffer.from(base);
      for (let i = r.int(4) + 1; i > 0; i--) b[r.int(b.length)] = r.int(256);
      return b;
    }
    case 2:
      return base.subarray(0, r.int(base.length));
    case 3:
      return Buffer.concat([base, r.bytes(r.int(32))]);
    case 4:
      // SSLRequest, with bytes injected before the (refused) upgrade.
      return Buffer.concat([int32(8), int32(80877103), r.bytes(r.int(16))]);
    case 5:
      // GSSENCRequest, then a startup packet or garbage.
      return Buffer.concat([int32(8), int32(80877104), r.int(2) ? base : r.bytes(r.int(32))]);
    case 6:
      return encodeCancel(r.int(2 ** 31), r.int(2 ** 31) - 2 ** 30);
    case 7:
      // Absurd length fields, and other protocol versions.
      return Buffer.concat([int32([0x7fffffff, -1, 0, 7, 10_001][r.int(5)] ?? 0), int32([196608, 131072, 196613, 0][r.int(4)] ?? 0), r.bytes(r.int(16))]);
    default:
      return base;
  }
}

function send(bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: '127.0.0.1', port: proxy.address.port });
    s.on('error', () => undefined);
    s.on('data', () => undefined);
    s.once('close', () => resolve());
    s.once('connect', () => s.end(bytes));
    // A case that leaves the proxy waiting gets cut by the client after a while.
    s.setTimeout(5000, () => s.destroy());
  });
}

it(`survives ${CASES} random and mutated first packets, then serves a normal client`, { timeout: 300_000 }, async () => {
  const r = generator(20261122);
  let sent = 0;
  const worker = async () => {
    while (sent < CASES) {
      sent++;
      await send(fuzzCase(r));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  expect(sent).toBeGreaterThanOrEqual(CASES);
  const c = new pg.Client({ host: '127.0.0.1', port: proxy.address.port, user: ADMIN.username, password: ADMIN.password, database: 'acme.defaultdb' });
  await c.connect();
  expect((await c.query('SELECT 1 AS alive')).rows).toEqual([{ alive: 1 }]);
  await c.end();
  for (let i = 0; i < 100 && proxy.connections > 0; i++) await new Promise((res) => setTimeout(res, 50));
  expect(proxy.connections).toBe(0);
});
