/**
 * The resolved tenant: a tenant file with every default filled in from the platform config. Components
 * receive these; they never look at raw files or config.
 */
import { ENVIRONMENTS, type Environment, inPromotionOrder } from "./environments";
import { type NamespaceQuota, type PlatformConfig, tenantRing } from "./platform-config";
import { defaultHost } from "./naming";
import type { IsolationTier, ServiceFile, TenantFile } from "./tenant";

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
  /** Non-secret settings per environment (environment variable name → value). */
  readonly config: Readonly<Partial<Record<Environment, Readonly<Record<string, string>>>>>;
  /** Names of the secrets the service reads from the tenant's secret store. */
  readonly secrets: readonly string[];
  /** Public HTTPS host per environment the service is exposed in. */
  readonly expose: Readonly<Partial<Record<Environment, { readonly host: string }>>>;
  /**
   * Has scheduled tasks, message processors or polling inbound endpoints: runs with MI's coordination
   * database (WSO2_COORDINATION_DB) in every environment it runs in, when the platform has one.
   */
  readonly stateful: boolean;
}

export interface EgressRule {
  readonly cidr: string;
  readonly ports: readonly number[];
}

/** Where a tenant's alerts are delivered (tenant file `spec.alerts`). */
export interface AlertDestinations {
  readonly email: readonly string[];
  /** Secret names: properties of `<tenant>/alerts` in the secret store, each holding a webhook URL. */
  readonly webhooks: readonly string[];
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
  readonly network: {
    /** Tenants whose services may call this tenant's services (same environment only). */
    readonly allowFrom: readonly string[];
    /** Tenants this tenant's services may call: those that list it in their allowFrom. */
    readonly callable: readonly string[];
    readonly egress: readonly EgressRule[];
  };
  readonly services: readonly ServiceSpec[];
  /** Where the tenant's alerts go; undefined: to the platform's receiver. */
  readonly alerts?: AlertDestinations;
  /** The platform upgrade ring the tenant is in (imaas:rings); undefined when the stack has none. */
  readonly ring?: string;
  /** Git revision of the platform chart the tenant's Applications use (its ring's, else the platform's). */
  readonly platformRevision: string;
  /** Where the tenant's Applications are reconciled: the shared Argo CD or one of its own. @default "shared" */
  readonly isolation: IsolationTier;
}

function resolveService(
  tenant: string,
  svc: ServiceFile,
  tenantEnvs: readonly Environment[],
  cfg: PlatformConfig,
  defaultMiVersion: string,
): ServiceSpec {
  const environments = inPromotionOrder(svc.environments ?? tenantEnvs);
  const config: Partial<Record<Environment, Record<string, string>>> = {};
  const expose: Partial<Record<Environment, { host: string }>> = {};
  const replicas: Partial<Record<Environment, number>> = {};
  const autoscaling: Partial<Record<Environment, AutoscalingSpec>> = {};
  for (const env of environments) {
    replicas[env] = svc.replicas?.[env] ?? cfg.service.defaultReplicas[env];
    const a = svc.autoscaling?.[env];
    if (a) autoscaling[env] = { min: a.min, max: a.max, targetCPUUtilization: a.targetCPUUtilization ?? 70 };
    config[env] = { ...(svc.config?.[env] ?? {}) };
    const host = exposedHost(tenant, svc.name, env, svc.expose?.[env], cfg.domain);
    if (host) expose[env] = { host };
  }
  return {
    name: svc.name,
    ...(svc.description ? { description: svc.description } : {}),
    environments,
    miVersion: svc.miVersion ?? defaultMiVersion,
    replicas,
    autoscaling,
    resources: {
      cpu: svc.resources?.cpu ?? cfg.service.defaultResources.cpu,
      memory: svc.resources?.memory ?? cfg.service.defaultResources.memory,
    },
    config,
    secrets: svc.secrets ?? [],
    expose,
    stateful: svc.stateful === true,
  };
}

/** The host a service is exposed on in `env`, or undefined when it is not exposed there. */
export function exposedHost(
  tenant: string,
  service: string,
  env: Environment,
  exposure: boolean | { readonly host: string } | undefined,
  domain: string,
): string | undefined {
  if (exposure === undefined || exposure === false) return undefined;
  return exposure === true ? defaultHost(tenant, service, env, domain) : exposure.host;
}

/**
 * The environments where a tenant gets a coordination database: those in which one of its stateful
 * services runs, in promotion order.
 */
export function coordinationEnvironments(
  tenant: Pick<TenantSpec, "environments" | "services">,
): Environment[] {
  return tenant.environments.filter((e) =>
    tenant.services.some((s) => s.stateful && s.environments.includes(e)),
  );
}

/** Fills in, for every tenant, which other tenants it may call (the inverse of their allowFrom). */
export function withCallableTenants(tenants: readonly TenantSpec[]): TenantSpec[] {
  return tenants.map((t) => ({
    ...t,
    network: {
      ...t.network,
      callable: tenants.filter((o) => o.network.allowFrom.includes(t.name)).map((o) => o.name),
    },
  }));
}

/** Fills in every default of a (valid) tenant file. */
export function resolveTenant(file: string, t: TenantFile, cfg: PlatformConfig): TenantSpec {
  const environments = inPromotionOrder(t.spec.environments ?? ENVIRONMENTS);
  const quota: Partial<Record<Environment, NamespaceQuota>> = {};
  for (const env of environments) {
    const override = t.spec.quota?.[env] ?? {};
    quota[env] = { ...cfg.quota.defaults, ...stripUndefined(override) };
  }
  // A tenant in no ring (the loader refuses its file) resolves with the platform's defaults.
  const ring = tenantRing(cfg, t.metadata.name) ?? {
    platformRevision: cfg.argocd.platformRevision,
    miVersion: cfg.mi.defaultVersion,
  };
  return {
    name: t.metadata.name,
    displayName: t.metadata.displayName ?? t.metadata.name,
    file,
    labels: t.metadata.labels ?? {},
    owners: t.spec.owners,
    members: t.spec.members ?? [],
    environments,
    quota,
    network: {
      allowFrom: t.spec.network?.allowFrom ?? [],
      callable: [],
      egress: t.spec.network?.egress ?? [],
    },
    services: (t.spec.services ?? []).map((s) =>
      resolveService(t.metadata.name, s, environments, cfg, ring.miVersion),
    ),
    ...(t.spec.alerts
      ? { alerts: { email: t.spec.alerts.email ?? [], webhooks: t.spec.alerts.webhooks ?? [] } }
      : {}),
    ...(ring.ring ? { ring: ring.ring } : {}),
    platformRevision: ring.platformRevision,
    isolation: t.spec.isolation ?? "shared",
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
