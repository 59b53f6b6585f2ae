// Settings of every Shoal binary: one zod schema per component; each field
// can be given as a flag (--data-dir=/x or --data-dir /x) or as an environment
// variable (SHOAL_<COMPONENT>_DATA_DIR). Flags win. Every bad setting is
// reported at once, by the name the user typed.
import { z } from 'zod';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration such as "250ms", "90s", "10m", "4h" (or a bare number of milliseconds), as milliseconds. */
export const duration = z.union([z.number(), z.string()]).transform((raw, ctx) => {
  if (typeof raw === 'number') return raw;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(raw.trim());
  if (!match) {
    ctx.addIssue({ code: 'custom', message: "expected a duration like 250ms, 90s, 10m or 4h" });
    return z.NEVER;
  }
  return Math.round(Number(match[1]) * (UNITS[match[2] ?? 'ms'] ?? 1));
});

/** A host:port address. */
export const hostPort = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'expected host:port');

/** Splits a host:port address (IPv6 hosts in brackets lose them). */
export function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(i + 1)) };
}

export const boolean = z.union([z.boolean(), z.enum(['true', 'false', '1', '0'])]).transform((v) => v === true || v === 'true' || v === '1');

function kebab(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function envName(prefix: string, field: string): string {
  return `${prefix}_${kebab(field).replace(/-/g, '_').toUpperCase()}`;
}

export function parseFlags(argv: string[]): { flags: Map<string, string>; problems: string[] } {
  const flags = new Map<string, string>();
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const match = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(arg);
    if (!match?.[1]) {
      problems.push(`unexpected argument "${arg}"`);
      continue;
    }
    const next = argv[i + 1];
    const value = match[2] ?? (next !== undefined && !next.startsWith('--') ? (i++, next) : 'true');
    flags.set(match[1], value);
  }
  return { flags, problems };
}

/**
 * Reads the settings described by `schema` from flags and environment.
 * `envPrefix` is e.g. "SHOAL_KV". Throws ConfigError listing every problem.
 */
export function loadSettings<S extends z.ZodObject>(
  schema: S,
  envPrefix: string,
  argv: string[],
  env: NodeJS.ProcessEnv,
): z.infer<S> {
  const { flags, problems } = parseFlags(argv);
  const fields = Object.keys(schema.shape);
  const known = new Set(fields.map(kebab));
  for (const flag of flags.keys()) {
    if (!known.has(flag)) problems.push(`unknown flag --${flag} (known: ${[...known].map((f) => `--${f}`).join(', ')})`);
  }
  const raw: Record<string, string> = {};
  for (const field of fields) {
    const value = flags.get(kebab(field)) ?? env[envName(envPrefix, field)];
    if (value !== undefined && value !== '') raw[field] = value;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = String(issue.path[0] ?? '');
      const given = raw[field];
      problems.push(
        `--${kebab(field)} (${envName(envPrefix, field)}): ${issue.message}${given === undefined ? '' : ` (got "${given}")`}`,
      );
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return parsed.data as z.infer<S>;
}

/** One line per setting, from the schema's descriptions, for --help. */
export function describeSettings(schema: z.ZodObject, envPrefix: string): string {
  return Object.entries(schema.shape)
    .map(([field, type]) => {
      const description = (type as z.ZodType).description ?? '';
      return `  --${kebab(field)}  (${envName(envPrefix, field)})  ${description}`;
    })
    .join('\n');
}
