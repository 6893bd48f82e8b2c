/**
 * `imaas upgrade --to <revision>`: moves the platform chart revision through the upgrade rings
 * (`imaas:rings`) one ring at a time. The next ring moves only when every Application of the rings already on
 * the new revision is Synced and Healthy with its platform chart source at that revision; otherwise the
 * rollout halts and names what is not. Moving a ring is a change of the stack file (that ring's
 * `platformRevision`), applied like any platform change: review, commit, `pulumi up`.
 */
import YAML from "yaml";
import { type PlatformConfig, tenantRing } from "../model/platform-config";
import type { TenantSpec } from "../model/spec";
import type { ServiceStatus, StatusReport } from "./status";

/** Invalid input (no rings, a ring the stack file does not hold): exit 1. */
export class UpgradeError extends Error {}

export interface RingState {
  readonly name: string;
  /** Tenants of the ring (those with files, in file order). */
  readonly tenants: readonly string[];
  /** The platform chart revision the ring's tenants' Applications use now. */
  readonly platformRevision: string;
  readonly atTarget: boolean;
}

/** The rings in rollout order, each with its tenants and whether it already runs `to`. */
export function ringStates(cfg: PlatformConfig, tenants: readonly TenantSpec[], to: string): RingState[] {
  if (!cfg.rings) {
    throw new UpgradeError(
      "the stack has no upgrade rings (imaas:rings): every tenant follows imaas:argocd.platformRevision; set that instead, or define rings (docs/releases.md)",
    );
  }
  return cfg.rings.map((ring) => {
    const platformRevision = ring.platformRevision ?? cfg.argocd.platformRevision;
    return {
      name: ring.name,
      tenants: tenants.filter((t) => tenantRing(cfg, t.name)?.ring === ring.name).map((t) => t.name),
      platformRevision,
      atTarget: platformRevision === to,
    };
  });
}

/** Why one service environment keeps the rollout from going on; undefined when it does not. */
export function blocking(s: ServiceStatus, platformRepo: string, to: string): string | undefined {
  if (s.unreadable) return `cluster unreadable: ${s.unreadable}`;
  if (!s.application.found) return "no Application";
  const chart = (s.application.sources ?? []).find((r) => r.repoURL === platformRepo && !r.ref);
  if (chart?.targetRevision !== to) {
    return `platform chart at ${chart?.targetRevision ?? "an unknown revision"}, not ${to} yet (pulumi up not applied?)`;
  }
  const why: string[] = [];
  if (s.application.sync !== "Synced") why.push(`sync ${s.application.sync ?? "unknown"}`);
  if (s.application.health !== "Healthy") why.push(`health ${s.application.health ?? "unknown"}`);
  if (why.length === 0) {
    // Synced and Healthy describe the spec Argo CD last compared: right after pulumi up that is still the
    // previous revision's, until Argo CD compares again.
    const compared = (s.application.comparedTo ?? []).find((r) => r.repoURL === platformRepo && !r.ref);
    if (compared?.targetRevision === to) return undefined;
    return `Synced and Healthy on ${compared?.targetRevision ?? "an earlier spec"}, not yet compared on ${to}: wait for Argo CD (or refresh the Application) and run again`;
  }
  const detail = s.syncErrors[0] ?? s.problems[0];
  return `${why.join(", ")}${detail ? `: ${briefly(detail)}` : ""}`;
}

/**
 * One line of an Argo CD error: its kind, then the innermost error (Argo CD wraps Helm's message in the
 * repo-server's, the gRPC call's and the comparison's): `ComparisonError: execution error at (…): <why>`.
 */
export function briefly(message: string): string {
  const kind = /^([A-Za-z]+Error):/.exec(message)?.[1];
  const at = message.lastIndexOf("Error: ");
  const inner = (at >= 0 ? message.slice(at + "Error: ".length) : message).split("\n")[0]!.trim();
  return kind && !inner.startsWith(kind) && at > kind.length
    ? `${kind}: ${inner}`
    : message.split("\n")[0]!.trim();
}

export type UpgradeDecision =
  | { readonly kind: "done"; readonly rings: readonly RingState[] }
  | { readonly kind: "move"; readonly ring: RingState; readonly rings: readonly RingState[] }
  | {
      readonly kind: "halt";
      readonly ring: RingState;
      readonly rings: readonly RingState[];
      readonly unhealthy: readonly { readonly application: string; readonly why: string }[];
    };

/**
 * The tenants whose Applications gate the next ring: those of the rings before it (they run `to` already).
 * Empty when the first ring is next (nothing runs `to` yet) or when every ring is done.
 */
export function gatingTenants(rings: readonly RingState[]): string[] {
  const next = rings.findIndex((r) => !r.atTarget);
  return next < 0 ? [] : rings.slice(0, next).flatMap((r) => r.tenants);
}

/** Whether the next ring may move, from the live status of the gating tenants' service environments. */
export function decide(
  rings: readonly RingState[],
  report: Pick<StatusReport, "services"> | undefined,
  platformRepo: string,
  to: string,
): UpgradeDecision {
  const next = rings.findIndex((r) => !r.atTarget);
  if (next < 0) return { kind: "done", rings };
  const ring = rings[next]!;
  const later = rings.slice(next + 1).filter((r) => r.atTarget);
  if (later.length > 0) {
    throw new UpgradeError(
      `ring "${later[0]!.name}" runs ${to} already but the earlier ring "${ring.name}" does not: rings move in order; set "${ring.name}" to ${to} by hand or move "${later[0]!.name}" back`,
    );
  }
  const gating = new Set(rings.slice(0, next).flatMap((r) => r.tenants));
  const unhealthy = (report?.services ?? [])
    .filter((s) => gating.has(s.tenant))
    .map((s) => ({ application: s.application.name, why: blocking(s, platformRepo, to) }))
    .filter((u): u is { application: string; why: string } => u.why !== undefined);
  return unhealthy.length > 0 ? { kind: "halt", ring, rings, unhealthy } : { kind: "move", ring, rings };
}

/** A scalar as YAML source: plain when that reads back as the same string, else double-quoted. */
function yamlScalar(value: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9._/+-]*$/.test(value) && typeof YAML.parse(value) === "string"
    ? value
    : JSON.stringify(value);
}

/**
 * The stack file with ring `ring`'s `platformRevision` set to `to`: a text edit at that one place (the value
 * replaced, or one key added to the ring), so comments and the formatting of every other line stay as they
 * are; the result is parsed again and must differ from the original in that value only.
 */
export function moveRingInStackFile(text: string, ring: string, to: string): string {
  const doc = YAML.parseDocument(text);
  const rings = doc.getIn(["config", "imaas:rings"], true);
  if (!YAML.isSeq(rings)) {
    throw new UpgradeError("the stack file has no imaas:rings list under config: edit it by hand");
  }
  const index = rings.items.findIndex((item) => YAML.isMap(item) && item.get("name") === ring);
  if (index < 0) throw new UpgradeError(`the stack file's imaas:rings has no ring "${ring}"`);
  const map = rings.items[index] as YAML.YAMLMap;
  const value = yamlScalar(to);
  const current = map.get("platformRevision", true);
  let out: string;
  if (YAML.isScalar(current) && current.range) {
    out = text.slice(0, current.range[0]) + value + text.slice(current.range[1]);
  } else if (map.flow && map.range) {
    const close = text.lastIndexOf("}", map.range[1]);
    const at = text.slice(0, close).trimEnd().length;
    out = `${text.slice(0, at)}, platformRevision: ${value}${text.slice(at)}`;
  } else {
    const first = map.items[0]?.key as YAML.Scalar | undefined;
    const last = map.items[map.items.length - 1]?.value as YAML.Node | undefined;
    if (!first?.range || !last?.range) throw new UpgradeError(`ring "${ring}" is empty in the stack file`);
    const indent = first.range[0] - (text.lastIndexOf("\n", first.range[0] - 1) + 1);
    // A block value's range runs to the next item's indentation: insert after its last character.
    const end = text.slice(0, last.range[1]).trimEnd().length;
    out = `${text.slice(0, end)}\n${" ".repeat(indent)}platformRevision: ${value}${text.slice(end)}`;
  }
  // The edit must be exactly the one intended.
  const expected = doc.toJS() as { config: Record<string, { platformRevision?: string }[]> };
  expected.config["imaas:rings"]![index]!.platformRevision = to;
  let reparsed: unknown;
  try {
    reparsed = YAML.parse(out);
  } catch {
    reparsed = undefined;
  }
  if (JSON.stringify(reparsed) !== JSON.stringify(expected)) {
    throw new UpgradeError(
      `could not set ring "${ring}"'s platformRevision in the stack file safely: edit it by hand`,
    );
  }
  return out;
}

/** What `imaas upgrade` prints. */
export function renderDecision(d: UpgradeDecision, to: string, stackFile: string, dryRun: boolean): string {
  const table = d.rings
    .map(
      (r) =>
        `  ${r.atTarget ? "✓" : " "} ${r.name.padEnd(12)} ${r.platformRevision.padEnd(16)} ${r.tenants.join(", ") || "(no tenants)"}`,
    )
    .join("\n");
  const head = `rings (rollout order), platform chart revision, tenants:\n${table}\n`;
  switch (d.kind) {
    case "done":
      return `${head}every ring runs ${to}: nothing to move\n`;
    case "move":
      return (
        `${head}${d.rings[0] === d.ring ? `"${d.ring.name}" is the first ring` : "every Application of the rings before it is Synced and Healthy on " + to}: ` +
        `${dryRun ? "would move" : "moved"} ring "${d.ring.name}" to ${to} in ${stackFile}\n` +
        (dryRun
          ? ""
          : `next: review and commit ${stackFile}, then pulumi up (or push: Pulumi Deployments runs it)\n`)
      );
    case "halt":
      return (
        `${head}halted before ring "${d.ring.name}": ${d.unhealthy.length} Application(s) of the earlier rings are not Synced and Healthy on ${to}:\n` +
        d.unhealthy.map((u) => `  - ${u.application}: ${u.why}`).join("\n") +
        `\nfix them (or move their ring back) and run imaas upgrade --to ${to} again\n`
      );
  }
}
