import { describe, expect, it } from 'vitest';
import {
  Interval,
  Jsonb,
  KeyReader,
  KeyWriter,
  Numeric,
  T,
  compare,
  decodeKey,
  decodeValue,
  encodeKey,
  encodeValue,
  formatText,
  parseText,
  typeFromName,
  type Datum,
  type JsonValue,
  type SqlType,
} from './index.js';
import { rng } from './test-util.js';

type Gen = (r: () => number) => Datum;
const pick = <V>(r: () => number, xs: readonly V[]): V => xs[Math.floor(r() * xs.length)] as V;
const int = (r: () => number, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

function randomString(r: () => number, alphabet: readonly string[]): string {
  let s = '';
  const n = int(r, 0, 6);
  for (let i = 0; i < n; i++) s += pick(r, alphabet);
  return s;
}

function randomNumeric(r: () => number): Numeric {
  const special = r();
  if (special < 0.05) return pick(r, [Numeric.NaN, Numeric.Infinity, Numeric.NegativeInfinity]);
  const digits = Array.from({ length: int(r, 1, 25) }, () => String(int(r, 0, 9))).join('');
  const scale = int(r, 0, 12);
  const u = BigInt(digits) * (r() < 0.5 ? -1n : 1n);
  // Trailing zeros in the scale must not change the encoding.
  return Numeric.of(u * 10n ** BigInt(int(r, 0, 2)), scale);
}

function randomJson(r: () => number, depth: number): JsonValue {
  const k = int(r, 0, depth > 1 ? 3 : 5);
  switch (k) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return Numeric.of(BigInt(int(r, -50, 50)), int(r, 0, 2));
    case 3:
      return randomString(r, ['a', 'b', 'é', '\u0001']);
    case 4:
      return Array.from({ length: int(r, 0, 3) }, () => randomJson(r, depth + 1));
    default:
      return new Map(Array.from({ length: int(r, 0, 3) }, (): [string, JsonValue] => [randomString(r, ['a', 'b', 'cc']), randomJson(r, depth + 1)]));
  }
}

function sortedJson(v: JsonValue): JsonValue {
  // Objects must have jsonb's key order: build through the parser.
  return (parseText(T.jsonb, new Jsonb(v).toString()) as Jsonb).value;
}

const GENERATORS: [SqlType, Gen][] = [
  [T.bool, (r) => r() < 0.5],
  [T.int2, (r) => int(r, -32768, 32767)],
  [T.int4, (r) => pick(r, [int(r, -2147483648, 2147483647), int(r, -3, 3), -2147483648, 2147483647])],
  [T.int8, (r) => pick(r, [BigInt(int(r, -1e9, 1e9)) * BigInt(int(r, -1e9, 1e9)), -(2n ** 63n), 2n ** 63n - 1n, 0n])],
  [T.oid, (r) => pick(r, [int(r, 0, 4294967295), 0, 4294967295])],
  [T.float4, (r) => Math.fround(pick(r, [(r() - 0.5) * 1e6, (r() - 0.5) * 1e-30, NaN, Infinity, -Infinity, 0, -0]))],
  [T.float8, (r) => pick(r, [(r() - 0.5) * 1e300, (r() - 0.5) * 1e-300, (r() - 0.5) * 10, NaN, Infinity, -Infinity, 0, -0, 5e-324, -5e-324])],
  [T.numeric, randomNumeric],
  [T.text, (r) => randomString(r, ['a', 'b', 'z', 'é', '中', '😀', '\uffff', ' '])],
  [T.varchar, (r) => randomString(r, ['a', 'b', ''])],
  [typeFromName(['bpchar'], [4]), (r) => randomString(r, ['a', ' ']).slice(0, 4).padEnd(4, ' ')],
  [T.name, (r) => randomString(r, ['x', 'y'])],
  [T.bytea, (r) => Buffer.from(Array.from({ length: int(r, 0, 5) }, () => pick(r, [0, 1, 0xff, 0x7f, int(r, 0, 255)])))],
  [T.uuid, (r) => formatText(T.uuid, parseText(T.uuid, Array.from({ length: 32 }, () => pick(r, [...'0123456789abcdef'])).join('')))],
  [T.date, (r) => pick(r, [int(r, -2451545, 2147483494 - 2451545 - 1), -Infinity, Infinity, 0, -1])],
  [T.timestamp, (r) => pick(r, [BigInt(int(r, -2e9, 2e9)) * 1000000n + BigInt(int(r, -999999, 999999)), -(2n ** 63n), 2n ** 63n - 1n])],
  [T.timestamptz, (r) => BigInt(int(r, -1e12, 1e12)) * 1000n],
  [T.interval, (r) => new Interval(int(r, -30, 30), int(r, -40, 40), BigInt(int(r, -1e6, 1e6)) * BigInt(int(r, 0, 1e5)))],
  [T.jsonb, (r) => new Jsonb(sortedJson(randomJson(r, 0)))],
];

function encode(t: SqlType, d: Datum, desc: boolean): Buffer {
  const w = new KeyWriter(4);
  encodeKey(t, d, desc, w);
  return w.finish();
}

describe('key encoding', () => {
  it.each(GENERATORS.map(([t, g]) => [t.name, t, g] as const))('orders %s like compare(), both directions, NULL first ascending', (_name, t, gen) => {
    const r = rng(t.oid * 7919 + 17);
    const values: Datum[] = [null, null, ...Array.from({ length: 400 }, () => gen(r))];
    const byCompare = (a: Datum, b: Datum): number => (a === null ? (b === null ? 0 : -1) : b === null ? 1 : Math.sign(compare(t, a, b)));
    for (let i = 0; i < values.length; i++) {
      const a = values[i] ?? null;
      const b = values[(i * 31 + 7) % values.length] ?? null;
      const c = values[(i + 1) % values.length] ?? null;
      for (const [x, y] of [
        [a, b],
        [a, c],
        [a, a],
      ] as const) {
        const want = byCompare(x, y);
        expect(Math.sign(Buffer.compare(encode(t, x, false), encode(t, y, false)))).toBe(want);
        expect(Math.sign(Buffer.compare(encode(t, y, true), encode(t, x, true)))).toBe(want);
      }
    }
    // Sorting by bytes gives the compare() order.
    const sorted = [...values].sort(byCompare);
    const byBytes = [...values].sort((x, y) => Buffer.compare(encode(t, x, false), encode(t, y, false)));
    expect(byBytes.map((v, i) => byCompare(v, sorted[i] ?? null))).toEqual(byBytes.map(() => 0));
  });

  it.each(GENERATORS.map(([t, g]) => [t.name, t, g] as const))('decodes %s to an equal value', (_name, t, gen) => {
    const r = rng(t.oid * 104729 + 3);
    for (let i = 0; i < 200; i++) {
      const v = gen(r);
      for (const desc of [false, true]) {
        const w = new KeyWriter();
        encodeKey(t, v, desc, w);
        encodeKey(T.int4, 42, desc, w);
        const reader = new KeyReader(w.finish());
        const back = decodeKey(t, desc, reader);
        expect(back === null ? v === null : compare(t, back, v)).toBe(0);
        expect(decodeKey(T.int4, desc, reader)).toBe(42);
        expect(reader.offset).toBe(reader.buf.length);
      }
    }
  });

  it('compares concatenated columns as tuples', () => {
    const r = rng(99);
    const types: SqlType[] = [T.text, T.numeric, T.bytea];
    const gens = [GENERATORS[8]?.[1], GENERATORS[7]?.[1], GENERATORS[12]?.[1]] as Gen[];
    const rows = Array.from({ length: 300 }, () => types.map((_t, i) => (r() < 0.1 ? null : (gens[i] as Gen)(r))));
    const desc = [false, true, false];
    const key = (row: Datum[]): Buffer => {
      const w = new KeyWriter();
      row.forEach((v, i) => encodeKey(types[i] as SqlType, v, desc[i] ?? false, w));
      return w.finish();
    };
    const cmpRow = (a: Datum[], b: Datum[]): number => {
      for (let i = 0; i < types.length; i++) {
        const x = a[i] ?? null;
        const y = b[i] ?? null;
        let c = x === null ? (y === null ? 0 : -1) : y === null ? 1 : Math.sign(compare(types[i] as SqlType, x, y));
        if (desc[i]) c = -c;
        if (c !== 0) return c;
      }
      return 0;
    };
    for (let i = 0; i + 1 < rows.length; i++) {
      const a = rows[i] as Datum[];
      const b = rows[i + 1] as Datum[];
      expect(Math.sign(Buffer.compare(key(a), key(b)))).toBe(cmpRow(a, b));
    }
  });

  it('encodes equal values identically', () => {
    const n = (s: string): Buffer => encode(T.numeric, Numeric.parse(s), false);
    expect(n('1.0')).toEqual(n('1.00'));
    expect(n('1')).toEqual(n('1.000'));
    expect(n('-0.50')).toEqual(n('-0.5'));
    expect(encode(T.float8, -0, false)).toEqual(encode(T.float8, 0, false));
    expect(encode(T.interval, parseText(T.interval, '1 mon'), false)).toEqual(encode(T.interval, parseText(T.interval, '30 days'), false));
    expect(encode(T.bpchar, 'ab  ', false)).toEqual(encode(T.bpchar, 'ab', false));
    expect(encode(T.int4, null, false)).toEqual(Buffer.from([0]));
    expect(encode(T.int4, null, true)).toEqual(Buffer.from([0xff]));
  });
});

describe('value encoding', () => {
  it.each(GENERATORS.map(([t, g]) => [t.name, t, g] as const))('round-trips %s exactly', (_name, t, gen) => {
    const r = rng(t.oid + 5);
    for (let i = 0; i < 200; i++) {
      const v = gen(r);
      if (v === null) continue;
      const w = new KeyWriter();
      encodeValue(t, v, w);
      encodeValue(T.int8, 7n, w);
      const reader = new KeyReader(w.finish());
      const back = decodeValue(t, reader);
      if (v instanceof Jsonb) expect(formatText(T.jsonb, back)).toBe(formatText(T.jsonb, v));
      else expect(back).toEqual(v);
      expect(decodeValue(T.int8, reader)).toBe(7n);
    }
  });

  it('keeps numeric scale, -0 and NaN', () => {
    for (const [t, v] of [
      [T.numeric, Numeric.parse('1.500')],
      [T.float8, -0],
      [T.float4, NaN],
      [T.jsonb, parseText(T.jsonb, '{"a": [1.50, null, "x"]}')],
    ] as [SqlType, Datum][]) {
      const w = new KeyWriter();
      encodeValue(t, v, w);
      const back = decodeValue(t, new KeyReader(w.finish()));
      expect(formatText(t, back)).toBe(formatText(t, v));
      if (typeof v === 'number') expect(Object.is(back, v)).toBe(true);
    }
  });
});
