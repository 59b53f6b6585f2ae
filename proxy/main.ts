// proxy: one address for every tenant's PostgreSQL clients.
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ConfigError, describeSettings, splitHostPort } from '../shared/config/index.js';
import { createLogger } from '../shared/log/index.js';
import { ENV_PREFIX, loadProxySettings, proxySettingsSchema } from './config.js';
import { watchAclFile } from './acl/watch.js';
import { parseStaticRouting, staticDirectory, type TenantDirectory } from './directory/index.js';
import { KubernetesDirectory } from './directory/kubernetes.js';
import { KubeApi, serviceAccountNamespace } from '../shared/kube/api.js';
import { startOpsEndpoint } from '../shared/net/index.js';
import { FileFormatError } from './files/index.js';
import { ProxyMetrics } from './ops/metrics.js';
import { startProxy } from './server.js';

class UsageError extends Error {}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help')) {
    process.stdout.write(`proxy: one address for every tenant\n\nSettings (flag or environment):\n${describeSettings(proxySettingsSchema, ENV_PREFIX)}\n`);
    return;
  }
  const settings = loadProxySettings(argv, process.env);
  const log = createLogger('proxy', settings.logLevel);
  let directory: TenantDirectory;
  let podCa: string | undefined;
  let stopDirectory = (): Promise<void> => Promise.resolve();
  if (settings.staticRouting) {
    directory = staticDirectory(parseStaticRouting(readFileSync(settings.staticRouting, 'utf8')));
    // Static routing fronts any Postgres server: plain TCP, no pod certificate to check.
    podCa = undefined;
  } else {
    if (!settings.caCert) throw new UsageError('the Kubernetes directory needs --ca-cert: the host CA that SQL pod certificates chain to');
    podCa = readFileSync(settings.caCert, 'utf8');
    const namespace = settings.namespace ?? serviceAccountNamespace() ?? 'default';
    const kube = new KubernetesDirectory({
      api: KubeApi.fromKubeconfig(settings.kubeconfig),
      namespace,
      onError: (what, err, nextAttemptMs) => log.warn({ err, what, nextAttemptMs }, 'Kubernetes watch failed; retrying'),
    });
    log.info({ namespace }, 'reading tenants and SQL pods from the Kubernetes API');
    await kube.waitForSync(60_000);
    directory = kube;
    stopDirectory = () => kube.stop();
  }
  const clientTls = settings.cert && settings.key ? createSecureContext({ cert: readFileSync(settings.cert), key: readFileSync(settings.key) }) : undefined;
  const acl = settings.aclFile ? watchAclFile(settings.aclFile, log) : undefined;
  const metrics = new ProxyMetrics();
  const { host, port } = splitHostPort(settings.listen);
  const proxy = await startProxy({
    host,
    port,
    directory,
    podCa,
    ...(clientTls ? { clientTls } : {}),
    ...(acl ? { acl: () => acl.current() } : {}),
    startupTimeoutMs: settings.startupTimeout,
    resumeDeadlineMs: settings.resumeTimeout,
    log,
    hooks: metrics.hooks(),
  });
  const { host: ohost, port: oport } = splitHostPort(settings.opsListen);
  let stopping = false;
  const ops = await startOpsEndpoint(ohost, oport, metrics.registry, () => !stopping);
  // The bound addresses, not the flags: with port 0 the OS picks, and whoever started us reads them here.
  log.info({ listen: `${proxy.address.address}:${proxy.address.port}`, ops: `${ops.address.address}:${ops.address.port}`, tenants: settings.staticRouting ? 'static' : 'kubernetes' }, 'proxy serving');
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: no new connections; open sessions may finish');
    void proxy.close(settings.shutdownGrace).then(async () => {
      await stopDirectory();
      await ops.close();
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`proxy: invalid settings:\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`);
    process.exit(2);
  }
  if (err instanceof UsageError || err instanceof FileFormatError) {
    process.stderr.write(`proxy: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`proxy: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
