// TLS: the SSLRequest upgrade with the pod's serving certificate, cleartext
// passwords only inside TLS, requireTls, and injection before the handshake.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHostCA, issueCert, type PemPair } from '../../shared/certs/index.js';
import { PASSWORD, startToyServer, type ToyServer } from './testing/fixtures.js';
import { RawClient, fieldsOf, startupPacket } from './testing/raw-client.js';

const PSQL = '/usr/bin/psql';

let ca: PemPair;
let caPath: string;
let passwordServer: ToyServer;
let scramServer: ToyServer;

beforeAll(async () => {
  ca = await createHostCA();
  const dir = mkdtempSync(join(tmpdir(), 'sqlpod-tls-'));
  caPath = join(dir, 'ca.crt');
  writeFileSync(caPath, ca.certPem);
  const pair = await issueCert(ca, { kind: 'sqlpod-server', tenantId: 2, tenantName: 'acme' });
  passwordServer = await startToyServer({ tls: { cert: pair.certPem, key: pair.keyPem }, authMethod: 'password' });
  scramServer = await startToyServer({ tls: { cert: pair.certPem, key: pair.keyPem }, requireTls: true });
});

afterAll(async () => {
  await passwordServer.close();
  await scramServer.close();
});

async function selectOne(t: ToyServer, config: pg.ClientConfig): Promise<unknown> {
  const c = t.client(config);
  await c.connect();
  try {
    return (await c.query('SELECT 1')).rows;
  } finally {
    await c.end();
  }
}

const verified = (): pg.ClientConfig => ({ ssl: { ca: ca.certPem } });

describe('node-postgres over TLS', () => {
  it('verifies the pod certificate and logs in with a cleartext password inside TLS', async () => {
    expect(await selectOne(passwordServer, verified())).toEqual([{ '?column?': 1 }]);
  });

  it('is refused a cleartext password without TLS (28000)', async () => {
    await expect(selectOne(passwordServer, { ssl: false })).rejects.toMatchObject({
      code: '28000',
      severity: 'FATAL',
      message: 'password authentication requires a TLS connection; reconnect with sslmode=require',
    });
    expect(passwordServer.hooks.refused).toContain('tls-required');
  });

  it('gets 28P01 for a wrong password and an unknown user inside TLS', async () => {
    await expect(selectOne(passwordServer, { ...verified(), password: 'wrong' })).rejects.toMatchObject({ code: '28P01' });
    await expect(selectOne(passwordServer, { ...verified(), user: 'mallory' })).rejects.toMatchObject({
      code: '28P01',
      message: 'password authentication failed for user "mallory"',
    });
  });

  it('runs SCRAM inside TLS, and requireTls refuses plain connections', async () => {
    expect(await selectOne(scramServer, verified())).toEqual([{ '?column?': 1 }]);
    await expect(selectOne(scramServer, { ssl: false })).rejects.toMatchObject({
      code: '28000',
      message: 'this server accepts only TLS connections; reconnect with sslmode=require',
    });
  });
});

describe('raw TLS negotiation', () => {
  it('refuses bytes sent behind the SSLRequest before the handshake', async () => {
    const c = await RawClient.connect(scramServer.port);
    c.send(serialize.requestSsl(), startupPacket({ user: 'alice' }));
    const frames = await c.rest();
    expect(frames.map((f) => f.type)).toEqual(['E']);
    expect(fieldsOf(frames[0] ?? { type: 'E', payload: Buffer.alloc(1) })).toMatchObject({
      S: 'FATAL',
      C: '08P01',
      M: 'received unencrypted data after encryption request',
    });
  });

  it('refuses a second SSLRequest inside TLS', async () => {
    const c = await RawClient.connect(scramServer.port);
    expect(await c.requestTls({ ca: ca.certPem, servername: 'localhost' })).toBe('S');
    c.send(serialize.requestSsl());
    expect((await c.rest()).map((f) => fieldsOf(f)['C'])).toEqual(['0A000']);
  });

  it('logs in over TLS after the upgrade', async () => {
    const c = await RawClient.connect(scramServer.port);
    expect(await c.requestTls({ ca: ca.certPem, servername: 'localhost' })).toBe('S');
    c.send(startupPacket({ user: 'alice', database: 'app' }));
    const login = await c.scram(PASSWORD);
    expect(login.processId).toBeGreaterThan(0);
    c.end();
    await c.closed;
  });
});

const psql = (t: ToyServer, sslmode: string, ...commands: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const args = ['-X', '-At', `host=127.0.0.1 port=${t.port} user=alice dbname=app sslmode=${sslmode} sslrootcert=${caPath}`];
    for (const c of commands) args.push('-c', c);
    execFile(
      PSQL,
      args,
      { timeout: 60_000, env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', PGPASSWORD: PASSWORD, PGCONNECT_TIMEOUT: '10' } },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });

describe.skipIf(!existsSync(PSQL))('psql over TLS', () => {
  it('logs in with a cleartext password over sslmode=require', async () => {
    const r = await psql(passwordServer, 'require', '\\conninfo', 'SELECT 1');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/SSL connection \(protocol: TLSv1\.3/);
    expect(r.stdout).toMatch(/\n1\n$/);
  });

  it('verifies the certificate with sslmode=verify-full and logs in with SCRAM', async () => {
    expect(await psql(scramServer, 'verify-full', 'SELECT 1')).toMatchObject({ code: 0, stdout: '1\n' });
  });

  it('is told to use TLS when it connects in plain text with the password method', async () => {
    const r = await psql(passwordServer, 'disable', 'SELECT 1');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/FATAL: {2}password authentication requires a TLS connection; reconnect with sslmode=require/);
  });
});
