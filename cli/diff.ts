/**
 * What a change to tenants/ does, in plain words for reviewers: two plans (before and after, as
 * `imaas plan` computes them) compared resource by resource, keyed by type + logical name — the same key
 * Pulumi uses in its URNs, so a key that disappears is a resource Pulumi will try to delete.
 *
 * Pure: no Pulumi runtime, no files, no git. `planFromGitRef` (diff-git.ts) produces the "before" plan;
 * `registerDiffCommand` (diff-command.ts) wires both into the CLI.
 */
import type { PlannedResource } from "./plan-engine";
import { describeServiceRename, serviceRenames } from "./diff-rename";
import { physicalName, typeLabel } from "./render";

/** A resource present in both plans whose inputs or options differ. */
export interface ChangedResource {
  readonly before: PlannedResource;
  readonly after: PlannedResource;
  /** Input paths that differ (`metadata.labels.team`, `spec.hard.cpu`, `tags[1]`), plus `(provider)`,
   * `(parent)`, `(protect)`, `(retainOnDelete)` when those options change. Sorted. */
  readonly paths: readonly string[];
}

/** A deleted and a created resource of the same type that are the same thing under another name. */
export interface RenamedResource {
  readonly before: PlannedResource;
  readonly after: PlannedResource;
  /** The old → new name parts (tenant or service names) whose substitution makes the two equal. */
  readonly substitutions: readonly { readonly from: string; readonly to: string }[];
}

export interface PlanDiff {
  /** In the after plan only (renames excluded), in after-plan order. */
  readonly created: readonly PlannedResource[];
  /** In the before plan only (renames excluded), in before-plan order. */
  readonly deleted: readonly PlannedResource[];
  /** Inputs differ outside the resource's `ignoreChanges`: `pulumi up` updates them. */
  readonly changed: readonly ChangedResource[];
  /**
   * Inputs differ only under the resource's `ignoreChanges` (`paths` are those): `pulumi up` leaves the
   * resource as it is (a service repo's seeded files stay what the team made of them).
   */
  readonly ignored: readonly ChangedResource[];
  /** Delete + create pairs recognised as renames: Pulumi still deletes and creates them. */
  readonly renamed: readonly RenamedResource[];
}

/**
 * What deleting a resource really does: `refused` (protect: `pulumi up` fails), `kept` (retainOnDelete:
 * dropped from the stack, the object stays), `archived` (a GitHub repository with archiveOnDestroy),
 * `deleted`.
 */
export type DeleteConsequence = "refused" | "kept" | "archived" | "deleted";

const keyOf = (r: PlannedResource) => `${r.type}::${r.name}`;

/** Compares two plans. Resources keep their plan order within each list. */
export function diffPlans(before: readonly PlannedResource[], after: readonly PlannedResource[]): PlanDiff {
  const beforeByKey = new Map(before.map((r) => [keyOf(r), r]));
  const afterByKey = new Map(after.map((r) => [keyOf(r), r]));
  const created = after.filter((r) => !beforeByKey.has(keyOf(r)));
  const deleted = before.filter((r) => !afterByKey.has(keyOf(r)));
  const changed: ChangedResource[] = [];
  const ignored: ChangedResource[] = [];
  for (const b of before) {
    const a = afterByKey.get(keyOf(b));
    if (!a) continue;
    const paths = changedPaths(b, a);
    const applied = paths.filter((p) => !isIgnored(p, a.ignoreChanges ?? []));
    if (applied.length > 0) changed.push({ before: b, after: a, paths: applied });
    else if (paths.length > 0) ignored.push({ before: b, after: a, paths });
  }
  const renamed = detectRenames(deleted, created);
  const renamedBefore = new Set(renamed.map((r) => r.before));
  const renamedAfter = new Set(renamed.map((r) => r.after));
  return {
    created: created.filter((r) => !renamedAfter.has(r)),
    deleted: deleted.filter((r) => !renamedBefore.has(r)),
    changed,
    ignored,
    renamed,
  };
}

/** True when the input path `path` is under one of the `ignoreChanges` properties (`content`, `spec.x`). */
export function isIgnored(path: string, ignoreChanges: readonly string[]): boolean {
  return ignoreChanges.some((p) => path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`));
}

/** True when the diff deletes something (a rename deletes the old resource too). */
export function deletesAnything(diff: PlanDiff): boolean {
  return diff.deleted.length > 0 || diff.renamed.length > 0;
}

export function deleteConsequence(r: PlannedResource): DeleteConsequence {
  if (r.protect) return "refused";
  if (r.retainOnDelete) return "kept";
  if (isRepository(r) && r.inputs.archiveOnDestroy === true) return "archived";
  return "deleted";
}

const isRepository = (r: PlannedResource) => r.type === "github:index/repository:Repository";

function changedPaths(b: PlannedResource, a: PlannedResource): string[] {
  const paths: string[] = [];
  diffValues(b.inputs, a.inputs, "", paths);
  if ((b.provider ?? "") !== (a.provider ?? "")) paths.push("(provider)");
  if ((b.parent ?? "") !== (a.parent ?? "")) paths.push("(parent)");
  if (b.protect !== a.protect) paths.push("(protect)");
  if (b.retainOnDelete !== a.retainOnDelete) paths.push("(retainOnDelete)");
  return paths.sort();
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const join = (prefix: string, key: string) => (prefix ? `${prefix}.${key}` : key);

/** Appends the paths of the leaves that differ between `b` and `a`. */
function diffValues(b: unknown, a: unknown, path: string, out: string[]): void {
  if (isRecord(b) && isRecord(a)) {
    const keys = new Set([...Object.keys(b), ...Object.keys(a)]);
    for (const k of keys) diffValues(b[k], a[k], join(path, k), out);
    return;
  }
  if (Array.isArray(b) && Array.isArray(a)) {
    if (b.length !== a.length) {
      out.push(path || "(inputs)");
      return;
    }
    b.forEach((v, i) => {
      diffValues(v, a[i], `${path}[${i}]`, out);
    });
    return;
  }
  if (canonical(b) !== canonical(a)) out.push(path || "(inputs)");
}

/** JSON with sorted keys: equal values give equal text. */
function canonical(v: unknown): string {
  return (
    JSON.stringify(v, (_k, value: unknown) =>
      isRecord(value)
        ? Object.fromEntries(
            Object.keys(value)
              .sort()
              .map((k) => [k, value[k]]),
          )
        : value,
    ) ?? "undefined"
  );
}

// ---- rename detection -------------------------------------------------------------------------------

const TENANT_LABEL = "imaas.io/tenant";
const SERVICE_LABEL = "imaas.io/service";

/** The first value of `label` found anywhere in the inputs (metadata.labels, selectors, templates…). */
function findLabel(value: unknown, label: string): string | undefined {
  if (Array.isArray(value)) {
    for (const v of value) {
      const found = findLabel(v, label);
      if (found) return found;
    }
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  if (typeof value[label] === "string") return value[label] as string;
  for (const v of Object.values(value)) {
    const found = findLabel(v, label);
    if (found) return found;
  }
  return undefined;
}

/**
 * Candidate old → new substitutions for a deleted/created pair: the tenant and service labels that
 * differ, and the hyphen-separated segments by which the logical names differ (`payroll-salary-sync` →
 * `payroll-wage-sync` gives `salary` → `wage`), which covers resources without labels (repositories,
 * components). Names must share a segment for the latter.
 */
function substitutionsFor(d: PlannedResource, c: PlannedResource): { from: string; to: string }[] {
  const subs = new Map<string, string>();
  for (const label of [TENANT_LABEL, SERVICE_LABEL]) {
    const from = findLabel(d.inputs, label);
    const to = findLabel(c.inputs, label);
    if (from && to && from !== to) subs.set(from, to);
  }
  const ds = d.name.split("-");
  const cs = c.name.split("-");
  let pre = 0;
  while (pre < ds.length && pre < cs.length && ds[pre] === cs[pre]) pre++;
  let post = 0;
  while (
    post < ds.length - pre &&
    post < cs.length - pre &&
    ds[ds.length - 1 - post] === cs[cs.length - 1 - post]
  )
    post++;
  const from = ds.slice(pre, ds.length - post).join("-");
  const to = cs.slice(pre, cs.length - post).join("-");
  // Names with nothing in common are not a rename by themselves (only through substitutions learned
  // from other resources, see detectRenames).
  if (pre + post > 0 && from && to && !subs.has(from)) subs.set(from, to);
  return [...subs.entries()].map(([f, t]) => ({ from: f, to: t }));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Replaces whole-word occurrences (bounded by anything but a letter or digit) of each `from` with `to`. */
function substitute(text: string, subs: readonly { from: string; to: string }[]): string {
  // Longest first, through placeholders, so `payroll` → `pay` cannot be re-substituted by another rule.
  const ordered = [...subs].sort((x, y) => y.from.length - x.from.length);
  let out = text;
  ordered.forEach((s, i) => {
    out = out.replace(
      new RegExp(`(?<![A-Za-z0-9])${escapeRegExp(s.from)}(?![A-Za-z0-9])`, "g"),
      `\u0000${i}\u0000`,
    );
  });
  ordered.forEach((s, i) => {
    out = out.split(`\u0000${i}\u0000`).join(s.to);
  });
  return out;
}

/**
 * `b` equals `a` leaf by leaf, where a string leaf may also equal once the substitutions are applied to
 * it: a renamed resource keeps its other strings (a description mentioning the old name stays as it was)
 * while its names and labels follow the rename.
 */
function equalModulo(b: unknown, a: unknown, subs: readonly { from: string; to: string }[]): boolean {
  if (typeof b === "string" && typeof a === "string") return b === a || substitute(b, subs) === a;
  if (Array.isArray(b) && Array.isArray(a)) {
    return b.length === a.length && b.every((v, i) => equalModulo(v, a[i], subs));
  }
  if (isRecord(b) && isRecord(a)) {
    const keys = Object.keys(b);
    if (keys.length !== Object.keys(a).length) return false;
    return keys.every((k) => {
      const target = k in a ? k : substitute(k, subs);
      return target in a && equalModulo(b[k], a[target], subs);
    });
  }
  return canonical(b) === canonical(a);
}

type Substitutions = readonly { readonly from: string; readonly to: string }[];

/** `d` renamed is `c`: same type, cluster and kind, inputs equal once names are substituted. */
function renameOf(d: PlannedResource, c: PlannedResource, subs: Substitutions): RenamedResource | undefined {
  if (d.type !== c.type || (d.provider ?? "") !== (c.provider ?? "") || d.component !== c.component) {
    return undefined;
  }
  if (subs.length === 0) return undefined;
  if (substitute(d.name, subs) !== c.name) return undefined;
  if (!equalModulo(d.inputs, c.inputs, subs)) return undefined;
  return { before: d, after: c, substitutions: subs };
}

/**
 * Pairs deleted with created resources that are renames, in three passes:
 * 1. managed resources, each pair with its own substitutions (differing tenant/service labels, differing
 *    name segments);
 * 2. what is left (managed or component) with the substitutions pass 1 confirmed — so a TenantSpace
 *    `payroll` → `payments` is a rename because its namespaces were;
 * 3. components with their own substitutions, unless a child of theirs is really deleted (then the
 *    grouping is gone, not renamed).
 */
function detectRenames(
  deleted: readonly PlannedResource[],
  created: readonly PlannedResource[],
): RenamedResource[] {
  const renames: RenamedResource[] = [];
  const takenBefore = new Set<PlannedResource>();
  const takenAfter = new Set<PlannedResource>();
  const pass = (
    ds: readonly PlannedResource[],
    cs: readonly PlannedResource[],
    subsOf: (d: PlannedResource, c: PlannedResource) => Substitutions | undefined,
  ) => {
    for (const d of ds) {
      if (takenBefore.has(d)) continue;
      for (const c of cs) {
        if (takenAfter.has(c)) continue;
        const subs = subsOf(d, c);
        const rename = subs ? renameOf(d, c, subs) : undefined;
        if (rename) {
          renames.push(rename);
          takenBefore.add(d);
          takenAfter.add(c);
          break;
        }
      }
    }
  };
  pass(
    deleted.filter((r) => !r.component),
    created.filter((r) => !r.component),
    substitutionsFor,
  );
  const learned = new Map<string, string>();
  for (const r of renames)
    for (const s of r.substitutions) if (!learned.has(s.from)) learned.set(s.from, s.to);
  const learnedSubs = [...learned.entries()].map(([from, to]) => ({ from, to }));
  pass(deleted, created, () => learnedSubs);
  const reallyDeletedParents = new Set(
    deleted.filter((r) => !takenBefore.has(r) && r.parent).map((r) => r.parent as string),
  );
  pass(
    deleted.filter((r) => r.component && !reallyDeletedParents.has(r.name)),
    created.filter((r) => r.component),
    substitutionsFor,
  );
  return renames;
}

// ---- plain words --------------------------------------------------------------------------------------

/** `Namespace payroll-dev on cluster-main`: the kind in the words of `imaas plan` (typeLabel). */
const label = (r: PlannedResource) => {
  const kind = typeLabel(r);
  const physical = r.component ? undefined : physicalName(r);
  const onCluster = r.provider?.startsWith("cluster-") ? ` on ${r.provider}` : "";
  return `${kind} ${r.name}${physical && physical !== r.name ? ` (${physical})` : ""}${onCluster}`;
};

/** The reviewer's words for what deleting `r` does. */
export function consequenceText(r: PlannedResource): string {
  switch (deleteConsequence(r)) {
    case "refused":
      return "will be REFUSED by protect (decommission deliberately: see docs/operating.md)";
    case "kept":
      // retainOnDelete skips the provider's delete, so the repository is neither deleted nor archived.
      return isRepository(r)
        ? "removed from the stack but KEPT as it is (retainOnDelete: neither deleted nor archived; archive it by hand when done)"
        : "removed from the stack but KEPT (the object stays, no longer managed)";
    case "archived":
      return "removed from the stack and ARCHIVED, not deleted (archiveOnDestroy)";
    default:
      return r.component ? "removed (a grouping: deletes nothing by itself)" : "DELETED";
  }
}

/** Managed resources (not groupings) whose removal has each consequence, deletions and renames together. */
export function removalCounts(diff: PlanDiff): Record<DeleteConsequence, number> {
  const counts: Record<DeleteConsequence, number> = { refused: 0, kept: 0, archived: 0, deleted: 0 };
  for (const r of [...diff.deleted, ...diff.renamed.map((x) => x.before)]) {
    if (!r.component) counts[deleteConsequence(r)]++;
  }
  return counts;
}

/**
 * The first line: what `pulumi up` will do, each managed resource counted once — a deletion that protect
 * refuses is counted as refused, not as deleted; a removal that retainOnDelete keeps as kept.
 */
function countsLine(diff: PlanDiff): string {
  const managed = (rs: readonly PlannedResource[]) => rs.filter((r) => !r.component).length;
  const gone = [...diff.deleted.filter((r) => !r.component), ...diff.renamed.map((r) => r.before)];
  const by = (c: DeleteConsequence, rs: readonly PlannedResource[]) =>
    rs.filter((r) => !r.component && deleteConsequence(r) === c).length;
  const renamedAllowed = diff.renamed.filter((r) => !r.before.component && !r.before.protect).length;
  const parts = [
    `${managed(diff.created)} to create`,
    `${diff.changed.filter((c) => !c.after.component).length} to change`,
    `${by("deleted", diff.deleted)} to delete`,
  ];
  const kept = by("kept", diff.deleted);
  if (kept > 0) parts.push(`${kept} to remove from the stack but keep`);
  const archived = by("archived", diff.deleted);
  if (archived > 0) parts.push(`${archived} to archive`);
  if (renamedAllowed > 0) parts.push(`${renamedAllowed} renamed (each deleted and created again)`);
  const refused = by("refused", gone);
  if (refused > 0) parts.push(`${refused} deletion(s) REFUSED by protect (not counted as deleted)`);
  return `${parts.join(", ")} (managed resources; groupings are listed but not counted).`;
}

/** An Argo CD Application that leaves one Argo CD namespace for another under the same name (spec.isolation). */
export interface ApplicationMove {
  readonly name: string;
  readonly from: string;
  readonly to: string;
}

const APPLICATION_TYPE = "kubernetes:argoproj.io/v1alpha1:Application";
const appMeta = (r: PlannedResource) =>
  (r.inputs as { metadata?: { name?: string; namespace?: string } }).metadata ?? {};

/** Applications deleted in one namespace and created with the same name in another: a tier switch. */
export function applicationMoves(diff: PlanDiff): ApplicationMove[] {
  const created = new Map(
    diff.created
      .filter((r) => r.type === APPLICATION_TYPE)
      .map((r) => [appMeta(r).name, appMeta(r).namespace]),
  );
  return diff.deleted
    .filter((r) => r.type === APPLICATION_TYPE)
    .flatMap((r) => {
      const { name, namespace } = appMeta(r);
      const to = name ? created.get(name) : undefined;
      return name && namespace && to && to !== namespace ? [{ name, from: namespace, to }] : [];
    });
}

/** A reviewer's summary: deletions first (with what each really does), then renames, changes, creations. */
export function describeDiff(diff: PlanDiff): string {
  const { created, deleted, changed, ignored, renamed } = diff;
  if (created.length + deleted.length + changed.length + renamed.length === 0) {
    const note =
      ignored.length > 0
        ? ` (${ignored.length} resource(s) differ only in properties \`pulumi up\` leaves alone: ${ignored.map((c) => label(c.after)).join(", ")})`
        : "";
    return `No change: the tenant files plan exactly the same resources as before${note}.\n`;
  }
  const out: string[] = [countsLine(diff)];
  const removals = removalCounts(diff);
  if (removals.refused > 0) {
    out.push(
      `WARNING: ${removals.refused} protected resource(s) would have to be deleted: \`pulumi up\` will fail, and change nothing else of them, until they are decommissioned deliberately.`,
    );
  }
  if (removals.deleted > 0) {
    out.push(`${removals.deleted} resource(s) will really be DELETED with whatever they hold.`);
  }
  if (deleted.length > 0) {
    out.push("", "Deleted:");
    for (const r of deleted) out.push(`  - ${label(r)}: ${consequenceText(r)}`);
  }
  const moves = applicationMoves(diff);
  if (moves.length > 0) {
    out.push(
      "",
      "Moved to another Argo CD (spec.isolation) — what really happens (docs/isolation-tiers.md):",
      ...moves.map((m) => `  - Application ${m.name}: ${m.from} → ${m.to}`),
      "  The new Application is created first and adopts the running workloads; the old one is deleted last and",
      "  its Argo CD removes it WITHOUT pruning them (to dedicated: its AppProject in the shared Argo CD is retired,",
      "  so nothing is permitted to delete; back to shared: the dedicated cluster Secret goes first, so there is no",
      "  destination to delete from). The services keep running throughout.",
    );
  }
  const services = serviceRenames(diff);
  if (services.length > 0) {
    out.push("", "Renamed services — what really happens:");
    for (const s of services) {
      out.push(...describeServiceRename(s, s.repository ? consequenceText(s.repository.before) : undefined));
    }
  }
  if (renamed.length > 0) {
    out.push("", "Renamed:");
    for (const r of renamed) {
      const protectNote =
        deleteConsequence(r.before) === "deleted" ? "" : `; the old one ${consequenceText(r.before)}`;
      out.push(
        `  - ${typeLabel(r.before)}: renamed ${r.before.name} → ${r.after.name} (Pulumi will delete the old one and create the new one)${protectNote}`,
      );
    }
  }
  if (changed.length > 0) {
    out.push("", "Changed:");
    for (const c of changed) out.push(`  - ${label(c.after)}: ${c.paths.join(", ")}`);
  }
  if (ignored.length > 0) {
    out.push(
      "",
      "Not changed although the plan differs (ignoreChanges: `pulumi up` leaves these properties alone):",
    );
    for (const c of ignored) out.push(`  - ${label(c.after)}: ${c.paths.join(", ")}`);
  }
  if (created.length > 0) {
    out.push("", "Created:");
    for (const r of created) out.push(`  - ${label(r)}`);
  }
  return `${out.join("\n")}\n`;
}
