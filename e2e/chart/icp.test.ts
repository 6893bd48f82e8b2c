/**
 * The Integration Control Plane variant of charts/wso2-mi rendered with the real `helm template` and `helm lint`:
 * a service on a platform with imaas:mi.icp gets MI's `[dashboard_config]` and ICP's management API user; every
 * other service renders exactly as before. What each setting does, at its source in wso2/micro-integrator
 * (commit of e2e/chart/mi-config-keys.json, 2fb7ef26):
 * - `[dashboard_config]` keys: components/org.wso2.micro.integrator.initializer/…/initializer/dashboard/
 *   Constants.java — `dashboard_url`, `group_id`, `node_id`, `heartbeat_interval`, `management_hostname`,
 *   `management_port` (no `heartbeat_pool_size`: that is ICP's own `[heartbeat_config] pool_size`);
 * - HeartBeatComponent.java: POSTs `{product: "mi", groupId, nodeId, interval, mgtApiUrl}` to
 *   `<dashboard_url>/heartbeat` every `heartbeat_interval` (5 s); `node_id` after the `node.id` system property,
 *   else a random UUID; `mgtApiUrl` = `https://<carbon.local.ip>:<internal HTTPS port>/management/` unless
 *   `management_hostname` is set; the client trusts self-signed certificates and skips host name checks
 *   (TrustSelfSignedStrategy, NoopHostnameVerifier) on top of the JVM truststore, which MI points at
 *   `[truststore]` (CoreServerInitializer sets javax.net.ssl.trustStore) — the chart's truststore holds the
 *   platform's internal CA, which signs ICP's certificate;
 * - management API users: config-tool templates/conf/internal-apis.xml.j2 (`internal_apis.users[]`) and
 *   AuthorizationHandler.java — a user without `is_admin` is refused /users, /roles and /configs.
 * MI's config tool itself cannot run here (Java, and no MI image is reachable from this machine): the keys are
 * checked against the recorded list and the Java constants above, not by MI.
 *
 * Run: npx mocha e2e/chart/icp.test.ts (needs helm from `e2e/tools/build.sh helm`).
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { parseAllDocuments } from "yaml";
import {
  buildInitialBranchValues,
  buildMIChartValues,
  type MIChartInput,
} from "../../components/mi-service/chart-values";
import { icpChartInput, miIcpSecretName } from "../../components/mi-service/icp";
import { testConfig } from "../../test/support/mocks";
import MI_CONFIG_KEYS from "./mi-config-keys.json";
import { tomlKeyPaths } from "./toml-keys";

const ROOT = join(__dirname, "../..");
const CHART = join(ROOT, "charts/wso2-mi");
const TOOLS_DIR = process.env.IMAAS_TOOLS_DIR || join(homedir(), ".cache/imaas-tools");
const HELM = join(TOOLS_DIR, "bin/helm");

type Obj = Record<string, any>;

/** The `[dashboard_config]` keys MI 4.4 reads (initializer/dashboard/Constants.java), none in the config tool. */
const MI_DASHBOARD_KEYS = [
  "dashboard_config.dashboard_url",
  "dashboard_config.group_id",
  "dashboard_config.node_id",
  "dashboard_config.heartbeat_interval",
  "dashboard_config.management_hostname",
  "dashboard_config.management_port",
];

const base: MIChartInput = {
  tenant: "acme",
  service: "orders",
  environment: "test",
  imageRepository: "registry.imaas.example.com/acme/orders",
  initialTag: "0.0.0-initial",
  miVersion: "4.4.0",
  replicas: 2,
  resources: { cpu: "500m", memory: "1Gi" },
  serviceAccountName: "mi-workloads",
  imagePullSecret: "registry-pull",
};
const cfgOn = testConfig({
  mi: {
    icp: {
      enabled: true,
      image: "registry.imaas.example.com/wso2/integration-control-plane:1.1.0",
      home: "/home/wso2carbon/wso2-integration-control-plane-1.1.0",
    },
  },
});
const icp = icpChartInput(cfgOn, base.tenant, base.service, base.environment);
const registered: MIChartInput = { ...base, ...(icp ? { icp } : {}) };

describe("chart: registration with the Integration Control Plane ([dashboard_config])", () => {
  let work = "";
  before(function () {
    if (!existsSync(HELM)) this.skip(); // bash e2e/tools/build.sh helm
    work = mkdtempSync(join(tmpdir(), "imaas-chart-icp-"));
  });
  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const files = (values: unknown[]) =>
    values.map((v, i) => {
      const f = join(work, `values-${i}-${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(f, JSON.stringify(v));
      return f;
    });
  const helmTemplate = (values: unknown[]): string =>
    execFileSync(
      HELM,
      ["template", "orders", CHART, "-n", "acme-test", ...files(values).flatMap((f) => ["-f", f])],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    );
  const parse = (text: string): Obj[] =>
    parseAllDocuments(text)
      .map((d) => d.toJS() as Obj)
      .filter((o) => o !== null);
  const render = (input: MIChartInput): Obj[] =>
    parse(helmTemplate([buildInitialBranchValues(input), buildMIChartValues(input)]));
  const toml = (objs: Obj[]): string => objs.find((o) => o.kind === "ConfigMap")!.data["deployment.toml"];
  const container = (objs: Obj[]) =>
    objs
      .find((o) => o.kind === "Deployment")!
      .spec.template.spec.containers.find((c: Obj) => c.name === "micro-integrator");

  it("the platform's input: ICP's Service in the tooling namespace, the group <tenant>-<env>, the service's Secret", () => {
    assert.deepEqual(icp, {
      dashboardUrl: "https://imaas-icp.observability.svc:9743/dashboard/api",
      groupId: "acme-test",
      credentialsSecret: "orders-mi-icp",
    });
    assert.equal(miIcpSecretName("orders"), "orders-mi-icp");
    assert.equal(icpChartInput(testConfig(), "acme", "orders", "test"), undefined, "off by default");
  });

  it("renders [dashboard_config] with the URL, the group and the pod name as node id, only with keys MI reads", () => {
    const text = toml(render(registered));
    assert.ok(
      text.includes(`[dashboard_config]
dashboard_url = "https://imaas-icp.observability.svc:9743/dashboard/api"
group_id = "acme-test"
node_id = "$env{POD_NAME}"
`),
      text,
    );
    const keys = tomlKeyPaths(text);
    const known = new Set([...MI_CONFIG_KEYS.keys, ...MI_DASHBOARD_KEYS]);
    assert.deepEqual(
      keys.filter((k) => !known.has(k)),
      [],
    );
    assert.ok(
      !MI_CONFIG_KEYS.keys.some((k) => k.startsWith("dashboard_config")),
      "read in Java, not by the config tool",
    );
    assert.deepEqual(
      keys.filter((k) => k.startsWith("dashboard_config.")),
      ["dashboard_config.dashboard_url", "dashboard_config.group_id", "dashboard_config.node_id"],
      "no management_hostname/port: ICP calls each pod at its own IP",
    );
  });

  it("adds ICP's user as a second, unprivileged management API user, from the service's ICP Secret", () => {
    const objs = render(registered);
    const text = toml(objs);
    assert.ok(
      text.includes(`[[internal_apis.users]]
user.name = "$env{IMAAS_MI_MANAGEMENT_USERNAME}"
user.password = "$env{IMAAS_MI_MANAGEMENT_PASSWORD}"
user.is_admin = true
`),
      "the service's own user stays",
    );
    assert.ok(
      text.includes(`[[internal_apis.users]]
user.name = "$env{IMAAS_ICP_USERNAME}"
user.password = "$env{IMAAS_ICP_PASSWORD}"
user.is_admin = false
`),
      text,
    );
    assert.equal(text.match(/^\[\[internal_apis\.users\]\]$/gm)?.length, 2);
    const env = new Map((container(objs).env as Obj[]).map((e) => [e.name, e]));
    assert.deepEqual(env.get("IMAAS_ICP_USERNAME")?.valueFrom, {
      secretKeyRef: { name: "orders-mi-icp", key: "username" },
    });
    assert.deepEqual(env.get("IMAAS_ICP_PASSWORD")?.valueFrom, {
      secretKeyRef: { name: "orders-mi-icp", key: "password" },
    });
    assert.deepEqual(env.get("POD_NAME")?.valueFrom, { fieldRef: { fieldPath: "metadata.name" } });
    assert.doesNotThrow(() => new Deployment(objs.find((o) => o.kind === "Deployment") as never).validate());
  });

  it("switched off: no [dashboard_config], one management user, no ICP variables", () => {
    const objs = render(base);
    const text = toml(objs);
    assert.doesNotMatch(text, /dashboard_config|IMAAS_ICP/);
    assert.equal(text.match(/^\[\[internal_apis\.users\]\]$/gm)?.length, 1);
    const names = (container(objs).env as Obj[]).map((e) => e.name);
    assert.deepEqual(
      names.filter((n) => n.startsWith("IMAAS_ICP")),
      [],
    );
    // The platform's values with icp off render exactly what values without the key render (the chart's default).
    const values = buildMIChartValues(base) as unknown as Record<string, unknown>;
    const { icp: _off, ...withoutKey } = values;
    assert.deepEqual(_off, { enabled: false, dashboardUrl: "", groupId: "", credentialsSecret: "" });
    assert.equal(
      helmTemplate([buildInitialBranchValues(base), withoutKey]),
      helmTemplate([buildInitialBranchValues(base), values]),
    );
  });

  it("refuses ICP without its Secret or URL, and a branch file cannot register a runtime elsewhere", () => {
    const values = buildMIChartValues(base);
    const bad = (icpValues: unknown) => {
      try {
        helmTemplate([buildInitialBranchValues(base), { ...values, icp: icpValues }]);
      } catch (e) {
        return String((e as { stderr?: string }).stderr ?? e);
      }
      assert.fail("helm template should have failed");
    };
    assert.match(
      bad({ enabled: true, dashboardUrl: icp!.dashboardUrl, groupId: "acme-test", credentialsSecret: "" }),
      /credentialsSecret/,
    );
    assert.match(
      bad({ enabled: true, dashboardUrl: "http://evil.example.com/x", groupId: "g", credentialsSecret: "s" }),
      /dashboardUrl/,
    );
    assert.match(
      bad({ enabled: true, dashboardUrl: icp!.dashboardUrl, groupId: "Acme Test", credentialsSecret: "s" }),
      /groupId/,
    );
    // The platform sets icp in full (enabled: false when off): the branch's attempt is overridden.
    const objs = parse(
      helmTemplate([
        {
          ...buildInitialBranchValues(base),
          icp: {
            enabled: true,
            dashboardUrl: "https://elsewhere.example.com:9743/dashboard/api",
            groupId: "x",
            credentialsSecret: "orders-mi-credentials",
          },
        },
        values,
      ]),
    );
    assert.doesNotMatch(toml(objs), /dashboard_config|elsewhere/);
  });

  it("passes helm lint --strict with ICP on", () => {
    const out = execFileSync(
      HELM,
      [
        "lint",
        "--strict",
        CHART,
        ...files([buildInitialBranchValues(registered), buildMIChartValues(registered)]).flatMap((f) => [
          "-f",
          f,
        ]),
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    );
    assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });
});
