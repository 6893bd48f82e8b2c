/**
 * What renaming a service in a tenant file really does, in words for the reviewer. Pulumi cannot rename a
 * GitHub repository, an Argo CD Application or a Kubernetes object: a renamed service is a new service
 * plus the removal of the old one. Read from the renamed resources of a diff (diff.ts), so what it says
 * follows the program's own options (retainOnDelete, archiveOnDestroy, finalizers), not a fixed story.
 */
import { LABELS } from "../model/naming";
import type { PlannedResource } from "./plan-engine";

const MI_SERVICE = "imaas:index:MIService";
const REPOSITORY = "github:index/repository:Repository";
const APPLICATION = "kubernetes:argoproj.io/v1alpha1:Application";
/** Kinds matched by their last type part: the API version may move on. */
const EXTERNAL_SECRET = ":ExternalSecret";
const INGRESS = ":Ingress";

/** A deleted resource and the created one that is the same thing under another name. */
export interface RenamePair {
  readonly before: PlannedResource;
  readonly after: PlannedResource;
}

/** One renamed service and the resources that go with it. */
export interface ServiceRename {
  readonly before: string;
  readonly after: string;
  readonly tenant?: string;
  /** The tenant after: another one when the tenant itself is renamed. */
  readonly newTenant?: string;
  readonly oldService?: string;
  readonly newService?: string;
  /** Environments the service runs in (from its Applications' labels), in plan order. */
  readonly environments: readonly string[];
  readonly repository?: RenamePair;
  readonly applications: readonly RenamePair[];
  /** Secret-store paths before → after, when the service has secrets. */
  readonly secretPaths: readonly { readonly from: string; readonly to: string }[];
  /** Public hosts before → after, where they change. */
  readonly hosts: readonly { readonly from: string; readonly to: string }[];
}

function labelsOf(r: PlannedResource): Record<string, string> {
  return ((r.inputs as { metadata?: { labels?: Record<string, string> } }).metadata?.labels ?? {}) as Record<
    string,
    string
  >;
}

/** `metadata.name` of a Kubernetes object, else its logical name. */
function metadataName(r: PlannedResource): string {
  const name = (r.inputs as { metadata?: { name?: unknown } }).metadata?.name;
  return typeof name === "string" ? name : r.name;
}

/** Every string under a key named `key`, anywhere in `value`. */
function stringsAt(value: unknown, key: string, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) stringsAt(v, key, out);
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k === key && typeof v === "string") out.push(v);
      else stringsAt(v, key, out);
    }
  }
  return out;
}

const unique = <T>(xs: readonly T[]) => [...new Set(xs)];

/** Pairs of strings found under `key` before and after, where they differ. */
function moved(pairs: readonly RenamePair[], key: string): { from: string; to: string }[] {
  const out: { from: string; to: string }[] = [];
  for (const p of pairs) {
    const b = unique(stringsAt(p.before.inputs, key));
    const a = unique(stringsAt(p.after.inputs, key));
    b.forEach((from, i) => {
      const to = a[i];
      if (to !== undefined && to !== from && !out.some((o) => o.from === from)) out.push({ from, to });
    });
  }
  return out;
}

/** What serviceRenames reads of a diff: renamed pairs, and what is deleted and created outright. */
export interface RenameInput {
  readonly renamed: readonly RenamePair[];
  readonly deleted: readonly PlannedResource[];
  readonly created: readonly PlannedResource[];
}

/**
 * The services a diff renames — found by their Argo CD Applications, renamed from one service label to
 * another — each with its repository, Applications, secrets and hosts. A child whose inputs changed
 * beyond the names (so it was not paired as a rename) is matched by its parent, the service grouping.
 */
export function serviceRenames(diff: RenameInput): ServiceRename[] {
  const groups = new Map<string, RenamePair[]>();
  for (const app of diff.renamed.filter((r) => r.before.type === APPLICATION)) {
    const b = labelsOf(app.before);
    const a = labelsOf(app.after);
    const key = `${b[LABELS.tenant]}/${b[LABELS.service]}→${a[LABELS.tenant]}/${a[LABELS.service]}`;
    groups.set(key, [...(groups.get(key) ?? []), app]);
  }
  const isKind = (r: PlannedResource, type: string) =>
    r.type === type || (type.startsWith(":") && r.type.endsWith(type));
  return [...groups.values()].map((applications) => {
    const first = applications[0];
    const oldParent = first.before.parent;
    const newParent = first.after.parent;
    const pairsOf = (type: string): RenamePair[] => {
      const paired = diff.renamed.filter((r) => r.before.parent === oldParent && isKind(r.before, type));
      const gone = diff.deleted.filter((r) => r.parent === oldParent && isKind(r, type));
      const made = diff.created.filter((r) => r.parent === newParent && isKind(r, type));
      return [...paired, ...gone.flatMap((before, i) => (made[i] ? [{ before, after: made[i] }] : []))];
    };
    const service = diff.renamed.find((r) => r.before.type === MI_SERVICE && r.before.name === oldParent);
    const repository = pairsOf(REPOSITORY)[0];
    const b = labelsOf(first.before);
    const a = labelsOf(first.after);
    return {
      before: service?.before.name ?? oldParent ?? first.before.name,
      after: service?.after.name ?? newParent ?? first.after.name,
      tenant: b[LABELS.tenant],
      newTenant: a[LABELS.tenant],
      oldService: b[LABELS.service],
      newService: a[LABELS.service],
      environments: applications.map((x) => labelsOf(x.before)[LABELS.environment]).filter(Boolean),
      ...(repository ? { repository } : {}),
      applications,
      secretPaths: moved(pairsOf(EXTERNAL_SECRET), "key"),
      hosts: moved(pairsOf(INGRESS), "host"),
    };
  });
}

/**
 * The reviewer's words for one service rename: what is created, what happens to the old repository
 * (`oldRepository`: the consequence of removing it, as the diff words it), that the running service goes
 * away, and how to rename without an outage.
 */
export function describeServiceRename(r: ServiceRename, oldRepository: string | undefined): string[] {
  const qualified = (tenant: string | undefined, service: string | undefined, fallback: string) =>
    service ? `${tenant ? `${tenant}/` : ""}${service}` : fallback;
  const oldName = qualified(r.tenant, r.oldService, r.before);
  const newName = qualified(r.newTenant ?? r.tenant, r.newService, r.after);
  const envs = r.environments.length > 0 ? r.environments.join(", ") : "every environment";
  const lines = [
    `  Service ${oldName} → ${newName}: Pulumi cannot rename a repository or an Application, so this is a new service and the removal of the old one:`,
  ];
  if (r.repository) {
    const newRepo = String(r.repository.after.inputs.name ?? r.repository.after.name);
    const oldRepo = String(r.repository.before.inputs.name ?? r.repository.before.name);
    lines.push(
      `    - a NEW repository ${newRepo}, with only the platform's starter files: none of ${oldRepo}'s code, history, issues or images come along;`,
      `    - the old repository ${oldRepo}: ${oldRepository ?? "removed from the stack"};`,
    );
  }
  if (r.applications.length > 0) {
    lines.push(
      `    - the Argo CD Application${r.applications.length === 1 ? "" : "s"} ${r.applications.map((a) => metadataName(a.before)).join(", ")} ${r.applications.length === 1 ? "is" : "are"} DELETED with what ${r.applications.length === 1 ? "it" : "they"} deployed: the running service goes away in ${envs};`,
      `    - the new Applications deploy nothing until CI has built an image in the new repository (its deploy/values.yaml starts without an image tag), and reach later environments only through promotion merges there;`,
    );
  }
  for (const s of r.secretPaths) {
    lines.push(
      `    - secrets are read from ${s.to} instead of ${s.from}: copy them in the secret store before the new service starts;`,
    );
  }
  for (const h of r.hosts) {
    lines.push(`    - its URL moves from https://${h.from} to https://${h.to}: callers must follow;`);
  }
  lines.push(
    `    To rename without an outage: add ${newName} beside ${oldName} (one PR), push the code to the new repository and let CI build and promote it to ${envs}${r.secretPaths.length > 0 ? ", copy the secrets" : ""}, move callers to the new service, then remove ${oldName} in a second PR.`,
  );
  return lines;
}
