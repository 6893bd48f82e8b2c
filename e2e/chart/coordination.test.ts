/**
 * The coordination variant of charts/wso2-mi rendered with the real `helm template`: a stateful service with
 * a coordination server gets MI's WSO2_COORDINATION_DB datasource and its node id from the pod name; every
 * other service gets neither. What each setting does, at its source in wso2/micro-integrator (commit of
 * e2e/chart/mi-config-keys.json):
 * - the datasource's presence switches task coordination on: components/mediation/tasks/
 *   org.wso2.micro.integrator.ntask.core/…/internal/TasksDSComponent.java `isCoordinationDataSourceAvailable`
 *   (looks up `RDBMSConstantUtils.COORDINATION_DB_NAME` = "WSO2_COORDINATION_DB");
 * - `[[datasource]]` keys id/url/username/password/driver: config-tool templates/conf/datasources/
 *   master-datasources.xml.j2;
 * - the node id: components/org.wso2.micro.integrator.coordination/…/RDBMSCoordinationStrategy.java
 *   `getNodeId` — system property `nodeId`, then the environment variable `nodeId`, then `[cluster_config]
 *   node_id`, else a random UUID;
 * - the driver class `org.postgresql.Driver`: the PostgreSQL JDBC driver the base image adds (images/mi-base).
 *
 * Run: npx mocha e2e/chart/coordination.test.ts (part of `npm run test:chart`; needs helm from
 * `e2e/tools/build.sh helm`).
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
import { COORDINATION_SECRET_KEYS } from "../../components/tenant-space/coordination-db";
import { TENANT_OBJECTS } from "../../model/naming";
import MI_CONFIG_KEYS from "./mi-config-keys.json";
import { tomlKeyPaths } from "./toml-keys";

const ROOT = join(__dirname, "../..");
const CHART = join(ROOT, "charts/wso2-mi");
const TOOLS_DIR = process.env.IMAAS_TOOLS_DIR || join(homedir(), ".cache/imaas-tools");
const HELM = join(TOOLS_DIR, "bin/helm");

type Obj = Record<string, any>;

const base: MIChartInput = {
  tenant: "acme",
  service: "poller",
  environment: "prod",
  imageRepository: "registry.imaas.example.com/acme/poller",
  initialTag: "0.0.0-initial",
  miVersion: "4.4.0",
  replicas: 3,
  resources: { cpu: "500m", memory: "1Gi" },
  serviceAccountName: "mi-workloads",
  imagePullSecret: "registry-pull",
};
const stateful: MIChartInput = { ...base, coordinationSecretName: TENANT_OBJECTS.coordinationSecret };

describe("chart: MI cluster coordination (WSO2_COORDINATION_DB)", () => {
  let work = "";
  before(function () {
    if (!existsSync(HELM)) this.skip(); // bash e2e/tools/build.sh helm
    work = mkdtempSync(join(tmpdir(), "imaas-chart-coordination-"));
  });
  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  function helm(values: unknown[]): string {
    const files = values.map((v, i) => {
      const f = join(work, `values-${i}-${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(f, JSON.stringify(v));
      return f;
    });
    return execFileSync(
      HELM,
      ["template", "poller", CHART, "-n", "acme-prod", ...files.flatMap((f) => ["-f", f])],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    );
  }
  const render = (input: MIChartInput): Obj[] =>
    parseAllDocuments(helm([buildInitialBranchValues(input), buildMIChartValues(input)]))
      .map((d) => d.toJS() as Obj)
      .filter((o) => o !== null);
  const toml = (objs: Obj[]): string => objs.find((o) => o.kind === "ConfigMap")!.data["deployment.toml"];
  const container = (objs: Obj[]) =>
    objs
      .find((o) => o.kind === "Deployment")!
      .spec.template.spec.containers.find((c: Obj) => c.name === "micro-integrator");

  it("a stateful service: the WSO2_COORDINATION_DB datasource with $env credentials and the PostgreSQL driver", () => {
    const text = toml(render(stateful));
    assert.ok(
      text.includes(`[[datasource]]
id = "WSO2_COORDINATION_DB"
url = "$env{IMAAS_COORDINATION_DB_URL}"
username = "$env{IMAAS_COORDINATION_DB_USERNAME}"
password = "$env{IMAAS_COORDINATION_DB_PASSWORD}"
driver = "org.postgresql.Driver"
`),
      text,
    );
    const keys = tomlKeyPaths(text);
    for (const k of ["datasource[].id", "datasource[].url", "datasource[].driver"]) {
      assert.ok(keys.includes(k), `${k} in ${keys.join(", ")}`);
    }
    // Every datasource key is one MI's config tool reads (master-datasources.xml.j2).
    const known = new Set(MI_CONFIG_KEYS.keys);
    assert.deepEqual(
      keys.filter((k) => k.startsWith("datasource") && !known.has(k)),
      [],
    );
    assert.doesNotMatch(text, /^\[cluster_config\]/m, "the node id comes from the nodeId variable instead");
  });

  it("a stateful service: node id from the pod name, datasource login from the coordination Secret (not optional)", () => {
    const objs = render(stateful);
    const env: Obj[] = container(objs).env;
    const byName = new Map(env.map((e) => [e.name, e]));
    assert.deepEqual(byName.get("nodeId"), {
      name: "nodeId",
      valueFrom: { fieldRef: { fieldPath: "metadata.name" } },
    });
    for (const key of Object.values(COORDINATION_SECRET_KEYS)) {
      assert.deepEqual(byName.get(key), {
        name: key,
        valueFrom: { secretKeyRef: { name: "coordination-db", key } },
      });
    }
    // The Deployment still validates against the Kubernetes schema, with 3 replicas.
    const d = objs.find((o) => o.kind === "Deployment")!;
    assert.doesNotThrow(() => new Deployment(d as never).validate());
    assert.equal(d.spec.replicas, 3);
  });

  it("a branch's extraConfig cannot pin the node id of a coordinated service (every replica would share it)", () => {
    const objs = parseAllDocuments(
      helm([
        { ...buildInitialBranchValues(stateful), extraConfig: { nodeId: "fixed", OTHER: "x" } },
        buildMIChartValues(stateful),
      ]),
    )
      .map((d) => d.toJS() as Obj)
      .filter((o) => o !== null);
    const env: Obj[] = container(objs).env;
    assert.deepEqual(
      env.filter((e) => e.name === "nodeId"),
      [{ name: "nodeId", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
    );
    assert.ok(
      env.some((e) => e.name === "OTHER" && e.value === "x"),
      "other extraConfig still passes",
    );
  });

  it("a stateless service: no datasource, no nodeId, no coordination variables", () => {
    const objs = render(base);
    assert.doesNotMatch(toml(objs), /WSO2_COORDINATION_DB|datasource/);
    const names = (container(objs).env as Obj[]).map((e) => e.name);
    assert.deepEqual(
      names.filter((n) => n === "nodeId" || n.startsWith("IMAAS_COORDINATION_")),
      [],
    );
  });

  it("refuses coordination without a Secret, and a branch file cannot switch coordination on", () => {
    const values = buildMIChartValues(base);
    assert.throws(
      () =>
        helm([
          buildInitialBranchValues(base),
          { ...values, coordination: { enabled: true, secretName: "" } },
        ]),
      /coordination/,
    );
    // The platform sets coordination in full: the branch's attempt is overridden.
    const objs = parseAllDocuments(
      helm([{ ...buildInitialBranchValues(base), coordination: { enabled: true, secretName: "x" } }, values]),
    )
      .map((d) => d.toJS() as Obj)
      .filter((o) => o !== null);
    assert.doesNotMatch(toml(objs), /WSO2_COORDINATION_DB/);
  });
});
