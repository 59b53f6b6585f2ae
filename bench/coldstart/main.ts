// make bench-coldstart: how long a client of a suspended tenant waits, on the
// demo's host cluster (kvpod, proxy, SQL pod processes, local orchestrator:
// exactly what `make demo` runs). Each round suspends the tenant, waits for a
// full warm pool, then times connect-through-the-proxy → first row, and right
// after, a warm connection to the now-running tenant: the same path without
// the resume, side by side. The breakdown comes from the orchestrator's
// events on the same clock:
//   wait        client connects → the proxy asks for a resume (TLS, startup, routing)
//   pluck       choosing the pool pod and marking it the tenant's
//   stamp       the stamp call, until the pod serves SQL
//   schedule    the rest between the resume ask and the running pod (reconcile queueing)
//   sql ready   pod running → the client is authenticated (proxy dials the pod, TLS, SCRAM relayed)
//   first query the client's first query → its first row
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { demoSettingsSchema } from '../../demo/config.js';
import { startHost, type Host } from '../../demo/host.js';
import type { OrchestratorEvent } from '../../demo/orchestrator/index.js';
import { percentile, round } from '../kv/stats.js';
import { machineInfo, wholeNumber } from '../machine.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TENANT = 'cold';
const PARTS = ['wait', 'pluck', 'stamp', 'schedule', 'sqlReady', 'firstQuery'] as const;
type Part = (typeof PARTS)[number];

interface Round {
  coldMs: number;
  warmMs: number;
  parts: Record<Part, number>;
}

async function connectAndQuery(host: Host, ca: string): Promise<{ connectedAt: number; rowAt: number; startedAt: number }> {
  const [h, p] = host.proxyAddress.split(':');
  const client = new pg.Client({
    host: h,
    port: Number(p),
    user: host.credentials.tenantAdmin.username,
    password: host.credentials.tenantAdmin.password,
    database: 'defaultdb',
    ssl: { ca },
    options: `--cluster=${TENANT}`,
  });
  const startedAt = performance.now();
  await client.connect();
  const connectedAt = performance.now();
  await client.query('SELECT 1');
  const rowAt = performance.now();
  await client.end();
  return { startedAt, connectedAt, rowAt };
}

async function suspend(host: Host): Promise<void> {
  await host.orchestrator.scale(TENANT, 0);
  const deadline = Date.now() + 30_000;
  while (host.orchestrator.podsOfTenant(TENANT).length > 0) {
    if (Date.now() > deadline) throw new Error(`tenant ${TENANT} still has pods 30 s after its suspension`);
    await new Promise((r) => setTimeout(r, 10));
  }
  // A full pool, and the new pods done compiling, so the round measures the resume alone.
  await host.orchestrator.waitForPool(120_000);
  await new Promise((r) => setTimeout(r, 300));
}

function summary(values: readonly number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: round(percentile(sorted, 50), 2), p90: round(percentile(sorted, 90), 2), p99: round(percentile(sorted, 99), 2), max: round(sorted[sorted.length - 1] ?? 0, 2) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '50' }, 'keep-data': { type: 'boolean', default: false }, out: { type: 'string', default: join(repoRoot, 'bench/results/coldstart.json') } } });
  const rounds = wholeNumber('rounds', values.rounds, 1, 'resumes');
  const loadAtStart = loadavg();
  const dataDir = mkdtempSync(join(tmpdir(), 'shoal-coldstart-'));
  const events: OrchestratorEvent[] = [];
  const host = await startHost(
    demoSettingsSchema.parse({ dataDir, listen: '127.0.0.1:0', tenants: TENANT, poolSize: '2', idleTimeout: '0', sampleInterval: '60s', logLevel: 'warn' }),
    { step: (m) => process.stderr.write(`  ${m}\n`), event: (e) => events.push(e) },
  );
  const ca = readFileSync(host.certs.caPath, 'utf8');
  const results: Round[] = [];
  try {
    // The tenant's first resume creates its catalog: not a cold start of an existing tenant.
    await connectAndQuery(host, ca);
    for (let i = 0; i < rounds; i++) {
      await suspend(host);
      events.length = 0;
      const cold = await connectAndQuery(host, ca);
      const warm = await connectAndQuery(host, ca);
      const asked = events.find((e) => e.kind === 'scaled' && e.rule === 'resume');
      const bound = events.find((e) => e.kind === 'bound');
      if (asked?.kind !== 'scaled' || bound?.kind !== 'bound') throw new Error(`round ${i + 1}: no resume and bind events: ${JSON.stringify(events)}`);
      const parts: Record<Part, number> = {
        wait: asked.at - cold.startedAt,
        pluck: bound.pluckMs,
        stamp: bound.stampMs,
        schedule: bound.at - asked.at - bound.pluckMs - bound.stampMs,
        sqlReady: cold.connectedAt - bound.at,
        firstQuery: cold.rowAt - cold.connectedAt,
      };
      results.push({ coldMs: cold.rowAt - cold.startedAt, warmMs: warm.rowAt - warm.startedAt, parts });
      process.stderr.write(`  round ${i + 1}/${rounds}: cold ${results[i]?.coldMs.toFixed(1)} ms, warm ${results[i]?.warmMs.toFixed(1)} ms\n`);
    }
  } finally {
    await host.stop(1000);
    if (values['keep-data']) process.stderr.write(`  data and logs kept in ${dataDir}\n`);
    else rmSync(dataDir, { recursive: true, force: true });
  }

  const cold = summary(results.map((r) => r.coldMs));
  const warm = summary(results.map((r) => r.warmMs));
  const breakdown = Object.fromEntries(PARTS.map((part) => [part, summary(results.map((r) => r.parts[part]))]));
  const report = {
    benchmark: 'coldstart',
    description: 'resume of a suspended demo tenant: connect through the proxy → first row (node-postgres, TLS, SCRAM), beside a warm connection to the running tenant',
    machine: machineInfo(loadAtStart),
    rounds,
    coldMs: cold,
    warmMs: warm,
    coldOverWarmP50: round(cold.p50 / warm.p50, 2),
    breakdownMs: breakdown,
  };
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);

  const row = (name: string, s: ReturnType<typeof summary>) => `  ${name.padEnd(12)} p50 ${s.p50.toFixed(1).padStart(7)}  p90 ${s.p90.toFixed(1).padStart(7)}  p99 ${s.p99.toFixed(1).padStart(7)}  max ${s.max.toFixed(1).padStart(7)} ms`;
  process.stdout.write(`cold start, ${rounds} resumes (connect → first row):\n${row('cold', cold)}\n${row('warm', warm)}\nbreakdown of the cold start:\n`);
  for (const part of PARTS) process.stdout.write(`${row(part, breakdown[part] ?? summary([0]))}\n`);
  process.stdout.write(`results written to ${values.out}\n`);
  process.stdout.write(`coldstart_over_warm_p50=${report.coldOverWarmP50}\ncoldstart_p50_ms=${cold.p50}\ncoldstart_p99_ms=${cold.p99}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench-coldstart: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
