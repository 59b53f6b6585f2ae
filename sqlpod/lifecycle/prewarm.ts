// What "prewarmed" buys: an unbound pod runs, before any stamp, the code its
// stamp will need, so a resume does not pay for first-time loading and
// compiling. The first KV call of a fresh process costs 45–110 ms here
// (grpc-js channel, TLS, HTTP/2 and protobuf code run for the first time)
// against 20–28 ms once this has run; the SQL parser's wasm takes ~40 ms;
// certificate checks and the catalog's zod schemas are slow the first time too.
//
// The gRPC warm-up talks to a throwaway server in this process over loopback
// TLS with the pod's own certificate: no kvpod address is needed before the
// stamp, and nothing outside the pod sees it. The server implements no KV
// method, so the call ends UNIMPLEMENTED after the full client path has run.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { KvClient } from '../../shared/kv/client/index.js';
import { tenantPrefix } from '../../shared/keys/index.js';
import { descriptorSchema, roleSchema } from '../sql/catalog/descriptors.js';
import { loadParser, parseStatements } from '../sql/parser/index.js';

export interface PrewarmTls {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/** Resolves when the warm-up has run; it never fails the pod (a cold stamp is slower, not wrong). */
export async function prewarm(tls: PrewarmTls): Promise<{ ms: number; grpc: boolean }> {
  const started = performance.now();
  await loadParser();
  parseStatements('SELECT a, count(*) FROM t WHERE b = $1 GROUP BY a; INSERT INTO t VALUES (1, $2); CREATE TABLE t (a int PRIMARY KEY, b text)');
  // The stamp's certificate checks, on the pod's own certificate.
  const ca = new X509Certificate(tls.caPem);
  const own = new X509Certificate(tls.certPem);
  own.checkPrivateKey(createPrivateKey(tls.keyPem));
  own.checkIssued(ca);
  own.verify(ca.publicKey);
  // The catalog's schemas (zod compiles each on its first parse).
  descriptorSchema.safeParse({ kind: 'database', id: 100, name: 'defaultdb' });
  roleSchema.safeParse({ name: 'admin', scramVerifier: null, canLogin: true, superuser: true });
  const grpc = await warmGrpc(tls).then(
    () => true,
    () => false,
  );
  return { ms: performance.now() - started, grpc };
}

async function warmGrpc(tls: PrewarmTls): Promise<void> {
  const server = new Server();
  new HealthImplementation({ '': 'SERVING' }).addToServer(server);
  const credentials = ServerCredentials.createSsl(Buffer.from(tls.caPem), [{ cert_chain: Buffer.from(tls.certPem), private_key: Buffer.from(tls.keyPem) }], false);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))));
  const kv = new KvClient({
    seeds: [`127.0.0.1:${port}`],
    tls: { ca: Buffer.from(tls.caPem), cert: Buffer.from(tls.certPem), key: Buffer.from(tls.keyPem) },
    attempts: 1,
    deadlineMs: 5000,
  });
  try {
    await kv.get(tenantPrefix(2)).catch(() => undefined);
  } finally {
    kv.close();
    server.forceShutdown();
  }
}
