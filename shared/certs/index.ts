// Certificates of a Shoal installation: one host CA, and leaves whose subject is the identity
// the servers act on (the storage server derives the tenant from a client cert and nothing else).
import 'reflect-metadata'; // tsyringe, under @peculiar/x509, needs the Reflect metadata API at import
import * as x509 from '@peculiar/x509';
import { X509Certificate as NodeX509, createPrivateKey, randomBytes, type webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
import { SYSTEM_TENANT_ID, SYSTEM_TENANT_NAME } from '../keys/index.js';
import { hostSan, isTenantId, isTenantName, type HostSan } from './names.js';

x509.cryptoProvider.set(globalThis.crypto);

export interface PemPair { certPem: string; keyPem: string }

export type CertRole =
  | { kind: 'tenant-client'; tenantId: number }
  | { kind: 'operator-client' }
  | { kind: 'kvpod-server'; hosts?: string[] }
  | { kind: 'proxy-server'; hosts?: string[] }
  /** A SQL pod's control endpoint (stamping, then drain/undrain), before and after it has a tenant. */
  | { kind: 'pool-server'; hosts?: string[] }
  | { kind: 'sqlpod-server'; tenantId: number; tenantName: string; hosts?: string[] }
  /** The system tenant's SQL server (the demo's virtual-cluster admin interface): named like a SQL pod of tenant 1, "system". */
  | { kind: 'system-sql-server'; hosts?: string[] };

/** Defaults: notBefore = now - 1 hour (clock skew), notAfter = (notBefore if given, else now) + validDays. */
export interface Validity { notBefore?: Date; notAfter?: Date; validDays?: number }

export type CertErrorCode = 'INVALID_ROLE' | 'INVALID_HOST' | 'INVALID_VALIDITY' | 'INVALID_CA';

export class CertError extends Error {
  override readonly name = 'CertError';
  readonly code: CertErrorCode;
  constructor(code: CertErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

export const DEFAULT_HOSTS: readonly string[] = ['localhost', '127.0.0.1'];
export const SQLPOD_URI_PREFIX = 'shoal://tenant/';

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const CLIENT_AUTH = x509.ExtendedKeyUsage.clientAuth;
const SERVER_AUTH = x509.ExtendedKeyUsage.serverAuth;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface Plan {
  commonName: string;
  organizationalUnit: string;
  usages: string[];
  sans: { type: 'dns' | 'ip' | 'url'; value: string }[];
}

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));

function tenantIdOf(v: unknown): number {
  if (!isTenantId(v)) throw new CertError('INVALID_ROLE', `tenantId must be an integer >= 2, got ${show(v)}`);
  return v;
}

function tenantNameOf(v: unknown): string {
  if (!isTenantName(v)) {
    throw new CertError('INVALID_ROLE', `tenantName must be a DNS-1123 label (lowercase a-z, 0-9, '-', at most 63), got ${show(v)}`);
  }
  return v;
}

function hostSans(hosts: unknown): HostSan[] {
  if (hosts !== undefined && !Array.isArray(hosts)) throw new CertError('INVALID_HOST', `hosts must be an array of strings, got ${show(hosts)}`);
  const list: readonly unknown[] = hosts?.length ? hosts : DEFAULT_HOSTS;
  const seen = new Set<string>();
  return list.flatMap((h) => {
    const san = hostSan(h);
    if (!san) throw new CertError('INVALID_HOST', `host ${show(h)} is neither an IP address nor a valid DNS name`);
    const key = `${san.type}:${san.value}`;
    return seen.has(key) ? [] : (seen.add(key), [san]);
  });
}

function plan(role: CertRole): Plan {
  if (typeof role !== 'object' || role === null) throw new CertError('INVALID_ROLE', `role must be an object, got ${show(role)}`);
  switch (role.kind) {
    case 'tenant-client':
      return { commonName: String(tenantIdOf(role.tenantId)), organizationalUnit: 'Tenants', usages: [CLIENT_AUTH], sans: [] };
    case 'operator-client':
      return { commonName: 'shoal-operator', organizationalUnit: 'Operators', usages: [CLIENT_AUTH], sans: [] };
    case 'kvpod-server': // kvpods also dial each other, so the same cert is their client identity
      return { commonName: 'kvpod', organizationalUnit: 'Nodes', usages: [SERVER_AUTH, CLIENT_AUTH], sans: hostSans(role.hosts) };
    case 'proxy-server':
      return { commonName: 'proxy', organizationalUnit: 'Nodes', usages: [SERVER_AUTH], sans: hostSans(role.hosts) };
    case 'pool-server':
      return { commonName: 'sqlpod-pool', organizationalUnit: 'SQL pods', usages: [SERVER_AUTH], sans: hostSans(role.hosts) };
    case 'sqlpod-server': {
      const id = tenantIdOf(role.tenantId);
      const name = tenantNameOf(role.tenantName);
      return {
        commonName: name,
        organizationalUnit: 'SQL pods',
        usages: [SERVER_AUTH],
        sans: [{ type: 'url', value: `${SQLPOD_URI_PREFIX}${id}/${name}` }, ...hostSans(role.hosts)],
      };
    }
    case 'system-sql-server':
      return {
        commonName: SYSTEM_TENANT_NAME,
        organizationalUnit: 'SQL pods',
        usages: [SERVER_AUTH],
        sans: [{ type: 'url', value: `${SQLPOD_URI_PREFIX}${SYSTEM_TENANT_ID}/${SYSTEM_TENANT_NAME}` }, ...hostSans(role.hosts)],
      };
    default:
      throw new CertError('INVALID_ROLE', `unknown certificate role kind ${show((role as { kind?: unknown }).kind)}`);
  }
}

export function subjectOf(role: CertRole): { commonName: string; organizationalUnit: string } {
  const { commonName, organizationalUnit } = plan(role);
  return { commonName, organizationalUnit };
}

function validDate(v: unknown, what: string): Date | undefined {
  if (v === undefined) return undefined;
  if (!(v instanceof Date) || Number.isNaN(v.getTime())) throw new CertError('INVALID_VALIDITY', `${what} must be a valid Date, got ${show(v)}`);
  return v;
}

function windowOf(v: Validity, defaultDays: number, limit?: Date): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  const given = { notBefore: validDate(v.notBefore, 'notBefore'), notAfter: validDate(v.notAfter, 'notAfter') };
  if (given.notAfter && v.validDays !== undefined) throw new CertError('INVALID_VALIDITY', 'give notAfter or validDays, not both');
  const days = v.validDays ?? defaultDays;
  if (typeof days !== 'number' || !Number.isFinite(days) || days <= 0) {
    throw new CertError('INVALID_VALIDITY', `validDays must be a positive number, got ${show(days)}`);
  }
  const notBefore = given.notBefore ?? new Date(now - HOUR);
  let notAfter = given.notAfter ?? new Date((given.notBefore?.getTime() ?? now) + days * DAY);
  if (limit && notAfter > limit) {
    if (given.notAfter) throw new CertError('INVALID_VALIDITY', `notAfter ${notAfter.toISOString()} is past the CA's expiry ${limit.toISOString()}`);
    notAfter = limit; // a leaf is worthless once its issuer has expired
  }
  if (notAfter <= notBefore) {
    throw new CertError('INVALID_VALIDITY', `notAfter ${notAfter.toISOString()} must be later than notBefore ${notBefore.toISOString()}`);
  }
  return { notBefore, notAfter };
}

// 16 random bytes; the encoder prepends 0x00 when the top bit is set, so the INTEGER stays positive.
const serial = (): string => randomBytes(16).toString('hex');

const pem = (s: string): string => (s.endsWith('\n') ? s : `${s}\n`);

async function keyPem(key: CryptoKey): Promise<string> {
  return pem(x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY'));
}

export async function createHostCA(opts: { commonName?: string } & Validity = {}): Promise<PemPair> {
  const commonName = opts.commonName ?? 'Shoal host CA';
  if (typeof commonName !== 'string' || commonName.trim() === '' || commonName.length > 64) {
    throw new CertError('INVALID_CA', `CA commonName must be 1-64 characters, got ${show(commonName)}`);
  }
  const { notBefore, notAfter } = windowOf(opts, 3650);
  const keys = await crypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: [{ CN: [commonName] }],
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true), // pathlen 0: the host CA signs leaves only
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: pem(cert.toString('pem')), keyPem: await keyPem(keys.privateKey) };
}

interface Issuer { cert: x509.X509Certificate; signingKey: CryptoKey; notAfter: Date }

async function loadCA(ca: PemPair): Promise<Issuer> {
  if (typeof ca !== 'object' || ca === null || typeof ca.certPem !== 'string' || typeof ca.keyPem !== 'string') {
    throw new CertError('INVALID_CA', 'host CA must be { certPem, keyPem } PEM strings');
  }
  let cert: x509.X509Certificate, node: NodeX509, pkcs8: Buffer, matches: boolean;
  try {
    cert = new x509.X509Certificate(ca.certPem);
    node = new NodeX509(ca.certPem);
    const key = createPrivateKey(ca.keyPem); // also accepts SEC1 "EC PRIVATE KEY" from openssl
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new CertError('INVALID_CA', `host CA key must be ECDSA P-256, got ${key.asymmetricKeyType ?? 'unknown'} ${key.asymmetricKeyDetails?.namedCurve ?? ''}`.trimEnd());
    }
    pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
    matches = node.checkPrivateKey(key);
  } catch (e) {
    if (e instanceof CertError) throw e;
    throw new CertError('INVALID_CA', `host CA is not a readable PEM certificate and private key: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (!matches) throw new CertError('INVALID_CA', 'host CA private key does not belong to the CA certificate');
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  if (!node.ca || (ku && !(ku.usages & x509.KeyUsageFlags.keyCertSign))) {
    throw new CertError('INVALID_CA', `certificate "${cert.subject}" is not a CA (needs basicConstraints CA:true and keyCertSign)`);
  }
  if (cert.notAfter.getTime() <= Date.now()) throw new CertError('INVALID_CA', `host CA expired at ${cert.notAfter.toISOString()}`);
  const signingKey = await crypto.subtle.importKey('pkcs8', new Uint8Array(pkcs8), EC, false, ['sign']);
  return { cert, signingKey, notAfter: cert.notAfter };
}

export async function issueCert(ca: PemPair, role: CertRole, validity: Validity = {}): Promise<PemPair> {
  const p = plan(role);
  const issuer = await loadCA(ca);
  const { notBefore, notAfter } = windowOf(validity, 365, issuer.notAfter);
  const keys = await crypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const caKeyId = issuer.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true), // ECDHE: no keyEncipherment
    new x509.ExtendedKeyUsageExtension(p.usages),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    caKeyId ? new x509.AuthorityKeyIdentifierExtension(caKeyId) : await x509.AuthorityKeyIdentifierExtension.create(issuer.cert.publicKey),
  ];
  if (p.sans.length) extensions.push(new x509.SubjectAlternativeNameExtension(p.sans));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: [{ OU: [p.organizationalUnit] }, { CN: [p.commonName] }],
    issuer: issuer.cert.subjectName,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: issuer.signingKey,
    signingAlgorithm: SIGNING,
    extensions,
  });
  return { certPem: pem(cert.toString('pem')), keyPem: await keyPem(keys.privateKey) };
}

/** A tenant's two certificates: its KV client identity (CN=<id>, OU=Tenants) and its SQL pods' serving certificate. */
export async function issueTenantCertificates(ca: PemPair, tenantId: number, tenantName: string, hosts: string[] = [...DEFAULT_HOSTS]): Promise<{ client: PemPair; serving: PemPair }> {
  const [client, serving] = await Promise.all([
    issueCert(ca, { kind: 'tenant-client', tenantId }),
    issueCert(ca, { kind: 'sqlpod-server', tenantId, tenantName, hosts }),
  ]);
  return { client, serving };
}
