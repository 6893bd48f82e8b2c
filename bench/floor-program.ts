/**
 * The SDK floor: a stack program that registers bare resources — as many custom and component resources
 * as the measured program did, with inputs of about the same size and the same parent/child shape
 * (custom resources spread over the components) — and does nothing else: no tenant files, no config
 * parsing, no components' logic. What the real program costs above this is the program's own cost.
 *
 * The shape comes from `IMAAS_BENCH_FLOOR` (JSON of FloorShape), set by bench/worker.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import { BARE_COMPONENT_TYPE, BARE_TYPE, bareInputs, FLOOR_SHAPE_ENV, type FloorShape } from "./floor-shape";

class BareResource extends pulumi.CustomResource {
  constructor(name: string, props: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
    super(BARE_TYPE, name, props, opts);
  }
}

class BareGroup extends pulumi.ComponentResource {
  constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
    super(BARE_COMPONENT_TYPE, name, {}, opts);
  }
}

function shapeFromEnv(): FloorShape {
  const text = process.env[FLOOR_SHAPE_ENV];
  if (!text) throw new Error(`${FLOOR_SHAPE_ENV} is not set: bench/worker.ts sets it`);
  return JSON.parse(text) as FloorShape;
}

export = async () => {
  const shape = shapeFromEnv();
  const groups: BareGroup[] = [];
  for (let i = 0; i < shape.components; i++) groups.push(new BareGroup(`group-${i}`));
  for (let i = 0; i < shape.customs; i++) {
    const parent = groups.length > 0 ? groups[i % groups.length] : undefined;
    new BareResource(
      `bare-${i}`,
      bareInputs(`bare-${i}`, shape.inputChars, shape.properties),
      parent ? { parent } : {},
    );
  }
  return { resources: shape.customs + shape.components };
};
