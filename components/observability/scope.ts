/**
 * What each tenant owns on one cluster, as plain data: the input every tenant-aware values builder
 * (telemetry routing, metrics proxy, alert routing) works from.
 */
import type { Environment } from "../../model/environments";
import { namespaceName, telemetryTenantId } from "../../model/naming";
import { clusterFor, type PlatformConfig } from "../../model/platform-config";
import type { TenantSpec } from "../../model/spec";

export interface TenantScope {
  readonly tenant: string;
  /** Loki/Tempo tenant id (`X-Scope-OrgID`). */
  readonly telemetryTenant: string;
  /** The tenant's environments hosted on this cluster, in promotion order. */
  readonly environments: readonly Environment[];
  /** Exact namespace names, one per environment above. */
  readonly namespaces: readonly string[];
}

/** The tenant's part of `cluster`; undefined when none of its environments lives there. */
export function tenantScope(
  tenant: Pick<TenantSpec, "name" | "environments">,
  config: PlatformConfig,
  cluster: string,
): TenantScope | undefined {
  const environments = tenant.environments.filter((env) => clusterFor(config, env)?.name === cluster);
  if (environments.length === 0) return undefined;
  return {
    tenant: tenant.name,
    telemetryTenant: telemetryTenantId(tenant.name),
    environments,
    namespaces: environments.map((env) => namespaceName(tenant.name, env)),
  };
}

/** Every tenant's scope on `cluster`, tenants without environments there left out. */
export function tenantScopes(
  tenants: readonly Pick<TenantSpec, "name" | "environments">[],
  config: PlatformConfig,
  cluster: string,
): TenantScope[] {
  return tenants.flatMap((t) => {
    const s = tenantScope(t, config, cluster);
    return s ? [s] : [];
  });
}
