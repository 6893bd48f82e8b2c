/**
 * One benchmark measurement, run by bench/run.ts in a fresh Node process (so peaks of earlier cases do
 * not carry over): reads a Job as JSON from argv, measures it, and sends a Measurement back over IPC
 * (or prints it as JSON when started by hand: `tsx bench/worker.ts '{"kind":"program","n":10,"stack":"dev"}'`).
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { FLOOR_SHAPE_ENV, type FloorShape } from "./floor-shape";
import { syntheticTenantName, syntheticTenants, writeSyntheticTenants } from "./synthetic";

const ROOT = join(__dirname, "..");
const FLOOR_PROGRAM = join(__dirname, "floor-program.ts");

/** Env var that, set to 1, turns source-mapped stack traces off for the measurement (`--no-source-maps`). */
export const NO_SOURCE_MAPS_ENV = "IMAAS_BENCH_NO_SOURCE_MAPS";

/** Env var naming a file to write the source maps of imaas's own modules to (for bench/profile.ts). */
export const SOURCE_MAPS_ENV = "IMAAS_BENCH_SOURCE_MAPS";

export type Job =
  /** The whole platform as one stack: index.ts over N synthetic tenants. */
  | { readonly kind: "program"; readonly n: number; readonly stack: string }
  /**
   * One tenant's stack. Without `tenantStack` it is modelled as index.ts over a folder holding that tenant
   * alone; with it, the real tenant-stack mode: all N files, stack `<stack>.<tenant>`, plus `config`.
   */
  | {
      readonly kind: "tenant";
      readonly n: number;
      readonly stack: string;
      readonly tenantStack: boolean;
      readonly config?: Readonly<Record<string, string>>;
    }
  /** The SDK floor through the same plan engine (same mocks, recording and stack transformation). */
  | { readonly kind: "floor"; readonly shape: FloorShape; readonly stack: string }
  /** The bare SDK floor: the floor program under minimal mocks that record nothing. */
  | { readonly kind: "sdk"; readonly shape: FloorShape; readonly stack: string }
  /** Validating N tenant files in memory (loadTenantSources), cold: the first call in the process. */
  | { readonly kind: "validate"; readonly n: number; readonly stack: string };

export interface Measurement {
  readonly job: Job;
  /** Resources registered, the stack itself excluded. */
  readonly resources: number;
  readonly shape?: FloorShape;
  /** Seconds to load the modules (plan engine, program and what they import) before the timed part. */
  readonly loadSeconds: number;
  /** Seconds of the timed part: the plan (or the validation). */
  readonly wallSeconds: number;
  /** Peak resident set size of the whole process (includes loading), MB. */
  readonly peakRssMB: number;
  /** Highest sampled V8 heap use during the timed part, MB. */
  readonly peakHeapMB: number;
  /** Heap use before the timed part (after a full GC), MB: the peak above this is the plan's own. */
  readonly baseHeapMB: number;
  /** Heap still in use after the timed part and a full GC, MB. */
  readonly retainedHeapMB: number;
  /** Heap samples taken (few samples: the peak may be underestimated; RSS is exact). */
  readonly samples: number;
}

const MB = 1024 * 1024;
/** One heap sample per this many registrations: cheap enough not to show in the timings. */
const REGISTRATIONS_PER_SAMPLE = 16;

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * Samples the V8 heap while the timed part runs: on a timer (which only fires between macrotasks, and a
 * plan under mocks is mostly one long chain of microtasks) and every few resource registrations, by
 * wrapping the mock monitor's registerResource (the SDK's own class, so every case pays the same). Also
 * counts the top-level properties custom resources hand the SDK, for the floor's shape.
 */
function startSampler(): { stop(): { peakHeap: number; samples: number; propertiesPerCustom: number } } {
  let peakHeap = 0;
  let samples = 0;
  let calls = 0;
  let customs = 0;
  let properties = 0;
  const sample = () => {
    const used = process.memoryUsage().heapUsed;
    if (used > peakHeap) peakHeap = used;
    samples++;
  };
  const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks") as {
    MockMonitor: { prototype: { registerResource: (...args: unknown[]) => unknown } };
  };
  const runtime = require("@pulumi/pulumi/runtime/resource") as {
    registerResource: (
      res: unknown,
      parent: unknown,
      t: string,
      name: string,
      custom: boolean,
      ...rest: unknown[]
    ) => void;
  };
  const register = runtime.registerResource;
  runtime.registerResource = function (res, parent, t, name, custom, ...rest) {
    const props = rest[2] as Record<string, unknown> | undefined;
    if (custom) {
      customs++;
      properties += Object.keys(props ?? {}).length;
    }
    return register.call(this, res, parent, t, name, custom, ...rest);
  };
  const original = MockMonitor.prototype.registerResource;
  MockMonitor.prototype.registerResource = function (this: unknown, ...args: unknown[]) {
    if (++calls % REGISTRATIONS_PER_SAMPLE === 0) sample();
    return original.apply(this, args);
  };
  sample();
  const timer = setInterval(sample, 5);
  return {
    stop() {
      clearInterval(timer);
      MockMonitor.prototype.registerResource = original;
      runtime.registerResource = register;
      sample();
      return { peakHeap, samples, propertiesPerCustom: customs > 0 ? Math.round(properties / customs) : 0 };
    },
  };
}

async function timed(
  job: Job,
  load: () => void,
  run: () => Promise<{ resources: number; shape?: FloorShape }>,
): Promise<Measurement> {
  // tsx turns on source-mapped stack traces; the SDK captures a stack per resource and per promise.
  if (process.env[NO_SOURCE_MAPS_ENV] === "1") process.setSourceMapsEnabled(false);
  const l0 = performance.now();
  load();
  const loadSeconds = (performance.now() - l0) / 1000;
  gc();
  const baseHeap = process.memoryUsage().heapUsed;
  const sampler = startSampler();
  const t0 = performance.now();
  const { resources, shape } = await run();
  const wallSeconds = (performance.now() - t0) / 1000;
  const { peakHeap, samples, propertiesPerCustom } = sampler.stop();
  gc();
  return {
    job,
    resources,
    ...(shape ? { shape: { ...shape, properties: propertiesPerCustom } } : {}),
    loadSeconds,
    wallSeconds,
    peakRssMB: (process.resourceUsage().maxRSS * 1024) / MB,
    peakHeapMB: peakHeap / MB,
    baseHeapMB: baseHeap / MB,
    retainedHeapMB: process.memoryUsage().heapUsed / MB,
    samples,
  };
}

type PlanEngine = typeof import("../cli/plan-engine");
type PlannedResource = import("../cli/plan-engine").PlannedResource;

/** The shape the floor must reproduce: counts and mean input size of what the program registered. */
function shapeOf(resources: readonly PlannedResource[]): FloorShape {
  const customs = resources.filter((r) => !r.component);
  const chars = customs.reduce((sum, r) => sum + JSON.stringify(r.inputs).length, 0);
  return {
    customs: customs.length,
    components: resources.length - customs.length,
    inputChars: customs.length > 0 ? Math.round(chars / customs.length) : 0,
    properties: 0, // counted while the plan runs (startSampler)
  };
}

function stackConfig(stack: string): { config: Record<string, string>; secretKeys: string[] } {
  const { readStackConfig } = require("../model/stack-file") as typeof import("../model/stack-file");
  const cfg = readStackConfig(ROOT, stack);
  return { config: cfg.values, secretKeys: cfg.secretKeys };
}

/** Plans index.ts over a tenants folder: `program` and `tenant` jobs. */
async function planTenants(
  job: Extract<Job, { kind: "program" | "tenant" }>,
  dir: string,
): Promise<Measurement> {
  let engine: PlanEngine | undefined;
  const { config, secretKeys } = stackConfig(job.stack);
  const tenantStack = job.kind === "tenant" && job.tenantStack;
  const stack = tenantStack ? `${job.stack}.${syntheticTenantName(0)}` : job.stack;
  const extra = job.kind === "tenant" ? (job.config ?? {}) : {};
  return timed(
    job,
    () => {
      engine = require("../cli/plan-engine") as PlanEngine;
      require("../index"); // the program's imports (SDKs); it registers nothing until called
    },
    async () => {
      const { resources } = await engine!.planProgram({
        stack,
        config: { ...config, ...extra },
        secretKeys,
        tenantsDir: dir,
      });
      return { resources: resources.length, shape: shapeOf(resources) };
    },
  );
}

async function floor(job: Extract<Job, { kind: "floor" | "sdk" }>): Promise<Measurement> {
  process.env[FLOOR_SHAPE_ENV] = JSON.stringify(job.shape);
  if (job.kind === "floor") {
    let engine: PlanEngine | undefined;
    const { config, secretKeys } = stackConfig(job.stack);
    return timed(
      job,
      () => {
        engine = require("../cli/plan-engine") as PlanEngine;
        require(FLOOR_PROGRAM);
      },
      async () => {
        const { resources } = await engine!.planProgram({
          stack: job.stack,
          config,
          secretKeys,
          tenantsDir: ROOT,
          programPath: FLOOR_PROGRAM,
        });
        return { resources: resources.length };
      },
    );
  }
  let pulumi: typeof import("@pulumi/pulumi") | undefined;
  let program: (() => Promise<unknown>) | undefined;
  let registered = 0;
  return timed(
    job,
    () => {
      pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
      program = require(FLOOR_PROGRAM) as () => Promise<unknown>;
    },
    async () => {
      const p = pulumi!;
      await p.runtime.setMocks(
        {
          newResource(args) {
            registered++;
            return { id: `${args.name}-id`, state: args.inputs };
          },
          call() {
            return {};
          },
        },
        "imaas",
        job.stack,
        false,
      );
      await p.runtime.runInPulumiStack(() => program!() as Promise<any>);
      const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as {
        waitForRPCs: () => Promise<void>;
      };
      await waitForRPCs();
      // The mock monitor registers the stack itself and the default provider too; report what the program did.
      return { resources: Math.min(registered, job.shape.customs + job.shape.components) };
    },
  );
}

async function validate(job: Extract<Job, { kind: "validate" }>): Promise<Measurement> {
  const sources = syntheticTenants(job.n).map((f) => ({ file: `tenants/${f.file}`, text: f.text }));
  let load: typeof import("../model/load") | undefined;
  let cfg: import("../model/platform-config").PlatformConfig | undefined;
  return timed(
    job,
    () => {
      load = require("../model/load") as typeof import("../model/load");
      const stackFile = require("../model/stack-file") as typeof import("../model/stack-file");
      cfg = stackFile.platformConfigOf(stackFile.readStackConfig(ROOT, job.stack));
    },
    async () => {
      const result = load!.loadTenantSources(sources, cfg!);
      if (result.errors.length > 0) {
        throw new Error(
          `synthetic tenants are invalid:\n${result.errors.slice(0, 10).map(load!.formatError).join("\n")}`,
        );
      }
      return { resources: 0 };
    },
  );
}

export async function measure(job: Job): Promise<Measurement> {
  switch (job.kind) {
    case "program":
    case "tenant": {
      const files =
        job.kind === "tenant" && !job.tenantStack
          ? syntheticTenants(1, { allowFrom: false })
          : syntheticTenants(job.n);
      const dir = writeSyntheticTenants(files);
      try {
        return await planTenants(job, dir);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    case "floor":
    case "sdk":
      return floor(job);
    case "validate":
      return validate(job);
  }
}

/**
 * Saves the source maps tsx attached to imaas's own modules, so a CPU profile's positions (in the
 * transpiled code V8 ran) can be mapped back to lines of the .ts files.
 */
function saveSourceMaps(file: string): void {
  const { findSourceMap } = require("node:module") as typeof import("node:module");
  const maps: Record<string, unknown> = {};
  for (const path of Object.keys(require.cache)) {
    if (path.includes("node_modules") || !path.startsWith(ROOT)) continue;
    const map = findSourceMap(path);
    if (map) maps[pathToFileURL(path).href] = map.payload;
  }
  writeFileSync(file, JSON.stringify(maps));
}

if (require.main === module) {
  const job = JSON.parse(process.argv[2] ?? "") as Job;
  measure(job).then(
    (m) => {
      const maps = process.env[SOURCE_MAPS_ENV];
      if (maps) saveSourceMaps(maps);
      if (process.send) process.send(m, () => process.exit(0));
      else {
        console.log(JSON.stringify(m, null, 2));
        process.exit(0);
      }
    },
    (err) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exit(1);
    },
  );
}
