import { z } from 'zod';
import { boolean, duration, hostPort, loadSettings } from '../shared/config/index.js';

// Bare SHOAL_: the chart sets SHOAL_NAMESPACE, SHOAL_KV_ADDRESSES, … for the operator.
export const ENV_PREFIX = 'SHOAL';

const list = z.string().transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x !== ''));

export const operatorSettingsSchema = z.object({
  kubeconfig: z.string().optional().describe('kubeconfig (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)'),
  namespace: z.string().optional().describe("namespace of the CrdbTenants, SQL pods and Secrets (default: the service account's namespace, else \"default\")"),
  identity: z.string().optional().describe('this replica in the leader Lease and in Events (default: the host name)'),
  kvAddresses: list.pipe(z.array(hostPort).min(1, 'expected at least one kvpod host:port')).describe('every kvpod, comma-separated host:port (the SQL pods get them in their stamp)'),
  pkiPrefix: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/).default('shoal').describe('PKI Secrets: <prefix>-ca, <prefix>-kvpod-certs, <prefix>-proxy-certs, <prefix>-pool-certs (created when absent)'),
  kvpodHosts: list.default(['localhost', '127.0.0.1']).describe('DNS names and IPs of the kvpod certificate, comma-separated'),
  proxyHosts: list.default(['localhost', '127.0.0.1']).describe('DNS names and IPs of the proxy certificate, comma-separated'),
  opsListen: hostPort.default('127.0.0.1:8080').describe('HTTP: /metrics, /healthz, /readyz'),
  leaderElection: boolean.default(true).describe('run only while holding the leader Lease (several replicas are then safe)'),
  leaseName: z.string().default('shoal-operator').describe('the leader Lease'),
  drainLimit: duration.default(600_000).describe('a draining SQL pod is deleted this long after its drain began, sessions or not'),
  sampleInterval: duration.pipe(z.number().int().min(100)).default(10_000).describe("how often the autoscaler reads each SQL pod's /load"),
  cpuWindow: duration.pipe(z.number().int().min(1000)).default(300_000).describe("the window of a tenant's average and peak CPU that sizes it"),
  scaleDownStabilization: duration.default(300_000).describe('a scale-down waits until the last change of the replica count is this old'),
  concurrency: z.coerce.number().int().min(1).max(64).default(4).describe('tenants reconciled at once'),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info').describe('log level'),
});

export type OperatorSettings = z.infer<typeof operatorSettingsSchema>;

export function loadOperatorSettings(argv: string[], env: NodeJS.ProcessEnv): OperatorSettings {
  return loadSettings(operatorSettingsSchema, ENV_PREFIX, argv, env);
}
