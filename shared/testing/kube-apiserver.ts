// A real Kubernetes API server for tests: etcd and kube-apiserver v1.33 (the
// binaries `make kube-bins` builds from cluster/k8s), on loopback ports, with
// a throwaway PKI, in a temporary directory. No kubelet and no controllers:
// what the API server itself does (storage, watches, CRDs with CEL
// validation, subresources, optimistic concurrency) is real.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { KubeApi } from '../kube/api.js';
import { freePort } from '../net/index.js';
import { load as loadYaml } from 'js-yaml';
import { crdbTenantsPath } from '../kube/crdbtenant.js';
import { until } from './until.js';
import { stopChild } from '../process/index.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CRD_PATH = join(REPO_ROOT, 'crds', 'crdbtenant.yaml');

/** Where the binaries are: $SHOAL_KUBE_BIN, else the newest state/cluster/bin/k8s-v*. */
export function findKubeBinaries(): { etcd: string; apiserver: string } | undefined {
  const candidates: string[] = [];
  if (process.env.SHOAL_KUBE_BIN) candidates.push(process.env.SHOAL_KUBE_BIN);
  const binRoot = join(REPO_ROOT, 'state', 'cluster', 'bin');
  if (existsSync(binRoot)) {
    candidates.push(
      ...readdirSync(binRoot)
        .filter((d) => d.startsWith('k8s-v'))
        .sort()
        .reverse()
        .map((d) => join(binRoot, d)),
    );
  }
  for (const dir of candidates) {
    const etcd = join(dir, 'etcd');
    const apiserver = join(dir, 'kube-apiserver');
    if (existsSync(etcd) && existsSync(apiserver)) return { etcd, apiserver };
  }
  return undefined;
}

export interface TestApiServer {
  readonly kubeconfig: string;
  readonly url: string;
  /** etcd's client URL: tests compact it to make old resourceVersions expire. */
  readonly etcdUrl: string;
  stop(): Promise<void>;
}


function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makePki(dir: string): void {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], dir);
  openssl(['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=shoal-test-kube-ca', '-days', '2', '-out', 'ca.crt'], dir);
  const leaf = (name: string, subject: string, ext: string) => {
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], dir);
    openssl(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`], dir);
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.crt`], dir);
  };
  leaf('apiserver', '/CN=kube-apiserver', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf('admin', '/O=system:masters/CN=shoal-test-admin', 'extendedKeyUsage=clientAuth\n');
  openssl(['genrsa', '-out', 'sa.key', '2048'], dir);
  openssl(['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
}

function spawnLogged(binary: string, args: string[], logFile: string): ChildProcess {
  const child = spawn('sh', ['-c', `exec "$0" "$@" >>"${logFile}" 2>&1`, binary, ...args], { stdio: 'ignore' });
  return child;
}


/** Starts etcd and kube-apiserver; resolves once /readyz answers. */
export async function startTestApiServer(): Promise<TestApiServer> {
  const bins = findKubeBinaries();
  if (!bins) throw new Error('no etcd/kube-apiserver binaries: run `make kube-bins` (builds them from cluster/k8s) or set SHOAL_KUBE_BIN');
  const dir = mkdtempSync(join(tmpdir(), 'shoal-kube-'));
  makePki(dir);
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const etcd = spawnLogged(
    bins.etcd,
    [
      '--name', 'test',
      '--data-dir', join(dir, 'etcd'),
      '--listen-client-urls', etcdUrl,
      '--advertise-client-urls', etcdUrl,
      '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--initial-cluster', `test=http://127.0.0.1:${peerPort}`,
      '--unsafe-no-fsync',
    ],
    join(dir, 'etcd.log'),
  );
  const apiserver = spawnLogged(
    bins.apiserver,
    [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(dir, 'certs')}`,
      `--tls-cert-file=${join(dir, 'apiserver.crt')}`,
      `--tls-private-key-file=${join(dir, 'apiserver.key')}`,
      `--client-ca-file=${join(dir, 'ca.crt')}`,
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--service-account-issuer=https://kubernetes.default.svc',
      '--service-cluster-ip-range=10.96.0.0/16',
      '--authorization-mode=RBAC',
      // Watches come from etcd, so compacting etcd makes old resourceVersions answer 410.
      '--watch-cache=false',
    ],
    join(dir, 'apiserver.log'),
  );
  const kubeconfig = join(dir, 'kubeconfig');
  const url = `https://127.0.0.1:${apiPort}`;
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: { server: url, 'certificate-authority': join(dir, 'ca.crt') } }],
      users: [{ name: 'admin', user: { 'client-certificate': join(dir, 'admin.crt'), 'client-key': join(dir, 'admin.key') } }],
      contexts: [{ name: 'test', context: { cluster: 'test', user: 'admin' } }],
      'current-context': 'test',
    }),
  );
  const stop = async () => {
    await stopChild(apiserver, 5000);
    await stopChild(etcd, 5000);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (apiserver.exitCode !== null || etcd.exitCode !== null) {
      const logs = ['etcd.log', 'apiserver.log'].map((f) => `--- ${f} ---\n${tail(join(dir, f))}`).join('\n');
      await stop();
      throw new Error(`the test API server exited while starting\n${logs}`);
    }
    if (await ready(kubeconfig)) break;
    if (Date.now() > deadline) {
      const logs = tail(join(dir, 'apiserver.log'));
      await stop();
      throw new Error(`the test API server was not ready within 90 s\n${logs}`);
    }
    await sleep(250);
  }
  return { kubeconfig, url, etcdUrl, stop };
}

function tail(file: string): string {
  try {
    return execFileSync('tail', ['-n', '30', file], { encoding: 'utf8' });
  } catch {
    return '(no log)';
  }
}

async function ready(kubeconfig: string): Promise<boolean> {
  try {
    await KubeApi.fromKubeconfig(kubeconfig).get('/api/v1/namespaces/default', z.unknown());
    return true;
  } catch {
    return false;
  }
}

/** Compacts etcd's history up to its current revision: older resourceVersions expire (410 Gone). */
export async function compactEtcd(etcdUrl: string): Promise<number> {
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${etcdUrl}${path}`, { method: 'POST', body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`etcd ${path}: HTTP ${res.status}`);
    return (await res.json()) as { header?: { revision?: string } };
  };
  // Any range read returns the current revision in its header.
  const status = await post('/v3/kv/range', { key: Buffer.from('/').toString('base64') });
  const revision = Number(status.header?.revision ?? 0);
  await post('/v3/kv/compaction', { revision: String(revision), physical: true });
  return revision;
}


/**
 * A test API server ready for Shoal: the CrdbTenant CRD served, and
 * `namespace` with its default service account (no controller-manager here
 * to make it; pods need it).
 */
export async function startShoalApiServer(namespace: string): Promise<{ server: TestApiServer; api: KubeApi }> {
  const server = await startTestApiServer();
  const api = KubeApi.fromKubeconfig(server.kubeconfig);
  try {
    await api.create('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', loadYaml(readFileSync(CRD_PATH, 'utf8')));
    await api.create('/api/v1/namespaces', { metadata: { name: namespace } });
    await api.create(`/api/v1/namespaces/${namespace}/serviceaccounts`, { metadata: { name: 'default' } });
    // The CRD serves once it is Established.
    await until('the CrdbTenant CRD to serve', () => api.list(crdbTenantsPath(namespace), z.unknown()).then(() => true, () => false), 30_000, 100);
  } catch (err) {
    // The caller never gets the server to stop (a CRD the API server refuses, say): its etcd and kube-apiserver would outlive the test.
    await server.stop();
    throw err;
  }
  return { server, api };
}
