// shoal-certs: writes the host CA and leaf certificates of an installation as PEM files.
// Exit codes: 0 done, 1 failed (missing/invalid CA, I/O), 2 bad usage.
import { parseArgs } from 'node:util';
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { CertError, createHostCA, issueCert, type CertRole, type PemPair } from './index.js';
import { hostSan, isTenantId, isTenantName } from './names.js';

const USAGE = `usage: shoal-certs <command> --dir D [flags]
  init     --dir D                                           host CA D/ca.crt, D/ca.key (never overwritten)
  tenant   --dir D --tenant-id N                             D/tenant-N.crt/.key      (tenant client)
  operator --dir D                                           D/operator.crt/.key      (operator client)
  kvpod    --dir D [--host H]...                             D/kvpod.crt/.key         (server + client)
  proxy    --dir D [--host H]...                             D/proxy.crt/.key         (server)
  sqlpod   --dir D --tenant-id N --tenant-name X [--host H]...  D/sqlpod-X.crt/.key  (server)
  dev      --dir D [--host H]...                             init + kvpod + proxy + pool + operator + tenants 2, 3
Hosts default to localhost,127.0.0.1. Flags may come from the environment instead:
SHOAL_CERTS_DIR, SHOAL_TENANT_ID, SHOAL_TENANT_NAME, SHOAL_HOSTS (comma-separated).
`;

const ENV = { dir: 'SHOAL_CERTS_DIR', 'tenant-id': 'SHOAL_TENANT_ID', 'tenant-name': 'SHOAL_TENANT_NAME', host: 'SHOAL_HOSTS' } as const;
type Flag = keyof typeof ENV;
const COMMANDS = {
  init: ['dir'],
  tenant: ['dir', 'tenant-id'],
  operator: ['dir'],
  kvpod: ['dir', 'host'],
  proxy: ['dir', 'host'],
  sqlpod: ['dir', 'tenant-id', 'tenant-name', 'host'],
  dev: ['dir', 'host'],
} as const satisfies Record<string, readonly Flag[]>;
type CommandName = keyof typeof COMMANDS;

class UsageError extends Error {}
class Failure extends Error {}

const required = (flag: Flag) => ({
  error: (iss: { input?: unknown }) => (iss.input === undefined ? `--${flag} is required (or set ${ENV[flag]})` : undefined),
});

/** A string flag whose bad value is reported as `--flag <rule>, got "<value>"`. */
function checked<T>(flag: Flag, rule: string, parse: (s: string) => T | undefined) {
  return z.string(required(flag)).transform((s, ctx): T => {
    const v = parse(s);
    if (v === undefined) {
      ctx.addIssue({ code: 'custom', message: `--${flag} ${rule}, got ${JSON.stringify(s)}` });
      return z.NEVER;
    }
    return v;
  });
}

const dir = checked('dir', 'must not be empty', (s) => (s === '' ? undefined : s));
const tenantId = checked('tenant-id', 'must be an integer >= 2', (s) => {
  const n = /^[1-9]\d*$/.test(s) ? Number(s) : NaN;
  return isTenantId(n) ? n : undefined;
});
const tenantName = checked('tenant-name', 'must be a DNS-1123 label (lowercase a-z, 0-9, inner \'-\', at most 63)', (s) =>
  isTenantName(s) ? s : undefined,
);
const host = checked('host', 'must be an IP address or a DNS name', (s) => (hostSan(s) ? s : undefined));
const hosts = z.array(host).optional();

const Command = z.discriminatedUnion('command', [
  z.object({ command: z.literal('init'), dir }),
  z.object({ command: z.literal('tenant'), dir, 'tenant-id': tenantId }),
  z.object({ command: z.literal('operator'), dir }),
  z.object({ command: z.literal('kvpod'), dir, host: hosts }),
  z.object({ command: z.literal('proxy'), dir, host: hosts }),
  z.object({ command: z.literal('sqlpod'), dir, 'tenant-id': tenantId, 'tenant-name': tenantName, host: hosts }),
  z.object({ command: z.literal('dev'), dir, host: hosts }),
]);
type Command = z.infer<typeof Command>;

const isCommand = (s: string | undefined): s is CommandName => s !== undefined && Object.hasOwn(COMMANDS, s);

function parseCommand(argv: string[], env: NodeJS.ProcessEnv): Command | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        dir: { type: 'string' },
        'tenant-id': { type: 'string' },
        'tenant-name': { type: 'string' },
        host: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    // node's messages go on with advice on quoting; the first sentence is the diagnosis
    throw new UsageError((e instanceof Error ? e.message : String(e)).split(/\.(\s|$)/)[0]);
  }
  const { values, positionals } = parsed;
  const [name, ...extra] = positionals;
  if (values.help || name === 'help') return 'help';
  if (name === undefined) throw new UsageError('missing command');
  if (!isCommand(name)) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
  if (extra.length) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  const allowed: readonly Flag[] = COMMANDS[name];
  const input: Record<string, unknown> = { command: name };
  for (const flag of Object.keys(ENV) as Flag[]) {
    const given = values[flag];
    if (given !== undefined && !allowed.includes(flag)) throw new UsageError(`--${flag} does not apply to ${name}`);
    // Only applicable env vars are read, so one environment can serve every command.
    if (!allowed.includes(flag)) continue;
    const fromEnv = env[ENV[flag]];
    input[flag] = given ?? (flag === 'host' ? fromEnv?.split(/[\s,]+/).filter(Boolean) : fromEnv);
  }
  const result = Command.safeParse(input);
  if (!result.success) throw new UsageError(result.error.issues[0]?.message ?? 'invalid flags');
  return result.data;
}

const exists = (e: unknown): boolean => (e as NodeJS.ErrnoException | null)?.code === 'EEXIST';

/** Writes via a temp file so readers never see a partial file and the mode is set at creation. */
async function writeAtomic(path: string, data: string, mode: number, overwrite: boolean): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, data, { mode, flag: 'wx' });
  try {
    // link() fails if the target exists, which makes "never overwrite" race-free
    await (overwrite ? rename(tmp, path) : link(tmp, path));
  } finally {
    await unlink(tmp).catch(() => {}); // already gone after a rename
  }
}

async function writePair(d: string, base: string, pair: PemPair, overwrite = true): Promise<string[]> {
  const key = join(d, `${base}.key`);
  const crt = join(d, `${base}.crt`);
  await writeAtomic(key, pair.keyPem, 0o600, overwrite); // key first: a cert is never published without its key
  await writeAtomic(crt, pair.certPem, 0o644, overwrite);
  return [crt, key];
}

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function init(d: string, out: string[]): Promise<PemPair> {
  await mkdir(d, { recursive: true, mode: 0o700 });
  const [certPem, keyPem] = await Promise.all([readIfPresent(join(d, 'ca.crt')), readIfPresent(join(d, 'ca.key'))]);
  if (certPem !== undefined && keyPem !== undefined) {
    process.stdout.write(`host CA already exists in ${d} (ca.crt, ca.key); not overwriting\n`);
    return { certPem, keyPem };
  }
  if (certPem !== undefined || keyPem !== undefined) {
    const [has, lacks] = certPem !== undefined ? ['ca.crt', 'ca.key'] : ['ca.key', 'ca.crt'];
    throw new Failure(`${join(d, has)} exists without ${lacks}; refusing to replace part of a host CA`);
  }
  const ca = await createHostCA();
  try {
    out.push(...(await writePair(d, 'ca', ca, false)));
  } catch (e) {
    if (exists(e)) throw new Failure(`host CA in ${d} appeared while writing one; left it alone`);
    throw e;
  }
  return ca;
}

async function loadCA(d: string): Promise<PemPair> {
  const [certPem, keyPem] = await Promise.all([readIfPresent(join(d, 'ca.crt')), readIfPresent(join(d, 'ca.key'))]);
  if (certPem === undefined || keyPem === undefined) throw new Failure(`no host CA in ${d} (run: shoal-certs init --dir ${d})`);
  return { certPem, keyPem };
}

function leaves(cmd: Command): [string, CertRole][] {
  switch (cmd.command) {
    case 'init':
      return [];
    case 'tenant':
      return [[`tenant-${cmd['tenant-id']}`, { kind: 'tenant-client', tenantId: cmd['tenant-id'] }]];
    case 'operator':
      return [['operator', { kind: 'operator-client' }]];
    case 'kvpod':
      return [['kvpod', { kind: 'kvpod-server', hosts: cmd.host }]];
    case 'proxy':
      return [['proxy', { kind: 'proxy-server', hosts: cmd.host }]];
    case 'sqlpod': {
      const name = cmd['tenant-name'];
      return [[`sqlpod-${name}`, { kind: 'sqlpod-server', tenantId: cmd['tenant-id'], tenantName: name, hosts: cmd.host }]];
    }
    case 'dev':
      return [
        ['kvpod', { kind: 'kvpod-server', hosts: cmd.host }],
        ['proxy', { kind: 'proxy-server', hosts: cmd.host }],
        ['pool', { kind: 'pool-server', hosts: cmd.host }],
        ['operator', { kind: 'operator-client' }],
        ['tenant-2', { kind: 'tenant-client', tenantId: 2 }],
        ['tenant-3', { kind: 'tenant-client', tenantId: 3 }],
      ];
  }
}

async function main(argv: string[]): Promise<number> {
  let cmd: Command | 'help';
  try {
    cmd = parseCommand(argv, process.env);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`shoal-certs: ${e.message}\n`);
    if (/^(missing|unknown) command/.test(e.message)) process.stderr.write(USAGE);
    return 2;
  }
  if (cmd === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const written: string[] = [];
  try {
    const ca = cmd.command === 'init' || cmd.command === 'dev' ? await init(cmd.dir, written) : await loadCA(cmd.dir);
    for (const [base, role] of leaves(cmd)) written.push(...(await writePair(cmd.dir, base, await issueCert(ca, role))));
    for (const f of written) process.stdout.write(`wrote ${f}\n`);
    return 0;
  } catch (e) {
    for (const f of written) process.stdout.write(`wrote ${f}\n`);
    process.stderr.write(`shoal-certs: ${e instanceof Error ? e.message : String(e)}\n`);
    return e instanceof CertError && e.code !== 'INVALID_CA' ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
