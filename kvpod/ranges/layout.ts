// Which kvpod holds which range of the keyspace. Today the layout is static
// (one range covering everything, or a layout file); requests already carry
// their keys and spans, so a kvpod refuses what it does not hold and tells
// the client where to go.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { KvError } from '../../shared/kv/errors.js';
import type { RangeDescriptor, Span } from '../../shared/kv/protocol.js';
import { containsBefore, formatKey, spanContains, spanContainsKey } from '../../shared/keys/index.js';

const hexKey = z
  .string()
  .regex(/^([0-9a-f]{2})*$/i, 'must be hex bytes')
  .transform((hex) => Buffer.from(hex, 'hex'));

const layoutFileSchema = z.object({
  ranges: z
    .array(
      z.object({
        rangeId: z.number().int().positive(),
        startKey: hexKey,
        endKey: hexKey, // "" = end of the keyspace
        generation: z.number().int().nonnegative().default(1),
        address: z.string().min(1),
      }),
    )
    .min(1),
});

export class RangeLayout {
  private constructor(
    private readonly ranges: RangeDescriptor[],
    readonly selfAddress: string,
  ) {}

  /** One range, the whole keyspace, held by this kvpod. */
  static single(selfAddress: string): RangeLayout {
    return new RangeLayout(
      [{ rangeId: 1, startKey: Buffer.alloc(0), endKey: Buffer.alloc(0), generation: 1, address: selfAddress }],
      selfAddress,
    );
  }

  static fromFile(path: string, selfAddress: string): RangeLayout {
    const parsed = layoutFileSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    if (!parsed.success) throw new Error(`range layout ${path}: ${z.prettifyError(parsed.error)}`);
    return RangeLayout.of(parsed.data.ranges, selfAddress);
  }

  static of(ranges: RangeDescriptor[], selfAddress: string): RangeLayout {
    const sorted = [...ranges].sort((a, b) => Buffer.compare(a.startKey, b.startKey));
    sorted.forEach((range, i) => {
      const next = sorted[i + 1];
      if (range.endKey.length > 0 && Buffer.compare(range.startKey, range.endKey) >= 0) {
        throw new Error(`range ${range.rangeId}: start key must sort before end key`);
      }
      if (next && (range.endKey.length === 0 || Buffer.compare(range.endKey, next.startKey) > 0)) {
        throw new Error(`ranges ${range.rangeId} and ${next.rangeId} overlap`);
      }
    });
    return new RangeLayout(sorted, selfAddress);
  }

  locate(key: Buffer, before = false): RangeDescriptor | undefined {
    return this.ranges.find((r) => (before ? containsBefore(r, key) : spanContainsKey(r, key)));
  }

  /** Throws RANGE_NOT_HERE unless this kvpod holds `key`. */
  checkKey(key: Buffer): void {
    const range = this.locate(key);
    if (range?.address === this.selfAddress) return;
    throw this.notHere(key, range);
  }

  /** Throws RANGE_NOT_HERE unless one range held here contains the whole span. */
  checkSpan(span: Span): void {
    const range = this.locate(span.startKey);
    if (range?.address === this.selfAddress && spanContains(range, span)) return;
    if (range?.address === this.selfAddress) {
      throw new KvError(
        'RANGE_NOT_HERE',
        `span crosses the end of range ${range.rangeId} at ${formatKey(range.endKey)}; split it at range boundaries`,
        { range },
      );
    }
    throw this.notHere(span.startKey, range);
  }

  private notHere(key: Buffer, range: RangeDescriptor | undefined): KvError {
    if (!range) return new KvError('RANGE_NOT_HERE', `no range holds key ${formatKey(key)}`);
    return new KvError('RANGE_NOT_HERE', `range ${range.rangeId} holding ${formatKey(key)} is on ${range.address}`, { range });
  }
}
