// The sqlpod binary as a real process: stamped by the operator, drained by
// SIGTERM (refuses new sessions, keeps the open one, exits 0 when it closes).
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestCerts, startTestKvpod, type TestCerts, type TestKvpod } from '../kvpod/testing/fixtures.js';
import { freePort } from '../kvpod/testing/process.js';
import { issueCert } from '../shared/certs/index.js';
import { ADMIN, control, createTenant, stampFor } from './testing/fixtures.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

let certs: TestCerts;
let kv: TestKvpod;

beforeAll(async () => {
  certs = await createTestCerts();
  kv = await startTestKvpod(certs);
});

afterAll(async () => {
  await kv?.stop();
});

it('drains on SIGTERM and exits 0 when the last session closes', async () => {
  const tenant = await createTenant(certs, kv.address, 'sigterm');
  const pool = certs.write('pool', await issueCert(certs.ca, { kind: 'pool-server', hosts: ['127.0.0.1'] }));
  const [controlPort, sqlPort] = [await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'sqlpod/main.ts', '--control-listen', `127.0.0.1:${controlPort}`, '--sql-listen', `127.0.0.1:${sqlPort}`, '--ops-listen', '127.0.0.1:0', '--ca-cert', certs.caPath, '--cert', pool.cert, '--key', pool.key],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await until(() => output.includes('waiting for a stamp'), () => output);
    const stamped = await control(certs, controlPort, 'POST', '/stamp', await stampFor(certs, tenant, kv.address));
    expect(stamped.status, output).toBe(200);
    const config = { host: '127.0.0.1', port: sqlPort, user: ADMIN.username, password: ADMIN.password, database: 'defaultdb' };
    const open = new pg.Client(config);
    await open.connect();
    child.kill('SIGTERM');
    await until(() => output.includes('draining'), () => output);
    const refused = await new pg.Client(config).connect().catch((e: unknown) => e);
    expect((refused as pg.DatabaseError).code).toBe('57P03');
    expect((await open.query('SELECT 41 + 1 AS answer')).rows).toEqual([{ answer: 42 }]);
    await open.end();
    expect(await exited).toBe(0);
    expect(output).toContain('"reason":"sessions-closed"');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

async function until(done: () => boolean, describe: () => string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (done()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out; output so far:\n${describe()}`);
}
