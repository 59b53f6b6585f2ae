import { describe, expect, it } from 'vitest';
import { sqlMemoryLimit, sqlpodSettingsSchema } from '../../config.js';
import { SqlError } from '../errors.js';
import type { Row } from '../plan/expr.js';
import { T } from '../types/index.js';
import { Jsonb } from '../types/jsonb.js';
import { MemoryBudget, MemoryPool, MiB, rowBytes } from './memory.js';
import { recursiveUnion } from './recursive.js';

describe('MemoryBudget', () => {
  it('fails past the per-query limit with 53200 naming the operator, holding nothing more', () => {
    const budget = new MemoryBudget({ perQuery: MiB, pool: null });
    const sort = budget.account('Sort');
    sort.grow(MiB - 10);
    const err = (() => {
      try {
        sort.grow(11);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(SqlError);
    expect(err).toMatchObject({ code: '53200', message: 'query memory limit of 1 MiB exceeded by Sort (set by --max-query-memory)' });
    expect(budget.reserved).toBe(MiB - 10);
  });

  it('draws from the pod pool, which bounds statements together, and gives back on release and close', () => {
    const pool = new MemoryPool(3 * MiB);
    const a = new MemoryBudget({ perQuery: 2 * MiB, pool });
    const b = new MemoryBudget({ perQuery: 2 * MiB, pool });
    a.account('Sort').grow(2 * MiB);
    const join = b.account('Hash Join');
    join.grow(MiB);
    expect(() => join.grow(1)).toThrow(/^pod memory limit of 3 MiB exceeded by Hash Join \(set by --max-sql-memory\)$/);
    expect(b.tryGrow(1)).toBe(false);
    expect(pool.reserved).toBe(3 * MiB);
    join.release();
    expect([pool.reserved, b.reserved]).toEqual([2 * MiB, 0]);
    a.close();
    a.close();
    expect(pool.reserved).toBe(0);
  });

  it('estimates rows by what they hold', () => {
    const sizes = [[1, 'a'], [1, 'a'.repeat(100)], [1, 'a'.repeat(100), 2n], [new Jsonb(new Map([['k', 'a'.repeat(1000)]]))]].map((r) => rowBytes(r as Row));
    expect(sizes).toEqual([...sizes].sort((x, y) => x - y));
    expect((sizes[3] ?? 0) - (sizes[0] ?? 0)).toBeGreaterThan(1000);
  });
});

describe('recursive union memory', () => {
  it('holds the current rounds only under UNION ALL, and every row seen under UNION', async () => {
    for (const distinct of [false, true]) {
      const budget = new MemoryBudget({ perQuery: Infinity, pool: null });
      const memory = budget.account('Recursive Union');
      let most = 0;
      const node = { kind: 'recursive', table: { name: 'r' }, base: { kind: 'values', rows: [] }, step: { kind: 'values', rows: [] }, distinct, types: [T.int4] } as const;
      for await (const _ of recursiveUnion(node, {
        async *base() {
          yield await Promise.resolve([[0]]);
        },
        async *step(work: readonly Row[]) {
          most = Math.max(most, budget.reserved);
          const n = Number(work[0]?.[0]);
          if (n < 200) yield await Promise.resolve([[n + 1]]);
        },
        rowKey: (row) => JSON.stringify(row),
        pause: () => Promise.resolve(),
        memory,
      })) {
        // drained
      }
      const oneRow = rowBytes([0]);
      if (distinct) expect(most).toBeGreaterThan(100 * oneRow);
      else expect(most).toBeLessThanOrEqual(2 * oneRow);
    }
  });
});

describe('sqlMemoryLimit', () => {
  const files = (map: Record<string, string>) => (path: string): string => {
    const text = map[path];
    if (text === undefined) throw new Error('ENOENT');
    return text;
  };

  it('takes the flag, else a quarter of the cgroup limit, else 512 MiB', () => {
    expect(sqlMemoryLimit({ maxSqlMemory: 7 }, files({}))).toBe(7);
    expect(sqlMemoryLimit({ maxSqlMemory: undefined }, files({ '/sys/fs/cgroup/memory.max': '3221225472\n' }))).toBe(768 * MiB);
    expect(sqlMemoryLimit({ maxSqlMemory: undefined }, files({ '/sys/fs/cgroup/memory.max': '1073741824\n' }))).toBe(256 * MiB);
    expect(sqlMemoryLimit({ maxSqlMemory: undefined }, files({ '/sys/fs/cgroup/memory.max': 'max\n' }))).toBe(512 * MiB);
    expect(sqlMemoryLimit({ maxSqlMemory: undefined }, files({ '/sys/fs/cgroup/memory/memory.limit_in_bytes': '4294967296' }))).toBe(1024 * MiB);
    expect(sqlMemoryLimit({ maxSqlMemory: undefined }, files({ '/sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712' }))).toBe(512 * MiB);
  });

  it('reads sizes with units, defaulting the per-query limit to 64 MiB', () => {
    expect(sqlpodSettingsSchema.parse({}).maxQueryMemory).toBe(64 * MiB);
    expect(sqlpodSettingsSchema.parse({ maxQueryMemory: '4MiB', maxSqlMemory: '1.5 GiB' })).toMatchObject({ maxQueryMemory: 4 * MiB, maxSqlMemory: 1536 * MiB });
    expect(sqlpodSettingsSchema.parse({ maxQueryMemory: '1000000' }).maxQueryMemory).toBe(1_000_000);
    expect(sqlpodSettingsSchema.safeParse({ maxQueryMemory: 'lots' }).success).toBe(false);
    expect(sqlpodSettingsSchema.safeParse({ maxQueryMemory: '0' }).success).toBe(false);
  });
});
