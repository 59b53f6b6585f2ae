import { request } from 'node:https';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHostCA, issueCert, type PemPair } from '../../shared/certs/index.js';
import {
  StampError,
  createStampingServer,
  parseStamp,
  verifyStamp,
  type Stamp,
  type StampingEndpoint,
  type StampingServerOptions,
} from './index.js';

let ca: PemPair;
let otherCa: PemPair;
let operator: PemPair;
let tenantClient: PemPair;
let stranger: PemPair; // the operator's subject, issued by another CA
let endpointCert: PemPair;
let stamp: Stamp;

beforeAll(async () => {
  ca = await createHostCA();
  otherCa = await createHostCA({ commonName: 'Some other CA' });
  operator = await issueCert(ca, { kind: 'operator-client' });
  tenantClient = await issueCert(ca, { kind: 'tenant-client', tenantId: 7 });
  stranger = await issueCert(otherCa, { kind: 'operator-client' });
  // An unbound pod's endpoint serves with the pool certificate (it has no tenant yet).
  endpointCert = await issueCert(ca, { kind: 'pool-server', hosts: ['127.0.0.1'] });
  const serving = await issueCert(ca, { kind: 'sqlpod-server', tenantId: 7, tenantName: 'acme' });
  stamp = {
    tenantId: 7,
    tenantName: 'acme',
    tenantClientCert: tenantClient.certPem,
    tenantClientKey: tenantClient.keyPem,
    servingCert: serving.certPem,
    servingKey: serving.keyPem,
    kvAddresses: ['kvpod-0.kvpod:26257', '10.0.0.2:26257'],
    admin: { username: 'root', password: 'correct horse' },
  };
});

const endpoints: StampingEndpoint[] = [];
afterEach(async () => {
  await Promise.all(endpoints.splice(0).map((e) => e.close()));
});

async function start(onStamp: StampingServerOptions['onStamp'] = () => Promise.resolve(), bodyLimitBytes?: number) {
  const calls: Stamp[] = [];
  const ep = await createStampingServer({
    caPem: ca.certPem,
    certPem: endpointCert.certPem,
    keyPem: endpointCert.keyPem,
    bodyLimitBytes,
    onStamp: (s) => {
      calls.push(s);
      return onStamp(s);
    },
  }).start('127.0.0.1', 0);
  endpoints.push(ep);
  return { ep, calls };
}

interface Reply {
  status: number;
  body: { state?: string; ready?: boolean; error?: { code: string; message: string } };
}

function call(ep: StampingEndpoint, client: PemPair | undefined, method: string, path: string, body?: string | string[]): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: ep.address.port,
        method,
        path,
        ca: ca.certPem,
        ...(client ? { cert: client.certPem, key: client.keyPem } : {}),
        agent: false,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Reply['body'] }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    // An array is sent in chunks, without a content-length.
    for (const part of Array.isArray(body) ? body : body === undefined ? [] : [body]) req.write(part);
    req.end();
  });
}

const post = (ep: StampingEndpoint, client: PemPair | undefined, body: unknown) => call(ep, client, 'POST', '/stamp', JSON.stringify(body));

describe('stamping endpoint', () => {
  it('takes one stamp from the operator, hands it over parsed, then closes', async () => {
    const { ep, calls } = await start();
    expect(await call(ep, undefined, 'GET', '/readyz')).toEqual({ status: 200, body: { ready: true, phase: 'ready' } });

    const reply = await post(ep, operator, { ...stamp, futureField: 'ignored' });
    expect(reply).toEqual({ status: 200, body: { state: 'running', tenantId: 7, tenantName: 'acme' } });
    expect(calls).toEqual([stamp]);
    expect(ep.phase()).toBe('stamped');

    await ep.closed;
    const err = await post(ep, operator, stamp).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect(calls).toHaveLength(1);
  });

  it('refuses a second stamp while the first is being applied (409 ALREADY_STAMPED)', async () => {
    let release = (): void => {};
    const { ep, calls } = await start(() => new Promise<void>((r) => (release = r)));
    const first = post(ep, operator, stamp);
    await expect.poll(() => calls.length).toBe(1);
    const second = await post(ep, operator, stamp);
    expect(second.status).toBe(409);
    expect(second.body.error?.code).toBe('ALREADY_STAMPED');
    expect((await call(ep, undefined, 'GET', '/readyz')).status).toBe(503);
    release();
    expect((await first).status).toBe(200);
    expect(calls).toHaveLength(1);
  });

  it('answers 500 when binding fails and stays ready so the operator can retry', async () => {
    let fail = true;
    const { ep, calls } = await start(() => (fail ? Promise.reject(new Error('port 26257 in use')) : Promise.resolve()));
    const reply = await post(ep, operator, stamp);
    expect(reply.status).toBe(500);
    expect(reply.body.error).toEqual({ code: 'STAMP_FAILED', message: 'stamping failed: port 26257 in use' });
    expect((await call(ep, undefined, 'GET', '/readyz')).status).toBe(200);
    fail = false;
    expect((await post(ep, operator, stamp)).status).toBe(200);
    expect(calls).toHaveLength(2);
  });

  it('forbids a tenant client certificate (403)', async () => {
    const { ep, calls } = await start();
    const reply = await post(ep, tenantClient, stamp);
    expect(reply.status).toBe(403);
    expect(reply.body.error?.code).toBe('FORBIDDEN');
    expect(reply.body.error?.message).toContain('CN="7" OU="Tenants" is not the operator');
    expect(calls).toEqual([]);
  });

  it('refuses a certificate from another CA (403) and says why', async () => {
    const { ep, calls } = await start();
    const reply = await post(ep, stranger, stamp);
    expect(reply.status).toBe(403);
    expect(reply.body.error?.code).toBe('UNAUTHENTICATED');
    expect(reply.body.error?.message).toMatch(/^client certificate not trusted: [A-Z_]*VERIFY/);
    expect(calls).toEqual([]);
  });

  it('refuses a caller without a client certificate (403)', async () => {
    const { ep } = await start();
    const reply = await post(ep, undefined, stamp);
    expect(reply.status).toBe(403);
    expect(reply.body.error?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a malformed stamp (400) naming the field', async () => {
    const { ep, calls } = await start();
    const reply = await post(ep, operator, { ...stamp, admin: { username: 'root', password: 'short' }, kvAddresses: [] });
    expect(reply.status).toBe(400);
    expect(reply.body.error?.code).toBe('INVALID_STAMP');
    expect(reply.body.error?.message).toContain('admin.password: expected at least 8 characters');
    expect(reply.body.error?.message).toContain('kvAddresses: expected at least one kvpod host:port');

    const notJson = await call(ep, operator, 'POST', '/stamp', '{"tenantId": 7,');
    expect(notJson.status).toBe(400);
    expect(notJson.body.error?.code).toBe('INVALID_JSON');
    expect(calls).toEqual([]);
    expect(ep.phase()).toBe('ready');
  });

  it('refuses a serving certificate of another tenant (400)', async () => {
    const { ep, calls } = await start();
    const other = await issueCert(ca, { kind: 'sqlpod-server', tenantId: 8, tenantName: 'globex' });
    const reply = await post(ep, operator, { ...stamp, servingCert: other.certPem, servingKey: other.keyPem });
    expect(reply.status).toBe(400);
    expect(reply.body.error?.code).toBe('WRONG_TENANT');
    expect(reply.body.error?.message).toContain('servingCert: CN is "globex"; expected the tenant name "acme"');
    expect(calls).toEqual([]);
  });

  it('refuses an oversized body (413), declared or streamed', async () => {
    const { ep, calls } = await start(undefined, 4096);
    const declared = await post(ep, operator, { ...stamp, padding: 'x'.repeat(8192) });
    expect(declared.status).toBe(413);
    expect(declared.body.error?.code).toBe('PAYLOAD_TOO_LARGE');
    const streamed = await call(ep, operator, 'POST', '/stamp', Array.from({ length: 10 }, () => 'x'.repeat(1024)));
    expect(streamed.status).toBe(413);
    expect(calls).toEqual([]);
    expect(ep.phase()).toBe('ready');
  });

  it('answers unknown routes and methods with 404 and 405', async () => {
    const { ep } = await start();
    expect((await call(ep, operator, 'GET', '/nope')).status).toBe(404);
    expect((await call(ep, operator, 'GET', '/stamp')).status).toBe(405);
  });
});

describe('verifyStamp', () => {
  const codeOf = (f: () => void): string => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(StampError);
      return (e as StampError).code;
    }
    return 'none';
  };

  it('accepts a stamp whose certificates name its tenant', () => {
    expect(codeOf(() => verifyStamp(parseStamp(stamp), ca.certPem))).toBe('none');
  });

  it('refuses a client certificate of another tenant', async () => {
    const other = await issueCert(ca, { kind: 'tenant-client', tenantId: 8 });
    expect(codeOf(() => verifyStamp({ ...stamp, tenantClientCert: other.certPem, tenantClientKey: other.keyPem }, ca.certPem))).toBe('WRONG_TENANT');
  });

  it('refuses a serving certificate whose SAN URI names another tenant ID', async () => {
    const other = await issueCert(ca, { kind: 'sqlpod-server', tenantId: 9, tenantName: 'acme' });
    expect(codeOf(() => verifyStamp({ ...stamp, servingCert: other.certPem, servingKey: other.keyPem }, ca.certPem))).toBe('WRONG_TENANT');
  });

  it('refuses certificates from another CA, keys of other certificates, and expired certificates', async () => {
    const foreign = await issueCert(otherCa, { kind: 'tenant-client', tenantId: 7 });
    expect(codeOf(() => verifyStamp({ ...stamp, tenantClientCert: foreign.certPem, tenantClientKey: foreign.keyPem }, ca.certPem))).toBe('UNTRUSTED');
    expect(codeOf(() => verifyStamp({ ...stamp, servingKey: stamp.tenantClientKey }, ca.certPem))).toBe('BAD_CERTIFICATE');
    expect(codeOf(() => verifyStamp(stamp, ca.certPem, new Date(Date.now() + 400 * 86_400_000)))).toBe('NOT_VALID_NOW');
  });

  it('refuses a tenant ID below 2 and a name that is not a DNS-1123 label', () => {
    expect(codeOf(() => parseStamp({ ...stamp, tenantId: 1 }))).toBe('INVALID_STAMP');
    expect(() => parseStamp({ ...stamp, tenantName: 'Acme_Corp' })).toThrow(/tenantName: expected a DNS-1123 label/);
  });
});
