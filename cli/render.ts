/**
 * Renders a plan view (plan-view.ts) for people (`table`), for machines (`json`) and for pull requests
 * (`mermaid`, one diagram per tenant).
 */
import { tenantObservabilityName } from "../model/naming";
import type { PlannedResource } from "./plan-engine";
import type { PlanView, TenantView } from "./plan-view";

export const FORMATS = ["table", "json", "mermaid"] as const;
export type Format = (typeof FORMATS)[number];

/** `kubernetes:core/v1:Namespace` → `Namespace`; `github:index/repository:Repository` → `github Repository`. */
export function shortType(type: string): string {
  const [pkg, , kind] = type.split(":");
  if (pkg === "kubernetes") return kind ?? type;
  if (pkg === "imaas") return kind ?? type;
  if (pkg === "pulumi" && type.startsWith("pulumi:providers:")) return `provider ${kind}`;
  if (pkg === "pulumi-nodejs") return "dynamic resource";
  return `${pkg} ${kind ?? ""}`.trim();
}

/** The name the resource has in its own system (metadata.name, repository name…), if it differs. */
export function physicalName(r: PlannedResource): string | undefined {
  const i = r.inputs as {
    metadata?: { name?: unknown; namespace?: unknown };
    name?: unknown;
    repository?: unknown;
    project?: unknown;
    file?: unknown;
    branch?: unknown;
    pattern?: unknown;
  };
  if (typeof i.project === "string" && typeof i.name === "string") return `${i.project}+${i.name}`;
  if (typeof i.project === "string") return i.project;
  if (typeof i.repository === "string") {
    const detail = i.file ?? i.branch ?? i.pattern;
    if (typeof detail === "string") return `${i.repository}:${detail}`;
  }
  const name = i.metadata?.name ?? i.name;
  if (typeof name !== "string") return undefined;
  const ns = typeof i.metadata?.namespace === "string" ? `${i.metadata.namespace}/` : "";
  return `${ns}${name}`;
}

/** Dynamic-provider resources all share one type token: name them by what their inputs show. */
function dynamicKind(r: PlannedResource): string | undefined {
  if (r.type !== "pulumi-nodejs:dynamic:Resource") return undefined;
  const i = r.inputs;
  if ("permissions" in i) return "Harbor robot account";
  if ("keepLastPushed" in i) return "Harbor retention policy";
  if ("storageLimitBytes" in i) return "Harbor project";
  if ("adminUser" in i && "host" in i) return "PostgreSQL coordination database + role";
  return undefined;
}

/** The label of a resource's type in the table and diagram. */
export function typeLabel(r: PlannedResource): string {
  return dynamicKind(r) ?? shortType(r.type);
}

interface Tree {
  readonly roots: PlannedResource[];
  readonly children: Map<string, PlannedResource[]>;
}

function tree(resources: readonly PlannedResource[]): Tree {
  const names = new Set(resources.map((r) => r.name));
  const children = new Map<string, PlannedResource[]>();
  const roots: PlannedResource[] = [];
  for (const r of resources) {
    if (r.parent && names.has(r.parent)) {
      const list = children.get(r.parent) ?? [];
      list.push(r);
      children.set(r.parent, list);
    } else roots.push(r);
  }
  return { roots, children };
}

/** Rows of cells as aligned columns (the last column is not padded). */
function columns(rows: readonly (readonly string[])[], indent: string): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  }
  return rows.map(
    (row) =>
      indent +
      row
        .map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i])))
        .join("  ")
        .trimEnd(),
  );
}

/** The header line: the same counts as the JSON's `summary`. */
export function headerLine(view: PlanView): string {
  const c = view.counts;
  const tenants = view.selected
    ? `${c.tenants} of ${c.tenantsInFolder} tenant(s) (${view.tenants.map((t) => t.name).join(", ")})`
    : `${c.tenants} tenant(s)`;
  return `imaas plan — stack "${view.stack}": ${tenants}, ${c.resources} resources (${c.protected} protected, ${c.keptOnDelete} kept on delete; evaluated under mocks, nothing was contacted)`;
}

/** A tenant's reviewer summary: environments, then services per environment. */
export function tenantSummary(t: TenantView, indent = "  "): string[] {
  const out: string[] = [
    `${indent}file ${t.file} · owners ${t.owners.join(", ")}${t.members.length > 0 ? ` · members ${t.members.join(", ")}` : ""}`,
    `${indent}GitHub team ${t.team} · registry project ${t.registryProject} · Argo CD project ${t.appProject}${t.argocd.isolation === "dedicated" ? ` on its own Argo CD (${t.argocd.namespace})` : ""} · platform chart ${t.platformRevision}${t.ring ? ` (ring ${t.ring})` : ""} · ${t.counts.resources} resources (${t.counts.protected} protected, ${t.counts.keptOnDelete} kept on delete)`,
    "",
  ];
  const coordination = t.environments.filter((e) => e.coordinationDatabase);
  if (coordination.length > 0) {
    out.splice(
      2,
      0,
      `${indent}MI coordination databases (PostgreSQL, kept on delete): ${coordination
        .map((e) => `${e.environment} ${e.coordinationDatabase}`)
        .join(" · ")}`,
    );
  }
  out.push(
    ...columns(
      [
        ["environment", "namespace", "cluster", "quota", "services at their largest", "allowFrom", "egress"],
        ...t.environments.map((e) => [
          e.environment,
          `${e.namespace}${e.protected ? " (protected)" : ""}`,
          e.cluster ?? "-",
          e.quotaText,
          e.largestText,
          e.allowFrom.join(", ") || "-",
          e.egress.join(", ") || "-",
        ]),
      ],
      indent,
    ),
  );
  out.push("");
  if (t.services.length === 0) {
    out.push(`${indent}no services`);
    return out;
  }
  const rows: string[][] = [["service", "env", "replicas", "resources per pod", "URL", "secrets", "MI"]];
  for (const s of t.services) {
    s.environments.forEach((e, i) => {
      rows.push([
        i === 0 ? s.name : "",
        e.environment,
        e.replicasText,
        i === 0 ? s.resourcesText : "",
        e.url ?? "not exposed",
        i === 0 ? s.secrets.join(", ") || "-" : "",
        i === 0 ? s.miVersion : "",
      ]);
    });
  }
  out.push(...columns(rows, indent));
  return out;
}

function flagsOf(r: PlannedResource): string {
  return [
    r.protect ? "protected" : "",
    r.retainOnDelete ? "kept on delete" : "",
    r.provider ? `on ${r.provider}` : "",
  ]
    .filter(Boolean)
    .join(", ");
}

/**
 * The table: the header, the platform's resources (unless tenants were selected), then per tenant its
 * summary (environments and services) and the resources it plans (`resources: false` leaves the
 * resources out: the tenant-PR comment lists what changes in the diff above the summary).
 */
export function renderTable(view: PlanView, options: { readonly resources?: boolean } = {}): string {
  const withResources = options.resources ?? true;
  const { roots, children } = tree(view.resources);
  const out: string[] = [headerLine(view), ""];
  const walk = (r: PlannedResource, depth: number) => {
    const label = r.component ? `${shortType(r.type)} ${r.name}` : typeLabel(r).padEnd(32 - depth * 2);
    const name = r.component ? "" : (physicalName(r) ?? r.name);
    const f = flagsOf(r);
    out.push(
      `${"  ".repeat(depth)}${r.component ? "▸ " : "- "}${label}${name ? ` ${name}` : ""}${f ? `  [${f}]` : ""}`,
    );
    for (const k of children.get(r.name) ?? []) walk(k, depth + 1);
  };
  const spaces = new Set(roots.filter((r) => r.type === "imaas:index:TenantSpace").map((r) => r.name));
  const views = new Map([...spaces].map((t) => [tenantObservabilityName(t), t]));
  const platform = roots.filter((r) => !spaces.has(r.name) && !views.has(r.name));
  if (withResources && !view.selected && platform.length > 0) {
    out.push("Platform");
    for (const r of platform) walk(r, 1);
    out.push("");
  }
  for (const t of view.tenants) {
    out.push(`Tenant ${t.name} — ${t.displayName}`);
    out.push(...tenantSummary(t));
    if (withResources) {
      out.push("", "  Resources");
      for (const k of children.get(t.name) ?? []) walk(k, 2);
      for (const v of roots.filter((r) => views.get(r.name) === t.name)) walk(v, 2);
    }
    out.push("");
  }
  return `${out.join("\n")}\n`;
}

/** `{stack, summary, tenants, resources}`: `summary` is the table header's counts. */
export function renderJson(view: PlanView): string {
  return `${JSON.stringify(
    {
      stack: view.stack,
      summary: view.counts,
      tenants: view.tenants,
      resources: view.resources.map((r) => ({
        type: r.type,
        name: r.name,
        parent: r.parent ?? null,
        provider: r.provider ?? null,
        inputs: r.inputs,
        protect: r.protect,
        retainOnDelete: r.retainOnDelete,
        component: r.component,
      })),
    },
    null,
    2,
  )}\n`;
}

/** Text for a Mermaid label in double quotes: quotes and angle brackets as entities. */
function mermaidText(s: string): string {
  return s.replace(/"/g, "#quot;").replace(/</g, "#lt;").replace(/>/g, "#gt;");
}

const mermaidId = (...parts: string[]) => parts.join("__").replace(/[^A-Za-z0-9_]/g, "_");

/** One tenant's diagram: team, registry and repos feeding each environment's namespace and services. */
export function tenantMermaid(t: TenantView): string {
  const tenantId = mermaidId("tenant", t.name);
  const lines = [
    "```mermaid",
    "flowchart LR",
    `  ${tenantId}(["tenant ${mermaidText(t.name)}<br/>team ${mermaidText(t.team)} · registry ${mermaidText(t.registryProject)}"])`,
  ];
  for (const s of t.services) {
    lines.push(
      `  ${tenantId} --> ${mermaidId("repo", s.repository)}[("repo ${mermaidText(s.repository)}<br/>MI ${mermaidText(s.miVersion)}")]`,
    );
  }
  for (const e of t.environments) {
    const nsId = mermaidId("ns", e.namespace);
    const where = e.cluster ? ` on ${e.cluster}` : "";
    lines.push(
      `  subgraph ${nsId}["${mermaidText(e.namespace)}${where}${e.protected ? " 🔒" : ""}<br/>quota ${mermaidText(e.quotaText)}"]`,
    );
    for (const s of t.services) {
      const se = s.environments.find((x) => x.environment === e.environment);
      if (!se) continue;
      const url = se.url ? `<br/>${mermaidText(se.url)}` : "";
      lines.push(
        `    ${mermaidId("app", se.application)}["${mermaidText(s.name)}<br/>${mermaidText(se.replicasText)} · ${mermaidText(s.resourcesText)}${url}"]`,
      );
    }
    lines.push("  end");
    for (const s of t.services) {
      const se = s.environments.find((x) => x.environment === e.environment);
      if (se) lines.push(`  ${mermaidId("repo", s.repository)} --> ${mermaidId("app", se.application)}`);
    }
    for (const from of e.allowFrom) {
      lines.push(`  ${mermaidId("peer", from)}>"${mermaidText(from)}"] -. allowFrom .-> ${nsId}`);
    }
    for (const cidr of e.egress) {
      lines.push(`  ${nsId} -. egress .-> ${mermaidId("egress", e.namespace, cidr)}>"${mermaidText(cidr)}"]`);
    }
  }
  lines.push("```");
  return `${lines.join("\n")}\n`;
}

/** One diagram per tenant (GitHub renders each), under a heading naming it. */
export function renderMermaid(view: PlanView): string {
  return view.tenants.map((t) => `#### Tenant ${t.name}\n\n${tenantMermaid(t)}`).join("\n");
}

/** Renders a plan view in `format`. */
export function renderPlan(view: PlanView, format: Format): string {
  if (format === "json") return renderJson(view);
  if (format === "mermaid") return renderMermaid(view);
  return renderTable(view);
}
