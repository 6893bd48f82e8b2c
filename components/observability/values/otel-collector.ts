/**
 * Helm values of the OpenTelemetry Collector release, one per cluster: traces in, each tenant's out to
 * Tempo under its own tenant header.
 */
import { OBSERVABILITY_RELEASES, PLATFORM_TELEMETRY_TENANT } from "../../../model/naming";
import type { TenantScope } from "../scope";
import { type BackendUrls, type Json, TENANT_HEADER } from "./backends";

export interface OtelCollectorValues {
  readonly mode: "deployment";
  readonly fullnameOverride: string;
  readonly replicaCount: number;
  readonly image: { readonly repository: string; readonly tag: string };
  readonly command: { readonly name: string };
  readonly clusterRole: {
    readonly create: true;
    readonly rules: readonly {
      readonly apiGroups: readonly string[];
      readonly resources: readonly string[];
      readonly verbs: readonly string[];
    }[];
  };
  readonly ports: Readonly<Record<string, { readonly enabled: boolean }>>;
  /** The whole collector config (the chart does not merge it with its defaults). */
  readonly alternateConfig: OtelCollectorConfig;
}

export interface OtelExporter {
  readonly endpoint: string;
  readonly tls: { readonly insecure: boolean };
  readonly headers: Readonly<Record<string, string>>;
}

export interface OtelRoute {
  readonly context: "resource";
  readonly condition: string;
  readonly pipelines: readonly string[];
}

export interface OtelCollectorConfig {
  readonly extensions: { readonly health_check: { readonly endpoint: string } };
  readonly receivers: {
    readonly otlp: {
      readonly protocols: {
        readonly grpc: { readonly endpoint: string };
        readonly http: { readonly endpoint: string };
      };
    };
  };
  readonly processors: {
    readonly memory_limiter: Readonly<Record<string, Json>>;
    readonly batch: Readonly<Record<string, Json>>;
    readonly "resource/untrusted": {
      readonly attributes: readonly { readonly key: string; readonly action: "delete" }[];
    };
    readonly k8sattributes: {
      readonly auth_type: "serviceAccount";
      readonly passthrough: false;
      readonly pod_association: readonly { readonly sources: readonly { readonly from: "connection" }[] }[];
      readonly extract: { readonly metadata: readonly string[] };
    };
  };
  readonly connectors: {
    readonly routing: {
      readonly default_pipelines: readonly string[];
      readonly error_mode: "ignore";
      readonly table: readonly OtelRoute[];
    };
  };
  readonly exporters: Readonly<Record<string, OtelExporter>>;
  readonly service: {
    readonly extensions: readonly string[];
    readonly pipelines: Readonly<
      Record<
        string,
        {
          readonly receivers: readonly string[];
          readonly processors: readonly string[];
          readonly exporters: readonly string[];
        }
      >
    >;
  };
}

/** The collector expands `${env:…}` itself (the chart sets MY_POD_IP): a literal, not a JS template. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: collector config syntax
const POD_IP = "${env:MY_POD_IP}";

export const OTEL_NAMESPACE_ATTRIBUTE = "k8s.namespace.name";
const tracesPipeline = (tenant: string) => `traces/${tenant}`;
const tempoExporter = (tenant: string) => `otlp/${tenant}`;

/** OTTL condition matching exactly the given namespaces (no regular expressions). */
export function namespaceCondition(namespaces: readonly string[]): string {
  if (namespaces.length === 0) throw new Error("a route needs at least one namespace");
  return namespaces
    .map((ns) => `attributes[${JSON.stringify(OTEL_NAMESPACE_ATTRIBUTE)}] == ${JSON.stringify(ns)}`)
    .join(" or ");
}

/**
 * Traces in, tenant out: whatever namespace a span claims is deleted, the k8sattributes processor sets
 * it from the pod that owns the connection's source IP, and the routing connector sends each tenant's
 * namespaces to an exporter with that tenant's `X-Scope-OrgID`. Unmatched spans go to the platform tenant.
 */
export function buildOtelCollectorConfig(
  scopes: readonly TenantScope[],
  urls: BackendUrls,
): OtelCollectorConfig {
  const exporter = (tenant: string): OtelExporter => ({
    endpoint: urls.tempoOtlpGrpc,
    tls: { insecure: true },
    headers: { [TENANT_HEADER]: tenant },
  });
  const tenants = [...scopes.map((s) => s.telemetryTenant), PLATFORM_TELEMETRY_TENANT];
  return {
    extensions: { health_check: { endpoint: `${POD_IP}:13133` } },
    receivers: {
      otlp: {
        protocols: {
          grpc: { endpoint: `${POD_IP}:4317` },
          http: { endpoint: `${POD_IP}:4318` },
        },
      },
    },
    processors: {
      memory_limiter: { check_interval: "5s", limit_percentage: 80, spike_limit_percentage: 25 },
      batch: {},
      "resource/untrusted": {
        attributes: [
          { key: OTEL_NAMESPACE_ATTRIBUTE, action: "delete" },
          { key: "k8s.pod.ip", action: "delete" },
          { key: "k8s.pod.uid", action: "delete" },
        ],
      },
      k8sattributes: {
        auth_type: "serviceAccount",
        passthrough: false,
        pod_association: [{ sources: [{ from: "connection" }] }],
        extract: { metadata: [OTEL_NAMESPACE_ATTRIBUTE, "k8s.pod.name", "k8s.deployment.name"] },
      },
    },
    connectors: {
      routing: {
        default_pipelines: [tracesPipeline(PLATFORM_TELEMETRY_TENANT)],
        error_mode: "ignore",
        table: scopes.map((s) => ({
          context: "resource",
          condition: namespaceCondition(s.namespaces),
          pipelines: [tracesPipeline(s.telemetryTenant)],
        })),
      },
    },
    exporters: Object.fromEntries(tenants.map((t) => [tempoExporter(t), exporter(t)])),
    service: {
      extensions: ["health_check"],
      pipelines: {
        "traces/in": {
          receivers: ["otlp"],
          processors: ["memory_limiter", "resource/untrusted", "k8sattributes"],
          exporters: ["routing"],
        },
        ...Object.fromEntries(
          tenants.map((t) => [
            tracesPipeline(t),
            { receivers: ["routing"], processors: ["batch"], exporters: [tempoExporter(t)] },
          ]),
        ),
      },
    },
  };
}

/**
 * The collector release the platform runs, pinned to the version whose components the telemetry suite
 * builds (e2e/tools/otelcol, same component versions) and runs `validate` with on the generated config:
 * the contrib `routing` connector this config needs is served up to v0.149.0.
 */
export const OTEL_COLLECTOR_VERSION = "0.149.0";

export function buildOtelCollectorValues(
  scopes: readonly TenantScope[],
  urls: BackendUrls,
): OtelCollectorValues {
  return {
    mode: "deployment",
    fullnameOverride: OBSERVABILITY_RELEASES.otelCollector,
    replicaCount: 2,
    image: { repository: "otel/opentelemetry-collector-contrib", tag: OTEL_COLLECTOR_VERSION },
    command: { name: "otelcol-contrib" },
    clusterRole: {
      create: true,
      rules: [
        { apiGroups: [""], resources: ["pods", "namespaces"], verbs: ["get", "watch", "list"] },
        { apiGroups: ["apps"], resources: ["replicasets"], verbs: ["get", "watch", "list"] },
      ],
    },
    // OTLP only: MI exports OTLP gRPC.
    ports: {
      "jaeger-compact": { enabled: false },
      "jaeger-thrift": { enabled: false },
      "jaeger-grpc": { enabled: false },
      zipkin: { enabled: false },
    },
    alternateConfig: buildOtelCollectorConfig(scopes, urls),
  };
}
