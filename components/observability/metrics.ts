/**
 * The ONE list of Prometheus metric names the platform's dashboards, alerts and recording rules rely
 * on, each with where it comes from. A test extracts every metric name from every PromQL expression the
 * platform ships and fails on any name not listed here, so a renamed or invented metric cannot slip in.
 */

export type MetricType = "counter" | "gauge" | "histogram" | "summary";

export type MetricSource =
  /** WSO2 MI's Prometheus handler (`MetricHandler` synapse handler + `-DenablePrometheusApi=true`). */
  | "wso2-mi"
  /** JVM metrics MI registers through the Prometheus simpleclient_hotspot `DefaultExports`. */
  | "jvm-hotspot"
  | "kube-state-metrics"
  /** Series Prometheus itself synthesizes (`up`, `ALERTS`). */
  | "prometheus"
  | "argo-cd"
  /** Recording rules this platform defines (alerts.ts). */
  | "imaas-recording-rule";

export interface MetricDef {
  readonly name: string;
  readonly type: MetricType;
  readonly source: MetricSource;
  /** Where the name is confirmed. */
  readonly reference: string;
  readonly help: string;
}

const MI_CONSTANTS =
  "wso2/micro-integrator components/mediation/data-publishers/org.wso2.micro.integrator.observability/.../util/MetricConstants.java (names), metric/handler/prometheus/reporter/PrometheusReporter.java (types, labels)";
const HOTSPOT =
  "prometheus/client_java simpleclient_hotspot 0.x (MemoryPoolsExports, GarbageCollectorExports)";
const KSM = "kubernetes/kube-state-metrics docs/metrics (workload, pod, resourcequota, hpa)";

function mi<T extends MetricType>(name: string, type: T, help: string): MetricDef & { type: T } {
  return { name, type, source: "wso2-mi", reference: MI_CONSTANTS, help };
}
function ksm<T extends MetricType>(name: string, type: T, help: string): MetricDef & { type: T } {
  return { name, type, source: "kube-state-metrics", reference: KSM, help };
}

export const METRICS = {
  // WSO2 MI, labels service_name, service_type (+ invocation_url for APIs).
  miApiRequests: mi("wso2_integration_api_request_count_total", "counter", "Requests to an API"),
  miApiErrors: mi("wso2_integration_api_request_count_error_total", "counter", "Failed requests to an API"),
  miApiLatency: mi("wso2_integration_api_latency_seconds", "histogram", "API latency"),
  miProxyRequests: mi("wso2_integration_proxy_request_count_total", "counter", "Requests to a proxy service"),
  miProxyErrors: mi(
    "wso2_integration_proxy_request_count_error_total",
    "counter",
    "Failed requests to a proxy service",
  ),
  miProxyLatency: mi("wso2_integration_proxy_latency_seconds", "histogram", "Proxy service latency"),
  miInboundRequests: mi(
    "wso2_integration_inbound_endpoint_request_count_total",
    "counter",
    "Requests to an inbound endpoint",
  ),
  miInboundErrors: mi(
    "wso2_integration_inbound_endpoint_request_count_error_total",
    "counter",
    "Failed requests to an inbound endpoint",
  ),
  miServerUp: mi(
    "wso2_integration_server_up",
    "gauge",
    "Server status: start time (epoch seconds) while up, 0 when shut down",
  ),
  miServiceUp: mi(
    "wso2_integration_service_up",
    "gauge",
    "Artifact status: deploy time while up, 0 when down",
  ),
  // JVM (MI calls DefaultExports.initialize()).
  jvmMemoryUsed: {
    name: "jvm_memory_bytes_used",
    type: "gauge",
    source: "jvm-hotspot",
    reference: HOTSPOT,
    help: "Used bytes of a JVM memory area (area=heap|nonheap)",
  },
  jvmMemoryMax: {
    name: "jvm_memory_bytes_max",
    type: "gauge",
    source: "jvm-hotspot",
    reference: HOTSPOT,
    help: "Max bytes of a JVM memory area",
  },
  jvmGc: {
    name: "jvm_gc_collection_seconds",
    type: "summary",
    source: "jvm-hotspot",
    reference: HOTSPOT,
    help: "Time spent in a garbage collector (label gc)",
  },
  // kube-state-metrics.
  podRestarts: ksm("kube_pod_container_status_restarts_total", "counter", "Container restarts"),
  podPhase: ksm("kube_pod_status_phase", "gauge", "Pod phase (label phase)"),
  podInfo: ksm("kube_pod_info", "gauge", "One series per pod"),
  deploymentAvailable: ksm("kube_deployment_status_replicas_available", "gauge", "Available replicas"),
  deploymentSpecReplicas: ksm("kube_deployment_spec_replicas", "gauge", "Desired replicas"),
  hpaCurrent: ksm("kube_horizontalpodautoscaler_status_current_replicas", "gauge", "HPA current replicas"),
  hpaDesired: ksm("kube_horizontalpodautoscaler_status_desired_replicas", "gauge", "HPA desired replicas"),
  hpaMax: ksm("kube_horizontalpodautoscaler_spec_max_replicas", "gauge", "HPA max replicas"),
  resourceQuota: ksm("kube_resourcequota", "gauge", "Quota per resource, type=hard|used"),
  // Prometheus.
  up: {
    name: "up",
    type: "gauge",
    source: "prometheus",
    reference: "prometheus docs: jobs and instances, automatically generated series",
    help: "1 when the last scrape of a target succeeded",
  },
  alerts: {
    name: "ALERTS",
    type: "gauge",
    source: "prometheus",
    reference: "prometheus docs: alerting rules, inspecting alerts during runtime",
    help: "Pending and firing alerts",
  },
  // Argo CD application controller.
  argocdAppInfo: {
    name: "argocd_app_info",
    type: "gauge",
    source: "argo-cd",
    reference: "argo-cd docs operator-manual/metrics.md (application controller metrics)",
    help: "Application info: name, namespace, dest_namespace, sync_status, health_status",
  },
  // Ours: argocd_app_info relabelled with the destination namespace, so the tenant proxy can scope it.
  argocdAppByNamespace: {
    name: "imaas:argocd_app_info:by_dest_namespace",
    type: "gauge",
    source: "imaas-recording-rule",
    reference: "components/observability/alerts.ts buildRecordingRules",
    help: "argocd_app_info with namespace set to the application's destination namespace",
  },
} as const satisfies Record<string, MetricDef>;

/** Every series name a query may use: histograms add _bucket/_sum/_count, summaries _sum/_count. */
export function seriesNames(): ReadonlySet<string> {
  const names = new Set<string>();
  for (const m of Object.values(METRICS) as MetricDef[]) {
    names.add(m.name);
    if (m.type === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(m.name + s);
    if (m.type === "summary") for (const s of ["_sum", "_count"]) names.add(m.name + s);
  }
  return names;
}

/** `<histogram>_bucket`, typed so a query cannot name a bucket series of a non-histogram. */
export function bucketOf(m: MetricDef & { type: "histogram" }): string {
  return `${m.name}_bucket`;
}

/** `<summary or histogram>_sum`. */
export function sumOf(m: MetricDef & { type: "histogram" | "summary" }): string {
  return `${m.name}_sum`;
}
