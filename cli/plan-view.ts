/**
 * The reviewer's view of a plan: per tenant and environment what the tenant file asks for (quota, who may
 * call in, where it may call out, the cluster), and per service and environment how it runs (replicas or
 * autoscaling, container resources, URL, secrets' names, MI version). Pure data, built from the resolved
 * tenants (the same `TenantSpec` the program builds from), the model's own resource functions and names,
 * and the planned resources (counts, protection). `imaas plan` (table, json, mermaid) and the tenant-PR
 * comment (`imaas diff --format markdown`) render this one view.
 */
import type { Environment } from "../model/environments";
import {
  dedicatedArgoNamespace,
  appProjectName,
  applicationName,
  coordinationDatabaseName,
  namespaceName,
  registryProjectName,
  repositoryName,
  secretStorePath,
  serviceSecretName,
  teamName,
  tenantObservabilityName,
} from "../model/naming";
import { clusterFor, type NamespaceQuota, type PlatformConfig } from "../model/platform-config";
import { bytesOf, cpuMillicores, describeBytes, describeCpu } from "../model/quantity";
import {
  CPU_LIMIT_RATIO,
  type ContainerResources,
  containerResources,
  serviceNeeds,
} from "../model/resources";
import { coordinationEnvironments, type TenantSpec } from "../model/spec";
import type { PlannedResource } from "./plan-engine";

/** Counts of planned resources: the header of the table and `summary` of the JSON are this one object. */
export interface PlanCounts {
  /** Tenants shown. */
  readonly tenants: number;
  /** Tenants in the folder (more than `tenants` when `--tenant` selects some). */
  readonly tenantsInFolder: number;
  /** Resources a provider manages (groupings not counted). */
  readonly resources: number;
  /** Of those, the ones `protect` keeps from deletion. */
  readonly protected: number;
  /** Of those, the ones `retainOnDelete` leaves in place when removed from the stack. */
  readonly keptOnDelete: number;
  /** Component resources (groupings such as TenantSpace, MIService): shown, not counted above. */
  readonly groupings: number;
}

export interface EnvironmentView {
  readonly environment: Environment;
  readonly namespace: string;
  /** The cluster the namespace is on (platform config), undefined when none hosts the environment. */
  readonly cluster?: string;
  /** True when the namespace is protected against deletion. */
  readonly protected: boolean;
  /** The namespace quota, as set (platform defaults overlaid with the tenant's override). */
  readonly quota: NamespaceQuota;
  /** The quota in words: `6 CPU requests (12 CPU limits) · 12Gi · 30 pods`. */
  readonly quotaText: string;
  /** What the services need at their largest, a rolling update's surge pod included, in the same words. */
  readonly largestText: string;
  /** Namespaces of the same environment whose services may call in (the tenant's `allowFrom`). */
  readonly allowFrom: readonly string[];
  /** Namespaces of the same environment this tenant's services may call (they list it in `allowFrom`). */
  readonly mayCall: readonly string[];
  /** External systems the services may call: `10.40.0.0/16:443,8443`. */
  readonly egress: readonly string[];
  /**
   * MI's coordination database of the environment, `<database>@<host>:<port>` on the platform's PostgreSQL
   * (a stateful service runs here and the platform has a coordination server); undefined otherwise.
   */
  readonly coordinationDatabase?: string;
}

export interface ServiceEnvironmentView {
  readonly environment: Environment;
  readonly application: string;
  /** `3 replicas` or `HPA 3–8 at 70% CPU`. */
  readonly replicasText: string;
  readonly replicas?: number;
  readonly autoscaling?: {
    readonly min: number;
    readonly max: number;
    readonly targetCPUUtilization: number;
  };
  /** Public URL, undefined when the service is not exposed in this environment. */
  readonly url?: string;
  /** Where its secrets are read from in the secret store, when it has secrets and the platform has a store. */
  readonly secretStorePath?: string;
}

export interface ServiceView {
  readonly name: string;
  readonly repository: string;
  readonly miVersion: string;
  /** Requests and limits of each pod (CPU limit = request × the platform's ratio, memory request = limit). */
  readonly resources: ContainerResources;
  /** `0.5 CPU (limit 1 CPU) · 1Gi`. */
  readonly resourcesText: string;
  /** Names of the secrets the service reads (never their values). */
  readonly secrets: readonly string[];
  /** The Kubernetes Secret they land in, when it has secrets and the platform has a store. */
  readonly secretName?: string;
  readonly environments: readonly ServiceEnvironmentView[];
}

export interface TenantView {
  readonly name: string;
  readonly displayName: string;
  readonly file: string;
  readonly owners: readonly string[];
  readonly members: readonly string[];
  readonly team: string;
  readonly registryProject: string;
  readonly appProject: string;
  /** The platform upgrade ring the tenant is in (imaas:rings), when the stack has rings. */
  readonly ring?: string;
  /** Git revision of the platform chart its Applications use (its ring's, else the platform's). */
  readonly platformRevision: string;
  /** Which Argo CD reconciles its Applications (spec.isolation) and the namespace they live in. */
  readonly argocd: { readonly isolation: "shared" | "dedicated"; readonly namespace: string };
  readonly environments: readonly EnvironmentView[];
  readonly services: readonly ServiceView[];
  readonly counts: { readonly resources: number; readonly protected: number; readonly keptOnDelete: number };
}

export interface PlanView {
  readonly stack: string;
  readonly counts: PlanCounts;
  readonly tenants: readonly TenantView[];
  /** The planned resources shown: every one, or those of the selected tenants only. */
  readonly resources: readonly PlannedResource[];
  /** True when `--tenant` selected some tenants (then the platform's own resources are left out). */
  readonly selected: boolean;
}

/** The tenant (TenantSpace name) a resource belongs to, following parents; undefined for platform ones. */
export function tenantOf(resources: readonly PlannedResource[]): (r: PlannedResource) => string | undefined {
  const components = new Map(resources.filter((r) => r.component).map((r) => [r.name, r]));
  const spaces = new Set(resources.filter((r) => r.type === "imaas:index:TenantSpace").map((r) => r.name));
  // A tenant's observability views sit beside its TenantSpace in the stack: they are the tenant's too.
  const views = new Map([...spaces].map((t) => [tenantObservabilityName(t), t]));
  return (r) => {
    let cur: PlannedResource | undefined = r;
    for (let depth = 0; cur && depth < 50; depth++) {
      if (cur.type === "imaas:index:TenantSpace") return cur.name;
      const view = cur.component ? views.get(cur.name) : undefined;
      if (view) return view;
      cur = cur.parent ? components.get(cur.parent) : undefined;
    }
    return undefined;
  };
}

function countsOf(resources: readonly PlannedResource[]) {
  const managed = resources.filter((r) => !r.component);
  return {
    resources: managed.length,
    protected: managed.filter((r) => r.protect).length,
    keptOnDelete: managed.filter((r) => r.retainOnDelete).length,
  };
}

/** `6 CPU requests (12 CPU limits) · 12Gi · 30 pods`. */
function describeQuota(q: NamespaceQuota): string {
  const cpu = cpuMillicores(q.cpu);
  return `${describeCpu(cpu)} requests (${describeCpu(cpu * CPU_LIMIT_RATIO)} limits) · ${describeBytes(bytesOf(q.memory))} · ${q.pods} pods`;
}

function environmentView(
  tenant: TenantSpec,
  env: Environment,
  cfg: PlatformConfig,
  namespaceProtected: boolean,
): EnvironmentView {
  const quota = tenant.quota[env] ?? cfg.quota.defaults;
  const needs = serviceNeeds(tenant.services, env);
  const sum = (f: (n: (typeof needs)[number]) => number) => needs.reduce((t, n) => t + f(n), 0);
  const cpu = sum((n) => n.rolloutPods * n.cpu);
  const cluster = clusterFor(cfg, env)?.name;
  return {
    environment: env,
    namespace: namespaceName(tenant.name, env),
    ...(cluster ? { cluster } : {}),
    protected: namespaceProtected,
    quota,
    quotaText: describeQuota(quota),
    largestText: `${describeCpu(cpu)} requests (${describeCpu(cpu * CPU_LIMIT_RATIO)} limits) · ${describeBytes(
      sum((n) => n.rolloutPods * n.memory),
    )} · ${sum((n) => n.rolloutPods)} pods`,
    allowFrom: tenant.network.allowFrom.map((t) => namespaceName(t, env)),
    mayCall: tenant.network.callable.map((t) => namespaceName(t, env)),
    egress: tenant.network.egress.map((e) => `${e.cidr}:${e.ports.join(",")}`),
    ...(cfg.mi.coordination && coordinationEnvironments(tenant).includes(env)
      ? {
          coordinationDatabase: `${coordinationDatabaseName(tenant.name, env)}@${cfg.mi.coordination.host}:${cfg.mi.coordination.port}`,
        }
      : {}),
  };
}

function serviceView(
  tenant: TenantSpec,
  s: TenantSpec["services"][number],
  cfg: PlatformConfig,
): ServiceView {
  const resources = containerResources(s.resources.cpu, s.resources.memory);
  const withSecrets = cfg.secrets.enabled && s.secrets.length > 0;
  return {
    name: s.name,
    repository: repositoryName(tenant.name, s.name),
    miVersion: s.miVersion,
    resources,
    resourcesText: `${describeCpu(cpuMillicores(resources.requests.cpu))} (limit ${describeCpu(
      cpuMillicores(resources.limits.cpu),
    )}) · ${describeBytes(bytesOf(resources.limits.memory))}`,
    secrets: s.secrets,
    ...(withSecrets ? { secretName: serviceSecretName(s.name) } : {}),
    environments: s.environments.map((env) => {
      const a = s.autoscaling[env];
      const replicas = s.replicas[env];
      const host = s.expose[env]?.host;
      return {
        environment: env,
        application: applicationName(tenant.name, s.name, env),
        replicasText: a
          ? `HPA ${a.min}–${a.max} at ${a.targetCPUUtilization}% CPU`
          : `${replicas ?? 0} replica${replicas === 1 ? "" : "s"}`,
        ...(a ? { autoscaling: a } : { replicas: replicas ?? 0 }),
        ...(host ? { url: `https://${host}` } : {}),
        ...(withSecrets ? { secretStorePath: secretStorePath(tenant.name, env, s.name) } : {}),
      };
    }),
  };
}

/**
 * The view of a plan: `tenants` are every tenant the program planned, `only` the names to show (empty: all,
 * and the platform's own resources too). Throws when `only` names a tenant that is not in `tenants`.
 */
export function planView(input: {
  readonly stack: string;
  readonly config: PlatformConfig;
  readonly tenants: readonly TenantSpec[];
  readonly resources: readonly PlannedResource[];
  readonly only?: readonly string[];
}): PlanView {
  const only = input.only ?? [];
  const unknown = only.filter((n) => !input.tenants.some((t) => t.name === n));
  if (unknown.length > 0) throw new Error(`no tenant ${unknown.join(", ")} in the plan`);
  const owner = tenantOf(input.resources);
  const planned = new Set(
    input.resources.filter((r) => r.type === "imaas:index:TenantSpace").map((r) => r.name),
  );
  // Tenants the program built (a platform stack builds none, a tenant stack one), in file order.
  const shown = input.tenants.filter(
    (t) => planned.has(t.name) && (only.length === 0 || only.includes(t.name)),
  );
  const names = new Set(shown.map((t) => t.name));
  const resources =
    only.length === 0
      ? input.resources
      : input.resources.filter((r) => {
          const t = owner(r);
          return t !== undefined && names.has(t);
        });
  const byTenant = new Map<string, PlannedResource[]>();
  for (const r of resources) {
    const t = owner(r);
    if (t) byTenant.set(t, [...(byTenant.get(t) ?? []), r]);
  }
  const tenants = shown.map((t): TenantView => {
    const own = byTenant.get(t.name) ?? [];
    const protectedNs = (ns: string) =>
      own.some(
        (r) =>
          r.type === "kubernetes:core/v1:Namespace" &&
          (r.inputs as { metadata?: { name?: unknown } }).metadata?.name === ns &&
          r.protect,
      );
    return {
      name: t.name,
      displayName: t.displayName,
      file: t.file,
      owners: t.owners,
      members: t.members,
      team: teamName(t.name),
      registryProject: registryProjectName(t.name),
      appProject: appProjectName(t.name),
      ...(t.ring ? { ring: t.ring } : {}),
      platformRevision: t.platformRevision,
      argocd: {
        isolation: t.isolation,
        namespace:
          t.isolation === "dedicated" ? dedicatedArgoNamespace(t.name) : input.config.argocd.namespace,
      },
      environments: t.environments.map((env) =>
        environmentView(t, env, input.config, protectedNs(namespaceName(t.name, env))),
      ),
      services: t.services.map((s) => serviceView(t, s, input.config)),
      counts: countsOf(own),
    };
  });
  return {
    stack: input.stack,
    counts: {
      tenants: tenants.length,
      tenantsInFolder: input.tenants.length,
      ...countsOf(resources),
      groupings: resources.filter((r) => r.component).length,
    },
    tenants,
    resources,
    selected: only.length > 0,
  };
}
