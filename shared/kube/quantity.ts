// Kubernetes resource quantities ("500m", "0.5", "1Gi", "1e3"): the API
// server stores them in canonical form, so "0.5" written by a user reads back
// as "500m". Comparing values rather than strings keeps the operator from
// resizing a pod over and over to what it already has.

const SUFFIX: Readonly<Record<string, number>> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei))?$/;

/** The quantity's value in base units (cores, bytes); undefined when it is not a quantity. */
export function quantityValue(q: string | number): number | undefined {
  if (typeof q === 'number') return Number.isFinite(q) ? q : undefined;
  const m = QUANTITY.exec(q.trim());
  if (!m) return undefined;
  const [, number = '', exponent, suffix = ''] = m;
  return Number(number) * (exponent ? 10 ** Number(exponent.slice(1)) : (SUFFIX[suffix] ?? 1));
}

/** Equal in value; a string that is no quantity equals only itself. */
export function sameQuantity(a: string | number, b: string | number): boolean {
  const x = quantityValue(a);
  const y = quantityValue(b);
  if (x === undefined || y === undefined) return String(a) === String(b);
  // Relative tolerance: "0.1" and "100m" differ in the last float bit.
  return Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y));
}
