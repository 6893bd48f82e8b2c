/**
 * The one orchestrator: starts the parts a suite (or `npm run sandbox`) asks for in dependency order,
 * waits for each to be ready, and stops them in reverse — also when a start fails.
 */
import { argocdPart } from "./argocd";
import { argocdNotificationsPart } from "./argocd-notifications";
import { controlPlanePart } from "./control-plane";
import { type GitWorldOptions, gitWorldPart } from "./git-world";
import { netpolPart } from "./netpol";
import { nodePart } from "./node";
import type { Part, PartContext } from "./part";
import { redisPart } from "./redis";
import { registryPart } from "./registry";

/** Every part, by name. */
export function allParts(options: { readonly git?: GitWorldOptions } = {}): Part[] {
  return [
    controlPlanePart,
    gitWorldPart(options.git),
    redisPart,
    argocdPart,
    argocdNotificationsPart,
    registryPart({ firstBuildTag: options.git?.firstBuildTag }),
    nodePart,
    netpolPart(),
  ];
}

/** The parts `names` need, each after what it needs (a part appears once). Unknown names and cycles throw. */
export function startOrder(names: readonly string[], parts: readonly Part[] = allParts()): Part[] {
  const byName = new Map(parts.map((p) => [p.name, p]));
  const order: Part[] = [];
  const visiting = new Set<string>();
  const visit = (name: string, from?: string) => {
    const part = byName.get(name);
    if (!part) {
      throw new Error(
        `unknown sandbox part "${name}"${from ? ` (needed by ${from})` : ""}; known: ${[...byName.keys()].join(", ")}`,
      );
    }
    if (order.includes(part)) return;
    if (visiting.has(name)) throw new Error(`sandbox parts need each other in a cycle through "${name}"`);
    visiting.add(name);
    for (const n of part.needs) visit(n, name);
    visiting.delete(name);
    order.push(part);
  };
  for (const n of names) visit(n);
  return order;
}

/** Stops `parts` in reverse order; every stop runs even if one fails (the first error is rethrown). */
export async function stopParts(ctx: PartContext, parts: readonly Part[]): Promise<void> {
  let first: unknown;
  for (const part of [...parts].reverse()) {
    try {
      await part.stop(ctx);
    } catch (err) {
      ctx.log(`stopping ${part.name} failed: ${(err as Error).message}`);
      first ??= err;
    }
  }
  if (first) throw first;
}

/**
 * Starts the parts `names` need, in order, each ready before the next; on a failure stops what it started
 * (the failing part included) and rethrows. Returns the started parts, for `stopParts`.
 */
export async function startParts(
  ctx: PartContext,
  names: readonly string[],
  parts: readonly Part[] = allParts(),
): Promise<Part[]> {
  const order = startOrder(names, parts);
  const started: Part[] = [];
  try {
    for (const part of order) {
      const t = Date.now();
      started.push(part);
      await part.start(ctx);
      await part.ready(ctx);
      ctx.log(`${part.name}: ready in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
  } catch (err) {
    await stopParts(ctx, started).catch(() => undefined);
    throw err;
  }
  return started;
}
