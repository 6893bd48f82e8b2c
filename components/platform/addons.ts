/**
 * Cluster add-ons the tenant features rely on, as pinned Helm releases: the External Secrets Operator
 * (per-tenant SecretStores), cert-manager (service certificates) and ingress-nginx (service endpoints).
 * Each can be switched off when the cluster already runs it.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { ChartRef, ClusterConfig, PlatformConfig } from "../../model/platform-config";
import { platformLabels } from "../shared/labels";

/**
 * `monitoring`: render the add-ons' ServiceMonitors — only when the platform's observability stack (which
 * brings the Prometheus Operator and its ServiceMonitor CRD) is on; otherwise the releases would fail on a
 * kind the cluster does not know.
 */
export function buildExternalSecretsValues(cluster: ClusterConfig, monitoring: boolean) {
  return {
    installCRDs: true,
    replicaCount: cluster.production ? 2 : 1,
    leaderElect: true,
    // Tenants get namespaced SecretStores only: the operator does not serve ClusterSecretStores to them
    // (the platform creates none), and it runs with the restricted security context.
    processClusterStore: false,
    processClusterExternalSecret: false,
    securityContext: {
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    },
    webhook: { replicaCount: cluster.production ? 2 : 1 },
    certController: { replicaCount: 1 },
    serviceMonitor: { enabled: monitoring },
  };
}

export function buildCertManagerValues(cluster: ClusterConfig, monitoring: boolean) {
  return {
    crds: { enabled: true, keep: true },
    replicaCount: cluster.production ? 2 : 1,
    prometheus: { enabled: true, servicemonitor: { enabled: monitoring } },
  };
}

export function buildIngressNginxValues(cfg: PlatformConfig, cluster: ClusterConfig) {
  return {
    controller: {
      replicaCount: cluster.production ? 3 : 1,
      ingressClassResource: { name: cfg.ingress.className, default: false },
      ingressClass: cfg.ingress.className,
      // Tenants cannot smuggle nginx snippets through Ingress annotations.
      allowSnippetAnnotations: false,
      config: {
        "annotations-risk-level": "Critical",
        "use-forwarded-headers": "false",
        "ssl-redirect": "true",
      },
      podLabels: cfg.ingress.controllerLabels,
      metrics: { enabled: true, serviceMonitor: { enabled: cfg.observability.enabled } },
      service: { type: "LoadBalancer" },
    },
  };
}

interface AddonRelease {
  readonly key: "externalSecrets" | "certManager" | "ingressNginx";
  readonly namespace: string;
  readonly values: Record<string, unknown>;
}

/** The add-ons this cluster gets under the config's switches. */
export function plannedAddons(cfg: PlatformConfig, cluster: ClusterConfig): AddonRelease[] {
  const addons: AddonRelease[] = [];
  if (cfg.secrets.enabled && cfg.secrets.installOperator) {
    addons.push({
      key: "externalSecrets",
      namespace: "external-secrets",
      values: buildExternalSecretsValues(cluster, cfg.observability.enabled),
    });
  }
  if (cfg.certManager.install) {
    addons.push({
      key: "certManager",
      namespace: "cert-manager",
      values: buildCertManagerValues(cluster, cfg.observability.enabled),
    });
  }
  if (cfg.ingress.install) {
    addons.push({
      key: "ingressNginx",
      namespace: cfg.ingress.namespace,
      values: buildIngressNginxValues(cfg, cluster),
    });
  }
  return addons;
}

export function createAddons(
  name: string,
  cfg: PlatformConfig,
  cluster: ClusterConfig,
  provider: k8s.Provider,
  parent: pulumi.Resource,
): k8s.helm.v3.Release[] {
  return plannedAddons(cfg, cluster).map((addon) => {
    const chart: ChartRef = cfg.charts[addon.key];
    const ns = new k8s.core.v1.Namespace(
      `${name}-${chart.chart}-ns`,
      { metadata: { name: addon.namespace, labels: platformLabels(chart.chart) } },
      { parent, provider },
    );
    return new k8s.helm.v3.Release(
      `${name}-${chart.chart}`,
      {
        name: chart.chart,
        namespace: addon.namespace,
        chart: chart.chart,
        version: chart.version,
        repositoryOpts: { repo: chart.repo },
        values: addon.values,
        atomic: true,
        cleanupOnFail: true,
        timeout: 600,
      },
      { parent, provider, dependsOn: [ns] },
    );
  });
}
