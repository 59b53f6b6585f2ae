import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPostgresInstalled, startPostgres, type LocalPostgres } from '../../shared/testing/postgres.js';
import { parseTest } from './parser.js';
import { runFile } from './runner.js';

const SCRIPT = `statement ok
CREATE TABLE t1(a INTEGER, b TEXT)

statement ok
INSERT INTO t1 VALUES(1, 'x'), (2, NULL), (3, '')

statement error
INSERT INTO nowhere VALUES(1)

query IT rowsort label-all
SELECT a, b FROM t1
----
1
x
2
NULL
3
(empty)

query IT rowsort label-all
SELECT a, b FROM t1 ORDER BY a DESC
----
1
x
2
NULL
3
(empty)

query I nosort
SELECT avg(a) FROM t1
----
2

query I nosort
SELECT a FROM t1 ORDER BY a
----
3 values hashing to b44b7bd4d7b6c0f4d6b2ad7c1a4ef4a8

query I nosort
SELECT a FROM t1 WHERE a > 100
----
1

statement error
SELECT pg_sleep(5)

statement ok
SELECT pg_terminate_backend(pg_backend_pid())

query I nosort
SELECT count(*) FROM t1
----
3
`;

const installed = isPostgresInstalled();
const skipped = installed ? '' : ' (skipped: PostgreSQL is not installed; apt-get update && apt-get install -y postgresql)';

describe.skipIf(!installed)(`runFile against PostgreSQL${skipped}`, () => {
  let server: LocalPostgres;
  let admin: pg.Client;
  beforeAll(async () => {
    server = await startPostgres({ settings: { fsync: 'off' } });
    admin = new pg.Client(server.url());
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await server?.stop();
  });

  it('passes what matches, fails a wrong result, a timeout and a lost connection, and goes on', async () => {
    const released: string[] = [];
    const outcome = await runFile('inline', parseTest(SCRIPT, 'inline'), {
      engine: 'postgresql',
      recordTimeoutMs: 1000,
      prepare: async (file) => {
        await admin.query('CREATE DATABASE inline');
        return { url: server.url('inline'), release: () => Promise.resolve(void released.push(file)) };
      },
    });
    expect(outcome).toMatchObject({ file: 'inline', run: 11, skipped: 0 });
    expect(outcome.failures.map((f) => [f.line, f.reason.split(':')[0]])).toEqual([
      // The md5 in the script is wrong on purpose.
      [35, 'expected 3 values hashing to b44b7bd4d7b6c0f4d6b2ad7c1a4ef4a8 | got 1 2 3'],
      [40, 'expected 1 | got (no values)'],
      // A hung statement fails even where an error is expected: the server never answered.
      [45, 'error'],
      [48, 'error'],
    ]);
    expect(outcome.passed).toBe(7);
    expect(released).toEqual(['inline']);
  });
});
