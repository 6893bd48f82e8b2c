/**
 * A tenant's view in one cluster: its label-enforcing metrics proxy, its own Grafana (data sources
 * scoped to the tenant, dashboards provisioned, SSO groups mapped to roles) and the network policies
 * that keep both private to the tenant. All of it lives in the observability namespace, out of the
 * tenant's reach.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { grafanaHost, grafanaReleaseName, metricsProxyReleaseName } from "../../model/naming";
import type { ClusterConfig } from "../../model/platform-config";
import type { PlatformContext } from "../shared/context";
import { tenantLabels } from "../shared/labels";
import { tenantDashboards } from "./dashboards";
import { grafanaPolicy, metricsProxyPolicy } from "./network";
import { createRelease } from "./releases";
import type { TenantScope } from "./scope";
import { backendUrls } from "./values/backends";
import { buildGrafanaValues } from "./values/grafana";
import { buildPromLabelProxyValues } from "./values/prom-label-proxy";

export interface TenantGrafana {
  readonly url: string;
  readonly metricsProxy: k8s.helm.v3.Release;
  readonly grafana: k8s.helm.v3.Release;
}

export function createTenantGrafana(
  name: string,
  scope: TenantScope,
  cluster: ClusterConfig,
  ctx: PlatformContext,
  provider: k8s.Provider,
  parent: pulumi.Resource,
  dependsOn: pulumi.Resource[],
): TenantGrafana {
  const cfg = ctx.config;
  const namespace = cfg.observability.namespace;
  const urls = backendUrls(namespace);
  const opts = { parent, provider, dependsOn };
  const labels = tenantLabels(scope.tenant);

  const metricsProxy = createRelease(
    {
      name: `${name}-metrics-proxy`,
      releaseName: metricsProxyReleaseName(scope.tenant),
      chart: cfg.charts.promLabelProxy,
      namespace,
      values: buildPromLabelProxyValues(scope, urls),
    },
    opts,
  );
  const grafana = createRelease(
    {
      name: `${name}-grafana`,
      releaseName: grafanaReleaseName(scope.tenant),
      chart: cfg.charts.grafana,
      namespace,
      values: buildGrafanaValues({
        scope,
        cluster: cluster.name,
        domain: cfg.domain,
        namespace,
        ingressClassName: cfg.observability.grafana.ingressClassName,
        certIssuer: { name: cfg.certManager.issuer, kind: cfg.certManager.issuerKind },
        groupPrefix: cfg.identity.groupPrefix,
        platformAdminsGroup: cfg.identity.platformAdminsGroup,
        ...(cfg.observability.grafana.oidc ? { oidc: cfg.observability.grafana.oidc } : {}),
        adminSecret: ctx.secrets.grafanaAdminPassword !== undefined,
        dashboards: tenantDashboards(),
      }),
    },
    { ...opts, dependsOn: [...dependsOn, metricsProxy] },
  );
  new k8s.networking.v1.NetworkPolicy(
    `${name}-metrics-proxy-policy`,
    {
      metadata: { name: metricsProxyReleaseName(scope.tenant), namespace, labels },
      spec: metricsProxyPolicy(scope.tenant),
    },
    opts,
  );
  new k8s.networking.v1.NetworkPolicy(
    `${name}-grafana-policy`,
    {
      metadata: { name: grafanaReleaseName(scope.tenant), namespace, labels },
      spec: grafanaPolicy(scope.tenant, cfg.ingress.namespace, cfg.ingress.controllerLabels),
    },
    opts,
  );
  return { url: `https://${grafanaHost(scope.tenant, cluster.name, cfg.domain)}`, metricsProxy, grafana };
}
