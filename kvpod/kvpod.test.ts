// kvpod over real gRPC, real mutual TLS and real RocksDB, driven through the
// TypeScript client library.
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvError, runTransaction, type KvClient } from '../shared/kv/client/index.js';
import { keyNext, tenantPrefix, tenantSpan } from '../shared/keys/index.js';
import { clientWith, createTestCerts, startTestKvpod, type TestCerts, type TestKvpod } from './testing/fixtures.js';

const T2 = tenantPrefix(2);
const k = (s: string, prefix = T2) => Buffer.concat([prefix, Buffer.from(s)]);
const v = (s: string) => Buffer.from(s);

async function refusal(promise: Promise<unknown>): Promise<KvError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof KvError)) throw new Error(`expected a KvError, got ${String(err)}`);
  return err;
}

let certs: TestCerts;
let kv: TestKvpod;
let operator: KvClient;
let tenant2: KvClient;
let tenant3: KvClient;

beforeAll(async () => {
  certs = await createTestCerts();
  kv = await startTestKvpod(certs, { maxKeyBytes: '256', maxValueBytes: '1024', maxBatchMutations: '50' });
  operator = clientWith(certs, await certs.operator(), [kv.address]);
  tenant2 = clientWith(certs, await certs.tenant(2), [kv.address]);
  tenant3 = clientWith(certs, await certs.tenant(3), [kv.address]);
  await operator.createTenant('alpha', 2);
  await operator.createTenant('beta', 3);
});

afterAll(async () => {
  for (const c of [operator, tenant2, tenant3]) c.close();
  await kv.stop();
});

describe('reads and commits', () => {
  it('commits several keys atomically at one timestamp and reads them back', async () => {
    const ts = await tenant2.commit([{ put: { key: k('a/1'), value: v('one') } }, { put: { key: k('a/2'), value: v('two') } }, { put: { key: k('a/3'), value: v('three') } }]);
    const { values, readTs } = await tenant2.multiGet([k('a/1'), k('a/2'), k('a/3'), k('a/4')]);
    expect(values.map((x) => x?.toString() ?? null)).toEqual(['one', 'two', 'three', null]);
    expect(readTs.wallMs * 1e6 + readTs.logical).toBeGreaterThanOrEqual(ts.wallMs * 1e6 + ts.logical);
    // Just before the commit, none of it is visible; at it, all of it.
    const before = { wallMs: ts.logical > 0 ? ts.wallMs : ts.wallMs - 1, logical: ts.logical > 0 ? ts.logical - 1 : 0xffffffff };
    expect((await tenant2.multiGet([k('a/1'), k('a/2'), k('a/3')], { readTs: before })).values).toEqual([null, null, null]);
    expect((await tenant2.multiGet([k('a/1'), k('a/3')], { readTs: ts })).values.map(String)).toEqual(['one', 'three']);
  });

  it('serves a consistent snapshot at a past timestamp while newer versions exist', async () => {
    const t1 = await tenant2.commit([{ put: { key: k('s/x'), value: v('x1') } }, { put: { key: k('s/y'), value: v('y1') } }]);
    await tenant2.commit([{ put: { key: k('s/x'), value: v('x2') } }, { delete: k('s/y') }, { put: { key: k('s/z'), value: v('z2') } }]);
    const span = { startKey: k('s/'), endKey: k('s0') };
    const old = await tenant2.scan(span, { readTs: t1 });
    expect(old.kvs.map((kv) => `${kv.key.subarray(T2.length).toString()}=${kv.value.toString()}`)).toEqual(['s/x=x1', 's/y=y1']);
    const now = await tenant2.scan(span);
    expect(now.kvs.map((kv) => `${kv.key.subarray(T2.length).toString()}=${kv.value.toString()}`)).toEqual(['s/x=x2', 's/z=z2']);
  });

  it('scans forward and in reverse with limits, paging by resume span', async () => {
    const mutations = Array.from({ length: 30 }, (_, i) => ({ put: { key: k(`p/${String(i).padStart(2, '0')}`), value: v(String(i)) } }));
    await tenant2.commit(mutations);
    const span = { startKey: k('p/'), endKey: k('p0') };
    const first = await tenant2.scan(span, { limit: 7 });
    expect(first.kvs.map((kv) => kv.value.toString())).toEqual(['0', '1', '2', '3', '4', '5', '6']);
    expect(first.resumeSpan?.startKey).toEqual(keyNext(k('p/06')));
    const rest = await tenant2.scan(first.resumeSpan ?? span, { readTs: first.readTs });
    expect(rest.kvs).toHaveLength(23);
    expect(rest.resumeSpan).toBeNull();
    const backwards = await tenant2.scan(span, { reverse: true, limit: 5 });
    expect(backwards.kvs.map((kv) => kv.value.toString())).toEqual(['29', '28', '27', '26', '25']);
    expect(backwards.resumeSpan).toEqual({ startKey: span.startKey, endKey: k('p/25') });
    const all = await tenant2.scan(span, { reverse: true });
    expect(all.kvs.map((kv) => kv.value.toString())).toEqual(mutations.map((_, i) => String(i)).reverse());
  });

  it('deletes ranges, including keys written earlier in the same commit', async () => {
    await tenant2.commit([{ put: { key: k('r/1'), value: v('1') } }, { put: { key: k('r/2'), value: v('2') } }]);
    await tenant2.commit([{ put: { key: k('r/3'), value: v('3') } }, { deleteRange: { startKey: k('r/'), endKey: k('r/9') } }, { put: { key: k('r/5'), value: v('5') } }]);
    const { kvs } = await tenant2.scan({ startKey: k('r/'), endKey: k('r0') });
    expect(kvs.map((kv) => kv.value.toString())).toEqual(['5']);
  });
});

describe('serializable transactions', () => {
  it('lets exactly one of two write-skewed transactions commit', async () => {
    // Two doctors on call; each transaction goes off call if the other is on.
    await tenant2.commit([{ put: { key: k('oncall/alice'), value: v('1') } }, { put: { key: k('oncall/bob'), value: v('1') } }]);
    const other = clientWith(certs, await certs.tenant(2), [kv.address]);
    const span = { startKey: k('oncall/'), endKey: k('oncall0') };
    const leave = async (client: KvClient, me: string, gate: Promise<void>, arrive: () => void) => {
      const { Transaction } = await import('../shared/kv/client/index.js');
      const txn = new Transaction(client);
      const onCall = await txn.scan(span);
      arrive();
      await gate; // both have read before either commits
      if (onCall.filter((kv) => kv.value.toString() === '1').length >= 2) txn.put(k(`oncall/${me}`), v('0'));
      return txn.commit();
    };
    let arrived = 0;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const arrive = () => {
      if (++arrived === 2) open();
    };
    const results = await Promise.allSettled([leave(tenant2, 'alice', gate, arrive), leave(other, 'bob', gate, arrive)]);
    other.close();
    const committed = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(committed).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect((refused[0]?.reason as KvError).code).toBe('TXN_CONFLICT');
    const { kvs } = await tenant2.scan(span);
    expect(kvs.filter((kv) => kv.value.toString() === '1')).toHaveLength(1);
  });

  it('commits a read set larger than kvpod takes, condensed, and still refuses a commit whose reads changed', async () => {
    const { Transaction, MAX_COMMIT_READ_SPANS } = await import('../shared/kv/client/index.js');
    // More point reads than the default read-set limit (10,000): each bulk-loaded row's uniqueness check is one.
    const keys = Array.from({ length: 12_000 }, (_, i) => k(`big/${String(i).padStart(5, '0')}`));
    const readAll = async (txn: InstanceType<typeof Transaction>) => {
      for (let i = 0; i < keys.length; i += 4000) await txn.getMany(keys.slice(i, i + 4000));
    };
    const quiet = new Transaction(tenant2);
    await readAll(quiet);
    quiet.put(k('big/done'), v('1'));
    expect(await quiet.commit()).not.toBeNull();
    expect(MAX_COMMIT_READ_SPANS).toBeLessThan(keys.length);

    const raced = new Transaction(tenant2);
    await readAll(raced);
    raced.put(k('big/done'), v('2'));
    // Written after the snapshot, between two keys the transaction read: the condensed read set still sees it.
    await tenant2.commit([{ put: { key: k('big/07000'), value: v('x') } }]);
    expect((await refusal(raced.commit())).code).toBe('TXN_CONFLICT');
    expect((await tenant2.get(k('big/done'))).value?.toString()).toBe('1');
  });

  it('moves a transaction past a commit it did not depend on (Refresh), and refuses one it did', async () => {
    const { Transaction } = await import('../shared/kv/client/index.js');
    await tenant2.commit([{ put: { key: k('refresh/a'), value: v('1') } }, { put: { key: k('refresh/b'), value: v('1') } }]);
    const txn = new Transaction(tenant2);
    expect((await txn.get(k('refresh/a')))?.toString()).toBe('1');
    const mark = txn.mark();
    expect((await txn.get(k('refresh/b')))?.toString()).toBe('1');
    await tenant2.commit([{ put: { key: k('refresh/b'), value: v('2') } }]);
    // What read b is forgotten (a statement run again after a row-lock wait): only a is checked, and b is read anew.
    txn.forgetSince(mark);
    await txn.refresh();
    expect((await txn.get(k('refresh/b')))?.toString()).toBe('2');
    txn.put(k('refresh/b'), v('3'));
    expect(await txn.commit()).not.toBeNull();
    expect((await tenant2.get(k('refresh/b'))).value?.toString()).toBe('3');

    const stale = new Transaction(tenant2);
    await stale.get(k('refresh/a'));
    await tenant2.commit([{ put: { key: k('refresh/a'), value: v('9') } }]);
    expect((await refusal(stale.refresh())).code).toBe('TXN_CONFLICT');
  });

  it('retries conflicting read-modify-write transactions until every increment lands', async () => {
    const counter = k('counter');
    await tenant2.commit([{ put: { key: counter, value: v('0') } }]);
    const clients = await Promise.all([1, 2, 3, 4].map(async () => clientWith(certs, await certs.tenant(2), [kv.address])));
    let attempts = 0;
    await Promise.all(
      clients.flatMap((client) =>
        Array.from({ length: 10 }, () =>
          runTransaction(client, async (txn) => {
            const n = Number((await txn.get(counter))?.toString());
            txn.put(counter, v(String(n + 1)));
          }, { maxAttempts: 100 }).then((r) => (attempts += r.attempts)),
        ),
      ),
    );
    clients.forEach((c) => c.close());
    expect((await tenant2.get(counter)).value?.toString()).toBe('40');
    expect(attempts).toBeGreaterThan(40); // some ran into conflicts and were retried
  });
});

describe('a transaction reads its own writes', () => {
  it('through puts, deletes and range deletions, the latest one winning', async () => {
    const [a, b, c] = [k('own-a'), k('own-b'), k('own-c')];
    await tenant2.commit([{ put: { key: c, value: v('stored') } }]);
    const { result } = await runTransaction(tenant2, async (txn) => {
      txn.put(a, v('1'));
      txn.put(b, v('1'));
      txn.deleteRange({ startKey: a, endKey: keyNext(b) });
      const afterRange = await txn.getMany([a, b, c]);
      txn.put(b, v('2'));
      txn.delete(c);
      const afterRewrite = await txn.getMany([a, b, c]);
      txn.put(c, v('3'));
      return [afterRange, afterRewrite, [await txn.get(c)]].map((vs) => vs.map((x) => x?.toString() ?? null));
    });
    expect(result).toEqual([
      [null, null, 'stored'],
      [null, '2', null],
      ['3'],
    ]);
    expect((await tenant2.get(b)).value?.toString()).toBe('2');
  });
});

describe('tenant isolation and identities', () => {
  it('keeps each tenant inside its own keyspace', async () => {
    await tenant3.commit([{ put: { key: k('secret', tenantPrefix(3)), value: v('3') } }]);
    const cross = await refusal(tenant2.get(k('secret', tenantPrefix(3))));
    expect(cross.code).toBe('OUTSIDE_TENANT');
    expect(cross.grpcCode).toBe(7); // PERMISSION_DENIED
    expect((await refusal(tenant2.commit([{ put: { key: k('x', tenantPrefix(3)), value: v('x') } }]))).code).toBe('OUTSIDE_TENANT');
    // A span that starts inside tenant 2 and runs into tenant 3.
    const straddle = { startKey: k('zzz'), endKey: k('a', tenantPrefix(3)) };
    expect((await refusal(tenant2.commit([{ deleteRange: straddle }]))).code).toBe('OUTSIDE_TENANT');
    // A refresh tells whether another tenant's keys changed: refused as well.
    expect((await refusal(tenant2.refresh([{ startKey: k('secret', tenantPrefix(3)), endKey: k('secreu', tenantPrefix(3)) }], { wallMs: Date.now(), logical: 0 }))).code).toBe('OUTSIDE_TENANT');
    expect((await tenant3.get(k('secret', tenantPrefix(3)))).value?.toString()).toBe('3');
  });

  it('refuses tenant keyspaces that do not exist, and admin calls from tenants', async () => {
    const ghost = clientWith(certs, await certs.tenant(77), [kv.address]);
    const err = await refusal(ghost.get(k('a', tenantPrefix(77))));
    ghost.close();
    expect(err.code).toBe('UNKNOWN_TENANT');
    expect(err.message).toMatch(/tenant 77 has no keyspace/);
    expect((await refusal(tenant2.createTenant('evil'))).code).toBe('NOT_OPERATOR');
    expect((await refusal(tenant2.listTenants())).code).toBe('NOT_OPERATOR');
    expect((await refusal(operator.get(k('a')))).code).toBe('OUTSIDE_TENANT');
  });

  it('refuses expired, foreign-CA and self-signed certificates with UNAUTHENTICATED and keeps serving', async () => {
    const expired = await certs.issue({ kind: 'tenant-client', tenantId: 2 }, { notBefore: new Date(Date.now() - 10 * 86400_000), notAfter: new Date(Date.now() - 86400_000) });
    const { createHostCA, issueCert } = await import('../shared/certs/index.js');
    const otherCa = await createHostCA({ commonName: 'someone else' });
    const foreign = await issueCert(otherCa, { kind: 'tenant-client', tenantId: 2 });
    for (const [pair, hint] of [
      [expired, /expired/],
      [foreign, /not issued by the configured CA/],
      [otherCa, /not issued by the configured CA/],
    ] as const) {
      const client = clientWith(certs, pair, [kv.address], { attempts: 1 });
      const err = await refusal(client.get(k('a/1')));
      client.close();
      expect(err.code).toBe('UNAUTHENTICATED');
      expect(err.message).toMatch(hint);
    }
    expect((await tenant2.get(k('a/1'))).value?.toString()).toBe('one');
  });
});

describe('bad input', () => {
  it('refuses oversized and malformed requests with clear errors, changing nothing', async () => {
    const before = await tenant2.scan(tenantSpan(2));
    const cases: [() => Promise<unknown>, string, RegExp][] = [
      [() => tenant2.get(k('x'.repeat(300))), 'LIMIT_EXCEEDED', /key of \d+ bytes exceeds the limit of 256/],
      [() => tenant2.commit([{ put: { key: k('big'), value: Buffer.alloc(2000) } }]), 'LIMIT_EXCEEDED', /value of 2000 bytes/],
      [() => tenant2.commit(Array.from({ length: 51 }, (_, i) => ({ put: { key: k(`m${i}`), value: v('1') } }))), 'LIMIT_EXCEEDED', /51 mutations; the limit is 50/],
      [() => tenant2.scan({ startKey: k('b'), endKey: k('a') }), 'INVALID_REQUEST', /does not sort before its end key/],
      [() => tenant2.commit([{ deleteRange: { startKey: k('b'), endKey: k('b') } }]), 'INVALID_REQUEST', /does not sort before/],
      [() => tenant2.get(Buffer.alloc(0)), 'INVALID_REQUEST', /empty key/],
      [() => tenant2.commit([{ put: { key: k('q'), value: v('1') } }], { readSpans: [{ startKey: k('q'), endKey: k('r') }] }), 'INVALID_REQUEST', /read timestamp/],
      [() => tenant2.get(k('a/1'), { readTs: { wallMs: Date.now() + 3_600_000, logical: 0 } }), 'CLOCK_OFFSET', /ahead of this kvpod's clock/],
    ];
    for (const [send, code, message] of cases) {
      const err = await refusal(send());
      expect(err.code, String(message)).toBe(code);
      expect(err.message).toMatch(message);
    }
    const after = await tenant2.scan(tenantSpan(2));
    expect(after.kvs).toEqual(before.kvs);
  });
});

describe('admin', () => {
  it('creates, lists and destroys tenant keyspaces; IDs are never reused', async () => {
    const gamma = await operator.createTenant('gamma');
    expect(gamma.tenantId).toBe(4);
    expect((await operator.createTenant('gamma', 4)).tenantId).toBe(4); // idempotent
    expect((await refusal(operator.createTenant('other', 4))).code).toBe('TENANT_EXISTS');
    expect((await refusal(operator.createTenant('alpha'))).code).toBe('TENANT_EXISTS');
    expect((await refusal(operator.createTenant('Not_A_Label'))).code).toBe('INVALID_REQUEST');
    const t4 = clientWith(certs, await certs.tenant(4), [kv.address]);
    await t4.commit([{ put: { key: k('row', tenantPrefix(4)), value: v('data') } }]);
    const dropped = await operator.destroyTenant(4);
    expect(dropped.state).toBe('TENANT_STATE_DROPPED');
    expect((await refusal(t4.get(k('row', tenantPrefix(4))))).code).toBe('UNKNOWN_TENANT');
    t4.close();
    expect((await refusal(operator.createTenant('gamma', 4))).message).toMatch(/never reused/);
    const next = await operator.createTenant('delta');
    expect(next.tenantId).toBe(5);
    const list = await operator.listTenants();
    expect(list.map((t) => [t.tenantId, t.name, t.state])).toEqual([
      [2, 'alpha', 'TENANT_STATE_ACTIVE'],
      [3, 'beta', 'TENANT_STATE_ACTIVE'],
      [4, 'gamma', 'TENANT_STATE_DROPPED'],
      [5, 'delta', 'TENANT_STATE_ACTIVE'],
    ]);
  });

  it('creates a tenant after a quiet spell longer than the conflict window', async () => {
    // The registry once read at the last commit's timestamp: once reads had moved the
    // clock (and so the horizon) a conflict window past the last commit, every create
    // failed TXN_TOO_OLD until some tenant wrote.
    const quiet = await startTestKvpod(certs, { conflictWindow: '200ms' });
    const admin = clientWith(certs, await certs.operator(), [quiet.address]);
    const reader = clientWith(certs, await certs.tenant(2), [quiet.address]);
    try {
      expect((await admin.createTenant('early')).tenantId).toBe(2);
      await new Promise((r) => setTimeout(r, 500));
      expect((await reader.get(k('nothing'))).value).toBeNull();
      await new Promise((r) => setTimeout(r, 200));
      expect((await admin.createTenant('late')).tenantId).toBe(3);
    } finally {
      for (const c of [admin, reader]) c.close();
      await quiet.stop();
    }
  });
});

describe('operations', () => {
  it('answers the standard gRPC health check, also without a client certificate', async () => {
    const health = loadSync(protoPath, { enums: String })['grpc.health.v1.Health'] as unknown as grpc.ServiceDefinition;
    const check = health['Check'] as grpc.MethodDefinition<{ service: string }, { status: string }>;
    const client = new grpc.Client(kv.address, grpc.credentials.createSsl(Buffer.from(certs.ca.certPem)));
    const status = await new Promise<string>((resolve, reject) =>
      client.makeUnaryRequest(check.path, check.requestSerialize, check.responseDeserialize, { service: 'shoal.kv.v1.Kv' }, (err, res) =>
        err ? reject(err) : resolve(res?.status ?? ''),
      ),
    );
    client.close();
    expect(status).toBe('SERVING');
  });

  it('answers undecodable request bytes with a gRPC error and keeps serving', async () => {
    const pair = await certs.tenant(2);
    const client = new grpc.Client(kv.address, grpc.credentials.createSsl(Buffer.from(certs.ca.certPem), Buffer.from(pair.keyPem), Buffer.from(pair.certPem)));
    const garbage = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]); // field 1, absurd length
    const err = await new Promise<grpc.ServiceError | null>((resolve) =>
      client.makeUnaryRequest('/shoal.kv.v1.Kv/Commit', (b: Buffer) => b, (b: Buffer) => b, garbage, (e) => resolve(e)),
    );
    client.close();
    expect(err?.code).toBe(grpc.status.INTERNAL);
    expect(err?.details).toMatch(/deserializ/i);
    expect((await tenant2.get(k('a/1'))).value?.toString()).toBe('one');
  });

  it('exposes per-tenant counters on /metrics and readiness on /readyz', async () => {
    const base = `http://${kv.node.opsAddress}`;
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/shoal_kv_requests_total\{tenant="2",method="Get",code="OK"\} \d+/);
    expect(metrics).toMatch(/shoal_kv_keys_written_total\{tenant="2"\} \d+/);
    expect(metrics).toMatch(/shoal_kv_conflicts_total\{tenant="2"\} [1-9]/);
    expect(metrics).toMatch(/shoal_kv_denied_total\{reason="OUTSIDE_TENANT"\} [1-9]/);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });
});
