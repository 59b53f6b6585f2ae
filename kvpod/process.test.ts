// kvpod as an operator meets it: a process that refuses bad settings with a
// clear message, refuses a data directory another kvpod holds, and on SIGTERM
// finishes its in-flight commits before it exits.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { KvError } from '../shared/kv/client/index.js';
import { tenantPrefix, tenantSpan } from '../shared/keys/index.js';
import { clientWith, createTestCerts, type TestCerts } from './testing/fixtures.js';
import { freePort, spawnPod, startPod, stopPod, whenServing, type Pod, type Spec } from './testing/process.js';

let certs: TestCerts;
let spec: Spec;
const pods: Pod[] = [];

beforeAll(async () => {
  certs = await createTestCerts();
  const server = certs.write('kvpod', await certs.issue({ kind: 'kvpod-server' }));
  spec = { ca: certs.caPath, cert: server.cert, key: server.key, dataDir: mkdtempSync(join(tmpdir(), 'shoal-kv-proc-')), port: await freePort() };
});

afterAll(async () => {
  for (const pod of pods) await stopPod(pod);
  rmSync(spec.dataDir, { recursive: true, force: true });
});

function runKvpod(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'kvpod/main.ts', ...args], { cwd: join(import.meta.dirname, '..'), encoding: 'utf8', timeout: 30_000 });
}

it('exits 2 listing every bad setting, and 1 with the reason when a file is missing', () => {
  const bad = runKvpod(['--listen', 'nowhere', '--gc-ttl=soon', '--max-key-bytes', '-3', '--frobnicate']);
  expect(bad.status).toBe(2);
  expect(bad.stderr).toMatch(/--listen \(SHOAL_KV_LISTEN\): expected host:port/);
  expect(bad.stderr).toMatch(/--gc-ttl \(SHOAL_KV_GC_TTL\): expected a duration/);
  expect(bad.stderr).toMatch(/--max-key-bytes/);
  expect(bad.stderr).toMatch(/unknown flag --frobnicate/);
  const missing = runKvpod(['--ca-cert', '/nonexistent/ca.crt', '--data-dir', spec.dataDir]);
  expect(missing.status).toBe(1);
  expect(missing.stderr).toMatch(/cannot read the host CA certificate at \/nonexistent\/ca.crt/);
  const file = join(spec.dataDir, '..', `not-a-dir-${process.pid}`);
  writeFileSync(file, 'x');
  const unusable = runKvpod(['--ca-cert', spec.ca, '--cert', spec.cert, '--key', spec.key, '--listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0', '--data-dir', join(file, 'data')]);
  rmSync(file);
  expect(unusable.status).toBe(1);
  expect(unusable.stderr).toMatch(/data directory .* is not usable/);
});

it('exits 1 with a clear message when its ports are taken or its range layout is invalid', async () => {
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const taken = `127.0.0.1:${(busy.address() as { port: number }).port}`;
  const common = ['--ca-cert', spec.ca, '--cert', spec.cert, '--key', spec.key];
  const dataDir = mkdtempSync(join(tmpdir(), 'shoal-kv-ports-'));
  const grpcBusy = runKvpod([...common, '--data-dir', dataDir, '--listen', taken, '--metrics-listen', '127.0.0.1:0']);
  const opsBusy = runKvpod([...common, '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--metrics-listen', taken]);
  const layout = join(dataDir, 'layout.json');
  writeFileSync(layout, JSON.stringify({ ranges: [{ rangeId: 1, startKey: 'zz', endKey: '', address: 'x:1' }] }));
  const badLayout = runKvpod([...common, '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0', '--range-layout', layout]);
  busy.close();
  rmSync(dataDir, { recursive: true, force: true });
  expect(grpcBusy.status).toBe(1);
  expect(grpcBusy.stderr).toMatch(new RegExp(`cannot listen on ${taken}`));
  expect(opsBusy.status).toBe(1);
  expect(opsBusy.stderr).toMatch(new RegExp(`cannot listen on ${taken} for metrics and probes`));
  expect(badLayout.status).toBe(1);
  expect(badLayout.stderr).toMatch(/invalid range layout: .*must be hex bytes/);
});

it('refuses a second kvpod on the same data directory and keeps the first one serving', async () => {
  const first = await startPod(spec);
  pods.push(first);
  const operator = clientWith(certs, await certs.operator(), [`127.0.0.1:${spec.port}`]);
  await operator.createTenant('alpha', 2);
  operator.close();
  const second = spawnPod({ ...spec, port: await freePort() });
  const refused = await whenServing(second).then(
    () => 'served',
    (err: Error) => err.message,
  );
  await stopPod(second);
  expect(refused).toMatch(/is in use by another kvpod/);
  const client = clientWith(certs, await certs.tenant(2), [`127.0.0.1:${spec.port}`]);
  await client.commit([{ put: { key: Buffer.concat([tenantPrefix(2), Buffer.from('still')]), value: Buffer.from('here') } }]);
  client.close();
});

it('on SIGTERM finishes in-flight commits, exits 0, and keeps every acknowledged one', async () => {
  const pod = pods[0];
  if (!pod) throw new Error('the previous test starts the kvpod');
  const client = clientWith(certs, await certs.tenant(2), [`127.0.0.1:${spec.port}`], { attempts: 1 });
  const acked: string[] = [];
  const errors = new Map<string, number>();
  let stopping = false;
  const writer = async (w: number) => {
    for (let i = 0; !stopping || i % 7 !== 0; i++) {
      const id = `term/${w}/${i}`;
      try {
        await client.commit([{ put: { key: Buffer.concat([tenantPrefix(2), Buffer.from(id)]), value: Buffer.from(id) } }]);
        acked.push(id);
      } catch (err) {
        const code = err instanceof KvError ? err.code : String(err);
        errors.set(code, (errors.get(code) ?? 0) + 1);
        return;
      }
    }
  };
  const writers = Array.from({ length: 8 }, (_, w) => writer(w));
  while (acked.length < 100) await new Promise((r) => setTimeout(r, 10));
  stopping = true;
  pod.child.kill('SIGTERM');
  const code = await pod.exited;
  await Promise.all(writers);
  client.close();
  expect(code).toBe(0);
  expect(pod.output()).toMatch(/kvpod stopped/);
  // Refusals say the node is going away; nothing else went wrong.
  expect([...errors.keys()].every((c) => c === 'SHUTTING_DOWN' || c === 'UNAVAILABLE')).toBe(true);

  const restarted = await startPod(spec);
  pods.push(restarted);
  const reader = clientWith(certs, await certs.tenant(2), [`127.0.0.1:${spec.port}`]);
  const { kvs } = await reader.scan(tenantSpan(2));
  reader.close();
  const stored = new Set(kvs.map((kv) => kv.value.toString()));
  expect(acked.filter((id) => !stored.has(id))).toEqual([]);
  expect(acked.length).toBeGreaterThanOrEqual(100);
}, 120_000);
