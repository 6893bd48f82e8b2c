// Plain helpers shared by the Harbor providers' `diff` and `check`. Captured by value into the
// serialized providers: keep them free of Pulumi values.
import type * as pulumi from "@pulumi/pulumi";
import { isUnknown } from "./connection";

/** Structural equality of JSON-like values (arrays in order, objects by key). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => sameValue(v, b[i]));
  }
  if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
    const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
    return (
      ka.length === kb.length &&
      ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
    );
  }
  return false;
}

/**
 * Compares the state (`olds`, as last created or read) with desired inputs (`news`, after `check`).
 * A differing key in `replaceKeys` forces replacement; one in `updateKeys` asks for an update.
 * An unknown new value counts as a change.
 */
export function diffProperties(
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
  replaceKeys: readonly string[],
  updateKeys: readonly string[],
): pulumi.dynamic.DiffResult {
  const changed = (k: string) => isUnknown(news[k]) || !sameValue(olds[k], news[k]);
  const replaces = replaceKeys.filter(changed);
  const updates = updateKeys.filter(changed);
  return { changes: replaces.length + updates.length > 0, replaces, deleteBeforeReplace: false };
}

/** Copies `obj` without its `undefined` values (Pulumi state cannot hold them). */
export function compact<T extends object>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}
