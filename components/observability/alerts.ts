/**
 * Alert rules for a tenant's MI services (down, error rate, latency, restarts), one PrometheusRule per
 * tenant namespace, and the platform's recording rules. Each alert carries the `tenant` label (shown in
 * notifications). Rules in a tenant namespace also get their namespace enforced by the Prometheus
 * operator (`enforcedNamespaceLabel`), so they can only ever see that namespace's series, and their
 * alerts carry that namespace, which Alertmanager routes on (alerting.ts).
 */
import type { Environment } from "../../model/environments";
import { bucketOf, METRICS } from "./metrics";
import { TENANT_ALERT_LABEL } from "./alerting";

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: { readonly summary: string; readonly description: string };
}

export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
}

export interface PrometheusRuleSpec {
  readonly groups: readonly {
    readonly name: string;
    readonly interval?: string;
    readonly rules: readonly (AlertRule | RecordingRule)[];
  }[];
}

export interface AlertThresholds {
  /** Share of failed requests, 0..1. @default 0.05 */
  readonly errorRatio: number;
  /** p95 latency in seconds. @default 2 */
  readonly latencyP95Seconds: number;
  /** Restarts within 15 minutes. @default 2 */
  readonly restarts: number;
}

export const DEFAULT_THRESHOLDS: AlertThresholds = { errorRatio: 0.05, latencyP95Seconds: 2, restarts: 2 };

/** The MI alert rules of one tenant namespace. */
export function buildMiAlertRules(
  tenant: string,
  env: Environment,
  namespace: string,
  thresholds: AlertThresholds = DEFAULT_THRESHOLDS,
): PrometheusRuleSpec {
  const m = METRICS;
  const sel = `namespace="${namespace}"`;
  const severity = env === "prod" ? "critical" : "warning";
  const labels = { [TENANT_ALERT_LABEL]: tenant, environment: env, severity };
  const errorRatio = (requests: string, errors: string) =>
    `sum by (namespace, service_name) (rate(${errors}{${sel}}[5m])) / sum by (namespace, service_name) (rate(${requests}{${sel}}[5m])) > ${thresholds.errorRatio}`;
  const latency = (bucket: string) =>
    `histogram_quantile(0.95, sum by (namespace, service_name, le) (rate(${bucket}{${sel}}[5m]))) > ${thresholds.latencyP95Seconds}`;
  const rules: AlertRule[] = [
    {
      alert: "MIInstanceDown",
      expr: `${m.up.name}{${sel}} == 0`,
      for: "5m",
      labels,
      annotations: {
        summary: "An MI instance cannot be scraped",
        description: `{{ $labels.pod }} in ${namespace} has not answered on its metrics endpoint for 5 minutes.`,
      },
    },
    {
      alert: "MIServiceUnavailable",
      expr: `${m.deploymentAvailable.name}{${sel}} == 0 and ${m.deploymentSpecReplicas.name}{${sel}} > 0`,
      for: "5m",
      labels,
      annotations: {
        summary: "An MI service has no available replica",
        description: `Deployment {{ $labels.deployment }} in ${namespace} has had no available replica for 5 minutes.`,
      },
    },
    {
      alert: "MIHighErrorRate",
      expr: `(${errorRatio(m.miApiRequests.name, m.miApiErrors.name)}) or (${errorRatio(m.miProxyRequests.name, m.miProxyErrors.name)})`,
      for: "10m",
      labels,
      annotations: {
        summary: "MI error rate is high",
        description: `More than ${thresholds.errorRatio * 100}% of requests to {{ $labels.service_name }} in ${namespace} fail.`,
      },
    },
    {
      alert: "MIHighLatency",
      expr: `(${latency(bucketOf(m.miApiLatency))}) or (${latency(bucketOf(m.miProxyLatency))})`,
      for: "10m",
      labels,
      annotations: {
        summary: "MI latency is high",
        description: `p95 latency of {{ $labels.service_name }} in ${namespace} is above ${thresholds.latencyP95Seconds}s.`,
      },
    },
    {
      alert: "MIPodRestarting",
      expr: `increase(${m.podRestarts.name}{${sel}}[15m]) > ${thresholds.restarts}`,
      for: "0m",
      labels,
      annotations: {
        summary: "An MI pod keeps restarting",
        description: `{{ $labels.pod }} in ${namespace} restarted more than ${thresholds.restarts} times in 15 minutes.`,
      },
    },
  ];
  return { groups: [{ name: `imaas-mi-${namespace}`, rules }] };
}

/**
 * Platform recording rules, evaluated in the observability namespace (excluded from namespace
 * enforcement): `argocd_app_info` lives in the argocd namespace, so it is re-recorded with
 * `namespace` = the application's destination namespace, which the tenant's proxy can then scope.
 */
export function buildRecordingRules(): PrometheusRuleSpec {
  const m = METRICS;
  return {
    groups: [
      {
        name: "imaas-argocd",
        interval: "1m",
        rules: [
          {
            record: m.argocdAppByNamespace.name,
            expr: `label_replace(max by (name, dest_namespace, sync_status, health_status) (${m.argocdAppInfo.name}), "namespace", "$1", "dest_namespace", "(.+)")`,
          },
        ],
      },
    ],
  };
}

export function isAlertRule(rule: AlertRule | RecordingRule): rule is AlertRule {
  return "alert" in rule;
}
