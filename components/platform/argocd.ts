/**
 * Argo CD on one cluster, set up for multi-tenancy: Applications only in the Argo CD namespace, the
 * `default` project locked down (tenants use only their own AppProject), SSO groups mapped to roles, and
 * read-only credentials for the platform's GitHub organization.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import { argocdHost, dedicatedArgoNamespace, gitUrlBase } from "../../model/naming";
import type { ClusterConfig, PlatformConfig } from "../../model/platform-config";
import { type PlatformContext, requireSecret } from "../shared/context";
import { GITHUB_KEY_ITEM, gateNotificationsConfig } from "./promotion-gate";
import { platformLabels } from "../shared/labels";

/** Typed values for the argo-cd chart; only what the platform sets. */
export function buildArgoCdValues(cfg: PlatformConfig, cluster: ClusterConfig) {
  const host = argocdHost(cluster.name, cfg.domain);
  const oidc = cfg.argocd.oidc;
  const replicas = cluster.production ? 2 : 1;
  const gate = cfg.argocd.promotionGate;
  return {
    global: { domain: host },
    crds: { install: true, keep: true },
    configs: {
      cm: {
        url: `https://${host}`,
        "admin.enabled": oidc === undefined,
        "users.anonymous.enabled": false,
        "exec.enabled": false,
        "statusbadge.enabled": false,
        "application.resourceTrackingMethod": "annotation",
        // A YAML string: the argo-cd chart writes each `configs.cm` value with `toString` (7.9.1, and 9.x for
        // Argo CD 3.2), so a map would reach argocd-cm as Go's `map[...]` text (test/components/platform).
        ...(oidc
          ? {
              "oidc.config": YAML.stringify({
                name: "SSO",
                issuer: oidc.issuer,
                clientID: oidc.clientId,
                clientSecret: "$oidc.clientSecret",
                requestedScopes: ["openid", "profile", "email", oidc.groupsClaim],
              }),
            }
          : {}),
      },
      params: {
        // Applications live only in the Argo CD namespace: tenants cannot create Applications at all.
        "application.namespaces": "",
        "server.insecure": false,
      },
      rbac: {
        // Nobody gets anything by default; tenants get their AppProject's roles only.
        "policy.default": "",
        "policy.csv": `g, ${cfg.identity.platformAdminsGroup}, role:admin\n`,
        scopes: `[${oidc?.groupsClaim ?? "groups"}]`,
      },
      secret: { createSecret: true },
    },
    controller: { replicas: 1 },
    // The UI and the SSO callback need a reachable host, or the AppProject roles cannot be used. argo-cd
    // 7.9.1 (templates/argocd-server/ingress.yaml, read at the source): `tls: true` puts `hostname` under
    // TLS with the Secret `argocd-server-tls`, which cert-manager's ingress-shim issues from the annotation;
    // the backend is the server's HTTPS port while `server.insecure` is false, hence the backend protocol.
    server: {
      replicas,
      ingress: {
        enabled: true,
        controller: "generic",
        ingressClassName: cfg.ingress.className,
        hostname: host,
        tls: true,
        annotations: {
          [cfg.certManager.issuerKind === "ClusterIssuer"
            ? "cert-manager.io/cluster-issuer"
            : "cert-manager.io/issuer"]: cfg.certManager.issuer,
          "nginx.ingress.kubernetes.io/backend-protocol": "HTTPS",
        },
      },
    },
    repoServer: { replicas },
    applicationSet: { replicas: 1 },
    "redis-ha": { enabled: cluster.production },
    dex: { enabled: false },
    notifications: gate
      ? {
          enabled: true,
          argocdUrl: `https://${host}`,
          // The promotion gate: the GitHub service, a trigger and a template per gated environment; the
          // App's key goes into the notifications Secret (createArgoCd).
          ...gateNotificationsConfig(gate),
          // Dedicated tenants' Applications live in their own Argo CD namespaces (<tenant>-argocd); their
          // instances run no notifications controller (the App's key must stay out of namespaces tenant
          // owners administer), so this one posts their statuses too (glob, read at the v3.2.11 source:
          // notification_controller/controller/controller.go matches with glob.MatchStringInList).
          ...(cfg.argocd.dedicated.allowed
            ? { extraArgs: ["--application-namespaces", dedicatedArgoNamespace("*")] }
            : {}),
        }
      : { enabled: true },
  };
}

/** The values with the promotion gate's GitHub App key in the notifications Secret, when the gate is on. */
function withGateSecret(values: ReturnType<typeof buildArgoCdValues>, ctx: PlatformContext) {
  if (!ctx.config.argocd.promotionGate) return values;
  const key = requireSecret(
    ctx,
    "argocdNotificationsGithubAppKey",
    "the promotion gate (imaas:argocd.promotionGate)",
  );
  return {
    ...values,
    notifications: { ...values.notifications, secret: { items: { [GITHUB_KEY_ITEM]: key } } },
  };
}

/** The locked-down `default` project: no sources, no destinations, nothing cluster-scoped. */
export function lockedDefaultProject(namespace: string) {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "AppProject",
    metadata: { name: "default", namespace, annotations: { "pulumi.com/patchForce": "true" } },
    spec: {
      sourceRepos: [],
      destinations: [],
      clusterResourceWhitelist: [],
      namespaceResourceWhitelist: [],
      description: "Locked by IMaaS: every Application belongs to its tenant's project",
    },
  };
}

export function createArgoCd(
  name: string,
  ctx: PlatformContext,
  cluster: ClusterConfig,
  provider: k8s.Provider,
  parent: pulumi.Resource,
): { namespace: k8s.core.v1.Namespace; release: k8s.helm.v3.Release } | undefined {
  const cfg = ctx.config;
  if (!cfg.argocd.install) return undefined;
  const opts = { parent, provider };
  const namespace = new k8s.core.v1.Namespace(
    `${name}-argocd-ns`,
    { metadata: { name: cfg.argocd.namespace, labels: platformLabels("argocd") } },
    opts,
  );
  const chart = cfg.charts.argoCd;
  const release = new k8s.helm.v3.Release(
    `${name}-argocd`,
    {
      name: "argocd",
      namespace: cfg.argocd.namespace,
      chart: chart.chart,
      version: chart.version,
      repositoryOpts: { repo: chart.repo },
      values: withGateSecret(buildArgoCdValues(cfg, cluster), ctx),
      atomic: true,
      cleanupOnFail: true,
      timeout: 900,
    },
    { ...opts, dependsOn: [namespace] },
  );
  new k8s.apiextensions.CustomResourcePatch(
    `${name}-argocd-default-project`,
    lockedDefaultProject(cfg.argocd.namespace),
    {
      ...opts,
      dependsOn: [release],
    },
  );
  const secrets = ctx.secrets;
  if (secrets.argocdRepoToken) {
    // Credential template for every repo of the organization: Argo CD reads, never writes.
    new k8s.core.v1.Secret(
      `${name}-argocd-repo-creds`,
      {
        metadata: {
          name: "imaas-github-repo-creds",
          namespace: cfg.argocd.namespace,
          labels: { ...platformLabels("argocd"), "argocd.argoproj.io/secret-type": "repo-creds" },
        },
        stringData: {
          type: "git",
          // Prefix of every service repo URL (github.urlBase, or github.com/<owner>).
          url: gitUrlBase(cfg.github.owner, cfg.github.urlBase),
          username: "imaas-argocd",
          password: secrets.argocdRepoToken,
        },
      },
      { ...opts, dependsOn: [namespace], additionalSecretOutputs: ["stringData", "data"] },
    );
  }
  if (cfg.argocd.oidc && secrets.argocdOidcClientSecret) {
    new k8s.core.v1.SecretPatch(
      `${name}-argocd-oidc-secret`,
      {
        metadata: {
          name: "argocd-secret",
          namespace: cfg.argocd.namespace,
          annotations: { "pulumi.com/patchForce": "true" },
        },
        stringData: { "oidc.clientSecret": secrets.argocdOidcClientSecret },
      },
      { ...opts, dependsOn: [release] },
    );
  }
  return { namespace, release };
}
