// Shared by the *.test.ts files of this folder.
import { expect } from 'vitest';
import { SqlError } from '../errors.js';

/** Asserts that fn throws a SqlError with this SQLSTATE and (if given) exact message. */
export function expectSqlError(fn: () => unknown, code: string, message?: string): SqlError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(SqlError);
  const e = caught as SqlError;
  expect({ code: e.code, message: e.message }).toEqual({ code, message: message ?? e.message });
  return e;
}

/** Deterministic PRNG for property tests. */
export { mulberry32 as rng } from '../../../shared/testing/prng.js';
