/**
 * The IMaaS stack: platform config → tenant files → providers → components → outputs.
 * `pulumi up` runs it for real; `imaas plan` runs the same function under Pulumi mocks.
 */
import { join } from "node:path";
import * as github from "@pulumi/github";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as vault from "@pulumi/vault";
import { MIService } from "./components/mi-service";
import { ObservabilityStack, TenantObservability } from "./components/observability";
import { ClusterPlatform } from "./components/platform";
import { createBaseImage } from "./components/platform/base-image";
import type { PlatformContext, PlatformProviders } from "./components/shared/context";
import { TenantSpace } from "./components/tenant-space";
import { formatError, loadTenantDir } from "./model/load";
import {
  type PlatformConfig,
  readPlatformConfig,
  readPlatformSecrets,
  type PlatformSecrets,
} from "./model/platform-config";

function createProviders(cfg: PlatformConfig, secrets: PlatformSecrets): PlatformProviders {
  const kubernetes = Object.fromEntries(
    cfg.clusters.map((c) => [
      c.name,
      new k8s.Provider(`cluster-${c.name}`, {
        ...(c.context ? { context: c.context } : {}),
        enableServerSideApply: true,
      }),
    ]),
  );
  const gh = cfg.github.enabled
    ? new github.Provider("github", {
        owner: cfg.github.owner,
        ...(secrets.githubToken ? { token: secrets.githubToken } : {}),
      })
    : undefined;
  const vaultProvider =
    cfg.secrets.enabled && cfg.secrets.vault.manage
      ? new vault.Provider("vault", {
          address: cfg.secrets.vault.server,
          skipChildToken: true,
          ...(secrets.vaultToken ? { token: secrets.vaultToken } : {}),
        })
      : undefined;
  return { kubernetes, ...(gh ? { github: gh } : {}), ...(vaultProvider ? { vault: vaultProvider } : {}) };
}

export = async () => {
  const config = readPlatformConfig();
  const tenantsDir = process.env.IMAAS_TENANTS_DIR ?? join(__dirname, "tenants");
  const { tenants, errors } = loadTenantDir(tenantsDir, config);
  if (errors.length > 0) {
    throw new pulumi.RunError(
      `tenant files are invalid; nothing was changed:\n${errors.map(formatError).join("\n")}`,
    );
  }
  const secrets = readPlatformSecrets();
  const platform: PlatformContext = {
    stack: pulumi.getStack(),
    config,
    secrets,
    providers: createProviders(config, secrets),
    planOnly: process.env.IMAAS_PLAN === "1",
  };

  for (const cluster of config.clusters) {
    new ClusterPlatform(`platform-${cluster.name}`, { cluster, platform });
  }
  createBaseImage(platform);

  const observability = config.observability.enabled
    ? Object.fromEntries(
        config.clusters.map((cluster) => [
          cluster.name,
          new ObservabilityStack(`observability-${cluster.name}`, { cluster, platform, tenants }),
        ]),
      )
    : undefined;

  const summary: Record<string, unknown> = {};
  for (const tenant of tenants) {
    const space = new TenantSpace(tenant.name, { tenant, platform });
    const services = tenant.services.map(
      (service) =>
        new MIService(`${tenant.name}-${service.name}`, { tenant, service, platform }, { parent: space }),
    );
    const views = observability
      ? new TenantObservability(`${tenant.name}-observability`, {
          tenant,
          platform,
          stacks: observability,
          dependsOn: [space],
        })
      : undefined;
    summary[tenant.name] = {
      namespaces: space.namespaces,
      ...(views ? { grafana: views.grafanaUrls } : {}),
      services: Object.fromEntries(services.map((s) => [s.repositoryName, s.applications])),
    };
  }
  return { tenants: summary };
};
