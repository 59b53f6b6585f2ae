// Test fixtures for SQL pods: the real SqlPod in this process (stamped over
// real mutual TLS by an operator certificate, talking to a real kvpod), and
// clients for it.
import { request } from 'node:https';
import pg from 'pg';
import type { TestCerts } from '../../kvpod/testing/fixtures.js';
import { clientWith } from '../../kvpod/testing/fixtures.js';
import { issueCert } from '../../shared/certs/index.js';
import { createLogger } from '../../shared/log/index.js';
import { sqlpodSettingsSchema } from '../config.js';
import type { Stamp } from '../lifecycle/index.js';
import { SqlPod } from '../pod.js';

export const ADMIN = { username: 'admin', password: 'admin-password' } as const;

export interface TestTenant {
  readonly tenantId: number;
  readonly tenantName: string;
}

/** Creates the tenant's keyspace through kvpod's admin API, as the operator would. */
export async function createTenant(certs: TestCerts, kvAddress: string, tenantName: string): Promise<TestTenant> {
  const admin = clientWith(certs, await certs.operator(), [kvAddress]);
  try {
    const info = await admin.createTenant(tenantName);
    return { tenantId: info.tenantId, tenantName };
  } finally {
    admin.close();
  }
}

/** An unbound pod on ephemeral ports. */
/** Pods started so far: each writes its own certificate files, so pods started at once never read another's half-written file. */
let unboundPods = 0;

export async function startUnboundPod(certs: TestCerts, overrides: Record<string, string> = {}): Promise<SqlPod> {
  const pool = certs.write(`pool-${++unboundPods}`, await issueCert(certs.ca, { kind: 'pool-server', hosts: ['127.0.0.1'] }));
  const settings = sqlpodSettingsSchema.parse({
    controlListen: '127.0.0.1:0',
    sqlListen: '127.0.0.1:0',
    opsListen: '127.0.0.1:0',
    caCert: certs.caPath,
    cert: pool.cert,
    key: pool.key,
    logLevel: 'silent',
    ...overrides,
  });
  return SqlPod.start(settings, createLogger('sqlpod', 'silent'));
}

export async function stampFor(certs: TestCerts, tenant: TestTenant, kvAddress: string): Promise<Stamp> {
  const client = await certs.tenant(tenant.tenantId);
  const serving = await issueCert(certs.ca, { kind: 'sqlpod-server', tenantId: tenant.tenantId, tenantName: tenant.tenantName, hosts: ['127.0.0.1'] });
  return {
    tenantId: tenant.tenantId,
    tenantName: tenant.tenantName,
    tenantClientCert: client.certPem,
    tenantClientKey: client.keyPem,
    servingCert: serving.certPem,
    servingKey: serving.keyPem,
    kvAddresses: [kvAddress],
    admin: { ...ADMIN },
  };
}

export interface ControlAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** Calls the pod's control endpoint (stamp, drain, undrain) with the operator's certificate, or another. */
export async function control(certs: TestCerts, port: number, method: string, path: string, body?: unknown, as?: { certPem: string; keyPem: string }): Promise<ControlAnswer> {
  const identity = as ?? (await certs.operator());
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        ca: certs.ca.certPem,
        cert: identity.certPem,
        key: identity.keyPem,
        headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Starts a pod and stamps it for the tenant; returns it serving SQL. */
export async function startStampedPod(certs: TestCerts, tenant: TestTenant, kvAddress: string, overrides: Record<string, string> = {}): Promise<SqlPod> {
  const pod = await startUnboundPod(certs, overrides);
  const port = pod.addresses.control?.port ?? 0;
  const answer = await control(certs, port, 'POST', '/stamp', await stampFor(certs, tenant, kvAddress));
  if (answer.status !== 200) throw new Error(`stamp failed: ${answer.status} ${JSON.stringify(answer.body)}`);
  return pod;
}

/** node-postgres client config for a stamped pod, over TLS verified against the host CA. */
export function clientConfig(certs: TestCerts, pod: SqlPod, database = 'defaultdb', user: string = ADMIN.username, password: string = ADMIN.password): pg.ClientConfig {
  const sql = pod.addresses.sql;
  if (!sql) throw new Error('pod is not serving SQL');
  return { host: '127.0.0.1', port: sql.port, user, password, database, ssl: { ca: certs.ca.certPem } };
}

export async function connect(certs: TestCerts, pod: SqlPod, database?: string): Promise<pg.Client> {
  const client = new pg.Client(clientConfig(certs, pod, database));
  await client.connect();
  return client;
}

/** The DatabaseError a statement fails with; throws if it succeeds. */
export async function sqlError(work: Promise<unknown>): Promise<pg.DatabaseError> {
  try {
    await work;
  } catch (err) {
    if (err instanceof pg.DatabaseError) return err;
    throw err;
  }
  throw new Error('expected the statement to fail');
}
