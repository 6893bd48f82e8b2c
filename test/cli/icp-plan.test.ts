/**
 * `imaas plan` with the Integration Control Plane (imaas:mi.icp): switched on, the plan shows ICP's objects per
 * cluster and each service's ICP Secret and tenant egress rule; switched off (explicitly or by default), the plan
 * is the same as without the key — the same resources with the same inputs.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { type PlannedResource, planProgram } from "../../cli/plan-engine";
import { planView } from "../../cli/plan-view";
import { renderPlan } from "../../cli/render";
import { platformConfigOf, readStackConfig, type StackConfig } from "../../model/stack-file";
import { exampleTenants } from "../support/tenants";

const ROOT = join(__dirname, "..", "..");
const ICP = {
  enabled: true,
  image: "registry.staging.imaas.example.com/platform/integration-control-plane:1.1.0",
  home: "/home/wso2carbon/wso2-integration-control-plane-1.1.0",
};

function withIcp(stack: StackConfig, icp: unknown): StackConfig {
  const mi = JSON.parse(stack.values["imaas:mi"] ?? "{}");
  return { ...stack, values: { ...stack.values, "imaas:mi": JSON.stringify({ ...mi, icp }) } };
}

async function plan(stack: StackConfig): Promise<{ resources: PlannedResource[]; text: string }> {
  const { resources } = await planProgram({
    stack: "dev",
    config: stack.values,
    secretKeys: stack.secretKeys,
    tenantsDir: join(ROOT, "tenants"),
  });
  const config = platformConfigOf(stack);
  const text = renderPlan(
    planView({ stack: "dev", config, tenants: exampleTenants(config), resources, only: [] }),
    "table",
  );
  return { resources, text };
}

const SECRET = "kubernetes:core/v1:Secret";
const POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const APP = "kubernetes:argoproj.io/v1alpha1:Application";

describe("imaas plan with the Integration Control Plane", function () {
  this.timeout(180_000);
  const base = readStackConfig(ROOT, "dev");
  let without: { resources: PlannedResource[]; text: string };
  let off: { resources: PlannedResource[]; text: string };
  let on: { resources: PlannedResource[]; text: string };

  before(async () => {
    without = await plan(base);
    off = await plan(withIcp(base, { ...ICP, enabled: false }));
    on = await plan(withIcp(base, ICP));
  });

  it("switched off, the plan has the same resources with the same inputs as a stack without the key", () => {
    assert.ok(without.resources.length > 100, `${without.resources.length} resources`);
    const key = (r: PlannedResource) => `${r.type}::${r.name}`;
    assert.deepEqual(off.resources.map(key).sort(), without.resources.map(key).sort());
    const byKey = new Map(without.resources.map((r) => [key(r), r]));
    for (const r of off.resources) assert.deepEqual(r.inputs, byKey.get(key(r))?.inputs, key(r));
    assert.equal(off.text, without.text);
    assert.ok(!without.resources.some((r) => r.type === "imaas:index:IntegrationControlPlane"));
  });

  it("switched on, each cluster gets ICP: Deployment, Service, ConfigMap, Certificate, two Secrets, its policy", () => {
    const icps = on.resources.filter((r) => r.type === "imaas:index:IntegrationControlPlane");
    const clusters = platformConfigOf(base).clusters.map((c) => `icp-${c.name}`);
    assert.deepEqual(icps.map((r) => r.name).sort(), clusters.sort());
    for (const line of [
      /Deployment +observability\/imaas-icp\b/,
      /Service +observability\/imaas-icp\b/,
      /ConfigMap +observability\/imaas-icp-conf\b/,
      /Certificate +observability\/imaas-icp-keystore\b/,
      /Secret +observability\/imaas-icp-credentials\b/,
      /Secret +observability\/imaas-icp-runtime\b/,
      /NetworkPolicy +observability\/imaas-icp\b/,
    ]) {
      assert.match(on.text, line);
    }
  });

  it("switched on, every service environment gets its ICP Secret before its Application, and the heartbeat egress", () => {
    const apps = on.resources.filter((r) => r.type === APP);
    assert.ok(apps.length >= 5, `${apps.length} Applications`);
    for (const app of apps) {
      const a = app.inputs as any;
      const ns: string = a.spec.destination.namespace;
      const service: string = a.metadata.labels["imaas.io/service"];
      const secret = on.resources.find(
        (r) =>
          r.type === SECRET &&
          (r.inputs as any).metadata.name === `${service}-mi-icp` &&
          (r.inputs as any).metadata.namespace === ns,
      );
      assert.ok(secret, `${ns}/${service}-mi-icp`);
      assert.ok(app.dependsOn?.includes(secret.name), `${app.name} waits for ${secret.name}`);
      const values = (a.spec.sources ?? [a.spec.source]).find((s: any) => s.helm?.valuesObject).helm
        .valuesObject;
      assert.deepEqual(values.icp, {
        enabled: true,
        dashboardUrl: "https://imaas-icp.observability.svc:9743/dashboard/api",
        groupId: ns,
        credentialsSecret: `${service}-mi-icp`,
      });
      const offApp = off.resources.find((r) => r.type === APP && r.name === app.name)!.inputs as any;
      const offValues = (offApp.spec.sources ?? [offApp.spec.source]).find((s: any) => s.helm?.valuesObject)
        .helm.valuesObject;
      assert.equal(offValues.icp.enabled, false);
    }
    const heartbeat = on.resources.filter(
      (r) => r.type === POLICY && (r.inputs as any).metadata.name === "allow-icp-heartbeat",
    );
    const namespaces = new Set(
      on.resources
        .filter(
          (r) =>
            r.type === "kubernetes:core/v1:Namespace" &&
            (r.inputs as any).metadata.labels?.["imaas.io/tenant"],
        )
        .map((r) => (r.inputs as any).metadata.name),
    );
    assert.deepEqual(
      heartbeat.map((r) => (r.inputs as any).metadata.namespace).sort(),
      [...namespaces].sort(),
      "one per tenant namespace",
    );
  });
});
