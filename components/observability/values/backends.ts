/**
 * What the observability values builders share: the backends' in-cluster URLs (derived from the fixed
 * release names), the tenant header Loki and Tempo read, and retention parsing. Each Helm release has
 * its values in a sibling module, built by pure typed functions from the platform config and the
 * tenants' scopes: no Pulumi, no string templates for values. Chart keys checked against the pinned
 * chart versions in model/platform-config.ts DEFAULT_CHARTS.
 */
import { metricsProxyReleaseName, OBSERVABILITY_RELEASES } from "../../../model/naming";
import type { PlatformConfig } from "../../../model/platform-config";

export type ObservabilityConfig = PlatformConfig["observability"];
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** The tenant header Loki and Tempo read in multi-tenant mode. */
export const TENANT_HEADER = "X-Scope-OrgID";

/** In-cluster URLs of a cluster's backends, derived from the fixed release names. */
export interface BackendUrls {
  readonly prometheus: string;
  readonly alertmanager: string;
  /** Loki gateway: push (`/loki/api/v1/push`) and query. */
  readonly loki: string;
  readonly lokiHost: string;
  readonly lokiPort: number;
  readonly tempoQuery: string;
  /** host:port of Tempo's OTLP gRPC distributor. */
  readonly tempoOtlpGrpc: string;
  /** host:port where MI sends OTLP gRPC (`[opentelemetry] url`). */
  readonly otlpGrpc: string;
  readonly otlpHttp: string;
}

export function backendUrls(namespace: string): BackendUrls {
  const svc = (name: string) => `${name}.${namespace}.svc.cluster.local`;
  const r = OBSERVABILITY_RELEASES;
  const lokiHost = svc(`${r.loki}-gateway`);
  return {
    prometheus: `http://${svc(`${r.prometheus}-prometheus`)}:9090`,
    alertmanager: `http://${svc(`${r.prometheus}-alertmanager`)}:9093`,
    loki: `http://${lokiHost}`,
    lokiHost,
    lokiPort: 80,
    tempoQuery: `http://${svc(`${r.tempo}-query-frontend`)}:3200`,
    tempoOtlpGrpc: `${svc(`${r.tempo}-distributor`)}:4317`,
    otlpGrpc: `${svc(r.otelCollector)}:4317`,
    otlpHttp: `http://${svc(r.otelCollector)}:4318`,
  };
}

/** URL of a tenant's label-enforcing Prometheus proxy. */
export function metricsProxyUrl(namespace: string, tenant: string): string {
  return `http://${metricsProxyReleaseName(tenant)}.${namespace}.svc.cluster.local:8080`;
}

/** Hours in a `<n>h` / `<n>d` / `<n>w` retention. */
export function retentionHours(retention: string): number {
  const m = /^(\d+)([hdw])$/.exec(retention);
  if (!m) throw new Error(`retention "${retention}" is not <n>h, <n>d or <n>w`);
  const n = Number(m[1]);
  return m[2] === "h" ? n : m[2] === "d" ? n * 24 : n * 24 * 7;
}
