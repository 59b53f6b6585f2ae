export { KvClient, type KvClientOptions, type ReadOptions, type ScanOptions, type ScanResult, type CommitOptions } from './kv-client.js';
export { MAX_COMMIT_READ_SPANS, Transaction, runTransaction, type TransactionOptions, type WriteMark } from './transaction.js';
export { RangeCache } from './range-cache.js';
export { KvError, type KvErrorCode } from '../errors.js';
