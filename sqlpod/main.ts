// sqlpod: a tenant's SQL server. Starts unbound; the operator stamps it.
import { ConfigError, describeSettings } from '../shared/config/index.js';
import { createLogger } from '../shared/log/index.js';
import { watchParent } from '../shared/process/index.js';
import { ENV_PREFIX, loadSqlpodSettings, sqlpodSettingsSchema } from './config.js';
import { SqlPod } from './pod.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help')) {
    process.stdout.write(`sqlpod: a tenant's SQL server\n\nSettings (flag or environment):\n${describeSettings(sqlpodSettingsSchema, ENV_PREFIX)}\n`);
    return;
  }
  const settings = loadSqlpodSettings(argv, process.env);
  const log = createLogger('sqlpod', settings.logLevel);
  const pod = await SqlPod.start(settings, log);
  process.on('SIGTERM', () => pod.terminate());
  process.on('SIGINT', () => pod.terminate());
  // Orphaned: nobody is left to drain this pod or route to it, so stop at once.
  if (settings.parentPid !== undefined) watchParent(settings.parentPid, () => void pod.shutdown().then(() => process.exit(0)));
  const reason = await pod.exited;
  log.info({ reason }, 'sqlpod exited');
  process.exit(0);
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`sqlpod: invalid settings:\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`);
    process.exit(2);
  }
  process.stderr.write(`sqlpod: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
