// What "prewarmed" buys: an unbound pod runs, before any stamp, the code its
// stamp will need, so a resume does not pay for first-time loading and
// compiling. The first KV call of a fresh process costs 45–110 ms here
// (grpc-js channel, TLS, HTTP/2 and protobuf code run for the first time)
// against 20–28 ms once this has run; the SQL parser's wasm takes ~40 ms;
// certificate checks, the catalog's zod schemas and the first statements of
// a session are slow the first time too.
//
// The warm-up runs a real TenantEngine against a throwaway in-memory KV
// service in this process (warmup-kv.ts), over loopback TLS with the pod's
// own certificate: no kvpod address is needed before the stamp, and nothing
// outside the pod sees it. It bootstraps a catalog, loads it again as a
// resume does, logs in and runs a few statements.
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { KvClient } from '../../shared/kv/client/index.js';
import { kvService } from '../../shared/kv/protocol.js';
import { TenantEngine } from '../sql/engine.js';
import { loadParser, parseStatements } from '../sql/parser/index.js';
import { warmupKvService } from './warmup-kv.js';

/** Any tenant ID: the warm-up's KV is in memory and its own. */
const WARMUP_TENANT_ID = 2;
const WARMUP_SQL = 'CREATE TABLE warm (id int PRIMARY KEY, v text); INSERT INTO warm VALUES (1, $$a$$); SELECT v, count(*) FROM warm WHERE id = 1 GROUP BY v; SELECT 1';

export interface PrewarmTls {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/** Resolves when the warm-up has run; it never fails the pod (a cold stamp is slower, not wrong). */
export async function prewarm(tls: PrewarmTls): Promise<{ ms: number; engine: boolean }> {
  const started = performance.now();
  await loadParser();
  parseStatements('SELECT a, count(*) FROM t WHERE b = $1 GROUP BY a; INSERT INTO t VALUES (1, $2); CREATE TABLE t (a int PRIMARY KEY, b text)');
  // The stamp's certificate checks, on the pod's own certificate.
  const ca = new X509Certificate(tls.caPem);
  const own = new X509Certificate(tls.certPem);
  own.checkPrivateKey(createPrivateKey(tls.keyPem));
  own.checkIssued(ca);
  own.verify(ca.publicKey);
  const engine = await warmEngine(tls).then(
    () => true,
    () => false,
  );
  return { ms: performance.now() - started, engine };
}

async function warmEngine(tls: PrewarmTls): Promise<void> {
  const server = new Server();
  let port = 0;
  server.addService(kvService, warmupKvService(() => `127.0.0.1:${port}`));
  const credentials = ServerCredentials.createSsl(Buffer.from(tls.caPem), [{ cert_chain: Buffer.from(tls.certPem), private_key: Buffer.from(tls.keyPem) }], false);
  port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))));
  const kv = new KvClient({
    seeds: [`127.0.0.1:${port}`],
    tls: { ca: Buffer.from(tls.caPem), cert: Buffer.from(tls.certPem), key: Buffer.from(tls.keyPem) },
    attempts: 1,
    deadlineMs: 5000,
  });
  try {
    // A first resume of a tenant: bootstrap, then what a resumed one does: load the catalog, log in, query.
    const admin = { user: 'warmup', password: randomBytes(12).toString('hex') };
    await TenantEngine.start({ kv, tenantId: WARMUP_TENANT_ID, admin });
    const engine = await TenantEngine.start({ kv, tenantId: WARMUP_TENANT_ID, admin });
    await engine.findRole(admin.user);
    const session = await engine.openSession({ user: admin.user, database: 'defaultdb', parameters: new Map() });
    try {
      for (const statement of session.parse(WARMUP_SQL)) {
        const portal = await session.bind(await session.prepare(statement, []), [], [], []);
        await portal.execute(0);
        portal.close();
        await session.sync();
      }
    } finally {
      await session.close();
    }
  } finally {
    kv.close();
    server.forceShutdown();
  }
}
