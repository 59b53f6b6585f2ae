// A throwaway KV service for the warm-up (prewarm.ts): one range, one
// version of each key, no conflicts. Just enough for a TenantEngine to
// bootstrap a catalog, create a table and read it back, so every client and
// engine code path a stamp runs has run once before the stamp. Nothing here
// is durable or shared; it lives for the few milliseconds of the warm-up.
import type { sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { spanContainsKey, type Span } from '../../shared/keys/index.js';
import type {
  CommitRequest,
  CommitResponse,
  GetRequest,
  GetResponse,
  KeyValue,
  LocateRangeResponse,
  MultiGetRequest,
  MultiGetResponse,
  ScanRequest,
  ScanResponse,
} from '../../shared/kv/protocol.js';
import type { Timestamp } from '../../shared/kv/timestamp.js';

type Handler<Req, Res> = (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void;

export function warmupKvService(address: () => string): UntypedServiceImplementation {
  const data = new Map<string, KeyValue>();
  let logical = 0;
  const now = (): Timestamp => ({ wallMs: Date.now(), logical: ++logical });
  const id = (key: Buffer) => key.toString('latin1');
  const inSpan = (span: Span | null) => [...data.values()].filter((kv) => span !== null && spanContainsKey(span, kv.key)).sort((a, b) => Buffer.compare(a.key, b.key));

  const locateRange: Handler<unknown, LocateRangeResponse> = (_call, cb) =>
    cb(null, { range: { rangeId: 1, startKey: Buffer.alloc(0), endKey: Buffer.alloc(0), generation: 1, address: address() } });
  const get: Handler<GetRequest, GetResponse> = (call, cb) => {
    const kv = data.get(id(call.request.key));
    cb(null, { found: kv !== undefined, value: kv?.value ?? Buffer.alloc(0), readTs: now() });
  };
  const multiGet: Handler<MultiGetRequest, MultiGetResponse> = (call, cb) => {
    const results = call.request.keys.map((k) => {
      const kv = data.get(id(k));
      return { found: kv !== undefined, value: kv?.value ?? Buffer.alloc(0) };
    });
    cb(null, { results, readTs: now() });
  };
  const scan: Handler<ScanRequest, ScanResponse> = (call, cb) => {
    const { span, reverse, limit } = call.request;
    const kvs = inSpan(span);
    if (reverse) kvs.reverse();
    cb(null, { kvs: limit ? kvs.slice(0, limit) : kvs, resumeSpan: null, readTs: now() });
  };
  const commit: Handler<CommitRequest, CommitResponse> = (call, cb) => {
    for (const m of call.request.mutations) {
      if ('put' in m && m.put) data.set(id(m.put.key), m.put);
      else if ('delete' in m && m.delete) data.delete(id(m.delete));
      else if ('deleteRange' in m && m.deleteRange) for (const kv of inSpan(m.deleteRange)) data.delete(id(kv.key));
    }
    cb(null, { commitTs: now() });
  };
  return { LocateRange: locateRange, Get: get, MultiGet: multiGet, Scan: scan, Commit: commit };
}
