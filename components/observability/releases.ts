/**
 * The shared backends of one cluster as Helm releases (`helm.v3.Release`: Helm runs in the provider, the
 * chart and version come pinned from config.charts), plus the namespace that holds them and the
 * platform recording rules.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { OBSERVABILITY_OBJECTS, OBSERVABILITY_RELEASES } from "../../model/naming";
import type { ChartRef, ClusterConfig } from "../../model/platform-config";
import type { PlatformContext } from "../shared/context";
import { platformLabels } from "../shared/labels";
import { createAlertSecrets } from "./alert-secrets";
import type { AlertingInput } from "./alerting";
import { buildRecordingRules } from "./alerts";
import type { TenantScope } from "./scope";
import type { BackendUrls } from "./values/backends";
import { buildFluentBitValues } from "./values/fluent-bit";
import { buildKubePrometheusStackValues } from "./values/kube-prometheus-stack";
import { buildLokiValues } from "./values/loki";
import { buildOtelCollectorValues } from "./values/otel-collector";
import { buildTempoValues } from "./values/tempo";

/** Pod Security Standards version the namespace pins. */
export const OBSERVABILITY_PSA_VERSION = "v1.33";

/**
 * The observability namespace runs the node agents: the node exporter (hostNetwork, hostPID, hostPath)
 * and Fluent Bit (hostPath /var/log). Both are refused by the `baseline` profile, so the namespace
 * enforces `privileged`, and audits and warns at `baseline` so anything else that needs more shows up.
 * Tenants have no access to this namespace.
 */
export function observabilityNamespaceLabels(): Record<string, string> {
  return {
    ...platformLabels("observability"),
    "pod-security.kubernetes.io/enforce": "privileged",
    "pod-security.kubernetes.io/enforce-version": OBSERVABILITY_PSA_VERSION,
    "pod-security.kubernetes.io/audit": "baseline",
    "pod-security.kubernetes.io/audit-version": OBSERVABILITY_PSA_VERSION,
    "pod-security.kubernetes.io/warn": "baseline",
    "pod-security.kubernetes.io/warn-version": OBSERVABILITY_PSA_VERSION,
  };
}

/** Typed values objects are plain JSON; Helm takes them as a map. */
export function helmValues<T extends object>(values: T): Record<string, unknown> {
  return values as unknown as Record<string, unknown>;
}

export interface ReleaseSpec {
  /** Pulumi logical name. */
  readonly name: string;
  /** Helm release name. */
  readonly releaseName: string;
  readonly chart: ChartRef;
  readonly namespace: pulumi.Input<string>;
  readonly values: object;
}

export function createRelease(
  spec: ReleaseSpec,
  opts: { parent: pulumi.Resource; provider: k8s.Provider; dependsOn?: pulumi.Resource[] },
): k8s.helm.v3.Release {
  return new k8s.helm.v3.Release(
    spec.name,
    {
      name: spec.releaseName,
      chart: spec.chart.chart,
      version: spec.chart.version,
      repositoryOpts: { repo: spec.chart.repo },
      namespace: spec.namespace,
      createNamespace: false,
      values: helmValues(spec.values),
      maxHistory: 5,
      timeout: 900,
    },
    { parent: opts.parent, provider: opts.provider, dependsOn: opts.dependsOn ?? [] },
  );
}

export interface BackendReleases {
  readonly namespace: k8s.core.v1.Namespace;
  readonly prometheus: k8s.helm.v3.Release;
  readonly loki: k8s.helm.v3.Release;
  readonly fluentBit: k8s.helm.v3.Release;
  readonly tempo: k8s.helm.v3.Release;
  readonly otelCollector: k8s.helm.v3.Release;
  readonly recordingRules: k8s.apiextensions.CustomResource;
}

export function createBackends(
  name: string,
  cluster: ClusterConfig,
  ctx: PlatformContext,
  scopes: readonly TenantScope[],
  alerting: AlertingInput,
  urls: BackendUrls,
  provider: k8s.Provider,
  parent: pulumi.Resource,
): BackendReleases {
  const obs = ctx.config.observability;
  const charts = ctx.config.charts;
  const namespace = new k8s.core.v1.Namespace(
    `${name}-namespace`,
    { metadata: { name: obs.namespace, labels: observabilityNamespaceLabels() } },
    // Metrics, logs and traces live on volumes in this namespace: never delete it with a production cluster.
    { parent, provider, protect: cluster.production },
  );
  const opts = { parent, provider, dependsOn: [namespace] };
  const r = OBSERVABILITY_RELEASES;
  const release = (
    key: keyof typeof r,
    chart: ChartRef,
    values: object,
    dependsOn: pulumi.Resource[] = [namespace],
  ) =>
    createRelease(
      { name: `${name}-${r[key]}`, releaseName: r[key], chart, namespace: obs.namespace, values },
      { ...opts, dependsOn },
    );
  // Alertmanager mounts the receivers' secrets: they exist before the release that starts it.
  const alertSecrets = createAlertSecrets(name, cluster, ctx, alerting, provider, parent, [namespace]);
  const prometheus = release(
    "prometheus",
    charts.kubePrometheusStack,
    buildKubePrometheusStackValues(obs, alerting),
    [namespace, ...alertSecrets],
  );
  const loki = release("loki", charts.loki, buildLokiValues(obs));
  const tempo = release("tempo", charts.tempo, buildTempoValues(obs));
  const fluentBit = release("fluentBit", charts.fluentBit, buildFluentBitValues(urls), [namespace, loki]);
  const otelCollector = release(
    "otelCollector",
    charts.otelCollector,
    buildOtelCollectorValues(scopes, urls),
    [namespace, tempo],
  );
  const recordingRules = new k8s.apiextensions.CustomResource(
    `${name}-recording-rules`,
    {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "PrometheusRule",
      metadata: {
        name: OBSERVABILITY_OBJECTS.recordingRules,
        namespace: obs.namespace,
        labels: platformLabels("observability"),
      },
      spec: buildRecordingRules(),
    },
    { parent, provider, dependsOn: [prometheus] },
  );
  return { namespace, prometheus, loki, fluentBit, tempo, otelCollector, recordingRules };
}
