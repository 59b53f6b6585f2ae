// Tenant isolation under attack: a tenant certificate sends 10,000 randomized
// requests whose keys or spans leave its keyspace (other tenants, the system
// tenant, unprefixed bytes, and the exact prefix boundaries), often mixed with
// legitimate keys. Every one must be refused whole; nothing read or written.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { KvError, type KvClient } from '../shared/kv/client/index.js';
import type { Mutation, Span } from '../shared/kv/protocol.js';
import { prefixEnd, SYSTEM_TENANT_ID, tenantPrefix, tenantSpan } from '../shared/keys/index.js';
import { mulberry32 } from '../shared/testing/prng.js';
import { clientWith, createTestCerts, startTestKvpod, type TestKvpod } from './testing/fixtures.js';

const REQUESTS = 10_000;
const ME = 2;
const seed = Number(process.env['SHOAL_TEST_SEED'] ?? Date.now() % 2 ** 31);

const rand = mulberry32(seed);
const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
const mine = (suffix = bytes(1 + Math.floor(rand() * 8))) => Buffer.concat([tenantPrefix(ME), suffix]);

const own = tenantPrefix(ME);
const ownEnd = prefixEnd(own);
/** Keys that are not tenant 2's, many of them one step away from its keyspace. */
const foreignKeyMakers: (() => Buffer)[] = [
  () => Buffer.concat([tenantPrefix(3), bytes(Math.floor(rand() * 6))]),
  () => Buffer.concat([tenantPrefix(4), bytes(1 + Math.floor(rand() * 6))]),
  () => Buffer.concat([tenantPrefix(SYSTEM_TENANT_ID), bytes(Math.floor(rand() * 6))]),
  () => Buffer.concat([tenantPrefix(1_000_000 + Math.floor(rand() * 1e6)), bytes(2)]),
  () => ownEnd, // the first key after the keyspace
  () => Buffer.concat([ownEnd, bytes(1 + Math.floor(rand() * 4))]),
  () => own.subarray(0, 1), // a strict prefix of the tenant prefix
  () => Buffer.concat([own.subarray(0, 1), Buffer.from([own[1]! - 1]), Buffer.alloc(1 + Math.floor(rand() * 3), 0xff)]), // just below
  () => Buffer.from([0x00]),
  () => Buffer.from([0xff, 0xff, 0xff]),
  () => bytes(1 + Math.floor(rand() * 12)).fill(0x01, 0, 1), // unprefixed
  () => Buffer.concat([Buffer.from([0xfe]), bytes(3)]).fill(0xf7, 1, 2), // a long-form uvarint of another tenant
];
const foreignKey = (): Buffer => pick(foreignKeyMakers)();

/** Spans that leave the keyspace, with endpoints chosen so that start < end. */
function foreignSpan(): Span {
  const shapes: (() => [Buffer, Buffer])[] = [
    () => [mine(), Buffer.concat([ownEnd, bytes(1)])], // runs off the end
    () => [mine(), Buffer.concat([tenantPrefix(3), bytes(2)])],
    () => [own.subarray(0, 1), mine()], // starts before
    () => [Buffer.from([0x00]), Buffer.from([0xff])], // everything
    () => [tenantPrefix(3), prefixEnd(tenantPrefix(3))], // a neighbour's whole keyspace
    () => [tenantPrefix(SYSTEM_TENANT_ID), own], // ends exactly where it starts
  ];
  const [a, b] = pick(shapes)();
  return Buffer.compare(a, b) < 0 ? { startKey: a, endKey: b } : { startKey: b, endKey: a };
}

const legitMutation = (): Mutation => ({ put: { key: mine(), value: bytes(8) } });
function foreignMutation(): Mutation {
  const kind = pick(['put', 'delete', 'deleteRange'] as const);
  if (kind === 'put') return { put: { key: foreignKey(), value: bytes(8) } };
  if (kind === 'delete') return { delete: foreignKey() };
  return { deleteRange: foreignSpan() };
}

/** One hostile request: a foreign key or span, alone or hidden among legitimate ones. */
function attack(client: KvClient, readTs: { wallMs: number; logical: number }): Promise<unknown> {
  switch (pick(['get', 'multiGet', 'scan', 'reverseScan', 'commit', 'commitReadSpan'] as const)) {
    case 'get':
      return client.get(foreignKey());
    case 'multiGet':
      return client.multiGet([mine(), foreignKey(), mine()].sort(() => rand() - 0.5));
    case 'scan':
      return client.scan(foreignSpan(), { limit: 10 });
    case 'reverseScan':
      return client.scan(foreignSpan(), { reverse: true, limit: 10 });
    case 'commit':
      return client.commit([legitMutation(), foreignMutation(), legitMutation()].sort(() => rand() - 0.5));
    case 'commitReadSpan':
      return client.commit([legitMutation()], { readTs, readSpans: [{ startKey: mine(Buffer.from('a')), endKey: mine(Buffer.from('b')) }, foreignSpan()] });
  }
}

let kv: TestKvpod;
const clients: KvClient[] = [];

beforeAll(async () => {
  const certs = await createTestCerts();
  kv = await startTestKvpod(certs);
  const operator = clientWith(certs, await certs.operator(), [kv.address]);
  clients.push(operator);
  await operator.createTenant('me', ME);
  await operator.createTenant('neighbour', 3);
  const attacker = clientWith(certs, await certs.tenant(ME), [kv.address], { attempts: 1 });
  const neighbour = clientWith(certs, await certs.tenant(3), [kv.address]);
  clients.push(attacker, neighbour);
  await attacker.commit(Array.from({ length: 20 }, (_, i) => ({ put: { key: mine(Buffer.from(`row${i}`)), value: Buffer.from(`mine ${i}`) } })));
  await neighbour.commit(Array.from({ length: 20 }, (_, i) => ({ put: { key: Buffer.concat([tenantPrefix(3), Buffer.from(`row${i}`)]), value: Buffer.from(`theirs ${i}`) } })));
});

afterAll(async () => {
  clients.forEach((c) => c.close());
  await kv?.stop();
});

async function counter(name: string, labels: Record<string, string>): Promise<number> {
  const metric = await kv.node.metrics.registry.getSingleMetric(name)?.get();
  const match = metric?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return match?.value ?? 0;
}

it(`refuses ${REQUESTS} randomized cross-tenant requests (seed ${seed}), reading and writing nothing`, async () => {
  const [, attacker, neighbour] = clients as [KvClient, KvClient, KvClient];
  const mineBefore = await attacker.scan(tenantSpan(ME));
  const theirsBefore = await neighbour.scan(tenantSpan(3));
  const readBefore = await counter('shoal_kv_keys_read_total', { tenant: String(ME) });
  const writtenBefore = await counter('shoal_kv_keys_written_total', { tenant: String(ME) });
  const deniedBefore = await counter('shoal_kv_denied_total', { reason: 'OUTSIDE_TENANT' });

  const outcomes = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < REQUESTS) {
      next++;
      const outcome = await attack(attacker, mineBefore.readTs).then(
        () => 'ACCEPTED',
        (err: unknown) => (err instanceof KvError ? `${err.code}/${err.grpcCode}` : `other: ${String(err)}`),
      );
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));

  // PERMISSION_DENIED is gRPC status 7.
  expect(Object.fromEntries(outcomes)).toEqual({ 'OUTSIDE_TENANT/7': REQUESTS });
  expect(await counter('shoal_kv_denied_total', { reason: 'OUTSIDE_TENANT' })).toBe(deniedBefore + REQUESTS);
  expect(await counter('shoal_kv_keys_read_total', { tenant: String(ME) })).toBe(readBefore);
  expect(await counter('shoal_kv_keys_written_total', { tenant: String(ME) })).toBe(writtenBefore);
  expect((await attacker.scan(tenantSpan(ME))).kvs).toEqual(mineBefore.kvs);
  expect((await neighbour.scan(tenantSpan(3))).kvs).toEqual(theirsBefore.kvs);
}, 120_000);
