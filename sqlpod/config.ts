import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { duration, hostPort, loadSettings } from '../shared/config/index.js';

export const ENV_PREFIX = 'SHOAL_SQL';

const MiB = 1024 * 1024;
const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, kib: 1024, kb: 1000, mib: MiB, mb: 1e6, gib: 1024 * MiB, gb: 1e9 };

/** A size such as "64MiB", "512MB", "1GiB" (or a bare number of bytes), as bytes. */
const bytes = z.union([z.number(), z.string()]).transform((raw, ctx) => {
  if (typeof raw === 'number') return raw;
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(raw.trim());
  const unit = BYTE_UNITS[(match?.[2] ?? '').toLowerCase()];
  if (!match || unit === undefined) {
    ctx.addIssue({ code: 'custom', message: 'expected a size like 64MiB, 512MB or 1GiB' });
    return z.NEVER;
  }
  return Math.round(Number(match[1]) * unit);
});

export const sqlpodSettingsSchema = z.object({
  controlListen: hostPort.default('127.0.0.1:8443').describe('HTTPS (mutual TLS, operator only): POST /stamp while unbound, then POST /drain and /undrain'),
  sqlListen: hostPort.default('127.0.0.1:5433').describe('PostgreSQL port, opened once the pod is stamped'),
  opsListen: hostPort.default('127.0.0.1:8080').describe('HTTP: /metrics, /load, /healthz, /readyz'),
  caCert: z.string().min(1).default('state/certs/ca.crt').describe('host CA certificate (PEM)'),
  cert: z.string().min(1).default('state/certs/pool.crt').describe("the control endpoint's certificate (PEM)"),
  key: z.string().min(1).default('state/certs/pool.key').describe("the control endpoint's key (PEM)"),
  drainLimit: duration.pipe(z.number().int().min(0)).default(10 * 60_000).describe('how long a draining pod waits for its sessions'),
  maxSessions: z.coerce.number().int().positive().default(100).describe('most concurrent sessions'),
  maxQueryMemory: bytes.pipe(z.number().int().positive()).default(64 * MiB).describe("most memory one statement's sorts, hash tables and groups may hold (53200 beyond)"),
  maxSqlMemory: bytes
    .pipe(z.number().int().positive())
    .optional()
    .describe('most memory all statements may hold together (53200 beyond; default a quarter of the cgroup memory limit, else 512MiB)'),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info').describe('log level'),
  parentPid: z.coerce.number().int().positive().optional().describe('stop when this process is no longer the parent (set by a local orchestrator such as the demo)'),
});

export type SqlpodSettings = z.infer<typeof sqlpodSettingsSchema>;

/** --max-sql-memory, or a quarter of the container's memory limit (cgroup v2, then v1), or 512 MiB. */
export function sqlMemoryLimit(settings: Pick<SqlpodSettings, 'maxSqlMemory'>, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): number {
  if (settings.maxSqlMemory !== undefined) return settings.maxSqlMemory;
  for (const path of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    let text: string;
    try {
      text = read(path).trim();
    } catch {
      continue;
    }
    const limit = Number(text);
    // "max" (v2) or a value near 2^63 (v1) means no limit.
    if (Number.isSafeInteger(limit) && limit > 0) return Math.floor(limit / 4);
  }
  return 512 * MiB;
}

export function loadSqlpodSettings(argv: string[], env: NodeJS.ProcessEnv): SqlpodSettings {
  return loadSettings(sqlpodSettingsSchema, ENV_PREFIX, argv, env);
}
