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

/** Deterministic PRNG (mulberry32) for property tests. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
