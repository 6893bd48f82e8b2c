/**
 * `imaas deploy`: each tenant stack's result, the summary table printed after the run (`renderSummary`)
 * and the "decommission required" report (`renderDecommission`).
 */
import type { Decommission } from "./deploy-targets";

export type Operation = "preview" | "update" | "config";

/** Counts by Pulumi operation (`create`, `update`, `replace`, `delete`, `same`, …). */
export type ChangeCounts = Readonly<Record<string, number>>;

export interface TenantResult {
  readonly tenant: string;
  readonly stack: string;
  readonly operation: Operation;
  readonly result: "succeeded" | "failed";
  readonly changes: ChangeCounts;
  readonly durationMs: number;
  /** The engine's error messages (or the exception's), when it failed. */
  readonly error?: string;
}

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

function table(rows: readonly (readonly string[])[], rightAligned: ReadonlySet<number>): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, c) => (rightAligned.has(c) ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

const COUNT_COLUMNS = ["create", "update", "replace", "delete", "same"] as const;

/** The table printed after the run: one row per tenant stack, then totals. */
export function renderSummary(results: readonly TenantResult[], wallMs?: number): string {
  if (results.length === 0) return "No tenant stacks to run.\n";
  const rows: string[][] = [["tenant", "stack", "operation", "result", ...COUNT_COLUMNS, "duration"]];
  for (const r of results) {
    rows.push([
      r.tenant,
      r.stack,
      r.operation,
      r.result === "failed" ? "FAILED" : r.result,
      ...COUNT_COLUMNS.map((k) => (r.operation === "config" ? "-" : String(r.changes[k] ?? 0))),
      seconds(r.durationMs),
    ]);
  }
  const failed = results.filter((r) => r.result === "failed");
  const sum = results.reduce((s, r) => s + r.durationMs, 0);
  const lines = [
    table(rows, new Set([4, 5, 6, 7, 8, 9])),
    "",
    `${results.length} tenant stack(s): ${results.length - failed.length} succeeded, ${failed.length} failed` +
      (wallMs !== undefined ? `; wall ${seconds(wallMs)}, sum of stacks ${seconds(sum)}` : ""),
  ];
  for (const f of failed) {
    lines.push("", `${f.stack} failed:`, ...(f.error ?? "unknown error").split("\n").map((l) => `  ${l}`));
  }
  return `${lines.join("\n")}\n`;
}

/** The deliberate decommission path of a tenant stack, as commands to run in order. */
export function decommissionCommands(stack: string): string[] {
  return [
    `pulumi destroy --preview-only --stack ${stack}         # review what goes (retained repos stay)`,
    `pulumi state unprotect --all --yes --stack ${stack}    # its prod namespaces are protected`,
    `pulumi destroy --remove --stack ${stack}               # destroys, then removes the stack and its file`,
  ];
}

/** The "decommission required" report; empty when nothing is to be decommissioned. */
export function renderDecommission(entries: readonly Decommission[]): string {
  if (entries.length === 0) return "";
  const out = [
    "",
    "Decommission required (imaas deploy never destroys a tenant; nothing was changed for these):",
  ];
  for (const d of entries) {
    if (d.stackExists === false) {
      out.push(`- tenant "${d.tenant}": ${d.why}; stack ${d.stack} does not exist, nothing to do`);
      continue;
    }
    out.push(
      `- tenant "${d.tenant}": ${d.why}; stack ${d.stack} is kept as it is.`,
      "  First back up what it owns and stop its services' traffic (docs/operating.md: Decommissioning a tenant), then:",
      ...decommissionCommands(d.stack).map((c) => `    ${c}`),
    );
  }
  return `${out.join("\n")}\n`;
}
