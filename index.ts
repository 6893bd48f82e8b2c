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
import { baseImageName, createBaseImage } from "./components/platform/base-image";
import { IntegrationControlPlane } from "./components/platform/icp";
import type { PlatformContext, PlatformProviders } from "./components/shared/context";
import { withTenantFile } from "./components/shared/tenant-errors";
import { TenantSpace } from "./components/tenant-space";
import { formatError, loadTenantDir } from "./model/load";
import { platformStackOf, tenantObservabilityName } from "./model/naming";
import {
  icpSettings,
  type PlatformConfig,
  readPlatformConfig,
  readPlatformSecrets,
  type PlatformSecrets,
} from "./model/platform-config";
import type { TenantSpec } from "./model/spec";

function createProviders(cfg: PlatformConfig, secrets: PlatformSecrets): PlatformProviders {
  const kubernetes = Object.fromEntries(
    cfg.clusters.map((c) => [
      c.name,
      new k8s.Provider(`cluster-${c.name}`, {
        ...(c.context ? { context: c.context } : {}),
        enableServerSideApply: true,
        enablePatchForce: true, // the platform's intent wins over out-of-band edits (drift is put back)
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

/**
 * How the program runs. `pulumi up` calls it with nothing: a real run. `imaas plan` passes
 * `planOnly: true` itself (never through the environment, which a real run could inherit).
 */
interface RunOptions {
  /** Placeholder secrets and no build steps: for `imaas plan` under mocks. @default false */
  readonly planOnly?: boolean;
  /** Folder of tenant files. @default `$IMAAS_TENANTS_DIR`, else `tenants/` beside this file */
  readonly tenantsDir?: string;
}

export = async (run: RunOptions = {}) => {
  const config = readPlatformConfig();
  const tenantsDir = run.tenantsDir ?? process.env.IMAAS_TENANTS_DIR ?? join(__dirname, "tenants");
  const { tenants, errors } = loadTenantDir(tenantsDir, config, { stack: pulumi.getStack() });
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
    planOnly: run.planOnly === true,
  };

  const mode = config.stack.mode;
  const outputs: Record<string, unknown> = {};

  // The shared parts: in the single stack, or in the platform stack of the per-tenant layout.
  let backendsReady: Record<string, pulumi.Resource[]> | undefined;
  let platformReady: Record<string, pulumi.Resource[]> | undefined;
  if (mode !== "tenant") {
    const shared = createSharedPlatform(platform, tenants);
    backendsReady = shared.backendsReady;
    platformReady = shared.platformReady;
    outputs.platform = shared.outputs;
  } else {
    // A tenant stack reads what the platform stack exports; the platform stack is deployed first.
    const ref = new pulumi.StackReference("platform", {
      name: config.stack.platformStack ?? platformStackOf(pulumi.getStack()),
    });
    outputs.platform = ref.getOutput("platform");
  }

  const selected = mode === "single" ? tenants : mode === "tenant" ? [tenantOfStack(config, tenants)] : [];
  const summary: Record<string, unknown> = {};
  for (const tenant of selected)
    summary[tenant.name] = withTenantFile(tenant, () =>
      createTenant(tenant, platform, backendsReady, platformReady),
    );
  outputs.tenants = summary;
  return outputs;
};

/** Argo CD, add-ons and observability backends per cluster, and the MI base image. */
function createSharedPlatform(platform: PlatformContext, tenants: readonly TenantSpec[]) {
  const config = platform.config;
  // What tenant objects on each cluster wait for: Argo CD and its CRDs, the add-ons' CRDs, the admission policies.
  const platformReady = Object.fromEntries(
    config.clusters.map((cluster) => [
      cluster.name,
      new ClusterPlatform(`platform-${cluster.name}`, { cluster, platform }).ready,
    ]),
  );
  createBaseImage(platform);
  const observability = config.observability.enabled
    ? Object.fromEntries(
        config.clusters.map((cluster) => [
          cluster.name,
          new ObservabilityStack(`observability-${cluster.name}`, { cluster, platform, tenants }),
        ]),
      )
    : {};
  // The Integration Control Plane per cluster (imaas:mi.icp, off by default), after the tooling namespace and the CA.
  const icp = icpSettings(config)
    ? Object.fromEntries(
        config.clusters.map((cluster) => [
          cluster.name,
          new IntegrationControlPlane(`icp-${cluster.name}`, {
            cluster: cluster.name,
            platform,
            dependsOn: [
              ...(platformReady[cluster.name] ?? []),
              ...(observability[cluster.name]?.ready ?? []),
            ],
          }).dashboardUrl,
        ]),
      )
    : undefined;
  return {
    platformReady,
    backendsReady: config.observability.enabled
      ? Object.fromEntries(Object.entries(observability).map(([c, s]) => [c, s.ready]))
      : undefined,
    outputs: {
      clusters: config.clusters.map((c) => ({ name: c.name, environments: c.environments })),
      baseImage: baseImageName(config),
      baseImages: config.mi.versions.map((v) => baseImageName(config, v)),
      observability: Object.fromEntries(Object.entries(observability).map(([c, s]) => [c, s.urls])),
      ...(icp ? { icp } : {}),
    },
  };
}

/** One tenant: its space, its services and its observability views. */
function createTenant(
  tenant: TenantSpec,
  platform: PlatformContext,
  backendsReady: Record<string, pulumi.Resource[]> | undefined,
  platformReady: Record<string, pulumi.Resource[]> | undefined,
) {
  const space = new TenantSpace(tenant.name, {
    tenant,
    platform,
    ...(platformReady ? { platformReady } : {}),
  });
  const services = tenant.services.map(
    (service) =>
      new MIService(
        `${tenant.name}-${service.name}`,
        {
          tenant,
          service,
          platform,
          ...(space.teamId ? { teamId: space.teamId } : {}),
          ...(space.registryCi ? { registryCi: space.registryCi } : {}),
          environmentReady: space.environmentReady,
        },
        { parent: space },
      ),
  );
  const views = platform.config.observability.enabled
    ? new TenantObservability(tenantObservabilityName(tenant.name), {
        tenant,
        platform,
        ...(backendsReady ? { backendsReady } : {}),
        dependsOn: [space],
      })
    : undefined;
  return {
    namespaces: space.namespaces,
    appProject: space.appProject,
    ...(space.team ? { githubTeam: space.team } : {}),
    ...(space.registryProject
      ? { registryProject: `${platform.config.registry.host}/${space.registryProject}` }
      : {}),
    ...(views ? { grafana: views.grafanaUrls } : {}),
    services: Object.fromEntries(
      services.map((s) => [
        s.repositoryName,
        { applications: s.applications, endpoints: s.endpoints, repository: s.repositoryUrl },
      ]),
    ),
  };
}

/** The tenant a tenant stack deploys; a clear error when its file is missing. */
function tenantOfStack(config: PlatformConfig, tenants: readonly TenantSpec[]): TenantSpec {
  const name = config.stack.tenant ?? "";
  const tenant = tenants.find((t) => t.name === name);
  if (!tenant) {
    throw new pulumi.RunError(
      `stack ${pulumi.getStack()} is the tenant stack of "${name}", but tenants/${name}.yaml does not exist; ` +
        "restore the file, or decommission the tenant deliberately (docs/operating.md: Decommissioning a tenant)",
    );
  }
  return tenant;
}
