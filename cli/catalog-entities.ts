/**
 * Backstage catalog entities for the tenant files, as plain data (no I/O, no Backstage import): per
 * tenant a Group (its team), a System (the tenant), a Resource (its registry project) and a Component
 * per service. Every name, label, URL and selector comes from the functions the stack itself uses
 * (model/naming.ts, components/shared/labels.ts, components/observability/scope.ts), so the catalog
 * names what `pulumi up` creates. `imaas catalog` (cli/catalog.ts) validates and writes them;
 * docs/catalog.md documents the mapping.
 */
import { basename } from "node:path";
import { tenantScope } from "../components/observability/scope";
import { tenantLabels } from "../components/shared/labels";
import type { Environment } from "../model/environments";
import {
  applicationName,
  gitUrlBase,
  grafanaHost,
  harborUrl,
  LABELS,
  registryProjectName,
  repositoryName,
  teamName,
} from "../model/naming";
import type { PlatformConfig } from "../model/platform-config";
import type { ServiceSpec, TenantSpec } from "../model/spec";

export const BACKSTAGE_API_VERSION = "backstage.io/v1alpha1";

/** Annotation keys the entities carry, with the plugin that reads each. */
export const ANNOTATIONS = {
  /** GitHub plugins (pull requests, actions, insights): `<owner>/<repo>`. */
  projectSlug: "github.com/project-slug",
  /** GitHub org ingestion's annotation on a team's Group: `<org>/<team slug>`. */
  teamSlug: "github.com/team-slug",
  /** GitHub org ingestion's annotation on a User: the login. */
  userLogin: "github.com/user-login",
  /** Argo CD plugin (Roadie / Red Hat): a label selector over Applications. */
  argocdAppSelector: "argocd/app-selector",
  /** Backstage Kubernetes plugin: a label selector over the workload objects (pods, Deployments…). */
  kubernetesLabelSelector: "backstage.io/kubernetes-label-selector",
} as const;

/** Link on an entity (Backstage `metadata.links`). */
export interface EntityLink {
  readonly url: string;
  readonly title: string;
  readonly icon?: string;
  readonly type?: string;
}

/** A Backstage entity as imaas writes it (the fields it sets; Backstage's `Entity` type is wider). */
export interface CatalogEntity {
  readonly apiVersion: typeof BACKSTAGE_API_VERSION;
  readonly kind: "Group" | "System" | "Resource" | "Component" | "User" | "Location";
  readonly metadata: {
    readonly name: string;
    readonly title?: string;
    readonly description?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly tags?: readonly string[];
    readonly links?: readonly EntityLink[];
  };
  readonly spec: Readonly<Record<string, unknown>>;
}

/** What to emit besides the tenants' own entities. */
export interface CatalogOptions {
  /**
   * Emit a Group per tenant. Off when the organisation already ingests its GitHub teams into Backstage
   * (the team's Group has the same name, `teamName(tenant)`). @default true
   */
  readonly groups?: boolean;
  /**
   * Emit a User per GitHub login (for catalogs that do not ingest users); otherwise the Groups' members
   * are refs to the users the organisation's own user ingestion provides. @default false
   */
  readonly users?: boolean;
}

/** One tenant's entities, in the order they are written. */
export interface TenantCatalog {
  readonly tenant: string;
  /** The tenant file, as the loader names it (for messages). */
  readonly file: string;
  readonly entities: readonly CatalogEntity[];
}

export interface Catalog {
  readonly tenants: readonly TenantCatalog[];
  /** User entities, merged over the tenants (empty unless `users` is on). */
  readonly users: readonly CatalogEntity[];
}

/** `kind:default/name`, the full form of an entity ref. */
export const entityRef = (kind: string, name: string): string => `${kind.toLowerCase()}:default/${name}`;

/** A label selector string (`k=v,k=v`) from a label set. */
export const labelSelector = (labels: Readonly<Record<string, string>>): string =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");

/**
 * Selects exactly a service's Argo CD Applications (one per environment): the labels the program puts on
 * every Application of the service (components/mi-service/argocd.ts `applicationManifest`: `tenantLabels`
 * with the environment), without the environment.
 */
export const argocdAppSelector = (tenant: string, service: string): string =>
  labelSelector(tenantLabels(tenant, undefined, service));

/**
 * Selects a service's pods, Deployment, Service, HPA… in every environment. The chart
 * (charts/wso2-mi/templates/_helpers.tpl `wso2-mi.labels`) labels every object and pod with the
 * platform's `labels` value, which buildMIChartValues (components/mi-service/chart-values.ts) sets to
 * the tenant, environment and service under these keys. `tenantLabels` is not used here: the chart sets
 * its own `app.kubernetes.io/managed-by: Helm`.
 */
export const kubernetesLabelSelector = (tenant: string, service: string): string =>
  labelSelector({ [LABELS.tenant]: tenant, [LABELS.service]: service });

/** `production` once the service runs in prod, `experimental` before (Backstage's well-known lifecycles). */
export const lifecycleOf = (service: Pick<ServiceSpec, "environments">): "production" | "experimental" =>
  service.environments.includes("prod") ? "production" : "experimental";

/** The web page of a service repository (its clone URL without `.git`). */
export const repositoryWebUrl = (cfg: PlatformConfig, tenant: string, service: string): string =>
  `${gitUrlBase(cfg.github.owner, cfg.github.urlBase)}/${repositoryName(tenant, service)}`;

/**
 * The tenant's Grafana per cluster that hosts some of `environments`, as the observability stack
 * exposes it (components/observability/grafana.ts: `https://` + `grafanaHost`); none when
 * observability is off.
 */
export function grafanaLinks(
  cfg: PlatformConfig,
  tenant: Pick<TenantSpec, "name">,
  environments: readonly Environment[],
): EntityLink[] {
  if (!cfg.observability.enabled) return [];
  return cfg.clusters.flatMap((cluster) => {
    const scope = tenantScope({ name: tenant.name, environments }, cfg, cluster.name);
    return scope
      ? [
          {
            url: `https://${grafanaHost(tenant.name, cluster.name, cfg.domain)}`,
            title: `Grafana (${cluster.name}: ${scope.environments.join(", ")})`,
            icon: "dashboard",
            type: "grafana",
          },
        ]
      : [];
  });
}

const groupRef = (tenant: string) => entityRef("Group", teamName(tenant));

function groupEntity(cfg: PlatformConfig, t: TenantSpec): CatalogEntity {
  const members = [...new Set([...t.owners, ...t.members])];
  return {
    apiVersion: BACKSTAGE_API_VERSION,
    kind: "Group",
    metadata: {
      name: teamName(t.name),
      title: `${t.displayName} team`,
      description: `Team of IMaaS tenant ${t.displayName}. Owners: ${t.owners.join(", ")}.`,
      ...(cfg.github.enabled
        ? { annotations: { [ANNOTATIONS.teamSlug]: `${cfg.github.owner}/${teamName(t.name)}` } }
        : {}),
    },
    spec: {
      type: "team",
      profile: { displayName: t.displayName },
      children: [],
      members: members.map((login) => entityRef("User", login)),
    },
  };
}

function systemEntity(cfg: PlatformConfig, t: TenantSpec): CatalogEntity {
  const links = grafanaLinks(cfg, t, t.environments);
  return {
    apiVersion: BACKSTAGE_API_VERSION,
    kind: "System",
    metadata: {
      name: t.name,
      title: t.displayName,
      description: `IMaaS tenant ${t.displayName} (tenant file ${basename(t.file)}); environments: ${t.environments.join(", ")}.`,
      ...(Object.keys(t.labels).length > 0 ? { labels: { ...t.labels } } : {}),
      ...(links.length > 0 ? { links } : {}),
    },
    spec: { owner: groupRef(t.name) },
  };
}

function registryEntity(cfg: PlatformConfig, t: TenantSpec): CatalogEntity {
  const project = registryProjectName(t.name);
  return {
    apiVersion: BACKSTAGE_API_VERSION,
    kind: "Resource",
    metadata: {
      name: project,
      title: `Registry project ${project}`,
      description: `Harbor project ${cfg.registry.host}/${project}: the images of the services of ${t.displayName}.`,
      links: [{ url: harborUrl(cfg.registry.host), title: "Harbor", type: "registry" }],
    },
    spec: { type: "container-registry", owner: groupRef(t.name), system: t.name },
  };
}

function componentEntity(cfg: PlatformConfig, t: TenantSpec, s: ServiceSpec): CatalogEntity {
  const repo = repositoryName(t.name, s.name);
  const endpoints: EntityLink[] = s.environments.flatMap((env) => {
    const exposure = s.expose[env];
    return exposure ? [{ url: `https://${exposure.host}`, title: `${env} endpoint`, type: "endpoint" }] : [];
  });
  const links: EntityLink[] = [
    ...endpoints,
    ...grafanaLinks(cfg, t, s.environments),
    {
      url: repositoryWebUrl(cfg, t.name, s.name),
      title: "Repository",
      type: "repository",
      ...(cfg.github.enabled ? { icon: "github" } : {}),
    },
  ];
  return {
    apiVersion: BACKSTAGE_API_VERSION,
    kind: "Component",
    metadata: {
      name: repo,
      title: s.name,
      description: s.description ?? `WSO2 Micro Integrator service ${s.name} of ${t.displayName}`,
      ...(Object.keys(t.labels).length > 0 ? { labels: { ...t.labels } } : {}),
      annotations: {
        ...(cfg.github.enabled ? { [ANNOTATIONS.projectSlug]: `${cfg.github.owner}/${repo}` } : {}),
        [ANNOTATIONS.argocdAppSelector]: argocdAppSelector(t.name, s.name),
        [ANNOTATIONS.kubernetesLabelSelector]: kubernetesLabelSelector(t.name, s.name),
      },
      tags: ["wso2-mi", `mi-${s.miVersion.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}`],
      links,
    },
    spec: {
      type: "service",
      lifecycle: lifecycleOf(s),
      owner: groupRef(t.name),
      system: t.name,
      ...(cfg.registry.enabled ? { dependsOn: [entityRef("Resource", registryProjectName(t.name))] } : {}),
    },
  };
}

/** The Argo CD Applications a service's selector must select: one per environment it runs in. */
export const serviceApplications = (
  t: Pick<TenantSpec, "name">,
  s: Pick<ServiceSpec, "name" | "environments">,
) => s.environments.map((env) => applicationName(t.name, s.name, env));

/** Every entity for `tenants` (already filtered), per tenant, plus the merged Users when asked for. */
export function buildCatalog(
  cfg: PlatformConfig,
  tenants: readonly TenantSpec[],
  options: CatalogOptions = {},
): Catalog {
  const groups = options.groups ?? true;
  const perTenant = tenants.map((t) => ({
    tenant: t.name,
    file: t.file,
    entities: [
      ...(groups ? [groupEntity(cfg, t)] : []),
      systemEntity(cfg, t),
      ...(cfg.registry.enabled ? [registryEntity(cfg, t)] : []),
      ...t.services.map((s) => componentEntity(cfg, t, s)),
    ],
  }));
  const memberOf = new Map<string, string[]>();
  for (const t of tenants) {
    for (const login of new Set([...t.owners, ...t.members])) {
      memberOf.set(login, [...(memberOf.get(login) ?? []), groupRef(t.name)]);
    }
  }
  const users: CatalogEntity[] = options.users
    ? [...memberOf.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([login, refs]) => ({
          apiVersion: BACKSTAGE_API_VERSION,
          kind: "User",
          metadata: { name: login, annotations: { [ANNOTATIONS.userLogin]: login } },
          spec: { profile: { displayName: login }, memberOf: groups ? refs : [] },
        }))
    : [];
  return { tenants: perTenant, users };
}

/** The Location entity of `--out`'s `all.yaml`: one URL to register that lists every file written. */
export function locationEntity(stack: string, targets: readonly string[]): CatalogEntity {
  return {
    apiVersion: BACKSTAGE_API_VERSION,
    kind: "Location",
    metadata: {
      name: `imaas-${stack}`,
      description: `IMaaS tenants of stack ${stack}, written by imaas catalog`,
    },
    spec: { targets: targets.map((f) => `./${f}`) },
  };
}
