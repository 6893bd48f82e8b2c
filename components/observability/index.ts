/**
 * ObservabilityStack: the shared metrics, logs and traces backends of one cluster.
 * TenantObservability: one tenant's scoped view of them (Grafana, metrics proxy, alert rules).
 * Both are created from index.ts only when `imaas:observability.enabled` is true.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { namespaceName, OBSERVABILITY_OBJECTS } from "../../model/naming";
import type { ClusterConfig } from "../../model/platform-config";
import type { TenantSpec } from "../../model/spec";
import { clusterOf, type PlatformContext } from "../shared/context";
import { platformLabels, tenantLabels } from "../shared/labels";
import { AlertSecretsError } from "./alert-secrets";
import { AlertingConfigError, alertingInput } from "./alerting";
import { buildMiAlertRules } from "./alerts";
import { createTenantGrafana } from "./grafana";
import { backendsPolicy } from "./network";
import { type BackendReleases, createBackends } from "./releases";
import { tenantScope, tenantScopes } from "./scope";
import { type BackendUrls, backendUrls } from "./values/backends";

export const OBSERVABILITY_STACK_TYPE = "imaas:index:ObservabilityStack";
export const TENANT_OBSERVABILITY_TYPE = "imaas:index:TenantObservability";

export interface ObservabilityStackArgs {
  /** The cluster the backends run in. */
  readonly cluster: ClusterConfig;
  /** Platform config, secrets and providers. */
  readonly platform: PlatformContext;
  /**
   * Every tenant: routes traces of each tenant's namespaces on this cluster to its Tempo tenant and
   * gives each tenant an Alertmanager route. Tenants without environments on the cluster are ignored.
   */
  readonly tenants: readonly TenantSpec[];
}

export class ObservabilityStack extends pulumi.ComponentResource {
  /** The cluster's name. */
  public readonly cluster: string;
  /** The observability namespace. */
  public readonly namespace: string;
  /** In-cluster URLs of the backends (OTLP endpoint for MI's `[opentelemetry] url`). */
  public readonly urls: BackendUrls;
  /** Resources tenant views must wait for (namespace, Prometheus operator CRDs, backends). */
  public readonly ready: pulumi.Resource[];

  constructor(name: string, args: ObservabilityStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super(OBSERVABILITY_STACK_TYPE, name, {}, opts);
    const { cluster, platform } = args;
    const provider = platform.providers.kubernetes[cluster.name];
    if (!provider) {
      throw new pulumi.ResourceError(`no Kubernetes provider for cluster "${cluster.name}"`, this);
    }
    this.cluster = cluster.name;
    this.namespace = platform.config.observability.namespace;
    this.urls = backendUrls(this.namespace);
    const scopes = tenantScopes(args.tenants, platform.config, cluster.name);
    const alerting = alertingInput(args.tenants, platform.config, cluster.name);
    if (alerting.platform.email.length + alerting.platform.webhooks.length === 0) {
      pulumi.log.warn(
        `cluster ${cluster.name}: imaas:observability.alerting.platform names no e-mail or webhook, so the platform's alerts (and those of tenants without spec.alerts) reach no one`,
        this,
      );
    }
    let backends: BackendReleases;
    try {
      backends = createBackends(name, cluster, platform, scopes, alerting, this.urls, provider, this);
    } catch (e) {
      if (!(e instanceof AlertingConfigError) && !(e instanceof AlertSecretsError)) throw e;
      throw new pulumi.ResourceError(`cluster ${cluster.name}: ${e.message}`, this);
    }
    const opts_ = { parent: this, provider, dependsOn: [backends.namespace] };
    const meta = (n: string) => ({
      name: n,
      namespace: this.namespace,
      labels: platformLabels("observability"),
    });
    new k8s.networking.v1.NetworkPolicy(
      `${name}-backends-policy`,
      { metadata: meta(OBSERVABILITY_OBJECTS.backendsPolicy), spec: backendsPolicy() },
      opts_,
    );
    const ready: pulumi.Resource[] = [backends.namespace, backends.prometheus];
    if (platform.secrets.grafanaAdminPassword) {
      ready.push(
        new k8s.core.v1.Secret(
          `${name}-grafana-admin`,
          {
            metadata: meta(OBSERVABILITY_OBJECTS.grafanaAdminSecret),
            stringData: { "admin-user": "admin", "admin-password": platform.secrets.grafanaAdminPassword },
          },
          opts_,
        ),
      );
    }
    if (platform.config.observability.grafana.oidc) {
      const secret = platform.secrets.grafanaOidcClientSecret;
      if (!secret && !platform.planOnly) {
        throw new pulumi.ResourceError(
          "imaas:observability.grafana.oidc is set but the secret imaas:grafanaOidcClientSecret is not: run `pulumi config set --secret imaas:grafanaOidcClientSecret …`",
          this,
        );
      }
      ready.push(
        new k8s.core.v1.Secret(
          `${name}-grafana-oidc`,
          {
            metadata: meta(OBSERVABILITY_OBJECTS.grafanaOidcSecret),
            stringData: { GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET: secret ?? pulumi.secret("plan-placeholder") },
          },
          opts_,
        ),
      );
    }
    this.ready = ready;
    this.registerOutputs({ namespace: this.namespace, urls: this.urls });
  }
}

export interface TenantObservabilityArgs {
  /** The resolved tenant. */
  readonly tenant: TenantSpec;
  /** Platform config, secrets and providers. */
  readonly platform: PlatformContext;
  /**
   * Per cluster, the shared backends the tenant's views wait for (`ObservabilityStack.ready`). Undefined
   * in a tenant stack: the platform stack that owns the backends is deployed before tenant stacks.
   */
  readonly backendsReady?: Readonly<Record<string, readonly pulumi.Resource[]>>;
  /**
   * Resources that must exist first, typically the tenant's TenantSpace (its namespaces hold the alert
   * rules). @default []
   */
  readonly dependsOn?: readonly pulumi.Resource[];
}

/**
 * A tenant's part of observability, per cluster hosting any of its environments: a Grafana whose data
 * sources see only this tenant (Loki and Tempo with `X-Scope-OrgID: <tenant>`, Prometheus through a
 * proxy pinned to the tenant's namespaces), and per environment the MI alert rules.
 */
export class TenantObservability extends pulumi.ComponentResource {
  /** Grafana URL per cluster name. */
  public readonly grafanaUrls: Readonly<Record<string, string>>;

  constructor(name: string, args: TenantObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TENANT_OBSERVABILITY_TYPE, name, {}, opts);
    const { tenant, platform } = args;
    const urls: Record<string, string> = {};
    for (const cluster of platform.config.clusters) {
      const scope = tenantScope(tenant, platform.config, cluster.name);
      if (!scope) continue;
      const ready = args.backendsReady?.[cluster.name];
      if (args.backendsReady && !ready) {
        throw new pulumi.ResourceError(
          `tenant ${tenant.name}: no ObservabilityStack for cluster "${cluster.name}"`,
          this,
        );
      }
      const { provider } = clusterOf(platform, scope.environments[0]);
      const view = createTenantGrafana(`${name}-${cluster.name}`, scope, cluster, platform, provider, this, [
        ...(ready ?? []),
      ]);
      urls[cluster.name] = view.url;
    }
    for (const env of tenant.environments) {
      const { cluster, provider } = clusterOf(platform, env);
      const ready = args.backendsReady?.[cluster.name] ?? [];
      const ns = namespaceName(tenant.name, env);
      new k8s.apiextensions.CustomResource(
        `${name}-${env}-alerts`,
        {
          apiVersion: "monitoring.coreos.com/v1",
          kind: "PrometheusRule",
          metadata: {
            name: OBSERVABILITY_OBJECTS.alertRules,
            namespace: ns,
            labels: tenantLabels(tenant.name, env),
          },
          spec: buildMiAlertRules(tenant.name, env, ns),
        },
        { parent: this, provider, dependsOn: [...ready, ...(args.dependsOn ?? [])] },
      );
    }
    this.grafanaUrls = urls;
    this.registerOutputs({ grafanaUrls: this.grafanaUrls });
  }
}
