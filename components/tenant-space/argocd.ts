/**
 * The tenant's Argo CD AppProject on one cluster: sources limited to the tenant's service repositories
 * and the platform chart repository, destinations limited to the tenant's namespaces on that cluster
 * (no wildcards), nothing cluster-scoped, the platform's guard-rail kinds blacklisted, and roles for the
 * tenant's groups — owners sync every application, members only dev and test.
 */
import type { Environment } from "../../model/environments";
import {
  applicationName,
  appProjectName,
  dedicatedArgoNamespace,
  dedicatedClusterName,
  membersGroup,
  namespaceName,
  ownersGroup,
  repositoryUrl,
} from "../../model/naming";
import type { ClusterConfig, PlatformConfig } from "../../model/platform-config";
import type { TenantSpec } from "../../model/spec";
import { tenantLabels } from "../shared/labels";

export const IN_CLUSTER = "https://kubernetes.default.svc";

/** Kinds the platform owns in tenant namespaces; Argo CD must never create or change them. */
export const PLATFORM_OWNED_KINDS = [
  { group: "", kind: "ResourceQuota" },
  { group: "", kind: "LimitRange" },
  { group: "networking.k8s.io", kind: "NetworkPolicy" },
  { group: "rbac.authorization.k8s.io", kind: "Role" },
  { group: "rbac.authorization.k8s.io", kind: "RoleBinding" },
  { group: "external-secrets.io", kind: "SecretStore" },
] as const;

/** The tenant's environments hosted on `cluster`. */
export function environmentsOn(tenant: TenantSpec, cluster: ClusterConfig): Environment[] {
  return tenant.environments.filter((e) => cluster.environments.includes(e));
}

export function appProjectManifest(tenant: TenantSpec, cfg: PlatformConfig, cluster: ClusterConfig) {
  const name = appProjectName(tenant.name);
  const envs = environmentsOn(tenant, cluster);
  const apps = (filter: (e: Environment) => boolean) =>
    tenant.services.flatMap((s) =>
      s.environments
        .filter((e) => envs.includes(e) && filter(e))
        .map((e) => applicationName(tenant.name, s.name, e)),
    );
  const policy = (role: string, action: string, app: string) =>
    `p, proj:${name}:${role}, applications, ${action}, ${name}/${app}, allow`;
  const ownerApps = apps(() => true);
  const memberApps = apps((e) => e !== "prod");
  const prodApps = apps((e) => e === "prod");
  const window = cfg.argocd.prodSyncWindow;
  const dedicated = tenant.isolation === "dedicated";
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "AppProject",
    metadata: {
      name,
      namespace: dedicated ? dedicatedArgoNamespace(tenant.name) : cfg.argocd.namespace,
      labels: tenantLabels(tenant.name),
    },
    spec: {
      description: `IMaaS tenant ${tenant.displayName}`,
      sourceRepos: [
        cfg.argocd.platformRepo,
        ...tenant.services.map((s) =>
          repositoryUrl(cfg.github.owner, tenant.name, s.name, cfg.github.urlBase),
        ),
      ],
      // A dedicated instance reaches the tenant's namespaces only through its own cluster Secret (by name).
      destinations: envs.map((e) =>
        dedicated
          ? {
              name: dedicatedClusterName(tenant.name, cluster.name),
              namespace: namespaceName(tenant.name, e),
            }
          : { server: IN_CLUSTER, namespace: namespaceName(tenant.name, e), name: "in-cluster" },
      ),
      clusterResourceWhitelist: [],
      namespaceResourceBlacklist: PLATFORM_OWNED_KINDS.map((k) => ({ group: k.group, kind: k.kind })),
      roles: [
        {
          name: "owners",
          description: "Tenant owners: see and sync every application of the tenant",
          groups: [ownersGroup(cfg.identity.groupPrefix, tenant.name)],
          policies: ownerApps.flatMap((a) => [policy("owners", "get", a), policy("owners", "sync", a)]),
        },
        {
          name: "members",
          description: "Tenant members: see every application, sync dev and test",
          groups: [membersGroup(cfg.identity.groupPrefix, tenant.name)],
          policies: [
            ...ownerApps.map((a) => policy("members", "get", a)),
            ...memberApps.map((a) => policy("members", "sync", a)),
          ],
        },
      ].filter((r) => r.policies.length > 0),
      ...(window && prodApps.length > 0
        ? {
            syncWindows: [
              {
                kind: "allow",
                schedule: window.schedule,
                duration: window.duration,
                applications: prodApps,
                manualSync: true,
              },
            ],
          }
        : {}),
      orphanedResources: { warn: true },
    },
  };
}
