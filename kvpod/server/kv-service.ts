// The Kv service: reads at a timestamp and commits, each refused unless every
// key lies in the caller's tenant, the tenant exists, and this kvpod holds it.
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type {
  CommitResponse,
  GetResponse,
  LocateRangeResponse,
  MultiGetResponse,
  RefreshResponse,
  ScanResponse,
  Span,
} from '../../shared/kv/protocol.js';
import { KvError } from '../../shared/kv/errors.js';
import type { Timestamp } from '../../shared/kv/timestamp.js';
import type { RangeLayout } from '../ranges/layout.js';
import type { GarbageCollector } from '../storage/gc.js';
import type { MvccReader } from '../storage/mvcc.js';
import { TenantAccess } from '../tenancy/access.js';
import type { TenantRegistry } from '../tenancy/registry.js';
import type { Committer } from '../txn/committer.js';
import { requireTenant, unary, type HandlerDeps } from './handler.js';
import type { RequestValidator } from './requests.js';

export interface KvServiceDeps extends HandlerDeps {
  reader: MvccReader;
  committer: Committer;
  registry: TenantRegistry;
  layout: RangeLayout;
  gc: GarbageCollector;
  validator: RequestValidator;
}

export function kvServiceImplementation(deps: KvServiceDeps): UntypedServiceImplementation {
  const { reader, committer, registry, layout, gc, validator, metrics } = deps;

  const accessByTenant = new Map<number, TenantAccess>();
  /** Checks the caller may touch `keys`/`spans` here; returns the tenant's metrics label. */
  const admit = (tenantId: number, keys: Buffer[], spans: Span[]): string => {
    let access = accessByTenant.get(tenantId);
    if (!access) accessByTenant.set(tenantId, (access = new TenantAccess(tenantId)));
    keys.forEach((k) => access.checkKey(k));
    spans.forEach((s) => access.checkSpan(s));
    registry.requireActive(tenantId);
    keys.forEach((k) => layout.checkKey(k));
    spans.forEach((s) => layout.checkSpan(s));
    return String(tenantId);
  };

  const readAt = async (requested: Timestamp | null): Promise<Timestamp> => {
    const ts = await committer.readTimestamp(requested);
    gc.checkRead(ts);
    return ts;
  };

  const countRead = (tenant: string, keys: number, bytes: number) => {
    metrics.keysRead.inc({ tenant }, keys);
    metrics.bytesRead.inc({ tenant }, bytes);
  };

  return {
    Get: unary(deps, 'Get', async (identity, request): Promise<GetResponse> => {
      const req = validator.get(request);
      const tenant = admit(requireTenant(identity), [req.key], []);
      const ts = await readAt(req.readTs);
      const value = await reader.get(req.key, ts);
      gc.checkRead(ts);
      countRead(tenant, value ? 1 : 0, value ? req.key.length + value.length : 0);
      return { found: value !== null, value: value ?? Buffer.alloc(0), readTs: ts };
    }),

    MultiGet: unary(deps, 'MultiGet', async (identity, request): Promise<MultiGetResponse> => {
      const req = validator.multiGet(request);
      const tenant = admit(requireTenant(identity), req.keys, []);
      const ts = await readAt(req.readTs);
      const values = await Promise.all(req.keys.map((key) => reader.get(key, ts)));
      gc.checkRead(ts);
      const found = values.filter((v): v is Buffer => v !== null);
      countRead(tenant, found.length, found.reduce((n, v) => n + v.length, 0));
      return { results: values.map((v) => ({ found: v !== null, value: v ?? Buffer.alloc(0) })), readTs: ts };
    }),

    Scan: unary(deps, 'Scan', async (identity, request): Promise<ScanResponse> => {
      const req = validator.scan(request);
      const tenant = admit(requireTenant(identity), [], [req.span]);
      const ts = await readAt(req.readTs);
      const page = await reader.scan(req.span, ts, req.reverse, { limit: req.limit, maxBytes: req.maxBytes });
      gc.checkRead(ts);
      countRead(tenant, page.kvs.length, page.kvs.reduce((n, kv) => n + kv.key.length + kv.value.length, 0));
      return { kvs: page.kvs, resumeSpan: page.resumeSpan, readTs: ts };
    }),

    Commit: unary(deps, 'Commit', async (identity, request): Promise<CommitResponse> => {
      const intent = validator.commit(request);
      const keys: Buffer[] = [];
      const spans = [...intent.readSpans];
      let bytes = 0;
      for (const m of intent.mutations) {
        if (m.kind === 'deleteRange') spans.push(m.span);
        else keys.push(m.key);
        bytes += m.kind === 'put' ? m.key.length + m.value.length : m.kind === 'delete' ? m.key.length : 0;
      }
      const tenant = admit(requireTenant(identity), keys, spans);
      try {
        const commitTs = await committer.commit(intent);
        metrics.keysWritten.inc({ tenant }, intent.mutations.length);
        metrics.bytesWritten.inc({ tenant }, bytes);
        return { commitTs };
      } catch (err) {
        if (err instanceof KvError && err.isTransactionRetry) metrics.conflicts.inc({ tenant });
        throw err;
      }
    }),

    Refresh: unary(deps, 'Refresh', async (identity, request): Promise<RefreshResponse> => {
      const req = validator.refresh(request);
      const tenant = admit(requireTenant(identity), [], req.readSpans);
      try {
        return Promise.resolve({ readTs: committer.refresh(req.readTs, req.readSpans) });
      } catch (err) {
        if (err instanceof KvError && err.isTransactionRetry) metrics.conflicts.inc({ tenant });
        throw err;
      }
    }),

    LocateRange: unary(deps, 'LocateRange', async (_identity, request): Promise<LocateRangeResponse> => {
      const req = validator.locate(request);
      const range = layout.locate(req.key, req.before);
      if (!range) throw new KvError('RANGE_NOT_HERE', `no range holds key 0x${req.key.toString('hex')}`);
      return Promise.resolve({ range });
    }),
  };
}
