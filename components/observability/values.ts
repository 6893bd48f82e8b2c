/**
 * Helm values of the observability charts, built by pure typed functions from the platform config and the
 * tenants' scopes: no Pulumi, no string templates for values (Fluent Bit's classic config and its Lua
 * filter are rendered from typed data by small renderers). Chart keys checked against the pinned chart
 * versions in model/platform-config.ts DEFAULT_CHARTS.
 */
import {
  grafanaHost,
  grafanaReleaseName,
  LABELS,
  membersGroup,
  metricsProxyReleaseName,
  OBSERVABILITY_OBJECTS,
  OBSERVABILITY_RELEASES,
  ownersGroup,
  PLATFORM_TELEMETRY_TENANT,
  grafanaTlsSecretName,
} from "../../model/naming";
import type { PlatformConfig } from "../../model/platform-config";
import {
  type AlertingInput,
  type AlertmanagerConfig,
  alertmanagerSecrets,
  buildAlertmanagerConfig,
} from "./alerting";
import type { GrafanaDashboard } from "./dashboards";
import type { TenantScope } from "./scope";

type ObservabilityConfig = PlatformConfig["observability"];
type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

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

// ---------------------------------------------------------------------------------------------
// kube-prometheus-stack

export interface KubePrometheusStackValues {
  readonly fullnameOverride: string;
  readonly grafana: { readonly enabled: false };
  readonly prometheus: {
    readonly prometheusSpec: {
      readonly retention: string;
      readonly storageSpec: {
        readonly volumeClaimTemplate: {
          readonly spec: {
            readonly accessModes: readonly string[];
            readonly resources: { readonly requests: { readonly storage: string } };
          };
        };
      };
      readonly serviceMonitorSelectorNilUsesHelmValues: false;
      readonly podMonitorSelectorNilUsesHelmValues: false;
      readonly ruleSelectorNilUsesHelmValues: false;
      readonly probeSelectorNilUsesHelmValues: false;
      readonly scrapeConfigSelectorNilUsesHelmValues: false;
      readonly serviceMonitorNamespaceSelector: Record<string, never>;
      readonly podMonitorNamespaceSelector: Record<string, never>;
      readonly ruleNamespaceSelector: Record<string, never>;
      /** Every metric and rule from a tenant's ServiceMonitor/PrometheusRule gets namespace=<its namespace>. */
      readonly enforcedNamespaceLabel: "namespace";
      readonly excludedFromEnforcement: readonly {
        readonly group: string;
        readonly resource: string;
        readonly namespace: string;
      }[];
    };
  };
  readonly alertmanager: {
    readonly config: AlertmanagerConfig;
    /** Secrets the operator mounts at `/etc/alertmanager/secrets/<name>/` (webhook URLs, SMTP password). */
    readonly alertmanagerSpec: { readonly secrets: readonly string[] };
  };
}

export function buildKubePrometheusStackValues(
  obs: ObservabilityConfig,
  alerting: AlertingInput,
): KubePrometheusStackValues {
  const own = (resource: string) => ({
    group: "monitoring.coreos.com",
    resource,
    namespace: obs.namespace,
  });
  return {
    fullnameOverride: OBSERVABILITY_RELEASES.prometheus,
    // Each tenant gets its own Grafana (grafana.ts); the stack's shared one would see every tenant.
    grafana: { enabled: false },
    prometheus: {
      prometheusSpec: {
        retention: obs.metricsRetention,
        storageSpec: {
          volumeClaimTemplate: {
            spec: {
              accessModes: ["ReadWriteOnce"],
              resources: { requests: { storage: obs.metricsStorage } },
            },
          },
        },
        serviceMonitorSelectorNilUsesHelmValues: false,
        podMonitorSelectorNilUsesHelmValues: false,
        ruleSelectorNilUsesHelmValues: false,
        probeSelectorNilUsesHelmValues: false,
        scrapeConfigSelectorNilUsesHelmValues: false,
        serviceMonitorNamespaceSelector: {},
        podMonitorNamespaceSelector: {},
        ruleNamespaceSelector: {},
        enforcedNamespaceLabel: "namespace",
        // The stack's own monitors (kube-state-metrics, kubelet, …) keep the namespace label of the
        // series they export; only objects outside the observability namespace are forced.
        excludedFromEnforcement: [own("servicemonitors"), own("podmonitors"), own("prometheusrules")],
      },
    },
    alertmanager: {
      config: buildAlertmanagerConfig(alerting),
      alertmanagerSpec: { secrets: alertmanagerSecrets(alerting) },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Loki

export interface LokiValues {
  readonly fullnameOverride: string;
  readonly deploymentMode: "SingleBinary";
  readonly loki: {
    readonly auth_enabled: true;
    readonly commonConfig: { readonly replication_factor: number };
    readonly storage: { readonly type: "filesystem" };
    readonly schemaConfig: {
      readonly configs: readonly {
        readonly from: string;
        readonly store: "tsdb";
        readonly object_store: "filesystem";
        readonly schema: "v13";
        readonly index: { readonly prefix: string; readonly period: "24h" };
      }[];
    };
    readonly limits_config: { readonly retention_period: string };
    readonly compactor: {
      readonly retention_enabled: true;
      readonly delete_request_store: "filesystem";
      readonly working_directory: string;
    };
  };
  readonly singleBinary: { readonly replicas: number; readonly persistence: { readonly size: string } };
  readonly read: { readonly replicas: 0 };
  readonly write: { readonly replicas: 0 };
  readonly backend: { readonly replicas: 0 };
  readonly chunksCache: { readonly enabled: boolean };
  readonly resultsCache: { readonly enabled: boolean };
}

/**
 * Loki in multi-tenant mode (every push and query needs `X-Scope-OrgID`), single binary on a volume,
 * retention enforced by the compactor. Loki requires the retention to be a multiple of the 24h index
 * period, so a value like `36h` is refused here rather than by a crash-looping pod.
 */
export function buildLokiValues(obs: ObservabilityConfig): LokiValues {
  const hours = retentionHours(obs.logsRetention);
  if (hours % 24 !== 0) {
    throw new Error(
      `imaas:observability.logsRetention: "${obs.logsRetention}" must be a multiple of 24h (Loki's index period)`,
    );
  }
  return {
    fullnameOverride: OBSERVABILITY_RELEASES.loki,
    deploymentMode: "SingleBinary",
    loki: {
      auth_enabled: true,
      commonConfig: { replication_factor: 1 },
      storage: { type: "filesystem" },
      schemaConfig: {
        configs: [
          {
            from: "2024-04-01",
            store: "tsdb",
            object_store: "filesystem",
            schema: "v13",
            index: { prefix: "loki_index_", period: "24h" },
          },
        ],
      },
      limits_config: { retention_period: `${hours}h` },
      compactor: {
        retention_enabled: true,
        delete_request_store: "filesystem",
        working_directory: "/var/loki/compactor",
      },
    },
    singleBinary: { replicas: 1, persistence: { size: "50Gi" } },
    read: { replicas: 0 },
    write: { replicas: 0 },
    backend: { replicas: 0 },
    // The memcached caches reserve several GiB by default; a single-binary Loki does without them.
    chunksCache: { enabled: false },
    resultsCache: { enabled: false },
  };
}

// ---------------------------------------------------------------------------------------------
// Fluent Bit

/** One section of Fluent Bit's classic configuration, as ordered key/value pairs. */
export interface FluentBitSection {
  readonly kind: "SERVICE" | "INPUT" | "FILTER" | "OUTPUT" | "PARSER";
  readonly entries: readonly (readonly [string, string | number])[];
}

/** Renders sections in Fluent Bit's classic format (the chart takes config as text). */
export function renderFluentBitConfig(sections: readonly FluentBitSection[]): string {
  return sections
    .map((s) => {
      for (const [k, v] of s.entries) {
        if (/[\n\r]/.test(`${k}${v}`)) throw new Error(`Fluent Bit ${s.kind} entry ${k} spans lines`);
      }
      return [`[${s.kind}]`, ...s.entries.map(([k, v]) => `    ${k} ${v}`)].join("\n");
    })
    .join("\n\n")
    .concat("\n");
}

/** Record key the tenant is lifted to; the loki output's `tenant_id_key`. */
export const FLUENT_BIT_TENANT_KEY = "imaas_tenant";
export const FLUENT_BIT_LUA_FILE = "imaas-tenant.lua";
export const FLUENT_BIT_LUA_FUNCTION = "imaas_tenant";

/**
 * The Lua filter that sets the Loki tenant of a record. The tenant comes from the namespace label
 * `imaas.io/tenant` (which only the platform can set), and is accepted only when the record's namespace
 * — taken by the kubernetes filter from the log file path, which a pod cannot choose — starts with
 * `<tenant>-`. Anything else (platform namespaces, a missing label) goes to the platform tenant.
 */
export function buildTenantLuaScript(tenantLabel: string, fallbackTenant: string): string {
  const lua = (s: string) => JSON.stringify(s); // a JSON string of printable ASCII is a valid Lua string
  return [
    `function ${FLUENT_BIT_LUA_FUNCTION}(tag, timestamp, record)`,
    `  local tenant = ${lua(fallbackTenant)}`,
    `  local k8s = record["kubernetes"]`,
    `  local ns = record["kubernetes_namespace"]`,
    `  if type(k8s) == "table" and type(ns) == "table" and type(ns["labels"]) == "table" then`,
    `    local label = ns["labels"][${lua(tenantLabel)}]`,
    `    local name = k8s["namespace_name"]`,
    `    if type(label) == "string" and label ~= "" and type(name) == "string"`,
    `      and string.sub(name, 1, string.len(label) + 1) == label .. "-" then`,
    `      tenant = label`,
    `    end`,
    `  end`,
    `  record["kubernetes_namespace"] = nil`,
    `  record[${lua(FLUENT_BIT_TENANT_KEY)}] = tenant`,
    `  return 2, timestamp, record`,
    `end`,
    ``,
  ].join("\n");
}

export interface FluentBitPipeline {
  readonly inputs: readonly FluentBitSection[];
  readonly filters: readonly FluentBitSection[];
  readonly outputs: readonly FluentBitSection[];
}

export function buildFluentBitPipeline(urls: BackendUrls): FluentBitPipeline {
  return {
    inputs: [
      {
        kind: "INPUT",
        entries: [
          ["Name", "tail"],
          ["Path", "/var/log/containers/*.log"],
          ["multiline.parser", "docker, cri"],
          ["Tag", "kube.*"],
          ["Mem_Buf_Limit", "50MB"],
          ["Skip_Long_Lines", "On"],
          ["DB", "/var/log/imaas-fluent-bit.db"],
        ],
      },
    ],
    filters: [
      {
        kind: "FILTER",
        entries: [
          ["Name", "kubernetes"],
          ["Match", "kube.*"],
          // JSON log lines are merged under their own key, so a log line cannot forge top-level keys.
          ["Merge_Log", "On"],
          ["Merge_Log_Key", "log_processed"],
          ["Keep_Log", "Off"],
          ["K8S-Logging.Parser", "On"],
          ["K8S-Logging.Exclude", "Off"],
          ["Labels", "On"],
          ["Annotations", "Off"],
          // Namespace labels land in the record key `kubernetes_namespace` (Fluent Bit >= 3.0).
          ["Namespace_Labels", "On"],
          ["Kube_Meta_Namespace_Cache_TTL", "300"],
        ],
      },
      {
        kind: "FILTER",
        entries: [
          ["Name", "lua"],
          ["Match", "kube.*"],
          ["script", `/fluent-bit/scripts/${FLUENT_BIT_LUA_FILE}`],
          ["call", FLUENT_BIT_LUA_FUNCTION],
        ],
      },
    ],
    outputs: [
      {
        kind: "OUTPUT",
        entries: [
          ["Name", "loki"],
          ["Match", "kube.*"],
          ["Host", urls.lokiHost],
          ["Port", urls.lokiPort],
          ["tenant_id_key", FLUENT_BIT_TENANT_KEY],
          ["tenant_id", PLATFORM_TELEMETRY_TENANT],
          [
            "labels",
            "job=fluent-bit, namespace=$kubernetes['namespace_name'], pod=$kubernetes['pod_name'], container=$kubernetes['container_name']",
          ],
          ["remove_keys", FLUENT_BIT_TENANT_KEY],
          ["line_format", "json"],
          ["Retry_Limit", "False"],
        ],
      },
    ],
  };
}

export interface FluentBitValues {
  readonly kind: "DaemonSet";
  readonly fullnameOverride: string;
  readonly luaScripts: Readonly<Record<string, string>>;
  readonly config: {
    readonly inputs: string;
    readonly filters: string;
    readonly outputs: string;
  };
  readonly tolerations: readonly { readonly operator: "Exists" }[];
}

export function buildFluentBitValues(urls: BackendUrls): FluentBitValues {
  const p = buildFluentBitPipeline(urls);
  return {
    kind: "DaemonSet",
    fullnameOverride: OBSERVABILITY_RELEASES.fluentBit,
    luaScripts: { [FLUENT_BIT_LUA_FILE]: buildTenantLuaScript(LABELS.tenant, PLATFORM_TELEMETRY_TENANT) },
    config: {
      inputs: renderFluentBitConfig(p.inputs),
      filters: renderFluentBitConfig(p.filters),
      outputs: renderFluentBitConfig(p.outputs),
    },
    // Logs from every node, tainted ones included.
    tolerations: [{ operator: "Exists" }],
  };
}

// ---------------------------------------------------------------------------------------------
// Tempo

export interface TempoValues {
  readonly fullnameOverride: string;
  readonly multitenancyEnabled: true;
  readonly traces: {
    readonly otlp: { readonly grpc: { readonly enabled: true }; readonly http: { readonly enabled: true } };
  };
  readonly compactor: {
    readonly config: { readonly compaction: { readonly block_retention: string } };
  };
}

export function buildTempoValues(obs: ObservabilityConfig): TempoValues {
  return {
    fullnameOverride: OBSERVABILITY_RELEASES.tempo,
    multitenancyEnabled: true,
    traces: { otlp: { grpc: { enabled: true }, http: { enabled: true } } },
    compactor: {
      config: { compaction: { block_retention: `${retentionHours(obs.tracesRetention)}h` } },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// OpenTelemetry Collector

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

// ---------------------------------------------------------------------------------------------
// prom-label-proxy (one per tenant and cluster)

export interface PromLabelProxyValues {
  readonly fullnameOverride: string;
  readonly replicaCount: number;
  readonly podLabels: Readonly<Record<string, string>>;
  readonly config: {
    readonly upstream: string;
    readonly label: "namespace";
    readonly extraArgs: readonly string[];
  };
}

/**
 * A proxy pinned to the tenant's exact namespaces: repeated `--label-value` flags make it inject
 * `namespace=~"<ns1>|<ns2>"` (values regex-quoted by the proxy) into every query, and
 * `--error-on-replace` refuses a query that names another namespace instead of silently rewriting it.
 */
export function buildPromLabelProxyValues(scope: TenantScope, urls: BackendUrls): PromLabelProxyValues {
  return {
    fullnameOverride: metricsProxyReleaseName(scope.tenant),
    replicaCount: 1,
    podLabels: { [LABELS.tenant]: scope.tenant },
    config: {
      upstream: urls.prometheus,
      label: "namespace",
      extraArgs: [
        ...scope.namespaces.map((ns) => `--label-value=${ns}`),
        "--error-on-replace=true",
        "--enable-label-apis=true",
      ],
    },
  };
}

/** The prom-label-proxy chart's default listen address (`config.listenAddress`). */
export const PROM_LABEL_PROXY_LISTEN = "0.0.0.0:8080";

/**
 * The proxy's command line as the chart renders it from these values: its deployment template passes
 * `--insecure-listen-address=<config.listenAddress>`, `--upstream=<config.upstream>`, `--label=<config.label>`,
 * then `config.extraArgs` as given (prometheus-community/helm-charts, charts/prom-label-proxy/templates/
 * deployment.yaml). The telemetry suite runs the real proxy with exactly these arguments.
 */
export function promLabelProxyArgs(
  values: PromLabelProxyValues,
  listenAddress = PROM_LABEL_PROXY_LISTEN,
): string[] {
  return [
    `--insecure-listen-address=${listenAddress}`,
    `--upstream=${values.config.upstream}`,
    `--label=${values.config.label}`,
    ...values.config.extraArgs,
  ];
}

/** The namespace values a tenant's proxy enforces, read back from its values (tests, plan). */
export function enforcedNamespaces(values: PromLabelProxyValues): string[] {
  return values.config.extraArgs
    .filter((a) => a.startsWith("--label-value="))
    .map((a) => a.slice("--label-value=".length));
}

// ---------------------------------------------------------------------------------------------
// Grafana (one per tenant and cluster)

export interface GrafanaDataSource {
  readonly name: string;
  readonly type: "prometheus" | "loki" | "tempo";
  readonly uid: string;
  readonly access: "proxy";
  readonly url: string;
  readonly isDefault: boolean;
  readonly editable: false;
  readonly jsonData: Readonly<Record<string, Json>>;
  readonly secureJsonData?: Readonly<Record<string, string>>;
}

export const DATASOURCE_UIDS = { prometheus: "prometheus", loki: "loki", tempo: "tempo" } as const;

/** The tenant's data sources: each one scoped to the tenant alone. */
export function buildTenantDataSources(
  scope: TenantScope,
  urls: BackendUrls,
  proxyUrl: string,
): GrafanaDataSource[] {
  const tenantHeader = {
    jsonData: { httpHeaderName1: TENANT_HEADER },
    secureJsonData: { httpHeaderValue1: scope.telemetryTenant },
  };
  return [
    {
      name: "Prometheus",
      type: "prometheus",
      uid: DATASOURCE_UIDS.prometheus,
      access: "proxy",
      url: proxyUrl,
      isDefault: true,
      editable: false,
      jsonData: { httpMethod: "POST", timeInterval: "30s" },
    },
    {
      name: "Loki",
      type: "loki",
      uid: DATASOURCE_UIDS.loki,
      access: "proxy",
      url: urls.loki,
      isDefault: false,
      editable: false,
      jsonData: { ...tenantHeader.jsonData, maxLines: 1000 },
      secureJsonData: tenantHeader.secureJsonData,
    },
    {
      name: "Tempo",
      type: "tempo",
      uid: DATASOURCE_UIDS.tempo,
      access: "proxy",
      url: urls.tempoQuery,
      isDefault: false,
      editable: false,
      jsonData: {
        ...tenantHeader.jsonData,
        tracesToLogsV2: { datasourceUid: DATASOURCE_UIDS.loki, filterByTraceID: true },
      },
      secureJsonData: tenantHeader.secureJsonData,
    },
  ];
}

export interface GrafanaOidc {
  readonly authUrl: string;
  readonly tokenUrl: string;
  readonly apiUrl: string;
  readonly clientId: string;
  readonly groupsClaim: string;
}

export interface GrafanaInput {
  readonly scope: TenantScope;
  readonly cluster: string;
  readonly domain: string;
  readonly namespace: string;
  readonly ingressClassName: string;
  /** cert-manager issuer of the Grafana host's certificate (`imaas:certManager.issuer`/`issuerKind`). */
  readonly certIssuer: { readonly name: string; readonly kind: "ClusterIssuer" | "Issuer" };
  readonly groupPrefix: string;
  readonly platformAdminsGroup: string;
  readonly oidc?: GrafanaOidc;
  /** Whether the admin credentials Secret exists (`imaas:grafanaAdminPassword` set). */
  readonly adminSecret: boolean;
  readonly dashboards: readonly GrafanaDashboard[];
}

export interface GrafanaValues {
  readonly fullnameOverride: string;
  readonly podLabels: Readonly<Record<string, string>>;
  readonly admin?: {
    readonly existingSecret: string;
    readonly userKey: string;
    readonly passwordKey: string;
  };
  readonly envFromSecret?: string;
  readonly ingress: {
    readonly enabled: true;
    readonly ingressClassName: string;
    readonly annotations: Readonly<Record<string, string>>;
    readonly hosts: readonly string[];
    readonly tls: readonly { readonly secretName: string; readonly hosts: readonly string[] }[];
  };
  readonly "grafana.ini": Readonly<Record<string, Readonly<Record<string, string | boolean>>>>;
  readonly datasources: {
    readonly "datasources.yaml": {
      readonly apiVersion: 1;
      readonly datasources: readonly GrafanaDataSource[];
    };
  };
  readonly dashboardProviders: {
    readonly "dashboardproviders.yaml": {
      readonly apiVersion: 1;
      readonly providers: readonly {
        readonly name: string;
        readonly orgId: 1;
        readonly folder: string;
        readonly type: "file";
        readonly disableDeletion: true;
        readonly editable: false;
        readonly allowUiUpdates: false;
        readonly options: { readonly path: string };
      }[];
    };
  };
  readonly dashboards: Readonly<Record<string, Readonly<Record<string, { readonly json: string }>>>>;
}

/**
 * JMESPath mapping the tenant's groups to Grafana roles: platform admins Admin, owners Editor, members
 * Viewer. Owners are deliberately not Admin: a Grafana Admin can add a data source, and with it send any
 * `X-Scope-OrgID`. With `role_attribute_strict` a user in none of the groups cannot log in at all.
 */
export function grafanaRoleMapping(
  claim: string,
  tenant: string,
  groupPrefix: string,
  platformAdminsGroup: string,
): string {
  const has = (g: string) => `contains(${claim}[*], '${g}')`;
  return [
    `${has(platformAdminsGroup)} && 'Admin'`,
    `${has(ownersGroup(groupPrefix, tenant))} && 'Editor'`,
    `${has(membersGroup(groupPrefix, tenant))} && 'Viewer'`,
  ].join(" || ");
}

export const DASHBOARD_PROVIDER = "imaas";

export function buildGrafanaValues(input: GrafanaInput): GrafanaValues {
  const { scope } = input;
  const host = grafanaHost(scope.tenant, input.cluster, input.domain);
  const urls = backendUrls(input.namespace);
  const oidc = input.oidc;
  const ini: Record<string, Record<string, string | boolean>> = {
    server: { domain: host, root_url: `https://${host}` },
    "auth.anonymous": { enabled: false },
    users: { allow_sign_up: false, allow_org_create: false },
    auth: { disable_login_form: oidc !== undefined },
  };
  if (oidc) {
    ini["auth.generic_oauth"] = {
      enabled: true,
      name: "IMaaS SSO",
      client_id: oidc.clientId,
      // client_secret arrives as GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET from the grafana-oidc Secret.
      auth_url: oidc.authUrl,
      token_url: oidc.tokenUrl,
      api_url: oidc.apiUrl,
      scopes: "openid profile email",
      use_pkce: true,
      allow_sign_up: true,
      groups_attribute_path: oidc.groupsClaim,
      allowed_groups: [
        input.platformAdminsGroup,
        ownersGroup(input.groupPrefix, scope.tenant),
        membersGroup(input.groupPrefix, scope.tenant),
      ].join(" "),
      role_attribute_path: grafanaRoleMapping(
        oidc.groupsClaim,
        scope.tenant,
        input.groupPrefix,
        input.platformAdminsGroup,
      ),
      role_attribute_strict: true,
      allow_assign_grafana_admin: false,
    };
  }
  const dataSources = buildTenantDataSources(scope, urls, metricsProxyUrl(input.namespace, scope.tenant));
  return {
    fullnameOverride: grafanaReleaseName(scope.tenant),
    podLabels: { [LABELS.tenant]: scope.tenant },
    ...(input.adminSecret
      ? {
          admin: {
            existingSecret: OBSERVABILITY_OBJECTS.grafanaAdminSecret,
            userKey: "admin-user",
            passwordKey: "admin-password",
          },
        }
      : {}),
    ...(oidc ? { envFromSecret: OBSERVABILITY_OBJECTS.grafanaOidcSecret } : {}),
    ingress: {
      enabled: true,
      ingressClassName: input.ingressClassName,
      // A TLS entry without a secretName is served with the ingress controller's fake certificate;
      // cert-manager's ingress-shim issues the named Secret from the annotation.
      annotations: {
        [input.certIssuer.kind === "ClusterIssuer"
          ? "cert-manager.io/cluster-issuer"
          : "cert-manager.io/issuer"]: input.certIssuer.name,
      },
      hosts: [host],
      tls: [{ secretName: grafanaTlsSecretName(scope.tenant), hosts: [host] }],
    },
    "grafana.ini": ini,
    datasources: {
      "datasources.yaml": {
        apiVersion: 1,
        datasources: dataSources,
      },
    },
    dashboardProviders: {
      "dashboardproviders.yaml": {
        apiVersion: 1,
        providers: [
          {
            name: DASHBOARD_PROVIDER,
            orgId: 1,
            folder: "IMaaS",
            type: "file",
            disableDeletion: true,
            editable: false,
            allowUiUpdates: false,
            options: { path: `/var/lib/grafana/dashboards/${DASHBOARD_PROVIDER}` },
          },
        ],
      },
    },
    dashboards: {
      [DASHBOARD_PROVIDER]: Object.fromEntries(
        input.dashboards.map((d) => [d.uid, { json: JSON.stringify(d) }]),
      ),
    },
  };
}
