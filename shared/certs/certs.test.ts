import { CertError, createHostCA, issueCert, subjectOf, type CertRole, type PemPair } from './index.js';
import * as x509 from '@peculiar/x509'; // after ./index.js, which installs the Reflect shim it needs
import { X509Certificate } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const DAY = 86_400_000;

let ca: PemPair;
let caCert: X509Certificate;
beforeAll(async () => {
  ca = await createHostCA();
  caCert = new X509Certificate(ca.certPem);
});

const parse = (p: PemPair) => new X509Certificate(p.certPem);

async function codeOf(p: Promise<unknown>): Promise<string> {
  const e: unknown = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(CertError);
  return (e as CertError).code;
}

describe('createHostCA', () => {
  it('is a self-signed P-256 CA with critical CA:true and keyCertSign+cRLSign', () => {
    expect(caCert.ca).toBe(true);
    expect(caCert.subject).toBe('CN=Shoal host CA');
    expect(caCert.verify(caCert.publicKey)).toBe(true);
    expect(caCert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const c = new x509.X509Certificate(ca.certPem);
    const bc = c.getExtension(x509.BasicConstraintsExtension);
    expect(bc?.ca).toBe(true);
    expect(bc?.critical).toBe(true);
    expect(c.getExtension(x509.KeyUsagesExtension)?.usages).toBe(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
  });

  it('defaults to 3650 days from now, backdated an hour, and honours commonName', async () => {
    const now = Date.now();
    expect(Math.abs(Date.parse(caCert.validFrom) - (now - 3_600_000))).toBeLessThan(60_000);
    expect(Math.abs(Date.parse(caCert.validTo) - (now + 3650 * DAY))).toBeLessThan(60_000);
    expect(parse(await createHostCA({ commonName: 'Acme CA', validDays: 10 })).subject).toBe('CN=Acme CA');
  });
});

describe('issueCert', () => {
  it('issues a tenant client cert naming only the tenant, signed by the CA', async () => {
    const pair = await issueCert(ca, { kind: 'tenant-client', tenantId: 7 });
    const cert = parse(pair);
    expect(cert.subject.split('\n').sort()).toEqual(['CN=7', 'OU=Tenants']);
    expect(cert.issuer).toBe(caCert.subject);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.keyUsage).toEqual([CLIENT_AUTH]);
    expect(cert.subjectAltName).toBeUndefined();
    expect(pair.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const now = Date.now();
    expect(Math.abs(Date.parse(cert.validFrom) - (now - 3_600_000))).toBeLessThan(60_000);
    expect(Math.abs(Date.parse(cert.validTo) - (now + 365 * DAY))).toBeLessThan(60_000);
  });

  it('sets critical leaf constraints, digitalSignature, AKI = CA SKI and a positive 128-bit serial', async () => {
    const c = new x509.X509Certificate((await issueCert(ca, { kind: 'operator-client' })).certPem);
    const caSki = new x509.X509Certificate(ca.certPem).getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
    expect(caSki).toMatch(/^[0-9a-f]{40}$/);
    expect(c.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId).toBe(caSki);
    expect(c.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId).toMatch(/^[0-9a-f]{40}$/);
    expect(c.getExtension(x509.BasicConstraintsExtension)).toMatchObject({ ca: false, critical: true });
    expect(c.getExtension(x509.KeyUsagesExtension)).toMatchObject({ usages: x509.KeyUsageFlags.digitalSignature, critical: true });
    const serials = await Promise.all([1, 2, 3].map(async () => parse(await issueCert(ca, { kind: 'operator-client' })).serialNumber));
    for (const s of serials) {
      const n = BigInt(`0x${s}`);
      expect(n > 0n && n < 1n << 128n).toBe(true);
    }
    expect(new Set(serials).size).toBe(3);
  });

  it('issues the operator client cert', async () => {
    const cert = parse(await issueCert(ca, { kind: 'operator-client' }));
    expect(cert.subject.split('\n').sort()).toEqual(['CN=shoal-operator', 'OU=Operators']);
    expect(cert.keyUsage).toEqual([CLIENT_AUTH]);
  });

  it('puts default hosts into server certs, and IP/DNS SANs from given hosts', async () => {
    const kv = parse(await issueCert(ca, { kind: 'kvpod-server' }));
    expect(kv.subject.split('\n').sort()).toEqual(['CN=kvpod', 'OU=Nodes']);
    expect(kv.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1');
    expect(kv.keyUsage?.sort()).toEqual([SERVER_AUTH, CLIENT_AUTH].sort());
    const hosts = ['kvpod-0.kvpod.shoal.svc', '10.0.0.5', '::1', '[2001:db8::2]', '::ffff:1.2.3.4', 'KVPOD-0.kvpod.shoal.svc'];
    const proxy = parse(await issueCert(ca, { kind: 'proxy-server', hosts }));
    expect(proxy.subject.split('\n').sort()).toEqual(['CN=proxy', 'OU=Nodes']);
    expect(proxy.keyUsage).toEqual([SERVER_AUTH]);
    expect(proxy.subjectAltName).toBe(
      'DNS:kvpod-0.kvpod.shoal.svc, IP Address:10.0.0.5, IP Address:0:0:0:0:0:0:0:1, IP Address:2001:DB8:0:0:0:0:0:2, IP Address:0:0:0:0:0:FFFF:102:304',
    );
    expect(proxy.checkHost('kvpod-0.kvpod.shoal.svc')).toBe('kvpod-0.kvpod.shoal.svc');
    expect(proxy.checkIP('10.0.0.5')).toBe('10.0.0.5');
    expect(proxy.checkIP('2001:db8::2')).toBe('2001:db8::2');
    expect(proxy.checkHost('localhost')).toBeUndefined();
  });

  it('names the tenant of a SQL pod in its subject and a URI SAN', async () => {
    const cert = parse(await issueCert(ca, { kind: 'sqlpod-server', tenantId: 7, tenantName: 'acme', hosts: ['acme-sql-0.shoal.svc'] }));
    expect(cert.subject.split('\n').sort()).toEqual(['CN=acme', 'OU=SQL pods']);
    expect(cert.subjectAltName).toBe('URI:shoal://tenant/7/acme, DNS:acme-sql-0.shoal.svc');
    expect(cert.keyUsage).toEqual([SERVER_AUTH]);
    expect(parse(await issueCert(ca, { kind: 'sqlpod-server', tenantId: 8, tenantName: 'b' })).subjectAltName).toBe(
      'URI:shoal://tenant/8/b, DNS:localhost, IP Address:127.0.0.1',
    );
  });

  it('names the system tenant (ID 1, "system") in the system SQL server certificate', async () => {
    const cert = parse(await issueCert(ca, { kind: 'system-sql-server' }));
    expect(cert.subject.split('\n').sort()).toEqual(['CN=system', 'OU=SQL pods']);
    expect(cert.subjectAltName).toBe('URI:shoal://tenant/1/system, DNS:localhost, IP Address:127.0.0.1');
    expect(cert.keyUsage).toEqual([SERVER_AUTH]);
  });

  it('honours explicit validity and clamps the default to the CA expiry', async () => {
    const notBefore = new Date(Date.UTC(2020, 0, 1));
    const cert = parse(await issueCert(ca, { kind: 'tenant-client', tenantId: 2 }, { notBefore, validDays: 2 }));
    expect(new Date(cert.validFrom).toISOString()).toBe('2020-01-01T00:00:00.000Z');
    expect(new Date(cert.validTo).toISOString()).toBe('2020-01-03T00:00:00.000Z');
    const shortCa = await createHostCA({ validDays: 30 });
    const leaf = parse(await issueCert(shortCa, { kind: 'tenant-client', tenantId: 2 }));
    expect(leaf.validTo).toBe(parse(shortCa).validTo);
  });

  it('subjectOf gives the identity each role carries', () => {
    expect(subjectOf({ kind: 'tenant-client', tenantId: 42 })).toEqual({ commonName: '42', organizationalUnit: 'Tenants' });
    expect(subjectOf({ kind: 'operator-client' })).toEqual({ commonName: 'shoal-operator', organizationalUnit: 'Operators' });
    expect(subjectOf({ kind: 'kvpod-server' })).toEqual({ commonName: 'kvpod', organizationalUnit: 'Nodes' });
    expect(subjectOf({ kind: 'proxy-server', hosts: ['p'] })).toEqual({ commonName: 'proxy', organizationalUnit: 'Nodes' });
    expect(subjectOf({ kind: 'sqlpod-server', tenantId: 3, tenantName: 'x-1' })).toEqual({ commonName: 'x-1', organizationalUnit: 'SQL pods' });
  });
});

describe('input validation', () => {
  const bad = (v: unknown) => v as CertRole;
  it.each([
    ['tenantId 1', bad({ kind: 'tenant-client', tenantId: 1 }), 'INVALID_ROLE'],
    ['tenantId 0', bad({ kind: 'tenant-client', tenantId: 0 }), 'INVALID_ROLE'],
    ['tenantId 2.5', bad({ kind: 'tenant-client', tenantId: 2.5 }), 'INVALID_ROLE'],
    ['tenantId NaN', bad({ kind: 'tenant-client', tenantId: NaN }), 'INVALID_ROLE'],
    ['tenantId 2^53', bad({ kind: 'tenant-client', tenantId: 2 ** 53 }), 'INVALID_ROLE'],
    ['tenantId string', bad({ kind: 'tenant-client', tenantId: '7' }), 'INVALID_ROLE'],
    ['tenantName uppercase', bad({ kind: 'sqlpod-server', tenantId: 7, tenantName: 'Acme' }), 'INVALID_ROLE'],
    ['tenantName leading dash', bad({ kind: 'sqlpod-server', tenantId: 7, tenantName: '-a' }), 'INVALID_ROLE'],
    ['tenantName with slash', bad({ kind: 'sqlpod-server', tenantId: 7, tenantName: 'a/b' }), 'INVALID_ROLE'],
    ['tenantName 64 chars', bad({ kind: 'sqlpod-server', tenantId: 7, tenantName: 'a'.repeat(64) }), 'INVALID_ROLE'],
    ['sqlpod bad tenantId', bad({ kind: 'sqlpod-server', tenantId: 1, tenantName: 'a' }), 'INVALID_ROLE'],
    ['unknown kind', bad({ kind: 'root' }), 'INVALID_ROLE'],
    ['null role', bad(null), 'INVALID_ROLE'],
    ['host with space', bad({ kind: 'kvpod-server', hosts: ['bad host'] }), 'INVALID_HOST'],
    ['host IPv6 zone', bad({ kind: 'proxy-server', hosts: ['fe80::1%eth0'] }), 'INVALID_HOST'],
    ['host short IPv4', bad({ kind: 'proxy-server', hosts: ['10.0.1'] }), 'INVALID_HOST'],
    ['host not string', bad({ kind: 'proxy-server', hosts: [7] }), 'INVALID_HOST'],
    ['hosts not array', bad({ kind: 'proxy-server', hosts: 'localhost' }), 'INVALID_HOST'],
  ])('%s → %s', async (_name, role, code) => {
    expect(await codeOf(issueCert(ca, role))).toBe(code);
    expect(() => subjectOf(role)).toThrow(CertError);
  });

  it('rejects inconsistent validity', async () => {
    const role: CertRole = { kind: 'tenant-client', tenantId: 2 };
    expect(await codeOf(issueCert(ca, role, { notBefore: new Date(), notAfter: new Date(Date.now() - DAY) }))).toBe('INVALID_VALIDITY');
    expect(await codeOf(issueCert(ca, role, { validDays: 0 }))).toBe('INVALID_VALIDITY');
    expect(await codeOf(issueCert(ca, role, { notAfter: new Date(Date.now() + DAY), validDays: 3 }))).toBe('INVALID_VALIDITY');
    expect(await codeOf(issueCert(ca, role, { notBefore: new Date('nope') }))).toBe('INVALID_VALIDITY');
    expect(await codeOf(issueCert(ca, role, { notAfter: new Date(Date.now() + 4000 * DAY) }))).toBe('INVALID_VALIDITY');
    expect(await codeOf(createHostCA({ commonName: '' }))).toBe('INVALID_CA');
  });

  it('refuses a CA that is not one, a mismatched key, garbage, or an expired CA', async () => {
    const role: CertRole = { kind: 'tenant-client', tenantId: 2 };
    const leaf = await issueCert(ca, { kind: 'kvpod-server' });
    const other = await createHostCA();
    const expired = await createHostCA({ notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() - DAY) });
    expect(await codeOf(issueCert(leaf, role))).toBe('INVALID_CA');
    expect(await codeOf(issueCert({ certPem: ca.certPem, keyPem: other.keyPem }, role))).toBe('INVALID_CA');
    expect(await codeOf(issueCert({ certPem: 'junk', keyPem: ca.keyPem }, role))).toBe('INVALID_CA');
    expect(await codeOf(issueCert({ certPem: ca.certPem, keyPem: 'junk' }, role))).toBe('INVALID_CA');
    expect(await codeOf(issueCert(expired, role))).toBe('INVALID_CA');
  });
});

interface ServerView { authorized: boolean; authorizationError?: string; subject?: { CN?: unknown; OU?: unknown } }
interface Outcome { server?: ServerView; serverError?: Error; clientError?: Error; reply: string }

/** One TLS connection on 127.0.0.1: the server demands a client cert from the host CA. */
function handshake(opts: { server: PemPair; client: PemPair; clientCa?: string; rejectUnauthorized: boolean }): Promise<Outcome> {
  return new Promise((resolveOutcome, reject) => {
    const out: Outcome = { reply: '' };
    const server = tls.createServer({
      key: opts.server.keyPem,
      cert: opts.server.certPem,
      ca: ca.certPem,
      requestCert: true,
      rejectUnauthorized: opts.rejectUnauthorized,
    });
    server.on('secureConnection', (sock) => {
      const peer = sock.getPeerCertificate();
      out.server = {
        authorized: sock.authorized,
        authorizationError: sock.authorizationError === undefined ? undefined : String(sock.authorizationError),
        subject: peer.subject,
      };
      sock.end('hello');
    });
    server.on('tlsClientError', (err) => (out.serverError = err));
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      const client = tls.connect({ host: '127.0.0.1', port, ca: opts.clientCa ?? ca.certPem, key: opts.client.keyPem, cert: opts.client.certPem });
      client.setEncoding('utf8');
      client.on('data', (d: string) => (out.reply += d));
      client.on('error', (err: Error) => { out.clientError = err; });
      // server.close() only calls back once the server side of the connection is gone too
      client.on('close', () => server.close(() => resolveOutcome(out)));
    });
  });
}

describe('mutual TLS with node:tls', () => {
  let kvpod: PemPair;
  beforeAll(async () => {
    kvpod = await issueCert(ca, { kind: 'kvpod-server' });
  });

  it('accepts a tenant client cert and shows the server CN=7, OU=Tenants', async () => {
    const out = await handshake({ server: kvpod, client: await issueCert(ca, { kind: 'tenant-client', tenantId: 7 }), rejectUnauthorized: true });
    expect(out.serverError).toBeUndefined();
    expect(out.clientError).toBeUndefined();
    expect(out.server).toMatchObject({ authorized: true, subject: { CN: '7', OU: 'Tenants' } });
    expect(out.reply).toBe('hello');
  });

  it('accepts a kvpod cert as a client (kvpods dial each other)', async () => {
    const out = await handshake({ server: kvpod, client: kvpod, rejectUnauthorized: true });
    expect(out.server).toMatchObject({ authorized: true, subject: { CN: 'kvpod', OU: 'Nodes' } });
  });

  it('rejects a client cert from another CA', async () => {
    const other = await createHostCA();
    const out = await handshake({ server: kvpod, client: await issueCert(other, { kind: 'tenant-client', tenantId: 7 }), rejectUnauthorized: true });
    expect(out.server).toBeUndefined();
    expect(out.serverError).toBeInstanceOf(Error);
    expect(out.reply).toBe('');
  });

  it('flags an expired client cert with CERT_HAS_EXPIRED', async () => {
    const expired = await issueCert(ca, { kind: 'tenant-client', tenantId: 7 }, {
      notBefore: new Date(Date.now() - 10 * DAY),
      notAfter: new Date(Date.now() - DAY),
    });
    const out = await handshake({ server: kvpod, client: expired, rejectUnauthorized: false });
    expect(out.server).toMatchObject({ authorized: false, authorizationError: 'CERT_HAS_EXPIRED' });
  });

  it('flags a server-only cert presented as a client cert (extendedKeyUsage is enforced)', async () => {
    const out = await handshake({ server: kvpod, client: await issueCert(ca, { kind: 'proxy-server' }), rejectUnauthorized: false });
    expect(out.server).toMatchObject({ authorized: false, authorizationError: 'INVALID_PURPOSE' });
  });

  it('client refuses a server presenting a client-only cert (extendedKeyUsage is enforced)', async () => {
    const tenant = await issueCert(ca, { kind: 'tenant-client', tenantId: 7 });
    const out = await handshake({ server: tenant, client: tenant, rejectUnauthorized: true });
    expect(out.server).toBeUndefined();
    expect((out.clientError as NodeJS.ErrnoException)?.code).toBe('INVALID_PURPOSE');
  });
});

describe('cli', () => {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  const cli = join(root, 'shared/certs/cli.ts');
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'shoal-certs-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SHOAL_')));
    return new Promise((done, fail) => {
      const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: root, env: { ...base, ...env } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', fail);
      child.on('close', (code) => done({ code, stdout, stderr }));
    });
  }

  it('dev writes a full development set with private keys 0600, and init never overwrites the CA', async () => {
    const dir = join(tmp, 'dev');
    const r = await run(['dev', '--dir', dir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const devCa: PemPair = { certPem: await readFile(join(dir, 'ca.crt'), 'utf8'), keyPem: await readFile(join(dir, 'ca.key'), 'utf8') };
    const devCaCert = parse(devCa);
    for (const base of ['ca', 'kvpod', 'proxy', 'pool', 'operator', 'tenant-2', 'tenant-3']) {
      expect(r.stdout).toContain(join(dir, `${base}.crt`));
      expect((await stat(join(dir, `${base}.key`))).mode & 0o777).toBe(0o600);
      expect(parse({ certPem: await readFile(join(dir, `${base}.crt`), 'utf8'), keyPem: '' }).verify(devCaCert.publicKey)).toBe(true);
    }
    expect(new X509Certificate(await readFile(join(dir, 'tenant-3.crt'))).subject).toContain('CN=3');
    await issueCert(devCa, { kind: 'operator-client' }); // the CA files round-trip through the library

    const again = await run(['init', '--dir', dir]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already exists/);
    expect(await readFile(join(dir, 'ca.crt'), 'utf8')).toBe(devCa.certPem);
    expect(await readFile(join(dir, 'ca.key'), 'utf8')).toBe(devCa.keyPem);
  }, 30_000);

  it('takes flags from SHOAL_* env and writes a sqlpod cert', async () => {
    const dir = join(tmp, 'env');
    expect((await run(['init'], { SHOAL_CERTS_DIR: dir })).code).toBe(0);
    const r = await run(['sqlpod', '--tenant-name', 'acme'], { SHOAL_CERTS_DIR: dir, SHOAL_TENANT_ID: '9', SHOAL_HOSTS: 'db.acme.svc, 10.1.2.3' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(join(dir, 'sqlpod-acme.crt'));
    const cert = new X509Certificate(await readFile(join(dir, 'sqlpod-acme.crt')));
    expect(cert.subjectAltName).toBe('URI:shoal://tenant/9/acme, DNS:db.acme.svc, IP Address:10.1.2.3');
    expect((await stat(join(dir, 'sqlpod-acme.key'))).mode & 0o777).toBe(0o600);
  }, 30_000);

  it('exits 2 with one clear line on a bad flag, and 1 without a CA', async () => {
    const bad = await run(['tenant', '--dir', tmp, '--tenant-id', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('shoal-certs: --tenant-id must be an integer >= 2, got "x"\n');
    const noCa = await run(['tenant', '--dir', tmp, '--tenant-id', '4']);
    expect(noCa.code).toBe(1);
    expect(noCa.stderr).toMatch(/^shoal-certs: no host CA in /);
  }, 30_000);

  it('refuses to complete a CA of which only one half exists', async () => {
    const dir = join(tmp, 'half');
    expect((await run(['init', '--dir', dir])).code).toBe(0);
    await rm(join(dir, 'ca.key'));
    const before = await readFile(join(dir, 'ca.crt'), 'utf8');
    const r = await run(['init', '--dir', dir]);
    expect(r.code).toBe(1);
    expect(await readFile(join(dir, 'ca.crt'), 'utf8')).toBe(before);
  }, 30_000);
});
