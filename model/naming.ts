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
/** Base of the service repos' clone URLs: `urlBase` (config `github.urlBase`) or `https://github.com/<owner>`. */
export const gitUrlBase = (owner: string, urlBase?: string): string =>
  (urlBase ?? `https://github.com/${owner}`).replace(/\/+$/, "");
/**
 * Clone URL of a service repository, as Argo CD and the AppProject refer to it:
 * `<urlBase>/<tenant>-<service>.git`, on github.com unless `urlBase` (config `github.urlBase`) says otherwise.
 */
export const repositoryUrl = (owner: string, tenant: string, service: string, urlBase?: string): string =>
  `${gitUrlBase(owner, urlBase)}/${repositoryName(tenant, service)}.git`;
export const registryProjectName = (tenant: string): string => tenant;
export const appProjectName = (tenant: string): string => tenant;
/** Namespace of a tenant's dedicated Argo CD (spec.isolation: dedicated), one per cluster hosting the tenant. */
export const dedicatedArgoNamespace = (tenant: string): string => `${tenant}-argocd`;
/** Helm release of a tenant's dedicated Argo CD. */
export const dedicatedArgoRelease = (tenant: string): string => `argocd-${tenant}`;
/**
 * The cluster Secret of a tenant's dedicated Argo CD: the in-cluster API server limited to the tenant's
 * namespaces; its Applications name it as their destination.
 */
export const dedicatedClusterSecretName = (tenant: string): string => `cluster-${tenant}-namespaces`;
/** The destination cluster name a dedicated instance's Applications use (its cluster Secret's `name`). */
export const dedicatedClusterName = (tenant: string, cluster: string): string => `${cluster}-${tenant}`;
export const dedicatedRepoCredsName = (tenant: string): string => `imaas-${tenant}-repo-creds`;
/** Role (and RoleBinding) in each environment namespace granting the tenant's dedicated controller its work. */
export const dedicatedControllerRoleName = "imaas-argocd-dedicated";
export const applicationName = (tenant: string, service: string, env: Environment): string =>
  `${tenant}-${service}-${env}`;
/** Image repository inside the registry: `<host>/<tenant>/<service>`. */
export const imageRepository = (registryHost: string, tenant: string, service: string): string =>
  `${registryHost}/${registryProjectName(tenant)}/${service}`;
/** The platform's MI base image for an MI version: `<registry>/<base-image project>/mi-base:<version>`. */
export const miBaseImage = (registryHost: string, baseImageProject: string, miVersion: string): string =>
  `${registryHost}/${baseImageProject}/mi-base:${miVersion}`;
/** Id of the Jenkins credential holding a tenant's registry CI robot (the Secret's name in Jenkins' namespace). */
export const jenkinsRegistryCredentialsId = (tenant: string): string => `${tenant}-registry-ci`;
/** Harbor's base URL. */
export const harborUrl = (registryHost: string): string => `https://${registryHost}`;

/** Branch of a service repository that holds an environment's deploy values. */
export const branchName = (env: Environment): string => env;

/** Default public host of an exposed service: `<service>.<tenant>.<env>.<platform domain>`. */
export const defaultHost = (tenant: string, service: string, env: Environment, domain: string): string =>
  `${service}.${tenant}.${env}.${domain}`;

/** Path of a service's secrets in the secret store, below the store's mount: `<tenant>/<env>/<service>`. */
export const secretStorePath = (tenant: string, env: Environment, service: string): string =>
  `${tenant}/${env}/${service}`;

/** Logical name of a tenant's observability component (top-level, beside its TenantSpace). */
export const tenantObservabilityName = (tenant: string): string => `${tenant}-observability`;

/** A tenant's own stack next to a platform stack: `<platform-stack>.<tenant>` (e.g. `prod.payroll`). */
export const tenantStackName = (platformStack: string, tenant: string): string =>
  `${platformStack}.${tenant}`;
/** The platform stack a tenant stack belongs to: `prod.payroll` → `prod`. */
export const platformStackOf = (tenantStack: string): string => tenantStack.replace(/\.[^.]+$/, "");

/** Kubernetes names inside a tenant namespace. */
export const TENANT_OBJECTS = {
  workloadServiceAccount: "mi-workloads",
  pullSecret: "registry-pull",
  quota: "tenant-quota",
  limitRange: "tenant-limits",
  defaultDeny: "default-deny",
  secretStore: "tenant-secrets",
  secretReader: "secrets-reader",
  /** The Secret holding the tenant environment's coordination database credentials (MI's WSO2_COORDINATION_DB). */
  coordinationSecret: "coordination-db",
} as const;

/**
 * The coordination database and its login role of a tenant environment on the platform's PostgreSQL server:
 * `imaas_<tenant>_<env>` (hyphens become underscores; tenant names have none, so no two tenants share one).
 */
export const coordinationDatabaseName = (tenant: string, env: Environment): string =>
  `imaas_${tenant.replace(/-/g, "_")}_${env}`;

/**
 * Where the platform writes a tenant environment's coordination credentials in the secret store:
 * `<tenant>/<env>/_coordination-db`. Inside the tenant store's own path; `_` keeps it apart from every
 * service's `<tenant>/<env>/<service>` (service names have no underscore).
 */
export const coordinationStorePath = (tenant: string, env: Environment): string =>
  `${tenant}/${env}/_coordination-db`;

/** The Kubernetes Secret an ExternalSecret materialises for a service. */
export const serviceSecretName = (service: string): string => `${service}-secrets`;

/** RBAC group names for a tenant's owners and members. */
export const ownersGroup = (prefix: string, tenant: string): string => `${prefix}${tenant}:owners`;
export const membersGroup = (prefix: string, tenant: string): string => `${prefix}${tenant}:members`;

/**
 * Robot accounts in the tenant's registry project. The clusters pull with two robots (`pull`, `pull-b`),
 * both in the pull secret, so rotating one never leaves the pods without a working credential.
 */
export const robotName = (purpose: "ci" | "pull" | "pull-b"): string => purpose;

/** The tag CI adds to an image promoted to `env` (e.g. `prod-<git sha>`); retention keeps images by it. */
export const promotionTag = (env: Environment, imageTag: string): string => `${env}-${imageTag}`;
/** The doublestar pattern matching every {@link promotionTag} of `env`. */
export const promotionTagPattern = (env: Environment): string => `${env}-*`;

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

/** Helm release names (and chart fullnames) of a cluster's shared observability backends. */
export const OBSERVABILITY_RELEASES = {
  prometheus: "kps",
  loki: "loki",
  fluentBit: "fluent-bit",
  tempo: "tempo",
  otelCollector: "otel-collector",
} as const;

/** Loki/Tempo tenant (`X-Scope-OrgID`) of logs and traces from namespaces that belong to no tenant. */
export const PLATFORM_TELEMETRY_TENANT = "platform";

/** The Loki/Tempo tenant id (`X-Scope-OrgID`) of a tenant: its name, which the loader keeps unique. */
export const telemetryTenantId = (tenant: string): string => tenant;

/** A tenant's Grafana release in a cluster's observability namespace. */
export const grafanaReleaseName = (tenant: string): string => `grafana-${tenant}`;

/** A tenant's label-enforcing Prometheus proxy (prom-label-proxy) release. */
export const metricsProxyReleaseName = (tenant: string): string => `metrics-proxy-${tenant}`;

/** Public host of Argo CD (UI and SSO callback) in a cluster. */
export const argocdHost = (cluster: string, domain: string): string => `argocd.${cluster}.${domain}`;

/** Secret that holds the TLS certificate of a tenant's Grafana host (issued by cert-manager). */
export const grafanaTlsSecretName = (tenant: string): string => `grafana-${tenant}-tls`;

/** Public host of a tenant's Grafana in a cluster. */
export const grafanaHost = (tenant: string, cluster: string, domain: string): string =>
  `grafana.${tenant}.${cluster}.${domain}`;

/** Owner of platform alert webhooks in the secret store (`platform/alerts`); a reserved tenant name. */
export const PLATFORM_ALERTS_OWNER = "platform";
/** Secret-store entry whose properties are an owner's (tenant's or `platform`'s) alert webhook URLs. */
export const alertWebhooksStorePath = (owner: string): string => `${owner}/alerts`;
/** Secret in the observability namespace holding an owner's alert webhook URLs, mounted into Alertmanager. */
export const alertWebhooksSecretName = (owner: string): string => `alerts-${owner}`;
/** Alertmanager receiver of a tenant. */
export const tenantAlertReceiver = (tenant: string): string => `tenant-${tenant}`;
/** Vault policy and Kubernetes-auth role of a cluster's Alertmanager secret reader. */
export const alertingVaultRoleName = (cluster: string): string => `imaas-alerting-${cluster}`;
/** Alertmanager receiver of the platform team. */
export const PLATFORM_ALERT_RECEIVER = "platform";

/** Kubernetes names of observability objects. */
export const OBSERVABILITY_OBJECTS = {
  /** SecretStore (and its reader service account) that reads `<owner>/alerts` entries for Alertmanager. */
  alertingSecretStore: "alerting",
  alertingSecretReader: "alerting-secrets-reader",
  /** Secret with the SMTP password (`imaas:alertmanagerSmtpPassword`), mounted into Alertmanager. */
  alertmanagerSmtpSecret: "alertmanager-smtp",
  /** PrometheusRule holding a tenant's MI alerts, in each tenant namespace. */
  alertRules: "imaas-mi-alerts",
  /** Platform recording rules, in the observability namespace. */
  recordingRules: "imaas-recording-rules",
  /** Secret with the Grafana admin credentials, in the observability namespace. */
  grafanaAdminSecret: "grafana-admin",
  /** Secret with the Grafana OIDC client secret (as an environment variable), in the observability namespace. */
  grafanaOidcSecret: "grafana-oidc",
  /** Network policy admitting only the observability namespace to the storage backends. */
  backendsPolicy: "backends-from-observability-only",
} as const;

/**
 * MI keystore of a service (in its environment namespace): the cert-manager Certificate and the Secret
 * cert-manager writes (`keystore.jks`, `truststore.jks`, `ca.crt`, `tls.crt`, `tls.key`).
 */
export const miKeystoreName = (service: string): string => `${service}-mi-keystore`;
/** Secret with the MI keystore password and the management API user (generated by the platform). */
export const miCredentialsSecretName = (service: string): string => `${service}-mi-credentials`;
/** Platform-wide cert-manager objects of the internal CA that signs the MI keystores. */
export const INTERNAL_CA = {
  /** Self-signed ClusterIssuer that signs only the CA certificate. */
  bootstrapIssuer: "imaas-selfsigned",
  /** The CA Certificate and its Secret, in cert-manager's namespace (its cluster resource namespace). */
  caCertificate: "imaas-internal-ca",
  /** ClusterIssuer that signs every MI keystore certificate. */
  issuer: "imaas-internal-ca",
} as const;
