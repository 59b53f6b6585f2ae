import { z } from 'zod';
import { duration, hostPort, loadSettings } from '../shared/config/index.js';

export const ENV_PREFIX = 'SHOAL_SQL';

export const sqlpodSettingsSchema = z.object({
  controlListen: hostPort.default('127.0.0.1:8443').describe('HTTPS (mutual TLS, operator only): POST /stamp while unbound, then POST /drain and /undrain'),
  sqlListen: hostPort.default('127.0.0.1:5433').describe('PostgreSQL port, opened once the pod is stamped'),
  opsListen: hostPort.default('127.0.0.1:8080').describe('HTTP: /metrics, /load, /healthz, /readyz'),
  caCert: z.string().min(1).default('state/certs/ca.crt').describe('host CA certificate (PEM)'),
  cert: z.string().min(1).default('state/certs/pool.crt').describe("the control endpoint's certificate (PEM)"),
  key: z.string().min(1).default('state/certs/pool.key').describe("the control endpoint's key (PEM)"),
  drainLimit: duration.pipe(z.number().int().min(0)).default(10 * 60_000).describe('how long a draining pod waits for its sessions'),
  maxSessions: z.coerce.number().int().positive().default(100).describe('most concurrent sessions'),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info').describe('log level'),
  parentPid: z.coerce.number().int().positive().optional().describe('stop when this process is no longer the parent (set by a local orchestrator such as the demo)'),
});

export type SqlpodSettings = z.infer<typeof sqlpodSettingsSchema>;

export function loadSqlpodSettings(argv: string[], env: NodeJS.ProcessEnv): SqlpodSettings {
  return loadSettings(sqlpodSettingsSchema, ENV_PREFIX, argv, env);
}
