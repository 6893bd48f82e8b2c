/**
 * `promtool test rules` on every generated alert rule: for each alert, synthetic series under which it must
 * fire (with exactly the expected labels and rendered annotations) and series under which it must stay
 * silent — including the same failure in another namespace, which a tenant's rules must not see. Runs for
 * every tenant namespace's PrometheusRule of the plan; an alert without cases here fails the suite.
 */
import * as assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import { type AlertRule, isAlertRule } from "../../components/observability/alerts";
import { bucketOf, METRICS } from "../../components/observability/metrics";
import { artifacts } from "./hooks";
import { runTool, show } from "./tools";

const m = METRICS;
/** A namespace no tenant rule may look at. */
const OTHER_NS = "someone-else-dev";

interface Series {
  readonly series: string;
  readonly values: string;
}
interface Case {
  /** What the case shows, for failure messages. */
  readonly what: string;
  readonly series: (ns: string) => Series[];
  readonly evalTime: string;
  /** Labels of the expected alert besides the rule's own (alertname, tenant, environment, severity); none: silent. */
  readonly fires?: (ns: string) => Record<string, string>;
}

const sel = (name: string, labels: Record<string, string>) =>
  `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(",")}}`;

/** Classic histogram buckets whose p95 lies in (2.5, 5] s (`slow`) or below 0.5 s. */
function latencyBuckets(name: string, labels: Record<string, string>, slow: boolean): Series[] {
  const perMinute: Record<string, number> = slow
    ? { "0.5": 1, "1": 2, "2.5": 3, "5": 100, "+Inf": 100 }
    : { "0.5": 99, "1": 100, "2.5": 100, "5": 100, "+Inf": 100 };
  return Object.entries(perMinute).map(([le, n]) => ({
    series: sel(name, { ...labels, le }),
    values: `0+${n}x40`,
  }));
}

/** Cases per alert name: each alert fires when it should and stays silent when it should not. */
const CASES: Record<string, Case[]> = {
  MIInstanceDown: [
    {
      what: "a target down for 10 minutes",
      series: (ns) => [{ series: sel(m.up.name, { namespace: ns, pod: "mi-0", job: "mi" }), values: "0x15" }],
      evalTime: "10m",
      fires: (ns) => ({ namespace: ns, pod: "mi-0", job: "mi" }),
    },
    {
      what: "a target down for 3 minutes, then up again; another namespace's target down",
      series: (ns) => [
        { series: sel(m.up.name, { namespace: ns, pod: "mi-0", job: "mi" }), values: "0 0 0 1x12" },
        { series: sel(m.up.name, { namespace: OTHER_NS, pod: "mi-0", job: "mi" }), values: "0x15" },
      ],
      evalTime: "10m",
    },
  ],
  MIServiceUnavailable: [
    {
      what: "a deployment with 2 desired and 0 available replicas for 10 minutes",
      series: (ns) => [
        { series: sel(m.deploymentAvailable.name, { namespace: ns, deployment: "orders" }), values: "0x15" },
        {
          series: sel(m.deploymentSpecReplicas.name, { namespace: ns, deployment: "orders" }),
          values: "2x15",
        },
      ],
      evalTime: "10m",
      fires: (ns) => ({ namespace: ns, deployment: "orders" }),
    },
    {
      what: "a deployment scaled to 0; another namespace's deployment unavailable",
      series: (ns) => [
        { series: sel(m.deploymentAvailable.name, { namespace: ns, deployment: "orders" }), values: "0x15" },
        {
          series: sel(m.deploymentSpecReplicas.name, { namespace: ns, deployment: "orders" }),
          values: "0x15",
        },
        {
          series: sel(m.deploymentAvailable.name, { namespace: OTHER_NS, deployment: "orders" }),
          values: "0x15",
        },
        {
          series: sel(m.deploymentSpecReplicas.name, { namespace: OTHER_NS, deployment: "orders" }),
          values: "2x15",
        },
      ],
      evalTime: "10m",
    },
  ],
  MIHighErrorRate: [
    {
      what: "10 % of an API's requests failing for 25 minutes",
      series: (ns) => [
        {
          series: sel(m.miApiRequests.name, { namespace: ns, service_name: "orders-api" }),
          values: "0+100x40",
        },
        { series: sel(m.miApiErrors.name, { namespace: ns, service_name: "orders-api" }), values: "0+10x40" },
      ],
      evalTime: "25m",
      fires: (ns) => ({ namespace: ns, service_name: "orders-api" }),
    },
    {
      what: "10 % of a proxy service's requests failing for 25 minutes",
      series: (ns) => [
        {
          series: sel(m.miProxyRequests.name, { namespace: ns, service_name: "orders-proxy" }),
          values: "0+100x40",
        },
        {
          series: sel(m.miProxyErrors.name, { namespace: ns, service_name: "orders-proxy" }),
          values: "0+10x40",
        },
      ],
      evalTime: "25m",
      fires: (ns) => ({ namespace: ns, service_name: "orders-proxy" }),
    },
    {
      what: "1 % failing here; 50 % failing in another namespace",
      series: (ns) => [
        {
          series: sel(m.miApiRequests.name, { namespace: ns, service_name: "orders-api" }),
          values: "0+100x40",
        },
        { series: sel(m.miApiErrors.name, { namespace: ns, service_name: "orders-api" }), values: "0+1x40" },
        {
          series: sel(m.miApiRequests.name, { namespace: OTHER_NS, service_name: "orders-api" }),
          values: "0+100x40",
        },
        {
          series: sel(m.miApiErrors.name, { namespace: OTHER_NS, service_name: "orders-api" }),
          values: "0+50x40",
        },
      ],
      evalTime: "25m",
    },
  ],
  MIHighLatency: [
    {
      what: "an API's p95 between 2.5 and 5 s for 25 minutes",
      series: (ns) =>
        latencyBuckets(bucketOf(m.miApiLatency), { namespace: ns, service_name: "orders-api" }, true),
      evalTime: "25m",
      fires: (ns) => ({ namespace: ns, service_name: "orders-api" }),
    },
    {
      what: "a proxy service's p95 between 2.5 and 5 s for 25 minutes",
      series: (ns) =>
        latencyBuckets(bucketOf(m.miProxyLatency), { namespace: ns, service_name: "orders-proxy" }, true),
      evalTime: "25m",
      fires: (ns) => ({ namespace: ns, service_name: "orders-proxy" }),
    },
    {
      what: "p95 under 0.5 s here; slow in another namespace",
      series: (ns) => [
        ...latencyBuckets(bucketOf(m.miApiLatency), { namespace: ns, service_name: "orders-api" }, false),
        ...latencyBuckets(
          bucketOf(m.miApiLatency),
          { namespace: OTHER_NS, service_name: "orders-api" },
          true,
        ),
      ],
      evalTime: "25m",
    },
  ],
  MIPodRestarting: [
    {
      what: "a container restarting once a minute",
      series: (ns) => [
        {
          series: sel(m.podRestarts.name, { namespace: ns, pod: "mi-0", container: "mi" }),
          values: "0+1x20",
        },
      ],
      evalTime: "15m",
      fires: (ns) => ({ namespace: ns, pod: "mi-0", container: "mi" }),
    },
    {
      what: "two restarts in 15 minutes here; many in another namespace",
      series: (ns) => [
        {
          series: sel(m.podRestarts.name, { namespace: ns, pod: "mi-0", container: "mi" }),
          values: "0 0 0 1 1 1 2x14",
        },
        {
          series: sel(m.podRestarts.name, { namespace: OTHER_NS, pod: "mi-0", container: "mi" }),
          values: "0+1x20",
        },
      ],
      evalTime: "15m",
    },
  ],
};

/** Renders the `{{ $labels.x }}` placeholders the rules use, as Prometheus will. */
const render = (text: string, labels: Record<string, string>) =>
  text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, k: string) => labels[k] ?? "");

function promtoolTests(rule: AlertRule, ruleFile: string) {
  const cases = CASES[rule.alert];
  if (!cases)
    throw new Error(`alert ${rule.alert} has no promtool test case in e2e/telemetry/alert-rules.test.ts`);
  const ns = (rule.expr.match(/namespace="([^"]+)"/) ?? [])[1];
  if (!ns) throw new Error(`alert ${rule.alert} does not select one namespace: ${rule.expr}`);
  assert.ok(cases.some((c) => c.fires) && cases.some((c) => !c.fires), `${rule.alert}: both kinds of case`);
  return {
    rule_files: [ruleFile],
    evaluation_interval: "1m",
    tests: cases.map((c) => {
      const labels = c.fires ? { ...c.fires(ns), ...rule.labels } : undefined;
      return {
        name: `${rule.alert}: ${c.what}`,
        interval: "1m",
        input_series: c.series(ns),
        alert_rule_test: [
          {
            eval_time: c.evalTime,
            alertname: rule.alert,
            exp_alerts: labels
              ? [
                  {
                    exp_labels: labels,
                    exp_annotations: {
                      summary: render(rule.annotations.summary, labels),
                      description: render(rule.annotations.description, labels),
                    },
                  },
                ]
              : [],
          },
        ],
      };
    }),
  };
}

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), "imaas-telemetry-promtool-"));
});
after(() => rmSync(work, { recursive: true, force: true }));

describe("alert rules: promtool test rules", () => {
  it("every alert of every tenant namespace fires when it should and stays silent when it should not", () => {
    const ruleSets = artifacts().rules.filter((r) => r.name === "imaas-mi-alerts");
    assert.ok(ruleSets.length >= 6, "a rule set per tenant namespace");
    let tested = 0;
    for (const r of ruleSets) {
      const ruleFile = join(work, `${r.namespace}.rules.yaml`);
      writeFileSync(ruleFile, YAML.stringify(r.spec));
      const alerts = r.spec.groups.flatMap((g) => g.rules.filter(isAlertRule));
      assert.deepEqual(
        alerts.map((a) => a.alert).sort(),
        Object.keys(CASES).sort(),
        `${r.namespace}: alerts and cases`,
      );
      for (const alert of alerts) {
        const testFile = join(work, `${r.namespace}-${alert.alert}.test.yaml`);
        writeFileSync(testFile, YAML.stringify(promtoolTests(alert, ruleFile)));
        const res = runTool("promtool", ["test", "rules", testFile]);
        assert.equal(res.status, 0, `${r.namespace} ${alert.alert}: ${show(res)}`);
        assert.match(res.stdout, /SUCCESS/);
        tested++;
      }
    }
    assert.equal(tested, ruleSets.length * Object.keys(CASES).length);
  });

  it("a case that expects the wrong thing fails (promtool really evaluates)", () => {
    const r = artifacts().rules.find((x) => x.name === "imaas-mi-alerts");
    assert.ok(r);
    const ruleFile = join(work, "wrong.rules.yaml");
    writeFileSync(ruleFile, YAML.stringify(r.spec));
    const down = r.spec.groups[0]!.rules.filter(isAlertRule).find((a) => a.alert === "MIInstanceDown")!;
    const tests = promtoolTests(down, ruleFile);
    // Claim the silent case fires.
    const silent = tests.tests.find((t) => t.alert_rule_test[0]!.exp_alerts.length === 0)!;
    silent.alert_rule_test[0]!.exp_alerts = [
      {
        exp_labels: { ...down.labels, namespace: r.namespace },
        exp_annotations: { summary: "", description: "" },
      },
    ];
    const testFile = join(work, "wrong.test.yaml");
    writeFileSync(testFile, YAML.stringify({ ...tests, tests: [silent] }));
    assert.notEqual(runTool("promtool", ["test", "rules", testFile]).status, 0);
  });
});
