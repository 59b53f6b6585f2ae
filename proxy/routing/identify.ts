// Which tenant a new connection is for (design brief, "Routing"), decided from
// the startup packet and the TLS SNI alone, before any backend is contacted.
// Like CockroachDB's sqlproxy, the options flag and the database prefix are
// explicit, so they must agree; SNI is the last resort and never conflicts,
// because drivers send it whether or not the user meant it as an identifier
// (a client of `proxy.shoal.example.com` passing --cluster=acme must work).
import { isIP } from 'node:net';
import { splitStartupOptions } from '../../shared/pgwire/index.js';
import { TENANT_NAME } from '../../shared/keys/index.js';

export type IdentifyMethod = 'options' | 'database' | 'sni';
export type IdentifyErrorCode = 'MISSING' | 'CONFLICT' | 'INVALID_NAME';

export type Identification =
  | { ok: true; tenant: string; method: IdentifyMethod; params: Record<string, string> }
  | { ok: false; code: IdentifyErrorCode; message: string };

/** Every identification failure is a FATAL 08004 (sqlserver_rejected_establishment_of_sqlconnection). */
export const IDENTIFY_SQLSTATE: Readonly<Record<IdentifyErrorCode, string>> = {
  MISSING: '08004',
  CONFLICT: '08004',
  INVALID_NAME: '08004',
};

export const HOW_TO_IDENTIFY =
  'connect with options=--cluster=<tenant> (psql: "options=--cluster=<tenant>" in the connection string), ' +
  'or database <tenant>.<database>, or a host name <tenant>.<proxy domain>';

type Refused = Extract<Identification, { ok: false }>;
const fail = (code: IdentifyErrorCode, message: string): Refused => ({ ok: false, code, message });

/** Lets the parsers below stop at the first problem; identifyTenant turns it back into a result. */
class Refusal extends Error {
  constructor(readonly result: Refused) {
    super(result.message);
  }
}

function checkName(name: string, source: string): string {
  if (TENANT_NAME.test(name)) return name;
  const lower = name.toLowerCase();
  const hint = lower !== name && TENANT_NAME.test(lower) ? ` (tenant names are lowercase: did you mean "${lower}"?)` : '';
  const why = name === '' ? 'is empty' : 'is not a valid tenant name (lowercase letters, digits and "-", at most 63)';
  throw new Refusal(fail('INVALID_NAME', `cluster name "${name}" from ${source} ${why}${hint}`));
}

/** libpq-style escaping, the inverse of splitStartupOptions. */
const escapeOption = (arg: string): string => arg.replace(/[\s\\]/g, '\\$&');

/**
 * Finds `--cluster=<name>`, `-ccluster=<name>` and `-c cluster=<name>` the way
 * PostgreSQL reads its command-line options (left to right, `-c` takes the
 * next argument), so `-c --cluster=x` is not mistaken for the flag.
 */
function fromOptions(options: string | undefined): { tenant?: string; rest?: string } {
  if (options === undefined) return {};
  const args = splitStartupOptions(options);
  const kept: string[] = [];
  const names = new Set<string>();
  for (let i = 0; i < args.length; ) {
    const arg = args[i] ?? '';
    const separate = arg === '-c' && i + 1 < args.length;
    const setting = separate ? (args[i + 1] ?? '') : /^(--|-c)/.test(arg) ? arg.slice(2) : '';
    const next = i + (separate ? 2 : 1);
    if (setting.startsWith('cluster=')) names.add(checkName(setting.slice('cluster='.length), 'the options parameter'));
    else kept.push(...args.slice(i, next));
    i = next;
  }
  if (names.size > 1) {
    throw new Refusal(fail('CONFLICT', `options name several clusters: ${[...names].join(', ')}`));
  }
  const [tenant] = names;
  if (tenant === undefined) return {};
  return { tenant, rest: kept.map(escapeOption).join(' ') };
}

/** `<tenant>.<database>`: the first dot separates them, so the database may contain dots. */
function fromDatabase(database: string | undefined): { tenant?: string; database?: string } {
  const dot = database?.indexOf('.') ?? -1;
  if (database === undefined || dot < 0) return {};
  const tenant = checkName(database.slice(0, dot), `database "${database}"`);
  const rest = database.slice(dot + 1);
  if (rest === '') {
    throw new Refusal(fail('INVALID_NAME', `database "${database}" names no database after the tenant: use ${tenant}.<database>`));
  }
  return { tenant, database: rest };
}

/**
 * Host names are case-insensitive, so unlike the other methods SNI is
 * lowercased. Anything that is not `<valid label>.<at least two labels>` is
 * ignored rather than refused: the client did not necessarily mean it.
 */
function fromSni(sni: string | undefined): string | undefined {
  if (sni === undefined || isIP(sni) !== 0) return undefined;
  const labels = sni.toLowerCase().replace(/\.$/, '').split('.');
  const first = labels[0] ?? '';
  return labels.length >= 3 && TENANT_NAME.test(first) ? first : undefined;
}

/**
 * Decides the tenant of a connection from its startup parameters and TLS SNI
 * server name, and the parameters to forward: the cluster flag removed from
 * `options` (dropped when nothing else is left) and the tenant prefix removed
 * from `database`.
 */
export function identifyTenant(params: Readonly<Record<string, string>>, sni: string | undefined): Identification {
  try {
    const opt = fromOptions(params['options']);
    const db = fromDatabase(params['database']);
    if (opt.tenant !== undefined && db.tenant !== undefined && opt.tenant !== db.tenant) {
      return fail(
        'CONFLICT',
        `conflicting cluster identifiers: "${opt.tenant}" in options but "${db.tenant}" in database "${params['database']}"`,
      );
    }
    // Startup parameters come from the network: a null prototype keeps a key such as __proto__ inert.
    const out = Object.assign(Object.create(null) as Record<string, string>, params);
    if (opt.rest !== undefined) {
      if (opt.rest === '') delete out['options'];
      else out['options'] = opt.rest;
    }
    if (db.database !== undefined) out['database'] = db.database;
    if (opt.tenant !== undefined) return { ok: true, tenant: opt.tenant, method: 'options', params: out };
    if (db.tenant !== undefined) return { ok: true, tenant: db.tenant, method: 'database', params: out };
    const sniTenant = fromSni(sni);
    if (sniTenant !== undefined) return { ok: true, tenant: sniTenant, method: 'sni', params: out };
    return fail('MISSING', `missing cluster identifier: ${HOW_TO_IDENTIFY}`);
  } catch (err) {
    if (err instanceof Refusal) return err.result;
    throw err;
  }
}
