import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { createLogger } from '../../shared/log/index.js';
import { decide } from './index.js';
import { watchAclFile } from './watch.js';

it('applies an edited ACL file and keeps the last good rules when an edit is broken', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'shoal-acl-')), 'acl.json');
  writeFileSync(path, JSON.stringify({ tenants: { acme: { deny: ['10.0.0.0/8'] } } }));
  const watch = watchAclFile(path, createLogger('proxy', 'silent'), 20);
  try {
    expect(decide(watch.current(), 'acme', '10.1.2.3').allowed).toBe(false);
    writeFileSync(path, JSON.stringify({ tenants: { acme: { allow: ['10.0.0.0/8'] } } }));
    await until(() => decide(watch.current(), 'acme', '10.1.2.3').allowed);
    expect(decide(watch.current(), 'acme', '192.168.0.1').allowed).toBe(false);
    writeFileSync(path, '{ "tenants": { "acme": { "allow": ["10.0.0.1/8"] } } } and some junk');
    await new Promise((r) => setTimeout(r, 200));
    expect(decide(watch.current(), 'acme', '10.1.2.3').allowed).toBe(true);
  } finally {
    watch.stop();
  }
  expect(() => watchAclFile(join(tmpdir(), 'no-such-acl.json'), createLogger('proxy', 'silent'))).toThrow();
});

async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 20));
  expect(done()).toBe(true);
}
