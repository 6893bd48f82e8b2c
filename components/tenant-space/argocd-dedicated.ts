/**
 * A tenant's dedicated Argo CD (spec.isolation: dedicated), per cluster hosting the tenant: a namespace of its
 * own (`<tenant>-argocd`) where an application-controller, repo-server and Redis run namespace-scoped (Helm
 * release with no cluster roles when `imaas:argocd.install` is on), with RBAC that reaches only the tenant's
 * environment namespaces, the tenant's AppProject and Applications, its own repo credentials, and a cluster
 * Secret that limits the instance to those namespaces.
 *
 * What this relies on in Argo CD v3.2 (read at the source, argo-cd v3.2.11):
 * - `argocd-application-controller --namespace N` reads Applications, AppProjects and settings from N only;
 * - a cluster Secret (`argocd.argoproj.io/secret-type: cluster`) with `namespaces` limits what the controller
 *   lists and watches to those namespaces (`clusterResources` false);
 * - an Application's destination `name` resolves through the cluster Secrets' `name` (util/db/cluster.go
 *   GetClusterServersByName); when none is found, deleting the Application removes Argo CD's resources
 *   finalizer WITHOUT deleting anything (controller/appcontroller.go finalizeApplicationDeletion, "Unable to
 *   get destination cluster") — which is how the switch back to shared keeps the workloads running;
 * - the finalizer deletes only live objects the Application's AppProject permits (getPermittedAppLiveObjects):
 *   a project with no destinations deletes nothing — how the switch to dedicated keeps them (`retiredAppProject`).
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { Environment } from "../../model/environments";
import {
  appProjectName,
  dedicatedArgoNamespace,
  dedicatedArgoRelease,
  dedicatedClusterName,
  dedicatedClusterSecretName,
  dedicatedControllerRoleName,
  dedicatedRepoCredsName,
  gitUrlBase,
  namespaceName,
  ownersGroup,
} from "../../model/naming";
import type { ClusterConfig, PlatformConfig } from "../../model/platform-config";
import type { TenantSpec } from "../../model/spec";
import { clusterOf, type PlatformContext } from "../shared/context";
import { platformLabels, tenantLabels } from "../shared/labels";
import { appProjectManifest, environmentsOn, IN_CLUSTER } from "./argocd";

/** Label on a dedicated Argo CD namespace naming the tenant it serves. */
export const DEDICATED_FOR_LABEL = "imaas.io/argocd-for";

/** Service account of the application-controller (the argo-cd chart's default name, values.yaml 7.9.1). */
export const DEDICATED_CONTROLLER_SA = "argocd-application-controller";

/**
 * Requests (= limits for memory) of one dedicated instance's processes, per cluster; counted against the
 * platform budget `imaas:argocd.dedicated.maxTenants`. Sized from the sandbox measurement
 * (docs/isolation-tiers.md: resident memory of the processes syncing a tenant's Applications).
 */
export const DEDICATED_RESOURCES = {
  controller: { cpu: "250m", memory: "512Mi" },
  repoServer: { cpu: "100m", memory: "256Mi" },
  redis: { cpu: "50m", memory: "64Mi" },
} as const;

/** Whether the tenant's Applications on `cluster` live in a dedicated Argo CD. */
export const isDedicated = (tenant: TenantSpec): boolean => tenant.isolation === "dedicated";

/** Where the tenant's Applications and AppProject live: its own Argo CD namespace, or the shared one. */
export function argocdNamespaceOf(tenant: TenantSpec, cfg: PlatformConfig): string {
  return isDedicated(tenant) ? dedicatedArgoNamespace(tenant.name) : cfg.argocd.namespace;
}

/** What an Application of the tenant names as its destination cluster. */
export function destinationOf(
  tenant: TenantSpec,
  cluster: ClusterConfig,
): { readonly server: string } | { readonly name: string } {
  return isDedicated(tenant)
    ? { name: dedicatedClusterName(tenant.name, cluster.name) }
    : { server: IN_CLUSTER };
}

/** Where an Application of the tenant on `cluster` lives and what it names as destination (MIService). */
export function applicationPlacement(tenant: TenantSpec, cfg: PlatformConfig, cluster: ClusterConfig) {
  return {
    argocdNamespace: argocdNamespaceOf(tenant, cfg),
    destination: destinationOf(tenant, cluster),
    ...(isDedicated(tenant) ? { dedicatedCluster: cluster.name } : {}),
  };
}

// --- The cluster Secret waits for the Applications --------------------------------------------------------
// The cluster Secret is created after the tenant's Applications and therefore deleted before them: on the
// switch back to shared (or the tenant's removal) the dedicated controller finalizes each Application with no
// destination cluster, which removes the resources finalizer without deleting what it deployed. TenantSpace
// opens a gate per tenant and cluster expecting one Application per service environment there; MIService
// passes each Application it creates through it.

interface Gate {
  readonly expected: number;
  readonly apps: pulumi.Resource[];
  readonly resolve: (apps: pulumi.Resource[]) => void;
}
const gates = new Map<string, Gate>();
const gateKey = (tenant: string, cluster: string) => `${tenant}\u0000${cluster}`;

/** Opens the gate of `tenant` on `cluster`: resolves once `expected` Applications passed it. */
export function openApplicationGate(
  tenant: string,
  cluster: string,
  expected: number,
): Promise<pulumi.Resource[]> {
  return new Promise((resolve) => {
    const gate: Gate = { expected, apps: [], resolve };
    gates.set(gateKey(tenant, cluster), gate);
    if (expected === 0) resolve([]);
  });
}

/** Records one Application of a dedicated tenant; the gate resolves with the last expected one. */
export function passApplication(tenant: string, cluster: string, app: pulumi.Resource): void {
  const gate = gates.get(gateKey(tenant, cluster));
  if (!gate) return; // a tenant stack's program without its TenantSpace: nothing waits
  gate.apps.push(app);
  if (gate.apps.length === gate.expected) {
    gates.delete(gateKey(tenant, cluster));
    gate.resolve([...gate.apps]);
  }
}

/** Applications the tenant has on `cluster`: one per service environment hosted there. */
export function applicationCount(tenant: TenantSpec, cluster: ClusterConfig): number {
  const envs = environmentsOn(tenant, cluster);
  return tenant.services.reduce((n, s) => n + s.environments.filter((e) => envs.includes(e)).length, 0);
}

interface Rule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

const READ = ["get", "list", "watch"] as const;
const WRITE = ["get", "list", "watch", "create", "update", "patch", "delete"] as const;

/**
 * The controller's rights in one environment namespace: read what is there (its cache lists every kind it
 * may), write only the kinds the platform's MI chart renders. The platform-owned kinds (quota, limit range,
 * network policies, RBAC, secret stores) stay read-only, as the AppProject's blacklist says too.
 */
export function environmentRules(): Rule[] {
  return [
    { apiGroups: ["*"], resources: ["*"], verbs: [...READ] },
    { apiGroups: [""], resources: ["configmaps", "services"], verbs: [...WRITE] },
    { apiGroups: ["apps"], resources: ["deployments"], verbs: [...WRITE] },
    { apiGroups: ["autoscaling"], resources: ["horizontalpodautoscalers"], verbs: [...WRITE] },
    { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: [...WRITE] },
    { apiGroups: ["monitoring.coreos.com"], resources: ["servicemonitors"], verbs: [...WRITE] },
    { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
  ];
}

/**
 * The controller's rights in its own namespace (what the argo-cd chart's controller Role grants, 7.9.1
 * templates/argocd-application-controller/role.yaml): made here only when the platform does not install
 * Argo CD itself (`imaas:argocd.install` false).
 */
export function controlPlaneRules(): Rule[] {
  return [
    { apiGroups: [""], resources: ["secrets", "configmaps"], verbs: [...READ] },
    { apiGroups: ["argoproj.io"], resources: ["applications", "appprojects"], verbs: [...WRITE] },
    { apiGroups: [""], resources: ["events"], verbs: ["create", "list"] },
  ];
}

/** A Role and its RoleBinding to the dedicated controller's service account, in `namespace`. */
export function roleAndBinding(tenant: string, namespace: string, name: string, rules: readonly Rule[]) {
  const labels = tenantLabels(tenant);
  return {
    role: {
      metadata: { name, namespace, labels },
      rules: rules.map((r) => ({
        apiGroups: [...r.apiGroups],
        resources: [...r.resources],
        verbs: [...r.verbs],
      })),
    },
    binding: {
      metadata: { name, namespace, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects: [
        { kind: "ServiceAccount", name: DEDICATED_CONTROLLER_SA, namespace: dedicatedArgoNamespace(tenant) },
      ],
    },
  };
}

/** Every Role the dedicated controller gets on `cluster`: one per environment namespace there, no ClusterRole. */
export function dedicatedRoles(tenant: TenantSpec, cluster: ClusterConfig) {
  return environmentsOn(tenant, cluster).map((env: Environment) => ({
    env,
    ...roleAndBinding(
      tenant.name,
      namespaceName(tenant.name, env),
      dedicatedControllerRoleName,
      environmentRules(),
    ),
  }));
}

/**
 * The cluster Secret of the dedicated instance: the in-cluster API server (the controller's own service
 * account) limited to the tenant's namespaces on `cluster`.
 */
export function dedicatedClusterSecret(tenant: TenantSpec, cluster: ClusterConfig) {
  return {
    metadata: {
      name: dedicatedClusterSecretName(tenant.name),
      namespace: dedicatedArgoNamespace(tenant.name),
      labels: { ...tenantLabels(tenant.name), "argocd.argoproj.io/secret-type": "cluster" },
    },
    type: "Opaque",
    stringData: {
      name: dedicatedClusterName(tenant.name, cluster.name),
      server: IN_CLUSTER,
      namespaces: environmentsOn(tenant, cluster)
        .map((e) => namespaceName(tenant.name, e))
        .join(","),
      clusterResources: "false",
      config: JSON.stringify({ tlsClientConfig: { insecure: false } }),
    },
  };
}

/** The dedicated instance's own credential template: only the tenant's repositories (`<urlBase>/<tenant>-`). */
export function dedicatedRepoCreds(tenant: TenantSpec, cfg: PlatformConfig) {
  return {
    metadata: {
      name: dedicatedRepoCredsName(tenant.name),
      namespace: dedicatedArgoNamespace(tenant.name),
      labels: { ...tenantLabels(tenant.name), "argocd.argoproj.io/secret-type": "repo-creds" },
    },
    url: `${gitUrlBase(cfg.github.owner, cfg.github.urlBase)}/${tenant.name}-`,
  };
}

/**
 * The tenant's AppProject in the shared Argo CD while the tenant runs on its own: no sources, no
 * destinations. It keeps the name reserved and, on the switch to dedicated, is what the shared controller
 * consults when it finalizes the tenant's old Applications: nothing is permitted, so nothing is deleted.
 */
export function retiredAppProject(tenant: TenantSpec, cfg: PlatformConfig) {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "AppProject",
    metadata: {
      name: appProjectName(tenant.name),
      namespace: cfg.argocd.namespace,
      labels: tenantLabels(tenant.name),
    },
    spec: {
      description: `IMaaS tenant ${tenant.displayName}: runs on its own Argo CD in ${dedicatedArgoNamespace(tenant.name)}`,
      sourceRepos: [],
      destinations: [],
      clusterResourceWhitelist: [],
      namespaceResourceWhitelist: [],
    },
  };
}

/**
 * Values of the argo-cd chart (7.9.1, values.yaml read at the source) for a namespace-scoped instance:
 * `createClusterRoles: false` (every ClusterRole/Binding of the controller and server is gated by it), no CRDs
 * (the shared install owns them), Applications only in its own namespace, no Dex/notifications/ApplicationSet,
 * the tenant's owners admins of this instance and of nothing else.
 */
export function buildDedicatedArgoCdValues(tenant: TenantSpec, cfg: PlatformConfig) {
  const res = (r: { cpu: string; memory: string }) => ({
    requests: { cpu: r.cpu, memory: r.memory },
    limits: { memory: r.memory },
  });
  return {
    createClusterRoles: false,
    createAggregateRoles: false,
    crds: { install: false },
    configs: {
      cm: {
        "admin.enabled": false,
        "users.anonymous.enabled": false,
        "exec.enabled": false,
        "application.resourceTrackingMethod": "annotation",
      },
      params: { "application.namespaces": "" },
      rbac: {
        "policy.default": "",
        "policy.csv": `g, ${ownersGroup(cfg.identity.groupPrefix, tenant.name)}, role:admin\ng, ${cfg.identity.platformAdminsGroup}, role:admin\n`,
      },
    },
    controller: { replicas: 1, resources: res(DEDICATED_RESOURCES.controller) },
    repoServer: { replicas: 1, resources: res(DEDICATED_RESOURCES.repoServer) },
    redis: { enabled: true, resources: res(DEDICATED_RESOURCES.redis) },
    server: { replicas: 1 },
    dex: { enabled: false },
    notifications: { enabled: false },
    applicationSet: { replicas: 0 },
  };
}

export interface TenantArgoCdArgs {
  readonly name: string;
  readonly tenant: TenantSpec;
  readonly platform: PlatformContext;
  readonly parent: pulumi.Resource;
  /** Each environment's namespace resource (the dedicated controller's Roles live there). */
  readonly namespaces: ReadonlyMap<Environment, pulumi.Resource>;
  /** Per cluster, the platform parts to wait for (Argo CD's CRDs). */
  readonly platformReady?: Readonly<Record<string, readonly pulumi.Resource[]>>;
}

/**
 * The tenant's Argo CD objects per cluster: the AppProject in the shared instance (full, or retired while
 * the tenant is dedicated) and, for a dedicated tenant, its own instance. Returns per cluster what the
 * tenant's Applications there must wait for.
 */
export function createTenantArgoCd(a: TenantArgoCdArgs): Map<string, pulumi.Resource[]> {
  const { name, tenant, platform, parent } = a;
  const cfg = platform.config;
  const ready = new Map<string, pulumi.Resource[]>();
  for (const cluster of cfg.clusters) {
    const envs = environmentsOn(tenant, cluster);
    if (envs.length === 0) continue;
    const { provider } = clusterOf(platform, envs[0]!);
    const platformDeps = [...(a.platformReady?.[cluster.name] ?? [])];
    const opts = { parent, provider };
    // The same logical name in both tiers: the switch updates this AppProject in place, before any delete.
    const shared = new k8s.apiextensions.CustomResource(
      `${name}-appproject-${cluster.name}`,
      isDedicated(tenant) ? retiredAppProject(tenant, cfg) : appProjectManifest(tenant, cfg, cluster),
      { ...opts, dependsOn: platformDeps },
    );
    if (!isDedicated(tenant)) {
      ready.set(cluster.name, [shared]);
      continue;
    }
    ready.set(cluster.name, [shared, ...createDedicatedInstance(a, cluster, provider, platformDeps)]);
  }
  return ready;
}

function createDedicatedInstance(
  a: TenantArgoCdArgs,
  cluster: ClusterConfig,
  provider: k8s.Provider,
  platformDeps: pulumi.Resource[],
): pulumi.Resource[] {
  const { name, tenant, platform, parent } = a;
  const cfg = platform.config;
  const nsName = dedicatedArgoNamespace(tenant.name);
  const base = `${name}-argocd-${cluster.name}`;
  const opts = { parent, provider };
  const namespace = new k8s.core.v1.Namespace(
    `${base}-ns`,
    {
      metadata: {
        name: nsName,
        // A platform namespace, not a tenant one: the tenant admission policies select `imaas.io/tenant`.
        labels: { ...platformLabels("argocd"), [DEDICATED_FOR_LABEL]: tenant.name },
      },
    },
    { ...opts, dependsOn: platformDeps },
  );
  const inNs = { ...opts, dependsOn: [namespace] };
  const made: pulumi.Resource[] = [namespace];
  if (cfg.argocd.install) {
    const chart = cfg.charts.argoCd;
    made.push(
      new k8s.helm.v3.Release(
        `${base}-release`,
        {
          name: dedicatedArgoRelease(tenant.name),
          namespace: nsName,
          chart: chart.chart,
          version: chart.version,
          repositoryOpts: { repo: chart.repo },
          values: buildDedicatedArgoCdValues(tenant, cfg),
          atomic: true,
          cleanupOnFail: true,
          timeout: 900,
        },
        inNs,
      ),
    );
  } else {
    // Argo CD is installed by others (the sandbox runs the processes): the identity and its own-namespace
    // rights are the platform's, so the controller's reach is what this program grants.
    const sa = new k8s.core.v1.ServiceAccount(
      `${base}-controller-sa`,
      { metadata: { name: DEDICATED_CONTROLLER_SA, namespace: nsName, labels: tenantLabels(tenant.name) } },
      inNs,
    );
    const own = roleAndBinding(tenant.name, nsName, DEDICATED_CONTROLLER_SA, controlPlaneRules());
    const role = new k8s.rbac.v1.Role(`${base}-controller-role`, own.role, inNs);
    made.push(
      sa,
      role,
      new k8s.rbac.v1.RoleBinding(`${base}-controller-rolebinding`, own.binding, {
        ...opts,
        dependsOn: [namespace, role, sa],
      }),
    );
  }
  for (const r of dedicatedRoles(tenant, cluster)) {
    const envNs = a.namespaces.get(r.env);
    const deps = [namespace, ...(envNs ? [envNs] : [])];
    const role = new k8s.rbac.v1.Role(`${base}-${r.env}-role`, r.role, { ...opts, dependsOn: deps });
    made.push(
      role,
      new k8s.rbac.v1.RoleBinding(`${base}-${r.env}-rolebinding`, r.binding, {
        ...opts,
        dependsOn: [...deps, role],
      }),
    );
  }
  if (platform.secrets.argocdRepoToken) {
    const creds = dedicatedRepoCreds(tenant, cfg);
    made.push(
      new k8s.core.v1.Secret(
        `${base}-repo-creds`,
        {
          metadata: creds.metadata,
          stringData: {
            type: "git",
            url: creds.url,
            username: "imaas-argocd",
            password: platform.secrets.argocdRepoToken,
          },
        },
        { ...inNs, additionalSecretOutputs: ["stringData", "data"] },
      ),
    );
  }
  made.push(
    new k8s.apiextensions.CustomResource(`${base}-appproject`, appProjectManifest(tenant, cfg, cluster), {
      ...opts,
      dependsOn: [namespace, ...platformDeps],
    }),
  );
  // After every Application of the tenant here (see the gate above), so deleted before them.
  const apps = openApplicationGate(tenant.name, cluster.name, applicationCount(tenant, cluster));
  new k8s.core.v1.Secret(`${base}-cluster`, dedicatedClusterSecret(tenant, cluster), {
    ...opts,
    dependsOn: apps.then((xs): pulumi.Resource[] => [namespace, ...xs]) as pulumi.Input<
      pulumi.Input<pulumi.Resource>[]
    >,
  });
  return made;
}
