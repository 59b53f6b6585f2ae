// Session variables (SET / SHOW / RESET) and which of them are reported to
// the client in ParameterStatus, as PostgreSQL's GUC_REPORT ones are.
import { SQLSTATE, SqlError } from './errors.js';
import { JOIN_STRATEGIES, type JoinStrategy } from './plan/join-choice.js';

export const SERVER_VERSION = '16.4';
export const SERVER_VERSION_NUM = '160004';

interface Setting {
  readonly value: string;
  readonly reported?: boolean;
  readonly readOnly?: boolean;
  /** Normalizes a new value or throws; absent = any value. */
  readonly check?: (v: string) => string;
}

const TRUE_FALSE = (v: string): string => {
  const l = v.toLowerCase();
  if (['on', 'true', 'yes', '1'].includes(l)) return 'on';
  if (['off', 'false', 'no', '0'].includes(l)) return 'off';
  throw new SqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `parameter requires a Boolean value`);
};

const DEFAULTS: Record<string, Setting> = {
  application_name: { value: '', reported: true },
  client_encoding: {
    value: 'UTF8',
    reported: true,
    check: (v) => {
      if (!['utf8', 'utf-8', 'unicode'].includes(v.toLowerCase())) {
        throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `client encoding "${v}" is not supported; only UTF8 is`);
      }
      return 'UTF8';
    },
  },
  datestyle: {
    value: 'ISO, MDY',
    reported: true,
    check: (v) => {
      if (!/^\s*iso\s*(,\s*(mdy|dmy|ymd)\s*)?$/i.test(v)) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `DateStyle "${v}" is not supported; only ISO is`);
      return 'ISO, MDY';
    },
  },
  timezone: { value: 'UTC', reported: true, check: checkTimeZone },
  intervalstyle: { value: 'postgres', reported: true },
  integer_datetimes: { value: 'on', reported: true, readOnly: true },
  standard_conforming_strings: { value: 'on', reported: true, check: (v) => {
    if (TRUE_FALSE(v) !== 'on') throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'standard_conforming_strings cannot be turned off');
    return 'on';
  } },
  server_version: { value: SERVER_VERSION, reported: true, readOnly: true },
  server_version_num: { value: SERVER_VERSION_NUM, readOnly: true },
  server_encoding: { value: 'UTF8', reported: true, readOnly: true },
  is_superuser: { value: 'off', reported: true, readOnly: true },
  session_authorization: { value: '', reported: true, readOnly: true },
  default_transaction_read_only: { value: 'off', reported: true, check: TRUE_FALSE },
  in_hot_standby: { value: 'off', reported: true, readOnly: true },
  search_path: { value: '"$user", public' },
  extra_float_digits: { value: '1' },
  statement_timeout: { value: '0', check: (v) => formatMilliseconds(parseMilliseconds('statement_timeout', v)) },
  lock_timeout: { value: '0', check: (v) => formatMilliseconds(parseMilliseconds('lock_timeout', v)) },
  idle_in_transaction_session_timeout: { value: '0' },
  transaction_isolation: { value: 'serializable' },
  default_transaction_isolation: { value: 'serializable' },
  transaction_read_only: { value: 'off', readOnly: true },
  bytea_output: { value: 'hex' },
  client_min_messages: { value: 'notice' },
  max_identifier_length: { value: '63', readOnly: true },
  synchronous_commit: { value: 'on' },
  row_security: { value: 'on' },
  lc_messages: { value: 'C' },
  lc_monetary: { value: 'C' },
  lc_numeric: { value: 'C' },
  lc_time: { value: 'C' },
  escape_string_warning: { value: 'on' },
  enable_seqscan: { value: 'on' },
  work_mem: { value: '4MB' },
  // What a pg_dump script sets before its statements: accepted, with no effect here.
  check_function_bodies: { value: 'on', check: TRUE_FALSE },
  xmloption: { value: 'content' },
  default_tablespace: { value: '' },
  default_table_access_method: { value: 'heap' },
  transaction_timeout: { value: '0' },
  'shoal.join_strategy': {
    value: 'auto',
    check: (v) => {
      const l = v.toLowerCase();
      if (!(JOIN_STRATEGIES as readonly string[]).includes(l)) {
        throw new SqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `invalid value for parameter "shoal.join_strategy": "${v}"`, { hint: `Available values: ${JOIN_STRATEGIES.join(', ')}.` });
      }
      return l;
    },
  },
};

/** The spelling PostgreSQL uses in ParameterStatus for the reported ones. */
const REPORTED_NAMES: Record<string, string> = { datestyle: 'DateStyle', timezone: 'TimeZone', intervalstyle: 'IntervalStyle' };

const TIME_UNITS_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** A time setting as PostgreSQL reads it: a number with a unit (us, ms, s, min, h, d), milliseconds without one. */
export function parseMilliseconds(name: string, v: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?\s*$/.exec(v);
  const unit = TIME_UNITS_MS[m?.[2] ?? 'ms'];
  const ms = m && unit !== undefined ? Math.round(Number(m[1]) * unit) : NaN;
  if (!Number.isSafeInteger(ms) || ms > 2_147_483_647) {
    throw new SqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `invalid value for parameter "${name}": "${v}"`, {
      hint: 'Valid units for this parameter are "us", "ms", "s", "min", "h", and "d".',
    });
  }
  return ms;
}

/** How SHOW prints it: the largest unit that divides it, as PostgreSQL does. */
export function formatMilliseconds(ms: number): string {
  if (ms === 0) return '0';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['min', 60_000], ['s', 1000]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

function checkTimeZone(v: string): string {
  const trimmed = v.trim();
  if (/^[+-]?\d{1,2}(:\d{2})?$/.test(trimmed)) return trimmed;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: trimmed });
  } catch {
    throw new SqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `invalid value for parameter "TimeZone": "${v}"`);
  }
  return trimmed.toLowerCase() === 'utc' ? 'UTC' : trimmed;
}

/** The settings at some point of a transaction: what ROLLBACK and ROLLBACK TO go back to. */
export interface SettingsMark {
  readonly values: ReadonlyMap<string, string>;
  readonly local: ReadonlyMap<string, string>;
}

/** SET lasts for the session (unless its transaction rolls back), SET LOCAL to the end of the transaction. */
export type SettingScope = 'session' | 'local';

export class SessionSettings {
  private readonly values = new Map<string, string>();
  private readonly changed = new Map<string, string>();
  /** Names SET LOCAL in the open transaction, with the value each takes back when it ends. */
  private local = new Map<string, string>();

  constructor(user: string, superuser: boolean) {
    for (const [name, s] of Object.entries(DEFAULTS)) this.values.set(name, s.value);
    this.values.set('session_authorization', user);
    this.values.set('is_superuser', superuser ? 'on' : 'off');
  }

  get(name: string): string {
    const key = name.toLowerCase();
    const v = this.values.get(key);
    if (v === undefined) throw new SqlError(SQLSTATE.UNDEFINED_OBJECT, `unrecognized configuration parameter "${name}"`);
    return v;
  }

  set(name: string, value: string | null, scope: SettingScope = 'session'): void {
    const key = name.toLowerCase();
    const setting = DEFAULTS[key];
    // Custom "prefix.name" settings are allowed, as in PostgreSQL.
    if (!setting && !key.includes('.')) throw new SqlError(SQLSTATE.UNDEFINED_OBJECT, `unrecognized configuration parameter "${name}"`);
    if (setting?.readOnly) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `parameter "${name}" cannot be changed`);
    const next = value === null ? (setting?.value ?? '') : setting?.check ? setting.check(value) : value;
    if (scope === 'local') {
      if (!this.local.has(key)) this.local.set(key, this.values.get(key) ?? '');
    } else if (this.local.has(key)) {
      // A plain SET after SET LOCAL is what the session keeps once the transaction commits.
      this.local.set(key, next);
    }
    this.assign(key, next);
  }

  mark(): SettingsMark {
    return { values: new Map(this.values), local: new Map(this.local) };
  }

  /** Back to a mark: the transaction (or the part after a savepoint) rolled back. */
  restore(mark: SettingsMark): void {
    // A custom setting first made after the mark stays defined, empty (PostgreSQL keeps its placeholder).
    for (const key of this.values.keys()) if (!mark.values.has(key)) this.values.set(key, '');
    for (const [key, v] of mark.values) this.assign(key, v);
    this.local = new Map(mark.local);
  }

  /** The transaction committed: SET LOCAL values end, plain SETs stay. */
  commitTransaction(): void {
    for (const [key, v] of this.local) this.assign(key, v);
    this.local.clear();
  }

  private assign(key: string, value: string): void {
    if (this.values.get(key) === value) return;
    this.values.set(key, value);
    if (DEFAULTS[key]?.reported) this.changed.set(REPORTED_NAMES[key] ?? key, value);
  }

  /** Every reported parameter with its value, for the start of a session. */
  reported(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [name, s] of Object.entries(DEFAULTS)) if (s.reported) out.set(REPORTED_NAMES[name] ?? name, this.values.get(name) ?? s.value);
    return out;
  }

  takeChanged(): Map<string, string> {
    const out = new Map(this.changed);
    this.changed.clear();
    return out;
  }

  get timeZone(): string {
    return this.values.get('timezone') ?? 'UTC';
  }

  /** 0 = no limit. */
  get statementTimeoutMs(): number {
    return parseMilliseconds('statement_timeout', this.values.get('statement_timeout') ?? '0');
  }

  /** How long a statement waits for one row lock; 0 = no limit. */
  get lockTimeoutMs(): number {
    return parseMilliseconds('lock_timeout', this.values.get('lock_timeout') ?? '0');
  }

  get joinStrategy(): JoinStrategy {
    return JOIN_STRATEGIES.find((j) => j === this.values.get('shoal.join_strategy')) ?? 'auto';
  }

  /** search_path as schema names; "$user" is the session user. */
  searchPath(user: string): string[] {
    return (this.values.get('search_path') ?? '')
      .split(',')
      .map((s) => s.trim().replace(/^"(.*)"$/, '$1'))
      .filter((s) => s.length > 0)
      .map((s) => (s === '$user' ? user : s));
  }
}

export function defaultReportedParameters(): Map<string, string> {
  return new SessionSettings('', false).reported();
}
