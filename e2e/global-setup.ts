// Installs the Helm chart once for every e2e file (namespace shoal-e2e) and
// tells the files where the proxy answers. KUBECONFIG names the cluster
// (make e2e: the local one; make e2e-kind: kind); the image must already be
// in it, and an earlier run gone (e2e/run.sh removes it).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { z } from 'zod';
import { KubeApi } from '../shared/kube/api.js';
import { HELM, KUBECONFIG, KUBECTL, NS, canConnect, run, until } from './harness.js';

/** Extra `helm install` flags from the runner (the local cluster's storage class, kind's image policy, …). */
const HELM_FLAGS = (process.env.SHOAL_E2E_HELM_FLAGS ?? '').split(' ').filter((f) => f !== '');

// Short clocks, so idling, autoscaling and draining happen within a test; two
// operator replicas, so there is a leader to lose.
const VALUES = [
  'pool:',
  '  size: 2',
  'proxy:',
  '  replicas: 1',
  'operator:',
  '  replicas: 2',
  '  sampleInterval: 2s',
  '  cpuWindow: 6s',
  '  scaleDownStabilization: 8s',
  'drainLimit: 30s',
  '',
].join('\n');

declare module 'vitest' {
  export interface ProvidedContext {
    proxyHost: string;
  }
}

let forward: ChildProcess | undefined;

export default async function setup(project: TestProject): Promise<() => void> {
  const api = KubeApi.fromKubeconfig(KUBECONFIG);
  const env = { ...process.env, KUBECONFIG };
  const values = join(mkdtempSync(join(tmpdir(), 'shoal-e2e-')), 'values.yaml');
  writeFileSync(values, VALUES);
  await run(HELM, ['install', 'shoal', 'charts/shoal', '-n', NS, '--create-namespace', '-f', values, ...HELM_FLAGS, '--wait', '--timeout', '10m'], { env, maxBuffer: 16 << 20 });
  const svc = await api.get(`/api/v1/namespaces/${NS}/services/shoal-proxy`, z.object({ spec: z.object({ clusterIP: z.string(), ports: z.array(z.object({ port: z.number() })) }) }));
  let proxyHost = process.env.SHOAL_E2E_PROXY ?? `${svc.spec.clusterIP}:${svc.spec.ports[0]?.port ?? 5432}`;
  if (process.env.SHOAL_E2E_PORT_FORWARD) {
    // kind: the Service is not reachable from the host; kubectl port-forward is.
    forward = spawn(KUBECTL, ['-n', NS, 'port-forward', 'svc/shoal-proxy', `${process.env.SHOAL_E2E_PORT_FORWARD}:5432`], { env, stdio: 'ignore' });
    proxyHost = `127.0.0.1:${process.env.SHOAL_E2E_PORT_FORWARD}`;
  }
  // A new Service answers once kube-proxy has programmed its endpoints, a moment after helm's --wait.
  await until(`the proxy accepting connections at ${proxyHost}`, () => canConnect(proxyHost), 60_000);
  project.provide('proxyHost', proxyHost);
  return () => forward?.kill();
}
