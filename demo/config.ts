import { z } from 'zod';
import { duration, hostPort, loadSettings } from '../shared/config/index.js';
import { SYSTEM_TENANT_NAME, TENANT_NAME } from '../shared/keys/index.js';

export const ENV_PREFIX = 'SHOAL_DEMO';

const tenantList = z
  .string()
  .transform((s) => s.split(',').map((t) => t.trim()).filter((t) => t !== ''))
  .superRefine((names, ctx) => {
    for (const name of names) {
      if (name === SYSTEM_TENANT_NAME) ctx.addIssue({ code: 'custom', message: `"${name}" is reserved for the system tenant` });
      else if (!TENANT_NAME.test(name)) {
        ctx.addIssue({ code: 'custom', message: `tenant name "${name}" is not a DNS label (lowercase letters, digits and '-', at most 63 characters)` });
      }
    }
    if (new Set(names).size !== names.length) ctx.addIssue({ code: 'custom', message: 'tenant names repeat' });
  });

const cores = z.coerce.number().positive();

export const demoSettingsSchema = z.object({
  dataDir: z.string().min(1).default('state/demo').describe('where the kvpod keeps its data, and the certificates, credentials and logs'),
  listen: hostPort.default('127.0.0.1:6432').describe('the proxy: every tenant\'s PostgreSQL clients connect here'),
  tenants: tenantList.default(['acme', 'globex']).describe('virtual clusters created at start if missing (comma-separated DNS labels)'),
  poolSize: z.coerce.number().int().min(1).max(32).default(2).describe('prewarmed unbound SQL pods kept ready'),
  maxReplicas: z.coerce.number().int().min(1).max(16).default(3).describe('most SQL pods per tenant'),
  idleTimeout: duration.pipe(z.number().int().min(0)).default(30_000).describe('a tenant with no session this long is suspended (0 = never)'),
  scaleDownDelay: duration.pipe(z.number().int().min(0)).default(60_000).describe('a scale-down waits this long after the last change of the pod count'),
  cpuWindow: duration.pipe(z.number().int().min(1000)).default(5 * 60_000).describe('the window of the average and peak CPU that size a tenant'),
  sampleInterval: duration.pipe(z.number().int().min(100)).default(2000).describe("how often each SQL pod's /load is read"),
  targetAverageCpu: cores.default(0.6).describe('cores per pod the average CPU should stay under'),
  targetPeakCpu: cores.default(0.9).describe('cores per pod the peak CPU should stay under'),
  drainLimit: duration.pipe(z.number().int().min(0)).default(60_000).describe('how long a draining pod waits for its sessions'),
  resumeTimeout: duration.pipe(z.number().int().min(100)).default(30_000).describe('how long a client waits for a suspended tenant to resume'),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info').describe('level of the log files under <data-dir>/logs'),
});

export type DemoSettings = z.infer<typeof demoSettingsSchema>;

export function loadDemoSettings(argv: string[], env: NodeJS.ProcessEnv): DemoSettings {
  return loadSettings(demoSettingsSchema, ENV_PREFIX, argv, env);
}
