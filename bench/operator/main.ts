// make bench-operator: the Kubernetes operator at scale, and resumes through
// the proxy in Kubernetes mode. There is no full cluster here, so it runs the
// way the integration tests do: a real kube-apiserver v1.33 + etcd
// (startTestApiServer: no kubelet, scheduler or controller-manager), a real
// kvpod process, the real operator binary, the real proxy binary in Kubernetes
// mode and real SQL pod processes; the bench plays the ReplicaSet controller
// and the kubelet for the SQL pod pool (pool.ts).
//
//   1. Creates --tenants CrdbTenants (spec {}: scaled to zero), 32 requests at
//      a time, and times the first create → every one Ready=True (seen through
//      a watch). The operator's resident memory before and after, per tenant.
//   2. Starts --resumes pool pods (8 at a time), lets the machine go quiet.
//   3. First resume: connects to --resumes of those tenants at once through the
//      proxy (node-postgres, TLS, SCRAM) and times connect → first row of
//      SELECT 1; each proxy connection asks for the resume (scale 0 → 1), the
//      operator plucks and stamps a pool pod (the tenant's first stamp creates
//      its catalog). Right after, a warm connection to each, again all at once.
//   4. Suspends the same tenants (replicas 0: the operator drains, the pods end,
//      the operator deletes them), starts a fresh pool, and resumes them again:
//      the resume of a suspended tenant that has run before (what
//      bench-coldstart measures on the demo host), with warm connections after.
// The headline cold start is step 3's (those are the 1,000 tenants as created,
// scaled to zero); step 4's is beside it. The bench's own watches (CrdbTenants
// and SQL pods, on the clients' clock) split each cold start into BREAKDOWN's
// parts. Flags for investigation: --operator-concurrency N (SHOAL_CONCURRENCY;
// default: the operator's own, 4), --create-concurrency, --pool-parallel,
// --skip-repeat (no step 4), --keep-logs, --profile DIR (V8 CPU profiles of the
// operator and the proxy; the figures are then not comparable), --out FILE.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { load as loadYaml } from 'js-yaml';
import pg from 'pg';
import { z } from 'zod';
import { createTestCerts, type TestCerts } from '../../kvpod/testing/fixtures.js';
import { spawnPod as spawnKvpod, stopPod as stopKvpod, whenServing, type Pod as KvpodProcess } from '../../kvpod/testing/process.js';
import { readTenantSecret, secretSchema, tenantSecretName } from '../../operator/tenants/secret.js';
import { issueCert } from '../../shared/certs/index.js';
import { KubeApi, objectMetaSchema } from '../../shared/kube/api.js';
import { crdbTenantPath, crdbTenantsPath } from '../../shared/kube/crdbtenant.js';
import { Reflector } from '../../shared/kube/reflector.js';
import { COMPONENT_LABEL, STATE_LABEL, TENANT_LABEL, sqlPodSchema } from '../../shared/kube/sqlpod.js';
import { freePort } from '../../shared/net/index.js';
import { startTestApiServer, type TestApiServer } from '../../shared/testing/kube-apiserver.js';
import { machineCpuSeconds, ownCpuSeconds, processCpuSeconds } from '../kv/cpu.js';
import { percentile, round } from '../kv/stats.js';
import { machineInfo, wholeNumber } from '../machine.js';
import { PoolHarness } from './pool.js';
import { childPids, rssBytes, spawnLogged, tail, waitHttpOk, type Child } from './procs.js';
import { counterDelta, histogramDelta, sample, scrape, type Scrape } from './prom.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NS = 'shoal';
const HARNESS =
  'real kube-apiserver v1.33 + etcd (startTestApiServer; no kubelet, scheduler or controller-manager), real kvpod process, real operator binary (operator/main.ts), ' +
  'real proxy binary in Kubernetes mode (proxy/main.ts), real SQL pod processes (sqlpod/main.ts); the bench plays the ReplicaSet controller and the kubelet for the pool: ' +
  'it starts the SQL pod processes, creates their Pod objects and writes their status (podIP 127.0.0.1, Ready once /load says unbound), stops a process when its Pod is deleted, ' +
  'and reports a bound pod whose process ended as a container restart';

const BREAKDOWN = {
  askResume: 'the client starts connecting → the bench sees spec.replicas ≥ 1 (TLS to the proxy, startup, routing, the proxy\'s GET + PUT of the scale subresource, the watch)',
  schedule: 'replicas ≥ 1 seen → the bench sees a pod labelled for the tenant (the operator\'s watch and work queue, the reconcile up to the pluck patch)',
  stamp: 'plucked → the bench sees the pod labelled running (the stamp over mutual TLS, then the label patch)',
  route: 'running seen → the client is authenticated (the proxy\'s watch, dialing the pod, TLS, SCRAM relayed)',
  firstQuery: 'the first query → its first row',
} as const;

const progress = (m: string) => process.stderr.write(`  ${m}\n`);

const tenantViewSchema = z.object({
  metadata: objectMetaSchema,
  spec: z.object({ replicas: z.number().optional() }).optional(),
  status: z.object({ tenantId: z.number().optional(), state: z.string().optional(), conditions: z.array(z.object({ type: z.string(), status: z.string() })).optional() }).optional(),
});
type TenantView = z.infer<typeof tenantViewSchema>;
const isReady = (t: TenantView) => t.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** What the bench sees through its own watches, on its own clock (performance.now()). */
class Observer {
  readonly readyAt = new Map<string, number>();
  /** Per round: the tenant's replicas seen ≥ 1, its first pod seen plucked (stamping), its first pod seen running. */
  scaledAt = new Map<string, number>();
  pluckedAt = new Map<string, number>();
  runningAt = new Map<string, number>();
  readonly tenants: Reflector<TenantView>;
  readonly pods: Reflector<z.infer<typeof sqlPodSchema>>;

  constructor(api: KubeApi, pool: PoolHarness) {
    this.tenants = new Reflector({
      api,
      path: crdbTenantsPath(NS),
      item: tenantViewSchema,
      onEvent: (e) => {
        if (e.type === 'deleted') return;
        const now = performance.now();
        const name = e.object.metadata.name;
        if (!this.readyAt.has(name) && isReady(e.object)) this.readyAt.set(name, now);
        if ((e.object.spec?.replicas ?? 0) >= 1 && !this.scaledAt.has(name)) this.scaledAt.set(name, now);
      },
      onError: (err) => progress(`bench: crdbtenants watch failed: ${err instanceof Error ? err.message : String(err)}`),
    });
    this.pods = new Reflector({
      api,
      path: `/api/v1/namespaces/${NS}/pods`,
      item: sqlPodSchema,
      labelSelector: `${COMPONENT_LABEL}=sqlpod`,
      onEvent: (e) => {
        if (e.type === 'deleted') {
          pool.podDeleted(e.object.metadata.name);
          return;
        }
        const now = performance.now();
        const tenant = e.object.metadata.labels?.[TENANT_LABEL];
        const state = e.object.metadata.labels?.[STATE_LABEL];
        if (!tenant) return;
        if (!this.pluckedAt.has(tenant)) this.pluckedAt.set(tenant, now);
        if (state === 'running' && !this.runningAt.has(tenant)) this.runningAt.set(tenant, now);
      },
      onError: (err) => progress(`bench: pods watch failed: ${err instanceof Error ? err.message : String(err)}`),
    });
  }

  beginRound(): void {
    this.scaledAt = new Map();
    this.pluckedAt = new Map();
    this.runningAt = new Map();
  }

  podsOf(tenant: string): number {
    return this.pods.list().filter((p) => p.metadata.labels?.[TENANT_LABEL] === tenant).length;
  }

  stop(): Promise<void> {
    return Promise.all([this.tenants.stop(), this.pods.stop()]).then(() => undefined);
  }
}

interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

function summary(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : Number.NaN;
  return { n: sorted.length, p50: round(percentile(sorted, 50), 1), p90: round(percentile(sorted, 90), 1), p99: round(percentile(sorted, 99), 1), max: round(sorted[sorted.length - 1] ?? Number.NaN, 1), mean: round(mean, 1) };
}

interface TenantLogin {
  name: string;
  username: string;
  password: string;
  ca: string;
}

interface Timed {
  startedAt: number;
  connectedAt: number;
  rowAt: number;
}

async function connectAndQuery(proxyPort: number, t: TenantLogin): Promise<Timed> {
  const client = new pg.Client({ host: '127.0.0.1', port: proxyPort, user: t.username, password: t.password, database: 'defaultdb', ssl: { ca: t.ca }, options: `--cluster=${t.name}`, connectionTimeoutMillis: 60_000 });
  client.on('error', () => undefined);
  const startedAt = performance.now();
  try {
    await client.connect();
  } catch (err) {
    // Refused: hang up without end(), whose Terminate message the proxy never reads after a refusal, so that
    // it would keep its side of the connection open (and its shutdown would wait out its whole grace).
    client.connection.stream.destroy();
    throw err;
  }
  try {
    const connectedAt = performance.now();
    await client.query('SELECT 1');
    const rowAt = performance.now();
    return { startedAt, connectedAt, rowAt };
  } finally {
    await client.end().catch(() => undefined);
  }
}

type CpuRoles = 'bench' | 'operator' | 'proxy' | 'kvpod' | 'kubeApiserver' | 'etcd' | 'sqlPods';
type CpuSample = Record<CpuRoles | 'machineBusy' | 'machineTotal', number>;

interface Processes {
  operator?: Child;
  proxy?: Child;
  kvpod?: KvpodProcess;
  apiserver: number[];
  etcd: number[];
  pool?: PoolHarness;
}

function sampleCpu(p: Processes): CpuSample {
  const sum = (pids: readonly (number | undefined)[]) => pids.reduce<number>((n, pid) => n + (processCpuSeconds(pid) ?? 0), 0);
  const m = machineCpuSeconds();
  return {
    bench: ownCpuSeconds(),
    operator: sum([p.operator?.pid]),
    proxy: sum([p.proxy?.pid]),
    kvpod: sum([p.kvpod?.child.pid]),
    kubeApiserver: sum(p.apiserver),
    etcd: sum(p.etcd),
    sqlPods: sum(p.pool?.pids ?? []),
    machineBusy: m?.busy ?? 0,
    machineTotal: m?.total ?? 0,
  };
}

/** CPU seconds per role between two samples; `other` is the rest of the machine. sqlPods counts pods alive at both ends only approximately. */
function cpuDelta(a: CpuSample, b: CpuSample): Record<string, number> {
  const roles: CpuRoles[] = ['bench', 'operator', 'proxy', 'kvpod', 'kubeApiserver', 'etcd', 'sqlPods'];
  const out: Record<string, number> = {};
  let ours = 0;
  for (const r of roles) {
    const d = Math.max(0, b[r] - a[r]);
    out[r] = round(d, 2);
    ours += d;
  }
  const busy = b.machineBusy - a.machineBusy;
  out.machineBusy = round(busy, 2);
  out.other = round(Math.max(0, busy - ours), 2);
  return out;
}

interface RoundResult {
  label: string;
  description: string;
  tenants: string[];
  cold: Summary;
  warm: Summary;
  coldOverWarmP50: number;
  failures: { cold: string[]; warm: string[] };
  /** From the bench's watches, on the same clock as the clients. */
  breakdownMs: Record<string, Summary>;
  operator: { resumeSeconds: ReturnType<typeof histogramDelta>; stampSeconds: ReturnType<typeof histogramDelta>; reconcileSeconds: ReturnType<typeof histogramDelta>; reconciles: Record<string, number>; stamps: Record<string, number> };
  /** The proxy's own view (its /metrics), cold and warm connections together. */
  proxy: { resumeSeconds: ReturnType<typeof histogramDelta>; dialSeconds: ReturnType<typeof histogramDelta> };
  cpuSeconds: Record<string, number>;
  wallMs: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      tenants: { type: 'string', default: '1000' },
      resumes: { type: 'string', default: '50' },
      'create-concurrency': { type: 'string', default: '32' },
      'operator-concurrency': { type: 'string' },
      'pool-parallel': { type: 'string', default: '8' },
      'ready-timeout': { type: 'string', default: '1200' },
      'skip-repeat': { type: 'boolean', default: false },
      'keep-logs': { type: 'boolean', default: false },
      profile: { type: 'string' },
      out: { type: 'string', default: join(repoRoot, 'bench/results/operator.json') },
    },
  });
  const tenantCount = wholeNumber('tenants', values.tenants, 1, 'tenants');
  const resumes = wholeNumber('resumes', values.resumes, 1, 'tenants');
  if (resumes > tenantCount) throw new Error(`--resumes (${resumes}) must not exceed --tenants (${tenantCount})`);
  const createConcurrency = wholeNumber('create-concurrency', values['create-concurrency'], 1, 'requests');
  const operatorConcurrency = values['operator-concurrency'] === undefined ? undefined : wholeNumber('operator-concurrency', values['operator-concurrency'], 1, 'tenants');
  const poolParallel = wholeNumber('pool-parallel', values['pool-parallel'], 1, 'pods');
  const readyTimeoutS = wholeNumber('ready-timeout', values['ready-timeout'], 1, 'seconds');
  const loadAtStart = loadavg();
  // V8 CPU profiles of the operator and the proxy (written when the bench stops them); the figures are then not comparable.
  const profileArgs = (name: string) => (values.profile === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', resolve(values.profile, name)]);

  const dir = mkdtempSync(join(tmpdir(), 'shoal-bench-operator-'));
  mkdirSync(join(dir, 'pods'));
  const procs: Processes = { apiserver: [], etcd: [] };
  let server: TestApiServer | undefined;
  let certs: TestCerts | undefined;
  let observer: Observer | undefined;
  let failed = true;
  let cleaned: Promise<void> | undefined;
  const cleanup = () =>
    (cleaned ??= (async () => {
      const quietly = async (what: string, f: () => Promise<unknown>) => {
        try {
          await f();
        } catch (err) {
          progress(`cleanup: ${what}: ${err instanceof Error ? err.message : String(err)}`);
        }
      };
      await quietly('the bench watches', async () => observer?.stop());
      // It writes its profile while exiting.
      await quietly('the proxy', async () => procs.proxy?.stop(values.profile === undefined ? 3000 : 45_000));
      await quietly('the operator', async () => procs.operator?.stop(5000));
      await quietly('the SQL pods', async () => procs.pool?.stop(2000));
      await quietly('the kvpod', async () => (procs.kvpod ? stopKvpod(procs.kvpod) : undefined));
      await quietly('the API server', async () => server?.stop());
      if (failed) {
        for (const c of [procs.operator, procs.proxy]) if (c) progress(`--- last lines of the ${c.name} log ---\n${tail(c.logFile, 20)}`);
      }
      if (values['keep-logs']) progress(`logs kept in ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
      if (certs) rmSync(certs.dir, { recursive: true, force: true });
    })());
  const onSignal = (signal: NodeJS.Signals) => {
    void cleanup().finally(() => process.kill(process.pid, signal));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    // ---- the cluster's parts -------------------------------------------------
    progress('starting etcd and kube-apiserver');
    server = await startTestApiServer();
    procs.apiserver = childPids('kube-apiserve');
    procs.etcd = childPids('etcd');
    const api = KubeApi.fromKubeconfig(server.kubeconfig);
    await api.create('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', loadYaml(readFileSync(join(repoRoot, 'crds/crdbtenant.yaml'), 'utf8')));
    await api.create('/api/v1/namespaces', { metadata: { name: NS } });
    // No controller-manager to make it: pods need their namespace's default service account.
    await api.create(`/api/v1/namespaces/${NS}/serviceaccounts`, { metadata: { name: 'default' } });
    for (let deadline = Date.now() + 30_000; ; ) {
      if (await api.list(crdbTenantsPath(NS), z.unknown()).then(() => true, () => false)) break;
      if (Date.now() > deadline) throw new Error('the CrdbTenant CRD did not serve within 30 s');
      await sleep(100);
    }

    certs = await createTestCerts();
    const kvCert = certs.write('kvpod', await issueCert(certs.ca, { kind: 'kvpod-server' }));
    const kvPort = await freePort();
    progress('starting the kvpod');
    procs.kvpod = spawnKvpod({ ca: certs.caPath, cert: kvCert.cert, key: kvCert.key, dataDir: join(dir, 'kv'), port: kvPort }, ['--parent-pid', String(process.pid)]);
    await whenServing(procs.kvpod);
    const kvAddress = `127.0.0.1:${kvPort}`;
    // The installation's CA, as a user (or cert-manager) provides it: the kvpod trusts it.
    await api.create(`/api/v1/namespaces/${NS}/secrets`, {
      metadata: { name: 'shoal-ca' },
      data: { 'ca.crt': Buffer.from(certs.ca.certPem).toString('base64'), 'ca.key': Buffer.from(certs.ca.keyPem).toString('base64') },
    });

    progress('starting the operator');
    const operatorOps = `127.0.0.1:${await freePort()}`;
    procs.operator = spawnLogged('operator', process.execPath, [...profileArgs('operator'), '--import', 'tsx', 'operator/main.ts'], {
      cwd: repoRoot,
      logFile: join(dir, 'operator.log'),
      env: {
        ...process.env,
        SHOAL_KUBECONFIG: server.kubeconfig,
        SHOAL_NAMESPACE: NS,
        SHOAL_IDENTITY: 'bench-operator',
        SHOAL_KV_ADDRESSES: kvAddress,
        SHOAL_OPS_LISTEN: operatorOps,
        SHOAL_LEADER_ELECTION: 'false',
        // The autoscaler samples every pod's /load; once a minute keeps it out of the measurements.
        SHOAL_SAMPLE_INTERVAL: '60s',
        ...(operatorConcurrency === undefined ? {} : { SHOAL_CONCURRENCY: String(operatorConcurrency) }),
      },
    });
    await waitHttpOk(`http://${operatorOps}/readyz`, procs.operator, 60_000);
    for (let deadline = Date.now() + 30_000; sample(await scrape(operatorOps), 'shoal_operator_leader') !== 1; ) {
      if (Date.now() > deadline) throw new Error('the operator did not start reconciling within 30 s');
      await sleep(100);
    }

    // The pool's and the proxy's certificates, from the Secrets the operator made (the chart mounts them).
    const secretFiles = async (name: string, prefix: string) => {
      const s = await api.get(`/api/v1/namespaces/${NS}/secrets/${name}`, secretSchema);
      const file = (key: string, suffix: string) => {
        const path = join(dir, `${prefix}.${suffix}`);
        writeFileSync(path, Buffer.from(s.data?.[key] ?? '', 'base64'), { mode: 0o600 });
        return path;
      };
      return { ca: file('ca.crt', 'ca.crt'), cert: file('tls.crt', 'crt'), key: file('tls.key', 'key') };
    };
    const poolCerts = await secretFiles('shoal-pool-certs', 'pool');
    const proxyCerts = await secretFiles('shoal-proxy-certs', 'proxy');

    progress('starting the proxy (Kubernetes mode)');
    const proxyPort = await freePort();
    const proxyOps = `127.0.0.1:${await freePort()}`;
    procs.proxy = spawnLogged(
      'proxy',
      process.execPath,
      [...profileArgs('proxy'), '--import', 'tsx', 'proxy/main.ts', '--listen', `127.0.0.1:${proxyPort}`, '--ops-listen', proxyOps, '--kubeconfig', server.kubeconfig, '--namespace', NS, '--ca-cert', proxyCerts.ca, '--cert', proxyCerts.cert, '--key', proxyCerts.key],
      { cwd: repoRoot, logFile: join(dir, 'proxy.log') },
    );
    await waitHttpOk(`http://${proxyOps}/readyz`, procs.proxy, 60_000);

    const pool = new PoolHarness(api, NS, repoRoot, { caCert: poolCerts.ca, cert: poolCerts.cert, key: poolCerts.key, logDir: join(dir, 'pods') }, progress);
    procs.pool = pool;
    observer = new Observer(api, pool);
    await Promise.all([observer.tenants.waitForSync(30_000), observer.pods.waitForSync(30_000)]);
    const obs = observer;

    // ---- 1. tenants ---------------------------------------------------------------
    await sleep(3000);
    const memBefore = await operatorMemory(procs.operator, operatorOps);
    const scrapeBefore = await scrape(operatorOps);
    const cpu0 = sampleCpu(procs);
    const names = Array.from({ length: tenantCount }, (_, i) => `tenant-${String(i + 1).padStart(String(tenantCount).length, '0')}`);
    const createdAt = new Map<string, number>();
    const createLatencies: number[] = [];
    progress(`creating ${tenantCount} CrdbTenants (spec {}: scaled to zero), ${createConcurrency} requests at a time`);
    const t0 = performance.now();
    let nextCreate = 0;
    const creator = async () => {
      while (nextCreate < names.length) {
        const name = names[nextCreate++] as string;
        const started = performance.now();
        await api.create(crdbTenantsPath(NS), { apiVersion: 'shoal.dev/v1alpha1', kind: 'CrdbTenant', metadata: { name }, spec: {} });
        const done = performance.now();
        createdAt.set(name, done);
        createLatencies.push(done - started);
      }
    };
    const creating = Promise.all(Array.from({ length: Math.min(createConcurrency, tenantCount) }, creator));
    let createsDoneAt: number | undefined;
    void creating.then(() => (createsDoneAt = performance.now()), () => undefined);
    let lastReport = performance.now();
    const readyDeadline = t0 + readyTimeoutS * 1000;
    let createError: Error | undefined;
    creating.catch((err: unknown) => (createError = err instanceof Error ? err : new Error(String(err))));
    while (names.some((n) => !obs.readyAt.has(n))) {
      if (createError !== undefined) throw createError;
      if (!procs.operator.running) throw new Error(`the operator exited:\n${tail(procs.operator.logFile)}`);
      if (performance.now() > readyDeadline) throw new Error(`only ${names.filter((n) => obs.readyAt.has(n)).length} of ${tenantCount} tenants Ready after ${readyTimeoutS} s`);
      if (performance.now() - lastReport > 5000) {
        lastReport = performance.now();
        progress(`${((lastReport - t0) / 1000).toFixed(0)} s: created ${createdAt.size}, Ready ${names.filter((n) => obs.readyAt.has(n)).length}`);
      }
      await sleep(20);
    }
    await creating;
    const allReadyAt = Math.max(...names.map((n) => obs.readyAt.get(n) ?? 0));
    const readyS = (allReadyAt - t0) / 1000;
    const cpu1 = sampleCpu(procs);
    progress(`all ${tenantCount} Ready after ${readyS.toFixed(2)} s`);
    // The watch's word, checked against one list.
    const listed = await api.list(crdbTenantsPath(NS), tenantViewSchema);
    const notReady = listed.items.filter((t) => !isReady(t)).map((t) => t.metadata.name);
    if (listed.items.length !== tenantCount || notReady.length > 0) throw new Error(`the list disagrees with the watch: ${listed.items.length} tenants, not Ready: ${notReady.slice(0, 10).join(', ')}`);
    // The reconciles still queued (each status write is an event) run out before memory is read.
    const settled = await waitQueueSettled(operatorOps, 300_000);
    const settledS = (settled.at - t0) / 1000;
    const scrapeAfterTenants = settled.scrape;
    const cpu2 = sampleCpu(procs);
    await sleep(2000);
    const memAfter = await operatorMemory(procs.operator, operatorOps);
    const readyLatency = summary(names.map((n) => (obs.readyAt.get(n) ?? 0) - (createdAt.get(n) ?? 0)));
    const tenantsPhase = {
      tenants: tenantCount,
      createConcurrency,
      readyS: round(readyS, 2),
      createsDoneS: createsDoneAt === undefined ? null : round((createsDoneAt - t0) / 1000, 2),
      createsPerS: createsDoneAt === undefined ? null : round(tenantCount / ((createsDoneAt - t0) / 1000), 1),
      readyPerS: round(tenantCount / readyS, 1),
      readyAfterS: Object.fromEntries([10, 50, 90, 100].map((p) => [`p${p}`, round((percentile(names.map((n) => (obs.readyAt.get(n) ?? 0) - t0).sort((a, b) => a - b), p)) / 1000, 2)])),
      createRequestMs: summary(createLatencies),
      createdToReadyMs: readyLatency,
      queueSettledS: round(settledS, 2),
      operator: {
        reconciles: counterDelta(scrapeBefore, scrapeAfterTenants, 'shoal_operator_reconcile_total'),
        reconcileErrors: counterDelta(scrapeBefore, scrapeAfterTenants, 'shoal_operator_reconcile_errors_total').total ?? 0,
        reconcileSeconds: histogramDelta(scrapeBefore, scrapeAfterTenants, 'shoal_operator_reconcile_duration_seconds'),
      },
      cpuSecondsUntilReady: cpuDelta(cpu0, cpu1),
      cpuSecondsUntilSettled: cpuDelta(cpu0, cpu2),
      operatorMemory: {
        before: memBefore,
        after: memAfter,
        rssPerTenantKiB: round((memAfter.rssBytes - memBefore.rssBytes) / tenantCount / 1024, 2),
        heapUsedPerTenantKiB: memAfter.heapUsedBytes !== null && memBefore.heapUsedBytes !== null ? round((memAfter.heapUsedBytes - memBefore.heapUsedBytes) / tenantCount / 1024, 2) : null,
        note: 'read from outside without a forced GC: RSS (VmRSS) and V8 heap in use before the first create and after the queue ran out',
      },
    };
    progress(`reconcile queue empty after ${settledS.toFixed(1)} s; operator RSS ${mib(memBefore.rssBytes)} → ${mib(memAfter.rssBytes)} MiB`);

    // ---- 2.–4. resumes ---------------------------------------------------------------
    const step = Math.floor(tenantCount / resumes);
    const chosen = Array.from({ length: resumes }, (_, i) => names[i * step] as string);
    const logins: TenantLogin[] = [];
    for (const name of chosen) {
      const tenantId = obs.tenants.get(`${NS}/${name}`)?.status?.tenantId;
      const secret = await api.get(`/api/v1/namespaces/${NS}/secrets/${tenantSecretName(name)}`, secretSchema);
      const creds = tenantId === undefined ? null : readTenantSecret(secret, tenantId);
      if (!creds) throw new Error(`no credentials in the Secret of tenant ${name}`);
      logins.push({ name, username: creds.username, password: creds.password, ca: creds.caCert });
    }
    // The bench's own client code (pg, TLS) and the proxy's accept path run once before anything is timed.
    for (let i = 0; i < 3; i++) await connectAndQuery(proxyPort, { ...(logins[0] as TenantLogin), name: 'no-such-tenant' }).catch(() => undefined);

    const resumeRound = async (description: string, label: string): Promise<RoundResult> => {
      progress(`${label}: ${resumes} tenants at once, connect through the proxy → first row`);
      obs.beginRound();
      const before = await scrape(operatorOps);
      const proxyBefore = await scrape(proxyOps);
      const c0 = sampleCpu(procs);
      const started = performance.now();
      const cold = await Promise.allSettled(logins.map((t) => connectAndQuery(proxyPort, t)));
      const wallMs = performance.now() - started;
      const c1 = sampleCpu(procs);
      const warm = await Promise.allSettled(logins.map((t) => connectAndQuery(proxyPort, t)));
      await waitQueueSettled(operatorOps, 60_000);
      const after = await scrape(operatorOps);
      const proxyAfter = await scrape(proxyOps);
      const ok = (rs: PromiseSettledResult<Timed>[]) => rs.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const errors = (rs: PromiseSettledResult<Timed>[]) => rs.flatMap((r, i) => (r.status === 'rejected' ? [`${logins[i]?.name}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`] : []));
      const coldS = summary(ok(cold).map((r) => r.rowAt - r.startedAt));
      const warmS = summary(ok(warm).map((r) => r.rowAt - r.startedAt));
      const parts: Record<keyof typeof BREAKDOWN, number[]> = { askResume: [], schedule: [], stamp: [], route: [], firstQuery: [] };
      cold.forEach((r, i) => {
        const name = logins[i]?.name ?? '';
        const scaled = obs.scaledAt.get(name);
        const plucked = obs.pluckedAt.get(name);
        const running = obs.runningAt.get(name);
        if (r.status !== 'fulfilled' || scaled === undefined || plucked === undefined || running === undefined) return;
        parts.askResume.push(scaled - r.value.startedAt);
        parts.schedule.push(plucked - scaled);
        parts.stamp.push(running - plucked);
        parts.route.push(r.value.connectedAt - running);
        parts.firstQuery.push(r.value.rowAt - r.value.connectedAt);
      });
      const result: RoundResult = {
        label,
        description,
        tenants: chosen,
        cold: coldS,
        warm: warmS,
        coldOverWarmP50: round(coldS.p50 / warmS.p50, 2),
        failures: { cold: errors(cold), warm: errors(warm) },
        breakdownMs: Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, summary(v)])),
        operator: {
          resumeSeconds: histogramDelta(before, after, 'shoal_operator_resume_seconds'),
          stampSeconds: histogramDelta(before, after, 'shoal_operator_stamp_seconds'),
          reconcileSeconds: histogramDelta(before, after, 'shoal_operator_reconcile_duration_seconds'),
          reconciles: counterDelta(before, after, 'shoal_operator_reconcile_total'),
          stamps: counterDelta(before, after, 'shoal_operator_stamps_total'),
        },
        proxy: {
          resumeSeconds: histogramDelta(proxyBefore, proxyAfter, 'shoal_proxy_resume_seconds'),
          dialSeconds: histogramDelta(proxyBefore, proxyAfter, 'shoal_proxy_dial_seconds'),
        },
        cpuSeconds: cpuDelta(c0, c1),
        wallMs: round(wallMs, 1),
      };
      progress(`${label}: cold p50 ${coldS.p50} ms, p99 ${coldS.p99} ms; warm p50 ${warmS.p50} ms; failures ${result.failures.cold.length}/${result.failures.warm.length}`);
      for (const f of [...result.failures.cold, ...result.failures.warm].slice(0, 5)) progress(`  failed: ${f}`);
      return result;
    };
    const rounds: RoundResult[] = [];
    const fillPool = async () => {
      progress(`starting ${resumes} pool SQL pods, ${poolParallel} at a time (the bench as ReplicaSet controller and kubelet)`);
      const started = performance.now();
      await pool.addPods(resumes, poolParallel, (n) => (n % 10 === 0 || n === resumes) && progress(`  ${n}/${resumes} pool pods Ready`));
      const poolS = (performance.now() - started) / 1000;
      // The pods' start-up work (parser, prewarm) is over and the operator has seen them: let the machine go quiet.
      await sleep(5000);
      await waitQueueSettled(operatorOps, 60_000);
      return round(poolS, 1);
    };
    const poolSeconds: number[] = [];
    poolSeconds.push(await fillPool());
    rounds.push(await resumeRound('first resume (the tenant has never run: its first stamp creates the catalog)', 'firstResume'));

    if (!values['skip-repeat']) {
      progress(`suspending the ${resumes} tenants (replicas 0)`);
      const suspendStarted = performance.now();
      await Promise.all(chosen.map((name) => api.patch(crdbTenantPath(NS, name), { spec: { replicas: 0 } }, 'application/merge-patch+json')));
      for (let deadline = Date.now() + 120_000; ; ) {
        const left = chosen.filter((n) => obs.podsOf(n) > 0 || obs.tenants.get(`${NS}/${n}`)?.status?.state !== 'Suspended');
        if (left.length === 0) break;
        if (Date.now() > deadline) throw new Error(`tenants not suspended 120 s after replicas 0: ${left.slice(0, 10).join(', ')}`);
        await sleep(100);
      }
      progress(`suspended after ${((performance.now() - suspendStarted) / 1000).toFixed(1)} s`);
      poolSeconds.push(await fillPool());
      rounds.push(await resumeRound('resume (the tenant ran before and was suspended)', 'resume'));
    }

    // Every client has hung up: the proxy should hold no connection now.
    await sleep(1000);
    const proxyEnd = await scrape(proxyOps);
    const proxyOpenConnectionsAtEnd = sample(proxyEnd, 'shoal_proxy_connections') ?? null;
    if (proxyOpenConnectionsAtEnd) progress(`note: the proxy still counts ${proxyOpenConnectionsAtEnd} open client connection(s) after every client hung up`);
    const headline = rounds[0] as RoundResult;
    const repeat = rounds[1];
    const report = {
      benchmark: 'operator',
      harness: HARNESS,
      description:
        'CrdbTenants created through the API until all are Ready; then resumes of suspended tenants, all at once, connect through the proxy (Kubernetes mode) → first row of SELECT 1 (node-postgres, TLS, SCRAM), beside warm connections to the same tenants',
      machine: machineInfo(loadAtStart),
      parameters: {
        tenants: tenantCount,
        resumes,
        createConcurrency,
        operatorConcurrency: operatorConcurrency ?? 'default (4)',
        operatorSampleInterval: '60s',
        operatorLeaderElection: false,
        operatorLogLevel: 'info',
        poolParallel,
        poolSecondsToReady: poolSeconds,
      },
      tenantsPhase,
      breakdownParts: BREAKDOWN,
      resumeRounds: rounds,
      proxyOpenConnectionsAtEnd,
      headline: {
        operatorTenantsReadyS: tenantsPhase.readyS,
        k8sColdstartP50Ms: headline.cold.p50,
        k8sColdstartP99Ms: headline.cold.p99,
        k8sColdstartOverWarmP50: headline.coldOverWarmP50,
        from: headline.label,
      },
      goal: {
        tenantsReadyWithin60s: tenantCount === 1000 ? tenantsPhase.readyS <= 60 : null,
        coldstartP50Within150ms: headline.cold.p50 <= 150,
        coldstartP99Within400ms: headline.cold.p99 <= 400,
      },
      timestamp: new Date().toISOString(),
    };
    mkdirSync(dirname(values.out), { recursive: true });
    writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
    failed = false;
    await cleanup();

    // ---- the table -----------------------------------------------------------------
    const out: string[] = [];
    out.push(`harness: ${HARNESS}`);
    out.push('');
    out.push(`${tenantCount} CrdbTenants (scaled to zero), created ${createConcurrency} at a time, operator concurrency ${operatorConcurrency ?? 'default (4)'}:`);
    out.push(`  all Ready after        ${tenantsPhase.readyS} s  (creates done after ${tenantsPhase.createsDoneS} s, ${tenantsPhase.createsPerS} creates/s; ${tenantsPhase.readyPerS} Ready/s)`);
    out.push(`  Ready after            p10 ${tenantsPhase.readyAfterS.p10} s, p50 ${tenantsPhase.readyAfterS.p50} s, p90 ${tenantsPhase.readyAfterS.p90} s`);
    out.push(`  create → Ready         ${row(readyLatency)}`);
    out.push(`  queue ran out after    ${tenantsPhase.queueSettledS} s; reconciles ${JSON.stringify(tenantsPhase.operator.reconciles)}, errors ${tenantsPhase.operator.reconcileErrors}, mean ${tenantsPhase.operator.reconcileSeconds.meanMs} ms each`);
    out.push(`  CPU s until Ready      ${Object.entries(tenantsPhase.cpuSecondsUntilReady).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    out.push(`  operator memory        RSS ${mib(memBefore.rssBytes)} → ${mib(memAfter.rssBytes)} MiB (${tenantsPhase.operatorMemory.rssPerTenantKiB} KiB per tenant); heap used ${mib(memBefore.heapUsedBytes)} → ${mib(memAfter.heapUsedBytes)} MiB (${tenantsPhase.operatorMemory.heapUsedPerTenantKiB} KiB per tenant)`);
    for (const r of rounds) {
      out.push('');
      out.push(`${r.label}: ${resumes} tenants at once, connect through the proxy → first row (failures: ${r.failures.cold.length} cold, ${r.failures.warm.length} warm):`);
      out.push(`  cold         ${row(r.cold)}`);
      out.push(`  warm         ${row(r.warm)}   cold/warm p50 ${r.coldOverWarmP50}`);
      for (const [part, s] of Object.entries(r.breakdownMs)) out.push(`  ${part.padEnd(12)} ${row(s)}`);
      out.push(`  operator     resume mean ${r.operator.resumeSeconds.meanMs} ms (p50 ≤ ${r.operator.resumeSeconds.p50AtMostMs}, p99 ≤ ${r.operator.resumeSeconds.p99AtMostMs} ms, n ${r.operator.resumeSeconds.count}); stamp mean ${r.operator.stampSeconds.meanMs} ms (p50 ≤ ${r.operator.stampSeconds.p50AtMostMs}, p99 ≤ ${r.operator.stampSeconds.p99AtMostMs} ms, n ${r.operator.stampSeconds.count}); reconcile mean ${r.operator.reconcileSeconds.meanMs} ms, n ${r.operator.reconcileSeconds.count}`);
      out.push(`  proxy        resume wait mean ${r.proxy.resumeSeconds.meanMs} ms (p50 ≤ ${r.proxy.resumeSeconds.p50AtMostMs}, p99 ≤ ${r.proxy.resumeSeconds.p99AtMostMs} ms, n ${r.proxy.resumeSeconds.count}); pod dial mean ${r.proxy.dialSeconds.meanMs} ms (p99 ≤ ${r.proxy.dialSeconds.p99AtMostMs} ms, n ${r.proxy.dialSeconds.count})`);
      out.push(`  CPU s        ${Object.entries(r.cpuSeconds).map(([k, v]) => `${k} ${v}`).join(', ')} (over ${r.wallMs} ms)`);
    }
    out.push('');
    out.push(`goals: ${tenantCount} Ready ≤ 60 s: ${report.goal.tenantsReadyWithin60s ?? 'n/a (not 1000 tenants)'}; cold start p50 ≤ 150 ms: ${report.goal.coldstartP50Within150ms}; p99 ≤ 400 ms: ${report.goal.coldstartP99Within400ms} (from the ${headline.label} round)`);
    out.push(`results written to ${values.out}`);
    out.push(`operator_memory_per_tenant_kib=${tenantsPhase.operatorMemory.rssPerTenantKiB}`);
    out.push(`operator_heap_per_tenant_kib=${tenantsPhase.operatorMemory.heapUsedPerTenantKiB}`);
    out.push(`operator_tenants_ready_per_s=${tenantsPhase.readyPerS}`);
    if (repeat) {
      out.push(`k8s_coldstart_repeat_p50_ms=${repeat.cold.p50}`);
      out.push(`k8s_coldstart_repeat_p99_ms=${repeat.cold.p99}`);
    }
    out.push(`k8s_coldstart_over_warm_p50=${headline.coldOverWarmP50}`);
    out.push(`operator_${tenantCount}_tenants_ready_s=${tenantsPhase.readyS}`);
    out.push(`k8s_coldstart_p50_ms=${headline.cold.p50}`);
    out.push(`k8s_coldstart_p99_ms=${headline.cold.p99}`);
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function row(s: Summary): string {
  const f = (x: number) => x.toFixed(1).padStart(8);
  return `p50 ${f(s.p50)}  p90 ${f(s.p90)}  p99 ${f(s.p99)}  max ${f(s.max)} ms  (n ${s.n})`;
}

function mib(bytes: number | null): string {
  return bytes === null ? '?' : (bytes / 2 ** 20).toFixed(1);
}

async function operatorMemory(operator: Child, ops: string): Promise<{ rssBytes: number; metricsRssBytes: number | null; heapUsedBytes: number | null; heapTotalBytes: number | null }> {
  const s = await scrape(ops);
  return {
    rssBytes: rssBytes(operator.pid) ?? Number.NaN,
    metricsRssBytes: sample(s, 'process_resident_memory_bytes') ?? null,
    heapUsedBytes: sample(s, 'nodejs_heap_size_used_bytes') ?? null,
    heapTotalBytes: sample(s, 'nodejs_heap_size_total_bytes') ?? null,
  };
}

/** Waits until the operator's queue is empty and no reconcile finished for 2 s; returns when the last one did. */
async function waitQueueSettled(ops: string, timeoutMs: number): Promise<{ at: number; scrape: Scrape }> {
  const deadline = performance.now() + timeoutMs;
  const total = (s: Scrape) => Object.values(counterDelta(new Map(), s, 'shoal_operator_reconcile_total')).reduce((a, b) => a + b, 0);
  let last = await scrape(ops);
  let lastChange = performance.now();
  for (;;) {
    await sleep(250);
    const now = await scrape(ops);
    if (total(now) !== total(last) || (sample(now, 'shoal_operator_queue_depth') ?? 0) > 0) lastChange = performance.now();
    last = now;
    if (performance.now() - lastChange >= 2000) return { at: lastChange, scrape: last };
    if (performance.now() > deadline) throw new Error(`the operator's reconcile queue did not run out within ${timeoutMs} ms`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench-operator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
