// A whole Shoal data path in this process for conformance runs: a kvpod, a
// tenant, one stamped SQL pod; clients reach it with an ordinary URL.
import { createTestCerts, startTestKvpod } from '../../kvpod/testing/fixtures.js';
import { ADMIN, createTenant, startStampedPod } from './fixtures.js';

export interface ShoalStack {
  /** postgresql:// URL of the admin user, TLS verified against the host CA. */
  url(database?: string): string;
  stop(): Promise<void>;
}

/** `kvSettings` override the kvpod's (e.g. its commit limits, for loads done in one transaction). */
export async function startShoal(tenantName = 'conformance', kvSettings: Parameters<typeof startTestKvpod>[1] = {}): Promise<ShoalStack> {
  const certs = await createTestCerts();
  const kv = await startTestKvpod(certs, kvSettings);
  try {
    const tenant = await createTenant(certs, kv.address, tenantName);
    const pod = await startStampedPod(certs, tenant, kv.address);
    const port = pod.addresses.sql?.port ?? 0;
    return {
      url(database = 'defaultdb') {
        const u = new URL(`postgresql://127.0.0.1:${port}/${database}`);
        u.username = ADMIN.username;
        u.password = ADMIN.password;
        u.searchParams.set('sslmode', 'verify-full');
        u.searchParams.set('sslrootcert', certs.caPath);
        return u.toString();
      },
      async stop() {
        await pod.shutdown();
        await kv.stop();
      },
    };
  } catch (err) {
    await kv.stop();
    throw err;
  }
}
