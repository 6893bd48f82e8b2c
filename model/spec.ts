/**
 * The resolved tenant: a tenant file with every default filled in from the platform config. Components
 * receive these; they never look at raw files or config.
 */
import { ENVIRONMENTS, type Environment, inPromotionOrder } from "./environments";
import type { NamespaceQuota, PlatformConfig } from "./platform-config";
import type { ServiceFile, TenantFile } from "./tenant";

export interface AutoscalingSpec {
  readonly min: number;
  readonly max: number;
  /** Target average CPU utilization, percent. */
  readonly targetCPUUtilization: number;
}

export interface ServiceSpec {
  readonly name: string;
  readonly description?: string;
  /** Environments the service runs in, in promotion order. */
  readonly environments: readonly Environment[];
  readonly miVersion: string;
  /** Replicas per environment the service runs in (ignored where autoscaling is set). */
  readonly replicas: Readonly<Partial<Record<Environment, number>>>;
  readonly autoscaling: Readonly<Partial<Record<Environment, AutoscalingSpec>>>;
  readonly resources: { readonly cpu: string; readonly memory: string };
}

export interface EgressRule {
  readonly cidr: string;
  readonly ports: readonly number[];
}

export interface TenantSpec {
  readonly name: string;
  readonly displayName: string;
  /** The tenant file it came from, relative to where the loader was pointed. */
  readonly file: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly owners: readonly string[];
  readonly members: readonly string[];
  /** Environments in promotion order. */
  readonly environments: readonly Environment[];
  /** Namespace quota per environment the tenant has: platform defaults overlaid with the tenant's override. */
  readonly quota: Readonly<Partial<Record<Environment, NamespaceQuota>>>;
  readonly network: { readonly allowFrom: readonly string[]; readonly egress: readonly EgressRule[] };
  readonly services: readonly ServiceSpec[];
}

function resolveService(
  svc: ServiceFile,
  tenantEnvs: readonly Environment[],
  cfg: PlatformConfig,
): ServiceSpec {
  const environments = inPromotionOrder(svc.environments ?? tenantEnvs);
  const replicas: Partial<Record<Environment, number>> = {};
  const autoscaling: Partial<Record<Environment, AutoscalingSpec>> = {};
  for (const env of environments) {
    replicas[env] = svc.replicas?.[env] ?? cfg.service.defaultReplicas[env];
    const a = svc.autoscaling?.[env];
    if (a) autoscaling[env] = { min: a.min, max: a.max, targetCPUUtilization: a.targetCPUUtilization ?? 70 };
  }
  return {
    name: svc.name,
    ...(svc.description ? { description: svc.description } : {}),
    environments,
    miVersion: svc.miVersion ?? cfg.mi.defaultVersion,
    replicas,
    autoscaling,
    resources: {
      cpu: svc.resources?.cpu ?? cfg.service.defaultResources.cpu,
      memory: svc.resources?.memory ?? cfg.service.defaultResources.memory,
    },
  };
}

/** Fills in every default of a (valid) tenant file. */
export function resolveTenant(file: string, t: TenantFile, cfg: PlatformConfig): TenantSpec {
  const environments = inPromotionOrder(t.spec.environments ?? ENVIRONMENTS);
  const quota: Partial<Record<Environment, NamespaceQuota>> = {};
  for (const env of environments) {
    const override = t.spec.quota?.[env] ?? {};
    quota[env] = { ...cfg.quota.defaults, ...stripUndefined(override) };
  }
  return {
    name: t.metadata.name,
    displayName: t.metadata.displayName ?? t.metadata.name,
    file,
    labels: t.metadata.labels ?? {},
    owners: t.spec.owners,
    members: t.spec.members ?? [],
    environments,
    quota,
    network: { allowFrom: t.spec.network?.allowFrom ?? [], egress: t.spec.network?.egress ?? [] },
    services: (t.spec.services ?? []).map((s) => resolveService(s, environments, cfg)),
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
