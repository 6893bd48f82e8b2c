/**
 * Resource quantities: the one grammar for every CPU, memory and storage value that comes from a tenant
 * file or the platform config, used by the loader, the quota and limit-range builders and the MI chart
 * values alike.
 *
 * The API server accepts far more (`1e3`, `.5`, `500m` bytes of memory); the platform accepts a plain,
 * unambiguous subset and says how to write it:
 * - CPU: whole or decimal cores with at most 3 decimals (`2`, `0.5`) or millicores (`500m`).
 * - Memory and storage: a number (decimals allowed when the result is whole bytes) with a byte suffix,
 *   binary (`Ki Mi Gi Ti`) or decimal (`k M G T`): `512Mi`, `1.5Gi`, `4G`.
 * Every value the platform writes (requests, limits, quotas) is derived from these and formatted back,
 * so the chart's `values.schema.json` and the API server accept everything the loader accepts.
 */

/** A parse that failed, with the message to show (it never echoes more than the value). */
export interface QuantityProblem {
  readonly problem: string;
}

const CPU = /^(?:(\d{1,7})m|(\d{1,6})(?:\.(\d{1,3}))?)$/;
const BYTES = /^(\d{1,9})(?:\.(\d{1,6}))?(Ki|Mi|Gi|Ti|k|M|G|T)$/;

const BYTE_FACTOR: Readonly<Record<string, number>> = {
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
};

/** CPU in millicores, or the problem with `text`. */
export function parseCpu(text: string): number | QuantityProblem {
  const m = CPU.exec(text);
  if (!m) {
    const hint = /^\.\d/.test(text)
      ? ` (write 0${text})`
      : /[eE]/.test(text)
        ? " (no exponents: write cores like 2 or millicores like 500m)"
        : /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)$/.test(text)
          ? " (that is a memory size)"
          : "";
    return {
      problem: `"${clip(text)}" is not a CPU amount; write cores (2, 0.5, at most 3 decimals) or millicores (500m)${hint}`,
    };
  }
  if (m[1] !== undefined) return Number(m[1]);
  return Number(m[2]) * 1000 + Number((m[3] ?? "").padEnd(3, "0"));
}

/** Memory or storage in bytes, or the problem with `text`. */
export function parseBytes(text: string): number | QuantityProblem {
  const m = BYTES.exec(text);
  if (!m) {
    const hint = /^\d+m$/.test(text)
      ? ` ("m" means thousandths: ${text} is a fraction of a byte; write Mi for mebibytes)`
      : /^\d+$/.test(text)
        ? " (add a unit: Mi, Gi)"
        : /^\d+(\.\d+)?(KB|MB|GB|TB|K|Kb|Mb|Gb|mi|gi|ki)$/i.test(text)
          ? " (units are Ki, Mi, Gi, Ti or k, M, G, T, case as shown)"
          : "";
    return {
      problem: `"${clip(text)}" is not a size; write a number with a unit such as 512Mi, 1.5Gi or 4G${hint}`,
    };
  }
  const factor = BYTE_FACTOR[m[3]];
  const fraction = m[2] ?? "";
  // Exact integer arithmetic: whole part × factor plus fraction × factor, which must be whole bytes.
  const whole = BigInt(m[1]) * BigInt(factor);
  const scaled = BigInt(fraction || "0") * BigInt(factor);
  const divisor = 10n ** BigInt(fraction.length);
  if (scaled % divisor !== 0n) {
    return { problem: `"${clip(text)}" is not a whole number of bytes; use a smaller unit (e.g. Mi)` };
  }
  return Number(whole + scaled / divisor);
}

export function isProblem(v: number | QuantityProblem): v is QuantityProblem {
  return typeof v === "object";
}

/** Millicores, or throws: for values already validated by the loader or the config schema. */
export function cpuMillicores(text: string): number {
  return orThrow(parseCpu(text));
}

/** Bytes, or throws: for values already validated by the loader or the config schema. */
export function bytesOf(text: string): number {
  return orThrow(parseBytes(text));
}

/** Millicores as a quantity: whole cores as `2`, the rest as `1500m`. */
export function formatCpu(millicores: number): string {
  return millicores % 1000 === 0 ? String(millicores / 1000) : `${millicores}m`;
}

/** Millicores for people: `4.5 CPU`. */
export function describeCpu(millicores: number): string {
  return `${Number((millicores / 1000).toFixed(3))} CPU`;
}

/** Bytes for people, in the largest binary unit that shows it exactly to 2 decimals: `12Gi`, `1.5Gi`. */
export function describeBytes(bytes: number): string {
  for (const unit of ["Ti", "Gi", "Mi", "Ki"] as const) {
    const v = (bytes / BYTE_FACTOR[unit]) * 100;
    if (v >= 100 && Math.abs(v - Math.round(v)) < 1e-6) return `${Math.round(v) / 100}${unit}`;
  }
  return `${bytes} bytes`;
}

function orThrow(v: number | QuantityProblem): number {
  if (isProblem(v)) throw new Error(v.problem);
  return v;
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

// ---- the API server's own grammar, for reading quantities back from a live cluster (e2e) ----------------

const K8S_QUANTITY =
  /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/;
const K8S_SUFFIX: Readonly<Record<string, number>> = {
  ...BYTE_FACTOR,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  E: 1e18,
  Ei: 2 ** 60,
};

/** True when `value` is a syntactically valid, non-negative quantity as the API server writes them. */
export function isQuantity(value: string): boolean {
  const m = K8S_QUANTITY.exec(value);
  return m !== null && !m[1].startsWith("-");
}

/** A quantity the API server returned, in base units (cores, bytes); throws on a malformed one. */
export function parseQuantity(value: string): number {
  const m = K8S_QUANTITY.exec(value);
  if (!m) throw new Error(`"${value}" is not a Kubernetes quantity (examples: 500m, 2, 1Gi, 512Mi)`);
  const base = Number(m[1]);
  if (m[2]) return base * 10 ** Number(m[2].slice(1));
  return m[3] ? base * K8S_SUFFIX[m[3]] : base;
}
