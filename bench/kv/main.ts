// make bench-kv: point gets and single-key commits per second, side by side in
// one run, (a) in-process against the storage engine kvpod uses (RocksDB +
// MVCC reader + group committer, no gRPC) and (b) through a real kvpod in its
// own process over gRPC + mutual TLS. Phases alternate so both sides see the
// same machine noise; each side's figure is the median of its rounds, and the
// headline is the ratio gRPC ÷ in-process. See bench/README.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { arch, cpus, loadavg, platform, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { KvClient } from '../../shared/kv/client/index.js';
import { cpuDelta, machineCpuSeconds, ownCpuSeconds, type CpuDelta, type CpuSample } from './cpu.js';
import { InProcessStore } from './inprocess.js';
import { KvpodChild } from './kvpod-child.js';
import { median, round, runClosedLoop, summarize, type LatencySummary, type PhaseResult } from './stats.js';
import { makeWorkload, pick, preloadChunks, TENANT_ID, TENANT_NAME } from './workload.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..');
const GET_RATIO_GOAL = 0.3;

const { values: flags } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '16' },
    // Separate KvClients, each with its own TLS credentials and so its own
    // HTTP/2 connection; loop i uses client i mod channels.
    channels: { type: 'string', default: '16' },
    keys: { type: 'string', default: '10000' },
    'value-bytes': { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
    'phase-ms': { type: 'string', default: '3000' },
    'warmup-ms': { type: 'string', default: '1000' },
    out: { type: 'string', default: join(repoRoot, 'bench', 'results', 'kv.json') },
    // Directory for V8 CPU profiles of the kvpod process (written when it stops).
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
const SIDES: readonly Side[] = ['inprocess', 'grpc'];
const OPS: readonly Op[] = ['get', 'commit'];

interface BatchCount {
  batches: number;
  commits: number;
}

interface Phase {
  result: PhaseResult;
  cpu: CpuDelta;
  /** Group commit: synced writes and the commits they carried during the phase. */
  batches: BatchCount;
}

interface Driver {
  run(op: Op, ms: number): Promise<PhaseResult>;
  /** Synced writes and commits so far. */
  batches(): Promise<BatchCount>;
}

interface Figures {
  opsPerSec: number;
  roundsOpsPerSec: number[];
  latency: LatencySummary;
  commitsPerSyncedWrite: number | null;
  /** CPU microseconds per operation: the load process, the kvpod process. */
  benchCpuUsPerOp: number;
  kvpodCpuUsPerOp: number | null;
  /** Share of the machine's CPU that other processes used during the phases. */
  otherLoadCpus: number | null;
}

function summarizeSide(op: Op, side: Side, phases: Phase[]): Figures {
  const ops = phases.reduce((n, p) => n + p.result.ops, 0);
  const seconds = phases.reduce((n, p) => n + p.result.elapsedMs / 1000, 0);
  const sum = (f: (c: CpuDelta) => number | null): number | null =>
    phases.reduce<number | null>((n, p) => {
      const x = f(p.cpu);
      return n === null || x === null ? null : n + x;
    }, 0);
  const bench = sum((c) => c.benchS) ?? 0;
  const kvpod = sum((c) => c.kvpodS);
  const machine = sum((c) => c.machineBusyS);
  const b = phases.reduce((acc, p) => ({ batches: acc.batches + p.batches.batches, commits: acc.commits + p.batches.commits }), { batches: 0, commits: 0 });
  return {
    opsPerSec: median(phases.map((p) => p.result.opsPerSec)),
    roundsOpsPerSec: phases.map((p) => p.result.opsPerSec),
    latency: summarize(phases.map((p) => p.result.latenciesMs)),
    commitsPerSyncedWrite: op === 'commit' && b.batches > 0 ? b.commits / b.batches : null,
    benchCpuUsPerOp: (bench * 1e6) / ops,
    // The kvpod idles through in-process phases; its CPU there is not the operation's.
    kvpodCpuUsPerOp: side === 'grpc' && kvpod !== null ? (kvpod * 1e6) / ops : null,
    otherLoadCpus: machine === null || kvpod === null ? null : Math.max(0, (machine - bench - kvpod) / seconds),
  };
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
    const profileDir = flags['profile-kvpod'];
    // One after the other, so that a failure leaves nothing unassigned (and so unclosed).
    store = await InProcessStore.open();
    child = await KvpodChild.start({ repoRoot, nodeFlags: profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [] });
    const local = store;
    const remote = child;
    const operator = remote.operatorClient();
    clients.push(operator);
    await operator.createTenant(TENANT_NAME, TENANT_ID);
    const tenantClients = Array.from({ length: params.grpcChannels }, () => remote.tenantClient());
    clients.push(...tenantClients);
    const first = tenantClients[0];
    if (!first) throw new Error('no gRPC client');

    // The same keys and values in both stores, 1000 per commit.
    for (const chunk of preloadChunks(workload.readKeys, 1000)) {
      const entries = chunk.map((key) => ({ key, value: workload.value }));
      await Promise.all([local.put(entries), first.commit(entries.map((e) => ({ put: e })))]);
    }
    const setupMs = performance.now() - t0;

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
        batches: () => Promise.resolve({ ...local.batchStats }),
      },
      grpc: {
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
          const m = await remote.metricSums('shoal_kv_commit_batch_commits');
          return { batches: m.count, commits: m.sum };
        },
      },
    };
    const sample = (): CpuSample => ({ bench: ownCpuSeconds(), kvpod: remote.cpuSeconds(), machine: machineCpuSeconds() });
    const measure = async (side: Side, op: Op): Promise<Phase> => {
      const driver = drivers[side];
      const batchesBefore = await driver.batches();
      const before = sample();
      const result = await driver.run(op, params.phaseMs);
      const after = sample();
      const batchesAfter = await driver.batches();
      return {
        result,
        cpu: cpuDelta(before, after),
        batches: { batches: batchesAfter.batches - batchesBefore.batches, commits: batchesAfter.commits - batchesBefore.commits },
      };
    };

    // Warm up JIT, connections and caches on both sides, then measure.
    for (const op of OPS) for (const side of SIDES) await drivers[side].run(op, params.warmupMs);
    const phases: Record<Op, Record<Side, Phase[]>> = { get: { inprocess: [], grpc: [] }, commit: { inprocess: [], grpc: [] } };
    for (let r = 0; r < params.rounds; r++) {
      for (const op of OPS) {
        // Alternate which side goes first, so neither always follows the other.
        const order: Side[] = r % 2 === 0 ? ['inprocess', 'grpc'] : ['grpc', 'inprocess'];
        for (const side of order) phases[op][side].push(await measure(side, op));
      }
    }
    if (misses.inprocess + misses.grpc > 0) throw new Error(`gets missed preloaded keys: ${JSON.stringify(misses)}`);

    const figures: Record<Op, Record<Side, Figures>> = {
      get: { inprocess: summarizeSide('get', 'inprocess', phases.get.inprocess), grpc: summarizeSide('get', 'grpc', phases.get.grpc) },
      commit: {
        inprocess: summarizeSide('commit', 'inprocess', phases.commit.inprocess),
        grpc: summarizeSide('commit', 'grpc', phases.commit.grpc),
      },
    };
    const ratio = (op: Op) => figures[op].grpc.opsPerSec / figures[op].inprocess.opsPerSec;
    const roundRatios = (op: Op) => phases[op].grpc.map((g, i) => g.result.opsPerSec / (phases[op].inprocess[i]?.result.opsPerSec ?? Number.NaN));
    const ratios = { get: ratio('get'), commit: ratio('commit') };
    const totalMs = performance.now() - t0;

    const sideJson = (f: Figures) => ({
      opsPerSec: round(f.opsPerSec, 1),
      roundsOpsPerSec: f.roundsOpsPerSec.map((x) => round(x, 1)),
      p50Ms: round(f.latency.p50Ms, 4),
      p99Ms: round(f.latency.p99Ms, 4),
      meanMs: round(f.latency.meanMs, 4),
      samples: f.latency.samples,
      benchProcessCpuUsPerOp: round(f.benchCpuUsPerOp, 1),
      ...(f.kvpodCpuUsPerOp === null ? {} : { kvpodProcessCpuUsPerOp: round(f.kvpodCpuUsPerOp, 1) }),
      ...(f.commitsPerSyncedWrite === null ? {} : { commitsPerSyncedWrite: round(f.commitsPerSyncedWrite, 2) }),
      ...(f.otherLoadCpus === null ? {} : { otherProcessesCpus: round(f.otherLoadCpus, 2) }),
    });
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
        grpc:
          `kvpod in a child process (node --import tsx kvpod/main.ts), mTLS; ${params.grpcChannels} KvClient(s), ` +
          `each its own HTTP/2 connection; loop i uses client i mod ${params.grpcChannels}`,
        inprocess: 'Rocks + MvccReader + HybridClock + ConflictIndex + Committer assembled as in kvpod/node.ts, in the load process',
        get: 'random preloaded key, read at the latest applied timestamp (every get hits)',
        commit: 'blind single-key put of a random key from a separate key set, synced group commit',
        figures: 'ops/s = median of the rounds; latency percentiles over every operation of every round; CPU per op over all rounds',
      },
      results: {
        get: { inprocess: sideJson(figures.get.inprocess), grpc: sideJson(figures.get.grpc) },
        commit: { inprocess: sideJson(figures.commit.inprocess), grpc: sideJson(figures.commit.grpc) },
      },
      ratios: {
        kv_grpc_vs_inprocess_get_ratio: round(ratios.get, 3),
        kv_grpc_vs_inprocess_commit_ratio: round(ratios.commit, 3),
        perRound: { get: roundRatios('get').map((x) => round(x, 3)), commit: roundRatios('commit').map((x) => round(x, 3)) },
      },
      goal: { getRatioAtLeast: GET_RATIO_GOAL, met: ratios.get >= GET_RATIO_GOAL },
      setupMs: round(setupMs, 0),
      totalMs: round(totalMs, 0),
    };
    const out = flags.out ?? join(repoRoot, 'bench', 'results', 'kv.json');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    await cleanup();

    const fmt = (x: number | null, d = 2) => (x === null || Number.isNaN(x) ? '-' : x.toFixed(d));
    const lines = [
      `kv bench: ${params.concurrency} concurrent loops per side, ${params.keys} keys x ${params.valueBytes} B values, ` +
        `${params.rounds} rounds x ${params.phaseMs / 1000} s per phase (median), gRPC over ${params.grpcChannels} mTLS connection(s); ` +
        `${report.machine.cpus} CPUs, node ${process.version}`,
      `${'op'.padEnd(7)}${'side'.padEnd(10)}${'ops/s'.padStart(8)}  ${'rounds'.padEnd(22)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(9)}` +
        `${'cpu us/op load'.padStart(16)}${'kvpod'.padStart(7)}${'commits/fsync'.padStart(15)}${'other cpus'.padStart(12)}`,
    ];
    for (const op of OPS) {
      for (const side of SIDES) {
        const f = figures[op][side];
        lines.push(
          `${op.padEnd(7)}${side.padEnd(10)}${fmt(f.opsPerSec, 0).padStart(8)}  ${f.roundsOpsPerSec.map((x) => fmt(x, 0)).join(' / ').padEnd(22)}` +
            `${fmt(f.latency.p50Ms, 3).padStart(8)}${fmt(f.latency.p99Ms, 3).padStart(9)}${fmt(f.benchCpuUsPerOp, 0).padStart(16)}` +
            `${fmt(f.kvpodCpuUsPerOp, 0).padStart(7)}${fmt(f.commitsPerSyncedWrite, 1).padStart(15)}${fmt(f.otherLoadCpus, 2).padStart(12)}`,
        );
      }
    }
    lines.push(
      `per-round ratios: get ${report.ratios.perRound.get.join(' / ')}, commit ${report.ratios.perRound.commit.join(' / ')}; ` +
        `goal get ratio >= ${GET_RATIO_GOAL}: ${report.goal.met ? 'met' : 'NOT met'}`,
      `results written to ${out} (${fmt(totalMs / 1000, 1)} s)`,
    );
    const busiest = Math.max(...OPS.flatMap((op) => SIDES.map((side) => figures[op][side].otherLoadCpus ?? 0)));
    if (busiest > 0.25) {
      lines.push(`note: other processes used up to ${fmt(busiest)} of ${report.machine.cpus} CPUs during the phases; figures are noisier than usual`);
    }
    for (const op of OPS) {
      for (const side of SIDES) {
        const f = figures[op][side];
        lines.push(`kv_${side}_${op}_ops=${fmt(f.opsPerSec, 0)}`, `kv_${side}_${op}_p50_ms=${fmt(f.latency.p50Ms, 3)}`, `kv_${side}_${op}_p99_ms=${fmt(f.latency.p99Ms, 3)}`);
      }
    }
    lines.push(`kv_grpc_vs_inprocess_get_ratio=${fmt(ratios.get)}`, `kv_grpc_vs_inprocess_commit_ratio=${fmt(ratios.commit)}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  } catch (err) {
    const log = child?.log;
    await cleanup();
    if (log) process.stderr.write(`kvpod output (last 20 kB):\n${log}\n`);
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
