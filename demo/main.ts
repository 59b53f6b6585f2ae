// shoal demo: a whole host cluster on this machine, for a first look.
import { ConfigError, describeSettings } from '../shared/config/index.js';
import { SYSTEM_TENANT_NAME } from '../shared/keys/index.js';
import { ENV_PREFIX, demoSettingsSchema, loadDemoSettings } from './config.js';
import { DataDirError } from './datadir.js';
import { StartError, startHost, type Host } from './host.js';
import type { OrchestratorEvent } from './orchestrator/index.js';

const started = performance.now();
const say = (line: string) => process.stdout.write(`${line}\n`);
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;

/** A URL any libpq client takes; the cluster name rides in `options`, as the proxy expects. */
export function connectionUrl(host: Host, tenant: string): string {
  const creds = tenant === SYSTEM_TENANT_NAME ? host.credentials.system : host.credentials.tenantAdmin;
  const user = `${encodeURIComponent(creds.username)}:${encodeURIComponent(creds.password)}`;
  // encodeURI keeps a path's slashes readable; `=` inside options must be %3D.
  return `postgresql://${user}@${host.proxyAddress}/defaultdb?sslmode=verify-full&sslrootcert=${encodeURI(host.certs.caPath)}&options=--cluster%3D${tenant}`;
}

function describe(event: OrchestratorEvent, host: Host | undefined): string | undefined {
  switch (event.kind) {
    case 'bound':
      return event.resumeMs === null
        ? `  ${event.tenant}: ${event.pod} (pid ${event.pid}) added (stamp ${event.stampMs.toFixed(0)} ms)`
        : `  ${event.tenant}: resumed in ${event.resumeMs.toFixed(0)} ms on ${event.pod} (pid ${event.pid}; pluck ${event.pluckMs.toFixed(2)} ms, stamp ${event.stampMs.toFixed(0)} ms)`;
    case 'scaled':
      if (event.rule === 'resume') return `  ${event.tenant}: a client connected while suspended: resuming`;
      if (event.to === 0) return `  ${event.tenant}: suspended (${event.reason})`;
      return `  ${event.tenant}: ${event.from} → ${event.to} pods (${event.reason})`;
    case 'draining':
      return `  ${event.tenant}: draining ${event.pod} (open sessions finish first)`;
    case 'undrained':
      return `  ${event.tenant}: ${event.pod} undrained and serving again`;
    case 'bind-failed':
      return `  ${event.tenant}: stamping ${event.pod} failed, pod discarded: ${event.message}`;
    case 'pod-exited':
      return event.expected ? undefined : `  ${event.pod}${event.tenant ? ` (${event.tenant})` : ''} exited unexpectedly (code ${event.code}); replacing it`;
    case 'created':
      return host ? `  virtual cluster ${event.tenant} created (ID ${event.id}):\n    psql "${connectionUrl(host, event.tenant)}"` : undefined;
    case 'dropped':
      return `  virtual cluster ${event.tenant} dropped (ID ${event.id}): pods stopped, keyspace destroyed`;
    case 'pool-ready':
      return undefined;
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help')) {
    say(`shoal demo: a whole Shoal host cluster on this machine\n\nSettings (flag or environment):\n${describeSettings(demoSettingsSchema, ENV_PREFIX)}`);
    return;
  }
  const settings = loadDemoSettings(argv, process.env);
  // grpc-js sets the TLS server name to the kvpod's IP address, which Node
  // warns about once per process: noise in a newcomer's first terminal.
  process.noDeprecation = true;
  say('Starting a Shoal host cluster on this machine (Ctrl-C stops it; data and tenants are kept)');
  // Events arrive while the host starts, before it can be named.
  const ref: { host?: Host } = {};
  const host = await startHost(settings, {
    step: (message) => say(`  [${elapsed()}] ${message}`),
    event: (event) => {
      const line = describe(event, ref.host);
      if (line !== undefined) say(line);
    },
  });
  ref.host = host;

  say(`\nReady in ${elapsed()}. Tenants start suspended; the first connection resumes one.\n`);
  for (const cluster of host.orchestrator.list()) {
    if (cluster.name === SYSTEM_TENANT_NAME) continue;
    say(`  ${cluster.name} (ID ${cluster.id}):\n    psql "${connectionUrl(host, cluster.name)}"`);
  }
  say(`\n  system interface (CREATE VIRTUAL CLUSTER <name>, SHOW VIRTUAL CLUSTERS, DROP VIRTUAL CLUSTER <name>):\n    psql "${connectionUrl(host, SYSTEM_TENANT_NAME)}"`);
  say(`\n  Logs: ${host.dataDir.logDir}\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      say('  stopping now');
      process.exit(130);
    }
    stopping = true;
    say(`\n${signal}: stopping (pods drain for up to 5 s; Ctrl-C again to force)`);
    void host.stop(5000).then(() => {
      say('stopped');
      process.exit(0);
    });
  };
  process.on('SIGINT', () => stop('Ctrl-C'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`demo: invalid settings:\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`);
    process.exit(2);
  }
  if (err instanceof StartError || err instanceof DataDirError) {
    process.stderr.write(`demo: ${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`demo: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
