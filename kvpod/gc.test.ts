// Garbage collection through the API: with a short GC TTL, old versions go
// and reads below the threshold fail with a clear, typed error.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { KvError, type KvClient } from '../shared/kv/client/index.js';
import { tenantPrefix } from '../shared/keys/index.js';
import { clientWith, createTestCerts, startTestKvpod, type TestKvpod } from './testing/fixtures.js';

const key = Buffer.concat([tenantPrefix(2), Buffer.from('row')]);
let kv: TestKvpod;
let tenant: KvClient;

beforeAll(async () => {
  const certs = await createTestCerts();
  kv = await startTestKvpod(certs, { gcTtl: '1s', gcInterval: '100ms' });
  const operator = clientWith(certs, await certs.operator(), [kv.address]);
  await operator.createTenant('alpha', 2);
  operator.close();
  tenant = clientWith(certs, await certs.tenant(2), [kv.address]);
});

afterAll(async () => {
  tenant.close();
  await kv.stop();
});

it('collects versions older than the TTL and refuses reads below the threshold', async () => {
  const first = await tenant.commit([{ put: { key, value: Buffer.from('v1') } }]);
  await tenant.commit([{ put: { key, value: Buffer.from('v2') } }]);
  expect((await tenant.get(key, { readTs: first })).value?.toString()).toBe('v1');
  await sleep(1_600);
  const err = await tenant.get(key, { readTs: first }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(KvError);
  expect((err as KvError).code).toBe('BELOW_GC_THRESHOLD');
  expect((err as KvError).grpcCode).toBe(9); // FAILED_PRECONDITION
  expect((err as KvError).message).toMatch(/below the GC threshold/);
  expect((await tenant.get(key)).value?.toString()).toBe('v2');
  const metrics = await (await fetch(`http://${kv.node.opsAddress}/metrics`)).text();
  expect(metrics).toMatch(/shoal_kv_gc_versions_removed_total [1-9]/);
});
