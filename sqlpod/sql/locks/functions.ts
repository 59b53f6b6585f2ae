// PostgreSQL's advisory lock functions as SQL sees them. Taking a lock is
// I/O (a KV transaction, perhaps a wait) and expression evaluation is
// synchronous, so the session takes the locks a statement asks for before it
// evaluates anything (../session.ts) and each call site only returns the
// outcome recorded for it. Call sites are told apart by their function
// object: every call in a statement gets its own.
import { SQLSTATE, SqlError } from '../errors.js';
import type { Datum } from '../types/index.js';
import type { FunctionContext, FunctionFn } from '../types/functions.js';
import type { LockMode } from './holders.js';

/** Session locks last until unlocked or the session ends; transaction locks until COMMIT or ROLLBACK. */
export type LockScope = 'session' | 'transaction';

export interface AdvisoryFunction {
  readonly name: string;
  readonly action: 'lock' | 'try' | 'unlock' | 'unlockAll';
  readonly mode: LockMode;
  readonly scope: LockScope;
}

function family(): AdvisoryFunction[] {
  const out: AdvisoryFunction[] = [{ name: 'pg_advisory_unlock_all', action: 'unlockAll', mode: 'exclusive', scope: 'session' }];
  for (const mode of ['exclusive', 'shared'] as const) {
    const suffix = mode === 'shared' ? '_shared' : '';
    for (const scope of ['session', 'transaction'] as const) {
      const xact = scope === 'transaction' ? '_xact' : '';
      out.push({ name: `pg_advisory${xact}_lock${suffix}`, action: 'lock', mode, scope });
      out.push({ name: `pg_try_advisory${xact}_lock${suffix}`, action: 'try', mode, scope });
    }
    out.push({ name: `pg_advisory_unlock${suffix}`, action: 'unlock', mode, scope: 'session' });
  }
  return out;
}

export const ADVISORY_FUNCTIONS: readonly AdvisoryFunction[] = family();

/** What the function returns: pg_advisory_lock and friends return void, the try and unlock ones a boolean. */
export function returnsBoolean(f: AdvisoryFunction): boolean {
  return f.action === 'try' || f.action === 'unlock';
}

const CALL_SITES = new WeakMap<object, AdvisoryFunction>();

/** One call of `f` in a statement: returns the outcome the session took for it before evaluation. */
export function callSite(f: AdvisoryFunction): FunctionFn {
  const fn: FunctionFn = (_args: readonly Datum[], ctx: FunctionContext) => {
    const outcome = ctx.advisoryLocks?.get(fn);
    if (outcome === undefined) {
      const example = f.action === 'unlockAll' ? `${f.name}()` : `${f.name}(42)`;
      throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `${f.name}() is only supported in the select list of a SELECT without FROM or WHERE, e.g. SELECT ${example}`);
    }
    return outcome;
  };
  CALL_SITES.set(fn, f);
  return fn;
}

/** The advisory function a resolved call site stands for, if it is one. */
export function advisoryFunctionOf(fn: object): AdvisoryFunction | undefined {
  return CALL_SITES.get(fn);
}

/**
 * The lock's identity within a database, as PostgreSQL's advisory lock tag:
 * a bigint key and a pair of integer keys are different spaces, so
 * pg_advisory_lock(1) and pg_advisory_lock(0, 1) are different locks.
 */
export function lockTag(args: readonly Datum[]): Buffer {
  const tag = Buffer.alloc(9);
  const [a, b] = args;
  if (args.length === 1 && typeof a === 'bigint') {
    tag[0] = 1;
    tag.writeBigInt64BE(a, 1);
  } else if (args.length === 2 && typeof a === 'number' && typeof b === 'number') {
    tag[0] = 2;
    tag.writeInt32BE(a, 1);
    tag.writeInt32BE(b, 5);
  } else {
    throw new SqlError(SQLSTATE.INTERNAL_ERROR, 'advisory lock key must be one bigint or two integers');
  }
  return tag;
}
