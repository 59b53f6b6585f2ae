// Boundary validation: what proto-loader decoded is checked here, once, and
// the handlers trust the types from then on. Size limits are checked here too.
import { z } from 'zod';
import { KvError } from '../../shared/kv/errors.js';
import type { Timestamp } from '../../shared/kv/timestamp.js';
import type { Span } from '../../shared/keys/index.js';
import type { CommitIntent, Mutation } from '../txn/committer.js';

export interface RequestLimits {
  maxKeyBytes: number;
  maxValueBytes: number;
  maxBatchMutations: number;
  maxBatchBytes: number;
  maxRequestKeys: number;
  scanPageKeys: number;
  scanPageBytes: number;
}

const bytes = z.instanceof(Buffer);
const timestamp = z
  .object({ wallMs: z.number().int().nonnegative(), logical: z.number().int().nonnegative() })
  .nullish()
  .transform((ts): Timestamp | null => ts ?? null);
const span = z.object({ startKey: bytes, endKey: bytes });

const getSchema = z.object({ key: bytes, readTs: timestamp });
const multiGetSchema = z.object({ keys: z.array(bytes), readTs: timestamp });
const scanSchema = z.object({
  span: span.nullish(),
  readTs: timestamp,
  reverse: z.boolean().default(false),
  limit: z.number().int().nonnegative().default(0),
  maxBytes: z.number().int().nonnegative().default(0),
});
const mutationSchema = z.union([
  z.object({ kind: z.literal('put'), put: z.object({ key: bytes, value: bytes }) }),
  z.object({ kind: z.literal('delete'), delete: bytes }),
  z.object({ kind: z.literal('deleteRange'), deleteRange: span }),
]);
const commitSchema = z.object({ readTs: timestamp, readSpans: z.array(span), mutations: z.array(mutationSchema) });
const refreshSchema = z.object({ readTs: timestamp, readSpans: z.array(span) });
const locateSchema = z.object({ key: bytes, before: z.boolean().default(false) });
const createTenantSchema = z.object({ tenantId: z.number().int().nonnegative(), name: z.string() });
const destroyTenantSchema = z.object({ tenantId: z.number().int().positive() });

function parse<T>(schema: z.ZodType<T>, request: unknown, what: string): T {
  const result = schema.safeParse(request);
  if (!result.success) throw new KvError('INVALID_REQUEST', `malformed ${what}: ${z.prettifyError(result.error)}`);
  return result.data;
}

export class RequestValidator {
  constructor(private readonly limits: RequestLimits) {}

  get(request: unknown): { key: Buffer; readTs: Timestamp | null } {
    const req = parse(getSchema, request, 'GetRequest');
    this.key(req.key);
    return req;
  }

  multiGet(request: unknown): { keys: Buffer[]; readTs: Timestamp | null } {
    const req = parse(multiGetSchema, request, 'MultiGetRequest');
    this.count(req.keys.length, 'keys');
    req.keys.forEach((k) => this.key(k));
    return req;
  }

  scan(request: unknown): { span: Span; readTs: Timestamp | null; reverse: boolean; limit: number; maxBytes: number } {
    const req = parse(scanSchema, request, 'ScanRequest');
    if (!req.span) throw new KvError('INVALID_REQUEST', 'ScanRequest needs a span');
    this.span(req.span);
    const cap = (asked: number, max: number) => (asked === 0 ? max : Math.min(asked, max));
    return {
      span: req.span,
      readTs: req.readTs,
      reverse: req.reverse,
      limit: cap(req.limit, this.limits.scanPageKeys),
      maxBytes: cap(req.maxBytes, this.limits.scanPageBytes),
    };
  }

  commit(request: unknown): CommitIntent {
    const req = parse(commitSchema, request, 'CommitRequest');
    const { maxBatchMutations, maxBatchBytes, maxValueBytes } = this.limits;
    if (req.mutations.length === 0) throw new KvError('INVALID_REQUEST', 'CommitRequest has no mutations');
    if (req.mutations.length > maxBatchMutations) {
      throw new KvError('LIMIT_EXCEEDED', `commit has ${req.mutations.length} mutations; the limit is ${maxBatchMutations}`);
    }
    this.count(req.readSpans.length, 'read spans');
    req.readSpans.forEach((s) => this.span(s));
    if (req.readSpans.length > 0 && !req.readTs) {
      throw new KvError('INVALID_REQUEST', 'a commit with read spans must carry the read timestamp of those reads');
    }
    let total = 0;
    const mutations = req.mutations.map((m): Mutation => {
      if (m.kind === 'put') {
        this.key(m.put.key);
        if (m.put.value.length > maxValueBytes) {
          throw new KvError('LIMIT_EXCEEDED', `value of ${m.put.value.length} bytes exceeds the limit of ${maxValueBytes}`);
        }
        total += m.put.key.length + m.put.value.length;
        return { kind: 'put', key: m.put.key, value: m.put.value };
      }
      if (m.kind === 'delete') {
        this.key(m.delete);
        total += m.delete.length;
        return { kind: 'delete', key: m.delete };
      }
      this.span(m.deleteRange);
      total += m.deleteRange.startKey.length + m.deleteRange.endKey.length;
      return { kind: 'deleteRange', span: m.deleteRange };
    });
    if (total > maxBatchBytes) {
      throw new KvError('LIMIT_EXCEEDED', `commit of ${total} bytes exceeds the limit of ${maxBatchBytes}`);
    }
    return { readTs: req.readTs, readSpans: req.readSpans, mutations };
  }

  refresh(request: unknown): { readTs: Timestamp; readSpans: Span[] } {
    const req = parse(refreshSchema, request, 'RefreshRequest');
    if (!req.readTs) throw new KvError('INVALID_REQUEST', 'RefreshRequest needs the read timestamp of its spans');
    if (req.readSpans.length === 0) throw new KvError('INVALID_REQUEST', 'RefreshRequest has no read spans');
    this.count(req.readSpans.length, 'read spans');
    req.readSpans.forEach((s) => this.span(s));
    return { readTs: req.readTs, readSpans: req.readSpans };
  }

  locate(request: unknown): { key: Buffer; before: boolean } {
    return parse(locateSchema, request, 'LocateRangeRequest');
  }

  createTenant(request: unknown): { tenantId: number | undefined; name: string } {
    const req = parse(createTenantSchema, request, 'CreateTenantRequest');
    return { tenantId: req.tenantId === 0 ? undefined : req.tenantId, name: req.name };
  }

  destroyTenant(request: unknown): { tenantId: number } {
    return parse(destroyTenantSchema, request, 'DestroyTenantRequest');
  }

  private key(key: Buffer): void {
    if (key.length === 0) throw new KvError('INVALID_REQUEST', 'empty key');
    if (key.length > this.limits.maxKeyBytes) {
      throw new KvError('LIMIT_EXCEEDED', `key of ${key.length} bytes exceeds the limit of ${this.limits.maxKeyBytes}`);
    }
  }

  private span(s: Span): void {
    this.key(s.startKey);
    this.key(s.endKey);
    if (Buffer.compare(s.startKey, s.endKey) >= 0) {
      throw new KvError('INVALID_REQUEST', `span start key ${s.startKey.toString('hex')} does not sort before its end key ${s.endKey.toString('hex')}`);
    }
  }

  private count(n: number, what: string): void {
    if (n > this.limits.maxRequestKeys) {
      throw new KvError('LIMIT_EXCEEDED', `request has ${n} ${what}; the limit is ${this.limits.maxRequestKeys}`);
    }
  }
}
