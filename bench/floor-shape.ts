/** What the SDK floor (bench/floor-program.ts) registers, and how it receives it. */

export const FLOOR_SHAPE_ENV = "IMAAS_BENCH_FLOOR";
export const BARE_TYPE = "bench:index:Bare";
export const BARE_COMPONENT_TYPE = "bench:index:BareGroup";

export interface FloorShape {
  /** Custom (provider-managed) resources to register, providers included. */
  readonly customs: number;
  /** Component resources to register. */
  readonly components: number;
  /** Mean size of a custom resource's inputs as JSON, in characters. */
  readonly inputChars: number;
  /**
   * Mean number of top-level properties a custom resource hands the SDK, output-only ones included (a
   * provider SDK's class declares every property of its schema, e.g. about 40 for a Helm Release). The SDK
   * makes an Output, with promises and a captured stack, per property: a cost set by the provider's schema,
   * not by the program, so the floor pays it too.
   */
  readonly properties: number;
}

/**
 * Inputs of about `chars` characters as JSON, shaped like a Kubernetes object (metadata with labels and
 * annotations, a spec), plus undefined output-only properties up to `properties` top-level keys; built
 * fresh per resource as a program would.
 */
export function bareInputs(name: string, chars: number, properties = 2): Record<string, unknown> {
  const labels: Record<string, string> = {};
  const base: Record<string, unknown> = {
    metadata: { name, labels, annotations: { "bench/index": name } },
    spec: { value: name },
  };
  // Output-only properties, as provider classes declare them: `undefined` inputs.
  for (let i = 2; i < properties; i++) base[`output${i}`] = undefined;
  let size = JSON.stringify(base).length;
  for (let i = 0; size < chars; i++) {
    const key = `bench.imaas.io/label-${i}`;
    const value = `value-${i}-${name}`.slice(0, 63);
    labels[key] = value;
    size += key.length + value.length + 6;
  }
  return base;
}
