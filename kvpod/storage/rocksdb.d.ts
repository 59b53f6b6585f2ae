// The part of the `rocksdb` package (abstract-leveldown 7 API) that Shoal uses.
declare module 'rocksdb' {
  export type Callback<T = void> = (err: Error | undefined | null, result?: T) => void;

  export interface OpenOptions {
    createIfMissing?: boolean;
    errorIfExists?: boolean;
    compression?: boolean;
    cacheSize?: number;
    writeBufferSize?: number;
    maxOpenFiles?: number;
    infoLogLevel?: 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'header';
  }

  export interface RangeOptions {
    gt?: Buffer;
    gte?: Buffer;
    lt?: Buffer;
    lte?: Buffer;
    reverse?: boolean;
    limit?: number;
  }

  export interface IteratorOptions extends RangeOptions {
    keys?: boolean;
    values?: boolean;
    keyAsBuffer?: boolean;
    valueAsBuffer?: boolean;
    fillCache?: boolean;
    highWaterMark?: number;
  }

  export type BatchOperation = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

  export interface RocksIterator {
    next(callback: (err: Error | undefined | null, key?: Buffer, value?: Buffer) => void): void;
    seek(target: Buffer): void;
    end(callback: Callback): void;
  }

  export interface RocksDB {
    open(options: OpenOptions, callback: Callback): void;
    close(callback: Callback): void;
    get(key: Buffer, options: { asBuffer?: boolean; fillCache?: boolean }, callback: Callback<Buffer>): void;
    batch(operations: BatchOperation[], options: { sync?: boolean }, callback: Callback): void;
    clear(options: RangeOptions, callback: Callback): void;
    iterator(options: IteratorOptions): RocksIterator;
    compactRange(start: Buffer, end: Buffer, callback: Callback): void;
    getProperty(property: string): string;
  }

  function rocksdb(location: string): RocksDB;
  export default rocksdb;
}
