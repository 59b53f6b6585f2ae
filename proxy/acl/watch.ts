// The ACL file, re-read when it changes. A bad edit keeps the last good rules
// (and says why in the log) rather than opening or closing every tenant.
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { Logger } from '../../shared/log/index.js';
import { parseAclFile, type Acl } from './index.js';

export interface AclWatch {
  /** The rules in force. */
  current(): Acl;
  stop(): void;
}

/** Reads `path` now (throwing on a bad file: the proxy should not start with broken rules) and on every change. */
export function watchAclFile(path: string, log: Logger, intervalMs = 1000): AclWatch {
  let rules = parseAclFile(readFileSync(path, 'utf8'));
  const reload = () => {
    try {
      rules = parseAclFile(readFileSync(path, 'utf8'));
      log.info({ path, tenants: rules.tenants.size }, 'ACL file reloaded');
    } catch (err) {
      log.error({ path, err: err instanceof Error ? err.message : String(err) }, 'ACL file not reloaded; keeping the previous rules');
    }
  };
  // Polling rather than fs.watch: it also sees files replaced by rename (editors, Kubernetes ConfigMap updates).
  watchFile(path, { interval: intervalMs, persistent: false }, (now, before) => {
    if (now.mtimeMs !== before.mtimeMs || now.size !== before.size || now.ino !== before.ino) reload();
  });
  return { current: () => rules, stop: () => unwatchFile(path) };
}
