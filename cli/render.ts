/**
 * Renders a plan for people (`table`), for machines (`json`) and for pull requests (`mermaid`).
 */
import { tenantObservabilityName } from "../model/naming";
import type { PlannedResource } from "./plan-engine";

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
  return undefined;
}

/** The label of a resource's type in the table and diagram. */
export function typeLabel(r: PlannedResource): string {
  return dynamicKind(r) ?? shortType(r.type);
}

export function renderJson(resources: readonly PlannedResource[]): string {
  return `${JSON.stringify(
    {
      resources: resources.map((r) => ({
        type: r.type,
        name: r.name,
        parent: r.parent ?? null,
        provider: r.provider ?? null,
        inputs: r.inputs,
        protect: r.protect,
        retainOnDelete: r.retainOnDelete,
      })),
    },
    null,
    2,
  )}\n`;
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

export function renderTable(
  resources: readonly PlannedResource[],
  stack: string,
  tenantCount: number,
): string {
  const { roots, children } = tree(resources);
  const managed = resources.filter((r) => !r.component).length;
  const out: string[] = [
    `imaas plan — stack "${stack}": ${tenantCount} tenant(s), ${managed} resources (evaluated under mocks; nothing was contacted)`,
    "",
  ];
  const flags = (r: PlannedResource) =>
    [
      r.protect ? "protected" : "",
      r.retainOnDelete ? "kept on delete" : "",
      r.provider ? `on ${r.provider}` : "",
    ]
      .filter(Boolean)
      .join(", ");
  const walk = (r: PlannedResource, depth: number) => {
    const kids = children.get(r.name) ?? [];
    const label = r.component ? `${shortType(r.type)} ${r.name}` : typeLabel(r).padEnd(32 - depth * 2);
    const name = r.component ? "" : (physicalName(r) ?? r.name);
    const f = flags(r);
    out.push(
      `${"  ".repeat(depth)}${r.component ? "▸ " : "- "}${label}${name ? ` ${name}` : ""}${f ? `  [${f}]` : ""}`,
    );
    for (const k of kids) walk(k, depth + 1);
  };
  const tenants = roots.filter((r) => r.type === "imaas:index:TenantSpace");
  // A tenant's observability views sit beside its TenantSpace in the stack; show them under the tenant.
  const views = new Map(tenants.map((t) => [tenantObservabilityName(t.name), t.name]));
  const viewsOf = (tenant: string) => roots.filter((r) => views.get(r.name) === tenant);
  const platform = roots.filter((r) => r.type !== "imaas:index:TenantSpace" && !views.has(r.name));
  if (platform.length > 0) {
    out.push("Platform");
    for (const r of platform) walk(r, 1);
    out.push("");
  }
  for (const t of tenants) {
    out.push(`Tenant ${t.name}`);
    for (const k of children.get(t.name) ?? []) walk(k, 1);
    for (const v of viewsOf(t.name)) walk(v, 1);
    out.push("");
  }
  return `${out.join("\n")}\n`;
}

const MERMAID_KINDS = new Set([
  "Namespace",
  "AppProject",
  "Application",
  "github Repository",
  "github Team",
  "Release",
  "dynamic",
]);

/** A Mermaid flowchart of each tenant's spaces, repos, projects and applications (GitHub renders it). */
export function renderMermaid(resources: readonly PlannedResource[]): string {
  const { roots, children } = tree(resources);
  const lines = ["```mermaid", "flowchart LR"];
  const id = (s: string) => s.replace(/[^A-Za-z0-9_]/g, "_");
  const visit = (r: PlannedResource, owner: string) => {
    for (const k of children.get(r.name) ?? []) {
      const kind = shortType(k.type);
      if (k.component) {
        lines.push(`  ${id(owner)} --> ${id(k.name)}["${kind} ${k.name}"]`);
        visit(k, k.name);
      } else if (MERMAID_KINDS.has(kind)) {
        const label = `${kind}<br/>${physicalName(k) ?? k.name}${k.protect ? " 🔒" : ""}`;
        lines.push(`  ${id(owner)} --> ${id(k.type + k.name)}["${label}"]`);
      } else visit(k, owner);
    }
  };
  for (const t of roots.filter((r) => r.type === "imaas:index:TenantSpace")) {
    lines.push(`  ${id(t.name)}(["tenant ${t.name}"])`);
    visit(t, t.name);
  }
  lines.push("```");
  return `${lines.join("\n")}\n`;
}
