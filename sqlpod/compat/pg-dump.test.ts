// A pg_dump of a PostgreSQL database restored into Shoal with psql, as someone
// moving to Shoal would: every statement of the plain-format dump must run
// (ON_ERROR_STOP), and the data, sequences, constraints and indexes must come
// out as they went in.
import { spawn } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPostgresBinary, startPostgres, type LocalPostgres } from '../../shared/testing/postgres.js';
import { sqlError } from '../testing/fixtures.js';
import { startProxiedShoal, type ProxiedShoal } from '../testing/through-proxy.js';

const SCHEMA = [
  "CREATE TYPE book_format AS ENUM ('paper', 'ebook', 'audio')",
  "ALTER TYPE book_format ADD VALUE 'hardcover' BEFORE 'paper'",
  'CREATE TABLE authors (id serial PRIMARY KEY, name text NOT NULL UNIQUE, born date)',
  `CREATE TABLE books (
     id bigserial PRIMARY KEY,
     author_id integer NOT NULL REFERENCES authors (id) ON DELETE CASCADE,
     title text NOT NULL,
     price numeric(8,2) CHECK (price >= 0),
     tags text[],
     meta jsonb DEFAULT '{}'::jsonb,
     published timestamptz,
     format book_format DEFAULT 'paper'
   )`,
  'CREATE INDEX books_author ON books (author_id, published DESC)',
  'CREATE VIEW cheap AS SELECT id, title FROM books WHERE price < 10',
  'CREATE SEQUENCE tickets START 100 INCREMENT 5',
  "INSERT INTO authors (name, born) VALUES ('Ann O''Neil', '1970-01-02'), ('Bö Ström', NULL), ('Tab\tand\\backslash', '2001-12-31')",
  `INSERT INTO books (author_id, title, price, tags, meta, published) VALUES
     (1, 'First', 9.99, '{a,b}', '{"pages": 120, "x": [1, 2]}', '2020-05-01 10:00:00+00'),
     (1, 'Second, with a comma', NULL, NULL, '{}', NULL),
     (2, 'Ström''s "quoted" book', 25.50, '{"with space",NULL}', '{"k": null}', '1999-12-31 23:59:59.5+00'),
     (3, E'Line\\nbreak', 0, '{}', '[]', '2024-02-29 12:00:00+00')`,
  "UPDATE books SET format = 'hardcover' WHERE id = 3",
  "UPDATE books SET format = 'audio' WHERE id = 2",
  "SELECT setval('tickets', 120)",
];

let stack: ProxiedShoal;
let shoal: pg.Client;
let postgres: LocalPostgres;
let reference: pg.Client;

beforeAll(async () => {
  [stack, postgres] = await Promise.all([startProxiedShoal('pgdump'), startPostgres({ settings: { fsync: 'off' } })]);
  shoal = new pg.Client(stack.config());
  await shoal.connect();
  reference = new pg.Client({ connectionString: postgres.url() });
  await reference.connect();
  for (const sql of SCHEMA) await reference.query(sql);
}, 120_000);

afterAll(async () => {
  await shoal?.end();
  await reference?.end();
  await stack?.stop();
  await postgres?.stop();
});

function run(command: string, args: readonly string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

describe('pg_dump into Shoal', () => {
  it('restores a plain-format dump with psql, statement by statement, without an error', { timeout: 120_000 }, async () => {
    const pgDump = findPostgresBinary('pg_dump') ?? 'pg_dump';
    const dump = await run(pgDump, ['--no-owner', '--no-privileges', '-h', postgres.host, '-p', String(postgres.port), '-U', 'postgres', '-d', 'postgres']);
    expect(dump.code, dump.stderr).toBe(0);
    const restore = await run('psql', ['-d', stack.url(), '-X', '-v', 'ON_ERROR_STOP=1', '-f', '-'], dump.stdout);
    expect(restore.stderr).toBe('');
    expect(restore.code).toBe(0);
  });

  it('brings the rows, the sequences and the constraints over', async () => {
    const same = async (sql: string) => {
      const [mine, theirs] = await Promise.all([shoal.query({ text: sql, rowMode: 'array' }), reference.query({ text: sql, rowMode: 'array' })]);
      expect(mine.rows).toEqual(theirs.rows);
      return mine.rows;
    };
    expect(await same('SELECT * FROM authors ORDER BY id')).toHaveLength(3);
    expect(await same('SELECT * FROM books ORDER BY id')).toHaveLength(4);
    await same('SELECT * FROM cheap ORDER BY id');
    // The enum's labels in their order (hardcover was added before paper), and the column default.
    await same('SELECT format, count(*) FROM books GROUP BY format ORDER BY format');
    await same("SELECT nextval('authors_id_seq'), nextval('books_id_seq'), nextval('tickets')");
    await same("SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1");
    // The restored column default, nextval('public.books_id_seq'::regclass), goes on from the restored value.
    await same("INSERT INTO books (author_id, title) VALUES (2, 'Restored') RETURNING id, meta, format");
    for (const bad of ["INSERT INTO books (author_id, title) VALUES (99, 'orphan')", "INSERT INTO authors (name) VALUES ('Ann O''Neil')", "UPDATE books SET price = -1 WHERE id = 1"]) {
      const [mine, theirs] = [await sqlError(shoal.query(bad)), await sqlError(reference.query(bad))];
      expect(mine.code).toBe(theirs.code);
    }
  });
});
