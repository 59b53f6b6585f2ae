import { Metadata, status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import type { Timestamp } from './timestamp.js';
import type { RangeDescriptor } from './protocol.js';
import { errorDetailType } from './protocol.js';

/** Mirrors enum ErrorCode of kv.proto. */
export const KV_ERROR_CODES = [
  'ERROR_CODE_UNSPECIFIED',
  'INVALID_REQUEST',
  'LIMIT_EXCEEDED',
  'UNAUTHENTICATED',
  'OUTSIDE_TENANT',
  'NOT_OPERATOR',
  'UNKNOWN_TENANT',
  'RANGE_NOT_HERE',
  'TXN_CONFLICT',
  'TXN_TOO_OLD',
  'BELOW_GC_THRESHOLD',
  'CLOCK_OFFSET',
  'TENANT_EXISTS',
  'SHUTTING_DOWN',
  'INTERNAL',
  'UNAVAILABLE',
  'DEADLINE_EXCEEDED',
] as const;
export type KvErrorCode = (typeof KV_ERROR_CODES)[number];

const GRPC_STATUS: Record<KvErrorCode, status> = {
  ERROR_CODE_UNSPECIFIED: status.UNKNOWN,
  INVALID_REQUEST: status.INVALID_ARGUMENT,
  LIMIT_EXCEEDED: status.INVALID_ARGUMENT,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
  OUTSIDE_TENANT: status.PERMISSION_DENIED,
  NOT_OPERATOR: status.PERMISSION_DENIED,
  UNKNOWN_TENANT: status.NOT_FOUND,
  RANGE_NOT_HERE: status.FAILED_PRECONDITION,
  TXN_CONFLICT: status.ABORTED,
  TXN_TOO_OLD: status.ABORTED,
  BELOW_GC_THRESHOLD: status.FAILED_PRECONDITION,
  CLOCK_OFFSET: status.INVALID_ARGUMENT,
  TENANT_EXISTS: status.ALREADY_EXISTS,
  SHUTTING_DOWN: status.UNAVAILABLE,
  INTERNAL: status.INTERNAL,
  UNAVAILABLE: status.UNAVAILABLE,
  DEADLINE_EXCEEDED: status.DEADLINE_EXCEEDED,
};

/** Codes a client may retry: the request itself (elsewhere or later), or the whole transaction. */
const RETRIABLE: ReadonlySet<KvErrorCode> = new Set([
  'RANGE_NOT_HERE',
  'TXN_CONFLICT',
  'TXN_TOO_OLD',
  'SHUTTING_DOWN',
  'UNAVAILABLE',
]);

const TRANSPORT_CODES = new Map<status, KvErrorCode>([
  [status.UNAVAILABLE, 'UNAVAILABLE'],
  [status.DEADLINE_EXCEEDED, 'DEADLINE_EXCEEDED'],
  [status.UNAUTHENTICATED, 'UNAUTHENTICATED'],
  [status.PERMISSION_DENIED, 'OUTSIDE_TENANT'],
]);

const DETAIL_TRAILER = 'shoal-error-bin';

export interface KvErrorExtras {
  range?: RangeDescriptor;
  threshold?: Timestamp;
}

/** A storage error with its Shoal code; crosses the wire as a gRPC status plus ErrorDetail. */
export class KvError extends Error {
  override readonly name = 'KvError';
  readonly grpcCode: status;
  readonly retriable: boolean;

  constructor(
    readonly code: KvErrorCode,
    message: string,
    readonly extras: KvErrorExtras = {},
  ) {
    super(message);
    this.grpcCode = GRPC_STATUS[code];
    this.retriable = RETRIABLE.has(code);
  }

  /** True when re-running the transaction (not just the request) may succeed. */
  get isTransactionRetry(): boolean {
    return this.code === 'TXN_CONFLICT' || this.code === 'TXN_TOO_OLD';
  }

  toServiceError(): Partial<StatusObject> {
    const metadata = new Metadata();
    const detail = errorDetailType.encode(
      errorDetailType.fromObject({
        code: this.code,
        retriable: this.retriable,
        range: this.extras.range,
        threshold: this.extras.threshold,
      }),
    ).finish();
    metadata.set(DETAIL_TRAILER, Buffer.from(detail));
    return { code: this.grpcCode, details: this.message, metadata };
  }

  /** Rebuilds the KvError a server sent, or wraps a transport failure. */
  static fromServiceError(err: ServiceError): KvError {
    const raw = err.metadata?.get(DETAIL_TRAILER)[0];
    if (Buffer.isBuffer(raw)) {
      const detail = errorDetailType.toObject(errorDetailType.decode(raw), { enums: String, longs: Number, defaults: true });
      const code = KV_ERROR_CODES.find((c) => c === detail['code']) ?? 'ERROR_CODE_UNSPECIFIED';
      const range = detail['range'] as RangeDescriptor | undefined;
      const threshold = detail['threshold'] as Timestamp | undefined;
      return new KvError(code, err.details, { ...(range && { range }), ...(threshold && { threshold }) });
    }
    const code = TRANSPORT_CODES.get(err.code) ?? 'INTERNAL';
    return new KvError(code, `${status[err.code] ?? err.code}: ${err.details || err.message}`);
  }
}
