/**
 * Dashboards as code: the MI service dashboard and the tenant overview, as Grafana dashboard JSON built
 * by typed functions. Queries name metrics only through metrics.ts. The dashboards are the same for
 * every tenant: each tenant's Grafana reads through data sources scoped to that tenant, so the
 * `namespace` variable only ever lists the tenant's own namespaces.
 */
import { bucketOf, METRICS, sumOf } from "./metrics";

export type DataSourceKind = "prometheus" | "loki" | "tempo";

export interface DataSourceRef {
  readonly type: DataSourceKind;
  readonly uid: string;
}

/** Data source uids provisioned in every tenant Grafana (values/grafana.ts DATASOURCE_UIDS). */
export const DS: Readonly<Record<DataSourceKind, DataSourceRef>> = {
  prometheus: { type: "prometheus", uid: "prometheus" },
  loki: { type: "loki", uid: "loki" },
  tempo: { type: "tempo", uid: "tempo" },
};

export interface DashboardTarget {
  readonly refId: string;
  readonly datasource: DataSourceRef;
  /** PromQL for Prometheus targets, LogQL for Loki targets. */
  readonly expr: string;
  readonly legendFormat?: string;
  readonly instant?: boolean;
}

export interface GridPos {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

export interface DashboardPanel {
  readonly id: number;
  readonly type: "timeseries" | "stat" | "table" | "logs";
  readonly title: string;
  readonly description?: string;
  readonly gridPos: GridPos;
  readonly datasource: DataSourceRef;
  readonly targets: readonly DashboardTarget[];
  readonly fieldConfig: { readonly defaults: { readonly unit?: string }; readonly overrides: readonly [] };
}

export interface QueryVariable {
  readonly type: "query";
  readonly name: string;
  readonly label: string;
  readonly datasource: DataSourceRef;
  /** `label_values(<metric>, <label>)`. */
  readonly query: { readonly query: string; readonly refId: string };
  readonly multi: true;
  readonly includeAll: true;
  readonly refresh: 2;
}

export interface GrafanaDashboard {
  readonly uid: string;
  readonly title: string;
  readonly tags: readonly string[];
  readonly editable: false;
  readonly schemaVersion: number;
  readonly version: number;
  readonly time: { readonly from: string; readonly to: string };
  readonly refresh: string;
  readonly templating: { readonly list: readonly QueryVariable[] };
  readonly panels: readonly DashboardPanel[];
}

const NS = 'namespace=~"$namespace"';
const PANEL_W = 12;
const PANEL_H = 8;

interface PanelSpec {
  readonly title: string;
  readonly type?: DashboardPanel["type"];
  readonly unit?: string;
  readonly description?: string;
  readonly datasource?: DataSourceRef;
  readonly queries: readonly {
    readonly expr: string;
    readonly legend?: string;
    readonly instant?: boolean;
  }[];
  /** Full width. */
  readonly wide?: boolean;
}

/** Lays panels out two per row (wide ones alone) and numbers them. */
export function layoutPanels(specs: readonly PanelSpec[]): DashboardPanel[] {
  let x = 0;
  let y = 0;
  return specs.map((spec, i) => {
    const w = spec.wide ? 24 : PANEL_W;
    if (x + w > 24) {
      x = 0;
      y += PANEL_H;
    }
    const datasource = spec.datasource ?? DS.prometheus;
    const panel: DashboardPanel = {
      id: i + 1,
      type: spec.type ?? "timeseries",
      title: spec.title,
      ...(spec.description ? { description: spec.description } : {}),
      gridPos: { x, y, w, h: PANEL_H },
      datasource,
      targets: spec.queries.map((q, j) => ({
        refId: String.fromCharCode(65 + j),
        datasource,
        expr: q.expr,
        ...(q.legend ? { legendFormat: q.legend } : {}),
        ...(q.instant ? { instant: true } : {}),
      })),
      fieldConfig: { defaults: spec.unit ? { unit: spec.unit } : {}, overrides: [] },
    };
    x += w;
    if (x >= 24) {
      x = 0;
      y += PANEL_H;
    }
    return panel;
  });
}

function namespaceVariable(): QueryVariable {
  return {
    type: "query",
    name: "namespace",
    label: "Environment namespace",
    datasource: DS.prometheus,
    query: { query: `label_values(${METRICS.podInfo.name}, namespace)`, refId: "namespace" },
    multi: true,
    includeAll: true,
    refresh: 2,
  };
}

function dashboard(uid: string, title: string, panels: readonly PanelSpec[]): GrafanaDashboard {
  return {
    uid,
    title,
    tags: ["imaas", "wso2-mi"],
    editable: false,
    schemaVersion: 39,
    version: 1,
    time: { from: "now-6h", to: "now" },
    refresh: "30s",
    templating: { list: [namespaceVariable()] },
    panels: layoutPanels(panels),
  };
}

const rate = (metric: string) => `rate(${metric}{${NS}}[5m])`;
const p95 = (bucket: string) =>
  `histogram_quantile(0.95, sum by (namespace, service_name, le) (${rate(bucket)}))`;

export const MI_DASHBOARD_UID = "imaas-mi-service";
export const TENANT_OVERVIEW_UID = "imaas-tenant-overview";

/** Request rate, errors and latency per API and proxy; JVM memory and GC; restarts; HPA; logs. */
export function buildMiServiceDashboard(): GrafanaDashboard {
  const m = METRICS;
  return dashboard(MI_DASHBOARD_UID, "WSO2 MI services", [
    {
      title: "MI servers up",
      type: "stat",
      queries: [{ expr: `count by (namespace) (${m.miServerUp.name}{${NS}} > 0)`, legend: "{{namespace}}" }],
    },
    {
      title: "Deployed artifacts up",
      type: "stat",
      queries: [{ expr: `count by (namespace) (${m.miServiceUp.name}{${NS}} > 0)`, legend: "{{namespace}}" }],
    },
    {
      title: "API request rate",
      unit: "reqps",
      queries: [
        {
          expr: `sum by (namespace, service_name) (${rate(m.miApiRequests.name)})`,
          legend: "{{namespace}} {{service_name}}",
        },
      ],
    },
    {
      title: "Proxy service request rate",
      unit: "reqps",
      queries: [
        {
          expr: `sum by (namespace, service_name) (${rate(m.miProxyRequests.name)})`,
          legend: "{{namespace}} {{service_name}}",
        },
      ],
    },
    {
      title: "API errors",
      unit: "reqps",
      queries: [
        {
          expr: `sum by (namespace, service_name) (${rate(m.miApiErrors.name)})`,
          legend: "{{namespace}} {{service_name}}",
        },
      ],
    },
    {
      title: "Proxy service errors",
      unit: "reqps",
      queries: [
        {
          expr: `sum by (namespace, service_name) (${rate(m.miProxyErrors.name)})`,
          legend: "{{namespace}} {{service_name}}",
        },
      ],
    },
    {
      title: "API latency p95",
      unit: "s",
      queries: [{ expr: p95(bucketOf(m.miApiLatency)), legend: "{{namespace}} {{service_name}}" }],
    },
    {
      title: "Proxy service latency p95",
      unit: "s",
      queries: [{ expr: p95(bucketOf(m.miProxyLatency)), legend: "{{namespace}} {{service_name}}" }],
    },
    {
      title: "Inbound endpoint requests and errors",
      unit: "reqps",
      queries: [
        {
          expr: `sum by (namespace, service_name) (${rate(m.miInboundRequests.name)})`,
          legend: "{{service_name}} requests",
        },
        {
          expr: `sum by (namespace, service_name) (${rate(m.miInboundErrors.name)})`,
          legend: "{{service_name}} errors",
        },
      ],
    },
    {
      title: "JVM heap",
      unit: "bytes",
      queries: [
        { expr: `sum by (pod) (${m.jvmMemoryUsed.name}{${NS}, area="heap"})`, legend: "{{pod}} used" },
        { expr: `sum by (pod) (${m.jvmMemoryMax.name}{${NS}, area="heap"})`, legend: "{{pod}} max" },
      ],
    },
    {
      title: "GC time",
      unit: "percentunit",
      queries: [{ expr: `sum by (pod, gc) (${rate(sumOf(m.jvmGc))})`, legend: "{{pod}} {{gc}}" }],
    },
    {
      title: "Pod restarts (1h)",
      queries: [
        {
          expr: `sum by (namespace, pod) (increase(${m.podRestarts.name}{${NS}}[1h]))`,
          legend: "{{namespace}} {{pod}}",
        },
      ],
    },
    {
      title: "HPA replicas",
      queries: [
        {
          expr: `sum by (namespace, horizontalpodautoscaler) (${m.hpaCurrent.name}{${NS}})`,
          legend: "{{horizontalpodautoscaler}} current",
        },
        {
          expr: `sum by (namespace, horizontalpodautoscaler) (${m.hpaDesired.name}{${NS}})`,
          legend: "{{horizontalpodautoscaler}} desired",
        },
        {
          expr: `sum by (namespace, horizontalpodautoscaler) (${m.hpaMax.name}{${NS}})`,
          legend: "{{horizontalpodautoscaler}} max",
        },
      ],
    },
    {
      title: "Error logs",
      type: "logs",
      wide: true,
      datasource: DS.loki,
      queries: [{ expr: `{${NS}} |~ "(?i)error|exception"` }],
    },
  ]);
}

/** Quota use per namespace, pods, Argo CD sync status, firing alerts. */
export function buildTenantOverviewDashboard(): GrafanaDashboard {
  const m = METRICS;
  const quota = (type: "used" | "hard") =>
    `sum by (namespace, resource) (${m.resourceQuota.name}{${NS}, type="${type}"})`;
  return dashboard(TENANT_OVERVIEW_UID, "Tenant overview", [
    {
      title: "Quota used",
      unit: "percentunit",
      description: "Used / hard per resource and namespace",
      queries: [{ expr: `${quota("used")} / ${quota("hard")}`, legend: "{{namespace}} {{resource}}" }],
    },
    {
      title: "Pods by phase",
      queries: [
        {
          expr: `sum by (namespace, phase) (${m.podPhase.name}{${NS}})`,
          legend: "{{namespace}} {{phase}}",
        },
      ],
    },
    {
      title: "Argo CD applications",
      type: "table",
      queries: [
        {
          expr: `max by (name, namespace, sync_status, health_status) (${m.argocdAppByNamespace.name}{${NS}})`,
          instant: true,
        },
      ],
    },
    {
      title: "Unavailable deployments",
      queries: [
        {
          expr: `sum by (namespace, deployment) (${m.deploymentSpecReplicas.name}{${NS}} - ${m.deploymentAvailable.name}{${NS}})`,
          legend: "{{namespace}} {{deployment}}",
        },
      ],
    },
    {
      title: "Firing alerts",
      type: "table",
      wide: true,
      queries: [
        {
          expr: `sum by (alertname, namespace, severity) (${m.alerts.name}{${NS}, alertstate="firing"})`,
          instant: true,
        },
      ],
    },
  ]);
}

/** Every dashboard provisioned into a tenant's Grafana. */
export function tenantDashboards(): GrafanaDashboard[] {
  return [buildMiServiceDashboard(), buildTenantOverviewDashboard()];
}
