/** index.ts wiring: observability per cluster and per tenant when enabled, nothing at all when disabled. */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { type PlanResult, planProgram } from "../../../cli/plan-engine";
import { readStackConfig } from "../../../model/stack-file";

const ROOT = join(__dirname, "..", "..", "..");

async function plan(observability?: Record<string, unknown>): Promise<PlanResult> {
  const cfg = readStackConfig(ROOT, "prod");
  const values = { ...cfg.values };
  if (observability) values["imaas:observability"] = JSON.stringify(observability);
  return planProgram({
    stack: "prod",
    config: values,
    secretKeys: cfg.secretKeys,
    tenantsDir: join(ROOT, "tenants"),
  });
}

describe("observability wiring in index.ts", function () {
  this.timeout(60_000);

  it("enabled: a stack per cluster, a view per tenant, the Grafana URLs in the outputs", async () => {
    const { resources, outputs } = await plan();
    assert.deepEqual(
      resources.filter((r) => r.type === "imaas:index:ObservabilityStack").map((r) => r.name),
      ["observability-nonprod", "observability-prod"],
    );
    assert.ok(resources.filter((r) => r.type === "imaas:index:TenantObservability").length >= 3);
    const charts = new Set(
      resources
        .filter((r) => r.type === "kubernetes:helm.sh/v3:Release")
        .map((r) => (r.inputs as { chart: string }).chart),
    );
    for (const c of [
      "kube-prometheus-stack",
      "loki",
      "fluent-bit",
      "tempo-distributed",
      "opentelemetry-collector",
      "grafana",
      "prom-label-proxy",
    ]) {
      assert.ok(charts.has(c), c);
    }
    const tenants = outputs.tenants as Record<string, { grafana?: Record<string, string> }>;
    assert.deepEqual(tenants.payroll.grafana, {
      nonprod: "https://grafana.payroll.nonprod.imaas.example.com",
      prod: "https://grafana.payroll.prod.imaas.example.com",
    });
  });

  it("disabled: no observability resource at all", async () => {
    const { resources, outputs } = await plan({ enabled: false });
    assert.ok(resources.length > 0, "the rest of the program still ran");
    const observability = resources.filter(
      (r) =>
        /Observability/.test(r.type) ||
        (r.type === "kubernetes:helm.sh/v3:Release" &&
          /grafana|kps|loki|tempo|fluent|otel|metrics-proxy/.test(r.name)),
    );
    assert.deepEqual(observability, []);
    const tenants = outputs.tenants as Record<string, { grafana?: unknown }>;
    assert.equal(tenants.payroll.grafana, undefined);
  });
});
