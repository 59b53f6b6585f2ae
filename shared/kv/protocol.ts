// The wire contract of kv.proto as TypeScript types, plus the loaded service
// definitions. Message shapes follow @grpc/proto-loader with the options
// below: camelCase fields, uint64 as number, enums as names, bytes as Buffer.
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import type { Span } from '../keys/index.js';
import type { Timestamp } from './timestamp.js';

export const KV_PROTO_PATH = fileURLToPath(new URL('./proto/shoal/kv/v1/kv.proto', import.meta.url));
export const KV_API_VERSION = 'shoal.kv.v1';

const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
};

export type { Timestamp };
export type { Span };
export interface KeyValue {
  key: Buffer;
  value: Buffer;
}
export interface RangeDescriptor {
  rangeId: number;
  startKey: Buffer;
  endKey: Buffer;
  generation: number;
  address: string;
}
export type TenantState = 'TENANT_STATE_UNSPECIFIED' | 'TENANT_STATE_ACTIVE' | 'TENANT_STATE_DROPPED';
export interface TenantInfo {
  tenantId: number;
  name: string;
  state: TenantState;
  createdTs: Timestamp | null;
}

export type Mutation =
  | { kind?: 'put'; put: KeyValue }
  | { kind?: 'delete'; delete: Buffer }
  | { kind?: 'deleteRange'; deleteRange: Span };

export interface GetRequest {
  key: Buffer;
  readTs?: Timestamp | null;
}
export interface GetResponse {
  found: boolean;
  value: Buffer;
  readTs: Timestamp | null;
}
export interface MultiGetRequest {
  keys: Buffer[];
  readTs?: Timestamp | null;
}
export interface MultiGetResponse {
  results: { found: boolean; value: Buffer }[];
  readTs: Timestamp | null;
}
export interface ScanRequest {
  span: Span | null;
  readTs?: Timestamp | null;
  reverse?: boolean;
  limit?: number;
  maxBytes?: number;
}
export interface ScanResponse {
  kvs: KeyValue[];
  resumeSpan: Span | null;
  readTs: Timestamp | null;
}
export interface CommitRequest {
  readTs?: Timestamp | null;
  readSpans?: Span[];
  mutations: Mutation[];
}
export interface CommitResponse {
  commitTs: Timestamp | null;
}
export interface RefreshRequest {
  readTs: Timestamp | null;
  readSpans: Span[];
}
export interface RefreshResponse {
  readTs: Timestamp | null;
}
export interface LocateRangeRequest {
  key: Buffer;
  before?: boolean;
}
export interface LocateRangeResponse {
  range: RangeDescriptor | null;
}
export interface CreateTenantRequest {
  tenantId?: number;
  name: string;
}
export interface CreateTenantResponse {
  tenant: TenantInfo | null;
}
export interface DestroyTenantRequest {
  tenantId: number;
}
export interface DestroyTenantResponse {
  tenant: TenantInfo | null;
}
export type ListTenantsRequest = Record<string, never>;
export interface ListTenantsResponse {
  tenants: TenantInfo[];
}

export interface KvMethods {
  Get: [GetRequest, GetResponse];
  MultiGet: [MultiGetRequest, MultiGetResponse];
  Scan: [ScanRequest, ScanResponse];
  Commit: [CommitRequest, CommitResponse];
  Refresh: [RefreshRequest, RefreshResponse];
  LocateRange: [LocateRangeRequest, LocateRangeResponse];
}
export interface AdminMethods {
  CreateTenant: [CreateTenantRequest, CreateTenantResponse];
  DestroyTenant: [DestroyTenantRequest, DestroyTenantResponse];
  ListTenants: [ListTenantsRequest, ListTenantsResponse];
}

export type MethodsOf<M> = { [K in keyof M]: M[K] extends [infer Req, infer Res] ? MethodDefinition<Req, Res> : never };

const packageDefinition = protoLoader.loadSync(KV_PROTO_PATH, LOADER_OPTIONS);

function service<M>(name: string): MethodsOf<M> & ServiceDefinition {
  const definition = packageDefinition[`${KV_API_VERSION}.${name}`];
  if (!definition || !('Get' in definition || 'CreateTenant' in definition)) {
    throw new Error(`kv.proto does not define service ${name}`);
  }
  // proto-loader types every method as MethodDefinition<object, object>; the
  // message interfaces above are the shapes its options produce.
  return definition as unknown as MethodsOf<M> & ServiceDefinition;
}

export const kvService = service<KvMethods>('Kv');
export const adminService = service<AdminMethods>('Admin');

const root = protobuf.loadSync(KV_PROTO_PATH);
export const errorDetailType = root.lookupType(`${KV_API_VERSION}.ErrorDetail`);
