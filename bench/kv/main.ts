// make bench-kv: point gets and single-key commits per second, side by side in
// one run, (a) in-process against the storage engine kvpod uses (RocksDB +
// MVCC reader + group committer, no gRPC) and (b) through a real kvpod in its
// own process over gRPC + mutual TLS. Phases alternate so both sides see the
// same machine noise; each side's figure is the median of its rounds, and the
// headline is the ratio gRPC ÷ in-process. See bench/README.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { arch, cpus, loadavg, platform, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { KvClient } from '../../shared/kv/client/index.js';
import { InProcessStore } from './inprocess.js';
import { KvpodChild } from './kvpod-child.js';
import { median, round, runClosedLoop, summarize, type LatencySummary, type PhaseResult } from './stats.js';
import { makeWorkload, pick, preloadChunks, TENANT_ID, TENANT_NAME } from './workload.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..');

const { values: flags } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '16' },
    // Separate KvClients, each with its own TLS credentials and so its own
    // HTTP/2 connection; the loops are spread over them round-robin.
    channels: { type: 'string', default: '16' },
    keys: { type: 'string', default: '10000' },
    'value-bytes': { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
    'phase-ms': { type: 'string', default: '3000' },
    'warmup-ms': { type: 'string', default: '1000' },
    out: { type: 'string', default: join(repoRoot, 'bench', 'results', 'kv.json') },
    // Directory for a V8 CPU profile of the kvpod process (written when it stops).
    'profile-kvpod': { type: 'string' },
  },
  strict: true,
});

function positiveInt(name: string, raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${raw}`);
  return n;
}

const params = {
  concurrency: positiveInt('concurrency', flags.concurrency),
  grpcChannels: positiveInt('channels', flags.channels),
  keys: positiveInt('keys', flags.keys),
  valueBytes: positiveInt('value-bytes', flags['value-bytes']),
  rounds: positiveInt('rounds', flags.rounds),
  phaseMs: positiveInt('phase-ms', flags['phase-ms']),
  warmupMs: positiveInt('warmup-ms', flags['warmup-ms']),
};

type Side = 'inprocess' | 'grpc';
type Op = 'get' | 'commit';
const SIDES: Side[] = ['inprocess', 'grpc'];
const OPS: Op[] = ['get', 'commit'];

interface Driver {
  run(op: Op, ms: number): Promise<PhaseResult>;
  /** Commits per synced write since the last call (group commit batching). */
  batches(): Promise<{ batches: number; commits: number }>;
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const t0 = performance.now();
  const workload = makeWorkload(params.keys, params.valueBytes);
  const misses = { inprocess: 0, grpc: 0 };

  let store: InProcessStore | undefined;
  let child: KvpodChild | undefined;
  const clients: KvClient[] = [];
  const cleanup = async () => {
    for (const c of clients) c.close();
    clients.length = 0;
    await Promise.allSettled([store?.close(), child?.stop()]);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    void cleanup().finally(() => process.kill(process.pid, signal));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    [store, child] = await Promise.all([
      InProcessStore.open(),
      KvpodChild.start({ repoRoot, nodeFlags: flags['profile-kvpod'] ? ['--cpu-prof', '--cpu-prof-dir', flags['profile-kvpod']] : [] }),
    ]);
    const operator = child.operatorClient();
    clients.push(operator);
    await operator.createTenant(TENANT_NAME, TENANT_ID);
    for (let i = 0; i < params.grpcChannels; i++) clients.push(child.tenantClient());
    const tenantClients = clients.slice(1);
    const first = tenantClients[0];
    if (!first) throw new Error('no gRPC client');

    // Preload the same keys into both stores, 1000 per commit.
    for (const chunk of preloadChunks(workload.readKeys, 1000)) {
      const entries = chunk.map((key) => ({ key, value: workload.value }));
      await Promise.all([store.put(entries), first.commit(entries.map((e) => ({ put: e })))]);
    }
    const setupMs = performance.now() - t0;

    const local = store;
    const remote = child;
    let grpcBatchMark = await remote.metricSums('shoal_kv_commit_batch_commits');
    let localBatchMark = { ...local.batchStats };
    const drivers: Record<Side, Driver> = {
      inprocess: {
        run: (op, ms) =>
          runClosedLoop(
            params.concurrency,
            ms,
            op === 'get'
              ? async () => {
                  if ((await local.get(pick(workload.readKeys))) === null) misses.inprocess++;
                }
              : async () => {
                  await local.put([{ key: pick(workload.writeKeys), value: workload.value }]);
                },
          ),
        batches: () => {
          const now = { ...local.batchStats };
          const delta = { batches: now.batches - localBatchMark.batches, commits: now.commits - localBatchMark.commits };
          localBatchMark = now;
          return Promise.resolve(delta);
        },
      },
      grpc: {
        // Loop i always uses client i mod channels, as separate callers would.
        run: (op, ms) => {
          const client = (loop: number) => tenantClients[loop % tenantClients.length] ?? first;
          return runClosedLoop(
            params.concurrency,
            ms,
            op === 'get'
              ? async (loop) => {
                  if ((await client(loop).get(pick(workload.readKeys))).value === null) misses.grpc++;
                }
              : async (loop) => {
                  await client(loop).commit([{ put: { key: pick(workload.writeKeys), value: workload.value } }]);
                },
          );
        },
        batches: async () => {
          const now = await remote.metricSums('shoal_kv_commit_batch_commits');
          const delta = { batches: now.count - grpcBatchMark.count, commits: now.sum - grpcBatchMark.sum };
          grpcBatchMark = now;
          return delta;
        },
      },
    };

    // Warm up JIT, connections and caches on both sides, then measure.
    for (const op of OPS) for (const side of SIDES) await drivers[side].run(op, params.warmupMs);
    for (const side of SIDES) await drivers[side].batches();

    const results: Record<Op, Record<Side, { rounds: PhaseResult[]; batches: { batches: number; commits: number }[] }>> = {
      get: { inprocess: { rounds: [], batches: [] }, grpc: { rounds: [], batches: [] } },
      commit: { inprocess: { rounds: [], batches: [] }, grpc: { rounds: [], batches: [] } },
    };
    for (let r = 0; r < params.rounds; r++) {
      for (const op of OPS) {
        // Alternate which side goes first, so neither always follows the other.
        const order: Side[] = r % 2 === 0 ? ['inprocess', 'grpc'] : ['grpc', 'inprocess'];
        for (const side of order) {
          const result = await drivers[side].run(op, params.phaseMs);
          results[op][side].rounds.push(result);
          results[op][side].batches.push(await drivers[side].batches());
        }
      }
    }
    if (misses.inprocess + misses.grpc > 0) throw new Error(`gets missed preloaded keys: ${JSON.stringify(misses)}`);

    const figures = {} as Record<Op, Record<Side, { opsPerSec: number; roundsOpsPerSec: number[]; latency: LatencySummary; meanBatch: number | null }>>;
    for (const op of OPS) {
      figures[op] = {} as (typeof figures)[Op];
      for (const side of SIDES) {
        const { rounds, batches } = results[op][side];
        const b = batches.reduce((acc, x) => ({ batches: acc.batches + x.batches, commits: acc.commits + x.commits }), { batches: 0, commits: 0 });
        figures[op][side] = {
          opsPerSec: median(rounds.map((x) => x.opsPerSec)),
          roundsOpsPerSec: rounds.map((x) => x.opsPerSec),
          latency: summarize(rounds.map((x) => x.latenciesMs)),
          meanBatch: op === 'commit' && b.batches > 0 ? b.commits / b.batches : null,
        };
      }
    }
    const ratio = (op: Op) => figures[op].grpc.opsPerSec / figures[op].inprocess.opsPerSec;
    const roundRatios = (op: Op) => results[op].grpc.rounds.map((g, i) => g.opsPerSec / (results[op].inprocess.rounds[i]?.opsPerSec ?? Number.NaN));
    const ratios = { get: ratio('get'), commit: ratio('commit') };

    const report = {
      bench: 'kv',
      timestamp: startedAt.toISOString(),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        totalMemGiB: round(totalmem() / 2 ** 30, 1),
        platform: `${platform()} ${release()} ${arch()}`,
        node: process.version,
        loadavgAtStart: loadavg().map((x) => round(x, 2)),
      },
      parameters: {
        ...params,
        grpc: `kvpod child process (node --import tsx kvpod/main.ts), mTLS, ${params.grpcChannels} KvClient(s) = ${params.grpcChannels} HTTP/2 connection(s), loops assigned round-robin`,
        inprocess: 'Rocks + MvccReader + HybridClock + ConflictIndex + Committer as in kvpod/node.ts, same process as the load loops',
        get: 'random preloaded key, read at the latest applied timestamp',
        commit: 'blind single-key put of a random key (separate key set from gets), synced group commit',
        figure: 'ops/s = median of the rounds; latencies over all rounds',
      },
      results: Object.fromEntries(
        OPS.map((op) => [
          op,
          Object.fromEntries(
            SIDES.map((side) => {
              const f = figures[op][side];
              return [
                side,
                {
                  opsPerSec: round(f.opsPerSec, 1),
                  roundsOpsPerSec: f.roundsOpsPerSec.map((x) => round(x, 1)),
                  p50Ms: round(f.latency.p50Ms, 4),
                  p99Ms: round(f.latency.p99Ms, 4),
                  meanMs: round(f.latency.meanMs, 4),
                  samples: f.latency.samples,
                  ...(f.meanBatch === null ? {} : { meanCommitsPerSyncedWrite: round(f.meanBatch, 2) }),
                },
              ];
            }),
          ),
        ]),
      ),
      ratios: {
        kv_grpc_vs_inprocess_get_ratio: round(ratios.get, 3),
        kv_grpc_vs_inprocess_commit_ratio: round(ratios.commit, 3),
        perRound: { get: roundRatios('get').map((x) => round(x, 3)), commit: roundRatios('commit').map((x) => round(x, 3)) },
      },
      goal: { getRatioAtLeast: 0.3, met: ratios.get >= 0.3 },
      setupMs: round(setupMs, 0),
      totalMs: round(performance.now() - t0, 0),
    };
    const out = flags.out ?? join(repoRoot, 'bench', 'results', 'kv.json');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);

    const fmt = (x: number, d = 2) => x.toFixed(d);
    const lines = [
      `kv bench: ${params.concurrency} concurrent loops per side, ${params.keys} keys x ${params.valueBytes} B, ` +
        `${params.rounds} rounds x ${params.phaseMs / 1000} s per phase (median), gRPC on ${params.grpcChannels} mTLS connection(s); ` +
        `${report.machine.cpus} CPUs, node ${process.version}`,
      `${'op'.padEnd(7)}${'side'.padEnd(12)}${'ops/s'.padStart(10)}  ${'rounds'.padEnd(26)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(9)}${'commits/fsync'.padStart(15)}`,
    ];
    for (const op of OPS) {
      for (const side of SIDES) {
        const f = figures[op][side];
        lines.push(
          `${op.padEnd(7)}${side.padEnd(12)}${fmt(f.opsPerSec, 0).padStart(10)}  ${f.roundsOpsPerSec.map((x) => fmt(x, 0)).join(' / ').padEnd(26)}` +
            `${fmt(f.latency.p50Ms, 3).padStart(8)}${fmt(f.latency.p99Ms, 3).padStart(9)}${(f.meanBatch === null ? '' : fmt(f.meanBatch, 1)).padStart(15)}`,
        );
      }
    }
    lines.push(`results written to ${out} (${fmt(report.totalMs / 1000, 1)} s)`);
    for (const op of OPS) {
      for (const side of SIDES) {
        const f = figures[op][side];
        lines.push(`kv_${side}_${op}_ops=${fmt(f.opsPerSec, 0)}`);
        lines.push(`kv_${side}_${op}_p50_ms=${fmt(f.latency.p50Ms, 3)}`);
        lines.push(`kv_${side}_${op}_p99_ms=${fmt(f.latency.p99Ms, 3)}`);
      }
    }
    lines.push(`kv_grpc_vs_inprocess_get_ratio=${fmt(ratios.get)}`);
    lines.push(`kv_grpc_vs_inprocess_commit_ratio=${fmt(ratios.commit)}`);
    await cleanup();
    process.stdout.write(`${lines.join('\n')}\n`);
  } catch (err) {
    const log = child?.log;
    await cleanup();
    if (log) process.stderr.write(`kvpod output:\n${log}\n`);
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

main().then(
  () => {
    // Everything is closed; do not let a stray handle keep the process alive.
    setTimeout(() => process.exit(0), 2000).unref();
  },
  (err: unknown) => {
    process.stderr.write(`bench-kv failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
