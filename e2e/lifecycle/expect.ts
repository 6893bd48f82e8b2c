/**
 * The expected state comes from the program itself: `planProgram` (the engine behind `imaas plan`) run with
 * the sandbox stack's config on the same tenant files. These helpers compare it with what the real engine did
 * (its per-resource events) and with what the API server holds — generically, so new objects in the
 * components are checked without touching the tests.
 */
import * as assert from "node:assert/strict";
import type { EngineEvent, OpType } from "@pulumi/pulumi/automation";
import { type PlannedResource, planProgram } from "../../cli/plan-engine";
import { readStackConfig } from "../../model/stack-file";
import { ROOT, STACK, sandbox } from "./sandbox";
import { isQuantity, parseQuantity } from "../../model/quantity";

type Obj = Record<string, any>;

export async function plan(tenantsDir: string): Promise<PlannedResource[]> {
  const cfg = readStackConfig(ROOT, STACK);
  try {
    const { resources } = await planProgram({
      stack: STACK,
      config: cfg.values,
      secretKeys: cfg.secretKeys,
      tenantsDir,
    });
    return resources;
  } finally {
    delete process.env.IMAAS_PLAN;
  }
}

const keyOf = (r: { type: string; name: string }) => `${r.type}::${r.name}`;

/** Kubernetes objects the plan creates (custom resources of the kubernetes package, no providers). */
export function kubernetesObjects(resources: readonly PlannedResource[]): PlannedResource[] {
  return resources.filter(
    (r) =>
      r.type.startsWith("kubernetes:") &&
      !r.component &&
      typeof r.inputs.apiVersion === "string" &&
      typeof r.inputs.kind === "string",
  );
}

export const describeObject = (r: PlannedResource) => {
  const m = r.inputs.metadata as Obj;
  return `${r.inputs.kind} ${m.namespace ? `${m.namespace}/` : ""}${m.name}`;
};

/** What the engine did to each resource, from `resOutputsEvent`s: `type::name` → op. */
export class OpRecorder {
  readonly ops = new Map<string, OpType>();
  readonly onEvent = (e: EngineEvent) => {
    const md = e.resOutputsEvent?.metadata;
    if (!md || md.type === "pulumi:pulumi:Stack") return;
    this.ops.set(`${md.type}::${md.urn.slice(md.urn.lastIndexOf("::") + 2)}`, md.op);
  };
  changed(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [k, op] of this.ops) if (op !== "same") push(out, op, k);
    return sorted(out);
  }
}

/** The changes the plan predicts between two runs: created, updated (inputs differ), deleted. */
export function expectedChanges(
  before: readonly PlannedResource[],
  after: readonly PlannedResource[],
): Record<string, string[]> {
  const b = new Map(before.map((r) => [keyOf(r), r]));
  const a = new Map(after.map((r) => [keyOf(r), r]));
  const out: Record<string, string[]> = {};
  const add = (op: string, k: string) => push(out, op, k);
  for (const [k, r] of a) {
    const old = b.get(k);
    if (!old) add("create", k);
    else if (!r.component && JSON.stringify(old.inputs) !== JSON.stringify(r.inputs)) add("update", k);
  }
  for (const k of b.keys()) if (!a.has(k)) add("delete", k);
  return sorted(out);
}

function push(out: Record<string, string[]>, op: string, k: string): void {
  out[op] = [...(out[op] ?? []), k];
}

function sorted(out: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(
    Object.entries(out)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([op, keys]) => [op, [...keys].sort()]),
  );
}

/** Kubernetes quantities as numbers, so `1000m` equals `1` and `1Gi` equals `1073741824`. */
function quantity(s: string): number | undefined {
  return isQuantity(s) ? parseQuantity(s) : undefined;
}

/** Where `planned` is not contained in `actual` (the server adds defaults; planned ⊆ actual). */
export function notContained(planned: unknown, actual: unknown, path = ""): string[] {
  if (planned === undefined || planned === null) return [];
  if (Array.isArray(planned)) {
    if (!Array.isArray(actual) || actual.length !== planned.length)
      return [`${path}: planned ${JSON.stringify(planned)}, server ${JSON.stringify(actual)}`];
    return planned.flatMap((p, i) => notContained(p, actual[i], `${path}[${i}]`));
  }
  if (typeof planned === "object") {
    if (typeof actual !== "object" || actual === null || Array.isArray(actual))
      return [`${path}: planned ${JSON.stringify(planned)}, server ${JSON.stringify(actual)}`];
    // client-node's models rename fields that are reserved words (`from` → `_from`, `default` → `_default`).
    const field = (k: string) => (actual as Obj)[k] ?? (actual as Obj)[`_${k}`];
    return Object.entries(planned).flatMap(([k, v]) => notContained(v, field(k), `${path}.${k}`));
  }
  if (planned === actual || String(planned) === String(actual)) return [];
  if (typeof planned === "string" && typeof actual === "string") {
    const p = quantity(planned);
    if (p !== undefined && p === quantity(actual)) return [];
  }
  return [`${path}: planned ${JSON.stringify(planned)}, server ${JSON.stringify(actual)}`];
}

/** Kinds whose whole planned body (spec, rules, subjects, ...) is compared, not only their labels. */
const SPEC_KINDS = new Set([
  "Namespace",
  "ResourceQuota",
  "LimitRange",
  "NetworkPolicy",
  "Role",
  "RoleBinding",
  "ServiceAccount",
]);

export async function readObject(r: PlannedResource): Promise<Obj | undefined> {
  const m = r.inputs.metadata as Obj;
  try {
    return (await sandbox().kube.read({
      apiVersion: r.inputs.apiVersion as string,
      kind: r.inputs.kind as string,
      metadata: { name: m.name, ...(m.namespace ? { namespace: m.namespace } : {}) },
    })) as Obj;
  } catch (e) {
    if ((e as { code?: number }).code === 404) return undefined;
    throw e;
  }
}

/**
 * Every Kubernetes object of the plan exists in the API server with the planned labels (and, for the guard-rail
 * kinds, the planned body). Returns the number of objects checked.
 */
export async function assertObjectsMatchPlan(resources: readonly PlannedResource[]): Promise<number> {
  const objects = kubernetesObjects(resources);
  const problems: string[] = [];
  await Promise.all(
    objects.map(async (r) => {
      const live = await readObject(r);
      const what = describeObject(r);
      if (!live) return void problems.push(`${what}: not in the API server`);
      const planned = r.inputs as Obj;
      const diffs = notContained(planned.metadata?.labels ?? {}, live.metadata?.labels ?? {}, "labels");
      if (SPEC_KINDS.has(planned.kind)) {
        for (const [k, v] of Object.entries(planned)) {
          if (["apiVersion", "kind", "metadata", "status"].includes(k)) continue;
          diffs.push(...notContained(v, live[k], k));
        }
      }
      for (const d of diffs) problems.push(`${what}: ${d}`);
    }),
  );
  assert.deepEqual(problems.sort(), [], `${problems.length} object(s) differ from the plan`);
  return objects.length;
}

/** Polls until `check` holds (namespace deletion takes the namespace controller a few seconds). */
export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}
