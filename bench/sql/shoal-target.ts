// Shoal as the SQL bench runs it: a kvpod process and a SQL pod process (as in
// a deployment, each with its own event loop), a tenant created through the
// admin API and the pod stamped over mutual TLS, as the operator would.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestCerts } from '../../kvpod/testing/fixtures.js';
import { freePort, startPod, stopPod } from '../../kvpod/testing/process.js';
import { issueCert } from '../../shared/certs/index.js';
import { ADMIN, control, createTenant, stampFor } from '../../sqlpod/testing/fixtures.js';
import type { SqlTarget } from './targets.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** With `profileDir`, the SQL pod runs under --cpu-prof and stops by SIGTERM so that the profile is written there. */
export function shoalTarget(profileDir?: string): SqlTarget {
  return {
    name: 'shoal',
    async start() {
      const certs = await createTestCerts();
      const kvCert = certs.write('kvpod', await issueCert(certs.ca, { kind: 'kvpod-server', hosts: ['127.0.0.1'] }));
      const pool = certs.write('pool', await issueCert(certs.ca, { kind: 'pool-server', hosts: ['127.0.0.1'] }));
      const dataDir = mkdtempSync(join(tmpdir(), 'shoal-bench-kv-'));
      const kvPort = await freePort();
      // kvpod as deployed: its default per-commit limits hold pgbench -i -s 1 (100,000 accounts in one COPY, then ADD PRIMARY KEY).
      const kv = await startPod({ ca: certs.caPath, cert: kvCert.cert, key: kvCert.key, dataDir, port: kvPort }, ['--log-level', 'info']);
      let sqlpod: ChildProcess | null = null;
      const stop = async () => {
        if (sqlpod && sqlpod.exitCode === null) {
          const exited = new Promise((resolve) => sqlpod?.once('exit', resolve));
          sqlpod.kill(profileDir ? 'SIGTERM' : 'SIGKILL');
          await exited;
        }
        await stopPod(kv);
        rmSync(dataDir, { recursive: true, force: true });
        rmSync(certs.dir, { recursive: true, force: true });
      };
      try {
        const kvAddress = `127.0.0.1:${kvPort}`;
        const tenant = await createTenant(certs, kvAddress, 'bench');
        const [controlPort, sqlPort] = [await freePort(), await freePort()];
        sqlpod = spawn(
          process.execPath,
          [
            ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []),
            '--import', 'tsx', 'sqlpod/main.ts',
            '--control-listen', `127.0.0.1:${controlPort}`,
            '--sql-listen', `127.0.0.1:${sqlPort}`,
            '--ops-listen', '127.0.0.1:0',
            '--ca-cert', certs.caPath,
            '--cert', pool.cert,
            '--key', pool.key,
            '--log-level', 'info',
          ],
          { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
        );
        await logLine(sqlpod, 'sqlpod unbound, waiting for a stamp');
        const answer = await control(certs, controlPort, 'POST', '/stamp', await stampFor(certs, tenant, kvAddress));
        if (answer.status !== 200) throw new Error(`stamping the bench pod failed: ${answer.status} ${JSON.stringify(answer.body)}`);
        // Plain TCP, as the PostgreSQL target is reached: the comparison is of the servers, not of TLS.
        const url = `postgresql://${ADMIN.username}:${ADMIN.password}@127.0.0.1:${sqlPort}/defaultdb?sslmode=disable`;
        return { url, stop };
      } catch (err) {
        await stop();
        throw err;
      }
    },
  };
}

function logLine(child: ChildProcess, msg: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`sqlpod did not log "${msg}" within 30 s`)), 30_000);
    child.once('exit', (code) => reject(new Error(`sqlpod exited (${code}) before "${msg}"`)));
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.includes(`"msg":"${msg}"`)) {
        clearTimeout(timer);
        resolve();
      }
      buffered = buffered.slice(-4096);
    });
  });
}
