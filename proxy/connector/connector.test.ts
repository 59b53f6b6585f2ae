import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCerts, startTestKvpod, type TestCerts, type TestKvpod } from '../../kvpod/testing/fixtures.js';
import { createHostCA, issueCert } from '../../shared/certs/index.js';
import type { SqlPod } from '../../sqlpod/pod.js';
import { createTenant, startStampedPod } from '../../sqlpod/testing/fixtures.js';
import { DialError, certificateNamesTenant, dialPod } from './index.js';

let certs: TestCerts;
let kv: TestKvpod;
let pod: SqlPod;

beforeAll(async () => {
  certs = await createTestCerts();
  kv = await startTestKvpod(certs);
  pod = await startStampedPod(certs, await createTenant(certs, kv.address, 'acme'), kv.address);
});

afterAll(async () => {
  await pod?.shutdown();
  await kv?.stop();
});

const peer = (pem: string) => {
  const x = new X509Certificate(pem);
  const cn = /CN=([^\n]+)/.exec(x.subject)?.[1] ?? '';
  return { subject: { CN: cn } as PeerCertificate['subject'], subjectaltname: x.subjectAltName ?? '' };
};

describe('certificateNamesTenant', () => {
  it('accepts the pod certificate of the tenant and refuses any other', async () => {
    const acme = await issueCert(certs.ca, { kind: 'sqlpod-server', tenantId: 5, tenantName: 'acme' });
    expect(certificateNamesTenant(peer(acme.certPem), 'acme')).toBeUndefined();
    expect(certificateNamesTenant(peer(acme.certPem), 'other')).toMatch(/for tenant "acme", not "other"/);
    const proxy = await issueCert(certs.ca, { kind: 'proxy-server' });
    expect(certificateNamesTenant(peer(proxy.certPem), 'acme')).toMatch(/not a SQL pod's certificate/);
  });
});

describe('dialPod', () => {
  it('negotiates TLS with a real pod and verifies that it serves the tenant', async () => {
    const address = `127.0.0.1:${pod.addresses.sql?.port ?? 0}`;
    const socket = await dialPod(address, 'acme', { ca: certs.ca.certPem });
    expect(socket.encrypted).toBe(true);
    socket.destroy();
    const wrong = await dialPod(address, 'globex', { ca: certs.ca.certPem }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(DialError);
    expect((wrong as DialError).code).toBe('WRONG_TENANT');
    const other = await createHostCA();
    const untrusted = await dialPod(address, 'acme', { ca: other.certPem }).catch((e: unknown) => e);
    expect((untrusted as DialError).code).toBe('UNTRUSTED');
    const closed = await dialPod('127.0.0.1:1', 'acme', { ca: certs.ca.certPem }).catch((e: unknown) => e);
    expect((closed as DialError).code).toBe('UNREACHABLE');
  });
});
