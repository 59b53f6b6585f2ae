// What the operator sends to an unbound pod to bind it to a tenant (design brief,
// "Life of a SQL pod", step 3), and the checks the pod makes before it believes it:
// zod for the shape, node:crypto for what the certificates say.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { z } from 'zod';
import { hostPort } from '../../shared/config/index.js';
import { SQLPOD_URI_PREFIX } from '../../shared/certs/index.js';
import { TENANT_NAME } from '../../shared/keys/index.js';

const CERT_PEM = /^\s*-----BEGIN CERTIFICATE-----\r?\n[\s\S]+?\r?\n-----END CERTIFICATE-----\s*$/;
// PKCS#8, and SEC1/PKCS#1 as openssl writes them: operators may bring their own keys.
const KEY_PEM = /^\s*-----BEGIN (EC |RSA )?PRIVATE KEY-----\r?\n[\s\S]+?\r?\n-----END (EC |RSA )?PRIVATE KEY-----\s*$/;

const certPem = z.string().regex(CERT_PEM, 'expected one PEM certificate (-----BEGIN CERTIFICATE-----)');
const keyPem = z.string().regex(KEY_PEM, 'expected a PEM private key (-----BEGIN PRIVATE KEY-----)');

// Unknown fields are stripped rather than refused, so a newer operator can stamp an older pod.
export const stampSchema = z.object({
  tenantId: z.number().int().min(2, 'tenant ID must be >= 2 (1 is the system tenant)').max(Number.MAX_SAFE_INTEGER),
  tenantName: z.string().regex(TENANT_NAME, 'expected a DNS-1123 label (lowercase a-z, 0-9, -, at most 63 characters)'),
  tenantClientCert: certPem,
  tenantClientKey: keyPem,
  servingCert: certPem,
  servingKey: keyPem,
  kvAddresses: z.array(hostPort).min(1, 'expected at least one kvpod host:port'),
  admin: z.object({
    username: z.string().min(1, 'expected a non-empty username'),
    password: z.string().min(8, 'expected at least 8 characters'),
  }),
});

export type Stamp = z.infer<typeof stampSchema>;

export type StampErrorCode =
  | 'INVALID_STAMP' // the payload's shape
  | 'BAD_CERTIFICATE' // not a readable certificate or key, or the key does not belong to it
  | 'UNTRUSTED' // not issued by this installation's host CA
  | 'NOT_VALID_NOW' // expired or not yet valid
  | 'WRONG_TENANT'; // the certificate names another tenant

export class StampError extends Error {
  override readonly name = 'StampError';
  readonly code: StampErrorCode;
  constructor(code: StampErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Parses an untrusted payload; the message names every bad field, e.g. "admin.password: expected at least 8 characters". */
export function parseStamp(raw: unknown): Stamp {
  const parsed = stampSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`);
  throw new StampError('INVALID_STAMP', `invalid stamp: ${problems.join('; ')}`);
}

interface Pair {
  what: string;
  certPem: string;
  keyPem: string;
}

function load(pair: Pair): X509Certificate {
  let cert: X509Certificate;
  let matches: boolean;
  try {
    cert = new X509Certificate(pair.certPem);
    matches = cert.checkPrivateKey(createPrivateKey(pair.keyPem));
  } catch (e) {
    throw new StampError('BAD_CERTIFICATE', `${pair.what}: unreadable certificate or key: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  // Without this, a pod would start and fail only at its first TLS handshake.
  if (!matches) throw new StampError('BAD_CERTIFICATE', `${pair.what}: the private key does not belong to the certificate`);
  return cert;
}

function checkIssuedBy(what: string, cert: X509Certificate, ca: X509Certificate, now: Date): void {
  // checkIssued compares names and key identifiers only; verify checks the signature.
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    throw new StampError('UNTRUSTED', `${what}: issued by "${cert.issuer}", not by this installation's host CA "${ca.subject}"`);
  }
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (now < from || now > to) {
    throw new StampError('NOT_VALID_NOW', `${what}: valid from ${from.toISOString()} to ${to.toISOString()}, not at ${now.toISOString()}`);
  }
}

/** Subject fields by name; node prints the subject one "KEY=value" per line. */
function subjectFields(cert: X509Certificate, key: string): string[] {
  return cert.subject
    .split('\n')
    .filter((line) => line.startsWith(`${key}=`))
    .map((line) => line.slice(key.length + 1));
}

function uriSans(cert: X509Certificate): string[] {
  // "URI:shoal://tenant/7/acme, DNS:localhost, IP Address:127.0.0.1"
  return (cert.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice('URI:'.length));
}

/**
 * Checks that the stamp's certificates are this tenant's: the serving certificate names it
 * (CN = tenant name, SAN URI shoal://tenant/<id>/<name>: the proxy checks exactly this), the
 * client certificate is CN=<tenantId> OU=Tenants (kvpod derives the tenant from it and nothing
 * else), both chain to the host CA, are valid now, and each key belongs to its certificate.
 */
export function verifyStamp(stamp: Stamp, hostCaPem: string, now: Date = new Date()): void {
  let ca: X509Certificate;
  try {
    ca = new X509Certificate(hostCaPem);
  } catch (e) {
    // The pod's own configuration is broken, not the stamp; still a typed error for the edge to report.
    throw new StampError('UNTRUSTED', `host CA certificate is unreadable: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const { tenantId, tenantName } = stamp;

  const client = load({ what: 'tenantClientCert', certPem: stamp.tenantClientCert, keyPem: stamp.tenantClientKey });
  checkIssuedBy('tenantClientCert', client, ca, now);
  const cns = subjectFields(client, 'CN');
  const ous = subjectFields(client, 'OU');
  if (cns.length !== 1 || cns[0] !== String(tenantId) || !ous.includes('Tenants')) {
    throw new StampError(
      'WRONG_TENANT',
      `tenantClientCert: subject is "${client.subject.replace(/\n/g, ', ')}"; expected CN=${tenantId} OU=Tenants`,
    );
  }

  const serving = load({ what: 'servingCert', certPem: stamp.servingCert, keyPem: stamp.servingKey });
  checkIssuedBy('servingCert', serving, ca, now);
  const servingCns = subjectFields(serving, 'CN');
  if (servingCns.length !== 1 || servingCns[0] !== tenantName) {
    throw new StampError('WRONG_TENANT', `servingCert: CN is "${servingCns.join(',')}"; expected the tenant name "${tenantName}"`);
  }
  const uri = `${SQLPOD_URI_PREFIX}${tenantId}/${tenantName}`;
  const uris = uriSans(serving);
  if (!uris.includes(uri)) {
    throw new StampError('WRONG_TENANT', `servingCert: SAN URIs are [${uris.join(', ')}]; expected ${uri}`);
  }
}
