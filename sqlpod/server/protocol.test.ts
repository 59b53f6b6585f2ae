// Exact message sequences, driven byte by byte with a raw client.
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, eventually, startToyServer, type ToyServer } from './testing/fixtures.js';
import {
  RawClient,
  bindMessage,
  cstrings,
  dataRow,
  describe as show,
  fieldsOf,
  int32,
  parameterDescription,
  rowDescription,
  startupPacket,
  type Frame,
} from './testing/raw-client.js';

let t: ToyServer;
const open: RawClient[] = [];

beforeAll(async () => {
  t = await startToyServer({ limits: { maxMessageLength: 4096 } });
});

afterAll(async () => {
  for (const c of open) c.destroy();
  await t.close();
});

async function login(extra: Record<string, string> = {}): Promise<RawClient> {
  const { client } = await RawClient.login(t.port, 'alice', PASSWORD, extra);
  open.push(client);
  return client;
}

async function query(c: RawClient, sql: string): Promise<string[]> {
  c.send(serialize.query(sql));
  return (await c.until('Z')).map(show);
}

const errorOf = (frames: Frame[]): Record<string, string> => fieldsOf(frames.find((f) => f.type === 'E') ?? { type: 'E', payload: Buffer.from([0]) });

/** Waits a little and says whether anything arrived meanwhile. */
async function silent(c: RawClient, ms = 150): Promise<boolean> {
  const before = c.chunks;
  await new Promise((resolve) => setTimeout(resolve, ms));
  return c.chunks === before;
}

describe('simple query protocol', () => {
  it('answers each statement, an empty query, and reports the transaction status', async () => {
    const c = await login();
    expect(await query(c, 'SELECT 1; SELECT generate(2)')).toEqual([
      'T ?column?', 'D 1', 'C SELECT 1', 'T n', 'D 1', 'D 2', 'C SELECT 2', 'Z I',
    ]);
    expect(await query(c, '')).toEqual(['I', 'Z I']);
    expect(await query(c, ' ; ')).toEqual(['I', 'Z I']);
    expect(await query(c, 'BEGIN')).toEqual(['C BEGIN', 'Z T']);
    expect(await query(c, 'FAIL 22012')).toEqual(['E 22012', 'Z E']);
    expect(await query(c, 'SELECT 1')).toEqual(['E 25P02', 'Z E']);
    expect(await query(c, 'COMMIT')).toEqual(['C ROLLBACK', 'Z I']);
  });

  it('reports an error position relative to the whole query and skips the rest', async () => {
    const c = await login();
    c.send(serialize.query('SELECT 1; FAIL 22012; SELECT 2'));
    const frames = await c.until('Z');
    expect(frames.map(show)).toEqual(['T ?column?', 'D 1', 'C SELECT 1', 'E 22012', 'Z I']);
    expect(errorOf(frames)).toMatchObject({ S: 'ERROR', V: 'ERROR', M: 'toy failure 22012', D: 'asked for', P: '16' });
    // A parse error of the whole string is placed by the engine itself.
    c.send(serialize.query("SELECT 'abc"));
    expect(errorOf(await c.until('Z'))).toMatchObject({ C: '42601', P: '8' });
  });

  it('counts positions in characters, not UTF-16 units', async () => {
    const c = await login();
    c.send(serialize.query('NOTICE 😀😀; FAIL 22012'));
    const frames = await c.until('Z');
    expect(frames.map(show)).toEqual(['N 00000', 'C DO', 'E 22012', 'Z I']);
    expect(fieldsOf(frames[0] as Frame)).toMatchObject({ S: 'NOTICE', M: '😀😀' });
    expect(errorOf(frames)['P']).toBe('17');
  });

  it('writes out what is answered before waiting on a slow engine call', async () => {
    const c = await login();
    const started = Date.now();
    c.send(serialize.query('SELECT 1; SLEEP 500'));
    expect(show(await c.next())).toBe('T ?column?');
    expect(Date.now() - started).toBeLessThan(400);
    expect((await c.until('Z')).map(show)).toEqual(['D 1', 'C SELECT 1', 'C SLEEP', 'Z I']);
  });

  it('refuses parameters in a simple query (42P02)', async () => {
    const c = await login();
    expect(await query(c, 'SELECT $1')).toEqual(['E 42P02', 'Z I']);
  });

  it('reports a failed commit at the end of the query before ReadyForQuery', async () => {
    const c = await login();
    expect(await query(c, 'CONFLICT')).toEqual(['C UPDATE 1', 'E 40001', 'Z I']);
    expect(await query(c, 'SELECT 1')).toEqual(['T ?column?', 'D 1', 'C SELECT 1', 'Z I']);
  });

  it('sends notices and parameter changes', async () => {
    const c = await login({ application_name: 'raw-test' });
    expect(await query(c, 'SET application_name = other; NOTICE hi')).toEqual([
      'S application_name=other', 'C SET', 'N 00000', 'C DO', 'Z I',
    ]);
    expect(await query(c, 'BEGIN; BEGIN')).toEqual(['C BEGIN', 'N 25001', 'C BEGIN', 'Z T']);
  });

  it('reports an engine bug as XX000 and keeps the session', async () => {
    const c = await login();
    const frames = await (async () => {
      c.send(serialize.query('THROW'));
      return c.until('Z');
    })();
    expect(frames.map(show)).toEqual(['E XX000', 'Z I']);
    expect(errorOf(frames)['M']).toBe('internal error: toy engine bug');
    expect(t.hooks.errors).toContain('XX000');
    expect(await query(c, 'SELECT 7')).toEqual(['T ?column?', 'D 7', 'C SELECT 1', 'Z I']);
  });

  it('closes the connection after a FATAL error from the engine', async () => {
    const c = await login();
    c.send(serialize.query('FAIL 53200 FATAL; SELECT 1'));
    const frames = await c.rest();
    expect(frames.map(show)).toEqual(['E 53200']);
    expect(errorOf(frames)['S']).toBe('FATAL');
  });
});

describe('extended query protocol', () => {
  it('runs a portal in row-limited steps, then answers a finished portal with zero rows', async () => {
    const c = await login();
    c.send(
      serialize.parse({ text: 'SELECT generate(5)' }),
      serialize.bind({}),
      serialize.describe({ type: 'P' }),
      ...[2, 2, 2, 2].map((rows) => serialize.execute({ rows })),
      serialize.sync(),
    );
    expect((await c.until('Z')).map(show)).toEqual([
      '1', '2', 'T n', 'D 1', 'D 2', 's', 'D 3', 'D 4', 's', 'D 5', 'C SELECT 1', 'C SELECT 0', 'Z I',
    ]);
    // The implicit transaction ended at Sync, and with it the portal.
    c.send(serialize.execute({}), serialize.sync());
    const frames = await c.until('Z');
    expect(frames.map(show)).toEqual(['E 34000', 'Z I']);
    expect(errorOf(frames)['M']).toBe('portal "" does not exist');
  });

  it('keeps named portals until the transaction block ends', async () => {
    const c = await login();
    expect(await query(c, 'BEGIN')).toEqual(['C BEGIN', 'Z T']);
    c.send(
      serialize.parse({ name: 's1', text: 'SELECT generate(3)' }),
      serialize.bind({ portal: 'p1', statement: 's1' }),
      serialize.execute({ portal: 'p1', rows: 1 }),
      serialize.sync(),
    );
    expect((await c.until('Z')).map(show)).toEqual(['1', '2', 'D 1', 's', 'Z T']);
    c.send(serialize.execute({ portal: 'p1' }), serialize.sync());
    expect((await c.until('Z')).map(show)).toEqual(['D 2', 'D 3', 'C SELECT 2', 'Z T']);
    expect(await query(c, 'COMMIT')).toEqual(['C COMMIT', 'Z I']);
    c.send(serialize.execute({ portal: 'p1' }), serialize.sync());
    expect((await c.until('Z')).map(show)).toEqual(['E 34000', 'Z I']);
    // The statement outlives the transaction.
    c.send(serialize.bind({ portal: 'p1', statement: 's1' }), serialize.execute({ portal: 'p1' }), serialize.sync());
    expect((await c.until('Z')).map(show)).toEqual(['2', 'D 1', 'D 2', 'D 3', 'C SELECT 3', 'Z I']);
  });

  it('describes statements and portals', async () => {
    const c = await login();
    c.send(
      serialize.parse({ name: 'q', text: 'SELECT $1, $2::int' }),
      serialize.describe({ type: 'S', name: 'q' }),
      serialize.parse({ name: 'b', text: 'BEGIN' }),
      serialize.describe({ type: 'S', name: 'b' }),
      serialize.bind({ portal: 'pb', statement: 'b' }),
      serialize.describe({ type: 'P', name: 'pb' }),
      serialize.sync(),
    );
    const frames = await c.until('Z');
    expect(frames.map(show)).toEqual(['1', 't', 'T ?column?,?column?', '1', 't', 'n', '2', 'n', 'Z I']);
    expect(parameterDescription(frames[1] as Frame)).toEqual([25, 23]);
    expect(rowDescription(frames[2] as Frame).map((f) => f.typeOid)).toEqual([25, 23]);
    expect(parameterDescription(frames[4] as Frame)).toEqual([]);
  });

  it('takes binary parameters and returns binary results', async () => {
    const c = await login();
    c.send(
      serialize.parse({ text: 'SELECT $1::int, $2' }),
      bindMessage({ paramFormats: [1, 0], params: [int32(-42), Buffer.from('text')], resultFormats: [1, 0] }),
      serialize.describe({ type: 'P' }),
      serialize.execute({}),
      serialize.sync(),
    );
    const frames = await c.until('Z');
    expect(frames.map((f) => f.type)).toEqual(['1', '2', 'T', 'D', 'C', 'Z']);
    expect(rowDescription(frames[2] as Frame).map((f) => f.format)).toEqual([1, 0]);
    const [value, text] = dataRow(frames[3] as Frame);
    expect(value?.readInt32BE(0)).toBe(-42);
    expect(text?.toString()).toBe('text');
  });

  it('discards everything after an error until Sync, and sends ReadyForQuery only at Sync', async () => {
    const c = await login();
    c.send(
      serialize.parse({ name: 'x', text: 'SELECT 1' }),
      serialize.parse({ name: 'x', text: 'SELECT 2' }),
      serialize.bind({ statement: 'x' }),
      serialize.execute({}),
      serialize.query('SELECT 3'),
      serialize.sync(),
    );
    const frames = await c.until('Z');
    expect(frames.map(show)).toEqual(['1', 'E 42P05', 'Z I']);
    expect(errorOf(frames)['M']).toBe('prepared statement "x" already exists');

    c.send(serialize.parse({ text: 'SELECT 1' }), serialize.bind({}), serialize.flush());
    expect((await c.next()).type).toBe('1');
    expect((await c.next()).type).toBe('2');
    expect(await silent(c)).toBe(true);
    c.send(serialize.execute({}), serialize.sync());
    expect((await c.until('Z')).map(show)).toEqual(['D 1', 'C SELECT 1', 'Z I']);
  });

  it('refuses several commands in one Parse and runs an empty one', async () => {
    const c = await login();
    c.send(serialize.parse({ text: 'SELECT 1; SELECT 2' }), serialize.sync());
    const frames = await c.until('Z');
    expect(frames.map(show)).toEqual(['E 42601', 'Z I']);
    expect(errorOf(frames)['M']).toBe('cannot insert multiple commands into a prepared statement');
    c.send(
      serialize.parse({ text: '  ' }),
      serialize.bind({}),
      serialize.describe({ type: 'S' }),
      serialize.describe({ type: 'P' }),
      serialize.execute({}),
      serialize.sync(),
    );
    expect((await c.until('Z')).map(show)).toEqual(['1', '2', 't', 'n', 'n', 'I', 'Z I']);
  });

  it('places a Parse error inside its statement', async () => {
    const c = await login();
    c.send(serialize.parse({ text: '  BOGUS 1' }), serialize.sync());
    expect(errorOf(await c.until('Z'))).toMatchObject({ C: '42601', M: 'syntax error at or near "BOGUS"', P: '3' });
  });

  it.each<[string, Buffer, string, string]>([
    ['an unknown statement', bindMessage({ statement: 'nope' }), '26000', 'prepared statement "nope" does not exist'],
    ['too few parameters', bindMessage({ params: [Buffer.from('1')] }), '08P01', 'bind message supplies 1 parameters, but prepared statement "" requires 2'],
    [
      'more parameter formats than parameters',
      bindMessage({ paramFormats: [0, 0, 0], params: [Buffer.from('1'), Buffer.from('2')] }),
      '08P01',
      'bind message has 3 parameter formats but 2 parameters',
    ],
    [
      'result formats that do not match the columns',
      bindMessage({ params: [Buffer.from('1'), Buffer.from('2')], resultFormats: [0, 1, 0] }),
      '08P01',
      'bind message has 3 result formats but query has 2 columns',
    ],
    ['an unknown format code', bindMessage({ paramFormats: [3], params: [Buffer.from('1'), Buffer.from('2')] }), '22023', 'unsupported format code: 3'],
    ['a bad parameter value', bindMessage({ params: [Buffer.from('1'), Buffer.from('x')] }), '22P02', 'invalid input syntax for type integer: "x"'],
  ])('Bind refuses %s', async (_name, bind, code, message) => {
    const c = await login();
    c.send(serialize.parse({ text: 'SELECT $1, $2::int' }), bind, serialize.execute({}), serialize.sync());
    const frames = await c.until('Z');
    expect(frames.map(show)).toEqual(['1', `E ${code}`, 'Z I']);
    expect(errorOf(frames)['M']).toBe(message);
  });

  it('answers Close with CloseComplete, whether or not the object exists', async () => {
    const c = await login();
    c.send(
      serialize.close({ type: 'S', name: 'nope' }),
      serialize.close({ type: 'P', name: 'nope' }),
      serialize.parse({ name: 'c', text: 'SELECT 1' }),
      serialize.close({ type: 'S', name: 'c' }),
      serialize.bind({ statement: 'c' }),
      serialize.sync(),
    );
    expect((await c.until('Z')).map(show)).toEqual(['3', '3', '1', '3', 'E 26000', 'Z I']);
  });

  it('refuses to run a finished portal without rows again (55000), as PostgreSQL does', async () => {
    const c = await login();
    c.send(serialize.parse({ text: 'INSERT 3' }), serialize.bind({}), serialize.execute({}), serialize.execute({}), serialize.sync());
    const frames = await c.until('Z');
    expect(frames.map(show)).toEqual(['1', '2', 'C INSERT 0 3', 'E 55000', 'Z I']);
    expect(errorOf(frames)['M']).toBe('portal "" cannot be run');
  });

  it('answers a pipeline of many queries in few writes', async () => {
    const c = await login();
    const before = c.chunks;
    const one = [serialize.parse({ text: 'SELECT $1' }), serialize.bind({ values: ['v'] }), serialize.execute({}), serialize.sync()];
    c.send(...Array.from({ length: 50 }, () => one).flat());
    const frames: Frame[] = [];
    while (frames.filter((f) => f.type === 'Z').length < 50) frames.push(await c.next());
    expect(frames.filter((f) => f.type === 'D').length).toBe(50);
    expect(c.chunks - before).toBeLessThanOrEqual(5);
  });

  it('stops working for a client that does not read its answers, and resumes when it does', async () => {
    const c = await login();
    const session = t.engine.sessions.at(-1);
    const before = session?.prepares ?? 0;
    c.pause();
    const queries = 2000;
    c.send(...Array.from({ length: queries }, () => serialize.query('SELECT generate(1000)')));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const whilePaused = (session?.prepares ?? 0) - before;
    expect(whilePaused).toBeLessThan(queries / 2);
    c.resume();
    let ready = 0;
    while (ready < queries) if ((await c.next()).type === 'Z') ready++;
    expect((session?.prepares ?? 0) - before).toBe(queries);
  });

  it('streams a large result to a slow reader', async () => {
    const c = await login();
    c.send(serialize.query('SELECT generate(200000)'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const frames = await c.until('Z');
    expect(frames.length).toBe(200_003);
    expect(show(frames[200_000] as Frame)).toBe('D 200000');
  });
});

describe('protocol errors', () => {
  it.each<[string, Buffer]>([
    ['CopyData', serialize.copyData(Buffer.from('x'))],
    ['CopyDone', serialize.copyDone()],
    ['CopyFail', serialize.copyFail('no')],
    ['a FunctionCall', Buffer.concat([Buffer.from('F'), int32(4)])],
    ['a message type that does not exist', Buffer.concat([Buffer.from('!'), int32(4)])],
    ['a message above the size limit', Buffer.concat([Buffer.from('Q'), int32(1_000_000)])],
  ])('%s in a session is a FATAL protocol violation', async (_name, bytes) => {
    const c = await login();
    c.send(bytes);
    const frames = await c.rest();
    expect(frames.map(show)).toEqual(['E 08P01']);
    expect(errorOf(frames)['S']).toBe('FATAL');
    expect(await query(await login(), 'SELECT 1')).toEqual(['T ?column?', 'D 1', 'C SELECT 1', 'Z I']);
  });

  it.each<[string, Buffer, string, RegExp]>([
    ['garbage', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), '08P01', /invalid length of startup packet/],
    ['protocol 2.0', startupPacket({ user: 'alice' }, 2, 0), '0A000', /unsupported frontend protocol 2\.0/],
    ['no user', startupPacket({ database: 'app' }), '28000', /no PostgreSQL user name/],
  ])('a first packet with %s gets a FATAL error', async (_name, bytes, code, message) => {
    const c = await RawClient.connect(t.port);
    open.push(c);
    c.send(bytes);
    const frames = await c.rest();
    expect(frames.map(show)).toEqual([`E ${code}`]);
    expect(errorOf(frames)['M']).toMatch(message);
  });

  it('answers a newer minor version or _pq_ options with NegotiateProtocolVersion, then logs in', async () => {
    const c = await RawClient.connect(t.port);
    open.push(c);
    c.send(startupPacket({ user: 'alice', database: 'app', '_pq_.compression': 'on' }, 3, 2));
    const login = await c.scram(PASSWORD);
    const v = login.frames[0] as Frame;
    expect(v.type).toBe('v');
    expect(v.payload.readInt32BE(0)).toBe(0);
    expect(v.payload.readInt32BE(4)).toBe(1);
    expect(v.payload.toString('utf8', 8)).toBe('_pq_.compression\0');
    expect(await query(c, 'SELECT 1')).toHaveLength(4);
  });

  it('declines GSS and SSL encryption when it has no certificate, and goes on in plain text', async () => {
    const c = await RawClient.connect(t.port);
    open.push(c);
    c.send(Buffer.concat([int32(8), int32(80877104)]));
    expect(await c.readByte()).toBe('N');
    c.send(serialize.requestSsl());
    expect(await c.readByte()).toBe('N');
    c.send(startupPacket({ user: 'alice', database: 'app' }));
    await c.scram(PASSWORD);
    expect(await query(c, 'SELECT 1')).toHaveLength(4);
  });

  it('refuses a large message before authentication', async () => {
    const c = await RawClient.connect(t.port);
    open.push(c);
    c.send(startupPacket({ user: 'alice', database: 'app' }));
    expect((await c.next()).type).toBe('R');
    c.send(Buffer.concat([Buffer.from('p'), int32(1_000_000), Buffer.alloc(70_000)]));
    expect((await c.rest()).map(show)).toEqual(['E 08P01']);
  });
});

describe('authentication and session startup', () => {
  it.each([
    ['an unknown user', 'mallory', PASSWORD],
    ['a wrong password', 'alice', 'wrong'],
    ['a role without LOGIN', 'nologin', PASSWORD],
    ['a role without a password', 'nopassword', ''],
  ])('%s gets 28P01 with the same message', async (_name, user, password) => {
    const c = await RawClient.connect(t.port);
    open.push(c);
    c.send(startupPacket({ user, database: 'app' }));
    await expect(c.scram(password)).rejects.toThrow(`"M":"password authentication failed for user \\"${user}\\""`);
    expect(t.hooks.refused).toContain('authentication-failed');
  });

  it('reports a missing database after AuthenticationOk, as FATAL 3D000', async () => {
    const c = await RawClient.connect(t.port);
    open.push(c);
    c.send(startupPacket({ user: 'alice', database: 'nope' }));
    await expect(c.scram(PASSWORD)).rejects.toThrow(/3D000.*database \\"nope\\" does not exist/);
  });

  it('sends the initial parameters, session_authorization, the startup application_name and BackendKeyData', async () => {
    const { client, login } = await RawClient.login(t.port, 'alice', PASSWORD, { application_name: 'tester' });
    open.push(client);
    expect(login.parameters.get('server_version')).toBe('16.0');
    expect(login.parameters.get('session_authorization')).toBe('alice');
    expect(login.parameters.get('application_name')).toBe('tester');
    expect(login.processId).toBeGreaterThan(0);
    expect(login.frames.at(-1)?.type).toBe('Z');
    expect(cstrings(login.frames.find((f) => f.type === 'S') as Frame)).toHaveLength(2);
  });

  it('lets Terminate during the password exchange end quietly', async () => {
    const c = await RawClient.connect(t.port);
    open.push(c);
    c.send(startupPacket({ user: 'alice', database: 'app' }));
    expect((await c.next()).type).toBe('R');
    c.send(serialize.end());
    expect(await c.rest()).toEqual([]);
  });
});

describe('cancel and disconnect', () => {
  it('cancels a running statement with the right key, and ignores a wrong key', async () => {
    const { client, login } = await RawClient.login(t.port, 'alice', PASSWORD);
    open.push(client);
    const cancel = async (secretKey: number): Promise<Frame[]> => {
      const c = await RawClient.connect(t.port);
      c.send(serialize.cancel(login.processId, secretKey));
      return c.rest();
    };
    client.send(serialize.query('SLEEP 300'));
    expect(await cancel(login.secretKey ^ 1)).toEqual([]);
    expect((await client.until('Z')).map(show)).toEqual(['C SLEEP', 'Z I']);

    client.send(serialize.query('SLEEP 30000'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await cancel(login.secretKey)).toEqual([]);
    const frames = await client.until('Z');
    expect(frames.map(show)).toEqual(['E 57014', 'Z I']);
    expect(errorOf(frames)['M']).toBe('canceling statement due to user request');
  });

  it('closes the session on Terminate', async () => {
    const c = await login();
    const session = t.engine.sessions.at(-1);
    c.end();
    await c.closed;
    await eventually(() => session?.closed === true);
    expect(session?.rolledBackOnClose).toBe(false);
  });

  it('rolls back and cancels when the client vanishes', async () => {
    const c = await login();
    const session = t.engine.sessions.at(-1);
    expect(await query(c, 'BEGIN')).toEqual(['C BEGIN', 'Z T']);
    c.send(serialize.query('SLEEP 30000'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    c.destroy();
    await eventually(() => session?.closed === true);
    expect(session?.rolledBackOnClose).toBe(true);
    expect(session?.cancels).toBe(1);
  });
});
