// Promise-shaped access to RocksDB. The only file that touches the binding.
import rocksdb from 'rocksdb';
import type { BatchOperation, IteratorOptions, RangeOptions, RocksDB, RocksIterator } from 'rocksdb';

export type { BatchOperation };

export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(
    readonly code: 'LOCKED' | 'UNWRITABLE' | 'CORRUPT' | 'IO',
    message: string,
  ) {
    super(message);
  }
}

function callback<T>(resolve: (value: T) => void, reject: (err: Error) => void) {
  return (err: Error | undefined | null, result?: T) => (err ? reject(err) : resolve(result as T));
}

/** An open RocksDB data directory. */
export class Rocks {
  private constructor(
    private readonly db: RocksDB,
    readonly dir: string,
  ) {}

  static async open(dir: string): Promise<Rocks> {
    const db = rocksdb(dir);
    try {
      await new Promise<void>((resolve, reject) =>
        db.open({ createIfMissing: true, cacheSize: 64 << 20, writeBufferSize: 16 << 20, infoLogLevel: 'warn' }, callback(resolve, reject)),
      );
    } catch (err) {
      throw classifyOpenError(dir, err);
    }
    return new Rocks(db, dir);
  }

  get(key: Buffer): Promise<Buffer | undefined> {
    return new Promise((resolve, reject) =>
      this.db.get(key, { asBuffer: true }, (err, value) => {
        if (err && /NotFound/i.test(err.message)) resolve(undefined);
        else if (err) reject(err);
        else resolve(value);
      }),
    );
  }

  /** Applies the operations atomically; `sync` makes the reply wait for fsync of the WAL. */
  write(ops: BatchOperation[], sync: boolean): Promise<void> {
    if (ops.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.db.batch(ops, { sync }, callback(resolve, reject)));
  }

  /** Physically removes every key in the range (no MVCC tombstones). */
  clear(range: RangeOptions): Promise<void> {
    return new Promise((resolve, reject) => this.db.clear(range, callback(resolve, reject)));
  }

  compact(start: Buffer, end: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.db.compactRange(start, end, callback(resolve, reject)));
  }

  cursor(options: Omit<IteratorOptions, 'keyAsBuffer' | 'valueAsBuffer'>): Cursor {
    return new Cursor(this.db.iterator({ ...options, keyAsBuffer: true, valueAsBuffer: true }));
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => this.db.close(callback(resolve, reject)));
  }
}

/** A RocksDB iterator over one implicit snapshot. Always close() it. */
export class Cursor {
  private closed = false;
  constructor(private readonly it: RocksIterator) {}

  next(): Promise<[Buffer, Buffer] | undefined> {
    return new Promise((resolve, reject) =>
      this.it.next((err, key, value) => {
        if (err) reject(err);
        else resolve(key && value ? [key, value] : undefined);
      }),
    );
  }

  seek(target: Buffer): void {
    this.it.seek(target);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve, reject) => this.it.end(callback(resolve, reject)));
  }
}

function classifyOpenError(dir: string, err: unknown): StorageError {
  const message = err instanceof Error ? err.message : String(err);
  if (/lock/i.test(message)) {
    return new StorageError('LOCKED', `data directory ${dir} is in use by another kvpod (${message})`);
  }
  if (/permission denied|read-only|EACCES/i.test(message)) {
    return new StorageError('UNWRITABLE', `data directory ${dir} is not writable (${message})`);
  }
  if (/corrupt/i.test(message)) return new StorageError('CORRUPT', `data directory ${dir} is corrupt (${message})`);
  return new StorageError('IO', `cannot open data directory ${dir}: ${message}`);
}
