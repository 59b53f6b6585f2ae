// The client of kvpod's API: one TLS channel per kvpod, reused; deadlines on
// every call; request-level retries with backoff for errors that say "not
// here" or "not now"; a cache of where ranges live.
import { X509Certificate } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, credentials, Metadata, type MethodDefinition, type ServiceError } from '@grpc/grpc-js';
import { KvError } from '../errors.js';
import {
  adminService,
  kvService,
  type AdminMethods,
  type KeyValue,
  type KvMethods,
  type MethodsOf,
  type Mutation,
  type RangeDescriptor,
  type ScanResponse,
  type Span,
  type TenantInfo,
} from '../protocol.js';
import type { Timestamp } from '../timestamp.js';
import { RangeCache } from './range-cache.js';

export interface KvClientOptions {
  /** kvpod addresses (host:port) to learn the range layout from. */
  seeds: string[];
  tls: { ca: Buffer; cert: Buffer; key: Buffer };
  /** Per-attempt deadline. Default 10 s. */
  deadlineMs?: number;
  /** Attempts for retriable request errors. Default 6. */
  attempts?: number;
  /** First backoff delay; doubles per attempt up to 1 s, with jitter. Default 20 ms. */
  backoffMs?: number;
}

export interface ReadOptions {
  readTs?: Timestamp | null;
}

export interface ScanOptions extends ReadOptions {
  reverse?: boolean;
  /** Most pairs to return in all; unlimited when absent. */
  limit?: number;
}

export interface ScanResult {
  kvs: KeyValue[];
  readTs: Timestamp;
  /** Where the scan stopped because of `limit`; null when the span was read to its end. */
  resumeSpan: Span | null;
}

export interface CommitOptions {
  readTs?: Timestamp | null;
  readSpans?: Span[];
}

type AllMethods = KvMethods & AdminMethods;
type Methods = MethodsOf<AllMethods>;
type Req<K extends keyof AllMethods> = AllMethods[K][0];
type Res<K extends keyof AllMethods> = AllMethods[K][1];

const SAFE_TO_REPEAT = new Set(['RANGE_NOT_HERE', 'SHUTTING_DOWN', 'UNAVAILABLE']);

export class KvClient {
  private readonly channels = new Map<string, Client>();
  private readonly ranges = new RangeCache();
  private readonly channelCredentials;
  private readonly methods: Methods = { ...kvService, ...adminService };
  private seedIndex = 0;
  private readonly deadlineMs: number;
  private readonly attempts: number;
  private readonly backoffMs: number;

  constructor(private readonly options: KvClientOptions) {
    if (options.seeds.length === 0) throw new KvError('INVALID_REQUEST', 'KvClient needs at least one kvpod address');
    this.channelCredentials = credentials.createSsl(options.tls.ca, options.tls.key, options.tls.cert);
    this.deadlineMs = options.deadlineMs ?? 10_000;
    this.attempts = options.attempts ?? 6;
    this.backoffMs = options.backoffMs ?? 20;
  }

  async get(key: Buffer, opts: ReadOptions = {}): Promise<{ value: Buffer | null; readTs: Timestamp }> {
    const res = await this.routed(key, false, 'Get', { key, readTs: opts.readTs ?? null });
    return { value: res.found ? res.value : null, readTs: required(res.readTs) };
  }

  /** Values in the order of `keys`, read range by range at one timestamp. */
  async multiGet(keys: Buffer[], opts: ReadOptions = {}): Promise<{ values: (Buffer | null)[]; readTs: Timestamp }> {
    if (keys.length === 0) throw new KvError('INVALID_REQUEST', 'multiGet needs at least one key');
    const byAddress = new Map<string, number[]>();
    for (const [i, key] of keys.entries()) {
      const range = await this.locate(key);
      byAddress.set(range.address, [...(byAddress.get(range.address) ?? []), i]);
    }
    // Without a timestamp, the first group fixes it for the others.
    let readTs = opts.readTs ?? null;
    const values: (Buffer | null)[] = new Array<Buffer | null>(keys.length).fill(null);
    for (const indexes of byAddress.values()) {
      const group = indexes.map((i) => keys[i] ?? Buffer.alloc(0));
      const first = group[0] ?? Buffer.alloc(0);
      const res = await this.routed(first, false, 'MultiGet', { keys: group, readTs });
      readTs = required(res.readTs);
      res.results.forEach((r, j) => (values[indexes[j] ?? 0] = r.found ? r.value : null));
    }
    return { values, readTs: required(readTs) };
  }

  /** Reads a span page by page and range by range, at one timestamp. */
  async scan(span: Span, opts: ScanOptions = {}): Promise<ScanResult> {
    const kvs: KeyValue[] = [];
    let rest: Span | null = span;
    let readTs = opts.readTs ?? null;
    while (rest && (opts.limit === undefined || kvs.length < opts.limit)) {
      const reverse = opts.reverse ?? false;
      const edge: Buffer = reverse ? rest.endKey : rest.startKey;
      const range = await this.locate(edge, reverse);
      const piece = clip(rest, range);
      const res: ScanResponse = await this.routed(edge, reverse, 'Scan', {
        span: piece,
        readTs,
        reverse: opts.reverse ?? false,
        limit: opts.limit === undefined ? 0 : opts.limit - kvs.length,
        maxBytes: 0,
      });
      readTs = required(res.readTs);
      kvs.push(...res.kvs);
      rest = res.resumeSpan ?? remainder(rest, piece, reverse);
    }
    return { kvs, readTs: readTs ?? (await this.get(span.startKey)).readTs, resumeSpan: rest };
  }

  /**
   * Applies the mutations atomically. With readSpans and readTs, fails with
   * TXN_CONFLICT if anything in the spans changed since readTs. All keys must
   * lie in one range. Not retried on transport errors (the outcome would be
   * ambiguous).
   */
  async commit(mutations: Mutation[], opts: CommitOptions = {}): Promise<Timestamp> {
    const first = firstKeyOf(mutations[0]);
    const res = await this.routed(first, false, 'Commit', {
      readTs: opts.readTs ?? null,
      readSpans: opts.readSpans ?? [],
      mutations,
    });
    return required(res.commitTs);
  }

  /**
   * A snapshot later than `readTs` at which nothing in `readSpans` has changed
   * since `readTs` (TXN_CONFLICT otherwise). The spans must lie in one range,
   * as a commit's do. Safe to repeat: it changes nothing.
   */
  async refresh(readSpans: Span[], readTs: Timestamp): Promise<Timestamp> {
    const first = readSpans[0];
    if (!first) throw new KvError('INVALID_REQUEST', 'a refresh needs at least one read span');
    const res = await this.routed(first.startKey, false, 'Refresh', { readTs, readSpans });
    return required(res.readTs);
  }

  // Admin (operator certificate). Each kvpod keeps the registry of the
  // tenants whose ranges it may hold, so changes go to every seed: the first
  // allocates the ID, the others record the same one.
  async createTenant(name: string, tenantId = 0): Promise<TenantInfo> {
    const [first, ...others] = this.options.seeds;
    const created = required((await this.call(first ?? '', 'CreateTenant', { name, tenantId })).tenant);
    for (const address of others) await this.call(address, 'CreateTenant', { name, tenantId: created.tenantId });
    return created;
  }

  async destroyTenant(tenantId: number): Promise<TenantInfo> {
    let destroyed: TenantInfo | null = null;
    for (const address of this.options.seeds) destroyed = (await this.call(address, 'DestroyTenant', { tenantId })).tenant;
    return required(destroyed);
  }

  async listTenants(): Promise<TenantInfo[]> {
    return (await this.onSeed('ListTenants', {})).tenants;
  }

  /** The range holding `key`, from the cache or asked of a seed. */
  async locate(key: Buffer, before = false): Promise<RangeDescriptor> {
    const cached = this.ranges.lookup(key, before);
    if (cached) return cached;
    const res = await this.onSeed('LocateRange', { key, before });
    const range = required(res.range);
    this.ranges.insert(range);
    return range;
  }

  close(): void {
    for (const channel of this.channels.values()) channel.close();
    this.channels.clear();
  }

  /** Sends a request for `key` to the kvpod holding it, following RANGE_NOT_HERE. */
  private async routed<K extends keyof AllMethods>(key: Buffer, before: boolean, method: K, request: Req<K>): Promise<Res<K>> {
    return this.withRetries(method, async () => {
      const range = await this.locate(key, before);
      try {
        return await this.call(range.address, method, request);
      } catch (err) {
        if (err instanceof KvError && err.code === 'RANGE_NOT_HERE') {
          this.ranges.evict(range);
          if (err.extras.range) this.ranges.insert(err.extras.range);
        }
        throw err;
      }
    });
  }

  private onSeed<K extends keyof AllMethods>(method: K, request: Req<K>): Promise<Res<K>> {
    return this.withRetries(method, () => {
      const seeds = this.options.seeds;
      const address = seeds[this.seedIndex++ % seeds.length] ?? '';
      return this.call(address, method, request);
    });
  }

  private async withRetries<T>(method: keyof AllMethods, attempt: () => Promise<T>): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await attempt();
      } catch (err) {
        const retry =
          err instanceof KvError &&
          i < this.attempts &&
          SAFE_TO_REPEAT.has(err.code) &&
          !(method === 'Commit' && err.code === 'UNAVAILABLE');
        if (!retry) throw err;
        const delay = Math.min(1000, this.backoffMs * 2 ** (i - 1));
        await sleep(delay / 2 + Math.random() * (delay / 2));
      }
    }
  }

  private call<K extends keyof AllMethods>(address: string, method: K, request: Req<K>): Promise<Res<K>> {
    const definition = this.methods[method] as unknown as MethodDefinition<Req<K>, Res<K>>;
    const channel = this.channel(address);
    // A commit's work at kvpod grows with its mutations (a 100,000-row COPY, or the rekeying of as many rows by
    // ALTER TABLE … ADD PRIMARY KEY, takes seconds): 200 ms more per 1,000, so a big one is not cut off half-way.
    const mutations = method === 'Commit' ? ((request as { mutations?: readonly unknown[] }).mutations?.length ?? 0) : 0;
    const deadlineMs = this.deadlineMs + Math.ceil(mutations / 1000) * 200;
    return new Promise((resolve, reject) => {
      channel.makeUnaryRequest(
        definition.path,
        definition.requestSerialize,
        definition.responseDeserialize,
        request,
        new Metadata(),
        { deadline: Date.now() + deadlineMs },
        (err: ServiceError | null, response?: Res<K>) => {
          if (err) reject(this.explain(KvError.fromServiceError(err)));
          else if (response === undefined) reject(new KvError('INTERNAL', `${method}: empty response`));
          else resolve(response);
        },
      );
    });
  }

  private channel(address: string): Client {
    let channel = this.channels.get(address);
    if (!channel) {
      channel = new Client(address, this.channelCredentials, {
        'grpc.max_receive_message_length': 64 * 1024 * 1024,
        'grpc.keepalive_time_ms': 30_000,
        // A restarted kvpod is back within a second or two; grpc-js's default
        // reconnect backoff (1 s growing to 120 s) would leave it unused far longer.
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 2_000,
      });
      this.channels.set(address, channel);
    }
    return channel;
  }

  /** Adds what the client itself knows to an authentication failure. */
  private explain(err: KvError): KvError {
    if (err.code !== 'UNAUTHENTICATED') return err;
    const cert = new X509Certificate(this.options.tls.cert);
    const now = Date.now();
    if (Date.parse(cert.validTo) < now) return new KvError(err.code, `${err.message} (this client's certificate expired at ${cert.validTo})`);
    if (Date.parse(cert.validFrom) > now) return new KvError(err.code, `${err.message} (this client's certificate is valid only from ${cert.validFrom})`);
    if (!cert.checkIssued(new X509Certificate(this.options.tls.ca))) {
      return new KvError(err.code, `${err.message} (this client's certificate was not issued by the configured CA)`);
    }
    return err;
  }
}

function required<T>(value: T | null | undefined): T {
  if (value === null || value === undefined) throw new KvError('INTERNAL', 'kvpod response lacks a required field');
  return value;
}

function firstKeyOf(mutation: Mutation | undefined): Buffer {
  if (!mutation) throw new KvError('INVALID_REQUEST', 'a commit needs at least one mutation');
  if ('put' in mutation) return mutation.put.key;
  if ('delete' in mutation) return mutation.delete;
  return mutation.deleteRange.startKey;
}

/** The part of `span` inside `range`. */
function clip(span: Span, range: RangeDescriptor): Span {
  const startKey = Buffer.compare(span.startKey, range.startKey) >= 0 ? span.startKey : range.startKey;
  const endKey = range.endKey.length === 0 || Buffer.compare(span.endKey, range.endKey) <= 0 ? span.endKey : range.endKey;
  return { startKey, endKey };
}

function remainder(rest: Span, piece: Span, reverse: boolean): Span | null {
  if (reverse) return Buffer.compare(piece.startKey, rest.startKey) > 0 ? { startKey: rest.startKey, endKey: piece.startKey } : null;
  return Buffer.compare(piece.endKey, rest.endKey) < 0 ? { startKey: piece.endKey, endKey: rest.endKey } : null;
}
