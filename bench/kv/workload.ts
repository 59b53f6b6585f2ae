// The data both sides hold and the operations both sides run: the same keys,
// the same value size, the same random choice of key per operation.
import { randomBytes } from 'node:crypto';
import { tenantPrefix } from '../../shared/keys/index.js';

export const TENANT_ID = 2;
export const TENANT_NAME = 'bench';

export interface Workload {
  /** Preloaded keys that point gets read (every get hits). */
  readKeys: Buffer[];
  /** Keys that single-key commits overwrite (a separate part of the keyspace, so commits do not change what gets read). */
  writeKeys: Buffer[];
  value: Buffer;
}

export function makeWorkload(keys: number, valueBytes: number): Workload {
  const prefix = tenantPrefix(TENANT_ID);
  const key = (space: string, i: number) => Buffer.concat([prefix, Buffer.from(`${space}/${String(i).padStart(8, '0')}`)]);
  return {
    readKeys: Array.from({ length: keys }, (_, i) => key('r', i)),
    writeKeys: Array.from({ length: keys }, (_, i) => key('w', i)),
    value: randomBytes(valueBytes),
  };
}

export function pick(keys: readonly Buffer[]): Buffer {
  const key = keys[Math.floor(Math.random() * keys.length)];
  if (!key) throw new Error('empty key set');
  return key;
}

/** The preload in chunks of `chunk` keys, each one commit. */
export function* preloadChunks(keys: readonly Buffer[], chunk: number): Generator<Buffer[]> {
  for (let i = 0; i < keys.length; i += chunk) yield keys.slice(i, i + chunk);
}
