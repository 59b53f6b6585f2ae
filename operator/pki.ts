// The installation's PKI in Secrets (design brief, "Identity and
// certificates"): the host CA and the kvpod, proxy and pool certificates are
// created by the first operator that finds them missing; pods that mount
// them wait until they exist. Secrets made by cert-manager instead (tls.crt /
// tls.key / ca.crt) are used as they are. Create-if-absent, so two replicas
// starting together agree on one CA.
import { createHostCA, issueCert, type CertRole, type PemPair } from '../shared/certs/index.js';
import { KubeApiError, type KubeApi } from '../shared/kube/api.js';
import type { Logger } from '../shared/log/index.js';
import { secretSchema, secretsPath, type SecretObject } from './tenants/secret.js';

export interface PkiOptions {
  readonly api: KubeApi;
  readonly namespace: string;
  readonly prefix: string;
  readonly kvpodHosts: readonly string[];
  readonly proxyHosts: readonly string[];
  readonly log: Logger;
}

export class PkiError extends Error {
  override readonly name = 'PkiError';
}

const decode = (s: SecretObject, key: string): string | undefined => {
  const raw = s.data?.[key];
  return raw === undefined ? undefined : Buffer.from(raw, 'base64').toString('utf8');
};

/** The host CA, after making sure every component's certificate Secret exists. */
export async function ensurePki(o: PkiOptions): Promise<PemPair> {
  const ca = await ensureSecret(o, `${o.prefix}-ca`, async () => {
    const pair = await createHostCA({ commonName: `Shoal host CA (${o.namespace}/${o.prefix})` });
    return { 'ca.crt': pair.certPem, 'ca.key': pair.keyPem };
  });
  const caPem = decode(ca, 'ca.crt') ?? decode(ca, 'tls.crt');
  const keyPem = decode(ca, 'ca.key') ?? decode(ca, 'tls.key');
  if (!caPem || !keyPem) throw new PkiError(`Secret ${o.prefix}-ca has neither ca.crt/ca.key nor tls.crt/tls.key`);
  const host: PemPair = { certPem: caPem, keyPem };
  const leaves: [string, CertRole][] = [
    ['kvpod', { kind: 'kvpod-server', hosts: [...o.kvpodHosts] }],
    ['proxy', { kind: 'proxy-server', hosts: [...o.proxyHosts] }],
    // The pool's certificate serves the stamping endpoint, and its own loopback warm-up (prewarm.ts).
    ['pool', { kind: 'pool-server', hosts: ['127.0.0.1', 'localhost'] }],
  ];
  for (const [component, role] of leaves) {
    await ensureSecret(o, `${o.prefix}-${component}-certs`, async () => {
      const pair = await issueCert(host, role);
      return { 'ca.crt': caPem, 'tls.crt': pair.certPem, 'tls.key': pair.keyPem };
    });
  }
  return host;
}

async function ensureSecret(o: PkiOptions, name: string, make: () => Promise<Record<string, string>>): Promise<SecretObject> {
  const path = `${secretsPath(o.namespace)}/${encodeURIComponent(name)}`;
  const read = () =>
    o.api.get(path, secretSchema).catch((err: unknown) => {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    });
  const existing = await read();
  if (existing) return existing;
  const data = Object.fromEntries(Object.entries(await make()).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));
  try {
    await o.api.create(secretsPath(o.namespace), {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name, namespace: o.namespace, labels: { 'shoal.dev/component': 'operator', 'shoal.dev/pki': o.prefix } },
      data,
    });
    o.log.info({ secret: name }, 'created a PKI Secret');
  } catch (err) {
    // Another replica created it first: use theirs.
    if (!(err instanceof KubeApiError && err.status === 409)) throw err;
  }
  const created = await read();
  if (!created) throw new PkiError(`Secret ${name} vanished right after it was created`);
  return created;
}
