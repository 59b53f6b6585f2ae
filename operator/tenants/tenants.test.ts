// The tenant lifecycle against a real API server (etcd + kube-apiserver
// v1.33) and a real kvpod: kubectl-apply a CrdbTenant and its keyspace,
// certificates and status appear; delete it and they go, as its retention
// says; a kvpod that cannot be reached, or an ID in use, is a condition and
// an Event, retried until it clears.
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { clientWith, createTestCerts, startTestKvpod, type TestCerts, type TestKvpod } from '../../kvpod/testing/fixtures.js';
import { tenantPrefix } from '../../shared/keys/index.js';
import type { KubeApi} from '../../shared/kube/api.js';
import { KubeApiError } from '../../shared/kube/api.js';
import { crdbTenantPath, crdbTenantSchema, crdbTenantsPath, type CrdbTenant } from '../../shared/kube/crdbtenant.js';
import type { KvClient } from '../../shared/kv/client/index.js';
import type { TenantInfo } from '../../shared/kv/protocol.js';
import { createLogger } from '../../shared/log/index.js';
import { startShoalApiServer, type TestApiServer } from '../../shared/testing/kube-apiserver.js';
import { until } from '../../shared/testing/until.js';
import { TenantController } from '../controller.js';
import { EventRecorder } from '../kube/events.js';
import type { KeyspaceAdmin } from './keyspace.js';
import { TENANT_FINALIZER } from './reconciler.js';
import { readTenantSecret, secretSchema, tenantSecretName } from './secret.js';

const NS = 'shoal';
let server: TestApiServer;
let api: KubeApi;
let certs: TestCerts;
let kv: TestKvpod;
let admin: KvClient;
let controller: TenantController;
/** Lets a test make the kvpod admin API fail, as an unreachable kvpod would. */
let kvDown = false;

const keyspaces: KeyspaceAdmin = {
  listTenants: () => (kvDown ? Promise.reject(new Error('connect ECONNREFUSED')) : admin.listTenants()),
  createTenant: (name, id) => (kvDown ? Promise.reject(new Error('connect ECONNREFUSED')) : admin.createTenant(name, id)),
  destroyTenant: (id) => (kvDown ? Promise.reject(new Error('connect ECONNREFUSED')) : admin.destroyTenant(id)),
};


const getTenant = (name: string) =>
  api.get(crdbTenantPath(NS, name), crdbTenantSchema).catch((e: unknown) => {
    if (e instanceof KubeApiError && e.status === 404) return undefined;
    throw e;
  });
const condition = (t: CrdbTenant | undefined, type: string) => t?.status?.conditions?.find((c) => c.type === type);
const ready = (name: string) => until(`${name} Ready`, async () => {
  const t = await getTenant(name);
  return condition(t, 'Ready')?.status === 'True' && t;
});
const registry = async (): Promise<TenantInfo[]> => admin.listTenants();
const eventsOf = async (name: string) =>
  (await api.list(`/api/v1/namespaces/${NS}/events`, z.object({ involvedObject: z.object({ name: z.string() }), reason: z.string(), type: z.string(), message: z.string(), count: z.number().optional() }))).items.filter((e) => e.involvedObject.name === name);

async function apply(name: string, spec: Record<string, unknown> = {}): Promise<void> {
  await api.create(crdbTenantsPath(NS), { apiVersion: 'shoal.dev/v1alpha1', kind: 'CrdbTenant', metadata: { name }, spec });
}

beforeAll(async () => {
  ({ server, api } = await startShoalApiServer(NS));
  certs = await createTestCerts();
  kv = await startTestKvpod(certs);
  admin = clientWith(certs, await certs.operator(), [kv.address]);
  const log = createLogger('operator', 'silent');
  controller = new TenantController({
    api,
    namespace: NS,
    keyspaces,
    ca: certs.ca,
    operator: { caPem: certs.ca.certPem, ...(await certs.operator()) },
    kvAddresses: [kv.address],
    drainLimitMs: 60_000,
    events: new EventRecorder(api, 'shoal-operator', 'test', log),
    log,
    retry: { baseDelayMs: 50, maxDelayMs: 500 },
  });
  await controller.start();
}, 180_000);

afterAll(async () => {
  await controller?.stop();
  admin?.close();
  await kv?.stop();
  await server?.stop();
});

describe('a new CrdbTenant', () => {
  it('gets a finalizer, a keyspace with a fresh ID, a certificates Secret it owns, and Ready + Suspended conditions', async () => {
    await apply('acme');
    const t = await ready('acme');
    expect(t.metadata.finalizers).toContain(TENANT_FINALIZER);
    const id = t.status?.tenantId ?? 0;
    expect(id).toBeGreaterThanOrEqual(2);
    expect(t.status).toMatchObject({ state: 'Suspended', replicas: 0, readyReplicas: 0, selector: 'shoal.dev/tenant=acme', observedGeneration: t.metadata.generation });
    expect(condition(t, 'Suspended')?.status).toBe('True');
    expect(condition(t, 'Degraded')?.status).toBe('False');
    expect((await registry()).find((r) => r.tenantId === id)).toMatchObject({ name: 'acme', state: 'TENANT_STATE_ACTIVE' });

    const secret = await api.get(`/api/v1/namespaces/${NS}/secrets/${tenantSecretName('acme')}`, secretSchema);
    expect(secret.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'CrdbTenant', name: 'acme', uid: t.metadata.uid, controller: true })]);
    const creds = readTenantSecret(secret, id);
    if (!creds) throw new Error('incomplete tenant Secret');
    const ca = new X509Certificate(certs.ca.certPem);
    const client = new X509Certificate(creds.clientCert);
    expect(client.verify(ca.publicKey)).toBe(true);
    expect(client.subject).toContain(`CN=${id}`);
    expect(client.subject).toContain('OU=Tenants');
    expect(new X509Certificate(creds.servingCert).subjectAltName).toContain(`URI:shoal://tenant/${id}/acme`);
    expect(creds.password.length).toBeGreaterThanOrEqual(16);

    // The tenant's own certificate reaches its keyspace.
    const tenantKv = clientWith(certs, { certPem: creds.clientCert, keyPem: creds.clientKey }, [kv.address]);
    try {
      await expect(tenantKv.get(tenantPrefix(id))).resolves.toMatchObject({ value: null });
    } finally {
      tenantKv.close();
    }
    expect((await eventsOf('acme')).map((e) => e.reason)).toEqual(expect.arrayContaining(['KeyspaceCreated', 'CertificatesIssued']));
  });

  it('gives each tenant its own ID, and the one its spec asks for', async () => {
    await apply('globex');
    await apply('initech', { tenantId: 40 });
    const [globex, initech, acme] = await Promise.all([ready('globex'), ready('initech'), getTenant('acme')]);
    expect(new Set([globex.status?.tenantId, initech.status?.tenantId, acme?.status?.tenantId]).size).toBe(3);
    expect(initech.status?.tenantId).toBe(40);
  });

  it('adopts a keyspace created before a crash kept it out of status, instead of allocating another', async () => {
    const created = await admin.createTenant('hooli');
    await apply('hooli');
    expect((await ready('hooli')).status?.tenantId).toBe(created.tenantId);
    expect((await eventsOf('hooli')).map((e) => e.reason)).toContain('KeyspaceAdopted');
  });

  it('replaces a Secret that was tampered with, or deleted, as soon as its watch says so', async () => {
    const path = `/api/v1/namespaces/${NS}/secrets/${tenantSecretName('acme')}`;
    const id = (await getTenant('acme'))?.status?.tenantId ?? 0;
    await api.patch(path, { data: { 'client.key': Buffer.from('garbage').toString('base64') }, metadata: { annotations: { 'shoal.dev/tenant-id': '999' } } }, 'application/merge-patch+json');
    await until('a repaired Secret', async () => readTenantSecret(await api.get(path, secretSchema), id) !== null);
    await api.delete(path);
    await until('a re-created Secret', async () => readTenantSecret(await api.get(path, secretSchema).catch(() => ({ metadata: { name: '' } })), id) !== null);
  });
});

describe('bad input and failures', () => {
  it('refuses an invalid spec at admission with the CRD\'s message', async () => {
    const err = await apply('bad', { minReplicas: 5, maxReplicas: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).message).toContain('minReplicas must not exceed maxReplicas');
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a quantity that is none', { requests: { cpu: 'lots' } }, 'must be a non-negative quantity'],
    ['a negative quantity', { limits: { memory: '-1Gi' } }, 'must be a non-negative quantity'],
    ['a CPU request over its limit', { requests: { cpu: '2' }, limits: { cpu: '500m' } }, 'requests.cpu must not exceed limits.cpu'],
    ['a memory request over its limit', { requests: { memory: '2Gi' }, limits: { memory: '1024Mi' } }, 'requests.memory must not exceed limits.memory'],
  ])('refuses sqlPodResources with %s at admission', async (_name, sqlPodResources, message) => {
    const err = await apply('bad-resources', { sqlPodResources }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).message).toContain(message);
  });

  it('admits sqlPodResources written as integers and in any unit', async () => {
    await apply('sized', { sqlPodResources: { requests: { cpu: 1, memory: '512Mi' }, limits: { cpu: '1500m', memory: '1Gi' } } });
    expect((await getTenant('sized'))?.spec.sqlPodResources).toEqual({ requests: { cpu: 1, memory: '512Mi' }, limits: { cpu: '1500m', memory: '1Gi' } });
    await api.delete(crdbTenantPath(NS, 'sized'));
  });

  it('shows an ID in use by another tenant as Degraded with the reason, with a Warning Event', async () => {
    const taken = (await getTenant('acme'))?.status?.tenantId;
    await apply('copycat', { tenantId: taken });
    const t = await until('copycat Degraded', async () => {
      const c = await getTenant('copycat');
      return condition(c, 'Degraded')?.status === 'True' && c;
    });
    expect(condition(t, 'Degraded')?.reason).toBe('TenantIdInUse');
    expect(condition(t, 'Ready')).toMatchObject({ status: 'False', reason: 'TenantIdInUse' });
    expect(t.status?.state).toBe('Failed');
    expect((await eventsOf('copycat')).find((e) => e.reason === 'TenantIdInUse')?.type).toBe('Warning');
  });

  it('retries a tenant whose keyspace cannot be created while kvpod is unreachable, and gets Ready once it is back', async () => {
    kvDown = true;
    try {
      await apply('unlucky');
      const t = await until('unlucky Degraded', async () => {
        const c = await getTenant('unlucky');
        return condition(c, 'Degraded')?.reason === 'KeyspaceUnavailable' && c;
      });
      expect(condition(t, 'Degraded')?.message).toContain('ECONNREFUSED');
      // Retried with back-off: one aggregated Warning Event, counted.
      await until('a retried attempt', async () => ((await eventsOf('unlucky')).find((e) => e.reason === 'KeyspaceUnavailable')?.count ?? 0) >= 2);
      expect((await eventsOf('unlucky')).filter((e) => e.reason === 'KeyspaceUnavailable')).toHaveLength(1);
    } finally {
      kvDown = false;
    }
    const t = await ready('unlucky');
    expect(condition(t, 'Degraded')?.status).toBe('False');
  });
});

describe('deleting a CrdbTenant', () => {
  it('with keyspaceRetention Delete: destroys the keyspace, deletes the Secret, and lets the object go', async () => {
    const id = (await ready('globex')).status?.tenantId;
    await api.delete(crdbTenantPath(NS, 'globex'));
    await until('globex gone', async () => (await getTenant('globex')) === undefined);
    expect((await registry()).find((r) => r.tenantId === id)?.state).toBe('TENANT_STATE_DROPPED');
    await expect(api.get(`/api/v1/namespaces/${NS}/secrets/${tenantSecretName('globex')}`, secretSchema)).rejects.toMatchObject({ status: 404 });
  });

  it('with keyspaceRetention Retain: keeps the keyspace, and a new CrdbTenant of that name gets it back', async () => {
    await apply('keeper', { keyspaceRetention: 'Retain' });
    const id = (await ready('keeper')).status?.tenantId;
    await api.delete(crdbTenantPath(NS, 'keeper'));
    await until('keeper gone', async () => (await getTenant('keeper')) === undefined);
    expect((await registry()).find((r) => r.tenantId === id)?.state).toBe('TENANT_STATE_ACTIVE');
    await apply('keeper');
    expect((await ready('keeper')).status?.tenantId).toBe(id);
  });
});
