// make bench-proxy: pgbench's select-only transaction (-S) against one local
// PostgreSQL three ways, side by side in one run: directly, through PgBouncer
// (session pooling), and through the Shoal proxy in static mode. For every
// combination of clients (8, 32), query mode (simple, extended) and
// connections (persistent, or -C: a new one per transaction) the three
// targets run one after the other, so all see the same machine noise. The
// headline is the proxy's TPS over direct's and over PgBouncer's with 8
// clients, simple protocol, persistent connections; compare ratios, not
// absolute figures (bench/README.md).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { machineInfo, wholeNumber } from '../machine.js';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startPostgres } from '../../shared/testing/postgres.js';
import type { QueryMode } from '../sql/pgbench.js';
import { cpuSplit, sampleCpu, type CpuSplit } from './cpu.js';
import { startPgbouncer } from './pgbouncer.js';
import { initPgbench, runSelectOnly, selectOnlyArgs, type Connect, type SelectOnlyResult } from './pgbench.js';
import { startProxyProcess } from './proxy-process.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const TARGETS = ['direct', 'pgbouncer', 'proxy'] as const;
export type Target = (typeof TARGETS)[number];
const MODES: readonly QueryMode[] = ['simple', 'extended'];
const CONNECTS: readonly Connect[] = ['persistent', 'connect'];

export interface Combination {
  clients: number;
  mode: QueryMode;
  connect: Connect;
}

/** The combination the two headline ratios are taken from. */
export const HEADLINE: Combination = { clients: 8, mode: 'simple', connect: 'persistent' };

export interface ProxyBenchOptions {
  seconds: number;
  warmupSeconds: number;
  /** pgbench -i -s. */
  scale: number;
  /** pgbench -j (capped at the clients). */
  threads: number;
  clients: readonly number[];
  modes: readonly QueryMode[];
  connects: readonly Connect[];
  out: string;
  /** Directory for a V8 CPU profile of the proxy process. */
  profileProxy?: string;
}

interface RunResult extends SelectOnlyResult {
  /**
   * CPU per transaction, µs, from /proc (cpu.ts): PostgreSQL, pgbench, the process in the middle (PgBouncer,
   * the proxy; undefined for direct), interrupts and softirqs, everything else (the bench process, other work),
   * and the whole machine.
   */
  cpuUsPerTx: Record<keyof CpuSplit, number | undefined>;
  /** CPUs the whole machine kept busy during the run. */
  busyCpus: number | undefined;
}

interface Measured {
  combination: Combination;
  byTarget: Partial<Record<Target, RunResult>>;
}

const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;
const comboKey = (c: Combination) => `c${c.clients}_${c.mode}_${c.connect}`;
const sameCombo = (a: Combination, b: Combination) => a.clients === b.clients && a.mode === b.mode && a.connect === b.connect;
const ratio = (a: RunResult | undefined, b: RunResult | undefined) => (a && b && b.tps > 0 ? a.tps / b.tps : undefined);
const roundOpt = (x: number | undefined, digits = 3) => (x === undefined ? null : round(x, digits));

export function combinations(options: Pick<ProxyBenchOptions, 'clients' | 'modes' | 'connects'>): Combination[] {
  return options.clients.flatMap((clients) => options.modes.flatMap((mode) => options.connects.map((connect) => ({ clients, mode, connect }))));
}

/**
 * Starts PostgreSQL, PgBouncer and the proxy, loads the pgbench tables once,
 * runs every combination against every target and prints the table and the
 * headline lines; writes the JSON report to `options.out`. Everything started
 * is stopped at the end, on failure, and on SIGINT / SIGTERM.
 */
export async function runProxyBench(options: ProxyBenchOptions): Promise<void> {
  const startedAt = new Date();
  const loadAtStart = loadavg();
  const t0 = performance.now();
  const maxClients = Math.max(...options.clients);
  const stops: (() => Promise<void>)[] = [];
  // The reverse order of starting: the proxy and PgBouncer let go of their server connections before PostgreSQL stops.
  // One cleanup for all callers: a signal's cleanup makes the running pgbench fail, and the failure path must then
  // wait for that same cleanup, not find the list empty and exit while the servers are still stopping.
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    })());
  // A signal stops the running pgbench first (and waits for it, so that it does not outlive us), then the servers.
  const pgbenchRuns = new AbortController();
  let inFlight: Promise<unknown> = Promise.resolve();
  const track = <T>(p: Promise<T>): Promise<T> => {
    inFlight = p.catch(() => undefined);
    return p;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    pgbenchRuns.abort();
    void inFlight
      .then(() => cleanup())
      .finally(() => process.kill(process.pid, signal));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // Room for the clients of a run (direct, or through the proxy, which opens one server connection per client),
    // PgBouncer's pool (idle between its runs but kept open), and backends of -C still exiting.
    const maxConnections = Math.max(100, 4 * maxClients + 20);
    const postgres = await startPostgres({ settings: { max_connections: String(maxConnections) } });
    stops.push(() => postgres.stop());
    const setupStart = performance.now();
    await track(initPgbench(postgres.url(), options.scale, pgbenchRuns.signal));
    const initMs = performance.now() - setupStart;
    const pgbouncer = await startPgbouncer({ backendPort: postgres.port, poolSize: maxClients, maxClients: Math.max(100, 4 * maxClients) });
    stops.push(() => pgbouncer.stop());
    const proxy = await startProxyProcess({
      repoRoot,
      backendPort: postgres.port,
      ...(options.profileProxy ? { profileDir: options.profileProxy } : {}),
    });
    stops.push(() => proxy.stop());

    const urls: Record<Target, string> = { direct: postgres.url(), pgbouncer: pgbouncer.url(), proxy: proxy.url() };
    const middlePid: Record<Target, () => number | undefined> = { direct: () => undefined, pgbouncer: () => pgbouncer.pid, proxy: () => proxy.pid };
    const middle: Record<Target, { describe(): string } | undefined> = { direct: undefined, pgbouncer, proxy };

    const postmaster = () => {
      try {
        const pid = Number(readFileSync(join(postgres.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
        return pid > 0 ? pid : undefined;
      } catch {
        return undefined;
      }
    };
    const run = async (target: Target, combination: Combination, seconds: number): Promise<RunResult> => {
      const sources = { postmaster, middle: middlePid[target] };
      const [before, wall0] = [sampleCpu(sources), performance.now()];
      let r: SelectOnlyResult;
      try {
        r = await track(runSelectOnly({ url: urls[target], seconds, threads: options.threads, ...combination }, pgbenchRuns.signal));
      } catch (err) {
        const m = middle[target];
        if (!m || pgbenchRuns.signal.aborted) throw err;
        throw new Error(`${String(err)}\n${target}: ${m.describe()}`, { cause: err });
      }
      const [after, wallS] = [sampleCpu(sources), (performance.now() - wall0) / 1000];
      const split = cpuSplit(before, after);
      const perTx = (s: number | undefined) => (s === undefined || r.transactions === 0 ? undefined : (s * 1e6) / r.transactions);
      return {
        ...r,
        cpuUsPerTx: {
          postgres: perTx(split.postgres),
          pgbench: perTx(split.pgbench),
          middle: perTx(split.middle),
          irq: perTx(split.irq),
          other: perTx(split.other),
          machine: perTx(split.machine),
        },
        busyCpus: split.machine === undefined ? undefined : split.machine / wallS,
      };
    };

    // With the most clients, so that PgBouncer's pool is full before anything is measured.
    const warmup: Combination = { clients: maxClients, mode: 'simple', connect: 'persistent' };
    if (options.warmupSeconds > 0) for (const target of TARGETS) await run(target, warmup, options.warmupSeconds);

    const measured: Measured[] = [];
    for (const combination of combinations(options)) {
      const byTarget: Measured['byTarget'] = {};
      for (const target of TARGETS) byTarget[target] = await run(target, combination, options.seconds);
      measured.push({ combination, byTarget });
    }
    await cleanup();
    const totalMs = performance.now() - t0;

    const headline = measured.find((m) => sameCombo(m.combination, HEADLINE));
    const vsDirect = ratio(headline?.byTarget.proxy, headline?.byTarget.direct);
    const vsPgbouncer = ratio(headline?.byTarget.proxy, headline?.byTarget.pgbouncer);

    const report = {
      bench: 'proxy',
      timestamp: startedAt.toISOString(),
      machine: machineInfo(loadAtStart),
      parameters: {
        targets: TARGETS,
        seconds: options.seconds,
        warmupSeconds: options.warmupSeconds,
        scale: options.scale,
        threads: options.threads,
        clients: options.clients,
        modes: options.modes,
        connects: options.connects,
        pgbench: 'pgbench ' + selectOnlyArgs({ url: '<url>', seconds: options.seconds, clients: 8, threads: options.threads, mode: 'simple', connect: 'persistent' })
          .join(' ')
          .replace('-c 8', '-c <clients>')
          .replace('-M simple', '-M simple|extended [-C]'),
        postgres: { maxConnections, settings: 'Debian defaults otherwise (durable), trust authentication' },
        pgbouncer: pgbouncer.config,
        proxy: 'node --import tsx proxy/main.ts --static-routing <file> (one tenant "bench" -> the PostgreSQL), --log-level info; clients send options=--cluster=bench',
        // A CPU profile slows the proxy down; such a run's figures are not comparable with others.
        proxyProfiled: options.profileProxy !== undefined,
        schedule: 'for each clients, query mode, connection mode: direct, pgbouncer, proxy in turn (one run each)',
        headline: HEADLINE,
      },
      setupMs: { pgbenchInit: round(initMs, 0) },
      results: Object.fromEntries(
        measured.map(({ combination, byTarget }) => [
          comboKey(combination),
          {
            ...combination,
            ...Object.fromEntries(
              Object.entries(byTarget).map(([target, r]) => [
                target,
                {
                  tps: round(r.tps, 1),
                  latencyAvgMs: round(r.latencyAvgMs, 3),
                  connectionMs: roundOpt(r.connectionMs),
                  transactions: r.transactions,
                  failedTransactions: r.failedTransactions,
                  cpuUsPerTx: Object.fromEntries(Object.entries(r.cpuUsPerTx).map(([k, v]) => [k, roundOpt(v, 1)])),
                  busyCpus: roundOpt(r.busyCpus, 2),
                },
              ]),
            ),
            ratios: {
              proxy_vs_direct: roundOpt(ratio(byTarget.proxy, byTarget.direct)),
              proxy_vs_pgbouncer: roundOpt(ratio(byTarget.proxy, byTarget.pgbouncer)),
              pgbouncer_vs_direct: roundOpt(ratio(byTarget.pgbouncer, byTarget.direct)),
            },
          },
        ]),
      ),
      ...(vsDirect !== undefined && vsPgbouncer !== undefined
        ? { ratios: { proxy_vs_direct_tps_ratio: round(vsDirect), proxy_vs_pgbouncer_tps_ratio: round(vsPgbouncer) } }
        : {}),
      ...(vsPgbouncer !== undefined ? { goal: { proxyAtLeastPgbouncer: vsPgbouncer >= 1 } } : {}),
      totalMs: round(totalMs, 0),
    };
    mkdirSync(dirname(options.out), { recursive: true });
    writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);

    const fmt = (x: number | undefined, digits: number) => (x === undefined ? '-' : x.toFixed(digits));
    const cols: [string, number][] = [
      ['clients', 8],
      ['mode', 10],
      ['connect', 12],
      ['target', 11],
      ['tps', 9],
      ['latency ms', 12],
      ['conn ms', 9],
      ['pg us', 8],
      ['pgb us', 8],
      ['mid us', 8],
      ['irq us', 8],
      ['other us', 9],
      ['all us', 8],
      ['cpus', 6],
      ['vs direct', 11],
      ['failed', 8],
    ];
    const row = (cells: string[]) => cells.map((c, i) => (i < 4 ? c.padEnd(cols[i]?.[1] ?? 0) : c.padStart(cols[i]?.[1] ?? 0))).join('');
    const lines = [
      `proxy bench: pgbench -S -j ${options.threads}, ${options.seconds} s per run, scale ${options.scale}; ` +
        `${report.machine.cpus} CPUs, node ${process.version}`,
      row(cols.map(([name]) => name)),
    ];
    for (const { combination: c, byTarget } of measured) {
      for (const target of TARGETS) {
        const r = byTarget[target];
        lines.push(
          row([
            String(c.clients),
            c.mode,
            c.connect,
            target,
            fmt(r?.tps, 0),
            fmt(r?.latencyAvgMs, 3),
            fmt(r?.connectionMs, 3),
            fmt(r?.cpuUsPerTx.postgres, 0),
            fmt(r?.cpuUsPerTx.pgbench, 0),
            fmt(r?.cpuUsPerTx.middle, 0),
            fmt(r?.cpuUsPerTx.irq, 0),
            fmt(r?.cpuUsPerTx.other, 0),
            fmt(r?.cpuUsPerTx.machine, 0),
            fmt(r?.busyCpus, 2),
            target === 'direct' ? '' : fmt(ratio(r, byTarget.direct), 2),
            String(r?.failedTransactions ?? '-'),
          ]),
        );
      }
    }
    // Other work on the machine takes CPU from whichever target runs at the time (the runs are short).
    const otherCpus = measured.flatMap(({ byTarget }) =>
      Object.values(byTarget).map((r) => ((r.cpuUsPerTx.other ?? 0) * r.tps) / 1e6),
    );
    const maxOther = Math.max(0, ...otherCpus);
    if (maxOther > 0.25) {
      lines.push(`note: other work on the machine took up to ${maxOther.toFixed(2)} CPUs during a run; compare ratios from a quieter run`);
    }
    lines.push(
      'conn ms: pgbench average connection time per transaction with -C, initial connection time otherwise. ' +
        'pg / pgb / mid / irq / other / all us: CPU µs per transaction of PostgreSQL, pgbench, the middle (PgBouncer or the proxy), ' +
        'interrupts and softirqs, everything else (other work on the machine), the whole machine; ' +
        'cpus: CPUs the machine kept busy',
      `results written to ${options.out} (${(totalMs / 1000).toFixed(1)} s)`,
    );
    for (const { combination, byTarget } of measured) {
      for (const target of TARGETS) lines.push(`proxy_${target}_${comboKey(combination)}_tps=${fmt(byTarget[target]?.tps, 0)}`);
    }
    if (vsDirect !== undefined && vsPgbouncer !== undefined) {
      // The last two lines, always, when the headline combination ran.
      lines.push(`proxy_vs_direct_tps_ratio=${vsDirect.toFixed(2)}`, `proxy_vs_pgbouncer_tps_ratio=${vsPgbouncer.toFixed(2)}`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}


function list<T extends string>(flag: string, raw: string | undefined, allowed: readonly T[]): T[] {
  const items = (raw ?? '').split(',').map((s) => s.trim());
  const bad = items.filter((s) => !(allowed as readonly string[]).includes(s));
  if (items.length === 0 || bad.length > 0) throw new Error(`--${flag} takes a comma-separated list of ${allowed.join(', ')}; got ${raw}`);
  return [...new Set(items as T[])];
}

async function main(): Promise<void> {
  const defaultOut = join(repoRoot, 'bench', 'results', 'proxy.json');
  const { values: flags } = parseArgs({
    options: {
      seconds: { type: 'string', default: process.env.SHOAL_BENCH_SECONDS ?? '10' },
      'warmup-seconds': { type: 'string', default: '2' },
      scale: { type: 'string', default: '10' },
      threads: { type: 'string', default: '2' },
      // For investigation; the headline needs 8 clients, simple, persistent among them.
      clients: { type: 'string', default: '8,32' },
      modes: { type: 'string', default: MODES.join(',') },
      connect: { type: 'string', default: CONNECTS.join(',') },
      out: { type: 'string', default: defaultOut },
      // Directory for a V8 CPU profile of the proxy process (written when the bench stops it).
      'profile-proxy': { type: 'string' },
    },
    strict: true,
  });
  const clients = (flags.clients ?? '').split(',').map((c) => wholeNumber('clients', c.trim(), 1));
  const profileProxy = flags['profile-proxy'];
  await runProxyBench({
    seconds: wholeNumber('seconds', flags.seconds, 1),
    warmupSeconds: wholeNumber('warmup-seconds', flags['warmup-seconds'], 0),
    scale: wholeNumber('scale', flags.scale, 1),
    threads: wholeNumber('threads', flags.threads, 1),
    clients: [...new Set(clients)],
    modes: list('modes', flags.modes, MODES),
    connects: list('connect', flags.connect, CONNECTS),
    out: flags.out ?? defaultOut,
    ...(profileProxy ? { profileProxy: resolve(profileProxy) } : {}),
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    // Everything is stopped; do not let a stray handle keep the process alive.
    () => setTimeout(() => process.exit(0), 2000).unref(),
    (err: unknown) => {
      process.stderr.write(`bench-proxy failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
