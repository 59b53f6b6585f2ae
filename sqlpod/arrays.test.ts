// Array types against a real PostgreSQL with the same data: the text form of
// every result (and its column type OID), SQLSTATEs of refused statements,
// node-postgres' parsed arrays and the binary wire form byte by byte.
import type pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, bindMessage, dataRow, type Frame } from './server/testing/raw-client.js';
import { startBesidePostgres, type BesidePostgres } from './testing/beside-postgres.js';
import { ADMIN, sqlError } from './testing/fixtures.js';

let side: BesidePostgres;
let db: pg.Client;
let reference: pg.Client;

const SETUP = [
  'CREATE TABLE t (id int PRIMARY KEY, grp int, name text, score numeric)',
  `INSERT INTO t VALUES (1, 1, 'a', 1.5), (2, 1, 'b c', NULL), (3, 2, NULL, 2), (4, 2, 'd"e', 3.25), (5, 3, '', 0)`,
  'CREATE TABLE tagged (id int PRIMARY KEY, tags text[], nums int[], big bigint[], days date[])',
  `INSERT INTO tagged VALUES (1, '{x,"y z",NULL}', '{3,1,2}', '{9007199254740993}', '{2024-01-02}'), (2, ARRAY['q'], ARRAY[5], NULL, '{}'), (3, '{}', '{}', '{1,NULL}', NULL)`,
];

beforeAll(async () => {
  side = await startBesidePostgres('arrays', { setup: SETUP });
  ({ shoal: db, reference } = side);
}, 120_000);

afterAll(async () => {
  await side?.stop();
});

const asText = { getTypeParser: () => (v: string) => v };

async function textRows(client: pg.Client, sql: string, values: unknown[] = []): Promise<{ rows: unknown[][]; types: number[] }> {
  const r = await client.query({ text: sql, values, rowMode: 'array', types: asText });
  return { rows: r.rows as unknown[][], types: r.fields.map((f) => f.dataTypeID) };
}

/** The statement's rows as text and its column types, in Shoal and in PostgreSQL. */
async function same(sql: string, values: unknown[] = []): Promise<unknown[][]> {
  const [mine, theirs] = await Promise.all([textRows(db, sql, values), textRows(reference, sql, values)]);
  expect({ sql, ...mine }).toEqual({ sql, ...theirs });
  return mine.rows;
}

async function sameError(sql: string): Promise<string> {
  const [mine, theirs] = await Promise.all([sqlError(db.query(sql)), sqlError(reference.query(sql))]);
  expect({ sql, code: mine.code }).toEqual({ sql, code: theirs.code });
  return mine.code ?? '';
}

describe('array values', () => {
  it('prints ARRAY[…] of each element type with PostgreSQL OIDs and text', async () => {
    await same(`SELECT ARRAY[1, 2], ARRAY[1::int2], ARRAY[1::int8, NULL], ARRAY[1.5, 2], ARRAY[1.5::float8], ARRAY[0.1::float4],
      ARRAY[true, false], ARRAY['a'::varchar], ARRAY[date '2024-02-29'], ARRAY[timestamp '2024-01-01 10:00'],
      ARRAY[timestamptz '2024-01-01 10:00+00'], ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid], ARRAY['{"a": 1}'::jsonb],
      ARRAY[interval '1 day 2 hours'], ARRAY['\\x0102'::bytea], ARRAY['x', 'y']`);
  });

  it('quotes elements as array_out does', async () => {
    const rows = await same(`SELECT ARRAY['', 'a b', 'a,b', 'a"b', 'a\\b', '{x}', 'NULL', 'null', NULL, ' lead', 'tab\tx', 'ü', 'plain']`);
    expect(rows[0]?.[0]).toBe('{"","a b","a,b","a\\"b","a\\\\b","{x}","NULL","null",NULL," lead","tab\tx",ü,plain}');
  });

  it('reads array literals as array_in does', async () => {
    await same(`SELECT '{1, 2 ,3}'::int[], '{}'::text[], '{"a b", c d ,NULL,"NULL",\\N\\U\\L\\L}'::text[], ' { a } '::text[], '{"x\\"y",z\\,w}'::text[]`);
    await same(`SELECT '{1,NULL}'::int8[], '{t,f}'::bool[], '{1.50,-2}'::numeric[], '{2024-01-02}'::date[], '{"1 day"}'::interval[]`);
    for (const bad of [`SELECT '{1,2'::int[]`, `SELECT '1,2'::int[]`, `SELECT '{1,,2}'::int[]`, `SELECT '{1}x'::int[]`, `SELECT '{a}'::int[]`]) await sameError(bad);
  });

  it('refuses multidimensional arrays with 0A000 naming them', async () => {
    const err = await sqlError(db.query('SELECT ARRAY[ARRAY[1, 2], ARRAY[3, 4]]'));
    expect(err.code).toBe('0A000');
    expect(err.message).toContain('multidimensional');
    expect((await sqlError(db.query(`SELECT '{{1,2},{3,4}}'::int[]`))).code).toBe('0A000');
    const modified = await sqlError(db.query('CREATE TABLE modified (id int PRIMARY KEY, v varchar(3)[])'));
    expect(modified.code).toBe('0A000');
    expect(modified.message).toContain('character varying(3)');
  });

  it('casts between arrays and text and between element types', async () => {
    await same(`SELECT ARRAY[1, 2]::text, ARRAY[1, 2]::bigint[], ARRAY['1', '2']::int[], '{1.7,2.2}'::numeric[]::int[], ARRAY[1.5]::text[], ('{a}'::text)::text[]`);
    await sameError(`SELECT ARRAY['x']::int[]`);
    await sameError('SELECT ARRAY[]');
    await same('SELECT ARRAY[]::int[], ARRAY[]::text[]::text');
  });

  it('compares arrays element by element, NULL elements last', async () => {
    await same(`SELECT ARRAY[1, 2] = ARRAY[1, 2], ARRAY[1, 2] < ARRAY[1, 3], ARRAY[1] < ARRAY[1, 0], ARRAY[2] > ARRAY[1, 9],
      ARRAY[1, NULL] > ARRAY[1, 5], ARRAY[]::int[] < ARRAY[1], ARRAY[1, 2] <> ARRAY[1, 2], ARRAY[1] >= ARRAY[1], '{1,2}' = ARRAY[1, 2]`);
    await same(`SELECT ARRAY[1, NULL] IS DISTINCT FROM ARRAY[1, NULL], ARRAY[1] IS NOT DISTINCT FROM NULL, NULLIF(ARRAY[1], ARRAY[1]), ARRAY[2] IN (ARRAY[1], ARRAY[2])`);
  });

  it('sorts, deduplicates and groups by arrays', async () => {
    const v = `(VALUES (ARRAY[2, 1]), (ARRAY[1]), (ARRAY[1, NULL]), (ARRAY[1, 2]), (ARRAY[]::int[]), (ARRAY[1]), (NULL)) AS v(a)`;
    await same(`SELECT a FROM ${v} ORDER BY a`);
    await same(`SELECT a FROM ${v} ORDER BY a DESC NULLS LAST`);
    await same(`SELECT DISTINCT a FROM ${v} ORDER BY a`);
    await same(`SELECT a, count(*) FROM ${v} GROUP BY a ORDER BY a`);
  });
});

describe('array_agg', () => {
  it('aggregates with GROUP BY, ORDER BY inside the call, DISTINCT and NULLs', async () => {
    await same('SELECT grp, array_agg(id ORDER BY id DESC), array_agg(name ORDER BY id), array_agg(score ORDER BY id) FROM t GROUP BY grp ORDER BY grp');
    await same('SELECT array_agg(DISTINCT grp ORDER BY grp), array_agg(name ORDER BY name NULLS FIRST) FROM t');
    await same('SELECT array_agg(id ORDER BY id) FILTER (WHERE grp > 1) FROM t');
    await same('SELECT id, array_agg(id) OVER (PARTITION BY grp ORDER BY id) FROM t ORDER BY id');
  });

  it('is NULL over no rows and can be sorted and compared', async () => {
    await same('SELECT array_agg(id) FROM t WHERE id > 100');
    await same('SELECT grp FROM t GROUP BY grp HAVING array_agg(id ORDER BY id) = ARRAY[1, 2]');
    await same('SELECT grp, array_agg(id ORDER BY id) AS ids FROM t GROUP BY grp ORDER BY ids DESC');
  });
});

describe('array operators and functions', () => {
  it('op ANY / ALL over real arrays with NULL rules', async () => {
    await same(`SELECT 1 = ANY (ARRAY[1, 2]), 3 = ANY (ARRAY[1, 2]), 3 = ANY (ARRAY[1, NULL]), 1 = ANY (ARRAY[1, NULL]), NULL::int = ANY (ARRAY[1]),
      1 = ANY (ARRAY[]::int[]), 1 <> ALL (ARRAY[2, 3]), 1 <> ALL (ARRAY[1, 3]), 1 <> ALL (ARRAY[2, NULL]), 5 > ALL (ARRAY[1, 2]),
      1.5 = ANY (ARRAY[1, 2]), 'a' = ANY (ARRAY['a', 'b']), 2 = ANY ('{1,2}'::int[])`);
    await same('SELECT id FROM t WHERE id = ANY (ARRAY[1, 3, 5]) ORDER BY id');
    await same('SELECT id FROM tagged WHERE 2 = ANY (nums) ORDER BY id');
  });

  it('subscripts, NULL when out of range', async () => {
    await same(`SELECT (ARRAY[10, 20, 30])[2], (ARRAY[10, 20])[0], (ARRAY[10, 20])[3], (ARRAY['a', NULL])[2], (ARRAY[1])[NULL::int], nums[1], tags[2] FROM tagged ORDER BY id`);
  });

  it('array functions', async () => {
    await same(`SELECT array_length(ARRAY[1, 2, 3], 1), array_length(ARRAY[1], 2), array_length(ARRAY[]::int[], 1), cardinality(ARRAY[1, NULL]), cardinality(ARRAY[]::int[]),
      array_upper(ARRAY[1, 2], 1), array_lower(ARRAY[1, 2], 1), array_ndims(ARRAY[1])`);
    await same(`SELECT array_position(ARRAY['a', 'b', 'a'], 'a'), array_position(ARRAY['a', 'b', 'a'], 'a', 2), array_position(ARRAY[1, NULL], NULL), array_position(ARRAY[1], 5)`);
    await same(`SELECT array_to_string(ARRAY[1, NULL, 3], ','), array_to_string(ARRAY[1, NULL, 3], ',', '*'), array_to_string(ARRAY['a b', 'c'], '-'), array_to_string(ARRAY[]::int[], ',')`);
    await same(`SELECT string_to_array('a,b,,c', ','), string_to_array('a,b,x', ',', 'x'), string_to_array('abc', NULL), string_to_array('abc', ''), string_to_array('', ','), string_to_array(NULL, ',')`);
    await same(`SELECT array_append(ARRAY[1, 2], 3), array_append(NULL::int[], 1), array_prepend(0, ARRAY[1]), array_cat(ARRAY[1], ARRAY[2, 3]), array_cat(NULL::int[], ARRAY[1]), array_cat(ARRAY['a'], NULL)`);
    await same(`SELECT ARRAY[1] || ARRAY[2], ARRAY[1] || 2, 0 || ARRAY[1], ARRAY['a'] || 'b'::text, ARRAY[1] || '{5,6}', ARRAY[1, 2] || NULL::int`);
  });

  it('ARRAY(subquery) in the subquery order, empty when it has no rows', async () => {
    await same('SELECT ARRAY(SELECT id FROM t ORDER BY id DESC), ARRAY(SELECT name FROM t ORDER BY id), ARRAY(SELECT id FROM t WHERE id > 100)');
    await same('SELECT id, ARRAY(SELECT u.id FROM t u WHERE u.grp = t.grp ORDER BY u.id) FROM t ORDER BY id');
  });

  it('shows array expressions in EXPLAIN as PostgreSQL does', async () => {
    const verbose = async (client: pg.Client) => ((await client.query({ text: 'EXPLAIN (VERBOSE, COSTS OFF) SELECT ARRAY[id, id + 1], (ARRAY[id])[1], nums[2] FROM tagged t', rowMode: 'array' })).rows as string[][]).map((r) => r[0] ?? '');
    const output = (lines: string[]) => lines.find((l) => l.trim().startsWith('Output:'))?.trim();
    expect(output(await verbose(db))).toBe(output(await verbose(reference)));
  });

  it('converts arrays to JSON arrays and prints them in concat', async () => {
    await same(`SELECT to_jsonb(ARRAY[1, NULL]), jsonb_build_array(ARRAY['a', 'b c']), jsonb_build_object('k', ARRAY[1.5]), concat(ARRAY['x y'], 1), to_jsonb(ARRAY[]::int[])`);
  });

  it('unnest over a real array in FROM', async () => {
    await same('SELECT x FROM unnest(ARRAY[3, NULL, 1]) AS u(x)');
    await same('SELECT t.id, u.x, u.n FROM tagged t, unnest(t.tags) WITH ORDINALITY AS u(x, n) ORDER BY t.id, u.n');
    await same(`SELECT * FROM unnest('{a,b}'::text[], ARRAY[1, 2, 3])`);
    await same(`SELECT count(*) FROM unnest(ARRAY[]::int[])`);
  });
});

describe('array columns', () => {
  it('round-trips INSERT, SELECT and UPDATE', async () => {
    await same('SELECT id, tags, nums, big, days FROM tagged ORDER BY id');
    for (const sql of [`UPDATE tagged SET tags = array_append(tags, 'new'), nums = nums || 9 WHERE id = 2`, `UPDATE tagged SET big = NULL, days = '{2025-03-04,NULL}' WHERE id = 3`]) {
      await db.query(sql);
      await reference.query(sql);
    }
    await same('SELECT id, tags, nums, big, days FROM tagged ORDER BY id');
    await same(`SELECT id FROM tagged WHERE tags = '{q,new}' ORDER BY id`);
  });

  it('fills defaults and added columns', async () => {
    for (const sql of [
      `CREATE TABLE withdefaults (id int PRIMARY KEY, a int[] DEFAULT '{}', b text[] NOT NULL DEFAULT ARRAY['x', NULL])`,
      'INSERT INTO withdefaults (id) VALUES (1)',
      `ALTER TABLE withdefaults ADD COLUMN c numeric[] DEFAULT '{1.5,2}'`,
      `INSERT INTO withdefaults VALUES (2, ARRAY[1], '{y}', '{3,NULL}')`,
    ]) {
      await db.query(sql);
      await reference.query(sql);
    }
    await same('SELECT * FROM withdefaults ORDER BY id');
    await same(`SELECT column_name, column_default FROM information_schema.columns WHERE table_name = 'withdefaults' ORDER BY ordinal_position`);
  });

  it('reports the array types of columns', async () => {
    await same(`SELECT format_type(atttypid, atttypmod), atttypid::int FROM pg_attribute WHERE attrelid = 'tagged'::regclass AND attnum > 1 ORDER BY attnum`);
    await same(`SELECT column_name, data_type, udt_name FROM information_schema.columns WHERE table_name = 'tagged' ORDER BY ordinal_position`);
    await same(`SELECT oid::int, typname, typcategory::text, typelem::int, typarray::int, typlen, typinput::text, typsend::text FROM pg_type WHERE oid IN (23, 1007, 1009, 1016, 3807) ORDER BY oid`);
  });

  it('refuses arrays in primary keys and indexes with 0A000', async () => {
    const pk = await sqlError(db.query('CREATE TABLE bad (k int[] PRIMARY KEY)'));
    expect(pk.code).toBe('0A000');
    expect(pk.message).toContain('array');
    const ix = await sqlError(db.query('CREATE INDEX tagged_tags ON tagged (tags)'));
    expect(ix.code).toBe('0A000');
    expect(ix.message).toContain('array');
  });

  it('accepts node-postgres array parameters and parses the results as PostgreSQL', async () => {
    const sql = 'SELECT $1::int[] AS a, $2::text[] AS b, array_length($1::int[], 1) AS n';
    const values = [[1, 2, null], ['x', 'y z', '', 'a"b', null]];
    const [mine, theirs] = await Promise.all([db.query(sql, values), reference.query(sql, values)]);
    expect(mine.rows).toEqual(theirs.rows);
    expect(mine.rows[0]).toEqual({ a: [1, 2, null], b: ['x', 'y z', '', 'a"b', null], n: 3 });
    const insert = 'INSERT INTO tagged (id, tags, nums) VALUES ($1, $2, $3)';
    await db.query(insert, [10, ['p', null], [7]]);
    await reference.query(insert, [10, ['p', null], [7]]);
    const read = 'SELECT tags, nums FROM tagged WHERE id = 10';
    expect((await db.query(read)).rows).toEqual((await reference.query(read)).rows);
  });
});

describe('binary format', () => {
  const EXPRS = [
    'ARRAY[1, NULL, -3]', `ARRAY['a', '', 'é']`, 'ARRAY[]::int8[]', 'ARRAY[1.5, NULL]::numeric[]', 'ARRAY[true]', `ARRAY[date '2024-02-29']`,
    `ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid]`, `ARRAY['{"a": 1}'::jsonb]`, 'ARRAY[2.5::float8, 0.5::float4]',
  ];

  /** Runs `sql` through the extended protocol on the pod, parameters and results in binary; the first row's values. */
  async function binaryRow(sql: string, types: number[] = [], params: Buffer[] = []): Promise<(Buffer | null)[]> {
    const { client: raw } = await RawClient.login(side.pod.addresses.sql?.port ?? 0, ADMIN.username, ADMIN.password, { database: 'defaultdb' });
    try {
      raw.send(
        serialize.parse({ text: sql, types }),
        bindMessage({ paramFormats: params.map(() => 1), params, resultFormats: [1] }),
        serialize.execute({}),
        serialize.sync(),
      );
      const frames = await raw.until('Z');
      const row = frames.find((f) => f.type === 'D');
      expect(row, frames.map((f) => `${f.type}:${f.payload.toString()}`).join(' ')).toBeDefined();
      return dataRow(row as Frame);
    } finally {
      raw.end();
    }
  }

  it('sends arrays byte for byte as PostgreSQL array_send', async () => {
    const mine = await binaryRow(`SELECT ${EXPRS.join(', ')}`);
    const theirs = (await reference.query({ text: `SELECT ${EXPRS.map((e) => `array_send(${e})`).join(', ')}`, rowMode: 'array' })).rows[0] as Buffer[];
    expect(mine.map((b) => b?.toString('hex'))).toEqual(theirs.map((b) => b.toString('hex')));
  });

  it('receives binary array parameters', async () => {
    const sent = (await reference.query({ text: `SELECT array_send('{7,NULL,9}'::int4[]), array_send('{"x y",NULL}'::text[])`, rowMode: 'array' })).rows[0] as Buffer[];
    const [ints, texts] = await binaryRow('SELECT $1::text, $2::text', [1007, 1009], sent);
    expect([ints?.toString(), texts?.toString()]).toEqual(['{7,NULL,9}', '{"x y",NULL}']);
  });
});
