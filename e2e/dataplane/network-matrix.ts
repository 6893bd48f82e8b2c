/**
 * The packet matrix: real TCP connections from inside pods (`kubectl exec` of the stand-in's `probe`), each
 * set beside two independent verdicts — the NetworkPolicy evaluator's on the policies read back from the API
 * server (test/support/network-evaluator.ts), and the platform's promise written from its own rules
 * (components/tenant-space/network.ts, docs) without reading any policy.
 */
import { execFile } from "node:child_process";
import type { Environment } from "../../model/environments";
import {
  connectionAllowed,
  cidrContains,
  type NamespaceInfo,
  type Policy,
} from "../../test/support/network-evaluator";

/** MI's ports: traffic (HTTP, HTTPS pass-through), management API, internal API (health, metrics). */
export const TRAFFIC_PORTS = [8290, 8253] as const;
export const MANAGEMENT_PORT = 9164;
export const INTERNAL_PORT = 9201;
export const MI_PORTS = [...TRAFFIC_PORTS, MANAGEMENT_PORT, INTERNAL_PORT] as const;

/** What a pod is in the matrix. */
export type Role = "tenant" | "control" | "ingress" | "observability" | "dns";

export interface PodEndpoint {
  readonly kind: "pod";
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ip: string;
  readonly role: Role;
  readonly tenant?: string;
  readonly env?: Environment;
}

export interface ExternalEndpoint {
  readonly kind: "external";
  readonly what: string;
  readonly ip: string;
}

export type Target = PodEndpoint | ExternalEndpoint;

export const label = (t: Target): string =>
  t.kind === "pod" ? `${t.namespace}/${t.name}` : `${t.what} ${t.ip}`;

/** The tenant file's network section, as the platform reads it. */
export interface TenantNetwork {
  readonly name: string;
  readonly allowFrom: readonly string[];
  readonly egress: readonly { readonly cidr: string; readonly ports: readonly number[] }[];
}

/**
 * The platform's promise for one connection, from its rules alone: inside a namespace everything but the
 * management port; between tenant namespaces only the same environment of a tenant that the destination
 * lists in allowFrom, on MI's traffic ports; the ingress controller on the traffic ports; the platform's
 * tooling namespace on the internal (metrics) and management ports; nothing else into a tenant namespace.
 * Out of a tenant namespace to the cluster DNS pods: port 53.
 * Out of a tenant namespace to an address outside the cluster: only the tenant's declared egress, on its
 * ports. Pods outside tenant namespaces have no policies of their own.
 */
export function promised(
  from: PodEndpoint,
  to: Target,
  port: number,
  tenants: readonly TenantNetwork[],
): boolean {
  const tenantOf = (name?: string) => tenants.find((t) => t.name === name);
  if (to.kind === "external") {
    if (from.role !== "tenant") return true;
    return (tenantOf(from.tenant)?.egress ?? []).some(
      (e) => cidrContains(e.cidr, to.ip) && e.ports.includes(port),
    );
  }
  if (to.role !== "tenant") {
    // Into a namespace without policies: only the source's egress can refuse.
    if (from.role !== "tenant") return true;
    return to.role === "dns" && port === 53;
  }
  switch (from.role) {
    case "tenant":
      if (from.namespace === to.namespace) return port !== MANAGEMENT_PORT;
      return (
        from.env === to.env &&
        (tenantOf(to.tenant)?.allowFrom ?? []).includes(from.tenant ?? "") &&
        (TRAFFIC_PORTS as readonly number[]).includes(port)
      );
    case "ingress":
      return (TRAFFIC_PORTS as readonly number[]).includes(port);
    case "observability":
      return port === INTERNAL_PORT || port === MANAGEMENT_PORT;
    case "control":
    case "dns":
      return false;
  }
}

/** The evaluator's verdict on the policies and namespaces as the API server holds them. */
export function evaluated(
  policies: readonly Policy[],
  namespaces: readonly NamespaceInfo[],
  from: PodEndpoint,
  to: Target,
  port: number,
): boolean {
  const ep = (t: Target) =>
    t.kind === "pod" ? { namespace: t.namespace, podLabels: t.labels, ip: t.ip } : { ip: t.ip };
  return connectionAllowed(policies, namespaces, ep(from), ep(to), port);
}

export interface Row {
  readonly from: PodEndpoint;
  readonly to: Target;
  readonly port: number;
}

export interface Measured extends Row {
  /** The TCP handshake completed. */
  readonly connected: boolean;
  /** The probe's own line (`ok tcp …` / `fail tcp …: i/o timeout`). */
  readonly line: string;
}

export const rowText = (r: Row): string => `${label(r.from)} -> ${label(r.to)}:${r.port}`;

export interface Kubectl {
  readonly bin: string;
  readonly kubeconfig: string;
}

function execAsync(
  file: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<{ out: string; err: string; code: number }> {
  return new Promise((resolve) => {
    execFile(
      file,
      args as string[],
      { encoding: "utf8", timeout: timeoutMs, maxBuffer: 8 << 20 },
      (error, out, err) => resolve({ out, err, code: error ? ((error as { code?: number }).code ?? 1) : 0 }),
    );
  });
}

/** The stand-in program inside its image. */
const STANDIN = "/usr/local/bin/mi-standin";

/**
 * Runs every target of one source pod in one `kubectl exec`: `mi-standin probe` per target, `parallel` at a
 * time, each allowed `timeout`. Returns each `ip:port`'s probe line.
 */
async function probeFrom(
  k: Kubectl,
  from: PodEndpoint,
  targets: readonly string[],
  opts: { timeout: string; parallel: number },
): Promise<Map<string, string>> {
  const script = [
    "n=0",
    'for t in "$@"; do',
    `  ${STANDIN} probe -timeout ${opts.timeout} tcp "$t" &`,
    "  n=$((n+1))",
    `  if [ "$n" -ge ${opts.parallel} ]; then wait; n=0; fi`,
    "done",
    "wait",
  ].join("\n");
  const args = [
    "--kubeconfig",
    k.kubeconfig,
    "exec",
    "-n",
    from.namespace,
    from.name,
    "--",
    "/bin/sh",
    "-c",
    script,
    "probe",
    ...targets,
  ];
  const r = await execAsync(k.bin, args, 10 * 60_000);
  const lines = new Map<string, string>();
  for (const line of r.out.split("\n")) {
    const m = /^(ok|fail) tcp (\S+) /.exec(line);
    if (m) lines.set(m[2]!, line.trim());
  }
  const missing = targets.filter((t) => !lines.has(t));
  if (missing.length > 0)
    throw new Error(
      `kubectl exec in ${from.namespace}/${from.name} (exit ${r.code}) gave no probe line for ${missing.join(", ")}: ${(r.err || r.out).trim().slice(0, 500)}`,
    );
  return lines;
}

/**
 * Measures every row: one exec per source pod, `sources` pods at a time. A row that did not connect but
 * that the evaluator allows is measured once more on its own with a longer timeout, so a slow handshake on
 * a loaded machine is not taken for a drop; a connection is never retried (it is proof by itself).
 */
export async function measure(
  k: Kubectl,
  rows: readonly Row[],
  allowedByEvaluator: (r: Row) => boolean,
  opts: { timeout?: string; parallel?: number; sources?: number } = {},
): Promise<Measured[]> {
  const target = (r: Row) => `${r.to.ip}:${r.port}`;
  const bySource = new Map<string, Row[]>();
  for (const r of rows) bySource.set(label(r.from), [...(bySource.get(label(r.from)) ?? []), r]);
  const results = new Map<Row, Measured>();
  const queue = [...bySource.values()];
  const worker = async () => {
    for (let batch = queue.shift(); batch; batch = queue.shift()) {
      const lines = await probeFrom(k, batch[0]!.from, [...new Set(batch.map(target))], {
        timeout: opts.timeout ?? "2s",
        parallel: opts.parallel ?? 12,
      });
      for (const r of batch) {
        const line = lines.get(target(r))!;
        results.set(r, { ...r, connected: line.startsWith("ok "), line });
      }
    }
  };
  await Promise.all(Array.from({ length: opts.sources ?? 4 }, worker));
  for (const [r, m] of results) {
    if (m.connected || !allowedByEvaluator(r)) continue;
    const again = await probeFrom(k, r.from, [target(r)], { timeout: "8s", parallel: 1 });
    const line = again.get(target(r))!;
    results.set(r, { ...r, connected: line.startsWith("ok "), line: `${m.line} | again: ${line}` });
  }
  return rows.map((r) => results.get(r)!);
}

/** A probe that reached the address but found no listener is a broken setup, not a verdict. */
export const refusedByPeer = (m: Measured): boolean => /connection refused/.test(m.line);
