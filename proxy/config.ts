import { z } from 'zod';
import { duration, hostPort, loadSettings } from '../shared/config/index.js';

export const ENV_PREFIX = 'SHOAL_PROXY';

export const proxySettingsSchema = z.object({
  listen: hostPort.default('127.0.0.1:6432').describe('PostgreSQL address clients connect to'),
  opsListen: hostPort.default('127.0.0.1:6433').describe('HTTP: /metrics, /healthz, /readyz'),
  staticRouting: z.string().optional().describe('JSON file {"tenants": {"<name>": {"addresses": ["host:port"]}}}: fixed backends over plain TCP; without it, tenants and pods come from the Kubernetes API'),
  kubeconfig: z.string().optional().describe('kubeconfig for the Kubernetes directory (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)'),
  namespace: z.string().optional().describe("namespace of the CrdbTenants and SQL pods (default: the service account's namespace, else \"default\")"),
  caCert: z.string().optional().describe('host CA (PEM) that SQL pod certificates must chain to'),
  cert: z.string().optional().describe("the proxy's serving certificate for clients' TLS (PEM)"),
  key: z.string().optional().describe("the proxy's serving key (PEM)"),
  aclFile: z.string().optional().describe('JSON file of per-tenant allow/deny CIDR lists, re-read when it changes'),
  startupTimeout: duration.default(10_000).describe('how long a client may take to send its startup packet'),
  resumeTimeout: duration.default(30_000).describe('how long a client waits for a suspended tenant to resume'),
  shutdownGrace: duration.default(30_000).describe('how long open sessions may run after SIGTERM'),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info').describe('log level'),
});

export type ProxySettings = z.infer<typeof proxySettingsSchema>;

export function loadProxySettings(argv: string[], env: NodeJS.ProcessEnv): ProxySettings {
  return loadSettings(proxySettingsSchema, ENV_PREFIX, argv, env);
}
