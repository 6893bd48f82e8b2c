import { strict as assert } from "node:assert";
import {
  buildMiAlertRules,
  buildRecordingRules,
  isAlertRule,
} from "../../../components/observability/alerts";
import { type GrafanaDashboard, tenantDashboards } from "../../../components/observability/dashboards";
import { METRICS, seriesNames } from "../../../components/observability/metrics";
import { metricNamesIn } from "./promql";

const known = seriesNames();

/** Every PromQL expression the platform ships, with where it comes from. */
function promqlExpressions(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const d of tenantDashboards()) {
    for (const p of d.panels) {
      for (const t of p.targets) {
        if (t.datasource.type === "prometheus") out.push({ where: `${d.uid}/${p.title}`, expr: t.expr });
      }
    }
  }
  for (const env of ["dev", "prod"] as const) {
    for (const g of buildMiAlertRules("payroll", env, `payroll-${env}`).groups) {
      for (const r of g.rules)
        out.push({ where: `alert ${isAlertRule(r) ? r.alert : r.record}`, expr: r.expr });
    }
  }
  for (const g of buildRecordingRules().groups) {
    for (const r of g.rules) out.push({ where: `recording ${g.name}`, expr: r.expr });
  }
  return out;
}

describe("dashboards, alerts and the metric list", () => {
  it("the dashboards parse as Grafana dashboard JSON: uid, title, panels with datasource and targets", () => {
    const dashboards = tenantDashboards().map((d) => JSON.parse(JSON.stringify(d)) as GrafanaDashboard);
    assert.deepEqual(
      dashboards.map((d) => d.uid),
      ["imaas-mi-service", "imaas-tenant-overview"],
    );
    for (const d of dashboards) {
      assert.ok(d.title && d.uid.length <= 40, d.uid);
      assert.ok(d.panels.length > 0);
      assert.equal(new Set(d.panels.map((p) => p.id)).size, d.panels.length, "panel ids are unique");
      for (const p of d.panels) {
        assert.ok(p.datasource?.uid, `${d.uid}/${p.title}: datasource`);
        assert.ok(p.targets.length > 0, `${d.uid}/${p.title}: targets`);
        for (const t of p.targets) {
          assert.ok(t.expr && t.refId, `${d.uid}/${p.title}: target`);
          assert.deepEqual(t.datasource, p.datasource);
        }
        assert.ok(p.gridPos.x + p.gridPos.w <= 24);
      }
      for (const v of d.templating.list) {
        const m = /^label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*),\s*namespace\)$/.exec(v.query.query);
        assert.ok(m && known.has(m[1]), `${d.uid} variable ${v.name}: ${v.query.query}`);
      }
    }
  });

  it("the MI dashboard covers requests, errors, latency, JVM, GC, restarts, HPA and logs", () => {
    const mi = tenantDashboards()[0];
    const exprs = mi.panels.flatMap((p) => p.targets.map((t) => t.expr)).join("\n");
    for (const m of [
      METRICS.miApiRequests.name,
      METRICS.miProxyErrors.name,
      `${METRICS.miApiLatency.name}_bucket`,
      METRICS.jvmMemoryUsed.name,
      `${METRICS.jvmGc.name}_sum`,
      METRICS.podRestarts.name,
      METRICS.hpaCurrent.name,
    ]) {
      assert.ok(exprs.includes(m), m);
    }
    assert.ok(mi.panels.some((p) => p.datasource.type === "loki"));
  });

  it("every PromQL expression names only metrics listed in metrics.ts", () => {
    const exprs = promqlExpressions();
    assert.ok(exprs.length > 20, "found the expressions");
    for (const { where, expr } of exprs) {
      const names = metricNamesIn(expr);
      assert.ok(names.length > 0, `${where}: no metric found in ${expr}`);
      for (const n of names) assert.ok(known.has(n), `${where}: unknown metric ${n} in ${expr}`);
    }
  });

  it("the metric extractor sees through functions, matchers, ranges and grouping", () => {
    assert.deepEqual(
      metricNamesIn(
        'histogram_quantile(0.95, sum by (service_name, le) (rate(foo_bucket{namespace=~"a|b", x="rate(y)"}[5m]))) / on (a) group_left (b) bar > 1e3',
      ),
      ["foo_bucket", "bar"],
    );
    assert.ok(
      !known.has("wso2_integration_api_request_error_count_total"),
      "the pre-4.x name is not relied on",
    );
  });

  it("alerts carry the tenant label, target one namespace and escalate in prod", () => {
    const dev = buildMiAlertRules("payroll", "dev", "payroll-dev").groups[0].rules.filter(isAlertRule);
    const prod = buildMiAlertRules("payroll", "prod", "payroll-prod").groups[0].rules.filter(isAlertRule);
    assert.deepEqual(
      dev.map((r) => r.alert),
      ["MIInstanceDown", "MIServiceUnavailable", "MIHighErrorRate", "MIHighLatency", "MIPodRestarting"],
    );
    for (const r of dev) {
      assert.equal(r.labels.tenant, "payroll");
      assert.equal(r.labels.severity, "warning");
      assert.ok(!r.expr.includes("=~"), `${r.alert}: no regex namespace matcher`);
      for (const m of r.expr.matchAll(/namespace="([^"]*)"/g)) assert.equal(m[1], "payroll-dev");
    }
    assert.ok(prod.every((r) => r.labels.severity === "critical"));
  });
});
