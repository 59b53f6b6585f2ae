// One kvpod: RocksDB, the clock, the committer, the registry and the gRPC and
// HTTP servers, started in dependency order and stopped in reverse.
import { mkdirSync, readFileSync, accessSync, constants } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { splitHostPort } from '../shared/config/index.js';
import type { Logger } from '../shared/log/index.js';
import { adminService, kvService } from '../shared/kv/protocol.js';
import { decodeTimestamp } from './storage/mvcc-encoding.js';
import type { KvpodSettings } from './config.js';
import { RangeLayout } from './ranges/layout.js';
import { adminServiceImplementation } from './server/admin-service.js';
import { MutualTlsCredentials } from './server/credentials.js';
import { startOpsServer } from './server/http.js';
import { kvServiceImplementation } from './server/kv-service.js';
import { KvMetrics } from './server/metrics.js';
import { RequestValidator } from './server/requests.js';
import { GarbageCollector } from './storage/gc.js';
import { MvccReader } from './storage/mvcc.js';
import { Rocks, StorageError } from './storage/rocks.js';
import { TenantRegistry } from './tenancy/registry.js';
import { HybridClock } from './txn/clock.js';
import { Committer, MAX_COMMIT_TS_KEY } from './txn/committer.js';
import { ConflictIndex } from './txn/conflicts.js';

export class StartupError extends Error {
  override readonly name = 'StartupError';
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new StartupError(`cannot read the ${what} at ${path}: ${(err as Error).message}`);
  }
}

function prepareDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw new StartupError(`data directory ${dir} is not usable: ${(err as Error).message}`);
  }
}

function loadLayout(path: string | undefined, self: string): RangeLayout {
  if (!path) return RangeLayout.single(self);
  try {
    return RangeLayout.fromFile(path, self);
  } catch (err) {
    throw new StartupError(`invalid range layout: ${(err as Error).message}`);
  }
}

/** Open while the node takes new calls; closed once it starts stopping. */
interface Gate {
  open: boolean;
}

export class KvNode {
  private readonly conflictPruner: NodeJS.Timeout;

  private constructor(
    readonly address: string,
    readonly opsAddress: string,
    readonly metrics: KvMetrics,
    private readonly grpc: Server,
    private readonly health: HealthImplementation,
    private readonly ops: HttpServer,
    private readonly rocks: Rocks,
    private readonly committer: Committer,
    private readonly gc: GarbageCollector,
    conflicts: ConflictIndex,
    clock: HybridClock,
    private readonly settings: KvpodSettings,
    private readonly log: Logger,
    private readonly gate: Gate,
  ) {
    this.conflictPruner = setInterval(() => {
      const horizon = { wallMs: clock.peek().wallMs - settings.conflictWindow, logical: 0 };
      conflicts.prune(horizon);
    }, Math.max(50, Math.min(1000, settings.conflictWindow / 4)));
    this.conflictPruner.unref();
  }

  static async start(settings: KvpodSettings, log: Logger): Promise<KvNode> {
    const ca = readPem(settings.caCert, 'host CA certificate');
    const cert = readPem(settings.cert, 'serving certificate');
    const key = readPem(settings.key, 'serving key');
    prepareDataDir(settings.dataDir);
    const rocks = await Rocks.open(settings.dataDir).catch((err: unknown) => {
      throw err instanceof StorageError ? new StartupError(err.message) : err;
    });
    try {
      return await KvNode.assemble(settings, log, rocks, { ca, cert, key });
    } catch (err) {
      await rocks.close();
      throw err;
    }
  }

  private static async assemble(
    settings: KvpodSettings,
    log: Logger,
    rocks: Rocks,
    pems: { ca: Buffer; cert: Buffer; key: Buffer },
  ): Promise<KvNode> {
    const clock = new HybridClock(Date.now, settings.maxClockOffset);
    const maxCommitTs = await rocks.get(MAX_COMMIT_TS_KEY);
    if (maxCommitTs) clock.forward(decodeTimestamp(maxCommitTs));
    const reader = new MvccReader(rocks);
    const gc = await GarbageCollector.open(rocks);
    const conflicts = new ConflictIndex(clock.now());
    const metrics = new KvMetrics();
    const committer = new Committer(rocks, reader, clock, conflicts, {
      maxBatchCommits: 512,
      maxRangeDeleteKeys: settings.maxRangeDeleteKeys,
      onBatch: (commits, ms) => {
        metrics.commitBatchSize.observe(commits);
        metrics.commitBatchDuration.observe(ms / 1000);
      },
    });
    const registry = await TenantRegistry.load(rocks, reader, committer);

    const grpc = new Server({
      'grpc.max_receive_message_length': settings.maxBatchBytes + 1024 * 1024,
      'grpc.max_send_message_length': settings.scanPageBytes * 2 + 1024 * 1024,
    });
    const port = await new Promise<number>((resolve, reject) =>
      grpc.bindAsync(settings.listen, new MutualTlsCredentials(pems.ca, pems.cert, pems.key), (err, bound) =>
        err ? reject(new StartupError(`cannot listen on ${settings.listen}: ${err.message}`)) : resolve(bound),
      ),
    );
    try {
      const listen = splitHostPort(settings.listen);
      const address = `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${port}`;
      const layout = loadLayout(settings.rangeLayout, settings.advertise ?? address);

      const gate: Gate = { open: true };
      const handlerDeps = { metrics, log, admitting: () => gate.open };
      const validator = new RequestValidator(settings);
      const refreshTenantGauge = () => {
        const counts = { active: 0, dropped: 0 };
        for (const t of registry.list()) counts[t.state === 'active' ? 'active' : 'dropped']++;
        metrics.tenants.set({ state: 'active' }, counts.active);
        metrics.tenants.set({ state: 'dropped' }, counts.dropped);
      };
      refreshTenantGauge();
      metrics.gcThreshold.set(gc.threshold.wallMs / 1000);
      grpc.addService(kvService, kvServiceImplementation({ ...handlerDeps, reader, committer, registry, layout, gc, validator }));
      grpc.addService(adminService, adminServiceImplementation({ ...handlerDeps, registry, validator, onChange: refreshTenantGauge }));
      const health = new HealthImplementation({ '': 'SERVING', 'shoal.kv.v1.Kv': 'SERVING', 'shoal.kv.v1.Admin': 'SERVING' });
      health.addToServer(grpc);

      gc.start(
        settings.gcInterval,
        settings.gcTtl,
        (result, threshold) => {
          metrics.gcVersionsRemoved.inc(result.versionsRemoved);
          metrics.gcThreshold.set(threshold.wallMs / 1000);
          if (result.versionsRemoved > 0) log.info(result, 'garbage collected');
        },
        (err) => log.error({ err }, 'garbage collection failed'),
      );

      const opsListen = splitHostPort(settings.metricsListen);
      const ops = await startOpsServer(opsListen.host, opsListen.port, { registry: metrics.registry, ready: () => gate.open }).catch(
        (err: unknown) => {
          throw new StartupError(`cannot listen on ${settings.metricsListen} for metrics and probes: ${(err as Error).message}`);
        },
      );
      const opsPort = (ops.address() as AddressInfo).port;
      const kv = new KvNode(address, `${opsListen.host}:${opsPort}`, metrics, grpc, health, ops, rocks, committer, gc, conflicts, clock, settings, log, gate);
      log.info({ address, advertise: settings.advertise ?? address, ops: kv.opsAddress, dataDir: settings.dataDir, tenants: registry.list().length }, 'kvpod serving');
      return kv;
    } catch (err) {
      // Nothing may keep listening or collecting once start-up failed.
      grpc.forceShutdown();
      await gc.stop();
      throw err;
    }
  }

  /** Graceful: stop admitting, finish in-flight calls and commits, flush, close. */
  async stop(): Promise<void> {
    if (!this.gate.open) return;
    this.gate.open = false;
    clearInterval(this.conflictPruner);
    for (const service of ['', 'shoal.kv.v1.Kv', 'shoal.kv.v1.Admin']) this.health.setStatus(service, 'NOT_SERVING');
    const forced = setTimeout(() => {
      this.log.warn('shutdown timeout reached; cancelling in-flight calls');
      this.grpc.forceShutdown();
    }, this.settings.shutdownTimeout);
    await new Promise<void>((resolve) => this.grpc.tryShutdown(() => resolve()));
    clearTimeout(forced);
    await this.committer.close();
    await this.gc.stop();
    await new Promise<void>((resolve) => this.ops.close(() => resolve()));
    await this.rocks.close();
    this.log.info('kvpod stopped');
  }
}
