import { execFile } from 'node:child_process';
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BackendWriter,
  ENCRYPTION_REJECT,
  FrontendParser,
  PgWireError,
  SCRAM_MECHANISM,
  SQLSTATE,
  ScramServer,
  decodeSaslInitialResponse,
  hashPassword,
  verifyPassword,
  parseVerifier,
  type FrontendPacket,
} from './index.js';

const PASSWORD = 'correct horse battery staple';
const USERS = new Map([['alice', hashPassword(PASSWORD)]]);

function wireError(fn: () => unknown): PgWireError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PgWireError) return err;
    throw err;
  }
  throw new Error('expected a PgWireError');
}

/** The client half of SCRAM-SHA-256, written straight from RFC 5802 to check the server against. */
function clientFinal(password: string, clientFirstBare: string, serverFirst: string, cbind = 'biws'): string {
  const attrs = new Map(serverFirst.split(',').map((a) => [a.slice(0, 1), a.slice(2)]));
  const salted = pbkdf2Sync(password, Buffer.from(attrs.get('s') ?? '', 'base64'), Number(attrs.get('i')), 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const withoutProof = `c=${cbind},r=${attrs.get('r')}`;
  const sig = createHmac('sha256', storedKey).update(`${clientFirstBare},${serverFirst},${withoutProof}`).digest();
  const proof = Buffer.from(clientKey.map((b, i) => b ^ (sig[i] ?? 0)));
  return `${withoutProof},p=${proof.toString('base64')}`;
}

describe('ScramServer', () => {
  it('reproduces the RFC 7677 exchange', () => {
    const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
    const server = new ScramServer({
      username: 'user',
      verifier: hashPassword('pencil', 4096, salt),
      serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
    });
    expect(server.clientFirst('n,,n=user,r=rOprNGfwEbeRWgbNEkqO')).toBe(
      'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
    );
    expect(
      server.clientFinal('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='),
    ).toBe('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
  });

  it('stores verifiers in the pg_authid format', () => {
    const v = hashPassword('pw', 4096);
    expect(v).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/);
    expect(parseVerifier(v)).toMatchObject({ iterations: 4096 });
    expect(hashPassword('pw')).not.toBe(v);
    expect(parseVerifier('md5abcdef')).toBeUndefined();
    expect(parseVerifier('SCRAM-SHA-256$4096:c2FsdA==$c2hvcnQ=:c2hvcnQ=')).toBeUndefined();
  });

  it.each([
    ['the same password', 'pw', hashPassword('pw', 4096), true],
    ['another password', 'pW', hashPassword('pw', 4096), false],
    ['the empty password against a real one', '', hashPassword('pw', 4096), false],
    ['a malformed verifier', 'pw', 'md5abcdef', false],
  ])('verifyPassword: %s → %s', (_name, password, verifier, expected) => {
    expect(verifyPassword(verifier, password)).toBe(expected);
  });

  it("accepts 'y,,' when the client final repeats it", () => {
    const s = new ScramServer({ username: 'alice', verifier: USERS.get('alice') });
    const first = s.clientFirst('y,,n=,r=abc');
    expect(s.clientFinal(clientFinal(PASSWORD, 'n=,r=abc', first, 'eSws'))).toMatch(/^v=/);
  });

  it.each([
    ['channel binding p=', 'p=tls-server-end-point,,n=,r=abc', '08P01', /channel binding/],
    ['an authzid', 'n,a=bob,n=,r=abc', '0A000', /authorization identity/],
    ['a mandatory extension', 'n,,m=ext,n=,r=abc', '08P01', /extension/],
    ['no nonce', 'n,,n=', '08P01', /nonce/],
    ['no GS2 header', 'n=,r=abc', '08P01', /GS2|flag/],
  ])('rejects client-first with %s', (_name, message, code, text) => {
    const err = wireError(() => new ScramServer({ username: 'alice', verifier: USERS.get('alice') }).clientFirst(message));
    expect(err.code).toBe(code);
    expect(err.message).toMatch(text);
  });

  it('rejects a channel-binding flag that differs from client-first', () => {
    const s = new ScramServer({ username: 'alice', verifier: USERS.get('alice') });
    const first = s.clientFirst('y,,n=,r=abc');
    expect(wireError(() => s.clientFinal(clientFinal(PASSWORD, 'n=,r=abc', first, 'biws'))).code).toBe('08P01');
  });

  it('rejects a changed nonce', () => {
    const s = new ScramServer({ username: 'alice', verifier: USERS.get('alice') });
    const first = s.clientFirst('n,,n=,r=abc');
    const forged = clientFinal(PASSWORD, 'n=,r=abc', first.replace('r=abc', 'r=abd'));
    expect(wireError(() => s.clientFinal(forged)).code).toBe('08P01');
  });

  it('rejects a wrong password with 28P01, and messages out of order with 08P01', () => {
    const s = new ScramServer({ username: 'alice', verifier: USERS.get('alice') });
    expect(wireError(() => s.clientFinal('c=biws,r=x,p=AAAA')).code).toBe('08P01');
    const s2 = new ScramServer({ username: 'alice', verifier: USERS.get('alice') });
    const first = s2.clientFirst('n,,n=,r=abc');
    expect(wireError(() => s2.clientFinal(clientFinal('wrong', 'n=,r=abc', first))).code).toBe(SQLSTATE.INVALID_PASSWORD);
    expect(wireError(() => s2.clientFinal('c=biws')).code).toBe('08P01');
  });

  it('gives unknown users a stable, per-user salt and the same failure as a wrong password', () => {
    const salt = (user: string): string | undefined =>
      /,s=([^,]+),/.exec(new ScramServer({ username: user, verifier: undefined }).clientFirst('n,,n=,r=abc'))?.[1];
    expect(salt('mallory')).toBe(salt('mallory'));
    expect(salt('mallory')).not.toBe(salt('trudy'));
    const s = new ScramServer({ username: 'mallory', verifier: undefined });
    const first = s.clientFirst('n,,n=,r=abc');
    expect(first).toMatch(/,i=4096$/);
    expect(wireError(() => s.clientFinal(clientFinal('', 'n=,r=abc', first))).code).toBe('28P01');
  });
});

/** Just enough of a server for real clients: SCRAM login, then `SELECT 1`. */
function serve(socket: Socket): void {
  const parser = new FrontendParser();
  const w = new BackendWriter();
  let state: 'startup' | 'sasl-initial' | 'sasl-final' | 'ready' = 'startup';
  let scram: ScramServer | undefined;
  let closed = false;

  const handle = (pkt: FrontendPacket): void => {
    switch (pkt.type) {
      case 'sslRequest':
      case 'gssEncRequest':
        socket.write(ENCRYPTION_REJECT);
        return;
      case 'cancelRequest':
      case 'terminate':
        closed = true;
        socket.end();
        return;
      case 'startup': {
        const username = pkt.params['user'] ?? '';
        scram = new ScramServer({ username, verifier: USERS.get(username) });
        w.authenticationSasl([SCRAM_MECHANISM]);
        state = 'sasl-initial';
        return;
      }
      case 'password':
        if (state === 'sasl-initial' && scram) {
          const { mechanism, data } = decodeSaslInitialResponse(pkt.payload);
          if (mechanism !== SCRAM_MECHANISM || data === null) {
            throw new PgWireError(SQLSTATE.PROTOCOL_VIOLATION, 'client selected an invalid SASL authentication mechanism');
          }
          w.authenticationSaslContinue(scram.clientFirst(data));
          state = 'sasl-final';
          return;
        }
        if (state === 'sasl-final' && scram) {
          w.authenticationSaslFinal(scram.clientFinal(pkt.payload)).authenticationOk();
          for (const [k, v] of [
            ['server_version', '16.0'],
            ['client_encoding', 'UTF8'],
            ['DateStyle', 'ISO, MDY'],
            ['TimeZone', 'UTC'],
            ['integer_datetimes', 'on'],
            ['standard_conforming_strings', 'on'],
          ] as const) {
            w.parameterStatus(k, v);
          }
          w.backendKeyData(4242, 0x5eed).readyForQuery('I');
          state = 'ready';
          return;
        }
        break;
      case 'query':
        if (state !== 'ready') break;
        if (/^\s*select\s+1\s*;?\s*$/i.test(pkt.sql)) {
          w.rowDescription([{ name: '?column?', typeOid: 23, typeSize: 4 }]).dataRow(['1']).commandComplete('SELECT 1');
        } else {
          w.errorResponse({ severity: 'ERROR', code: SQLSTATE.SYNTAX_ERROR, message: 'only SELECT 1 is supported here', position: 1 });
        }
        w.readyForQuery('I');
        return;
      default:
        break;
    }
    throw new PgWireError(SQLSTATE.PROTOCOL_VIOLATION, `unexpected message "${pkt.type}" in state ${state}`);
  };

  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    if (closed) return;
    try {
      for (const pkt of parser.feed(chunk)) {
        handle(pkt);
        if (closed) break;
      }
    } catch (err) {
      if (!(err instanceof PgWireError)) throw err;
      closed = true;
      socket.end(w.wireError(err).flush());
      return;
    }
    if (w.length > 0) socket.write(w.flush());
  });
}

describe('end to end with real clients', () => {
  let server: Server;
  let port = 0;

  beforeAll(async () => {
    server = createServer(serve);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function query(user: string, password: string, sql: string): Promise<unknown[]> {
    const client = new pg.Client({ host: '127.0.0.1', port, user, password, database: 'x', ssl: false });
    await client.connect();
    try {
      const { rows }: { rows: unknown[] } = await client.query(sql);
      return rows;
    } finally {
      await client.end();
    }
  }

  it('node-postgres logs in with SCRAM and runs SELECT 1', async () => {
    expect(await query('alice', PASSWORD, 'SELECT 1')).toEqual([{ '?column?': 1 }]);
  });

  it('node-postgres gets 42601 for other queries and the session stays usable', async () => {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'alice', password: PASSWORD, database: 'x' });
    await client.connect();
    try {
      await expect(client.query('SELECT 2')).rejects.toMatchObject({ code: '42601' });
      expect((await client.query('select 1;')).rows).toEqual([{ '?column?': 1 }]);
    } finally {
      await client.end();
    }
  });

  it('node-postgres with a wrong password gets 28P01', async () => {
    await expect(query('alice', 'nope', 'SELECT 1')).rejects.toMatchObject({ code: '28P01', severity: 'FATAL' });
  });

  it('node-postgres with an unknown user gets 28P01 too', async () => {
    await expect(query('mallory', PASSWORD, 'SELECT 1')).rejects.toMatchObject({ code: '28P01' });
  });

  const PSQL = '/usr/bin/psql';
  const psql = async (password: string): Promise<string> => {
    const { stdout } = await promisify(execFile)(
      PSQL,
      ['-X', `host=127.0.0.1 port=${port} user=alice password='${password}' dbname=x sslmode=disable`, '-Atc', 'SELECT 1'],
      { timeout: 20_000, env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', PGCONNECT_TIMEOUT: '10' } },
    );
    return stdout.trim();
  };

  it.skipIf(!existsSync(PSQL))('psql (libpq) logs in with SCRAM and prints 1', async () => {
    expect(await psql(PASSWORD)).toBe('1');
  });

  it.skipIf(!existsSync(PSQL))('psql (libpq) with a wrong password fails authentication', async () => {
    await expect(psql('nope')).rejects.toMatchObject({ stderr: expect.stringMatching(/password authentication failed/) as unknown });
  });
});
