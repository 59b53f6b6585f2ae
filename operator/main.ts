// operator: serverless tenants on Kubernetes. Reconciles CrdbTenants into
// keyspaces, certificates and SQL pods while it holds the leader Lease.
import { ConfigError, describeSettings } from '../shared/config/index.js';
import { createLogger } from '../shared/log/index.js';
import { ENV_PREFIX, loadOperatorSettings, operatorSettingsSchema } from './config.js';
import { Operator } from './operator.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help')) {
    process.stdout.write(`operator: serverless tenants on Kubernetes\n\nSettings (flag or environment):\n${describeSettings(operatorSettingsSchema, ENV_PREFIX)}\n`);
    return;
  }
  const settings = loadOperatorSettings(argv, process.env);
  const log = createLogger('operator', settings.logLevel);
  const operator = await Operator.start(settings, log);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: releasing the leader Lease');
    void operator.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`operator: invalid settings:\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`);
    process.exit(2);
  }
  process.stderr.write(`operator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
