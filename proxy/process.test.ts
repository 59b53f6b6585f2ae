// The proxy binary as a real process in static mode in front of a real
// PostgreSQL, with psql as the client: routing, metrics, graceful SIGTERM.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { isPostgresInstalled, startPostgres } from '../shared/testing/postgres.js';
import { startProxyChild } from './testing/process.js';

const run = promisify(execFile);

it.skipIf(!isPostgresInstalled())('routes psql by --cluster, counts it in /metrics, refuses an unknown cluster, and stops on SIGTERM', async () => {
  const server = await startPostgres();
  const pgPort = new URL(server.url()).port;
  const dir = mkdtempSync(join(tmpdir(), 'shoal-proxy-'));
  const routing = join(dir, 'routing.json');
  writeFileSync(routing, JSON.stringify({ tenants: { acme: { addresses: [`127.0.0.1:${pgPort}`] } } }));
  const proxy = await startProxyChild(['--static-routing', routing]).catch(async (err: unknown) => {
    await server.stop();
    throw err;
  });
  const { port, opsPort } = proxy;
  try {
    const psql = (options: string) =>
      run('psql', [`host=127.0.0.1 port=${port} user=postgres dbname=postgres sslmode=disable options=${options}`, '-X', '-A', '-t', '-c', 'SELECT 40 + 2'], { env: { ...process.env, PGPASSWORD: '' } });
    expect((await psql('--cluster=acme')).stdout.trim()).toBe('42');
    const unknown = await psql('--cluster=nobody').catch((e: { stderr: string }) => e);
    expect(unknown.stderr).toContain('cluster "nobody" does not exist');
    const metrics = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
    expect(metrics).toMatch(/shoal_proxy_routed_total\{method="options"\} 1/);
    expect(metrics).toMatch(/shoal_proxy_connection_failures_total\{reason="unknown-tenant"\} 1/);
    proxy.child.kill('SIGTERM');
    expect(await proxy.exited).toBe(0);
  } finally {
    proxy.kill();
    await server.stop();
  }
});
