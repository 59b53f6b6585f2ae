// The servers the SQL bench compares. Each target starts its own server with an
// empty database the bench may fill, and stops it (removing what it stored).
import pg from 'pg';
import { startPostgres } from '../../shared/testing/postgres.js';

export interface SqlTarget {
  /** `postgres`, `shoal`, …: the name in the table, the JSON and the headline lines. */
  name: string;
  start(): Promise<{ url: string; stop(): Promise<void> }>;
}

/**
 * A throwaway local PostgreSQL (shared/testing/postgres.ts) with its default,
 * durable settings (fsync, synchronous_commit on): every update commit waits
 * for a WAL flush, as Shoal's commits wait for a synced write.
 */
export function postgresTarget(): SqlTarget {
  return {
    name: 'postgres',
    async start() {
      const server = await startPostgres();
      try {
        const admin = new pg.Client({ connectionString: server.url() });
        await admin.connect();
        await admin.query('CREATE DATABASE bench').finally(() => admin.end());
        return { url: server.url('bench'), stop: () => server.stop() };
      } catch (err) {
        await server.stop();
        throw err;
      }
    },
  };
}
