// The proxy's JSON files (static routing, access control): parsed with zod,
// every problem reported at once with where it is, so one edit fixes them all.
import { z } from 'zod';
import { TENANT_NAME } from '../../shared/keys/index.js';

export class FileFormatError extends Error {
  override readonly name = 'FileFormatError';
  constructor(
    readonly what: string,
    readonly problems: readonly string[],
  ) {
    super(`${what}: ${problems.join('; ')}`);
  }
}

const formatPath = (path: readonly PropertyKey[]): string =>
  path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('') || '(top level)';

/** Parses `text` as JSON and validates it; throws FileFormatError naming `what` (e.g. "ACL file"). */
export function parseJsonFile<S extends z.ZodType>(text: string, schema: S, what: string): z.output<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new FileFormatError(what, [`not valid JSON (${(err as Error).message})`]);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new FileFormatError(what, parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`));
  return parsed.data;
}

/**
 * A record keyed by tenant name. A misspelt or uppercase key would otherwise
 * configure nobody without a word; its value is still checked, so all
 * problems show at once.
 */
export const tenantRecord = <V extends z.ZodType>(value: V) =>
  z.record(z.string(), value).superRefine(
    (record, ctx) => {
      for (const name of Object.keys(record)) {
        if (TENANT_NAME.test(name)) continue;
        const message = `"${name}" is not a valid tenant name (a DNS-1123 label: lowercase letters, digits and "-")`;
        ctx.addIssue({ code: 'custom', path: [name], message });
      }
    },
    // zod skips refinements after a failed value; names are worth checking whenever there is an object.
    { when: (payload) => typeof payload.value === 'object' && payload.value !== null },
  );
