/**
 * Platform configuration: the `imaas:*` keys of `Pulumi.<stack>.yaml`, parsed with zod into one typed
 * object. This file is the only code that reads `pulumi.Config`; components receive the parsed value.
 */
import type * as Pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { DEFAULT_FORBIDDEN_EGRESS, DEFAULT_MIN_EGRESS_PREFIX, parseCidr } from "./egress";
import { ENVIRONMENTS, type Environment } from "./environments";
import { isProblem, parseBytes, parseCpu } from "./quantity";

/** CPU in cores or millicores (model/quantity.ts). */
const cpu = z.string().superRefine((v, ctx) => {
  const r = parseCpu(v);
  if (isProblem(r)) ctx.addIssue({ code: "custom", message: r.problem });
});
/** Memory or storage with a byte unit (model/quantity.ts). */
const bytes = z.string().superRefine((v, ctx) => {
  const r = parseBytes(v);
  if (isProblem(r)) ctx.addIssue({ code: "custom", message: r.problem });
});
const semver = z.string().regex(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/, "use a version like 1.2.3");
const dnsName = z
  .string()
  .regex(/^(?=.{1,253}$)([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "not a DNS name");
const cidr = z.string().refine((v) => parseCidr(v) !== undefined, {
  message: "not a CIDR block (examples: 10.96.0.0/12, fd00::/8)",
});
const k8sName = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "not a Kubernetes name");
/** `<registry>/<path>:<tag>` or `…@sha256:<hex>`; never `latest` (checked separately). */
const IMAGE_REF =
  /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(\/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$/;

const namespaceQuota = z.strictObject({
  cpu,
  memory: bytes,
  pods: z.number().int().min(0),
  storage: bytes,
  persistentVolumeClaims: z.number().int().min(0),
  services: z.number().int().min(0),
  configMaps: z.number().int().min(0),
  secrets: z.number().int().min(0),
});

const chart = z.strictObject({
  repo: z.string().url(),
  chart: z.string().min(1),
  version: semver,
});

/** Charts the platform installs, pinned; override per stack under `imaas:charts`. */
export const DEFAULT_CHARTS = {
  argoCd: { repo: "https://argoproj.github.io/argo-helm", chart: "argo-cd", version: "7.9.1" },
  kubePrometheusStack: {
    repo: "https://prometheus-community.github.io/helm-charts",
    chart: "kube-prometheus-stack",
    version: "72.6.2",
  },
  loki: { repo: "https://grafana.github.io/helm-charts", chart: "loki", version: "6.30.1" },
  fluentBit: { repo: "https://fluent.github.io/helm-charts", chart: "fluent-bit", version: "0.49.1" },
  tempo: { repo: "https://grafana.github.io/helm-charts", chart: "tempo-distributed", version: "1.42.2" },
  otelCollector: {
    repo: "https://open-telemetry.github.io/opentelemetry-helm-charts",
    chart: "opentelemetry-collector",
    version: "0.126.0",
  },
  grafana: { repo: "https://grafana.github.io/helm-charts", chart: "grafana", version: "9.2.2" },
  promLabelProxy: {
    repo: "https://prometheus-community.github.io/helm-charts",
    chart: "prom-label-proxy",
    version: "0.12.3",
  },
  externalSecrets: {
    repo: "https://charts.external-secrets.io",
    chart: "external-secrets",
    version: "0.18.2",
  },
  certManager: { repo: "https://charts.jetstack.io", chart: "cert-manager", version: "1.18.2" },
  ingressNginx: {
    repo: "https://kubernetes.github.io/ingress-nginx",
    chart: "ingress-nginx",
    version: "4.13.0",
  },
} as const;

const clusterSchema = z.strictObject({
  name: k8sName.describe("Cluster name, used in resource names and outputs"),
  environments: z.array(z.enum(ENVIRONMENTS)).min(1),
  context: z
    .string()
    .optional()
    .describe("kubeconfig context; unset: the ambient kubeconfig's current context"),
  production: z.boolean().default(false),
  networks: z
    .array(cidr)
    .default([])
    .describe(
      "The cluster's pod and service CIDRs and its API server's addresses: no tenant egress may overlap them",
    ),
});

export const platformConfigSchema = z
  .strictObject({
    clusters: z.array(clusterSchema).min(1, "configure at least one cluster"),
    domain: dnsName.describe("Platform DNS domain; Grafana and service hosts live below it"),
    github: z
      .strictObject({
        enabled: z.boolean().default(true),
        owner: z.string().min(1).describe("GitHub organization that holds tenant teams and repos"),
        urlBase: z
          .string()
          .url()
          .optional()
          .describe(
            "Base of the service repos' clone URLs that Argo CD reads: <urlBase>/<tenant>-<service>.git; " +
              "unset: https://github.com/<owner> (GitHub Enterprise: https://github.example.com/<owner>)",
          ),
        promotionChecks: z
          .strictObject({
            repository: z
              .string()
              .regex(/^[A-Za-z0-9_.-]+$/, "a repository name in the owner's organization")
              .describe("Platform-owned repository the promotion-check workflows are written to"),
            ref: z
              .string()
              .min(1)
              .default("main")
              .describe("Branch of that repository the workflows live on"),
          })
          .optional()
          .describe(
            "GitHub Actions CI: require a platform-owned promotion check on test/prod through organization " +
              "rulesets (required workflows), so tenants cannot edit it; unset: only the repo's own ci / build",
          ),
      })
      .prefault({ owner: "imaas" }),
    registry: z
      .strictObject({
        enabled: z.boolean().default(true),
        host: dnsName.describe("Harbor registry host"),
        adminUser: z
          .string()
          .min(1)
          .default("admin")
          .describe(
            "Harbor user the platform acts as: a Harbor system administrator (only they may set storage quotas)",
          ),
        baseImageProject: k8sName.default("platform"),
        storageQuota: bytes.default("20Gi"),
        keepArtifacts: z.number().int().min(1).default(20),
        keepTestPromotions: z
          .number()
          .int()
          .min(1)
          .default(10)
          .describe(
            "images last promoted to test kept per repository (prod-promoted images are always kept)",
          ),
        robotRotationDays: z
          .number()
          .int()
          .min(0)
          .default(90)
          .describe("rotate a robot secret on the first `pulumi up` after it is this many days old; 0 never"),
        rotateRobotsIssuedBefore: z
          .record(z.string(), z.iso.datetime({ offset: true }))
          .default({})
          .describe(
            "per tenant: rotate its robot secrets issued before this instant (written by `imaas rotate`)",
          ),
      })
      .prefault({ host: "registry.imaas.example.com" }),
    mi: z
      .strictObject({
        defaultVersion: semver.default("4.4.0"),
        versions: z
          .array(semver)
          .min(1)
          .default(["4.4.0"])
          .describe(
            "MI versions the platform supports: a base image is built for each, and a service's miVersion must be one",
          ),
        buildBaseImage: z.boolean().default(true),
        coordination: z
          .strictObject({
            host: z
              .string()
              .regex(/^[A-Za-z0-9]([A-Za-z0-9.:-]*[A-Za-z0-9])?$/, "a host name or IP address")
              .describe(
                "PostgreSQL server of the coordination databases, reachable from the platform and the clusters",
              ),
            port: z.number().int().min(1).max(65535).default(5432),
            adminUser: z
              .string()
              .regex(/^[a-z_][a-z0-9_]*$/, "a PostgreSQL role name (lowercase letters, digits, _)")
              .default("imaas_admin")
              .describe(
                "Role the platform creates databases and roles as (CREATEDB and CREATEROLE); its password is the secret imaas:coordinationAdminPassword",
              ),
            adminDatabase: z
              .string()
              .regex(/^[a-z_][a-z0-9_]*$/, "a PostgreSQL database name")
              .default("postgres")
              .describe("Database the platform connects to for CREATE DATABASE / CREATE ROLE"),
            ssl: z
              .enum(["require", "disable"])
              .default("require")
              .describe("TLS to the server (platform and MI's JDBC URL sslmode); disable only on loopback"),
            networks: z
              .array(cidr)
              .default([])
              .describe("The server's addresses: MI pods of stateful services may connect there on port"),
          })
          .optional()
          .describe(
            "PostgreSQL server for MI's coordination databases (one database and role per tenant environment with a stateful service); unset: stateful services run at most one replica",
          ),
        icp: z
          .strictObject({
            enabled: z.boolean().default(false),
            image: z
              .string()
              .regex(
                IMAGE_REF,
                "an image reference with a fixed tag or digest, e.g. registry.example.com/wso2/icp:1.1.0",
              )
              .optional()
              .describe(
                "ICP 1.x image (required when enabled): WSO2 publishes no ICP 1.x image name and tag the platform could confirm, so the operator names the one they mirrored or built",
              ),
            home: z
              .string()
              .regex(/^\/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$/, "an absolute directory path without a trailing /")
              .optional()
              .describe(
                "Where the image unpacks ICP (the directory holding bin/dashboard.sh and conf/), required when enabled: not confirmed for any published image",
              ),
            namespace: k8sName
              .optional()
              .describe(
                "Namespace ICP runs in; unset: the platform tooling namespace (imaas:observability.namespace)",
              ),
            replicas: z
              .number()
              .int()
              .min(0)
              .max(
                1,
                "ICP 1.x keeps the registered runtimes in memory (InMemoryDataManager): a second replica would see only the heartbeats the Service sends it; use 0 or 1",
              )
              .default(1),
            heartbeatPoolSize: z
              .number()
              .int()
              .min(1)
              .max(200)
              .default(15)
              .describe("ICP's [heartbeat_config] pool_size: threads that register and poll runtimes"),
          })
          .optional()
          .describe(
            "WSO2 Integration Control Plane 1.x per cluster (platform admins only: one shared runtime credential, no per-tenant access); MI runtimes send heartbeats through [dashboard_config]",
          ),
      })
      .prefault({}),
    quota: z
      .strictObject({
        defaults: namespaceQuota.prefault({
          cpu: "4",
          memory: "8Gi",
          pods: 20,
          storage: "20Gi",
          persistentVolumeClaims: 5,
          services: 10,
          configMaps: 50,
          secrets: 50,
        }),
        caps: namespaceQuota.prefault({
          cpu: "32",
          memory: "64Gi",
          pods: 200,
          storage: "500Gi",
          persistentVolumeClaims: 50,
          services: 100,
          configMaps: 500,
          secrets: 500,
        }),
      })
      .prefault({}),
    service: z
      .strictObject({
        defaultReplicas: z
          .strictObject({
            dev: z.number().int().min(0),
            test: z.number().int().min(0),
            prod: z.number().int().min(0),
          })
          .default({ dev: 1, test: 1, prod: 2 }),
        defaultResources: z.strictObject({ cpu, memory: bytes }).default({ cpu: "500m", memory: "1Gi" }),
        maxResources: z
          .strictObject({ cpu, memory: bytes })
          .default({ cpu: "4", memory: "8Gi" })
          .describe("Largest CPU request and memory of one MI pod (the limit range's per-container ceiling)"),
        maxPerTenant: z
          .number()
          .int()
          .min(1)
          .default(25)
          .describe("Most services one tenant file may declare (each costs 19–30 resources in the plan)"),
      })
      .prefault({}),
    rings: z
      .array(
        z.strictObject({
          name: k8sName.describe("Name of the ring, e.g. canary"),
          tenants: z
            .union([z.literal("*"), z.array(k8sName).min(1)])
            .describe('Tenants of the ring, or "*" for every tenant no earlier ring lists (last ring only)'),
          platformRevision: z
            .string()
            .min(1)
            .optional()
            .describe(
              "Git revision of the platform chart its tenants' Applications use; unset: imaas:argocd.platformRevision",
            ),
          miVersion: semver
            .optional()
            .describe("MI version its services build on unless they pin one; unset: imaas:mi.defaultVersion"),
        }),
      )
      .min(1)
      .optional()
      .describe(
        "Platform upgrade rings in rollout order; every tenant is in exactly one. Unset: every tenant on imaas:argocd.platformRevision and imaas:mi.defaultVersion",
      ),
    argocd: z
      .strictObject({
        install: z.boolean().default(true),
        namespace: k8sName.default("argocd"),
        platformRepo: z.string().url().describe("Git repo holding charts/wso2-mi"),
        platformRevision: z.string().min(1).default("main"),
        oidc: z
          .strictObject({
            issuer: z.string().url(),
            clientId: z.string().min(1),
            /** Claim holding the user's groups. */
            groupsClaim: z.string().default("groups"),
          })
          .optional()
          .describe("SSO for Argo CD; group names are the RBAC groups of identity.groupPrefix"),
        prodSyncWindow: z
          .strictObject({ schedule: z.string().min(1), duration: z.string().regex(/^\d+[mh]$/) })
          .optional()
          .describe(
            "When set, automated prod syncs run only inside this cron window (owners may still sync by hand)",
          ),
        promotionGate: z
          .strictObject({
            github: z
              .strictObject({
                appId: z
                  .number()
                  .int()
                  .positive()
                  .describe("ID of the GitHub App that posts the commit statuses"),
                installationId: z
                  .number()
                  .int()
                  .positive()
                  .describe("ID of the App's installation in the organization (imaas:github.owner)"),
                enterpriseBaseUrl: z
                  .string()
                  .url()
                  .optional()
                  .describe(
                    "GitHub Enterprise API base, e.g. https://git.example.com/api/v3; unset: github.com",
                  ),
              })
              .describe(
                "The GitHub App Argo CD's notifications controller posts with (needs commit statuses: write); its private key is the secret imaas:argocdNotificationsGithubAppKey",
              ),
            minHealthyMinutes: z
              .number()
              .int()
              .min(0)
              .max(1440)
              .default(0)
              .describe("How long an environment must have run the commit Healthy before it may be promoted"),
          })
          .optional()
          .describe(
            "Promotion gate: a merge into an environment branch requires the commit status imaas/<previous env>-healthy, which Argo CD posts when the previous environment's Application is synced and Healthy at that commit (docs/releases.md)",
          ),
        dedicated: z
          .strictObject({
            allowed: z
              .boolean()
              .default(false)
              .describe("Whether a tenant file may ask for spec.isolation: dedicated"),
            maxTenants: z
              .number()
              .int()
              .min(0)
              .optional()
              .describe(
                "The most tenants with a dedicated Argo CD (each costs a controller, repo-server and Redis per cluster); unset: no cap",
              ),
          })
          .prefault({})
          .describe(
            "Dedicated Argo CD control planes per tenant (docs/isolation-tiers.md); default: not allowed",
          ),
      })
      .prefault({ platformRepo: "https://github.com/imaas/imaas.git" }),
    identity: z
      .strictObject({
        groupPrefix: z
          .string()
          .default("imaas:")
          .describe("Prefix of the RBAC groups: <prefix><tenant>:owners"),
        platformAdminsGroup: z.string().default("imaas:platform-admins"),
      })
      .prefault({}),
    observability: z
      .strictObject({
        enabled: z.boolean().default(true),
        namespace: k8sName.default("observability"),
        metricsRetention: z
          .string()
          .regex(/^\d+[dhw]$/)
          .default("15d"),
        metricsStorage: bytes.default("50Gi"),
        logsRetention: z
          .string()
          .regex(/^\d+[dh]$/)
          .default("744h"),
        tracesRetention: z
          .string()
          .regex(/^\d+[dh]$/)
          .default("168h"),
        grafana: z
          .strictObject({
            ingressClassName: z.string().min(1).default("nginx"),
            oidc: z
              .strictObject({
                authUrl: z.string().url(),
                tokenUrl: z.string().url(),
                apiUrl: z.string().url().describe("userinfo endpoint"),
                clientId: z.string().min(1),
                groupsClaim: z.string().min(1).default("groups"),
              })
              .optional()
              .describe(
                "SSO for the tenants' Grafanas (client secret: imaas:grafanaOidcClientSecret); unset: admin login only",
              ),
          })
          .prefault({}),
        alerting: z
          .strictObject({
            smtp: z
              .strictObject({
                smarthost: z
                  .string()
                  .regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, "use host:port, e.g. smtp.example.com:587")
                  .describe("Mail relay Alertmanager sends through"),
                from: z.email("not an e-mail address"),
                requireTls: z.boolean().default(true),
                authUsername: z
                  .string()
                  .min(1)
                  .optional()
                  .describe("SMTP user; its password is the secret imaas:alertmanagerSmtpPassword"),
              })
              .optional()
              .describe("Mail relay for alert e-mail; required when any receiver has e-mail addresses"),
            platform: z
              .strictObject({
                email: z.array(z.email("not an e-mail address")).default([]),
                webhooks: z
                  .array(z.string().regex(/^[a-z]([a-z0-9-]*[a-z0-9])?$/, "a secret name, never a URL"))
                  .default([])
                  .describe(
                    "Secret names: properties of platform/alerts in the secret store, each a webhook URL",
                  ),
              })
              .prefault({})
              .describe(
                "The platform team's receiver: platform alerts and those of tenants without destinations",
              ),
          })
          .prefault({}),
      })
      .prefault({}),
    ingress: z
      .strictObject({
        install: z.boolean().default(true).describe("Install ingress-nginx; false when the cluster has one"),
        className: k8sName.default("nginx"),
        allowedDomains: z
          .array(dnsName)
          .optional()
          .describe("Domains service hosts may be under; default: the platform domain"),
        namespace: k8sName.default("ingress-nginx"),
        controllerLabels: z
          .record(z.string(), z.string())
          .default({ "app.kubernetes.io/name": "ingress-nginx" }),
      })
      .prefault({}),
    network: z
      .strictObject({
        forbiddenEgress: z
          .array(cidr)
          .default([...DEFAULT_FORBIDDEN_EGRESS])
          .describe("Blocks no tenant egress may overlap; default: link-local (metadata), loopback"),
        minEgressPrefix: z
          .strictObject({
            ipv4: z.number().int().min(0).max(32).default(DEFAULT_MIN_EGRESS_PREFIX.ipv4),
            ipv6: z.number().int().min(0).max(128).default(DEFAULT_MIN_EGRESS_PREFIX.ipv6),
          })
          .prefault({})
          .describe("Widest egress block a tenant may declare (0 allows 0.0.0.0/0)"),
      })
      .prefault({}),
    dns: z
      .strictObject({
        namespace: k8sName.default("kube-system"),
        podLabels: z.record(z.string(), z.string()).default({ "k8s-app": "kube-dns" }),
      })
      .prefault({}),
    secrets: z
      .strictObject({
        enabled: z
          .boolean()
          .default(true)
          .describe("Per-tenant secret stores and per-service ExternalSecrets"),
        installOperator: z.boolean().default(true).describe("Install the External Secrets Operator"),
        backend: z.enum(["vault"]).default("vault").describe("Secret store backend (Vault KV v2)"),
        vault: z
          .strictObject({
            server: z.string().url().describe("Vault address reachable from the clusters"),
            kvMount: z
              .string()
              .regex(/^[a-z0-9][-a-z0-9_]*$/)
              .default("imaas"),
            /** Kubernetes auth mount per cluster: `<authMountPrefix><cluster>`. */
            authMountPrefix: z
              .string()
              .regex(/^[a-z0-9][-a-z0-9_]*$/)
              .default("kubernetes-"),
            manage: z
              .boolean()
              .default(true)
              .describe("Create the Vault policies and roles (needs imaas:vaultToken)"),
          })
          .prefault({ server: "https://vault.imaas.example.com" }),
      })
      .prefault({}),
    certManager: z
      .strictObject({
        install: z.boolean().default(true),
        issuer: k8sName.default("letsencrypt").describe("ClusterIssuer that signs service certificates"),
        issuerKind: z.enum(["ClusterIssuer", "Issuer"]).default("ClusterIssuer"),
      })
      .prefault({}),
    jenkins: z
      .strictObject({
        url: z.string().url().describe("Jenkins base URL; GitHub webhooks go to <url>/github-webhook/"),
        namespace: k8sName.default("jenkins"),
      })
      .optional()
      .describe("Required when ci is jenkins"),
    ci: z.enum(["github-actions", "jenkins"]).default("github-actions"),
    stack: z
      .strictObject({
        mode: z
          .enum(["single", "platform", "tenant"])
          .default("single")
          .describe(
            "single: platform and tenants in one stack; platform: shared parts only; tenant: one tenant",
          ),
        tenant: z.string().optional().describe("The tenant of a tenant stack (mode: tenant)"),
        platformStack: z
          .string()
          .optional()
          .describe(
            "Fully qualified platform stack a tenant stack reads (org/imaas/prod); default derived from the stack name",
          ),
      })
      .prefault({}),
    charts: z
      .strictObject({
        argoCd: chart.default(DEFAULT_CHARTS.argoCd),
        kubePrometheusStack: chart.default(DEFAULT_CHARTS.kubePrometheusStack),
        loki: chart.default(DEFAULT_CHARTS.loki),
        fluentBit: chart.default(DEFAULT_CHARTS.fluentBit),
        tempo: chart.default(DEFAULT_CHARTS.tempo),
        otelCollector: chart.default(DEFAULT_CHARTS.otelCollector),
        grafana: chart.default(DEFAULT_CHARTS.grafana),
        externalSecrets: chart.default(DEFAULT_CHARTS.externalSecrets),
        certManager: chart.default(DEFAULT_CHARTS.certManager),
        ingressNginx: chart.default(DEFAULT_CHARTS.ingressNginx),
        promLabelProxy: chart.default(DEFAULT_CHARTS.promLabelProxy),
      })
      .prefault({}),
  })
  .superRefine((cfg, ctx) => {
    for (const env of ENVIRONMENTS) {
      const hosts = cfg.clusters.filter((c) => c.environments.includes(env));
      if (hosts.length > 1) {
        ctx.addIssue({
          code: "custom",
          path: ["clusters"],
          message: `environment "${env}" is mapped to more than one cluster (${hosts.map((c) => c.name).join(", ")})`,
        });
      }
    }
    if (cfg.stack.mode === "tenant" && !cfg.stack.tenant) {
      ctx.addIssue({
        code: "custom",
        path: ["stack", "tenant"],
        message: "a tenant stack (stack.mode: tenant) names its tenant",
      });
    }
    if (cfg.stack.mode !== "tenant" && cfg.stack.tenant) {
      ctx.addIssue({
        code: "custom",
        path: ["stack", "tenant"],
        message: "stack.tenant is only for stack.mode: tenant",
      });
    }
    if (!cfg.mi.versions.includes(cfg.mi.defaultVersion)) {
      ctx.addIssue({
        code: "custom",
        path: ["mi", "defaultVersion"],
        message: `${cfg.mi.defaultVersion} is not in imaas:mi.versions (${cfg.mi.versions.join(", ")}); add it there`,
      });
    }
    (cfg.rings ?? []).forEach((ring, i, rings) => {
      if (rings.findIndex((r) => r.name === ring.name) !== i) {
        ctx.addIssue({
          code: "custom",
          path: ["rings", i, "name"],
          message: `duplicate ring "${ring.name}"`,
        });
      }
      if (ring.tenants === "*" && i !== rings.length - 1) {
        ctx.addIssue({
          code: "custom",
          path: ["rings", i, "tenants"],
          message: `ring "${ring.name}" takes every other tenant ("*"), so it must be the last ring`,
        });
      }
      if (ring.miVersion !== undefined && !cfg.mi.versions.includes(ring.miVersion)) {
        ctx.addIssue({
          code: "custom",
          path: ["rings", i, "miVersion"],
          message: `MI ${ring.miVersion} is not in imaas:mi.versions (${cfg.mi.versions.join(", ")}); add it there first`,
        });
      }
      if (ring.tenants === "*") return;
      for (const tenant of ring.tenants) {
        const first = rings.findIndex((r) => r.tenants !== "*" && r.tenants.includes(tenant));
        if (first !== i) {
          ctx.addIssue({
            code: "custom",
            path: ["rings", i, "tenants"],
            message: `tenant "${tenant}" is in ring "${rings[first]!.name}" already; a tenant is in exactly one ring`,
          });
        }
      }
    });
    const icp = cfg.mi.icp;
    if (icp?.enabled) {
      if (icp.image === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["mi", "icp", "image"],
          message:
            "ICP is enabled: name its image (the platform cannot confirm a published ICP 1.x image, so it has no default), e.g. registry.example.com/wso2/integration-control-plane:1.1.0",
        });
      } else if (/:latest$/.test(icp.image)) {
        ctx.addIssue({
          code: "custom",
          path: ["mi", "icp", "image"],
          message: "pin a fixed tag or digest, not latest (pods would change under the same config)",
        });
      }
      if (icp.home === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["mi", "icp", "home"],
          message:
            "ICP is enabled: name the directory its image unpacks ICP into (holding bin/dashboard.sh and conf/), e.g. /home/wso2carbon/wso2-integration-control-plane-1.1.0",
        });
      }
      if (icp.namespace === undefined && !cfg.observability.enabled) {
        ctx.addIssue({
          code: "custom",
          path: ["mi", "icp", "namespace"],
          message:
            "ICP runs in the tooling namespace imaas:observability.namespace by default, which is not created while imaas:observability.enabled is false: set imaas:mi.icp.namespace",
        });
      }
    }
    if (cfg.ci === "jenkins" && !cfg.jenkins) {
      ctx.addIssue({ code: "custom", path: ["jenkins"], message: "ci is jenkins: set imaas:jenkins.url" });
    }
    const names = cfg.clusters.map((c) => c.name);
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i)
        ctx.addIssue({ code: "custom", path: ["clusters", i, "name"], message: `duplicate cluster "${n}"` });
    });
  });

export type PlatformConfig = z.infer<typeof platformConfigSchema>;
export type ClusterConfig = PlatformConfig["clusters"][number];
export type NamespaceQuota = PlatformConfig["quota"]["defaults"];
export type ChartRef = PlatformConfig["charts"]["argoCd"];
export type CoordinationConfig = NonNullable<PlatformConfig["mi"]["coordination"]>;
export type IcpConfig = NonNullable<PlatformConfig["mi"]["icp"]>;

/** ICP as the platform runs it on every cluster, with its namespace resolved; undefined when switched off. */
export interface IcpSettings {
  readonly image: string;
  readonly home: string;
  readonly namespace: string;
  readonly replicas: number;
  readonly heartbeatPoolSize: number;
}

/** The resolved ICP settings (validated by the schema: image and home are set when enabled). */
export function icpSettings(cfg: PlatformConfig): IcpSettings | undefined {
  const icp = cfg.mi.icp;
  if (!icp?.enabled || icp.image === undefined || icp.home === undefined) return undefined;
  return {
    image: icp.image,
    home: icp.home,
    namespace: icp.namespace ?? cfg.observability.namespace,
    replicas: icp.replicas,
    heartbeatPoolSize: icp.heartbeatPoolSize,
  };
}

/** Thrown for invalid platform config; the message lists every problem. */
export class PlatformConfigError extends Error {}

/** A tenant's place in the platform's upgrade rings, and what that ring runs. */
export interface TenantRing {
  /** The ring's name; undefined when the stack has no rings. */
  readonly ring?: string;
  /** Git revision of the platform chart the tenant's Applications use. */
  readonly platformRevision: string;
  /** MI version the tenant's services build on unless they pin one. */
  readonly miVersion: string;
}

/**
 * The ring `tenant` is in (the first that lists it, else a `"*"` ring) and its revisions; undefined when the
 * stack has rings and none takes the tenant (the loader refuses such a tenant file).
 */
export function tenantRing(cfg: PlatformConfig, tenant: string): TenantRing | undefined {
  const defaults = { platformRevision: cfg.argocd.platformRevision, miVersion: cfg.mi.defaultVersion };
  if (!cfg.rings) return defaults;
  const ring =
    cfg.rings.find((r) => r.tenants !== "*" && r.tenants.includes(tenant)) ??
    cfg.rings.find((r) => r.tenants === "*");
  if (!ring) return undefined;
  return {
    ring: ring.name,
    platformRevision: ring.platformRevision ?? defaults.platformRevision,
    miVersion: ring.miVersion ?? defaults.miVersion,
  };
}

/** Parses raw config values (keys without the `imaas:` prefix); throws a PlatformConfigError listing all problems. */
export function parsePlatformConfig(raw: Record<string, unknown>, source = "stack config"): PlatformConfig {
  const result = platformConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => {
    const path = i.path.length > 0 ? `imaas:${i.path.map(String).join(".")}` : "imaas";
    return `  ${source}: ${path}: ${i.message}`;
  });
  throw new PlatformConfigError(`invalid platform config:\n${lines.join("\n")}`);
}

/** Domains a service's public host may be under. */
export function allowedDomains(cfg: PlatformConfig): readonly string[] {
  return cfg.ingress.allowedDomains ?? [cfg.domain];
}

/** The cluster that hosts `env`, or undefined when no cluster is configured for it. */
export function clusterFor(cfg: PlatformConfig, env: Environment): ClusterConfig | undefined {
  return cfg.clusters.find((c) => c.environments.includes(env));
}

/**
 * Every secret the platform reads: `pulumi config set --secret imaas:<key> …`. The one list: the config
 * parser skips these keys, readPlatformSecrets reads them, the README's config reference documents them.
 */
export const PLATFORM_SECRETS = {
  githubToken: "GitHub token for the organization; unset: the provider reads GITHUB_TOKEN",
  harborPassword: "password of imaas:registry.adminUser in Harbor",
  grafanaAdminPassword: "Grafana admin password",
  grafanaOidcClientSecret: "OIDC client secret of the tenants' Grafanas",
  argocdRepoToken: "read-only token Argo CD uses to read the platform and tenant repos",
  argocdOidcClientSecret: "OIDC client secret of Argo CD's SSO",
  vaultToken: "Vault token the platform uses to manage tenant policies and roles",
  jenkinsWebhookSecret: "webhook secret shared with Jenkins",
  alertmanagerSmtpPassword: "password of imaas:observability.alerting.smtp.authUsername at the mail relay",
  argocdNotificationsGithubAppKey:
    "PEM private key of the GitHub App of imaas:argocd.promotionGate (Argo CD posts the imaas/<env>-healthy statuses with it)",
  coordinationAdminPassword:
    "password of imaas:mi.coordination.adminUser on the coordination PostgreSQL server",
  icpRuntimePassword:
    "password of the one management API user ICP 1.x logs in to every MI runtime with (imaas:mi.icp), e.g. `openssl rand -hex 24`",
} as const;

export type PlatformSecretKey = keyof typeof PLATFORM_SECRETS;

/** Keys under `imaas:` that hold secrets and are read by readPlatformSecrets, not parsed here. */
export const SECRET_CONFIG_KEYS = Object.keys(PLATFORM_SECRETS) as PlatformSecretKey[];

/** Structured config values arrive as JSON text; plain strings stay strings. */
function parseConfigValue(text: string): unknown {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{") && !trimmed.startsWith("[")) return text;
  try {
    return JSON.parse(trimmed);
  } catch {
    return text;
  }
}

/**
 * Parses the `imaas:*` entries of a stack's config (full keys to values as Pulumi passes them).
 * Unknown `imaas:` keys are errors, so a typo in a stack file cannot silently fall back to a default.
 */
export function platformConfigFromEntries(
  entries: Readonly<Record<string, string>>,
  source: string,
): PlatformConfig {
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(entries)) {
    if (!key.startsWith("imaas:")) continue;
    const name = key.slice("imaas:".length);
    if ((SECRET_CONFIG_KEYS as readonly string[]).includes(name)) continue;
    raw[name] = parseConfigValue(value);
  }
  return parsePlatformConfig(raw, source);
}

/**
 * Reads the stack's `imaas:*` config through the Pulumi runtime and parses it. Invalid config stops the
 * run with one line per problem naming the key and the command that sets it (a RunError: no stack trace).
 */
export function readPlatformConfig(): PlatformConfig {
  const pulumi = sdk();
  try {
    return platformConfigFromEntries(pulumi.runtime.allConfig(), `Pulumi.${pulumi.getStack()}.yaml`);
  } catch (err) {
    if (!(err instanceof PlatformConfigError)) throw err;
    throw new pulumi.RunError(
      `${err.message}\nset a value with: pulumi config set --path 'imaas:<key>' <value> (objects: pulumi config set --path 'imaas:<key>.<field>' …)`,
    );
  }
}

/**
 * Secrets the platform needs, read as Pulumi secrets (never plain values), one per {@link PLATFORM_SECRETS}
 * key. Absent secrets are undefined; the component that needs one reports it.
 */
export type PlatformSecrets = { readonly [K in PlatformSecretKey]?: Pulumi.Output<string> };

export function readPlatformSecrets(): PlatformSecrets {
  const config = new (sdk().Config)("imaas");
  return Object.fromEntries(SECRET_CONFIG_KEYS.map((k) => [k, config.getSecret(k)])) as PlatformSecrets;
}

/**
 * The SDK, loaded only by the readers above (which run inside the program): `imaas validate`, `schema` and
 * `--help` use this module's parsers and never load @pulumi/pulumi.
 */
function sdk(): typeof Pulumi {
  return require("@pulumi/pulumi") as typeof Pulumi;
}
