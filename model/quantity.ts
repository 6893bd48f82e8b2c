/**
 * Kubernetes resource quantities (`500m`, `1Gi`, `2`, `1e3`), parsed the way the API server reads them,
 * so the loader can refuse a malformed value and compare a tenant's quota with the platform caps.
 */

const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/;

const SUFFIX_FACTOR: Readonly<Record<string, number>> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
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

/** True when `value` is a syntactically valid, non-negative Kubernetes quantity. */
export function isQuantity(value: string): boolean {
  const m = QUANTITY.exec(value);
  return m !== null && !m[1].startsWith("-");
}

/** The quantity's value in base units (cores, bytes); throws on a malformed quantity. */
export function parseQuantity(value: string): number {
  const m = QUANTITY.exec(value);
  if (!m) throw new Error(`"${value}" is not a Kubernetes quantity (examples: 500m, 2, 1Gi, 512Mi)`);
  const base = Number(m[1]);
  if (m[2]) return base * 10 ** Number(m[2].slice(1));
  return m[3] ? base * SUFFIX_FACTOR[m[3]] : base;
}
