// The demo's data directory: one demo at a time (a lock file with its PID),
// the installation's certificates and credentials made once and kept, so a
// restart finds the same tenants and passwords.
import { randomBytes } from 'node:crypto';
import { closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, accessSync, unlinkSync, writeSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { createHostCA, issueCert, type PemPair } from '../shared/certs/index.js';

export class DataDirError extends Error {
  override readonly name = 'DataDirError';
}

export interface DataDir {
  readonly path: string;
  readonly logDir: string;
  readonly kvDir: string;
  readonly certDir: string;
  /** Releases the lock. */
  unlock(): void;
}

/** Creates (if needed) and locks the data directory; a clear error if it is unusable or in use. */
export function openDataDir(dir: string): DataDir {
  const path = resolve(dir);
  try {
    mkdirSync(path, { recursive: true });
    accessSync(path, constants.W_OK);
  } catch (e) {
    throw new DataDirError(`data directory ${path} is not usable: ${e instanceof Error ? e.message : String(e)}; choose another with --data-dir`);
  }
  const lockFile = join(path, 'demo.lock');
  lock(lockFile);
  const sub = (name: string) => {
    const p = join(path, name);
    mkdirSync(p, { recursive: true });
    return p;
  };
  return {
    path,
    logDir: sub('logs'),
    kvDir: join(path, 'kvpod'),
    certDir: sub('certs'),
    unlock: () => {
      try {
        if (readFileSync(lockFile, 'utf8').trim() === String(process.pid)) unlinkSync(lockFile);
      } catch {
        // already gone
      }
    },
  };
}

function lock(lockFile: string): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new DataDirError(`cannot create ${lockFile}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const holder = Number(readFileSync(lockFile, 'utf8').trim());
    if (Number.isSafeInteger(holder) && holder > 0 && alive(holder)) {
      throw new DataDirError(`another demo (pid ${holder}) is using ${resolve(lockFile, '..')}; stop it first, or give this one its own --data-dir`);
    }
    // Left by a demo that was killed: take it over.
    unlinkSync(lockFile);
  }
  throw new DataDirError(`could not lock ${lockFile}: another demo is starting on the same directory`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The certificates one demo installation runs on, as PEM, and the CA file path clients verify with. */
export interface DemoCerts {
  readonly caPath: string;
  readonly ca: PemPair;
  readonly kvpod: { cert: string; key: string };
  readonly pool: { cert: string; key: string };
  readonly operator: PemPair;
  readonly proxy: PemPair;
  readonly systemSql: PemPair;
}

const HOSTS = ['127.0.0.1', 'localhost'];

/** Loads the installation's certificates, creating them on the first start. */
export async function ensureCerts(certDir: string): Promise<DemoCerts> {
  const file = (name: string) => join(certDir, name);
  const pair = async (name: string, make: () => Promise<PemPair>): Promise<PemPair> => {
    if (existsSync(file(`${name}.crt`)) && existsSync(file(`${name}.key`))) {
      return { certPem: await readFile(file(`${name}.crt`), 'utf8'), keyPem: await readFile(file(`${name}.key`), 'utf8') };
    }
    const made = await make();
    await writeFile(file(`${name}.key`), made.keyPem, { mode: 0o600 });
    await writeFile(file(`${name}.crt`), made.certPem);
    return made;
  };
  const ca = await pair('ca', () => createHostCA({ commonName: 'Shoal demo host CA' }));
  const [, , operator, proxy, systemSql] = await Promise.all([
    pair('kvpod', () => issueCert(ca, { kind: 'kvpod-server', hosts: HOSTS })),
    pair('pool', () => issueCert(ca, { kind: 'pool-server', hosts: HOSTS })),
    pair('operator', () => issueCert(ca, { kind: 'operator-client' })),
    pair('proxy', () => issueCert(ca, { kind: 'proxy-server', hosts: HOSTS })),
    pair('system-sql', () => issueCert(ca, { kind: 'system-sql-server', hosts: HOSTS })),
  ]);
  return {
    caPath: file('ca.crt'),
    ca,
    kvpod: { cert: file('kvpod.crt'), key: file('kvpod.key') },
    pool: { cert: file('pool.crt'), key: file('pool.key') },
    operator,
    proxy,
    systemSql,
  };
}

const credentialsSchema = z.object({
  system: z.object({ username: z.string().min(1), password: z.string().min(8) }),
  tenantAdmin: z.object({ username: z.string().min(1), password: z.string().min(8) }),
});
export type DemoCredentials = z.infer<typeof credentialsSchema>;

/** The system admin's and the tenants' admin credentials: made on the first start, then read. */
export async function ensureCredentials(dir: string): Promise<DemoCredentials> {
  const file = join(dir, 'credentials.json');
  if (existsSync(file)) {
    const parsed = credentialsSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    if (!parsed.success) throw new DataDirError(`${file} is damaged: ${parsed.error.issues.map((i) => i.message).join('; ')}; remove it to make new credentials`);
    return parsed.data;
  }
  const made: DemoCredentials = {
    system: { username: 'root', password: newPassword() },
    tenantAdmin: { username: 'admin', password: newPassword() },
  };
  await writeFile(file, `${JSON.stringify(made, null, 2)}\n`, { mode: 0o600 });
  return made;
}

function newPassword(): string {
  return randomBytes(12).toString('base64url');
}
