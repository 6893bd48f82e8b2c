/**
 * Runs the real stack program (index.ts) in-process under Pulumi mocks and records every resource it
 * registers: type, name, parent, provider, resolved inputs and the resource options that matter for
 * safety. No engine, no cloud, no credentials. Used by `imaas plan` and by the tests.
 */
import { dirname, join } from "node:path";
import type * as Pulumi from "@pulumi/pulumi";
import { SECRET_CONFIG_PLACEHOLDER as SECRET_PLACEHOLDER } from "../model/stack-file";

/**
 * The SDK, loaded on the first plan: `imaas validate`, `schema` and `--help` import this module (through
 * main.ts) but never plan, and loading @pulumi/pulumi costs them most of their start-up.
 */
let loadedSdk: typeof Pulumi | undefined;
function sdk(): typeof Pulumi {
  loadedSdk ??= require("@pulumi/pulumi") as typeof Pulumi;
  return loadedSdk;
}

export interface PlannedResource {
  readonly type: string;
  readonly name: string;
  /** Logical name of the parent resource; undefined for top-level resources. */
  readonly parent?: string;
  /** Logical name of the explicit provider, when one is used (the cluster a Kubernetes object lands on). */
  readonly provider?: string;
  /** Inputs with every Output resolved; secret values are replaced by SECRET_PLACEHOLDER. */
  readonly inputs: Record<string, unknown>;
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  /** Input properties `pulumi up` leaves alone once the resource exists (the `ignoreChanges` option). */
  readonly ignoreChanges?: readonly string[];
  /** Logical names of the resources this one explicitly waits for (the `dependsOn` option), when any. */
  readonly dependsOn?: readonly string[];
  /** True for component resources (groupings), false for resources a provider manages. */
  readonly component: boolean;
}

export interface PlanOptions {
  readonly stack: string;
  /** Full config keys (`imaas:clusters`) to string values (objects as JSON). */
  readonly config: Readonly<Record<string, string>>;
  /** Config keys whose values are secrets. */
  readonly secretKeys?: readonly string[];
  readonly tenantsDir: string;
  /** Module that exports the program; default the project's index.ts. */
  readonly programPath?: string;
}

export interface PlanResult {
  readonly resources: PlannedResource[];
  readonly outputs: Record<string, unknown>;
}

function isSecretValue(o: Record<string, unknown>): boolean {
  const { runtime } = sdk();
  return o[runtime.specialSigKey] === runtime.specialSecretSig;
}

/**
 * Replaces secret-marked values (as the mock monitor sees them) with the placeholder. Copies only the
 * branches that hold a secret; everything else is returned as is (no deep copy of every input).
 */
function redact(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(redact);
    return items.some((v, i) => v !== value[i]) ? items : value;
  }
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (isSecretValue(o)) return SECRET_PLACEHOLDER;
    let copy: Record<string, unknown> | undefined;
    for (const [k, v] of Object.entries(o)) {
      const r = redact(v);
      if (r !== v) {
        copy ??= { ...o };
        copy[k] = r;
      }
    }
    return copy ?? o;
  }
  return value;
}

function nameOf(res: Pulumi.Resource | undefined): string | undefined {
  return (res as unknown as { __name?: string } | undefined)?.__name;
}

/** The names of plain `dependsOn` resources (an Output of resources is left out: the plan records only plain ones). */
function dependsOnNames(dependsOn: unknown): { dependsOn?: string[] } {
  const list = Array.isArray(dependsOn) ? dependsOn : dependsOn instanceof sdk().Resource ? [dependsOn] : [];
  const names = list.map((r) => nameOf(r as Pulumi.Resource)).filter((n): n is string => n !== undefined);
  return names.length > 0 ? { dependsOn: names } : {};
}

function lastUrnPart(urn: string | undefined): string | undefined {
  if (!urn) return undefined;
  const named = urn.split("::")[3];
  return named?.split("::")[0];
}

/** Runs the program once under mocks. Mocks are process-global: do not run two plans concurrently. */
export async function planProgram(options: PlanOptions): Promise<PlanResult> {
  const pulumi = sdk();
  const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };
  const recorded = new Map<
    string,
    { inputs: Record<string, unknown>; provider?: string; component: boolean }
  >();
  const opts = new Map<
    string,
    {
      parent?: string;
      protect: boolean;
      retainOnDelete: boolean;
      ignoreChanges?: readonly string[];
      dependsOn?: readonly string[];
      order: number;
    }
  >();
  let order = 0;

  await pulumi.runtime.setMocks(
    {
      newResource(args: Pulumi.runtime.MockResourceArgs): Pulumi.runtime.MockResourceResult {
        recorded.set(`${args.type}::${args.name}`, {
          inputs: redact(args.inputs) as Record<string, unknown>,
          provider: args.provider
            ? lastUrnPart(args.provider.split("::").slice(0, -1).join("::"))
            : undefined,
          component: args.custom === false,
        });
        if (args.type === "pulumi:pulumi:StackReference") {
          // A tenant stack's reference to its platform stack: a plan never reads another stack.
          return {
            id: args.inputs.name,
            state: { name: args.inputs.name, outputs: {}, secretOutputNames: [] },
          };
        }
        return { id: `${args.name}-id`, state: { ...args.inputs } };
      },
      call(args: Pulumi.runtime.MockCallArgs): Pulumi.runtime.MockCallResult {
        throw new Error(
          `imaas plan: no mock for the provider function ${args.token}; the program must not call it at plan time`,
        );
      },
    },
    "imaas",
    options.stack,
    false,
  );
  pulumi.runtime.setAllConfig({ ...options.config }, [...(options.secretKeys ?? [])]);

  const programPath = options.programPath ?? defaultProgramPath();
  let outputs: Record<string, unknown> = {};
  // The SDK captures a stack trace for every promise it makes (`debuggablePromise`, kept only to describe
  // leaked promises at exit) — one per declared property of every resource, 10 frames formatted each: the
  // largest single cost of a plan (about a third). With source maps on (tsx turns them on) Node also maps
  // every frame. Nobody reads those traces in a plan: both are off while it runs (the SDK's own resource
  // source positions, `Resource.callsites`, set their own limit and are unchanged).
  // IMAAS_PLAN_STACK_TRACES=1 keeps stack traces, for debugging a crash inside the program.
  const sourceMaps = process.sourceMapsEnabled;
  const stackTraceLimit = Error.stackTraceLimit;
  const keepStacks = process.env[STACK_TRACES_ENV] === "1";
  process.setSourceMapsEnabled(false);
  if (!keepStacks) Error.stackTraceLimit = 0;
  try {
    await runProgram();
  } catch (err) {
    if (!keepStacks && err instanceof Error && typeof err.stack === "string") {
      err.stack += `\n    (stack traces are off while imaas plans; ${STACK_TRACES_ENV}=1 keeps them)`;
    }
    throw err;
  } finally {
    process.setSourceMapsEnabled(sourceMaps);
    Error.stackTraceLimit = stackTraceLimit;
  }

  async function runProgram(): Promise<void> {
    await pulumi.runtime.runInPulumiStack(async () => {
      pulumi.runtime.registerStackTransformation((t) => {
        opts.set(`${t.type}::${t.name}`, {
          parent: nameOf(t.opts.parent),
          protect: t.opts.protect === true,
          retainOnDelete: t.opts.retainOnDelete === true,
          ...(t.opts.ignoreChanges?.length ? { ignoreChanges: [...t.opts.ignoreChanges] } : {}),
          ...dependsOnNames(t.opts.dependsOn),
          order: order++,
        });
        return undefined;
      });
      const program = loadProgram(programPath);
      const result = await program({ planOnly: true, tenantsDir: options.tenantsDir });
      outputs = (await resolveDeep(result)) as Record<string, unknown>;
      return result;
    });
    // Custom resources register asynchronously (after their provider resolves): wait for the queue to drain.
    await waitForRPCs();
  }

  const resources: PlannedResource[] = [];
  for (const [key, o] of [...opts.entries()].sort((a, b) => a[1].order - b[1].order)) {
    const rec = recorded.get(key);
    const [type, ...rest] = key.split("::");
    if (type === "pulumi:pulumi:Stack") continue;
    resources.push({
      type,
      name: rest.join("::"),
      ...(o.parent && o.parent !== `imaas-${options.stack}` ? { parent: o.parent } : {}),
      ...(rec?.provider ? { provider: rec.provider } : {}),
      inputs: rec?.inputs ?? {},
      protect: o.protect,
      retainOnDelete: o.retainOnDelete,
      ...(o.ignoreChanges ? { ignoreChanges: o.ignoreChanges } : {}),
      ...(o.dependsOn ? { dependsOn: o.dependsOn } : {}),
      component: rec?.component ?? !type.includes(":"),
    });
  }
  return { resources, outputs };
}

/** Set to 1 to keep stack traces while a plan runs (see planProgram). */
export const STACK_TRACES_ENV = "IMAAS_PLAN_STACK_TRACES";

type Program = (run: { planOnly: boolean; tenantsDir: string }) => Promise<Record<string, unknown>>;

/**
 * The stack program: index.ts beside this file when it runs as TypeScript (tsx, mocha), or the compiled
 * dist/program/index.js beside the compiled CLI (dist/cli.js, scripts/build-cli.mjs).
 */
function defaultProgramPath(): string {
  return __filename.endsWith(".ts")
    ? require.resolve("../index")
    : join(dirname(__filename), "program", "index.js");
}

/** Loads the program afresh (a second plan in one process reruns its module). */
function loadProgram(path: string): Program {
  // The compiled CLI runs without tsx; a TypeScript program (e.g. a test's) needs it registered.
  if (path.endsWith(".ts") && !(".ts" in require.extensions)) require("tsx/cjs");
  delete require.cache[path];
  return require(path) as Program;
}

/** Resolves Outputs nested in plain data. */
async function resolveDeep(value: unknown): Promise<unknown> {
  const pulumi = sdk();
  if (pulumi.Output.isInstance(value)) {
    return resolveDeep(await new Promise((resolve) => (value as Pulumi.Output<unknown>).apply(resolve)));
  }
  if (Array.isArray(value)) return Promise.all(value.map(resolveDeep));
  if (value && typeof value === "object" && !(value instanceof pulumi.Resource)) {
    const entries = await Promise.all(
      Object.entries(value).map(async ([k, v]) => [k, await resolveDeep(v)] as const),
    );
    return Object.fromEntries(entries);
  }
  return value;
}
