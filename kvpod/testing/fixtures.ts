// Test fixtures for anything that needs a real kvpod: a host CA with the
// certificates of the design brief, in-process kvpods on real gRPC + mTLS
// + RocksDB, and clients with chosen identities.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHostCA, issueCert, type CertRole, type PemPair, type Validity } from '../../shared/certs/index.js';
import { KvClient, type KvClientOptions } from '../../shared/kv/client/index.js';
import { createLogger } from '../../shared/log/index.js';
import { kvpodSettingsSchema, type KvpodSettings } from '../config.js';
import { KvNode } from '../node.js';

export interface TestCerts {
  dir: string;
  ca: PemPair;
  /** Writes `pair` as <name>.crt/.key in dir; returns the paths. */
  write(name: string, pair: PemPair): { cert: string; key: string };
  issue(role: CertRole, validity?: Validity): Promise<PemPair>;
  tenant(tenantId: number): Promise<PemPair>;
  operator(): Promise<PemPair>;
  caPath: string;
}

export async function createTestCerts(): Promise<TestCerts> {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-certs-'));
  const ca = await createHostCA();
  const write = (name: string, pair: PemPair) => {
    const paths = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
    writeFileSync(paths.cert, pair.certPem);
    writeFileSync(paths.key, pair.keyPem, { mode: 0o600 });
    return paths;
  };
  const caPath = join(dir, 'ca.crt');
  writeFileSync(caPath, ca.certPem);
  const cache = new Map<string, Promise<PemPair>>();
  const cached = (id: string, role: CertRole) => {
    let pair = cache.get(id);
    if (!pair) cache.set(id, (pair = issueCert(ca, role)));
    return pair;
  };
  return {
    dir,
    ca,
    caPath,
    write,
    issue: (role, validity) => issueCert(ca, role, validity),
    tenant: (tenantId) => cached(`tenant-${tenantId}`, { kind: 'tenant-client', tenantId }),
    operator: () => cached('operator', { kind: 'operator-client' }),
  };
}

export interface TestKvpod {
  node: KvNode;
  address: string;
  dataDir: string;
  settings: KvpodSettings;
  stop(): Promise<void>;
}

/** Starts a kvpod in this process on 127.0.0.1 with an ephemeral port. */
export async function startTestKvpod(
  certs: TestCerts,
  overrides: Partial<Record<keyof KvpodSettings, string>> = {},
): Promise<TestKvpod> {
  const dataDir = overrides.dataDir ?? mkdtempSync(join(tmpdir(), 'shoal-kv-'));
  const server = certs.write('kvpod', await issueCert(certs.ca, { kind: 'kvpod-server' }));
  const settings = kvpodSettingsSchema.parse({
    listen: '127.0.0.1:0',
    metricsListen: '127.0.0.1:0',
    caCert: certs.caPath,
    cert: server.cert,
    key: server.key,
    ...overrides,
    dataDir,
  });
  const node = await KvNode.start(settings, createLogger('kvpod', 'silent'));
  return {
    node,
    address: node.address,
    dataDir,
    settings,
    async stop() {
      await node.stop();
      if (!overrides.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function clientWith(certs: TestCerts, pair: PemPair, seeds: string[], extra: Partial<KvClientOptions> = {}): KvClient {
  return new KvClient({
    seeds,
    tls: { ca: Buffer.from(certs.ca.certPem), cert: Buffer.from(pair.certPem), key: Buffer.from(pair.keyPem) },
    ...extra,
  });
}
