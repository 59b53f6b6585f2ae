// The data path real users take, in this process: the proxy (client TLS with a
// host-CA certificate) in front of one stamped SQL pod of a tenant on a kvpod.
// Clients name the tenant as users do, with the database `<tenant>.<database>`.
import { createSecureContext } from 'node:tls';
import { createTestCerts, startTestKvpod } from '../../kvpod/testing/fixtures.js';
import { MemoryDirectory } from '../../proxy/directory/index.js';
import { startProxy } from '../../proxy/server.js';
import { issueCert } from '../../shared/certs/index.js';
import { createLogger } from '../../shared/log/index.js';
import { ADMIN, createTenant, startStampedPod } from './fixtures.js';

/** A node-postgres connection config, narrow enough for knex's and drizzle's too. */
export interface ProxiedConnection {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** `<tenant>.<database>`: the proxy routes by the prefix and the pod sees the database. */
  readonly database: string;
  readonly ssl: { readonly ca: string };
}

export interface ProxiedShoal {
  readonly tenant: string;
  /** postgresql:// URL of the admin user through the proxy, TLS verified against the host CA. */
  url(database?: string): string;
  config(database?: string): ProxiedConnection;
  stop(): Promise<void>;
}

/** `kvSettings` override the kvpod's (e.g. its commit limits, for loads done in one transaction). */
export async function startProxiedShoal(tenantName: string, kvSettings: Parameters<typeof startTestKvpod>[1] = {}): Promise<ProxiedShoal> {
  const certs = await createTestCerts();
  const kv = await startTestKvpod(certs, kvSettings);
  const stops: (() => Promise<void>)[] = [() => kv.stop()];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  try {
    const tenant = await createTenant(certs, kv.address, tenantName);
    const pod = await startStampedPod(certs, tenant, kv.address);
    stops.push(() => pod.shutdown());
    const directory = new MemoryDirectory({
      tenants: { [tenantName]: [{ name: `${tenantName}-1`, tenant: tenantName, state: 'running', address: `127.0.0.1:${pod.addresses.sql?.port ?? 0}` }] },
    });
    const serving = await issueCert(certs.ca, { kind: 'proxy-server', hosts: ['127.0.0.1'] });
    const proxy = await startProxy({
      host: '127.0.0.1',
      port: 0,
      directory,
      podCa: certs.ca.certPem,
      clientTls: createSecureContext({ cert: serving.certPem, key: serving.keyPem }),
      log: createLogger('proxy', 'silent'),
    });
    stops.push(() => proxy.close(0));
    const port = proxy.address.port;
    return {
      tenant: tenantName,
      url(database = 'defaultdb') {
        const u = new URL(`postgresql://127.0.0.1:${port}/${tenantName}.${database}`);
        u.username = ADMIN.username;
        u.password = ADMIN.password;
        u.searchParams.set('sslmode', 'verify-full');
        u.searchParams.set('sslrootcert', certs.caPath);
        return u.toString();
      },
      config(database = 'defaultdb') {
        return { host: '127.0.0.1', port, user: ADMIN.username, password: ADMIN.password, database: `${tenantName}.${database}`, ssl: { ca: certs.ca.certPem } };
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
