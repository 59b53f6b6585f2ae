// COPY end to end: a real kvpod and pod, node-postgres with pg-copy-streams,
// psql's \copy and COPY … FROM STDIN, and a raw client for the exact
// message sequences of the COPY sub-protocol.
import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCerts, startTestKvpod, type TestCerts, type TestKvpod } from '../kvpod/testing/fixtures.js';
import type { SqlPod } from './pod.js';
import { RawClient, bindMessage, describe as show, fieldsOf, type Frame } from './server/testing/raw-client.js';
import { ADMIN, connect, createTenant, sqlError, startStampedPod, type TestTenant } from './testing/fixtures.js';

// One commit holds every row of a COPY; the kvpod's limits are raised so a
// 100,000-row COPY fits, and stay low enough for one test to go beyond them.
const MAX_MUTATIONS = 150_000;

let certs: TestCerts;
let kv: TestKvpod;
let tenant: TestTenant;
let pod: SqlPod;
let db: pg.Client;
const raws: RawClient[] = [];

beforeAll(async () => {
  certs = await createTestCerts();
  kv = await startTestKvpod(certs, { maxBatchMutations: String(MAX_MUTATIONS), maxRequestKeys: String(MAX_MUTATIONS) });
  tenant = await createTenant(certs, kv.address, 'copy');
  pod = await startStampedPod(certs, tenant, kv.address);
  db = await connect(certs, pod);
});

afterAll(async () => {
  for (const r of raws) r.destroy();
  await db?.end();
  await pod?.shutdown();
  await kv?.stop();
});

/** COPY … FROM STDIN through pg-copy-streams, each string its own CopyData message; resolves with the row count. */
async function copyIn(sql: string, chunks: readonly (string | Buffer)[], client: pg.Client = db): Promise<number> {
  const stream = client.query(copyFrom(sql));
  await pipeline(Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))), stream);
  return stream.rowCount;
}

async function copyOut(sql: string, client: pg.Client = db): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of client.query(copyTo(sql))) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

const rows = async (sql: string): Promise<unknown[][]> => (await db.query({ text: sql, rowMode: 'array' })).rows as unknown[][];

describe('COPY FROM STDIN over node-postgres', () => {
  it('reads text format: NULL markers, escapes, defaults for omitted columns, rows split across CopyData', async () => {
    await db.query("CREATE TABLE tx (id int PRIMARY KEY, name text, note text DEFAULT 'dflt', n numeric(5,2), s serial)");
    const count = await copyIn('COPY tx (id, name, n) FROM STDIN', [
      '1\tplain\t1.5\n2\t\\N\t\\N\n',
      '3\ttab\\there\\nnew\\\\line\t',
      '2.125\n4\t\\x41\\102\t0\n5\temp',
      'ty\\\tdelim\t-3\n',
    ]);
    expect(count).toBe(5);
    expect(await rows('SELECT id, name, note, n, s FROM tx ORDER BY id')).toEqual([
      [1, 'plain', 'dflt', '1.50', 1],
      [2, null, 'dflt', null, 2],
      [3, 'tab\there\nnew\\line', 'dflt', '2.13', 3],
      [4, 'AB', 'dflt', '0.00', 4],
      [5, 'empty\tdelim', 'dflt', '-3.00', 5],
    ]);
  });

  it('reads csv with HEADER, quotes, embedded line breaks, a NULL marker and old-style options', async () => {
    await db.query('CREATE TABLE cs (id int PRIMARY KEY, a text, b text)');
    const count = await copyIn("COPY cs FROM STDIN WITH (FORMAT csv, HEADER true, NULL 'NA')", ['id,a,b\n1,"x,y","say ""hi"""\n2,NA,"NA"\n3,"two\nlines",\n']);
    expect(count).toBe(3);
    expect(await copyIn("COPY cs (b, id) FROM STDIN WITH CSV HEADER DELIMITER ';'", ['b;id\r\nsemi;4\r\n'])).toBe(1);
    expect(await copyIn("COPY cs FROM STDIN (FORMAT csv, HEADER match, QUOTE '''', ESCAPE '\\')", ["id,a,b\n5,'it\\'s',z\n"])).toBe(1);
    expect(await rows('SELECT id, a, b FROM cs ORDER BY id')).toEqual([
      [1, 'x,y', 'say "hi"'],
      [2, null, 'NA'],
      [3, 'two\nlines', ''],
      [4, null, 'semi'],
      [5, "it's", 'z'],
    ]);
    const mismatch = await sqlError(copyIn('COPY cs FROM STDIN (FORMAT csv, HEADER match)', ['id,x,b\n9,a,b\n']));
    expect(mismatch).toMatchObject({ code: '22P04', message: 'column name mismatch in header line field 2: got "x", expected "a"', where: 'COPY cs, line 1: "id,x,b"' });
  });

  it('reports bad data with its line and column, and writes nothing of the failed COPY', async () => {
    await db.query('CREATE TABLE bad (id int PRIMARY KEY, d date)');
    const chunks = ['1\t2024-01-01\n2\t2024-01-02\n', '3\t2024-02-30\n4\t2024-01-04\n'];
    const err = await sqlError(copyIn('COPY bad FROM STDIN', chunks));
    expect(err).toMatchObject({ code: '22008', message: 'date/time field value out of range: "2024-02-30"', where: 'COPY bad, line 3, column d: "2024-02-30"' });
    const badInt = await sqlError(copyIn('COPY bad FROM STDIN', ['1\t2024-01-01\nx\t2024-01-02\n']));
    expect(badInt).toMatchObject({ code: '22P02', message: 'invalid input syntax for type integer: "x"', where: 'COPY bad, line 2, column id: "x"' });
    const missing = await sqlError(copyIn('COPY bad FROM STDIN', ['1\n']));
    expect(missing).toMatchObject({ code: '22P04', message: 'missing data for column "d"', where: 'COPY bad, line 1: "1"' });
    const extra = await sqlError(copyIn('COPY bad FROM STDIN', ['1\t2024-01-01\t3\n']));
    expect(extra).toMatchObject({ code: '22P04', message: 'extra data after last expected column' });
    expect(await rows('SELECT count(*) FROM bad')).toEqual([['0']]);
  });

  it('fails with 57014 and the client message on CopyFail', async () => {
    await db.query('CREATE TABLE cf (id int PRIMARY KEY)');
    const stream = db.query(copyFrom('COPY cf FROM STDIN'));
    const failed = new Promise<unknown>((resolve) => stream.on('error', resolve));
    stream.write('1\n2\n');
    stream.destroy(new Error('client gave up'));
    const err = await failed;
    expect(err).toBeInstanceOf(pg.DatabaseError);
    expect(err).toMatchObject({ code: '57014', message: 'COPY from stdin failed: client gave up' });
    expect(await rows('SELECT count(*) FROM cf')).toEqual([['0']]);
  });

  it('checks NOT NULL, CHECK and unique constraints like INSERT', async () => {
    await db.query('CREATE TABLE con (id int PRIMARY KEY, v int NOT NULL CHECK (v > 0), u text UNIQUE)');
    await db.query("INSERT INTO con VALUES (1, 1, 'one')");
    const notNull = await sqlError(copyIn('COPY con FROM STDIN', ['2\t2\ttwo\n3\t\\N\tthree\n']));
    expect(notNull).toMatchObject({ code: '23502', where: 'COPY con, line 2: "3\t\\N\tthree"' });
    expect(notNull.message).toBe('null value in column "v" of relation "con" violates not-null constraint');
    const check = await sqlError(copyIn('COPY con FROM STDIN', ['2\t-1\ttwo\n']));
    expect(check).toMatchObject({ code: '23514', message: 'new row for relation "con" violates check constraint "con_v_check"', where: 'COPY con, line 1: "2\t-1\ttwo"' });
    const existing = await sqlError(copyIn('COPY con FROM STDIN', ['2\t2\tone\n']));
    expect(existing).toMatchObject({ code: '23505', detail: 'Key (u)=(one) already exists.', where: 'COPY con' });
    const within = await sqlError(copyIn('COPY con FROM STDIN', ['5\t5\tfive\n5\t6\tsix\n']));
    expect(within).toMatchObject({ code: '23505', detail: 'Key (id)=(5) already exists.' });
    expect(await rows('SELECT id FROM con ORDER BY id')).toEqual([[1]]);
  });

  it('behaves like any statement inside a transaction block', async () => {
    await db.query('CREATE TABLE tb (id int PRIMARY KEY)');
    await db.query('BEGIN');
    expect(await copyIn('COPY tb FROM STDIN', ['1\n2\n'])).toBe(2);
    expect(await rows('SELECT count(*) FROM tb')).toEqual([['2']]);
    await db.query('ROLLBACK');
    expect(await rows('SELECT count(*) FROM tb')).toEqual([['0']]);
    await db.query('BEGIN');
    await db.query('INSERT INTO tb VALUES (10)');
    expect((await sqlError(copyIn('COPY tb FROM STDIN', ['x\n']))).code).toBe('22P02');
    expect((await sqlError(db.query('SELECT 1'))).code).toBe('25P02');
    await db.query('ROLLBACK');
    await db.query('BEGIN');
    await copyIn('COPY tb FROM STDIN', ['3\n']);
    await db.query('COMMIT');
    expect(await rows('SELECT id FROM tb')).toEqual([[3]]);
  });
});

describe('COPY TO STDOUT over node-postgres', () => {
  beforeAll(async () => {
    await db.query('CREATE TABLE out1 (id int PRIMARY KEY, t text, b boolean, ts timestamp)');
    await db.query("INSERT INTO out1 VALUES (1, 'a\tb\\c' || chr(10) || 'd', true, '2024-05-06 07:08:09'), (2, NULL, false, NULL), (3, 'x,\"y\"', NULL, NULL), (4, '', true, NULL)");
  });

  it('writes text format with PostgreSQL escaping, and a column list', async () => {
    expect(await copyOut('COPY out1 TO STDOUT')).toBe('1\ta\\tb\\\\c\\nd\tt\t2024-05-06 07:08:09\n2\t\\N\tf\t\\N\n3\tx,"y"\t\\N\t\\N\n4\t\tt\t\\N\n');
    expect(await copyOut("COPY out1 (b, id) TO STDOUT (DELIMITER '|', NULL 'nil', HEADER)")).toBe('b|id\nt|1\nf|2\nnil|3\nt|4\n');
  });

  it('writes csv with quoting and a header', async () => {
    expect(await copyOut('COPY out1 (id, t) TO STDOUT WITH (FORMAT csv, HEADER)')).toBe('id,t\n1,"a\tb\\c\nd"\n2,\n3,"x,""y"""\n4,""\n');
  });

  it('writes the rows of a query', async () => {
    expect(await copyOut("COPY (SELECT id * 10 AS ten, upper(t) FROM out1 WHERE id < 4 AND t IS NOT NULL ORDER BY id DESC) TO STDOUT WITH CSV HEADER")).toBe(
      'ten,upper\n30,"X,""Y"""\n10,"A\tB\\C\nD"\n',
    );
    expect(await copyOut('COPY (SELECT 1 AS one WHERE false) TO STDOUT')).toBe('');
  });

  it('loads and dumps a table without a primary key (its hidden row id is neither read nor written)', async () => {
    await db.query('CREATE TABLE nopk (a text, b int DEFAULT 5)');
    expect(await copyIn('COPY nopk (a) FROM STDIN', ['x\ny\nx\n'])).toBe(3);
    expect((await copyOut('COPY nopk TO STDOUT')).split('\n').sort()).toEqual(['', 'x\t5', 'x\t5', 'y\t5']);
  });
});

describe('large COPY', () => {
  it('round-trips 100,000 rows in and out', async () => {
    await db.query('CREATE TABLE big (id int PRIMARY KEY, v text, n bigint)');
    const lines = Array.from({ length: 100_000 }, (_, i) => `${i + 1}\tvalue ${i % 997}\t${i * 7}\n`);
    // Chunks of arbitrary size that cut rows anywhere, as a client streaming a file does.
    const text = lines.join('');
    const chunks: string[] = [];
    for (let at = 0; at < text.length; at += 65_521) chunks.push(text.slice(at, at + 65_521));
    expect(await copyIn('COPY big FROM STDIN', chunks)).toBe(100_000);
    expect(await rows('SELECT count(*), sum(n) FROM big')).toEqual([['100000', String((7 * 99_999 * 100_000) / 2)]]);
    expect(await copyOut('COPY big TO STDOUT')).toBe(text);
  });

  it('returns 54000 when one transaction would exceed the storage commit limit, and writes nothing', async () => {
    // Each row is four mutations (the row and three index entries): 40,000 rows are more than one commit takes.
    await db.query('CREATE TABLE wide (id int PRIMARY KEY, a int, b int, c int)');
    await db.query('CREATE INDEX wide_a ON wide (a)');
    await db.query('CREATE INDEX wide_b ON wide (b)');
    await db.query('CREATE INDEX wide_c ON wide (c)');
    const text = Array.from({ length: 40_000 }, (_, i) => `${i}\t${i}\t${i}\t${i}\n`).join('');
    const err = await sqlError(copyIn('COPY wide FROM STDIN', [text]));
    expect(err.code).toBe('54000');
    expect(err.message).toBe(`transaction exceeds a storage limit: commit has 160000 mutations; the limit is ${MAX_MUTATIONS}`);
    expect(await rows('SELECT count(*) FROM wide')).toEqual([['0']]);
  });
});

describe('unsupported forms', () => {
  it.each<[string, string, RegExp]>([
    ["COPY tx FROM '/etc/passwd'", '42501', /COPY from a file/],
    ["COPY tx TO '/tmp/out'", '42501', /COPY to a file/],
    ["COPY tx FROM PROGRAM 'cat'", '0A000', /COPY FROM PROGRAM is not supported/],
    ["COPY tx TO PROGRAM 'cat'", '0A000', /COPY TO PROGRAM is not supported/],
    ['COPY tx TO STDOUT (FORMAT binary)', '0A000', /COPY BINARY is not supported/],
    ['COPY tx FROM STDIN WITH BINARY', '0A000', /COPY BINARY is not supported/],
    ['COPY tx FROM STDIN WHERE id > 1', '0A000', /WHERE is not supported/],
    ["COPY tx FROM STDIN (QUOTE '|')", '0A000', /COPY QUOTE requires CSV mode/],
    ['COPY nope FROM STDIN', '42P01', /relation "nope" does not exist/],
    ['COPY tx (id, id) FROM STDIN', '42701', /column "id" specified more than once/],
    ['COPY tx (zz) TO STDOUT', '42703', /column "zz" of relation "tx" does not exist/],
  ])('%s → %s', async (sql, code, message) => {
    const err = await sqlError(db.query(sql));
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
    expect(await rows('SELECT 1')).toEqual([[1]]);
  });
});

describe('the COPY sub-protocol, message by message', () => {
  async function raw(): Promise<RawClient> {
    const { client } = await RawClient.login(pod.addresses.sql?.port ?? 0, ADMIN.username, ADMIN.password, { database: 'defaultdb' });
    raws.push(client);
    return client;
  }

  const copyData = (s: string): Buffer => serialize.copyData(Buffer.from(s));
  const errorOf = (frames: Frame[]): Record<string, string> => fieldsOf(frames.find((f) => f.type === 'E') ?? { type: 'E', payload: Buffer.from([0]) });

  beforeAll(async () => {
    await db.query('CREATE TABLE wire (id int PRIMARY KEY, v text)');
  });

  it('answers CopyInResponse, takes a row split over CopyData messages, ignores Flush and Sync meanwhile', async () => {
    const c = await raw();
    c.send(serialize.query('COPY wire FROM STDIN'));
    const g = await c.next();
    expect(g.type).toBe('G');
    expect([...g.payload]).toEqual([0, 0, 2, 0, 0, 0, 0]);
    c.send(copyData('1\tsp'), serialize.flush(), serialize.sync(), copyData('lit\n2'), copyData('\ttwo\n'), serialize.copyDone());
    expect((await c.until('Z')).map(show)).toEqual(['C COPY 2', 'Z I']);
    c.send(serialize.query('SELECT v FROM wire ORDER BY id'));
    expect((await c.until('Z')).map(show)).toEqual(['T v', 'D split', 'D two', 'C SELECT 2', 'Z I']);
  });

  it('ends the COPY with 08P01 (not FATAL) on another message, drops the rest of its data, and stays usable', async () => {
    const c = await raw();
    c.send(serialize.query('COPY wire FROM STDIN'));
    expect((await c.next()).type).toBe('G');
    c.send(copyData('10\tx\n'), serialize.query('SELECT 1'));
    const frames = await c.until('Z');
    expect(frames.map(show)).toEqual(['E 08P01', 'Z I']);
    expect(errorOf(frames)).toMatchObject({ S: 'ERROR', M: 'unexpected message type 0x51 during COPY from stdin' });
    c.send(copyData('11\ty\n'), serialize.copyDone(), serialize.query('SELECT count(*) FROM wire WHERE id >= 10'));
    expect((await c.until('Z')).map(show)).toEqual(['T count', 'D 0', 'C SELECT 1', 'Z I']);
  });

  it('reports a failure before the client finished, then ignores its remaining data', async () => {
    const c = await raw();
    c.send(serialize.query('COPY wire FROM STDIN'));
    expect((await c.next()).type).toBe('G');
    c.send(copyData('20\tok\nbad\tno\n'));
    const frames = await c.until('Z');
    expect(frames.map(show)).toEqual(['E 22P02', 'Z I']);
    expect(errorOf(frames)).toMatchObject({ W: 'COPY wire, line 2, column id: "bad"' });
    c.send(copyData('21\tlate\n'), serialize.copyFail('never mind'), serialize.query('SELECT count(*) FROM wire WHERE id >= 20'));
    expect((await c.until('Z')).map(show)).toEqual(['T count', 'D 0', 'C SELECT 1', 'Z I']);
  });

  it('in the extended protocol, a failed COPY skips to the Sync after the dropped rest of its data', async () => {
    const c = await raw();
    c.send(serialize.parse({ text: 'COPY wire FROM STDIN' }), bindMessage({}), serialize.execute({}), serialize.sync());
    expect((await c.until('G')).map(show)).toEqual(['1', '2', 'G']);
    c.send(copyData('40\tfine\n41\t'), copyData('x\t\tbroken\n'));
    c.send(copyData('42\tlate\n'), serialize.copyDone(), serialize.execute({}), serialize.sync());
    const frames = await c.until('Z');
    expect(frames.map(show)).toEqual(['E 22P04', 'Z I']);
    expect(errorOf(frames)).toMatchObject({ M: 'extra data after last expected column', W: 'COPY wire, line 2: "41\tx\t\tbroken"' });
    c.send(serialize.query('SELECT count(*) FROM wire WHERE id >= 40'));
    expect((await c.until('Z')).map(show)).toEqual(['T count', 'D 0', 'C SELECT 1', 'Z I']);
  });

  it('runs COPY FROM STDIN and TO STDOUT in the extended protocol', async () => {
    const c = await raw();
    // The Sync sent along with Execute arrives during copy-in and is ignored; the one after CopyDone ends the transaction.
    c.send(serialize.parse({ text: 'COPY wire FROM STDIN (FORMAT csv)' }), bindMessage({}), serialize.describe({ type: 'P' }), serialize.execute({}), serialize.sync());
    expect((await c.until('G')).map(show)).toEqual(['1', '2', 'n', 'G']);
    c.send(copyData('30,"ext"\n'), serialize.copyDone(), serialize.sync());
    expect((await c.until('Z')).map(show)).toEqual(['C COPY 1', 'Z I']);
    c.send(serialize.parse({ text: 'COPY (SELECT id, v FROM wire WHERE id = 30) TO STDOUT' }), bindMessage({}), serialize.execute({}), serialize.sync());
    const frames = await c.until('Z');
    expect(frames.map(show)).toEqual(['1', '2', 'H', 'd', 'c', 'C COPY 1', 'Z I']);
    expect(frames[3]?.payload.toString()).toBe('30\text\n');
  });
});

describe('psql', () => {
  const env = { ...process.env, PGPASSWORD: ADMIN.password, PGSSLMODE: 'require' };
  const args = (): string[] => ['-h', '127.0.0.1', '-p', String(pod.addresses.sql?.port), '-U', ADMIN.username, '-d', 'defaultdb', '-X', '-q', '-A', '-t'];

  /** Runs psql with `input` on its stdin (the pod runs in this process, so psql must not block the event loop). */
  function psql(extra: readonly string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn('psql', [...args(), ...extra], { env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(input);
    });
  }

  it('pipes data into COPY … FROM STDIN with -c', async () => {
    await db.query('CREATE TABLE ps (id int PRIMARY KEY, v text)');
    const res = await psql(['-c', 'COPY ps FROM STDIN (FORMAT csv)'], '1,one\n2,"t,wo"\n');
    expect(res).toMatchObject({ code: 0, stderr: '' });
    expect(await rows('SELECT id, v FROM ps ORDER BY id')).toEqual([
      [1, 'one'],
      [2, 't,wo'],
    ]);
  });

  it('runs \\copy from stdin inside a script and \\copy to stdout', async () => {
    const res = await psql(['-v', 'ON_ERROR_STOP=1'], '\\copy ps from stdin\n3\tthree\n4\t\\N\n\\.\nSELECT count(*) FROM ps;\n');
    expect(res).toMatchObject({ code: 0, stderr: '' });
    expect(res.stdout.trim()).toBe('4');
    const out = await psql(['-c', '\\copy ps to stdout'], '');
    expect(out.stdout).toBe('1\tone\n2\tt,wo\n3\tthree\n4\t\\N\n');
    const query = await psql(['-c', "\\copy (SELECT v FROM ps WHERE id <= 2 ORDER BY id) to stdout with (format csv, header)"], '');
    expect(query.stdout).toBe('v\none\n"t,wo"\n');
  });

  it('prints the error with its CONTEXT line and writes nothing', async () => {
    const res = await psql(['-c', 'COPY ps FROM STDIN'], '5\tfive\nsix\t6\n');
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('invalid input syntax for type integer: "six"');
    expect(res.stderr).toContain('CONTEXT:  COPY ps, line 2, column id: "six"');
    expect(await rows('SELECT count(*) FROM ps')).toEqual([['4']]);
  });
});
