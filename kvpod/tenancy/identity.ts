// Who is calling: derived from the verified TLS client certificate and
// nothing else (design brief, "Identity and certificates").
import type { PeerCertificate } from 'node:tls';
import { KvError } from '../../shared/kv/errors.js';
import { MIN_TENANT_ID } from '../../shared/keys/index.js';

export type Identity = { kind: 'tenant'; tenantId: number } | { kind: 'operator' } | { kind: 'node' };

const TENANT_CN = /^[1-9][0-9]{0,15}$/;

function field(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** `cert` is present only when the TLS layer verified it against the host CA. */
export function identityOf(cert: PeerCertificate | undefined): Identity {
  if (!cert) {
    throw new KvError(
      'UNAUTHENTICATED',
      'client certificate missing, expired, not yet valid, or not issued by this cluster\'s host CA',
    );
  }
  const ous = field(cert.subject.OU);
  const cn = field(cert.subject.CN)[0] ?? '';
  if (ous.includes('Tenants')) {
    const tenantId = TENANT_CN.test(cn) ? Number(cn) : NaN;
    if (!Number.isSafeInteger(tenantId) || tenantId < MIN_TENANT_ID) {
      throw new KvError('UNAUTHENTICATED', `tenant certificate has CN="${cn}"; expected a tenant ID >= ${MIN_TENANT_ID}`);
    }
    return { kind: 'tenant', tenantId };
  }
  if (ous.includes('Operators') && cn === 'shoal-operator') return { kind: 'operator' };
  if (ous.includes('Nodes') && cn === 'kvpod') return { kind: 'node' };
  throw new KvError('UNAUTHENTICATED', `certificate CN="${cn}" OU="${ous.join(',')}" is not a Shoal tenant, operator or node identity`);
}

export function describeIdentity(identity: Identity): string {
  return identity.kind === 'tenant' ? `tenant ${identity.tenantId}` : identity.kind;
}
