/** `imaas status` output: a table for people, JSON for scripts (the {@link StatusReport} as it is). */
import { STATUS_EXIT, type ServiceStatus, type StatusReport } from "./status";

export const STATUS_FORMATS = ["table", "json"] as const;
export type StatusFormat = (typeof STATUS_FORMATS)[number];

/** The revision a person cares about: the service branch's commit (`ref: values`), else the first source's. */
export function shownRevision(s: ServiceStatus): string {
  const r = s.application.revisions.find((x) => x.ref === "values") ?? s.application.revisions[0];
  return r ? r.revision.slice(0, 8) : "-";
}

function cells(s: ServiceStatus): string[] {
  const a = s.application;
  const d = s.deployment;
  const unknown = s.unreadable !== undefined;
  return [
    s.tenant,
    s.service,
    s.env,
    unknown ? "?" : a.found ? (a.sync ?? "-") : "missing",
    unknown ? "?" : a.found ? (a.health ?? "-") : "missing",
    shownRevision(s),
    d.imageTag ?? "-",
    d.found ? `${d.readyReplicas}/${d.desiredReplicas}` : unknown ? "?" : "missing",
    s.url ?? "-",
  ];
}

const HEADER = ["TENANT", "SERVICE", "ENV", "SYNC", "HEALTH", "REVISION", "IMAGE TAG", "READY", "URL"];

export const EXIT_MEANING: Record<number, string> = {
  [STATUS_EXIT.healthy]: "everything Synced, Healthy and ready",
  [STATUS_EXIT.unhealthy]: "not everything is Synced, Healthy and ready",
  [STATUS_EXIT.unreadable]: "a cluster could not be read",
};

/** Messages (Helm's above all) carry newlines; a table row keeps each on one line. */
const oneLine = (text: string) => text.replace(/\s*\n\s*/g, " ").trim();

export function renderStatusTable(report: StatusReport): string {
  const rows = report.services.map(cells);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const out: string[] = [];
  for (const c of report.clusters) {
    if (c.error) out.push(`cannot read ${c.error}`);
    else if (c.noArgoCd) out.push(`cluster ${c.name}: no Application CRD: Argo CD is not installed there`);
  }
  if (out.length > 0) out.push("");
  out.push(line(HEADER));
  report.services.forEach((s, i) => {
    out.push(line(rows[i]!));
    for (const e of s.syncErrors) out.push(`    sync error: ${oneLine(e)}`);
    for (const p of s.problems) out.push(`    - ${oneLine(p)}`);
  });
  out.push("");
  const grafana = new Map<string, string[]>();
  for (const s of report.services) {
    if (!s.grafana) continue;
    const key = `${s.tenant}\t${s.grafana}`;
    grafana.set(
      key,
      [...(grafana.get(key) ?? []), s.env].filter((e, i, a) => a.indexOf(e) === i),
    );
  }
  if (grafana.size > 0) {
    out.push("Grafana:");
    for (const [key, envs] of grafana) {
      const [tenant, url] = key.split("\t");
      out.push(`  ${tenant}  ${url}  (${envs.join(", ")})`);
    }
  } else if (report.grafanaNote) out.push(report.grafanaNote);
  const healthy = report.services.filter((s) => s.healthy).length;
  out.push(
    `${report.services.length} service environment(s) in stack ${report.stack}: ${healthy} healthy, ` +
      `${report.services.length - healthy} not (exit ${report.exitCode}: ${EXIT_MEANING[report.exitCode]})`,
  );
  return `${out.join("\n")}\n`;
}

export function renderStatus(report: StatusReport, format: StatusFormat): string {
  return format === "json" ? `${JSON.stringify(report, null, 2)}\n` : renderStatusTable(report);
}
