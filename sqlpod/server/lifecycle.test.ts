// The server as the pod's lifecycle sees it: session counts, draining,
// limits, and shutdown.
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { createPgServer } from './index.js';
import { eventually, startToyServer, type ToyServer } from './testing/fixtures.js';
import { RawClient, describe as show } from './testing/raw-client.js';
import { ToyEngine } from './testing/toy-engine.js';

const cleanup: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => undefined);
});

async function server(options: Parameters<typeof startToyServer>[0] = {}): Promise<ToyServer> {
  const t = await startToyServer(options);
  cleanup.push(() => t.close());
  return t;
}

async function connected(t: ToyServer): Promise<pg.Client> {
  const c = t.client();
  // A client the server drops must not crash the test run with an unhandled 'error'.
  c.on('error', () => undefined);
  await c.connect();
  cleanup.push(() => c.end());
  return c;
}

describe('session count', () => {
  it('is reported through the hooks as sessions open and close', async () => {
    const t = await server();
    const a = await connected(t);
    const b = await connected(t);
    expect(t.server.sessionCount).toBe(2);
    await a.end();
    await eventually(() => t.server.sessionCount === 1);
    await b.end();
    await eventually(() => t.server.sessionCount === 0);
    expect(t.hooks.counts).toEqual([1, 2, 1, 0]);
    expect([t.hooks.opened, t.hooks.closed]).toEqual([2, 2]);
    expect(t.engine.openSessions).toBe(0);
  });

  it('counts statements and errors through the hooks', async () => {
    const t = await server();
    const c = await connected(t);
    await c.query('SELECT 1; INSERT 2');
    await c.query('SELECT $1', ['x']);
    await expect(c.query('FAIL 22012')).rejects.toMatchObject({ code: '22012' });
    expect(t.hooks.statements).toEqual(['SELECT', 'INSERT', 'SELECT', 'FAIL']);
    expect(t.hooks.errors).toEqual(['22012']);
  });

  it('survives a hook that throws', async () => {
    const engine = new ToyEngine({ roles: { alice: { password: 'pw' } }, databases: ['app'] });
    const s = await createPgServer({
      engine,
      host: '127.0.0.1',
      port: 0,
      hooks: {
        onStatement: () => {
          throw new Error('metrics are down');
        },
      },
    });
    cleanup.push(() => s.close({ force: true }));
    const c = new pg.Client({ host: '127.0.0.1', port: s.address.port, user: 'alice', password: 'pw', database: 'app' });
    await c.connect();
    cleanup.push(() => c.end());
    expect((await c.query('SELECT 1')).rows).toEqual([{ '?column?': 1 }]);
  });
});

describe('draining', () => {
  it('refuses new sessions with 57P03 while open ones keep working, and undrain accepts again', async () => {
    const t = await server();
    const open = await connected(t);
    t.server.drain();
    expect(t.server.draining).toBe(true);
    await expect(connected(t)).rejects.toMatchObject({
      code: '57P03',
      severity: 'FATAL',
      message: 'the SQL pod is draining; reconnect to be routed to another pod',
    });
    expect(t.hooks.refused).toEqual(['draining']);
    expect((await open.query('SELECT generate(2)')).rowCount).toBe(2);
    expect(t.server.sessionCount).toBe(1);

    t.server.undrain();
    const again = await connected(t);
    expect((await again.query('SELECT 1')).rowCount).toBe(1);
  });

  it('still honours cancel requests while draining', async () => {
    const t = await server();
    const { client, login } = await RawClient.login(t.port, 'alice', 'correct horse battery staple');
    cleanup.push(() => Promise.resolve(client.destroy()));
    t.server.drain();
    client.send(serialize.query('SLEEP 30000'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const cancel = await RawClient.connect(t.port);
    cancel.send(serialize.cancel(login.processId, login.secretKey));
    await cancel.closed;
    expect((await client.until('Z')).map(show)).toEqual(['E 57014', 'Z I']);
  });
});

describe('limits', () => {
  it('refuses sessions beyond maxSessions with 53300, and accepts once one has left', async () => {
    const t = await server({ limits: { maxSessions: 2 } });
    const a = await connected(t);
    await connected(t);
    await expect(connected(t)).rejects.toMatchObject({ code: '53300', message: 'sorry, too many clients already' });
    expect(t.hooks.refused).toEqual(['too-many-connections']);
    await a.end();
    await eventually(() => t.server.sessionCount === 1);
    expect((await (await connected(t)).query('SELECT 1')).rowCount).toBe(1);
  });

  it('disconnects a client that does not log in in time', async () => {
    const t = await server({ limits: { authTimeoutMs: 200 } });
    const c = await RawClient.connect(t.port);
    const started = Date.now();
    await c.closed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('refuses settings that cannot work', async () => {
    const engine = new ToyEngine({ roles: {}, databases: [] });
    await expect(createPgServer({ engine, host: '127.0.0.1', port: 0, requireTls: true })).rejects.toThrow(/need a serving certificate/);
    await expect(createPgServer({ engine, host: '127.0.0.1', port: 0, authMethod: 'password' })).rejects.toThrow(/need a serving certificate/);
    await expect(createPgServer({ engine, host: '127.0.0.1', port: 0, limits: { maxSessions: 0 } })).rejects.toThrow(/maxSessions/);
  });
});

describe('close', () => {
  it('waits for open sessions without force', async () => {
    const t = await server();
    const c = await connected(t);
    let closed = false;
    const closing = t.server.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(closed).toBe(false);
    expect((await c.query('SELECT 1')).rowCount).toBe(1);
    await c.end();
    await closing;
    expect(t.engine.openSessions).toBe(0);
  });

  it('with force, tells sessions 57P01, cancels what runs, and closes every session', async () => {
    const t = await server();
    const idle = await connected(t);
    const busy = await connected(t);
    const idleError = new Promise((resolve) => idle.once('error', resolve));
    const running = busy.query('SLEEP 30000').then(
      () => undefined,
      (err: unknown) => err,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    await t.server.close({ force: true });
    expect(await idleError).toMatchObject({ code: '57P01', message: 'terminating connection due to administrator command' });
    expect(await running).toMatchObject({ code: '57P01' });
    expect(t.engine.openSessions).toBe(0);
    expect(t.engine.sessions.every((s) => s.closed)).toBe(true);
    expect(t.server.sessionCount).toBe(0);
    await expect(RawClient.connect(t.port)).rejects.toThrow();
  });
});
