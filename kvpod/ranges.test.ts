// Ranges held by different kvpods: the client learns the layout, follows
// RANGE_NOT_HERE when a range moved, and reads spans across range boundaries.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { KvError, type KvClient } from '../shared/kv/client/index.js';
import { tenantPrefix, tenantSpan } from '../shared/keys/index.js';
import { clientWith, createTestCerts, startTestKvpod, type TestCerts, type TestKvpod } from './testing/fixtures.js';
import { freePort } from './testing/process.js';

const T2 = tenantPrefix(2);
const k = (s: string) => Buffer.concat([T2, Buffer.from(s)]);
const SPLIT = k('m');

async function requestsWithCode(kv: TestKvpod, code: string): Promise<number> {
  const metric = await kv.node.metrics.registry.getSingleMetric('shoal_kv_requests_total')?.get();
  return (metric?.values ?? []).filter((v) => v.labels['code'] === code).reduce((n, v) => n + v.value, 0);
}

let certs: TestCerts;
const running: TestKvpod[] = [];
const clients: KvClient[] = [];
let a: TestKvpod;
let b: TestKvpod;
let tenant: KvClient;

beforeAll(async () => {
  certs = await createTestCerts();
  const [portA, portB] = [await freePort(), await freePort()];
  const addrA = `127.0.0.1:${portA}`;
  const addrB = `127.0.0.1:${portB}`;
  // First, kvpod A alone holds the whole keyspace; the client learns that.
  const alone = await startTestKvpod(certs, { listen: addrA });
  const operatorAlone = clientWith(certs, await certs.operator(), [addrA]);
  await operatorAlone.createTenant('alpha', 2);
  operatorAlone.close();
  tenant = clientWith(certs, await certs.tenant(2), [addrA]);
  clients.push(tenant);
  await tenant.commit([{ put: { key: k('a'), value: Buffer.from('before the split') } }]);
  expect((await tenant.locate(k('z'))).address).toBe(addrA);
  await alone.node.stop();

  // Then the keyspace is split at SPLIT: A keeps the left, B holds the right.
  const layout = join(certs.dir, 'layout.json');
  writeFileSync(
    layout,
    JSON.stringify({
      ranges: [
        { rangeId: 1, startKey: '', endKey: SPLIT.toString('hex'), generation: 2, address: addrA },
        { rangeId: 2, startKey: SPLIT.toString('hex'), endKey: '', generation: 1, address: addrB },
      ],
    }),
  );
  a = await startTestKvpod(certs, { listen: addrA, dataDir: alone.dataDir, rangeLayout: layout });
  b = await startTestKvpod(certs, { listen: addrB, rangeLayout: layout });
  running.push(a, b);
  const operator = clientWith(certs, await certs.operator(), [addrA, addrB]);
  clients.push(operator);
  await operator.createTenant('alpha', 2); // B learns the tenant; A already has it
});

afterAll(async () => {
  clients.forEach((c) => c.close());
  for (const kv of running) await kv.stop();
});

it('follows RANGE_NOT_HERE to the kvpod that now holds the range, then goes there directly', async () => {
  await tenant.commit([{ put: { key: k('z'), value: Buffer.from('right side') } }]);
  expect(await requestsWithCode(a, 'RANGE_NOT_HERE')).toBe(1);
  expect((await tenant.locate(k('z'))).address).toBe(b.address);
  for (let i = 0; i < 5; i++) await tenant.get(k(`z${i}`));
  expect(await requestsWithCode(a, 'RANGE_NOT_HERE')).toBe(1);
  expect((await tenant.get(k('z'))).value?.toString()).toBe('right side');
  expect((await tenant.get(k('a'))).value?.toString()).toBe('before the split');
});

it('scans across the range boundary in both directions at one timestamp', async () => {
  await tenant.commit(['b', 'c', 'd'].map((s) => ({ put: { key: k(s), value: Buffer.from(s) } })));
  await tenant.commit(['n', 'o', 'p'].map((s) => ({ put: { key: k(s), value: Buffer.from(s) } })));
  const forward = await tenant.scan(tenantSpan(2));
  expect(forward.kvs.map((kv) => kv.key.subarray(T2.length).toString())).toEqual(['a', 'b', 'c', 'd', 'n', 'o', 'p', 'z']);
  const reverse = await tenant.scan(tenantSpan(2), { reverse: true, limit: 6 });
  expect(reverse.kvs.map((kv) => kv.key.subarray(T2.length).toString())).toEqual(['z', 'p', 'o', 'n', 'd', 'c']);
  expect(reverse.resumeSpan?.endKey).toEqual(k('c'));
});

it('refuses a commit whose keys lie in two ranges, applying nothing', async () => {
  const err = await tenant.commit([{ put: { key: k('e'), value: Buffer.from('left') } }, { put: { key: k('y'), value: Buffer.from('right') } }]).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(KvError);
  expect((err as KvError).code).toBe('RANGE_NOT_HERE');
  expect((await tenant.multiGet([k('e'), k('y')])).values).toEqual([null, null]);
});
