// Real clients against the wire server over the toy engine: node-postgres,
// psql and pgbench (libpq), as applications and the proxy's clients use it.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, startToyServer, type ToyServer } from './testing/fixtures.js';
import { RawClient } from './testing/raw-client.js';

const PSQL = '/usr/bin/psql';
const PGBENCH = '/usr/bin/pgbench';

let t: ToyServer;

beforeAll(async () => {
  t = await startToyServer();
});

afterAll(async () => {
  await t.close();
});

async function withClient<T>(fn: (c: pg.Client) => Promise<T>, config: pg.ClientConfig = {}): Promise<T> {
  const c = t.client(config);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

// node-postgres reads `binary` from the client config; its type declarations only know it in Defaults.
const binaryResults: pg.ClientConfig & { binary: boolean } = { binary: true };

describe('node-postgres', () => {
  it('runs simple queries, several statements at once, and parameterized (extended) queries', async () => {
    await withClient(async (c) => {
      expect((await c.query('SELECT 1')).rows).toEqual([{ '?column?': 1 }]);
      const several = (await c.query('SELECT 1; SELECT generate(2)')) as unknown as pg.QueryResult[];
      expect(several[0]?.rows).toEqual([{ '?column?': 1 }]);
      expect(several[1]?.rows).toEqual([{ n: 1 }, { n: 2 }]);
      expect((await c.query('SELECT $1, $2::int', ['a', 5])).rows).toEqual([{ '?column?': 5 }]);
      expect((await c.query({ text: 'SELECT $1, $2::int', values: ['a', 5], rowMode: 'array' })).rows).toEqual([['a', 5]]);
      expect((await c.query('INSERT 4')).rowCount).toBe(4);
    });
  });

  it('prepares a named statement once and reuses it', async () => {
    await withClient(async (c) => {
      const session = t.engine.sessions.at(-1);
      const before = session?.prepares ?? 0;
      for (const v of [1, 2, 3]) {
        expect((await c.query({ name: 'echo', text: 'SELECT $1::int', values: [v] })).rows).toEqual([{ '?column?': v }]);
      }
      expect((session?.prepares ?? 0) - before).toBe(1);
    });
  });

  it('reads binary results', async () => {
    // node-postgres asks for binary results only in the extended protocol, which a named query forces.
    await withClient(
      async (c) => {
        const r = await c.query({ name: 'gen', text: 'SELECT generate(3)' });
        expect(r.fields[0]?.format).toBe('binary');
        expect(r.rows).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
      },
      binaryResults,
    );
  });

  it('gets errors with SQLSTATE, position and detail, and the session stays usable', async () => {
    await withClient(async (c) => {
      await expect(c.query('SELECT 1; FAIL 22012')).rejects.toMatchObject({ code: '22012', position: '16', detail: 'asked for' });
      await expect(c.query('FAIL 23505', [])).rejects.toMatchObject({ code: '23505', position: '6' });
      await c.query('BEGIN');
      await expect(c.query('FAIL 22012')).rejects.toMatchObject({ code: '22012' });
      await expect(c.query('SELECT 1')).rejects.toMatchObject({ code: '25P02' });
      await c.query('ROLLBACK');
      expect((await c.query('SELECT 2')).rows).toEqual([{ '?column?': 2 }]);
    });
  });

  it('cancels a running query through a CancelRequest with its BackendKeyData', async () => {
    await withClient(async (c) => {
      const running = c.query('SLEEP 30000').then(
        () => undefined,
        (err: unknown) => err,
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      const cancel = await RawClient.connect(t.port);
      cancel.send(serialize.cancel(Reflect.get(c, 'processID') as number, Reflect.get(c, 'secretKey') as number));
      await cancel.closed;
      expect(await running).toMatchObject({ code: '57014' });
      expect((await c.query('SELECT 3')).rows).toEqual([{ '?column?': 3 }]);
    });
  });

  it('pipelines queries, an error failing only its own', async () => {
    await withClient(
      async (c) => {
        const results = await Promise.allSettled(
          Array.from({ length: 100 }, (_, i) => (i === 50 ? c.query('FAIL 22012') : c.query('SELECT $1::int', [i]))),
        );
        expect(results[50]).toMatchObject({ status: 'rejected', reason: { code: '22012' } });
        const values = results.flatMap((r) => (r.status === 'fulfilled' ? [(r.value.rows[0] as Record<string, unknown>)['?column?']] : []));
        expect(values).toEqual(Array.from({ length: 100 }, (_, i) => i).filter((i) => i !== 50));
      },
      { pipeline: true },
    );
  });

  it('reads a large result', async () => {
    await withClient(async (c) => {
      const r = await c.query('SELECT generate(100000)');
      expect(r.rowCount).toBe(100_000);
      expect(r.rows.at(-1)).toEqual({ n: 100_000 });
    });
  });

  it('gets 28P01 for an unknown user and for a wrong password alike, 3D000 for a missing database', async () => {
    const fail = (config: pg.ClientConfig): Promise<unknown> => withClient(() => Promise.resolve(), config);
    await expect(fail({ user: 'mallory' })).rejects.toMatchObject({
      code: '28P01',
      severity: 'FATAL',
      message: 'password authentication failed for user "mallory"',
    });
    await expect(fail({ password: 'wrong' })).rejects.toMatchObject({
      code: '28P01',
      severity: 'FATAL',
      message: 'password authentication failed for user "alice"',
    });
    await expect(fail({ database: 'nope' })).rejects.toMatchObject({ code: '3D000', message: 'database "nope" does not exist' });
    // The database defaults to the user name.
    await withClient(async (c) => expect((await c.query('SELECT 1')).rowCount).toBe(1), { database: undefined });
  });
});

const psqlEnv = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', PGCONNECT_TIMEOUT: '10', PGPASSWORD: PASSWORD };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { timeout: 60_000, env: psqlEnv }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
    child.stdin?.end(input ?? '');
  });
}

const conninfo = (): string => `host=127.0.0.1 port=${t.port} user=alice dbname=app sslmode=disable`;

describe.skipIf(!existsSync(PSQL))('psql', () => {
  it('logs in with SCRAM and prints a result', async () => {
    expect(await run(PSQL, ['-X', '-At', conninfo(), '-c', 'SELECT 1'])).toMatchObject({ code: 0, stdout: '1\n' });
  });

  it('prints every result of a query with several statements', async () => {
    const r = await run(PSQL, ['-X', '-At', conninfo(), '-c', 'SELECT 1; SELECT generate(3)']);
    expect(r).toMatchObject({ code: 0, stdout: '1\n1\n2\n3\n' });
  });

  it('points at the error position in the query', async () => {
    const r = await run(PSQL, ['-X', '-At', conninfo(), '-c', 'SELECT 1; FAIL 22012']);
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n');
    const at = lines.findIndex((l) => l.startsWith('LINE 1: '));
    expect(lines[0]).toBe('ERROR:  toy failure 22012');
    expect(lines[at]).toBe('LINE 1: SELECT 1; FAIL 22012');
    // Position 16 is the '2' of 22012, 'LINE 1: ' being 8 characters wide.
    expect(lines[at + 1]).toBe(`${' '.repeat(8 + 15)}^`);
  });

  it('stops a script at the first error with ON_ERROR_STOP, goes on without it', async () => {
    const script = 'SELECT 1;\nFAIL 22012;\nSELECT 2;\n';
    const stop = await run(PSQL, ['-X', '-At', conninfo()], `\\set ON_ERROR_STOP on\n${script}`);
    expect(stop).toMatchObject({ code: 3, stdout: '1\n' });
    expect(stop.stderr).toMatch(/ERROR: {2}toy failure 22012/);
    expect(await run(PSQL, ['-X', '-At', conninfo()], script)).toMatchObject({ code: 0, stdout: '1\n2\n' });
  });

  it('fails to log in with a wrong password', async () => {
    const r = await run(PSQL, ['-X', '-At', `${conninfo()} password=wrong`, '-c', 'SELECT 1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/password authentication failed for user "alice"/);
  });
});

describe.skipIf(!existsSync(PGBENCH))('pgbench', () => {
  it.each(['simple', 'extended', 'prepared'])('runs a custom script with -M %s', async (mode) => {
    const dir = mkdtempSync(join(tmpdir(), 'pgbench-'));
    const script = join(dir, 'bench.sql');
    writeFileSync(script, '\\set aid random(1, 1000)\nSELECT :aid;\nSELECT generate(3);\n');
    const r = await run(PGBENCH, ['-n', '-M', mode, '-c', '4', '-t', '50', '-f', script, conninfo()]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/number of transactions actually processed: 200\/200/);
  });
});
