// make bench-sql: pgbench point selects and single-row updates per second
// against every SQL target, side by side in one run and interleaved (for each
// workload and query mode: one target after the other), so all targets see the
// same machine noise. Each target gets the same 100,000-row accounts table;
// each run is `pgbench -n -c 8 -j 2 -T <seconds> -M simple|extended`. The
// headline is Shoal TPS ÷ PostgreSQL TPS, the geometric mean over the two
// query modes; compare ratios, not absolute figures (bench/README.md). Then
// pgbench's own TPC-B-like run on each target after `pgbench -i -s 1`; then
// the TPC-H-like join and aggregate queries of ./analytic.ts, whose ratio is
// the last line. `--only analytic` runs that part alone.
import { mkdirSync, writeFileSync } from 'node:fs';
import { machineInfo, wholeNumber } from '../machine.js';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runBuiltin, runPgbench, runPgbenchInit, type PgbenchResult, type QueryMode } from './pgbench.js';
import { ACCOUNT_ROWS, loadAccounts, POINT_SELECT_SCRIPT, UPDATE_SCRIPT } from './schema.js';
import { analyticRatio, ANALYTIC_QUERIES, runAnalyticQueries, type AnalyticQueryResult } from './analytic.js';
import { BENCH_SCALE, loadAnalytic, type AnalyticScale } from './analytic-schema.js';
import pg from 'pg';
import { shoalTarget } from './shoal-target.js';
import { postgresTarget, type SqlTarget } from './targets.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const WORKLOADS = { point_select: POINT_SELECT_SCRIPT, update: UPDATE_SCRIPT } as const;
export type Workload = keyof typeof WORKLOADS;
const MODES: readonly QueryMode[] = ['simple', 'extended'];
/** pgbench -i -s of the TPC-B-like run: 100,000 accounts, 10 tellers, 1 branch. */
const TPCB_SCALE = 1;

export interface SqlBenchOptions {
  /** pgbench -T of each measured run. */
  seconds: number;
  /** A point-select run per target before measuring, to warm caches and connections; 0 skips it. */
  warmupSeconds: number;
  /** Where the JSON report goes. */
  out: string;
  clients?: number;
  threads?: number;
  /** Which parts run: all of them, or only the analytic queries. */
  only?: 'analytic';
  /** The analytic tables' size (default BENCH_SCALE). */
  analyticScale?: AnalyticScale;
  /** Timed runs of each analytic query per target (default 5). */
  analyticReps?: number;
}

interface AnalyticRun {
  scale: AnalyticScale;
  reps: number;
  rows: Record<string, number>;
  loadMs: Record<string, number>;
  results: Record<string, AnalyticQueryResult>;
}

/**
 * Loads the analytic tables into every target, then checks and times the
 * queries (./analytic.ts) with one connection per target; the first target
 * is the reference whose answers the others must give.
 */
async function runAnalytic(running: readonly { target: SqlTarget; url: string }[], scale: AnalyticScale, reps: number): Promise<AnalyticRun> {
  const clients = running.map(({ target, url }) => ({ name: target.name, client: new pg.Client({ connectionString: url }) }));
  try {
    for (const { client } of clients) await client.connect();
    const loadMs: Record<string, number> = {};
    let rows: Record<string, number> = {};
    for (const { name, client } of clients) {
      const t = performance.now();
      rows = await loadAnalytic(client, scale);
      loadMs[name] = round(performance.now() - t, 0);
    }
    process.stderr.write(`analytic tables loaded: ${Object.entries(loadMs).map(([name, ms]) => `${name} ${ms} ms`).join(', ')}\n`);
    return { scale, reps, rows, loadMs, results: await runAnalyticQueries(clients, reps, (line) => process.stderr.write(`${line}\n`)) };
  } finally {
    await Promise.allSettled(clients.map(({ client }) => client.end()));
  }
}

type Results = Record<Workload, Record<QueryMode, Record<string, PgbenchResult>>>;

const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;
const mapValues = <T, U>(o: Record<string, T>, f: (v: T) => U): Record<string, U> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
const geomean = (xs: readonly number[]) => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);

/** Shoal TPS ÷ PostgreSQL TPS per workload: the geometric mean over the query modes. */
function ratios(results: Results): Record<Workload, { ratio: number; perMode: Record<QueryMode, number> }> | undefined {
  const ratioOf = (w: Workload, m: QueryMode) => (results[w][m].shoal?.tps ?? Number.NaN) / (results[w][m].postgres?.tps ?? Number.NaN);
  const of = (w: Workload) => {
    const perMode = { simple: ratioOf(w, 'simple'), extended: ratioOf(w, 'extended') };
    return { ratio: geomean(Object.values(perMode)), perMode };
  };
  return results.point_select.simple.shoal ? { point_select: of('point_select'), update: of('update') } : undefined;
}

interface PgbenchPart {
  loadMs: Record<string, number>;
  results: Results;
  tpcbInitMs: Record<string, number>;
  tpcb: Record<QueryMode, Record<string, PgbenchResult>>;
}

/** The pgbench workloads on the accounts table, then pgbench's TPC-B-like run on its own tables, every target in turn. */
async function runPgbenchPart(running: readonly { target: SqlTarget; url: string }[], options: SqlBenchOptions): Promise<PgbenchPart> {
  const loadMs: Record<string, number> = {};
  for (const { target, url } of running) {
    const t = performance.now();
    await loadAccounts(url);
    loadMs[target.name] = round(performance.now() - t, 0);
  }
  const pgbench = (url: string, workload: Workload, mode: QueryMode, seconds: number) =>
    runPgbench({ url, script: WORKLOADS[workload], mode, seconds, clients: options.clients, threads: options.threads });
  if (options.warmupSeconds > 0) for (const { url } of running) await pgbench(url, 'point_select', 'simple', options.warmupSeconds);

  const results: Results = { point_select: { simple: {}, extended: {} }, update: { simple: {}, extended: {} } };
  for (const workload of Object.keys(WORKLOADS) as Workload[]) {
    for (const mode of MODES) {
      for (const { target, url } of running) {
        results[workload][mode][target.name] = await pgbench(url, workload, mode, options.seconds);
      }
    }
  }
  // TPC-B (sort of): pgbench's own tables and its built-in script, run as pgbench runs it by default. Every
  // transaction updates the one branch row, so concurrent ones conflict: Shoal's optimistic transactions fail
  // them with 40001 (pgbench counts them as failed) where PostgreSQL's row locks make them wait.
  const tpcbInitMs: Record<string, number> = {};
  for (const { target, url } of running) tpcbInitMs[target.name] = round(await runPgbenchInit(url, TPCB_SCALE), 0);
  const tpcb: Record<QueryMode, Record<string, PgbenchResult>> = { simple: {}, extended: {} };
  for (const mode of MODES) {
    for (const { target, url } of running) {
      tpcb[mode][target.name] = await runBuiltin({ url, builtin: 'tpcb-like', mode, seconds: options.seconds, clients: options.clients, threads: options.threads });
    }
  }
  return { loadMs, results, tpcbInitMs, tpcb };
}

/**
 * Starts every target, loads the same accounts table into each, runs the
 * workloads, then the analytic queries (unless `only` names one part), and
 * prints the table and the headline lines; writes the JSON report to
 * `options.out`. Targets are stopped at the end, on failure, and on
 * SIGINT / SIGTERM.
 */
export async function runSqlBench(targets: readonly SqlTarget[], options: SqlBenchOptions): Promise<void> {
  if (new Set(targets.map((t) => t.name)).size !== targets.length) throw new Error('target names must differ');
  const startedAt = new Date();
  const t0 = performance.now();
  const running: { target: SqlTarget; url: string; stop(): Promise<void> }[] = [];
  const cleanup = () => Promise.allSettled(running.splice(0).map((r) => r.stop()));
  const onSignal = (signal: NodeJS.Signals) => {
    void cleanup().finally(() => process.kill(process.pid, signal));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // One after the other, so that a failure leaves nothing started but unrecorded (and so unstopped).
    for (const target of targets) running.push({ target, ...(await target.start()) });
    const oltp = options.only === 'analytic' ? undefined : await runPgbenchPart(running, options);
    const analytic = await runAnalytic(running, options.analyticScale ?? BENCH_SCALE, options.analyticReps ?? 5);
    await cleanup();
    const headline = oltp && ratios(oltp.results);
    const tpcbPerMode = oltp && {
      simple: (oltp.tpcb.simple.shoal?.tps ?? Number.NaN) / (oltp.tpcb.simple.postgres?.tps ?? Number.NaN),
      extended: (oltp.tpcb.extended.shoal?.tps ?? Number.NaN) / (oltp.tpcb.extended.postgres?.tps ?? Number.NaN),
    };
    const tpcbRatio = tpcbPerMode && geomean(Object.values(tpcbPerMode));
    const analyticRatios = analytic.results.q1?.medianMs.shoal === undefined ? undefined : analyticRatio(analytic.results);
    const totalMs = performance.now() - t0;

    const report = {
      bench: 'sql',
      timestamp: startedAt.toISOString(),
      machine: machineInfo(),
      parameters: {
        targets: targets.map((t) => t.name),
        ...(options.only && { only: options.only }),
        seconds: options.seconds,
        warmupSeconds: options.warmupSeconds,
        clients: options.clients ?? 8,
        threads: options.threads ?? 2,
        rows: ACCOUNT_ROWS,
        pgbench: `pgbench -n -f <script> -c ${options.clients ?? 8} -j ${options.threads ?? 2} -T ${options.seconds} -M simple|extended <url>`,
        scripts: WORKLOADS,
        schedule: 'for each workload, for each query mode: every target in turn (one run each)',
        tpcb: `pgbench -i -s ${TPCB_SCALE}, then pgbench -b tpcb-like -c ${options.clients ?? 8} -j ${options.threads ?? 2} -T ${options.seconds} -M simple|extended <url>`,
        analytic: {
          scale: analytic.scale,
          rows: analytic.rows,
          reps: analytic.reps,
          schedule: 'each query: its answer on every target checked against the first target\'s, then reps runs per target, targets alternating; median per target',
          queries: Object.fromEntries(ANALYTIC_QUERIES.map((q) => [q.name, q.sql])),
        },
      },
      ...(oltp && {
        setupMs: oltp.loadMs,
        tpcbInitMs: oltp.tpcbInitMs,
        results: mapValues(oltp.results, (byMode) =>
          mapValues(byMode, (byTarget) =>
            mapValues(byTarget, (r) => ({
              tps: round(r.tps, 1),
              latencyAvgMs: round(r.latencyAvgMs, 3),
              transactions: r.transactions,
              failedTransactions: r.failedTransactions,
            })),
          ),
        ),
        tpcbResults: mapValues(oltp.tpcb, (byTarget) =>
          mapValues(byTarget, (r) => ({ tps: round(r.tps, 1), latencyAvgMs: round(r.latencyAvgMs, 3), transactions: r.transactions, failedTransactions: r.failedTransactions })),
        ),
      }),
      analyticLoadMs: analytic.loadMs,
      analyticResults: mapValues(analytic.results, (r) => ({
        rows: r.rows,
        medianMs: mapValues(r.medianMs, (ms) => round(ms, 2)),
        runsMs: mapValues(r.runsMs, (runs) => runs.map((ms) => round(ms, 2))),
      })),
      ratios: {
        ...(headline &&
          tpcbPerMode &&
          tpcbRatio !== undefined && {
            sql_vs_postgres_point_select_ratio: round(headline.point_select.ratio),
            sql_vs_postgres_update_ratio: round(headline.update.ratio),
            sql_vs_postgres_tpcb_ratio: round(tpcbRatio),
          }),
        ...(analyticRatios && { sql_vs_postgres_analytic_ratio: round(analyticRatios.ratio) }),
        perMode: {
          ...(headline &&
            tpcbPerMode && {
              point_select: { simple: round(headline.point_select.perMode.simple), extended: round(headline.point_select.perMode.extended) },
              update: { simple: round(headline.update.perMode.simple), extended: round(headline.update.perMode.extended) },
              tpcb: { simple: round(tpcbPerMode.simple), extended: round(tpcbPerMode.extended) },
            }),
        },
        ...(analyticRatios && { analyticPerQuery: mapValues(analyticRatios.perQuery, (x) => round(x)) }),
      },
      totalMs: round(totalMs, 0),
    };
    mkdirSync(dirname(options.out), { recursive: true });
    writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);

    const lines = [`sql bench: ${report.machine.cpus} CPUs, node ${process.version}`];
    if (oltp) {
      lines.push(
        `pgbench -c ${report.parameters.clients} -j ${report.parameters.threads}, ${options.seconds} s per run, ${ACCOUNT_ROWS} accounts`,
        `${'workload'.padEnd(14)}${'mode'.padEnd(10)}${'target'.padEnd(10)}${'tps'.padStart(10)}${'latency ms'.padStart(12)}${'failed'.padStart(8)}`,
      );
      const row = (workload: string, mode: QueryMode, name: string, r: PgbenchResult | undefined) =>
        `${workload.padEnd(14)}${mode.padEnd(10)}${name.padEnd(10)}${(r?.tps ?? 0).toFixed(0).padStart(10)}` +
        `${(r?.latencyAvgMs ?? 0).toFixed(3).padStart(12)}${String(r?.failedTransactions ?? 0).padStart(8)}`;
      for (const workload of Object.keys(WORKLOADS) as Workload[]) {
        for (const mode of MODES) for (const { name } of targets) lines.push(row(workload, mode, name, oltp.results[workload][mode][name]));
      }
      for (const mode of MODES) for (const { name } of targets) lines.push(row('tpcb_like', mode, name, oltp.tpcb[mode][name]));
    }
    lines.push(
      `analytic: ${analytic.rows.lineitem ?? 0} lineitems, ${analytic.rows.orders ?? 0} orders; median of ${analytic.reps} runs per query and target` +
        ` (load ${Object.entries(analytic.loadMs).map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)} s`).join(', ')})`,
      `${'query'.padEnd(8)}${'rows'.padStart(6)}${targets.map(({ name }) => `${name} ms`.padStart(14)).join('')}${analyticRatios ? 'pg/shoal'.padStart(10) : ''}`,
    );
    for (const [query, r] of Object.entries(analytic.results)) {
      const ratio = analyticRatios?.perQuery[query];
      lines.push(
        `${query.padEnd(8)}${String(r.rows).padStart(6)}${targets.map(({ name }) => (r.medianMs[name] ?? 0).toFixed(1).padStart(14)).join('')}` +
          `${ratio === undefined ? '' : ratio.toFixed(3).padStart(10)}`,
      );
    }
    lines.push(`results written to ${options.out} (${(totalMs / 1000).toFixed(1)} s)`);
    if (oltp) {
      for (const workload of Object.keys(WORKLOADS) as Workload[]) {
        for (const mode of MODES) {
          for (const { name } of targets) lines.push(`sql_${name}_${workload}_${mode}_tps=${(oltp.results[workload][mode][name]?.tps ?? 0).toFixed(0)}`);
        }
      }
      for (const mode of MODES) for (const { name } of targets) lines.push(`sql_${name}_tpcb_like_${mode}_tps=${(oltp.tpcb[mode][name]?.tps ?? 0).toFixed(0)}`);
    }
    // The last lines, always, when Shoal runs: the headline figures, each Shoal ÷ PostgreSQL (higher is better for Shoal).
    if (headline && tpcbRatio !== undefined) {
      lines.push(
        `sql_vs_postgres_point_select_ratio=${headline.point_select.ratio.toFixed(2)}`,
        `sql_vs_postgres_update_ratio=${headline.update.ratio.toFixed(2)}`,
        // TPC-B-like throughput ratio (geometric mean over the query modes).
        `sql_vs_postgres_tpcb_ratio=${tpcbRatio.toFixed(2)}`,
      );
    }
    // PostgreSQL ms ÷ Shoal ms per analytic query, geometric mean over the queries: the last line.
    if (analyticRatios) lines.push(`sql_vs_postgres_analytic_ratio=${analyticRatios.ratio.toFixed(3)}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}


async function main(): Promise<void> {
  const { values: flags } = parseArgs({
    options: {
      seconds: { type: 'string', default: process.env.SHOAL_BENCH_SECONDS ?? '10' },
      'warmup-seconds': { type: 'string', default: '2' },
      out: { type: 'string' },
      // `analytic`: only the TPC-H-like queries (their report goes to bench/results/sql-analytic.json unless --out says).
      only: { type: 'string' },
      'analytic-orders': { type: 'string', default: String(BENCH_SCALE.orders) },
      'analytic-reps': { type: 'string', default: '5' },
      // Directory for a V8 CPU profile of the SQL pod (written when the bench stops it).
      'profile-sqlpod': { type: 'string' },
    },
    strict: true,
  });
  if (flags.only !== undefined && flags.only !== 'analytic') throw new Error(`--only must be analytic; got ${flags.only}`);
  const only = flags.only;
  // PostgreSQL first: the analytic part checks every target's answers against the first target's.
  await runSqlBench([postgresTarget(), shoalTarget(flags['profile-sqlpod'])], {
    seconds: wholeNumber('seconds', flags.seconds, 1, 'seconds'),
    warmupSeconds: wholeNumber('warmup-seconds', flags['warmup-seconds'], 0, 'seconds'),
    out: flags.out ?? join(repoRoot, 'bench', 'results', only ? 'sql-analytic.json' : 'sql.json'),
    only,
    analyticScale: { orders: wholeNumber('analytic-orders', flags['analytic-orders'], 1, 'orders') },
    analyticReps: wholeNumber('analytic-reps', flags['analytic-reps'], 1, 'runs'),
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    // Everything is stopped; do not let a stray handle keep the process alive.
    () => setTimeout(() => process.exit(0), 2000).unref(),
    (err: unknown) => {
      process.stderr.write(`bench-sql failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
