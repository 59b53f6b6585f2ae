// The Helm chart charts/shoal: its CRD is the repository's, every object it
// renders passes a real API server's (etcd + kube-apiserver v1.33) schema
// validation in a server-side dry run with strict field validation, and the
// rendered objects keep the contracts of the design brief (pool selector,
// ports, KV addresses, non-root containers, least-privilege RBAC).
// helm: charts/helm.sh builds it into state/cluster/bin/helm-v3.21.4/ (or $SHOAL_HELM).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load as loadYaml, loadAll } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadOperatorSettings } from '../operator/config.js';
import { subjectOf } from '../shared/certs/index.js';
import { KubeApi, KubeApiError } from '../shared/kube/api.js';
import { findKubeBinaries, startTestApiServer, type TestApiServer } from '../shared/testing/kube-apiserver.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CHART = join(ROOT, 'charts', 'shoal');
const NS = 'shoal-chart';
const VERSION = z.object({ version: z.string() }).parse(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))).version;
const IMAGE = `localhost/shoal/shoal:${VERSION}`;

/** $SHOAL_HELM, else the newest state/cluster/bin/helm-v* /helm (charts/helm.sh puts it there). */
function findHelm(): string | undefined {
  if (process.env.SHOAL_HELM) return existsSync(process.env.SHOAL_HELM) ? process.env.SHOAL_HELM : undefined;
  const binRoot = join(ROOT, 'state', 'cluster', 'bin');
  if (!existsSync(binRoot)) return undefined;
  return readdirSync(binRoot)
    .filter((d) => d.startsWith('helm-v'))
    .sort()
    .reverse()
    .map((d) => join(binRoot, d, 'helm'))
    .find((p) => existsSync(p));
}

const HELM = findHelm();
const KUBE = findKubeBinaries();
// vitest lists a skipped test without saying why; the title does.
const noHelm = HELM ? '' : ' (skipped: no helm binary; run charts/helm.sh)';
const noKube = KUBE ? '' : ' (skipped: no etcd/kube-apiserver; run make kube-bins)';

const labelsSchema = z.record(z.string(), z.string());
const objectSchema = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: z.looseObject({ name: z.string(), namespace: z.string().optional(), labels: labelsSchema.optional() }),
});
type KubeObject = z.infer<typeof objectSchema>;

const envVarSchema = z.looseObject({ name: z.string(), value: z.string().optional(), valueFrom: z.unknown().optional() });
const containerSchema = z.looseObject({
  name: z.string(),
  image: z.string(),
  args: z.array(z.string()).default([]),
  env: z.array(envVarSchema).default([]),
  ports: z.array(z.looseObject({ name: z.string(), containerPort: z.number() })).default([]),
  securityContext: z.looseObject({}).optional(),
  readinessProbe: z.looseObject({ httpGet: z.looseObject({ path: z.string(), port: z.union([z.string(), z.number()]) }).optional() }).optional(),
  livenessProbe: z.looseObject({ httpGet: z.looseObject({ path: z.string(), port: z.union([z.string(), z.number()]) }).optional() }).optional(),
  volumeMounts: z.array(z.looseObject({ name: z.string(), mountPath: z.string() })).default([]),
});
type Container = z.infer<typeof containerSchema>;
const podSpecSchema = z.looseObject({
  containers: z.array(containerSchema),
  initContainers: z.array(containerSchema).default([]),
  securityContext: z.looseObject({}).optional(),
  automountServiceAccountToken: z.boolean().optional(),
  terminationGracePeriodSeconds: z.number().optional(),
  volumes: z.array(z.looseObject({ name: z.string(), secret: z.looseObject({ secretName: z.string() }).optional() })).default([]),
});
const workloadSchema = z.looseObject({
  spec: z.looseObject({
    replicas: z.number(),
    selector: z.object({ matchLabels: labelsSchema }),
    template: z.object({ metadata: z.looseObject({ labels: labelsSchema }), spec: podSpecSchema }),
    podManagementPolicy: z.string().optional(),
    serviceName: z.string().optional(),
    volumeClaimTemplates: z.array(z.looseObject({ metadata: z.looseObject({ name: z.string() }), spec: z.looseObject({}) })).optional(),
  }),
});
const roleSchema = z.looseObject({
  rules: z.array(z.object({ apiGroups: z.array(z.string()), resources: z.array(z.string()), verbs: z.array(z.string()) })),
});
const serviceSchema = z.looseObject({
  spec: z.looseObject({
    type: z.string().optional(),
    clusterIP: z.string().optional(),
    publishNotReadyAddresses: z.boolean().optional(),
    selector: labelsSchema,
    ports: z.array(z.looseObject({ name: z.string(), port: z.number(), targetPort: z.union([z.string(), z.number()]) })),
  }),
});
const certificateSchema = z.looseObject({
  spec: z.looseObject({ secretName: z.string(), commonName: z.string(), isCA: z.boolean().optional(), subject: z.object({ organizationalUnits: z.array(z.string()) }).optional(), privateKey: z.looseObject({ algorithm: z.string(), size: z.number() }) }),
});

/** `helm template` of the chart; the rendered objects (empty documents dropped). */
function render(...args: string[]): KubeObject[] {
  if (!HELM) throw new Error('no helm');
  const text = execFileSync(HELM, ['template', 'shoal', CHART, '--namespace', NS, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return loadAll(text)
    .filter((doc) => doc !== null && doc !== undefined)
    .map((doc) => objectSchema.parse(doc));
}

/** helm's error for a render that must fail. */
function renderError(...args: string[]): string {
  try {
    render(...args);
  } catch (err) {
    return String((err as { stderr?: unknown }).stderr ?? err);
  }
  return 'rendered';
}

function one(objects: KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  expect(found, `${kind} ${name}`).toHaveLength(1);
  return found[0] as KubeObject;
}

const workload = (objects: KubeObject[], kind: string, name: string) => workloadSchema.parse(one(objects, kind, name));
const containerOf = (objects: KubeObject[], kind: string, name: string): Container => {
  const c = workload(objects, kind, name).spec.template.spec.containers;
  expect(c).toHaveLength(1);
  return c[0] as Container;
};
const envOf = (c: Container): Map<string, string | undefined> => new Map(c.env.map((e) => [e.name, e.value]));

const WITH_ADDONS = ['--set', 'certManager.enabled=true,serviceMonitor.enabled=true'];
const LAYOUT_3 = [
  '--set', 'kvpod.replicas=3',
  '--set-json', 'kvpod.rangeLayout=[{"rangeId":1,"startKey":"","endKey":"fe94","replica":0},{"rangeId":2,"startKey":"fe94","endKey":"fea0","replica":1},{"rangeId":3,"startKey":"fea0","endKey":"","replica":2}]',
];

// Where each kind the chart renders is created: the collection under the namespace.
const COLLECTIONS: Record<string, { prefix: string; plural: string }> = {
  'v1/ServiceAccount': { prefix: '/api/v1', plural: 'serviceaccounts' },
  'v1/Service': { prefix: '/api/v1', plural: 'services' },
  'v1/ConfigMap': { prefix: '/api/v1', plural: 'configmaps' },
  'v1/Secret': { prefix: '/api/v1', plural: 'secrets' },
  'apps/v1/Deployment': { prefix: '/apis/apps/v1', plural: 'deployments' },
  'apps/v1/StatefulSet': { prefix: '/apis/apps/v1', plural: 'statefulsets' },
  'rbac.authorization.k8s.io/v1/Role': { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'roles' },
  'rbac.authorization.k8s.io/v1/RoleBinding': { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'rolebindings' },
  'policy/v1/PodDisruptionBudget': { prefix: '/apis/policy/v1', plural: 'poddisruptionbudgets' },
};
// Kinds of CRDs the test API server does not have (cert-manager, Prometheus Operator): only these may be skipped.
const ADDON_OBJECTS = [
  'cert-manager.io/v1/Certificate shoal-ca',
  'cert-manager.io/v1/Certificate shoal-kvpod',
  'cert-manager.io/v1/Certificate shoal-pool',
  'cert-manager.io/v1/Certificate shoal-proxy',
  'cert-manager.io/v1/Issuer shoal-ca',
  'cert-manager.io/v1/Issuer shoal-selfsigned',
  'monitoring.coreos.com/v1/ServiceMonitor shoal-kvpod',
  'monitoring.coreos.com/v1/ServiceMonitor shoal-operator-metrics',
  'monitoring.coreos.com/v1/ServiceMonitor shoal-proxy-metrics',
];
const typeOf = (o: KubeObject) => `${o.apiVersion}/${o.kind}`;

describe('charts/shoal', () => {
  it('ships crds/crdbtenant.yaml byte for byte', () => {
    const chart = readFileSync(join(CHART, 'crds', 'crdbtenant.yaml'));
    const repo = readFileSync(join(ROOT, 'crds', 'crdbtenant.yaml'));
    expect(chart.equals(repo), 'charts/shoal/crds/crdbtenant.yaml differs from crds/crdbtenant.yaml: cp crds/crdbtenant.yaml charts/shoal/crds/').toBe(true);
  });

  it('versions the chart and its appVersion like package.json', () => {
    const chart = z.object({ version: z.string(), appVersion: z.string() }).parse(loadYaml(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')));
    expect(chart).toEqual({ version: VERSION, appVersion: VERSION });
  });
});

describe.skipIf(!HELM)(`helm template charts/shoal${noHelm}`, () => {
  let base: KubeObject[];
  let addons: KubeObject[];
  let three: KubeObject[];
  beforeAll(() => {
    base = render();
    addons = render(...WITH_ADDONS);
    three = render(...LAYOUT_3);
  });

  it('renders the host cluster: kvpod StatefulSet, pool, proxy, operator, RBAC, Services', () => {
    expect(base.map((o) => `${o.kind} ${o.metadata.name}`).sort()).toEqual([
      'Deployment shoal-operator',
      'Deployment shoal-proxy',
      'Deployment shoal-sqlpod-pool',
      'Role shoal-operator',
      'Role shoal-proxy',
      'RoleBinding shoal-operator',
      'RoleBinding shoal-proxy',
      'Service shoal-kvpod',
      'Service shoal-operator-metrics',
      'Service shoal-proxy',
      'Service shoal-proxy-metrics',
      'ServiceAccount shoal-operator',
      'ServiceAccount shoal-proxy',
      'StatefulSet shoal-kvpod',
    ]);
    expect(addons.filter((o) => !COLLECTIONS[typeOf(o)]).map((o) => `${typeOf(o)} ${o.metadata.name}`).sort()).toEqual(ADDON_OBJECTS);
  });

  it('labels every object with app.kubernetes.io/{name,instance,version,managed-by} and shoal.dev/component', () => {
    for (const o of [...addons, ...three]) {
      expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe(NS);
      expect(o.metadata.labels, `${o.kind} ${o.metadata.name}`).toMatchObject({
        'app.kubernetes.io/name': 'shoal',
        'app.kubernetes.io/instance': 'shoal',
        'app.kubernetes.io/version': VERSION,
        'app.kubernetes.io/managed-by': 'Helm',
      });
      expect(['kvpod', 'sqlpod', 'proxy', 'operator']).toContain(o.metadata.labels?.['shoal.dev/component']);
    }
  });

  it('selects the pool with exactly shoal.dev/component=sqlpod and shoal.dev/pool=prewarmed', () => {
    const pool = workload(base, 'Deployment', 'shoal-sqlpod-pool');
    expect(pool.spec.replicas).toBe(3);
    expect(pool.spec.selector.matchLabels).toEqual({ 'shoal.dev/component': 'sqlpod', 'shoal.dev/pool': 'prewarmed' });
    expect(pool.spec.template.metadata.labels).toMatchObject({ 'shoal.dev/component': 'sqlpod', 'shoal.dev/pool': 'prewarmed' });
    expect(workload(render('--set', 'pool.size=7'), 'Deployment', 'shoal-sqlpod-pool').spec.replicas).toBe(7);
  });

  it('gives pool pods the ports sql/control/ops, probes on ops, the pool certificate and a grace period past the drain limit', () => {
    const pool = workload(base, 'Deployment', 'shoal-sqlpod-pool').spec.template.spec;
    const c = containerOf(base, 'Deployment', 'shoal-sqlpod-pool');
    expect(c.ports.map((p) => [p.name, p.containerPort])).toEqual([['sql', 5433], ['control', 8443], ['ops', 8080]]);
    expect(c.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'ops' });
    expect(c.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'ops' });
    expect(c.args.slice(0, 1)).toEqual(['sqlpod']);
    expect(c.args).toEqual(expect.arrayContaining([
      '--control-listen=0.0.0.0:8443', '--sql-listen=0.0.0.0:5433', '--ops-listen=0.0.0.0:8080',
      '--ca-cert=/certs/ca.crt', '--cert=/certs/tls.crt', '--key=/certs/tls.key', '--drain-limit=10m',
    ]));
    expect(pool.volumes.find((v) => v.name === 'certs')?.secret?.secretName).toBe('shoal-pool-certs');
    expect(pool.automountServiceAccountToken).toBe(false);
    expect(pool.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(600);
    const short = workload(render('--set', 'drainLimit=90s'), 'Deployment', 'shoal-sqlpod-pool').spec.template.spec;
    expect(short.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(90);
    expect(short.terminationGracePeriodSeconds).toBeLessThan(600);
  });

  it('gives the operator one KV address per kvpod, the PKI prefix, certificate hosts and leader election', () => {
    const env1 = envOf(containerOf(base, 'Deployment', 'shoal-operator'));
    expect(env1.get('SHOAL_KV_ADDRESSES')).toBe('shoal-kvpod-0.shoal-kvpod.shoal-chart.svc:26257');
    const env3 = envOf(containerOf(three, 'Deployment', 'shoal-operator'));
    const addresses = (env3.get('SHOAL_KV_ADDRESSES') ?? '').split(',');
    expect(addresses).toEqual([0, 1, 2].map((i) => `shoal-kvpod-${i}.shoal-kvpod.shoal-chart.svc:26257`));
    expect(workload(three, 'StatefulSet', 'shoal-kvpod').spec.replicas).toBe(3);
    // Each kvpod advertises exactly the address the operator dials, and the layout names the same addresses.
    expect(containerOf(three, 'StatefulSet', 'shoal-kvpod').args).toContain('--advertise=$(POD_NAME).shoal-kvpod.shoal-chart.svc:26257');
    const layout = z.object({ data: z.object({ 'range-layout.json': z.string() }) }).parse(one(three, 'ConfigMap', 'shoal-kvpod-layout'));
    const ranges = z.object({ ranges: z.array(z.object({ address: z.string() })) }).parse(JSON.parse(layout.data['range-layout.json'])).ranges;
    expect(ranges.map((r) => r.address)).toEqual(addresses);
    expect(renderError('--set', 'kvpod.replicas=3')).toContain('kvpod.replicas > 1 needs kvpod.rangeLayout');

    expect(Object.fromEntries([...env1].filter(([k]) => k !== 'SHOAL_KV_ADDRESSES'))).toEqual({
      SHOAL_NAMESPACE: undefined, // fieldRef
      SHOAL_IDENTITY: undefined, // fieldRef
      SHOAL_PKI_PREFIX: 'shoal',
      SHOAL_KVPOD_HOSTS: '*.shoal-kvpod.shoal-chart.svc,*.shoal-kvpod.shoal-chart.svc.cluster.local,shoal-kvpod,localhost,127.0.0.1',
      SHOAL_PROXY_HOSTS: 'shoal-proxy,shoal-proxy.shoal-chart.svc,shoal-proxy.shoal-chart.svc.cluster.local,localhost,127.0.0.1',
      SHOAL_OPS_LISTEN: '0.0.0.0:8080',
      SHOAL_LEADER_ELECTION: 'true',
      SHOAL_LEASE_NAME: 'shoal-operator',
      SHOAL_DRAIN_LIMIT: '10m',
      SHOAL_SAMPLE_INTERVAL: '10s',
      SHOAL_CPU_WINDOW: '5m',
      SHOAL_SCALE_DOWN_STABILIZATION: '5m',
      SHOAL_LOG_LEVEL: 'info',
    });
    // The operator takes every setting the chart renders (fieldRefs stand in as the pod would fill them).
    const rendered = { ...Object.fromEntries(env1), SHOAL_NAMESPACE: NS, SHOAL_IDENTITY: 'shoal-operator-0' };
    expect(loadOperatorSettings([], rendered)).toMatchObject({ sampleInterval: 10_000, cpuWindow: 300_000, scaleDownStabilization: 300_000, drainLimit: 600_000 });
    const op = containerOf(base, 'Deployment', 'shoal-operator');
    expect(op.env.find((e) => e.name === 'SHOAL_NAMESPACE')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.namespace' } });
    expect(op.env.find((e) => e.name === 'SHOAL_IDENTITY')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    expect(op.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'metrics' });
    expect(op.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'metrics' });
    const extra = envOf(containerOf(render('--set', 'proxy.extraHosts={db.example.com,10.0.0.5}'), 'Deployment', 'shoal-operator'));
    expect(extra.get('SHOAL_PROXY_HOSTS')?.split(',').slice(-2)).toEqual(['db.example.com', '10.0.0.5']);
  });

  it('runs kvpods as a Parallel StatefulSet with volumes, behind a headless Service that publishes unready pods', () => {
    const sts = workload(base, 'StatefulSet', 'shoal-kvpod').spec;
    expect(sts.podManagementPolicy).toBe('Parallel');
    expect(sts.serviceName).toBe('shoal-kvpod');
    expect(sts.volumeClaimTemplates?.map((t) => t.metadata.name)).toEqual(['data']);
    const c = containerOf(base, 'StatefulSet', 'shoal-kvpod');
    expect(c.args).toEqual(expect.arrayContaining(['--listen=0.0.0.0:26257', '--metrics-listen=0.0.0.0:26258', '--data-dir=/var/lib/shoal/data/rocksdb', '--ca-cert=/certs/ca.crt', '--cert=/certs/tls.crt', '--key=/certs/tls.key']));
    expect(c.volumeMounts.find((m) => m.name === 'data')?.mountPath).toBe('/var/lib/shoal/data');
    expect(sts.template.spec.volumes.find((v) => v.name === 'certs')?.secret?.secretName).toBe('shoal-kvpod-certs');
    const svc = serviceSchema.parse(one(base, 'Service', 'shoal-kvpod')).spec;
    expect(svc.clusterIP).toBe('None');
    expect(svc.publishNotReadyAddresses).toBe(true);
    const classed = workload(render('--set', 'kvpod.persistence.storageClassName=fast,kvpod.persistence.size=50Gi'), 'StatefulSet', 'shoal-kvpod').spec;
    expect(classed.volumeClaimTemplates?.[0]?.spec).toMatchObject({ storageClassName: 'fast', resources: { requests: { storage: '50Gi' } } });
  });

  it('serves the proxy on 5432 in Kubernetes mode with the pod CA and its serving certificate', () => {
    const c = containerOf(base, 'Deployment', 'shoal-proxy');
    expect(workload(base, 'Deployment', 'shoal-proxy').spec.replicas).toBe(2);
    expect(c.args).toEqual(expect.arrayContaining(['proxy', '--namespace=$(POD_NAMESPACE)', '--listen=0.0.0.0:5432', '--ops-listen=0.0.0.0:8080', '--ca-cert=/certs/ca.crt', '--cert=/certs/tls.crt', '--key=/certs/tls.key']));
    expect(c.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'metrics' });
    const svc = serviceSchema.parse(one(base, 'Service', 'shoal-proxy')).spec;
    expect(svc.type).toBe('ClusterIP');
    expect(svc.ports).toEqual([expect.objectContaining({ name: 'sql', port: 5432, targetPort: 'sql' })]);
    expect(serviceSchema.parse(one(render('--set', 'proxy.service.type=LoadBalancer'), 'Service', 'shoal-proxy')).spec.type).toBe('LoadBalancer');
  });

  it('uses the versioned Shoal image everywhere and refuses latest', () => {
    for (const objects of [base, addons, three]) {
      for (const o of objects.filter((x) => x.kind === 'Deployment' || x.kind === 'StatefulSet')) {
        const spec = workloadSchema.parse(o).spec.template.spec;
        for (const c of [...spec.containers, ...spec.initContainers]) {
          expect(c.image, `${o.metadata.name}/${c.name}`).toBe(IMAGE);
          expect(c.image.endsWith(':latest')).toBe(false);
        }
      }
    }
    expect(renderError('--set', 'image.tag=latest')).toContain('image.tag must name a Shoal version (e.g. 0.1.0), not latest');
  });

  it('runs every container as uid 10001, non-root, read-only, without privilege escalation or capabilities', () => {
    for (const o of [...addons, ...three].filter((x) => x.kind === 'Deployment' || x.kind === 'StatefulSet')) {
      const spec = workloadSchema.parse(o).spec.template.spec;
      expect(spec.securityContext, o.metadata.name).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
      for (const c of [...spec.containers, ...spec.initContainers]) {
        expect(c.securityContext, `${o.metadata.name}/${c.name}`).toEqual({
          runAsNonRoot: true,
          runAsUser: 10001,
          runAsGroup: 10001,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
      }
    }
  });

  it('grants the operator and the proxy exactly the verbs of the brief, in their namespace', () => {
    const grants = (o: KubeObject) => {
      const out: Record<string, string[]> = {};
      for (const rule of roleSchema.parse(o).rules) {
        for (const group of rule.apiGroups) {
          for (const resource of rule.resources) {
            const key = `${group === '' ? 'core' : group}/${resource}`;
            out[key] = [...new Set([...(out[key] ?? []), ...rule.verbs])].sort();
          }
        }
      }
      return out;
    };
    const sorted = (v: string[]) => [...v].sort();
    expect(grants(one(base, 'Role', 'shoal-operator'))).toEqual({
      'shoal.dev/crdbtenants': sorted(['get', 'list', 'watch', 'update', 'patch']),
      'shoal.dev/crdbtenants/status': sorted(['get', 'update', 'patch']),
      'shoal.dev/crdbtenants/finalizers': ['update'],
      'shoal.dev/crdbtenants/scale': sorted(['get', 'update']),
      'core/pods': sorted(['get', 'list', 'watch', 'patch', 'update', 'delete']),
      'core/pods/resize': ['patch'],
      'core/secrets': sorted(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']),
      'core/events': sorted(['create', 'patch']),
      'coordination.k8s.io/leases': sorted(['get', 'create', 'update']),
    });
    expect(grants(one(base, 'Role', 'shoal-proxy'))).toEqual({
      'shoal.dev/crdbtenants': sorted(['get', 'list', 'watch']),
      'shoal.dev/crdbtenants/scale': sorted(['get', 'update', 'patch']),
      'core/pods': sorted(['get', 'list', 'watch']),
    });
    expect(base.filter((o) => o.kind.startsWith('Cluster'))).toEqual([]);
  });

  it('issues with cert-manager the Secrets the pods mount, with the subjects of shared/certs on ECDSA P-256', () => {
    const cert = (name: string) => certificateSchema.parse(one(addons, 'Certificate', name)).spec;
    expect(cert('shoal-ca')).toMatchObject({ secretName: 'shoal-ca', isCA: true, privateKey: { algorithm: 'ECDSA', size: 256 } });
    for (const [name, secretName, role] of [
      ['shoal-kvpod', 'shoal-kvpod-certs', 'kvpod-server'],
      ['shoal-proxy', 'shoal-proxy-certs', 'proxy-server'],
      ['shoal-pool', 'shoal-pool-certs', 'pool-server'],
    ] as const) {
      const { commonName, organizationalUnit } = subjectOf({ kind: role });
      expect(cert(name)).toMatchObject({ secretName, commonName, subject: { organizationalUnits: [organizationalUnit] }, privateKey: { algorithm: 'ECDSA', size: 256 } });
    }
  });

  it('passes helm lint --strict, also with cert-manager and ServiceMonitors on', () => {
    for (const extra of [[], WITH_ADDONS]) {
      const out = execFileSync(HELM ?? 'helm', ['lint', '--strict', CHART, ...extra], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(out).toContain('0 chart(s) failed');
      expect(out).not.toMatch(/\[(WARNING|ERROR)\]/);
    }
  });

  it('refuses bad values through values.schema.json', () => {
    expect(renderError('--set', 'pool.size=-1')).toMatch(/pool.size|minimum/i);
    expect(renderError('--set', 'drainLimit=ten minutes')).toMatch(/drainLimit/);
    expect(renderError('--set', 'kvpod.replicas=0')).toMatch(/kvpod.replicas|minimum/i);
    expect(renderError('--set', 'proxy.nosuchvalue=1')).toMatch(/nosuchvalue|additional/i);
  });
});

describe.skipIf(!HELM || !KUBE)(`charts/shoal against a real API server (dry run, strict field validation)${noHelm || noKube}`, () => {
  let server: TestApiServer;
  let api: KubeApi;

  beforeAll(async () => {
    server = await startTestApiServer();
    api = KubeApi.fromKubeconfig(server.kubeconfig);
    await api.create('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', loadYaml(readFileSync(join(CHART, 'crds', 'crdbtenant.yaml'), 'utf8')));
    await api.create('/api/v1/namespaces', { metadata: { name: NS } });
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
  });

  async function dryRun(objects: KubeObject[]): Promise<string[]> {
    const skipped: string[] = [];
    for (const o of objects) {
      const collection = COLLECTIONS[typeOf(o)];
      if (!collection) {
        skipped.push(`${typeOf(o)} ${o.metadata.name}`);
        continue;
      }
      const path = `${collection.prefix}/namespaces/${NS}/${collection.plural}?dryRun=All&fieldValidation=Strict`;
      const refused = await api.create(path, o).then(
        () => undefined,
        (e: unknown) => (e instanceof KubeApiError ? `${e.status} ${e.reason}: ${e.message}` : String(e)),
      );
      expect(refused, `${o.kind} ${o.metadata.name}`).toBeUndefined();
    }
    return skipped.sort();
  }

  it('accepts every object of the default values', async () => {
    expect(await dryRun(render())).toEqual([]);
  });

  it('accepts every object with cert-manager and ServiceMonitors on, skipping only their kinds', async () => {
    expect(await dryRun(render(...WITH_ADDONS))).toEqual(ADDON_OBJECTS);
  });

  it('accepts three kvpods with a range layout, and every optional value set', async () => {
    expect(await dryRun(render(...LAYOUT_3))).toEqual([]);
    const extras = [
      '--set', 'proxy.service.type=NodePort,proxy.service.nodePort=30432,proxy.service.annotations.a=b',
      '--set', 'operator.nodeSelector.disk=ssd,operator.tolerations[0].operator=Exists,operator.podAnnotations.x=y',
      '--set', 'kvpod.persistence.storageClassName=fast,kvpod.extraArgs[0]=--max-value-bytes=1048576',
      '--set', 'pool.extraEnv[0].name=SHOAL_SQL_MAX_SESSIONS,imagePullSecrets[0].name=regcred',
      '--set-string', 'pool.extraEnv[0].value=50',
      '--set', 'operator.serviceAccount.annotations.team=db,proxy.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight=1',
      '--set', 'proxy.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey=kubernetes.io/hostname',
    ];
    expect(await dryRun(render(...extras))).toEqual([]);
  });

  it('the dry run does refuse a misplaced field (the check is real)', async () => {
    const deployment = workloadSchema.parse(one(render(), 'Deployment', 'shoal-proxy'));
    const bad = { ...deployment, spec: { ...deployment.spec, replica: 2 } };
    const refused = await api.create(`/apis/apps/v1/namespaces/${NS}/deployments?dryRun=All&fieldValidation=Strict`, bad).then(() => 'accepted', (e: unknown) => String(e));
    expect(refused).toMatch(/unknown field "spec.replica"/);
  });
});
