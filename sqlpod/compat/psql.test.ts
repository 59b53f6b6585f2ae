// psql's backslash commands and knex's schema checks against Shoal through the proxy,
// compared with a real PostgreSQL holding the same schema: both answer the
// same catalog queries, so psql prints the same (up to owner names).
import { spawn } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type LocalPostgres } from '../../shared/testing/postgres.js';
import { sqlError } from '../testing/fixtures.js';
import { startProxiedShoal, type ProxiedShoal } from '../testing/through-proxy.js';

// CREATE ROLE is not supported by Shoal yet, so both sides only have their
// bootstrap superuser (postgres / admin): \du compares those.
const SCHEMA = [
  "CREATE TABLE t1 (id serial PRIMARY KEY, name text NOT NULL DEFAULT 'x', v integer CHECK (v > 0), note varchar(20))",
  'CREATE UNIQUE INDEX t1_name ON t1 (name)',
  'CREATE TABLE t2 (a bigint, b varchar(20) DEFAULT now()::text)',
  'CREATE INDEX t2_b ON t2 (b DESC)',
  'CREATE VIEW v1 AS SELECT id, name FROM t1',
  'CREATE SEQUENCE s1',
  'CREATE TABLE t3 (id integer PRIMARY KEY, t1_id integer REFERENCES t1 ON DELETE CASCADE, up integer, name text, CONSTRAINT t3_up_fkey FOREIGN KEY (up) REFERENCES t3 (id) ON UPDATE SET NULL)',
  'ALTER TABLE t3 ADD CONSTRAINT t3_name_fk FOREIGN KEY (name) REFERENCES t1 (name)',
  "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
  "ALTER TYPE mood ADD VALUE 'meh' BEFORE 'ok'",
  "CREATE TABLE t4 (id integer PRIMARY KEY, m mood NOT NULL DEFAULT 'ok')",
];

let stack: ProxiedShoal;
let shoal: pg.Client;
let postgres: LocalPostgres;
let reference: pg.Client;

beforeAll(async () => {
  [stack, postgres] = await Promise.all([startProxiedShoal('psqlcompat'), startPostgres({ settings: { fsync: 'off' } })]);
  shoal = new pg.Client(stack.config());
  await shoal.connect();
  reference = new pg.Client({ connectionString: postgres.url() });
  await reference.connect();
  for (const sql of SCHEMA) {
    await shoal.query(sql);
    await reference.query(sql);
  }
}, 120_000);

afterAll(async () => {
  await shoal?.end();
  await reference?.end();
  await stack?.stop();
  await postgres?.stop();
});

interface Output {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** psql -c, unaligned (no padding, so names of different lengths do not shift columns); async, since the pod runs in this process. */
function psql(side: 'shoal' | 'postgres', command: string, extra: readonly string[] = []): Promise<Output> {
  return runPsql(side, [...extra, '-c', command]);
}

/** psql reading a script from stdin. */
function psqlScript(side: 'shoal' | 'postgres', script: string, extra: readonly string[] = []): Promise<Output> {
  return runPsql(side, [...extra, '-f', '-'], script);
}

function runPsql(side: 'shoal' | 'postgres', args: readonly string[], stdin?: string): Promise<Output> {
  const target = side === 'shoal' ? ['-d', stack.url()] : ['-h', postgres.host, '-p', String(postgres.port), '-U', 'postgres', '-d', 'postgres'];
  return new Promise((resolve, reject) => {
    const child = spawn('psql', [...target, '-X', '-A', ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

// Owners must differ: Shoal has no ownership and shows the tenant's
// superuser ("admin"), PostgreSQL its bootstrap superuser ("postgres") or,
// for schema public, pg_database_owner. Only columns that name a role are
// rewritten, so a table or database that happens to be called "postgres" is not.
const ROLE_COLUMNS = new Set(['Owner', 'Role name']);
const ROLES = new Set(['admin', 'postgres', 'pg_database_owner']);

function normalized(out: Output): string {
  const lines = out.stdout.split('\n');
  const headerAt = lines.findIndex((l) => l.includes('|'));
  const header = lines[headerAt]?.split('|') ?? [];
  const roleColumns = header.flatMap((h, i) => (ROLE_COLUMNS.has(h) ? [i] : []));
  return lines
    .map((line, n) => {
      if (n <= headerAt || !line.includes('|')) return line;
      const fields = line.split('|');
      for (const i of roleColumns) if (ROLES.has(fields[i] ?? '')) fields[i] = '<role>';
      return fields.join('|');
    })
    .join('\n');
}

async function both(command: string): Promise<{ shoal: string; postgres: string }> {
  const [s, p] = await Promise.all([psql('shoal', command), psql('postgres', command)]);
  // Equal, not empty: "Did not find any relations." is psql's stderr on both.
  expect(s.stderr, `${command} on Shoal`).toBe(p.stderr);
  expect(p.stderr, `${command} on PostgreSQL`).not.toMatch(/ERROR/);
  expect(s.code).toBe(0);
  return { shoal: normalized(s), postgres: normalized(p) };
}

// Not compared, because they must differ: \dn+ (PostgreSQL's public schema
// has an ACL and a comment), \dx (PostgreSQL has plpgsql), \dS (PostgreSQL
// lists its own catalogs), the sizes of \l+ \dt+ … (refused: Shoal has no
// per-relation storage).
describe('psql backslash commands print what PostgreSQL prints', () => {
  for (const command of ['\\dt', '\\di', '\\dv', '\\ds', '\\d', '\\dn', '\\du', '\\du+', '\\dp', '\\db', '\\dD', '\\dE', '\\dm', '\\dRp', '\\dt t*', '\\dt public.*']) {
    it(command, async () => {
      const out = await both(command);
      expect(out.shoal).toBe(out.postgres);
    });
  }

  it('\\l (the database named postgres; the rest differ by design: Shoal has defaultdb and no templates)', async () => {
    const out = await both('\\l');
    const pick = (text: string) => text.split('\n').filter((l, i) => i <= 1 || l.startsWith('postgres|'));
    expect(pick(out.shoal)).toEqual(pick(out.postgres));
    expect(out.shoal).toMatch(/^defaultdb\|<role>\|UTF8\|C\|C\|\|libc\|$/m);
  });

  for (const command of ['\\d v1', '\\d t1_pkey', '\\d t1_name', '\\d t2_b', '\\d s1', '\\d t1_id_seq', '\\dT', '\\d t4']) {
    it(command, async () => {
      const out = await both(command);
      expect(out.shoal).toBe(out.postgres);
    });
  }

  it('\\dT+ (an enum’s labels, one per line, in label order)', async () => {
    const out = await both('\\dT+');
    // The labels span lines, so the owner (on the last of them) is not in the Owner column normalized() rewrites.
    const owner = (text: string) => text.replace(/^happy\|(admin|postgres)\|/m, 'happy|<role>|');
    expect(owner(out.shoal)).toBe(owner(out.postgres));
    expect(out.shoal).toMatch(/\|sad\nmeh\nok\nhappy\|/);
  });

  // t1: serial key, NOT NULL, defaults, a unique index, a CHECK, referenced by t3; t2: no primary key (Shoal's hidden rowid must not show),
  // a DESC index, a cast default; t3: foreign keys (one to itself).
  for (const table of ['t1', 't2', 't3']) {
    it(`\\d ${table}`, async () => {
      const out = await both(`\\d ${table}`);
      expect(out.shoal).toBe(out.postgres);
    });
  }

  // Query by query, so a difference names the catalog query that has it.
  it('every catalog query of \\d t1 answers as in PostgreSQL', async () => {
    const echoed = await psql('postgres', '\\d t1', ['-E']);
    const queries = [...echoed.stdout.matchAll(/\*{9} QUERY \*{10}\n([\s\S]*?)\n\*{26}/g)].map((m) => m[1] ?? '');
    expect(queries.length).toBeGreaterThan(8);
    const [pgOid, shoalOid] = await Promise.all([oidOf(reference, 't1'), oidOf(shoal, 't1')]);
    for (const query of queries) {
      const p = await psql('postgres', query);
      const s = await psql('shoal', query.replaceAll(`'${pgOid}'`, `'${shoalOid}'`));
      expect(s.stderr, query).toBe('');
      // The table's OID differs (Shoal's are descriptor ids).
      expect(s.stdout.replaceAll(shoalOid, '<oid>'), query).toBe(p.stdout.replaceAll(pgOid, '<oid>'));
    }
  });
});

async function oidOf(client: pg.Client, table: string): Promise<string> {
  const { rows } = await client.query<{ oid: string }>({ text: 'SELECT oid::text AS oid FROM pg_catalog.pg_class WHERE relname = $1', values: [table] });
  return rows[0]?.oid ?? '';
}

describe('what knex and other clients read', () => {
  // knex's PostgreSQL schema compiler: hasTable and hasColumn without a schema.
  const HAS_TABLE = 'select * from information_schema.tables where table_name = $1 and table_schema = current_schema()';
  const HAS_COLUMN = 'select * from information_schema.columns where table_name = $1 and column_name = $2 and table_schema = current_schema()';

  it('hasTable and hasColumn', async () => {
    expect((await shoal.query(HAS_TABLE, ['t1'])).rowCount).toBe(1);
    expect((await shoal.query(HAS_TABLE, ['v1'])).rowCount).toBe(1);
    expect((await shoal.query(HAS_TABLE, ['s1'])).rowCount).toBe(0);
    expect((await shoal.query(HAS_TABLE, ['nope'])).rowCount).toBe(0);
    expect((await shoal.query(HAS_COLUMN, ['t1', 'name'])).rowCount).toBe(1);
    expect((await shoal.query(HAS_COLUMN, ['t1', 'nope'])).rowCount).toBe(0);
  });

  // Except whether views are insertable/updatable: PostgreSQL's simple views are, Shoal's are not.
  it('information_schema.tables and columns agree with PostgreSQL', async () => {
    const tables = `SELECT table_catalog = current_database(), table_schema, table_name, table_type, table_type = 'VIEW' OR is_insertable_into = 'YES', is_typed
      FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`;
    const columns = `SELECT table_name, column_name, ordinal_position, column_default, is_nullable, data_type, character_maximum_length,
      character_octet_length, numeric_precision, numeric_precision_radix, numeric_scale, datetime_precision, udt_name, is_identity, is_generated,
      table_name = 'v1' OR is_updatable = 'YES'
      FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`;
    for (const sql of [tables, columns]) {
      const [s, p] = await Promise.all([shoal.query({ text: sql, rowMode: 'array' }), reference.query({ text: sql, rowMode: 'array' })]);
      expect(s.rows, sql).toEqual(p.rows);
    }
  });

  it('ON_ERROR_ROLLBACK: a failed statement in a block is rolled back to psql\'s savepoint and the block goes on', async () => {
    const script = [
      'CREATE TABLE onerr (id int PRIMARY KEY);',
      'BEGIN;',
      'INSERT INTO onerr VALUES (1);',
      'INSERT INTO onerr VALUES (1);',
      'INSERT INTO onerr VALUES (2);',
      'COMMIT;',
      'SELECT id FROM onerr ORDER BY id;',
      'DROP TABLE onerr;',
    ].join('\n');
    const [s, p] = await Promise.all([psqlScript('shoal', script, ['-v', 'ON_ERROR_ROLLBACK=on']), psqlScript('postgres', script, ['-v', 'ON_ERROR_ROLLBACK=on'])]);
    expect(s.stdout).toBe(p.stdout);
    expect(s.stdout).toContain('id\n1\n2\n(2 rows)');
    expect(s.stderr.replace(/^psql:<stdin>:\d+: /gm, '')).toMatch(/^ERROR: {2}duplicate key value violates unique constraint/);
    expect(p.stderr).toMatch(/duplicate key value/);
  });

  it('version() begins with "PostgreSQL "', async () => {
    const { rows } = await shoal.query<{ version: string }>('SELECT version()');
    expect(rows[0]?.version).toMatch(/^PostgreSQL \d+/);
  });

  it('regclass and catalog functions', async () => {
    const { rows } = await shoal.query({
      text: `SELECT 't1'::regclass = c.oid, c.oid::regclass::text, 'public.t1'::pg_catalog.regclass = c.oid, pg_catalog.pg_table_is_visible(c.oid),
        pg_get_userbyid(c.relowner) = current_user, current_schemas(true), current_schemas(false), pg_get_serial_sequence('t1', 'id')
        FROM pg_class c WHERE c.relname = 't1'`,
      rowMode: 'array',
    });
    expect(rows).toEqual([[true, 't1', true, true, true, '{pg_catalog,public}', '{public}', 'public.t1_id_seq']]);
  });

  it('refuses what it cannot answer with 0A000, naming it', async () => {
    expect(await sqlError(shoal.query('SELECT * FROM pg_catalog.pg_stat_activity'))).toMatchObject({ code: '0A000', message: expect.stringContaining('pg_stat_activity') as unknown });
    expect(await sqlError(shoal.query("SELECT pg_get_viewdef('v1'::regclass)"))).toMatchObject({ code: '0A000', message: expect.stringContaining('pg_get_viewdef') as unknown });
    expect(await sqlError(shoal.query('SELECT 1 = ANY (ARRAY[ARRAY[1], ARRAY[2]])'))).toMatchObject({ code: '0A000', message: expect.stringContaining('multidimensional') as unknown });
  });
});
