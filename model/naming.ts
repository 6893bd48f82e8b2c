/**
 * Every name the platform derives from a tenant file. Nothing else in the code base builds a name:
 * components call these functions so that the cross-tenant collision check sees every name.
 */
import type { Environment } from "./environments";

/** Label keys the platform puts on every tenant object. */
export const LABELS = {
  tenant: "imaas.io/tenant",
  environment: "imaas.io/environment",
  service: "imaas.io/service",
  managedBy: "app.kubernetes.io/managed-by",
  partOf: "app.kubernetes.io/part-of",
} as const;

export const MANAGED_BY = "imaas";

export const namespaceName = (tenant: string, env: Environment): string => `${tenant}-${env}`;
export const teamName = (tenant: string): string => tenant;
export const repositoryName = (tenant: string, service: string): string => `${tenant}-${service}`;
/** Clone URL of a service repository, as Argo CD and the AppProject refer to it. */
export const repositoryUrl = (owner: string, tenant: string, service: string): string =>
  `https://github.com/${owner}/${repositoryName(tenant, service)}.git`;
export const registryProjectName = (tenant: string): string => tenant;
export const appProjectName = (tenant: string): string => tenant;
export const applicationName = (tenant: string, service: string, env: Environment): string =>
  `${tenant}-${service}-${env}`;
/** Image repository inside the registry: `<host>/<tenant>/<service>`. */
export const imageRepository = (registryHost: string, tenant: string, service: string): string =>
  `${registryHost}/${registryProjectName(tenant)}/${service}`;
/** Branch of a service repository that holds an environment's deploy values. */
export const branchName = (env: Environment): string => env;

/** Kubernetes names inside a tenant namespace. */
export const TENANT_OBJECTS = {
  workloadServiceAccount: "mi-workloads",
  pullSecret: "registry-pull",
  quota: "tenant-quota",
  limitRange: "tenant-limits",
  defaultDeny: "default-deny",
} as const;

/** RBAC group names for a tenant's owners and members. */
export const ownersGroup = (prefix: string, tenant: string): string => `${prefix}${tenant}:owners`;
export const membersGroup = (prefix: string, tenant: string): string => `${prefix}${tenant}:members`;

/** Robot accounts in the tenant's registry project. */
export const robotName = (purpose: "ci" | "pull"): string => purpose;

/** One derived name, with what it names, used by the cross-tenant collision check. */
export interface DerivedName {
  readonly kind: string;
  readonly name: string;
  /** The service it belongs to, when it is a service's name. */
  readonly service?: string;
}

/** Every globally visible name a tenant derives, for the collision check. */
export function derivedNames(tenant: {
  readonly name: string;
  readonly environments: readonly Environment[];
  readonly services: readonly { readonly name: string; readonly environments: readonly Environment[] }[];
}): DerivedName[] {
  const names: DerivedName[] = [
    { kind: "GitHub team", name: teamName(tenant.name) },
    { kind: "registry project", name: registryProjectName(tenant.name) },
    { kind: "Argo CD AppProject", name: appProjectName(tenant.name) },
    ...tenant.environments.map((e) => ({ kind: "namespace", name: namespaceName(tenant.name, e) })),
  ];
  for (const svc of tenant.services) {
    names.push({
      kind: "service repository",
      name: repositoryName(tenant.name, svc.name),
      service: svc.name,
    });
    for (const e of svc.environments) {
      names.push({
        kind: "Argo CD Application",
        name: applicationName(tenant.name, svc.name, e),
        service: svc.name,
      });
    }
  }
  return names;
}
