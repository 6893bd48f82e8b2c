/**
 * The engine of the multi-tenancy checks: runs kubectl as the admin, as a tenant's owner or member
 * (impersonating the RBAC groups the platform grants), or as the GitOps deployer, and compares the
 * outcome with what a check expects.
 */
import { spawnSync } from "node:child_process";

export type Actor = "owner" | "member";

export interface KubectlResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

export interface Identity {
  /** kubectl flags that impersonate the identity; empty for the admin. */
  readonly flags: readonly string[];
  readonly label: string;
}

export const admin: Identity = { flags: [], label: "admin" };

/** A tenant person: a user in the tenant's owners or members group (and `system:authenticated`). */
export function person(tenant: string, actor: Actor, groupPrefix = "imaas:"): Identity {
  const group = `${groupPrefix}${tenant}:${actor === "owner" ? "owners" : "members"}`;
  return {
    flags: [`--as=${tenant}-${actor}@example.com`, `--as-group=${group}`, "--as-group=system:authenticated"],
    label: `${tenant} ${actor}`,
  };
}

export function kubectl(id: Identity, args: readonly string[], stdin?: string): KubectlResult {
  const r = spawnSync("kubectl", [...id.flags, ...args], { encoding: "utf8", input: stdin, timeout: 30_000 });
  return {
    code: r.status ?? -1,
    out: r.stdout ?? "",
    err: (r.stderr ?? "") + (r.error ? String(r.error) : ""),
  };
}

/** `kubectl auth can-i`: true when allowed. */
export function canI(id: Identity, verb: string, resource: string, namespace?: string): boolean {
  const r = kubectl(id, ["auth", "can-i", verb, resource, ...(namespace ? ["-n", namespace] : [])]);
  return r.out.trim() === "yes";
}

/** A refusal by the API server (RBAC, admission, quota, Pod Security), as opposed to a usage error. */
export function refused(r: KubectlResult): boolean {
  return (
    r.code !== 0 &&
    /forbidden|denied|exceeded quota|violates PodSecurity|is invalid|cannot|not allowed/i.test(r.err)
  );
}

/** The first line of kubectl's error, trimmed, for the results table. */
export function reason(r: KubectlResult): string {
  const line = (r.err || r.out).split("\n").find((l) => l.trim()) ?? "";
  return line.replace(/^Error from server( \(\w+\))?: /, "").slice(0, 140);
}
