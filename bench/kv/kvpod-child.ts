// A real kvpod in its own process (`node --import tsx kvpod/main.ts`), with a
// throwaway host CA, data directory and ports, and clients for it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHostCA, issueCert, type PemPair } from '../../shared/certs/index.js';
import { KvClient } from '../../shared/kv/client/index.js';
import { processCpuSeconds } from './cpu.js';
import { TENANT_ID } from './workload.js';

export interface ChildOptions {
  repoRoot: string;
  /** Extra node flags for the kvpod process, e.g. --cpu-prof. */
  nodeFlags?: string[];
  /** The kvpod entry point, relative to repoRoot (default kvpod/main.ts); for A/B runs of a patched kvpod. */
  entry?: string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface CertFiles {
  ca: string;
  cert: string;
  key: string;
}

export class KvpodChild {
  private output = '';
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exit: Promise<void>;

  private constructor(
    private readonly proc: ChildProcess,
    readonly address: string,
    readonly metricsAddress: string,
    private readonly ca: PemPair,
    private readonly tenantPair: PemPair,
    private readonly operatorPair: PemPair,
    /** The kvpod's CA, server certificate and key files (the noop gRPC server serves with the same ones). */
    readonly certFiles: CertFiles,
    private readonly dirs: string[],
  ) {
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-20_000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    this.exit = new Promise((resolve) =>
      proc.once('exit', (code, signal) => {
        this.exited = { code, signal };
        resolve();
      }),
    );
  }

  static async start(options: ChildOptions): Promise<KvpodChild> {
    const certDir = mkdtempSync(join(tmpdir(), 'shoal-bench-certs-'));
    const dataDir = mkdtempSync(join(tmpdir(), 'shoal-bench-kvpod-'));
    let child: KvpodChild | undefined;
    try {
      const ca = await createHostCA();
      const [server, tenant, operator] = await Promise.all([
        issueCert(ca, { kind: 'kvpod-server' }),
        issueCert(ca, { kind: 'tenant-client', tenantId: TENANT_ID }),
        issueCert(ca, { kind: 'operator-client' }),
      ]);
      const caPath = join(certDir, 'ca.crt');
      const certPath = join(certDir, 'kvpod.crt');
      const keyPath = join(certDir, 'kvpod.key');
      writeFileSync(caPath, ca.certPem);
      writeFileSync(certPath, server.certPem);
      writeFileSync(keyPath, server.keyPem, { mode: 0o600 });
      const [port, metricsPort] = [await freePort(), await freePort()];
      // Settings come from the flags only, not from a SHOAL_KV_* environment of whoever runs the bench.
      const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('SHOAL_KV_')));
      const args = [
        ...(options.nodeFlags ?? []),
        '--import',
        'tsx',
        options.entry ?? 'kvpod/main.ts',
        '--listen',
        `127.0.0.1:${port}`,
        '--metrics-listen',
        `127.0.0.1:${metricsPort}`,
        '--data-dir',
        dataDir,
        '--ca-cert',
        caPath,
        '--cert',
        certPath,
        '--key',
        keyPath,
        '--log-level',
        'warn',
      ];
      const proc = spawn(process.execPath, args, { cwd: options.repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
      child = new KvpodChild(proc, `127.0.0.1:${port}`, `127.0.0.1:${metricsPort}`, ca, tenant, operator, {
        ca: caPath,
        cert: certPath,
        key: keyPath,
      }, [certDir, dataDir]);
      await child.waitReady(30_000);
      return child;
    } catch (err) {
      if (child) await child.stop();
      else for (const dir of [certDir, dataDir]) rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /**
   * A client with the tenant's certificate: its own TLS credentials, hence its
   * own HTTP/2 connection. `address` points it at another server with the same
   * CA (the noop gRPC server); default this kvpod.
   */
  tenantClient(address = this.address): KvClient {
    return this.client(this.tenantPair, undefined, undefined, address);
  }

  operatorClient(): KvClient {
    return this.client(this.operatorPair);
  }

  private client(pair: PemPair, attempts?: number, deadlineMs?: number, address = this.address): KvClient {
    return new KvClient({
      seeds: [address],
      tls: { ca: Buffer.from(this.ca.certPem), cert: Buffer.from(pair.certPem), key: Buffer.from(pair.keyPem) },
      ...(attempts === undefined ? {} : { attempts }),
      ...(deadlineMs === undefined ? {} : { deadlineMs }),
    });
  }

  /** Polls ListTenants until the kvpod answers (it has no readiness line at log level warn). */
  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const probe = this.client(this.operatorPair, 1, 1000);
    try {
      for (;;) {
        if (this.exited) throw new Error(`kvpod exited during startup (${this.describeExit()}):\n${this.output}`);
        try {
          await probe.listTenants();
          return;
        } catch (err) {
          if (Date.now() > deadline) throw new Error(`kvpod not ready after ${timeoutMs} ms: ${String(err)}\n${this.output}`);
        }
        await sleep(100);
      }
    } finally {
      probe.close();
    }
  }

  /** Sums of a Prometheus histogram or counter family from /metrics. */
  async metricSums(name: string): Promise<{ sum: number; count: number }> {
    const text = await (await fetch(`http://${this.metricsAddress}/metrics`)).text();
    const value = (suffix: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${name}_${suffix} `));
      return line ? Number(line.split(' ')[1]) : Number.NaN;
    };
    return { sum: value('sum'), count: value('count') };
  }

  /**
   * CPU seconds the kvpod process has used so far (all threads: JS, libuv
   * pool, RocksDB), from /proc; undefined where there is no /proc.
   */
  cpuSeconds(): number | undefined {
    return processCpuSeconds(this.proc.pid);
  }

  /** Whatever the kvpod printed (its last 20 kB). */
  get log(): string {
    return this.output;
  }

  private describeExit(): string {
    return this.exited ? `code ${this.exited.code}, signal ${this.exited.signal}` : 'running';
  }

  /** SIGTERM (graceful stop), SIGKILL after 15 s; then removes its data and certificates. */
  async stop(): Promise<void> {
    if (!this.exited) {
      this.proc.kill('SIGTERM');
      const killer = setTimeout(() => this.proc.kill('SIGKILL'), 15_000);
      await this.exit;
      clearTimeout(killer);
    }
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
  }

  /** Exit status once stopped, e.g. for reporting an unclean stop. */
  get exitStatus(): string {
    return this.describeExit();
  }
}
