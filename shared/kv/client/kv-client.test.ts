// The client library's own behaviour: deadlines, retries of what is safe to
// repeat, and no retry of a commit whose outcome would be ambiguous.
import { rmSync } from 'node:fs';
import { Server, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MutualTlsCredentials } from '../../../kvpod/server/credentials.js';
import { clientWith, createTestCerts, startTestKvpod, type TestCerts, type TestKvpod } from '../../../kvpod/testing/fixtures.js';
import { freePort } from '../../../kvpod/testing/process.js';
import { tenantPrefix } from '../../keys/index.js';
import { kvService } from '../protocol.js';
import { KvError } from './index.js';

const key = Buffer.concat([tenantPrefix(2), Buffer.from('k')]);
let certs: TestCerts;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  certs = await createTestCerts();
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function errorOf(promise: Promise<unknown>): Promise<KvError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  if (!(err instanceof KvError)) throw new Error(`expected a KvError, got ${String(err)}`);
  return err;
}

it('gives up on a kvpod that does not answer within the deadline', async () => {
  // A server that accepts the call and never replies.
  const server = new Server();
  const silent: UntypedServiceImplementation = Object.fromEntries(Object.keys(kvService).map((name) => [name, () => undefined]));
  server.addService(kvService, silent);
  const pair = await certs.issue({ kind: 'kvpod-server' });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', new MutualTlsCredentials(Buffer.from(certs.ca.certPem), Buffer.from(pair.certPem), Buffer.from(pair.keyPem)), (err, p) => (err ? reject(err) : resolve(p))),
  );
  cleanups.push(() => server.forceShutdown());
  const client = clientWith(certs, await certs.tenant(2), [`127.0.0.1:${port}`], { deadlineMs: 200, attempts: 1 });
  cleanups.push(() => client.close());
  const started = Date.now();
  const err = await errorOf(client.locate(key));
  expect(err.code).toBe('DEADLINE_EXCEEDED');
  expect(Date.now() - started).toBeLessThan(5_000);
});

it('retries a read across a kvpod restart, but not a commit, whose outcome would be ambiguous', async () => {
  const address = `127.0.0.1:${await freePort()}`;
  const first = await startTestKvpod(certs, { listen: address });
  const operator = clientWith(certs, await certs.operator(), [address]);
  await operator.createTenant('alpha', 2);
  operator.close();
  const tenant = clientWith(certs, await certs.tenant(2), [address], { attempts: 10, backoffMs: 100 });
  cleanups.push(() => tenant.close());
  await tenant.commit([{ put: { key, value: Buffer.from('before') } }]); // the range is now cached
  await first.node.stop();

  // The kvpod comes back on the same data and address shortly.
  let second: TestKvpod | undefined;
  const restarting = (async () => {
    await new Promise((r) => setTimeout(r, 300));
    second = await startTestKvpod(certs, { listen: address, dataDir: first.dataDir });
  })();
  cleanups.push(async () => {
    await restarting;
    await second?.stop();
    rmSync(first.dataDir, { recursive: true, force: true });
  });
  // A retrying commit would succeed once the kvpod is back; this one must not be retried.
  const commitErr = await errorOf(tenant.commit([{ put: { key, value: Buffer.from('lost') } }]));
  expect(commitErr.code).toBe('UNAVAILABLE');
  const read = await tenant.get(key);
  expect(read.value?.toString()).toBe('before');
  await restarting;
});
