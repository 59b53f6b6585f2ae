// MVCC reads over RocksDB: every read names a timestamp and sees exactly the
// versions committed at or before it.
import type { KeyValue, Span } from '../../shared/kv/protocol.js';
import { compareTimestamps, type Timestamp } from '../../shared/kv/timestamp.js';
import { keyNext } from '../../shared/keys/index.js';
import type { BatchOperation, Rocks } from './rocks.js';
import {
  boundOf,
  decodeValue,
  encodeValue,
  prefixOf,
  timestampOf,
  userKeyOf,
  versionKey,
  versionsEnd,
} from './mvcc-encoding.js';

export interface ScanLimits {
  /** Maximum pairs returned. */
  limit: number;
  /** The page is cut after the pair that reaches this many key+value bytes. */
  maxBytes: number;
}

export interface ScanPage {
  kvs: KeyValue[];
  /** The unread rest of the span when a limit cut the page short. */
  resumeSpan: Span | null;
}

/** Newer than every timestamp the clock can produce: reads "everything committed". */
export const LATEST: Timestamp = { wallMs: Number.MAX_SAFE_INTEGER, logical: 0xffffffff };

export class MvccReader {
  constructor(private readonly rocks: Rocks) {}

  async get(key: Buffer, ts: Timestamp): Promise<Buffer | null> {
    const cursor = this.rocks.cursor({ gte: versionKey(key, ts), lt: versionsEnd(key), limit: 1 });
    try {
      const entry = await cursor.next();
      return entry ? decodeValue(entry[1]) : null;
    } finally {
      await cursor.close();
    }
  }

  scan(span: Span, ts: Timestamp, reverse: boolean, limits: ScanLimits): Promise<ScanPage> {
    return reverse ? this.scanReverse(span, ts, limits) : this.scanForward(span, ts, limits);
  }

  private async scanForward(span: Span, ts: Timestamp, limits: ScanLimits): Promise<ScanPage> {
    const cursor = this.rocks.cursor({ gte: boundOf(span.startKey), lt: boundOf(span.endKey) });
    const kvs: KeyValue[] = [];
    let bytes = 0;
    let decided: Buffer | undefined; // prefix of the key whose visible version was found
    try {
      for (let entry = await cursor.next(); entry; entry = await cursor.next()) {
        const [physical, stored] = entry;
        const prefix = prefixOf(physical);
        if (decided?.equals(prefix) || compareTimestamps(timestampOf(physical), ts) > 0) continue;
        decided = prefix;
        const value = decodeValue(stored);
        if (value === null) continue;
        const key = userKeyOf(physical);
        kvs.push({ key, value: Buffer.from(value) });
        bytes += key.length + value.length;
        if (kvs.length >= limits.limit || bytes >= limits.maxBytes) {
          return { kvs, resumeSpan: { startKey: keyNext(key), endKey: span.endKey } };
        }
      }
      return { kvs, resumeSpan: null };
    } finally {
      await cursor.close();
    }
  }

  // In reverse, a key's versions arrive oldest first; the visible one is the
  // last seen at or below `ts` before the key changes.
  private async scanReverse(span: Span, ts: Timestamp, limits: ScanLimits): Promise<ScanPage> {
    const cursor = this.rocks.cursor({ gte: boundOf(span.startKey), lt: boundOf(span.endKey), reverse: true });
    const kvs: KeyValue[] = [];
    let bytes = 0;
    let current: { physical: Buffer; prefix: Buffer; visible: Buffer | null } | undefined;
    const emit = (): boolean => {
      if (!current?.visible) return false;
      const key = userKeyOf(current.physical);
      kvs.push({ key, value: Buffer.from(current.visible) });
      bytes += key.length + current.visible.length;
      return kvs.length >= limits.limit || bytes >= limits.maxBytes;
    };
    try {
      for (let entry = await cursor.next(); entry; entry = await cursor.next()) {
        const [physical, stored] = entry;
        const prefix = prefixOf(physical);
        if (!current?.prefix.equals(prefix)) {
          if (emit()) return { kvs, resumeSpan: { startKey: span.startKey, endKey: userKeyOf(current?.physical ?? physical) } };
          current = { physical, prefix, visible: null };
        }
        if (compareTimestamps(timestampOf(physical), ts) <= 0) {
          current.physical = physical;
          current.visible = decodeValue(stored);
        }
      }
      emit();
      return { kvs, resumeSpan: null };
    } finally {
      await cursor.close();
    }
  }

  /** Keys with a live latest version in `span`, at most `max` + 1 of them. */
  async liveKeys(span: Span, max: number): Promise<Buffer[]> {
    const page = await this.scanForward(span, LATEST, { limit: max + 1, maxBytes: Number.MAX_SAFE_INTEGER });
    return page.kvs.map((kv) => kv.key);
  }
}

export function versionOp(key: Buffer, ts: Timestamp, value: Buffer | null): BatchOperation {
  return { type: 'put', key: versionKey(key, ts), value: encodeValue(value) };
}
