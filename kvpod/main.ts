// kvpod: Shoal's shared storage server.
import { ConfigError, describeSettings } from '../shared/config/index.js';
import { createLogger } from '../shared/log/index.js';
import { watchParent } from '../shared/process/index.js';
import { ENV_PREFIX, kvpodSettingsSchema, loadKvpodSettings } from './config.js';
import { KvNode, StartupError } from './node.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help')) {
    process.stdout.write(`kvpod: Shoal's shared storage server\n\nSettings (flag or environment):\n${describeSettings(kvpodSettingsSchema, ENV_PREFIX)}\n`);
    return;
  }
  const settings = loadKvpodSettings(argv, process.env);
  const log = createLogger('kvpod', settings.logLevel);
  const node = await KvNode.start(settings, log);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    node.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  if (settings.parentPid !== undefined) watchParent(settings.parentPid, () => stop('parent gone'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`kvpod: invalid settings:\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`);
    process.exit(2);
  }
  if (err instanceof StartupError) {
    process.stderr.write(`kvpod: ${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`kvpod: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
