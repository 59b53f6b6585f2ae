// The proxy binary as a real process in static mode in front of a real
// PostgreSQL, with psql as the client: routing, metrics, graceful SIGTERM.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { freePort } from '../kvpod/testing/process.js';
import { isPostgresInstalled, startPostgres } from '../shared/testing/postgres.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = promisify(execFile);

it.skipIf(!isPostgresInstalled())('routes psql by --cluster, counts it in /metrics, refuses an unknown cluster, and stops on SIGTERM', async () => {
  const server = await startPostgres();
  const pgPort = new URL(server.url()).port;
  const dir = mkdtempSync(join(tmpdir(), 'shoal-proxy-'));
  const routing = join(dir, 'routing.json');
  writeFileSync(routing, JSON.stringify({ tenants: { acme: { addresses: [`127.0.0.1:${pgPort}`] } } }));
  const [port, opsPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, ['--import', 'tsx', 'proxy/main.ts', '--listen', `127.0.0.1:${port}`, '--ops-listen', `127.0.0.1:${opsPort}`, '--static-routing', routing], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    for (let i = 0; i < 300 && !output.includes('proxy serving'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(output).toContain('proxy serving');
    const psql = (options: string) =>
      run('psql', [`host=127.0.0.1 port=${port} user=postgres dbname=postgres sslmode=disable options=${options}`, '-X', '-A', '-t', '-c', 'SELECT 40 + 2'], { env: { ...process.env, PGPASSWORD: '' } });
    expect((await psql('--cluster=acme')).stdout.trim()).toBe('42');
    const unknown = await psql('--cluster=nobody').catch((e: { stderr: string }) => e);
    expect(unknown.stderr).toContain('cluster "nobody" does not exist');
    const metrics = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
    expect(metrics).toMatch(/shoal_proxy_routed_total\{method="options"\} 1/);
    expect(metrics).toMatch(/shoal_proxy_connection_failures_total\{reason="unknown-tenant"\} 1/);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await server.stop();
  }
});
