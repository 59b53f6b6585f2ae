// make bench-cluster: how long the local Kubernetes cluster and the image take
// to come up, and how big the image is. Warm figures are measured in this run
// (binaries and image layers cached): cluster-up after cluster-down, and
// `make images` with nothing changed. Cold figures are measured with --cold
// (a fresh Go build cache and no cached binaries: 10–20 minutes here), else
// taken from the per-component build log the cluster build keeps
// (state/cluster/build-timings.txt) and reported as recorded.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { round } from '../kv/stats.js';
import { machineInfo } from '../machine.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function timed(what: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  process.stderr.write(`  ${what}: make ${args.join(' ')}\n`);
  const started = performance.now();
  const r = spawnSync('make', args, { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`make ${args.join(' ')} failed (exit ${r.status})`);
  return round((performance.now() - started) / 1000, 1);
}

/** The last recorded build time of each component, from cluster/build.sh's log. */
function recordedBuildSeconds(): Record<string, number> {
  const file = join(repoRoot, 'state', 'cluster', 'build-timings.txt');
  if (!existsSync(file)) return {};
  const out: Record<string, number> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\S+ (\S+) (\d+)s$/.exec(line.trim());
    if (m?.[1] && m[2]) out[m[1]] = Number(m[2]);
  }
  return out;
}

function imageSizeMb(engine: string, image: string): number | undefined {
  try {
    const bytes = Number(execFileSync(engine, ['image', 'inspect', '--format', '{{.Size}}', image], { encoding: 'utf8' }).trim());
    return Number.isFinite(bytes) ? round(bytes / 1e6, 1) : undefined;
  } catch {
    return undefined;
  }
}

function main(): void {
  const { values } = parseArgs({ options: { cold: { type: 'boolean', default: false }, out: { type: 'string', default: join(repoRoot, 'bench/results/cluster.json') } } });
  const loadAtStart = loadavg();
  const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
  const image = `localhost/shoal/shoal:${version}`;
  const engine = spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0 ? 'docker' : 'podman';

  let cold: { clusterBuildS: number; clusterUpS: number } | undefined;
  if (values.cold) {
    const gocache = mkdtempSync(join(tmpdir(), 'shoal-gocache-'));
    rmSync(join(repoRoot, 'state', 'cluster', 'bin'), { recursive: true, force: true });
    timed('down', ['cluster-down']);
    const env = { ...process.env, GOCACHE: gocache };
    cold = { clusterBuildS: timed('cold build', ['cluster-build'], env), clusterUpS: timed('cold up', ['cluster-up'], env) };
    rmSync(gocache, { recursive: true, force: true });
  }
  timed('down', ['cluster-down']);
  const upWarm = timed('warm up', ['cluster-up']);
  const upAgain = timed('up again (already running)', ['cluster-up']);
  const down = timed('down', ['cluster-down']);
  const imagesWarm = timed('images, nothing changed', ['images']);
  const shoalMb = imageSizeMb(engine, image);
  const baseMb = imageSizeMb(engine, 'docker.io/library/node:24-bookworm-slim');
  const recorded = recordedBuildSeconds();
  const recordedTotal = Object.values(recorded).reduce((a, b) => a + b, 0);

  const report = {
    benchmark: 'cluster',
    machine: machineInfo(loadAtStart),
    clusterUpWarmS: upWarm,
    clusterUpWhenRunningS: upAgain,
    clusterDownS: down,
    imagesWarmS: imagesWarm,
    imageMb: { [image]: shoalMb ?? null, 'docker.io/library/node:24-bookworm-slim': baseMb ?? null },
    cold: cold ?? null,
    recordedBuildSeconds: recorded,
  };
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(
    [
      `cluster-up after cluster-down (binaries cached): ${upWarm} s; when already up: ${upAgain} s; cluster-down: ${down} s`,
      `make images with nothing changed: ${imagesWarm} s (${engine})`,
      `image sizes: ${image} ${shoalMb ?? '?'} MB (base node:24-bookworm-slim ${baseMb ?? '?'} MB, included)`,
      cold
        ? `cold: Go builds ${cold.clusterBuildS} s, then cluster-up ${cold.clusterUpS} s`
        : `cold Go builds as last recorded (state/cluster/build-timings.txt): ${recordedTotal} s in all (${Object.entries(recorded).map(([k, v]) => `${k} ${v}s`).join(', ') || 'none recorded'}); --cold measures them`,
      `results written to ${values.out}`,
      `cluster_up_warm_s=${upWarm}`,
      `images_total_mb=${shoalMb ?? 'unknown'}`,
      '',
    ].join('\n'),
  );
}

try {
  main();
} catch (err) {
  process.stderr.write(`bench-cluster: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
