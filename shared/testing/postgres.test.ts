import { existsSync } from 'node:fs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { isPostgresInstalled, startPostgres } from './postgres.js';

const installed = isPostgresInstalled();
// vitest lists a skipped suite without saying why; the title does.
const skipped = installed ? '' : ' (skipped: PostgreSQL is not installed; apt-get update && apt-get install -y postgresql)';

describe.skipIf(!installed)(`startPostgres${skipped}`, () => {
  it('starts a throwaway server, answers queries, and removes everything on stop', async () => {
    const server = await startPostgres({ settings: { fsync: 'off' } });
    try {
      expect(server.host).toBe('127.0.0.1');
      expect(server.url('app')).toBe(`postgresql://postgres@127.0.0.1:${server.port}/app`);
      const client = new pg.Client(server.url());
      await client.connect();
      try {
        await client.query('CREATE DATABASE app');
        const { rows } = await client.query<{ n: number; fsync: string }>("SELECT 40 + 2 AS n, current_setting('fsync') AS fsync");
        expect(rows).toEqual([{ n: 42, fsync: 'off' }]);
      } finally {
        await client.end();
      }
    } finally {
      await server.stop();
    }
    expect(existsSync(server.dataDir)).toBe(false);
    await server.stop();
  });
});

