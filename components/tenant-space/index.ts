/**
 * TenantSpace: everything a tenant gets apart from its services and observability — per environment a
 * namespace with its guard rails (quota, limit range, network policies, RBAC, workload service account,
 * pull secret, secret store), and the tenant's GitHub team, registry project and Argo CD projects.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Environment } from "../../model/environments";
import { appProjectName, registryProjectName, TENANT_OBJECTS, teamName } from "../../model/naming";
import type { TenantSpec } from "../../model/spec";
import { clusterOf, type PlatformContext } from "../shared/context";
import { tenantLabels } from "../shared/labels";
import { createTenantArgoCd } from "./argocd-dedicated";
import { createTeam } from "./github";
import { createJenkinsRegistryCredential } from "./jenkins";
import { createNamespaces } from "./namespaces";
import { tenantNetworkPolicies } from "./network";
import { limitRangeSpec, quotaHard } from "./quota";
import { tenantRoles } from "./rbac";
import { createRegistry, dockerConfigJson, type RobotCredentials } from "./registry";
import { type CoordinationTarget, createCoordinationDatabases } from "./coordination-db";
import { createSecretStore } from "./secret-store";

export const TENANT_SPACE_TYPE = "imaas:index:TenantSpace";

export interface TenantSpaceArgs {
  /** The resolved tenant. */
  readonly tenant: TenantSpec;
  /** Platform config, secrets and providers. */
  readonly platform: PlatformContext;
  /**
   * Per cluster, the platform parts the tenant's objects wait for (`ClusterPlatform.ready`: Argo CD and its
   * CRDs, the add-ons' CRDs, the admission policies), so no namespace exists before its guard rails do.
   * @default none — a tenant stack runs after its platform stack
   */
  readonly platformReady?: Readonly<Record<string, readonly pulumi.Resource[]>>;
}

export class TenantSpace extends pulumi.ComponentResource {
  /** Namespace name per environment. */
  public readonly namespaces: Readonly<Partial<Record<Environment, string>>>;
  /** Per environment, what a service's objects there must wait for (namespace, guard rails, AppProject). */
  public readonly environmentReady: Readonly<Partial<Record<Environment, pulumi.Resource[]>>>;
  /** The GitHub team's id; undefined when GitHub is not managed. */
  public readonly teamId?: pulumi.Output<string>;
  /** The GitHub team's slug (`<tenant>`); undefined when GitHub is not managed. */
  public readonly team?: string;
  /** The registry project (`<tenant>`); undefined when the registry is not managed. */
  public readonly registryProject?: string;
  /** The CI robot's credentials (secret); undefined when the registry is not managed. */
  public readonly registryCi?: RobotCredentials;
  /** The Argo CD AppProject name. */
  public readonly appProject: string;

  constructor(name: string, args: TenantSpaceArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TENANT_SPACE_TYPE, name, {}, opts);
    const { tenant, platform } = args;
    const cfg = platform.config;

    const team = platform.providers.github
      ? createTeam(name, tenant, this, platform.providers.github)
      : undefined;
    const registry = cfg.registry.enabled ? createRegistry(name, tenant, platform, this) : undefined;

    const environmentReady: Partial<Record<Environment, pulumi.Resource[]>> = {};
    const coordinationTargets: Partial<Record<Environment, CoordinationTarget>> = {};
    const tenantNamespaces = createNamespaces(name, tenant, platform, this, args.platformReady);
    const argo = createTenantArgoCd({
      name,
      tenant,
      platform,
      parent: this,
      namespaces: new Map(tenantNamespaces.map((n) => [n.env, n.namespace])),
      ...(args.platformReady ? { platformReady: args.platformReady } : {}),
    });
    for (const ns of tenantNamespaces) {
      const { env, provider } = ns;
      const { cluster } = clusterOf(platform, env);
      const opts = { parent: this, provider, dependsOn: [ns.namespace] };
      const meta = (objectName: string) => ({
        name: objectName,
        namespace: ns.name,
        labels: tenantLabels(tenant.name, env),
      });
      const quota = tenant.quota[env]!;
      const guardRails: pulumi.Resource[] = [
        ns.namespace,
        new k8s.core.v1.ResourceQuota(
          `${name}-${env}-quota`,
          { metadata: meta(TENANT_OBJECTS.quota), spec: { hard: quotaHard(quota) } },
          opts,
        ),
        new k8s.core.v1.LimitRange(
          `${name}-${env}-limits`,
          {
            metadata: meta(TENANT_OBJECTS.limitRange),
            spec: limitRangeSpec(quota, cfg.service.maxResources),
          },
          opts,
        ),
        ...tenantNetworkPolicies(tenant, env, cfg).map(
          (p) =>
            new k8s.networking.v1.NetworkPolicy(
              `${name}-${env}-netpol-${p.name}`,
              { metadata: meta(p.name), spec: p.spec },
              opts,
            ),
        ),
      ];
      for (const role of tenantRoles(tenant.name, env, cfg.identity.groupPrefix)) {
        const r = new k8s.rbac.v1.Role(
          `${name}-${env}-role-${role.name}`,
          {
            metadata: meta(role.name),
            rules: role.rules.map((x) => ({
              apiGroups: [...x.apiGroups],
              resources: [...x.resources],
              verbs: [...x.verbs],
            })),
          },
          opts,
        );
        guardRails.push(
          r,
          new k8s.rbac.v1.RoleBinding(
            `${name}-${env}-rolebinding-${role.name}`,
            {
              metadata: meta(role.name),
              roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.name },
              subjects: role.groups.map((g) => ({
                apiGroup: "rbac.authorization.k8s.io",
                kind: "Group",
                name: g,
              })),
            },
            { ...opts, dependsOn: [ns.namespace, r] },
          ),
        );
      }
      // Without a managed registry (imaas:registry.enabled false) there are no robot credentials: the
      // service account then has no imagePullSecrets, and images must be pullable by the nodes themselves.
      const pullSecret = registry
        ? new k8s.core.v1.Secret(
            `${name}-${env}-pull-secret`,
            {
              metadata: meta(TENANT_OBJECTS.pullSecret),
              type: "kubernetes.io/dockerconfigjson",
              stringData: { ".dockerconfigjson": dockerConfigJson(cfg.registry.host, registry.pull) },
            },
            { ...opts, additionalSecretOutputs: ["stringData", "data"] },
          )
        : undefined;
      guardRails.push(
        new k8s.core.v1.ServiceAccount(
          `${name}-${env}-workloads`,
          {
            metadata: meta(TENANT_OBJECTS.workloadServiceAccount),
            automountServiceAccountToken: false,
            ...(pullSecret ? { imagePullSecrets: [{ name: TENANT_OBJECTS.pullSecret }] } : {}),
          },
          { ...opts, dependsOn: [ns.namespace, ...(pullSecret ? [pullSecret] : [])] },
        ),
      );
      if (cfg.secrets.enabled) {
        guardRails.push(
          createSecretStore({
            name,
            cfg,
            cluster,
            tenant: tenant.name,
            env,
            provider,
            ...(platform.providers.vault ? { vaultProvider: platform.providers.vault } : {}),
            parent: this,
            dependsOn: [ns.namespace],
          }),
        );
      }
      environmentReady[env] = [...guardRails, ...(argo.get(cluster.name) ?? [])];
      coordinationTargets[env] = { provider, dependsOn: [...guardRails] };
    }
    createCoordinationDatabases({ name, tenant, platform, parent: this, environments: coordinationTargets });

    if (registry && cfg.ci === "jenkins" && cfg.jenkins) {
      // Jenkins runs on the first cluster; its credentials provider serves the Secret as `<tenant>-registry-ci`.
      const { provider } = clusterOf(platform, cfg.clusters[0].environments[0]);
      createJenkinsRegistryCredential(name, tenant.name, cfg.jenkins.namespace, registry.ci, this, provider);
    }

    this.namespaces = Object.fromEntries(tenant.environments.map((e) => [e, `${tenant.name}-${e}`]));
    this.environmentReady = environmentReady;
    this.appProject = appProjectName(tenant.name);
    if (team) {
      this.teamId = team.id;
      this.team = teamName(tenant.name);
    }
    if (registry) {
      this.registryProject = registryProjectName(tenant.name);
      this.registryCi = registry.ci;
    }
    this.registerOutputs({
      namespaces: this.namespaces,
      team: this.team,
      registryProject: this.registryProject,
      appProject: this.appProject,
    });
  }
}
