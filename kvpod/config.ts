import { z } from 'zod';
import { duration, hostPort, loadSettings } from '../shared/config/index.js';

export const ENV_PREFIX = 'SHOAL_KV';

const size = z.coerce.number().int().positive();

export const kvpodSettingsSchema = z.object({
  listen: hostPort.default('127.0.0.1:26257').describe('gRPC address to listen on'),
  advertise: hostPort.optional().describe('address other parties use to reach this kvpod (default: --listen)'),
  metricsListen: hostPort.default('127.0.0.1:26258').describe('HTTP address for /metrics, /healthz and /readyz'),
  dataDir: z.string().min(1).default('state/kvpod').describe('RocksDB data directory (one per kvpod)'),
  caCert: z.string().min(1).default('state/certs/ca.crt').describe('host CA certificate (PEM)'),
  cert: z.string().min(1).default('state/certs/kvpod.crt').describe('serving certificate (PEM)'),
  key: z.string().min(1).default('state/certs/kvpod.key').describe('serving key (PEM)'),
  rangeLayout: z.string().optional().describe('JSON file of ranges and their kvpods (default: this kvpod holds everything)'),
  gcTtl: duration.pipe(z.number().int().min(1000)).default(4 * 3_600_000).describe('how long old MVCC versions stay readable'),
  gcInterval: duration.pipe(z.number().int().min(100)).default(60_000).describe('how often garbage collection runs'),
  conflictWindow: duration.pipe(z.number().int().min(100)).default(60_000).describe('how long a transaction may run and still commit'),
  maxClockOffset: duration.pipe(z.number().int().min(1)).default(500).describe('largest accepted clock skew of a caller'),
  maxKeyBytes: size.default(16 * 1024).describe('largest key'),
  maxValueBytes: size.default(8 * 1024 * 1024).describe('largest value'),
  maxBatchMutations: size.default(250_000).describe('most mutations in one commit'),
  maxBatchBytes: size.default(32 * 1024 * 1024).describe('largest commit, keys plus values'),
  maxRequestKeys: size.default(10_000).describe('most keys or spans in one read request or read set'),
  maxRangeDeleteKeys: size.default(250_000).describe('most live keys one range deletion may remove'),
  scanPageKeys: size.default(10_000).describe('most pairs in one scan page'),
  scanPageBytes: size.default(4 * 1024 * 1024).describe('most bytes in one scan page'),
  shutdownTimeout: duration.default(30_000).describe('how long SIGTERM waits for in-flight work'),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info').describe('log level'),
  parentPid: z.coerce.number().int().positive().optional().describe('stop when this process is no longer the parent (set by a local orchestrator such as the demo)'),
});

export type KvpodSettings = z.infer<typeof kvpodSettingsSchema>;

export function loadKvpodSettings(argv: string[], env: NodeJS.ProcessEnv): KvpodSettings {
  return loadSettings(kvpodSettingsSchema, ENV_PREFIX, argv, env);
}
