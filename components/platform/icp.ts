/**
 * WSO2's Integration Control Plane 1.x (ICP) on one cluster, for platform admins only (`imaas:mi.icp`;
 * charts/wso2-mi/README.md, "Integration Control Plane"). Off by default.
 *
 * What MI 4.4 speaks is `[dashboard_config]` (wso2/micro-integrator `initializer/dashboard/HeartBeatComponent`):
 * every runtime POSTs `{product, groupId, nodeId, interval, mgtApiUrl}` to `<dashboard_url>/heartbeat`; ICP
 * (wso2/integration-control-plane `HeartBeatDelegate`) then logs in to `<mgtApiUrl>login` with ONE credential,
 * `[mi_super_admin]` (`DashboardServer` → system properties `mi_username`/`mi_password`,
 * `ManagementApiUtils.getAccessToken`), the same for every runtime. ICP's own users have an admin or a default
 * scope and no access control per group, so tenants cannot be scoped there: ICP is for platform admins.
 *
 * The objects, in the ICP namespace (default: the tooling namespace, `imaas:observability.namespace`):
 * - Secret `imaas-icp-credentials`: ICP's keystore password, its console user and the unused Ballerina
 *   service account's password, drawn once by the program (kept by `ignoreChanges`, like the MI keystores);
 * - Secret `imaas-icp-runtime`: the shared runtime user (`imaas-icp`, password `imaas:icpRuntimePassword`),
 *   which ICP logs in with and which every MI service's namespace holds a copy of (components/mi-service/icp.ts);
 * - Certificate `imaas-icp-keystore`: ICP's TLS key pair from the internal CA, as JKS;
 * - ConfigMap `imaas-icp-conf` (ICP's `deployment.toml`), Deployment and Service `imaas-icp` (HTTPS 9743);
 * - NetworkPolicy `imaas-icp`: heartbeats in from MI pods of tenant namespaces only (9743), calls out to
 *   their management API only (9164), and DNS.
 */
import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { INTERNAL_CA, LABELS } from "../../model/naming";
import { type IcpSettings, icpSettings, type PlatformConfig } from "../../model/platform-config";
import { generatePassword } from "../mi-service/keystore";
import { type PlatformContext, requireSecret } from "../shared/context";
import { platformLabels } from "../shared/labels";
import { podSecurityLabels } from "../tenant-space/namespaces";

/** Name of ICP's Deployment, Service, NetworkPolicy (and the prefix of its other objects). */
export const ICP_NAME = "imaas-icp";
/** ICP's HTTPS port (`[server_config] port`, ICP's default). */
export const ICP_PORT = 9743;
/** MI's management API (HTTPS), which ICP calls on every runtime. */
export const MI_MANAGEMENT_PORT = 9164;
/** The one management API user ICP logs in to every MI runtime with (`[mi_super_admin]`). */
export const ICP_RUNTIME_USER = "imaas-icp";
/** ICP's console user (its file user store), for platform admins. */
export const ICP_CONSOLE_USER = "imaas-platform";
/** ICP's Ballerina service account (`[bal_service_account]`): unused by MI, but never left at bal_admin/bal_secret. */
export const ICP_BAL_USER = "imaas-icp-bal";

export const ICP_OBJECTS = {
  credentials: `${ICP_NAME}-credentials`,
  runtime: `${ICP_NAME}-runtime`,
  keystore: `${ICP_NAME}-keystore`,
  config: `${ICP_NAME}-conf`,
} as const;

/** Keys of the runtime Secret (ICP's and every MI namespace's copy). */
export const ICP_RUNTIME_KEYS = { username: "username", password: "password" } as const;
/** Keys of ICP's own credentials Secret. */
export const ICP_CREDENTIAL_KEYS = {
  keystorePassword: "keystore-password",
  consoleUsername: "console-username",
  consolePassword: "console-password",
  balUsername: "bal-username",
  balPassword: "bal-password",
} as const;

/** Where ICP runs from: a writable copy of the image's ICP home (the image's home is read-only). */
export const ICP_RUNTIME_HOME = "/icp-runtime";
/** ICP's keystore directory, relative to its home (ICP opens `<home>/<keystore.file_name>`). */
export const ICP_KEYSTORE_DIR = "conf/security/imaas";

/** Requests and limits of the ICP container (and its init container). */
export const ICP_RESOURCES = {
  requests: { cpu: "250m", memory: "768Mi" },
  limits: { cpu: "1", memory: "768Mi" },
} as const;

/** JVM flags of ICP: heap sized from the container's memory limit, as for MI (charts/wso2-mi). */
export const ICP_JAVA_OPTS = "-XX:InitialRAMPercentage=50.0 -XX:MaxRAMPercentage=65.0";

/** Lifetime of ICP's TLS certificate and when cert-manager renews it (the MI keystores' lifetime). */
export const ICP_CERT_LIFETIME = { duration: "2160h", renewBefore: "720h" } as const;

/** Pod labels of ICP (the NetworkPolicies on both sides select them). */
export const icpPodLabels = (): Record<string, string> => ({
  "app.kubernetes.io/name": ICP_NAME,
  "app.kubernetes.io/instance": ICP_NAME,
});

/** ICP's in-cluster host name. */
export const icpHost = (icp: IcpSettings): string => `${ICP_NAME}.${icp.namespace}.svc`;

/**
 * `[dashboard_config] dashboard_url` of every runtime: ICP's API root. MI appends `/heartbeat`
 * (`HeartBeatComponent`), ICP serves it at `/dashboard/api/heartbeat` (webapp `/dashboard`, Jersey `/api/*`,
 * `HeartbeatApi`). No trailing slash, so the path has no empty segment.
 */
export const icpDashboardUrl = (icp: IcpSettings): string =>
  `https://${icpHost(icp)}:${ICP_PORT}/dashboard/api`;

/** The DNS names of ICP's certificate: its Service, short and fully qualified. */
export function icpDnsNames(icp: IcpSettings): string[] {
  return [ICP_NAME, `${ICP_NAME}.${icp.namespace}`, icpHost(icp), `${icpHost(icp)}.cluster.local`];
}

/** A peer: the MI pods of every tenant namespace (labelled by the platform; tenants cannot relabel namespaces). */
export function tenantMiPodsPeer() {
  return {
    namespaceSelector: {
      matchExpressions: [
        { key: LABELS.tenant, operator: "Exists" },
        { key: LABELS.environment, operator: "Exists" },
      ],
    },
    podSelector: { matchExpressions: [{ key: LABELS.service, operator: "Exists" }] },
  };
}

/**
 * ICP's `deployment.toml` (keys: wso2/integration-control-plane `DashboardServer` and its config-parser
 * `default.json`/`templates/conf/user-mgt.xml.j2`). Every credential comes from the environment (`$env{}`,
 * resolved by the same config mapper MI uses); none of ICP's shipped defaults (`wso2carbon` keystore,
 * `admin`/`admin`, `bal_admin`/`bal_secret`) remains.
 */
export function icpDeploymentToml(icp: IcpSettings): string {
  return `# deployment.toml of the platform's Integration Control Plane 1.x (components/platform/icp.ts).
[server_config]
port = ${ICP_PORT}

# Threads that register runtimes and fetch their artifacts (ICP's heartbeat_pool_size system property).
[heartbeat_config]
pool_size = ${icp.heartbeatPoolSize}

# ICP's TLS key pair: Certificate ${ICP_OBJECTS.keystore} from the platform's internal CA (JKS), relative to ICP's home.
[keystore]
file_name = "${ICP_KEYSTORE_DIR}/keystore.jks"
password = "$env{IMAAS_ICP_KEYSTORE_PASSWORD}"
key_password = "$env{IMAAS_ICP_KEYSTORE_PASSWORD}"

# The one user ICP logs in to every MI runtime's management API with (each runtime's [[internal_apis.users]]
# holds it, not as an admin).
[mi_super_admin]
username = "$env{IMAAS_ICP_RUNTIME_USERNAME}"
password = "$env{IMAAS_ICP_RUNTIME_PASSWORD}"

# Ballerina runtimes are not used; the account still gets a generated password instead of ICP's default.
[bal_service_account]
username = "$env{IMAAS_ICP_BAL_USERNAME}"
password = "$env{IMAAS_ICP_BAL_PASSWORD}"

# ICP's console: one platform admin user in its file user store (it replaces the default admin list).
[internal_apis.file_user_store]
enable = true

[[internal_apis.users]]
user.name = "$env{IMAAS_ICP_CONSOLE_USERNAME}"
user.password = "$env{IMAAS_ICP_CONSOLE_PASSWORD}"
user.is_admin = true

[super_admin]
username = "$env{IMAAS_ICP_CONSOLE_USERNAME}"
password = "$env{IMAAS_ICP_CONSOLE_PASSWORD}"
`;
}

const secretEnv = (name: string, secret: string, key: string) => ({
  name,
  valueFrom: { secretKeyRef: { name: secret, key } },
});

const CONTAINER_SECURITY = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
};

/** The objects of one cluster's ICP, as plain manifests (what the tests read). */
export function icpManifests(icp: IcpSettings) {
  const labels = { ...platformLabels("icp"), ...icpPodLabels() };
  const ns = icp.namespace;
  const meta = (name: string) => ({ name, namespace: ns, labels });
  const certificate = {
    apiVersion: "cert-manager.io/v1",
    kind: "Certificate",
    metadata: meta(ICP_OBJECTS.keystore),
    spec: {
      secretName: ICP_OBJECTS.keystore,
      commonName: icpHost(icp),
      dnsNames: icpDnsNames(icp),
      ...ICP_CERT_LIFETIME,
      issuerRef: { name: INTERNAL_CA.issuer, kind: "ClusterIssuer", group: "cert-manager.io" },
      privateKey: { algorithm: "RSA", size: 2048, rotationPolicy: "Always" },
      usages: ["server auth", "digital signature", "key encipherment"],
      keystores: {
        jks: {
          create: true,
          alias: "icp",
          passwordSecretRef: { name: ICP_OBJECTS.credentials, key: ICP_CREDENTIAL_KEYS.keystorePassword },
        },
      },
    },
  };
  const configMap = {
    metadata: meta(ICP_OBJECTS.config),
    data: { "deployment.toml": icpDeploymentToml(icp) },
  };
  const c = ICP_OBJECTS.credentials;
  const env = [
    { name: "DASHBOARD_HOME", value: ICP_RUNTIME_HOME },
    // bin/dashboard.sh passes JAVA_OPTS to java: the heap from the memory limit (the JVM's default is a quarter).
    { name: "JAVA_OPTS", value: ICP_JAVA_OPTS },
    secretEnv("IMAAS_ICP_KEYSTORE_PASSWORD", c, ICP_CREDENTIAL_KEYS.keystorePassword),
    secretEnv("IMAAS_ICP_CONSOLE_USERNAME", c, ICP_CREDENTIAL_KEYS.consoleUsername),
    secretEnv("IMAAS_ICP_CONSOLE_PASSWORD", c, ICP_CREDENTIAL_KEYS.consolePassword),
    secretEnv("IMAAS_ICP_BAL_USERNAME", c, ICP_CREDENTIAL_KEYS.balUsername),
    secretEnv("IMAAS_ICP_BAL_PASSWORD", c, ICP_CREDENTIAL_KEYS.balPassword),
    secretEnv("IMAAS_ICP_RUNTIME_USERNAME", ICP_OBJECTS.runtime, ICP_RUNTIME_KEYS.username),
    secretEnv("IMAAS_ICP_RUNTIME_PASSWORD", ICP_OBJECTS.runtime, ICP_RUNTIME_KEYS.password),
  ];
  const probe = (periodSeconds: number, failureThreshold: number) => ({
    tcpSocket: { port: "https" },
    periodSeconds,
    timeoutSeconds: 3,
    failureThreshold,
  });
  const deployment = {
    metadata: meta(ICP_NAME),
    spec: {
      replicas: icp.replicas,
      // One pod at a time: ICP keeps runtimes in memory, two would split the heartbeats between them.
      strategy: { type: "Recreate" },
      selector: { matchLabels: icpPodLabels() },
      template: {
        metadata: {
          labels,
          // A changed deployment.toml rolls the pod (a subPath mount never refreshes).
          annotations: {
            "checksum/icp-conf": createHash("sha256").update(icpDeploymentToml(icp)).digest("hex"),
          },
        },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 10802,
            runAsGroup: 10802,
            fsGroup: 10802,
            seccompProfile: { type: "RuntimeDefault" },
          },
          initContainers: [
            {
              // ICP writes into its home at start (the config parser's output, runtime.pid, extracted
              // webapps): it runs from a copy in an emptyDir, like MI (charts/wso2-mi).
              name: "icp-home",
              image: icp.image,
              command: ["/bin/sh", "-c", `set -eu; cp -a "${icp.home}/." "${ICP_RUNTIME_HOME}/"`],
              securityContext: CONTAINER_SECURITY,
              resources: ICP_RESOURCES,
              volumeMounts: [{ name: "icp-runtime", mountPath: ICP_RUNTIME_HOME }],
            },
          ],
          containers: [
            {
              name: "icp",
              image: icp.image,
              // dashboard.sh keeps a DASHBOARD_HOME it is given (bin/dashboard.sh: `[ -z "$DASHBOARD_HOME" ] && …`).
              command: ["/bin/sh", `${ICP_RUNTIME_HOME}/bin/dashboard.sh`],
              ports: [{ name: "https", containerPort: ICP_PORT, protocol: "TCP" }],
              env,
              startupProbe: probe(5, 60),
              livenessProbe: probe(10, 3),
              readinessProbe: probe(5, 3),
              securityContext: CONTAINER_SECURITY,
              resources: ICP_RESOURCES,
              volumeMounts: [
                { name: "icp-runtime", mountPath: ICP_RUNTIME_HOME },
                {
                  name: "icp-conf",
                  mountPath: `${ICP_RUNTIME_HOME}/conf/deployment.toml`,
                  subPath: "deployment.toml",
                  readOnly: true,
                },
                {
                  name: "icp-keystore",
                  mountPath: `${ICP_RUNTIME_HOME}/${ICP_KEYSTORE_DIR}`,
                  readOnly: true,
                },
                { name: "tmp", mountPath: "/tmp" },
              ],
            },
          ],
          volumes: [
            { name: "icp-runtime", emptyDir: { sizeLimit: "1Gi" } },
            { name: "tmp", emptyDir: { sizeLimit: "512Mi" } },
            { name: "icp-conf", configMap: { name: ICP_OBJECTS.config } },
            {
              name: "icp-keystore",
              secret: {
                secretName: ICP_OBJECTS.keystore,
                items: [{ key: "keystore.jks", path: "keystore.jks" }],
              },
            },
          ],
        },
      },
    },
  };
  const service = {
    metadata: meta(ICP_NAME),
    spec: {
      type: "ClusterIP",
      selector: icpPodLabels(),
      ports: [{ name: "https", port: ICP_PORT, targetPort: "https", protocol: "TCP" }],
    },
  };
  return { certificate, configMap, deployment, service };
}

/**
 * ICP's NetworkPolicy: in, heartbeats from MI pods of tenant namespaces on 9743 (people use `kubectl
 * port-forward`, which needs no policy); out, those pods' management API on 9164 and DNS. Nothing else.
 */
export function icpNetworkPolicySpec(cfg: PlatformConfig) {
  return {
    podSelector: { matchLabels: icpPodLabels() },
    policyTypes: ["Ingress", "Egress"],
    ingress: [{ from: [tenantMiPodsPeer()], ports: [{ protocol: "TCP", port: ICP_PORT }] }],
    egress: [
      { to: [tenantMiPodsPeer()], ports: [{ protocol: "TCP", port: MI_MANAGEMENT_PORT }] },
      {
        to: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": cfg.dns.namespace } },
            podSelector: { matchLabels: cfg.dns.podLabels },
          },
        ],
        ports: [
          { protocol: "UDP", port: 53 },
          { protocol: "TCP", port: 53 },
        ],
      },
    ],
  };
}

/**
 * The tenant side: an egress rule in each tenant namespace letting its MI pods reach ICP's 9743, and
 * nothing else of ICP's namespace (components/tenant-space/network.ts adds it when ICP is on).
 */
export function icpHeartbeatEgressPolicySpec(icp: IcpSettings) {
  return {
    podSelector: { matchExpressions: [{ key: LABELS.service, operator: "Exists" }] },
    policyTypes: ["Egress" as const],
    egress: [
      {
        to: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": icp.namespace } },
            podSelector: { matchLabels: icpPodLabels() },
          },
        ],
        ports: [{ protocol: "TCP" as const, port: ICP_PORT }],
      },
    ],
  };
}

/** ICP's own credentials Secret; the values are drawn once (see {@link createIcp}). */
export function icpCredentialsSecretManifest(
  icp: IcpSettings,
  values: {
    keystorePassword: pulumi.Input<string>;
    consolePassword: pulumi.Input<string>;
    balPassword: pulumi.Input<string>;
  },
) {
  return {
    metadata: { name: ICP_OBJECTS.credentials, namespace: icp.namespace, labels: platformLabels("icp") },
    type: "Opaque",
    stringData: {
      [ICP_CREDENTIAL_KEYS.keystorePassword]: values.keystorePassword,
      [ICP_CREDENTIAL_KEYS.consoleUsername]: ICP_CONSOLE_USER,
      [ICP_CREDENTIAL_KEYS.consolePassword]: values.consolePassword,
      [ICP_CREDENTIAL_KEYS.balUsername]: ICP_BAL_USER,
      [ICP_CREDENTIAL_KEYS.balPassword]: values.balPassword,
    },
  };
}

/** The shared runtime user, as a Secret in `namespace` (ICP's, or an MI service's copy). */
export function icpRuntimeSecretData(password: pulumi.Input<string>) {
  return { [ICP_RUNTIME_KEYS.username]: ICP_RUNTIME_USER, [ICP_RUNTIME_KEYS.password]: password };
}

/** The shared runtime password (`imaas:icpRuntimePassword`); a placeholder under `imaas plan`. */
export function icpRuntimePassword(ctx: PlatformContext): pulumi.Output<string> {
  return requireSecret(ctx, "icpRuntimePassword", "the Integration Control Plane (imaas:mi.icp.enabled)");
}

/**
 * Creates one cluster's ICP. `namespaceReady` is what must exist first: the tooling namespace's creator
 * (the observability stack) when ICP shares it, and the internal CA that signs its certificate. When ICP has
 * a namespace of its own, it is created here (Pod Security `restricted`).
 */
export function createIcp(
  name: string,
  ctx: PlatformContext,
  icp: IcpSettings,
  provider: k8s.Provider,
  parent: pulumi.Resource,
  options: { readonly ownNamespace: boolean; readonly dependsOn: pulumi.Resource[] },
): pulumi.Resource[] {
  const opts = { parent, provider };
  const created: pulumi.Resource[] = [];
  let dependsOn = options.dependsOn;
  if (options.ownNamespace) {
    const ns = new k8s.core.v1.Namespace(
      `${name}-icp-namespace`,
      { metadata: { name: icp.namespace, labels: { ...platformLabels("icp"), ...podSecurityLabels() } } },
      { ...opts, dependsOn },
    );
    created.push(ns);
    dependsOn = [...dependsOn, ns];
  }
  const m = icpManifests(icp);
  const credentials = new k8s.core.v1.Secret(
    `${name}-icp-credentials`,
    icpCredentialsSecretManifest(icp, {
      keystorePassword: pulumi.secret(generatePassword()),
      consolePassword: pulumi.secret(generatePassword()),
      balPassword: pulumi.secret(generatePassword()),
    }),
    {
      ...opts,
      dependsOn,
      ignoreChanges: ["stringData", "data"],
      additionalSecretOutputs: ["stringData", "data"],
    },
  );
  const runtime = new k8s.core.v1.Secret(
    `${name}-icp-runtime`,
    {
      metadata: { name: ICP_OBJECTS.runtime, namespace: icp.namespace, labels: platformLabels("icp") },
      type: "Opaque",
      stringData: icpRuntimeSecretData(icpRuntimePassword(ctx)),
    },
    { ...opts, dependsOn, additionalSecretOutputs: ["stringData", "data"] },
  );
  const certificate = new k8s.apiextensions.CustomResource(`${name}-icp-keystore`, m.certificate, {
    ...opts,
    dependsOn: [...dependsOn, credentials],
  });
  const configMap = new k8s.core.v1.ConfigMap(`${name}-icp-conf`, m.configMap, { ...opts, dependsOn });
  const policy = new k8s.networking.v1.NetworkPolicy(
    `${name}-icp-policy`,
    {
      metadata: { name: ICP_NAME, namespace: icp.namespace, labels: platformLabels("icp") },
      spec: icpNetworkPolicySpec(ctx.config),
    },
    { ...opts, dependsOn },
  );
  const deployment = new k8s.apps.v1.Deployment(`${name}-icp`, m.deployment, {
    ...opts,
    dependsOn: [credentials, runtime, certificate, configMap, policy],
  });
  const service = new k8s.core.v1.Service(`${name}-icp-service`, m.service, { ...opts, dependsOn });
  created.push(credentials, runtime, certificate, configMap, policy, deployment, service);
  return created;
}

export const INTEGRATION_CONTROL_PLANE_TYPE = "imaas:index:IntegrationControlPlane";

export interface IntegrationControlPlaneArgs {
  /** The cluster ICP runs on. */
  readonly cluster: string;
  /** Platform config, secrets and providers. */
  readonly platform: PlatformContext;
  /**
   * What must exist first: the cluster platform (its internal CA signs ICP's certificate) and, when ICP shares
   * the tooling namespace, the observability stack that creates it.
   */
  readonly dependsOn: pulumi.Resource[];
}

/** ICP on one cluster (`imaas:mi.icp.enabled`); index.ts creates one per cluster when the switch is on. */
export class IntegrationControlPlane extends pulumi.ComponentResource {
  /** ICP's heartbeat API, the `dashboard_url` every runtime on the cluster is given. */
  public readonly dashboardUrl: string;
  /** ICP's namespace. */
  public readonly namespace: string;

  constructor(name: string, args: IntegrationControlPlaneArgs, opts?: pulumi.ComponentResourceOptions) {
    super(INTEGRATION_CONTROL_PLANE_TYPE, name, {}, opts);
    const { platform } = args;
    const icp = icpSettings(platform.config);
    if (!icp) throw new pulumi.ResourceError("imaas:mi.icp is not enabled", this);
    const provider = platform.providers.kubernetes[args.cluster];
    if (!provider)
      throw new pulumi.ResourceError(`no Kubernetes provider for cluster "${args.cluster}"`, this);
    const cfg = platform.config;
    const sharesTooling = cfg.observability.enabled && icp.namespace === cfg.observability.namespace;
    createIcp(name, platform, icp, provider, this, {
      ownNamespace: !sharesTooling,
      dependsOn: args.dependsOn,
    });
    this.dashboardUrl = icpDashboardUrl(icp);
    this.namespace = icp.namespace;
    this.registerOutputs({ dashboardUrl: this.dashboardUrl, namespace: this.namespace });
  }
}
