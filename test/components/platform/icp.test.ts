/**
 * The platform's Integration Control Plane 1.x (imaas:mi.icp; components/platform/icp.ts): its objects, its
 * deployment.toml (keys and credentials), the network on both sides, and nothing at all while switched off.
 *
 * The ICP facts relied on, read at wso2/integration-control-plane 39a819d1 (1.1.0-SNAPSHOT):
 * - `DashboardServer.java`: `server_config.port` (default 9743), `heartbeat_config.pool_size`,
 *   `keystore.file_name` (opened as `<DASHBOARD_HOME>/<file_name>`), `keystore.password`, `keystore.key_password`,
 *   `mi_super_admin.username/password` (→ system properties mi_username/mi_password),
 *   `bal_service_account.username/password`, `internal_apis.file_user_store.enable`; the config is parsed by
 *   org.wso2.config.mapper.ConfigParser, MI's config mapper (`$env{}`);
 * - config-parser `default.json` (defaults admin/admin and bal_admin/bal_secret) and
 *   `templates/conf/user-mgt.xml.j2` (`internal_apis.users[]`, `super_admin.username/password`);
 * - `bin/dashboard.sh`: `[ -z "$DASHBOARD_HOME" ] && DASHBOARD_HOME=<bin>/..` (a given home is kept);
 * - `HeartbeatApi` at `/heartbeat` under the webapp `/dashboard` and Jersey's `/api/*` (web.xml), not @Secured;
 *   its `HeartbeatRequest` reads `product`, `groupId`, `nodeId`, `interval`, `mgtApiUrl` — the fields MI 4.4's
 *   `HeartBeatComponent` sends (wso2/micro-integrator 2fb7ef26);
 * - `ManagementApiUtils.getAccessToken`: one credential for every runtime; `HttpUtils` trusts any certificate;
 * - `InMemoryDataManager`: registered runtimes live in the process (hence at most one replica).
 */
import { strict as assert } from "node:assert";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Service } from "kubernetes-models/v1/Service";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import {
  ICP_OBJECTS,
  ICP_PORT,
  ICP_RUNTIME_USER,
  icpDashboardUrl,
  icpDeploymentToml,
  icpHeartbeatEgressPolicySpec,
  icpManifests,
  icpNetworkPolicySpec,
  icpPodLabels,
} from "../../../components/platform/icp";
import {
  MI_MANAGEMENT_PORT,
  MI_TRAFFIC_PORTS,
  managementClientNamespaces,
  tenantNetworkPolicies,
} from "../../../components/tenant-space/network";
import { tomlKeyPaths } from "../../../e2e/chart/toml-keys";
import { namespaceName } from "../../../model/naming";
import { type IcpSettings, icpSettings, type PlatformConfig } from "../../../model/platform-config";
import { setupMocks, testConfig, testContext } from "../../support/mocks";
import { connectionAllowed, type NamespaceInfo, type Policy } from "../../support/network-evaluator";
import { checkRestricted } from "../../support/pss";
import { exampleTenants } from "../../support/tenants";

const IMAGE = "registry.imaas.test/wso2/integration-control-plane:1.1.0";
const HOME = "/home/wso2carbon/wso2-integration-control-plane-1.1.0";
const on = (icp: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): PlatformConfig =>
  testConfig({ ...extra, mi: { icp: { enabled: true, image: IMAGE, home: HOME, ...icp } } });
const settings = (cfg: PlatformConfig): IcpSettings => {
  const s = icpSettings(cfg);
  assert.ok(s, "ICP is on");
  return s;
};

/** ICP's deployment.toml keys, each with where ICP reads it (wso2/integration-control-plane 39a819d1). */
const ICP_KEYS: Record<string, string> = {
  "server_config.port": "DashboardServer TOML_CONF_PORT",
  "heartbeat_config.pool_size": "DashboardServer TOML_CONF_HEARTBEAT_POOL_SIZE",
  "keystore.file_name": "DashboardServer TOML_JKS_FILE_LOCATION",
  "keystore.password": "DashboardServer TOML_KEYSTORE_PASSWORD",
  "keystore.key_password": "DashboardServer TOML_KEY_MANAGER_PASSWORD",
  "mi_super_admin.username": "DashboardServer TOML_MI_USERNAME",
  "mi_super_admin.password": "DashboardServer TOML_MI_PASSWORD",
  "bal_service_account.username": "DashboardServer TOML_BAL_SERVICE_USERNAME",
  "bal_service_account.password": "DashboardServer TOML_BAL_SERVICE_PASSWORD",
  "internal_apis.file_user_store.enable": "DashboardServer FILE_BASED_USER_STORE_ENABLE",
  "internal_apis.users[].user.name": "config-parser templates/conf/user-mgt.xml.j2",
  "internal_apis.users[].user.password": "config-parser templates/conf/user-mgt.xml.j2",
  "internal_apis.users[].user.is_admin": "config-parser templates/conf/user-mgt.xml.j2",
  "super_admin.username": "config-parser templates/conf/user-mgt.xml.j2 (AdminUser)",
  "super_admin.password": "config-parser templates/conf/user-mgt.xml.j2 (AdminUser)",
};

describe("ICP: objects and deployment.toml", () => {
  const icp = settings(on());
  const m = icpManifests(icp);
  const container = m.deployment.spec.template.spec.containers[0];

  it("is one HTTPS Service on 9743 in the tooling namespace, and the runtimes' URL points at it", () => {
    assert.equal(icp.namespace, "observability");
    assert.equal(icpDashboardUrl(icp), "https://imaas-icp.observability.svc:9743/dashboard/api");
    new Service(m.service as never).validate();
    assert.deepEqual(m.service.spec.ports, [
      { name: "https", port: 9743, targetPort: "https", protocol: "TCP" },
    ]);
    assert.deepEqual(m.service.spec.selector, icpPodLabels());
    assert.equal(m.service.metadata.namespace, "observability");
  });

  it("runs one pod (Recreate) of the configured image from a writable copy of its home, restricted", () => {
    new Deployment(m.deployment as never).validate();
    new ConfigMap(m.configMap as never).validate();
    assert.equal(m.deployment.spec.replicas, 1);
    assert.equal(m.deployment.spec.strategy.type, "Recreate");
    const spec = m.deployment.spec.template.spec;
    assert.deepEqual(checkRestricted(spec as never), []);
    assert.equal(container.image, IMAGE);
    assert.equal(spec.initContainers[0].image, IMAGE);
    assert.match(spec.initContainers[0].command[2], new RegExp(`cp -a "${HOME}/\\." "/icp-runtime/"`));
    assert.deepEqual(
      container.env.find((e) => e.name === "DASHBOARD_HOME"),
      { name: "DASHBOARD_HOME", value: "/icp-runtime" },
    );
    assert.deepEqual(container.command, ["/bin/sh", "/icp-runtime/bin/dashboard.sh"]);
    assert.deepEqual(
      container.env.find((e) => e.name === "JAVA_OPTS"),
      { name: "JAVA_OPTS", value: "-XX:InitialRAMPercentage=50.0 -XX:MaxRAMPercentage=65.0" },
    );
    assert.equal(
      container.resources.limits.memory,
      container.resources.requests.memory,
      "memory request = limit",
    );
    assert.deepEqual(
      container.volumeMounts.map((v) => v.mountPath),
      ["/icp-runtime", "/icp-runtime/conf/deployment.toml", "/icp-runtime/conf/security/imaas", "/tmp"],
    );
    assert.equal(settings(on({ replicas: 0 })).replicas, 0);
  });

  it("writes only keys ICP reads, every credential from the environment, none of ICP's defaults", () => {
    const toml = icpDeploymentToml(icp);
    const keys = tomlKeyPaths(toml);
    const unknown = keys.filter((k) => !(k in ICP_KEYS));
    assert.deepEqual(unknown, [], "keys ICP does not read");
    assert.deepEqual([...keys].sort(), Object.keys(ICP_KEYS).sort(), "every key ICP needs, once");
    assert.doesNotMatch(toml, /wso2carbon|"admin"|bal_admin|bal_secret|dashboard\.jks/);
    const envNames = new Set(container.env.map((e) => e.name));
    const referenced = [...toml.matchAll(/\$env\{([A-Z_]+)\}/g)].map((x) => x[1]);
    assert.equal(
      referenced.length,
      10,
      "keystore 2, runtime user 2, Ballerina account 2, console user 2 + 2",
    );
    for (const name of referenced) assert.ok(envNames.has(name), `${name} is not in the container's env`);
    assert.match(toml, /^file_name = "conf\/security\/imaas\/keystore\.jks"$/m, "relative to ICP's home");
    assert.match(toml, /^port = 9743$/m);
    assert.match(toml, /^pool_size = 15$/m);
    assert.match(settings_toml(on({ heartbeatPoolSize: 40 })), /^pool_size = 40$/m);
  });

  it("takes the runtime user from the runtime Secret and its own passwords from the credentials Secret", () => {
    const from = (name: string) =>
      (container.env.find((e) => e.name === name) as { valueFrom?: { secretKeyRef: unknown } }).valueFrom
        ?.secretKeyRef;
    assert.deepEqual(from("IMAAS_ICP_RUNTIME_PASSWORD"), { name: ICP_OBJECTS.runtime, key: "password" });
    assert.deepEqual(from("IMAAS_ICP_KEYSTORE_PASSWORD"), {
      name: ICP_OBJECTS.credentials,
      key: "keystore-password",
    });
    assert.equal(m.certificate.spec.keystores.jks.passwordSecretRef.name, ICP_OBJECTS.credentials);
    assert.deepEqual(m.certificate.spec.dnsNames, [
      "imaas-icp",
      "imaas-icp.observability",
      "imaas-icp.observability.svc",
      "imaas-icp.observability.svc.cluster.local",
    ]);
    assert.equal(m.certificate.spec.issuerRef.name, "imaas-internal-ca");
  });

  it("rolls the pod when its deployment.toml changes", () => {
    const a = m.deployment.spec.template.metadata.annotations["checksum/icp-conf"];
    const b = icpManifests(settings(on({ heartbeatPoolSize: 40 }))).deployment.spec.template.metadata
      .annotations["checksum/icp-conf"];
    assert.match(a, /^[0-9a-f]{64}$/);
    assert.notEqual(a, b);
  });
});

function settings_toml(cfg: PlatformConfig): string {
  return icpDeploymentToml(settings(cfg));
}

describe("ICP: network", () => {
  const cfg = on();
  const icp = settings(cfg);
  const tenants = exampleTenants(cfg);
  const env = "dev" as const;
  const ns = (name: string, labels: Record<string, string> = {}): NamespaceInfo => ({
    name,
    labels: { "kubernetes.io/metadata.name": name, ...labels },
  });
  const tenantNs = tenants.map((t) =>
    ns(namespaceName(t.name, env), { "imaas.io/tenant": t.name, "imaas.io/environment": env }),
  );
  const namespaces = [...tenantNs, ns(icp.namespace), ns(cfg.argocd.namespace), ns(cfg.dns.namespace)];
  const policies: Policy[] = [
    ...tenants.flatMap((t) =>
      tenantNetworkPolicies(t, env, cfg).map((p) => ({
        namespace: namespaceName(t.name, env),
        spec: p.spec,
      })),
    ),
    { namespace: icp.namespace, spec: icpNetworkPolicySpec(cfg) },
  ];
  const mi = (namespace: string) => ({ namespace, podLabels: { "imaas.io/service": "orders" } });
  const icpPod = { namespace: icp.namespace, podLabels: icpPodLabels() };
  const allowed = (
    from: Parameters<typeof connectionAllowed>[2],
    to: Parameters<typeof connectionAllowed>[3],
    port: number,
  ) => connectionAllowed(policies, namespaces, from, to, port);

  it("every policy is a valid NetworkPolicy", () => {
    new NetworkPolicy({
      metadata: { name: "imaas-icp", namespace: icp.namespace },
      spec: icpNetworkPolicySpec(cfg) as never,
    }).validate();
    new NetworkPolicy({
      metadata: { name: "allow-icp-heartbeat", namespace: "a-dev" },
      spec: icpHeartbeatEgressPolicySpec(icp) as never,
    }).validate();
  });

  it("MI pods of every tenant reach ICP on 9743 only", () => {
    assert.ok(tenantNs.length >= 3);
    for (const t of tenantNs) {
      assert.equal(allowed(mi(t.name), icpPod, ICP_PORT), true, t.name);
      for (const port of [9742, 9744, 8080, 443])
        assert.equal(allowed(mi(t.name), icpPod, port), false, `${t.name}:${port}`);
      assert.equal(allowed({ namespace: t.name }, icpPod, ICP_PORT), false, "a pod that is no MI service");
      assert.equal(
        allowed(
          mi(t.name),
          { namespace: icp.namespace, podLabels: { "app.kubernetes.io/name": "prometheus" } },
          ICP_PORT,
        ),
        false,
      );
    }
    assert.equal(
      allowed({ namespace: cfg.argocd.namespace }, icpPod, ICP_PORT),
      false,
      "not a tenant namespace",
    );
  });

  it("ICP reaches every runtime's management API (9164) and DNS, and nothing else", () => {
    for (const t of tenantNs) {
      assert.equal(allowed(icpPod, mi(t.name), MI_MANAGEMENT_PORT), true, t.name);
      for (const port of [...MI_TRAFFIC_PORTS, 9201])
        assert.equal(allowed(icpPod, mi(t.name), port), false, `${t.name}:${port}`);
    }
    assert.equal(allowed(icpPod, { namespace: cfg.dns.namespace, podLabels: cfg.dns.podLabels }, 53), true);
    assert.equal(allowed(icpPod, { ip: "203.0.113.7" }, 443), false, "the internet");
    assert.equal(allowed(icpPod, { namespace: cfg.argocd.namespace }, 443), false);
  });

  it("with ICP on, only ICP's pods reach the management port: not Grafana or anything else of the tooling namespace", () => {
    assert.deepEqual(managementClientNamespaces(cfg), ["observability"]);
    const grafana = { namespace: icp.namespace, podLabels: { "app.kubernetes.io/name": "grafana" } };
    for (const t of tenantNs) {
      assert.equal(allowed(grafana, mi(t.name), MI_MANAGEMENT_PORT), false, `grafana → ${t.name}:9164`);
      assert.equal(allowed({ namespace: icp.namespace }, mi(t.name), MI_MANAGEMENT_PORT), false);
    }
    // Off, the whole tooling namespace keeps its access (unchanged from before ICP).
    const offCfg = testConfig();
    const offPolicies: Policy[] = exampleTenants(offCfg).flatMap((t) =>
      tenantNetworkPolicies(t, env, offCfg).map((p) => ({
        namespace: namespaceName(t.name, env),
        spec: p.spec,
      })),
    );
    assert.equal(
      connectionAllowed(offPolicies, namespaces, grafana, mi(tenantNs[0].name), MI_MANAGEMENT_PORT),
      true,
    );
    // In a namespace of its own, ICP's namespace is the only client namespace.
    const own = on({ namespace: "imaas-icp" });
    assert.deepEqual(managementClientNamespaces(own), ["imaas-icp"]);
    const ownPolicies: Policy[] = [
      ...exampleTenants(own).flatMap((t) =>
        tenantNetworkPolicies(t, env, own).map((p) => ({
          namespace: namespaceName(t.name, env),
          spec: p.spec,
        })),
      ),
      { namespace: "imaas-icp", spec: icpNetworkPolicySpec(own) },
    ];
    const ownNs = [...namespaces, ns("imaas-icp")];
    const ownIcp = { namespace: "imaas-icp", podLabels: icpPodLabels() };
    assert.equal(
      connectionAllowed(ownPolicies, ownNs, ownIcp, mi(tenantNs[0].name), MI_MANAGEMENT_PORT),
      true,
    );
    assert.equal(connectionAllowed(ownPolicies, ownNs, mi(tenantNs[0].name), ownIcp, ICP_PORT), true);
    assert.equal(
      connectionAllowed(ownPolicies, ownNs, grafana, mi(tenantNs[0].name), MI_MANAGEMENT_PORT),
      false,
    );
  });

  it("switched off, the tenant policies are exactly those of a platform without the key", () => {
    const without = testConfig();
    const off = testConfig({ mi: { icp: { enabled: false, image: IMAGE, home: HOME } } });
    for (const t of exampleTenants(without)) {
      for (const e of t.environments) {
        assert.deepEqual(tenantNetworkPolicies(t, e, off), tenantNetworkPolicies(t, e, without));
      }
    }
    assert.deepEqual(managementClientNamespaces(off), managementClientNamespaces(without));
    assert.ok(tenantNetworkPolicies(tenants[0], env, cfg).some((p) => p.name === "allow-icp-heartbeat"));
    assert.ok(!tenantNetworkPolicies(tenants[0], env, off).some((p) => p.name === "allow-icp-heartbeat"));
  });
});

describe("ICP: the component under mocks", () => {
  it("creates the Secrets, Certificate, ConfigMap, policy, Deployment and Service, and a namespace only of its own", async () => {
    const r = await setupMocks();
    const { IntegrationControlPlane } =
      require("../../../components/platform/icp") as typeof import("../../../components/platform/icp");
    new IntegrationControlPlane("icp-main", { cluster: "main", platform: testContext(on()), dependsOn: [] });
    new IntegrationControlPlane("icp-own", {
      cluster: "main",
      platform: testContext(on({ namespace: "imaas-icp" })),
      dependsOn: [],
    });
    await r.settle();
    const kinds = (prefix: string) =>
      r.resources
        .filter((x) => x.name.startsWith(prefix) && x.type.startsWith("kubernetes:"))
        .map((x) => x.type.replace(/^kubernetes:/, ""))
        .sort();
    assert.deepEqual(kinds("icp-main-"), [
      "apps/v1:Deployment",
      "cert-manager.io/v1:Certificate",
      "core/v1:ConfigMap",
      "core/v1:Secret",
      "core/v1:Secret",
      "core/v1:Service",
      "networking.k8s.io/v1:NetworkPolicy",
    ]);
    assert.deepEqual(
      kinds("icp-own-").filter((k) => k === "core/v1:Namespace"),
      ["core/v1:Namespace"],
    );
    const ns = r.get("kubernetes:core/v1:Namespace", "icp-own-icp-namespace");
    assert.equal(ns.inputs.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
    const runtime = r.get("kubernetes:core/v1:Secret", "icp-main-icp-runtime");
    assert.equal(runtime.inputs.metadata.name, ICP_OBJECTS.runtime);
    // A Pulumi secret (the password is imaas:icpRuntimePassword, a placeholder under plan): never shown in plain.
    assert.deepEqual(runtime.inputs.stringData.value, { username: ICP_RUNTIME_USER, password: "[secret]" });
    const credentials = r.get("kubernetes:core/v1:Secret", "icp-main-icp-credentials");
    assert.equal(credentials.inputs.stringData.value["console-username"], "imaas-platform");
    assert.match(credentials.inputs.stringData.value["console-password"], /^[A-Za-z0-9]{32}$/);
  });

  it("refuses to run without imaas:icpRuntimePassword outside a plan", async () => {
    await setupMocks();
    const { IntegrationControlPlane } =
      require("../../../components/platform/icp") as typeof import("../../../components/platform/icp");
    const platform = { ...testContext(on()), planOnly: false };
    assert.throws(
      () => new IntegrationControlPlane("icp-real", { cluster: "main", platform, dependsOn: [] }),
      /the Integration Control Plane \(imaas:mi\.icp\.enabled\) needs the secret imaas:icpRuntimePassword/,
    );
  });
});
