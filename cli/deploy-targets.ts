/**
 * `imaas deploy`: what to run — the tenant stacks to preview or update and the tenants to report for a
 * deliberate decommission (`planTargets`).
 */
import { platformStackOf, tenantStackName } from "../model/naming";
import { DeployError } from "./deploy-error";
import type { TenantChanges } from "./deploy-git";

export type TargetReason = "added" | "changed" | "program" | "requested";

export interface DeployTarget {
  readonly tenant: string;
  readonly stack: string;
  readonly reason: TargetReason;
}

export interface Decommission {
  readonly tenant: string;
  readonly stack: string;
  /** Why it is reported: its file was deleted since the base, or its stack outlived its file. */
  readonly why: string;
  /** False when the backend has no such stack: nothing is left to decommission. Undefined: not checked. */
  readonly stackExists?: boolean;
}

export interface DeployPlan {
  readonly targets: DeployTarget[];
  readonly decommission: Decommission[];
}

/**
 * The tenant stacks to run and the tenants to decommission. `only` names tenants explicitly (each must
 * have a file); otherwise `changes` decides: added and changed tenants, or every tenant when program files
 * changed. Deleted tenants, and stacks in `existingStacks` whose tenant has no file, are reported for a
 * deliberate decommission, never run.
 */
export function planTargets(input: {
  readonly platformStack: string;
  /** Tenants with a file in the work tree. */
  readonly tenants: readonly string[];
  readonly only?: readonly string[];
  readonly changes?: TenantChanges;
  /** Stack names of the project in the backend, when known. */
  readonly existingStacks?: readonly string[];
}): DeployPlan {
  const present = new Set(input.tenants);
  const stackOf = (tenant: string) => tenantStackName(input.platformStack, tenant);
  let targets: DeployTarget[] = [];
  if (input.only && input.only.length > 0) {
    const unknown = input.only.filter((t) => !present.has(t));
    if (unknown.length > 0) {
      throw new DeployError(
        `--only: no tenant file for ${unknown.map((t) => `"${t}"`).join(", ")} (tenants: ${[...present].join(", ") || "none"})`,
      );
    }
    targets = [...new Set(input.only)].map((tenant) => ({
      tenant,
      stack: stackOf(tenant),
      reason: "requested",
    }));
  } else if (input.changes) {
    const c = input.changes;
    const reasons = new Map<string, TargetReason>();
    if (c.programFiles.length > 0) for (const t of input.tenants) reasons.set(t, "program");
    for (const t of c.changed) if (present.has(t)) reasons.set(t, "changed");
    for (const t of c.added) if (present.has(t)) reasons.set(t, "added");
    targets = [...reasons]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([tenant, reason]) => ({ tenant, stack: stackOf(tenant), reason }));
  }

  const decommission = new Map<string, Decommission>();
  const existing = input.existingStacks ? new Set(input.existingStacks) : undefined;
  for (const tenant of input.changes?.deleted ?? []) {
    if (present.has(tenant)) continue;
    decommission.set(tenant, {
      tenant,
      stack: stackOf(tenant),
      why: `its file was deleted since ${input.changes?.base}`,
      ...(existing ? { stackExists: existing.has(stackOf(tenant)) } : {}),
    });
  }
  for (const stack of input.existingStacks ?? []) {
    if (!stack.startsWith(`${input.platformStack}.`) || platformStackOf(stack) !== input.platformStack)
      continue;
    const tenant = stack.slice(input.platformStack.length + 1);
    if (present.has(tenant) || decommission.has(tenant)) continue;
    decommission.set(tenant, {
      tenant,
      stack,
      why: "its stack exists but tenants/ has no file for it",
      stackExists: true,
    });
  }
  return {
    targets,
    decommission: [...decommission.values()].sort((a, b) => a.tenant.localeCompare(b.tenant)),
  };
}
