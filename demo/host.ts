// A whole host cluster on one machine: a kvpod process, the proxy, the
// system tenant's SQL interface, and the local orchestrator with its pool of
// SQL pod processes. Used by the demo's command line and by the cold-start
// benchmark, so both run exactly what a user runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSecureContext } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { splitHostPort } from '../shared/config/index.js';
import { KvClient } from '../shared/kv/client/index.js';
import { SYSTEM_TENANT_NAME } from '../shared/keys/index.js';
import { createLogger, logFile, type Logger } from '../shared/log/index.js';
import { freePort } from '../shared/net/index.js';
import { stopChild } from '../shared/process/index.js';
import { startProxy, type Proxy } from '../proxy/server.js';
import { createPgServer } from '../sqlpod/server/index.js';
import type { DemoSettings } from './config.js';
import { ensureCerts, ensureCredentials, openDataDir, type DataDir, type DemoCerts, type DemoCredentials } from './datadir.js';
import { LocalOrchestrator, type OrchestratorEvent } from './orchestrator/index.js';
import { SystemEngine } from './system/engine.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const NODE_TS = { executable: process.execPath, args: ['--import', 'tsx'], cwd: REPO_ROOT } as const;

export class StartError extends Error {
  override readonly name = 'StartError';
}

export interface HostProgress {
  step(message: string): void;
  event?(event: OrchestratorEvent): void;
}

export interface Host {
  readonly dataDir: DataDir;
  readonly certs: DemoCerts;
  readonly credentials: DemoCredentials;
  readonly orchestrator: LocalOrchestrator;
  readonly proxyAddress: string;
  readonly kvAddress: string;
  /** Stops everything: the proxy stops accepting, pods drain for `graceMs`, then the kvpod stops. */
  stop(graceMs?: number): Promise<void>;
}

export async function startHost(settings: DemoSettings, progress: HostProgress): Promise<Host> {
  const { host: proxyHost, port: proxyPort } = splitHostPort(settings.listen);
  // Before anything starts or is written: a busy port is the commonest way to fail.
  await checkPortFree(proxyHost, proxyPort);
  const dataDir = openDataDir(settings.dataDir);
  const stack: (() => Promise<void>)[] = [() => Promise.resolve(dataDir.unlock())];
  const unwind = async () => {
    for (const undo of stack.reverse()) await undo().catch(() => undefined);
  };
  try {
    const log = createLogger('demo', settings.logLevel, logFile(join(dataDir.logDir, 'demo.log')));
    progress.step(`data directory ${dataDir.path}`);
    const certs = await ensureCerts(dataDir.certDir);
    const credentials = await ensureCredentials(dataDir.path);

    const kvPort = await freePort();
    const kvAddress = `127.0.0.1:${kvPort}`;
    const kvpod = await startKvpod(dataDir, certs, kvAddress, log);
    stack.push(() => stopChild(kvpod, 10_000));
    progress.step(`kvpod serving on ${kvAddress} (data in ${dataDir.kvDir})`);

    const kv = new KvClient({
      seeds: [kvAddress],
      tls: { ca: Buffer.from(certs.ca.certPem), cert: Buffer.from(certs.operator.certPem), key: Buffer.from(certs.operator.keyPem) },
    });
    stack.push(() => Promise.resolve(kv.close()));

    const orchestrator = await LocalOrchestrator.start({
      kv,
      kvAddresses: [kvAddress],
      operator: { caPem: certs.ca.certPem, ...certs.operator },
      ca: certs.ca,
      command: { ...NODE_TS, args: [...NODE_TS.args, 'sqlpod/main.ts'] },
      podFiles: { caCert: certs.caPath, cert: certs.pool.cert, key: certs.pool.key, logDir: dataDir.logDir },
      poolSize: settings.poolSize,
      maxReplicas: settings.maxReplicas,
      drainLimitMs: settings.drainLimit,
      sampleIntervalMs: settings.sampleInterval,
      cpuWindowMs: settings.cpuWindow,
      policy: {
        idleTimeoutMs: settings.idleTimeout,
        scaleDownStabilizationMs: settings.scaleDownDelay,
        targetAverageCpuPerPod: settings.targetAverageCpu,
        targetPeakCpuPerPod: settings.targetPeakCpu,
      },
      tenantAdmin: credentials.tenantAdmin,
      podLogLevel: settings.logLevel,
      log,
      ...(progress.event ? { onEvent: (e: OrchestratorEvent) => progress.event?.(e) } : {}),
    });
    stack.push(() => orchestrator.stop(5000));
    for (const name of settings.tenants) {
      if (!orchestrator.list().some((c) => c.name === name)) await orchestrator.create(name);
    }
    progress.step(`tenants: ${orchestrator.list().filter((c) => c.name !== SYSTEM_TENANT_NAME).map((c) => `${c.name} (ID ${c.id})`).join(', ') || 'none'}`);

    const system = await createPgServer({
      engine: new SystemEngine({ clusters: orchestrator, admin: credentials.system }),
      host: '127.0.0.1',
      port: 0,
      tls: { cert: certs.systemSql.certPem, key: certs.systemSql.keyPem },
      logger: log,
    });
    stack.push(() => system.close({ force: true }));
    orchestrator.directory.setTenant(SYSTEM_TENANT_NAME, [
      { name: 'system-sql', address: `127.0.0.1:${system.address.port}`, state: 'running', tenant: SYSTEM_TENANT_NAME },
    ]);

    let proxy: Proxy;
    try {
      proxy = await startProxy({
        host: proxyHost,
        port: proxyPort,
        directory: orchestrator.directory,
        podCa: certs.ca.certPem,
        clientTls: createSecureContext({ cert: certs.proxy.certPem, key: certs.proxy.keyPem }),
        resumeDeadlineMs: settings.resumeTimeout,
        log,
      });
    } catch (e) {
      throw portError(e, settings.listen);
    }
    stack.push(() => proxy.close(2000));
    progress.step(`proxy listening on ${settings.listen}`);

    progress.step(`warming ${settings.poolSize} SQL pods`);
    await orchestrator.waitForPool(120_000);

    let stopped: Promise<void> | null = null;
    return {
      dataDir,
      certs,
      credentials,
      orchestrator,
      proxyAddress: `${proxyHost}:${proxy.address.port}`,
      kvAddress,
      stop(graceMs = 5000) {
        stopped ??= (async () => {
          await proxy.close(graceMs);
          await orchestrator.stop(graceMs);
          await system.close({ force: true });
          kv.close();
          await stopChild(kvpod, 10_000);
          dataDir.unlock();
        })();
        return stopped;
      },
    };
  } catch (e) {
    await unwind();
    throw e;
  }
}

async function checkPortFree(host: string, port: number): Promise<void> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, resolve);
    });
  } catch (e) {
    throw portError(e, `${host}:${port}`);
  } finally {
    server.close();
  }
}

function portError(e: unknown, address: string): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return new StartError(`${address} is already in use (another demo, PgBouncer or PostgreSQL?); choose another address with --listen`);
  if (code === 'EACCES') return new StartError(`no permission to listen on ${address}; choose a port above 1024 with --listen`);
  if (code === 'EADDRNOTAVAIL') return new StartError(`${address} is not an address of this machine; use e.g. --listen 127.0.0.1:6432`);
  return e instanceof Error ? e : new Error(String(e));
}


async function startKvpod(dataDir: DataDir, certs: DemoCerts, address: string, log: Logger): Promise<ChildProcess> {
  const opsPort = await freePort();
  const logFile = join(dataDir.logDir, 'kvpod.log');
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(
      NODE_TS.executable,
      [
        ...NODE_TS.args, 'kvpod/main.ts',
        '--listen', address,
        '--metrics-listen', `127.0.0.1:${opsPort}`,
        '--data-dir', dataDir.kvDir,
        '--ca-cert', certs.caPath,
        '--cert', certs.kvpod.cert,
        '--key', certs.kvpod.key,
        '--parent-pid', String(process.pid),
      ],
      { cwd: NODE_TS.cwd, stdio: ['ignore', fd, fd], detached: true },
    );
  } finally {
    closeSync(fd);
  }
  let exitCode: number | null | undefined;
  child.once('exit', (code) => (exitCode = code));
  const deadline = Date.now() + 60_000;
  while (!(await ready(`127.0.0.1:${opsPort}`))) {
    if (exitCode !== undefined) throw new StartError(`the kvpod exited (code ${exitCode}) while starting; see ${logFile}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new StartError(`the kvpod did not become ready within 60 s; see ${logFile}`);
    }
    await sleep(50);
  }
  log.info({ address, pid: child.pid, log: logFile }, 'kvpod started');
  return child;
}

function ready(address: string): Promise<boolean> {
  const { host, port } = splitHostPort(address);
  return new Promise((resolve) => {
    const req = get({ host, port, path: '/readyz', agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

