// The ACL file, re-read when it changes. A bad edit keeps the last good rules
// (and says why in the log) rather than opening or closing every tenant.
import { readFileSync, statSync, type Stats } from 'node:fs';
import type { Logger } from '../../shared/log/index.js';
import { parseAclFile, type Acl } from './index.js';

export interface AclWatch {
  /** The rules in force. */
  current(): Acl;
  stop(): void;
}

/** Reads `path` now (throwing on a bad file: the proxy should not start with broken rules) and on every change. */
export function watchAclFile(path: string, log: Logger, intervalMs = 1000): AclWatch {
  // The stat is taken before the read: a change in between is read again on the next poll, never missed.
  let loaded = statSync(path);
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
  // Compared with what was loaded, not with the previous poll (as fs.watchFile does): an edit made
  // before watchFile's first poll would otherwise be its baseline and never be applied.
  const timer = setInterval(() => {
    let now: Stats;
    try {
      now = statSync(path);
    } catch {
      return; // between the unlink and the rename of a replacement
    }
    if (now.mtimeMs === loaded.mtimeMs && now.size === loaded.size && now.ino === loaded.ino) return;
    loaded = now;
    reload();
  }, intervalMs);
  timer.unref();
  return { current: () => rules, stop: () => clearInterval(timer) };
}
