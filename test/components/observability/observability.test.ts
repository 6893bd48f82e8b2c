import { strict as assert } from "node:assert";
import type { PlatformConfig } from "../../../model/platform-config";
import type { TenantSpec } from "../../../model/spec";
import {
  type RecordedResource,
  type Recorder,
  setupMocks,
  testConfig,
  testContext,
} from "../../support/mocks";
import { exampleTenants } from "../../support/tenants";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const CLUSTERS = [
  { name: "nonprod", environments: ["dev", "test"] },
  { name: "prod", environments: ["prod"], production: true },
];

interface DataSource {
  name: string;
  type: string;
  url: string;
  jsonData: Record<string, unknown>;
  secureJsonData?: Record<string, string>;
}

describe("ObservabilityStack and TenantObservability (mocks)", () => {
  let recorder: Recorder;
  let config: PlatformConfig;
  let tenants: TenantSpec[];
  let grafanaUrls: Record<string, Readonly<Record<string, string>>>;

  before(async () => {
    recorder = await setupMocks();
    config = testConfig({
      clusters: CLUSTERS,
      observability: { metricsRetention: "30d", metricsStorage: "200Gi", logsRetention: "744h" },
    });
    const { ObservabilityStack, TenantObservability } =
      require("../../../components/observability") as typeof import("../../../components/observability");
    const platform = testContext(config);
    tenants = exampleTenants(config);
    const stacks = Object.fromEntries(
      config.clusters.map((c) => [
        c.name,
        new ObservabilityStack(`observability-${c.name}`, { cluster: c, platform, tenants }),
      ]),
    );
    grafanaUrls = {};
    for (const tenant of tenants) {
      const backendsReady = Object.fromEntries(Object.entries(stacks).map(([c, s]) => [c, s.ready]));
      const view = new TenantObservability(`${tenant.name}-observability`, {
        tenant,
        platform,
        backendsReady,
      });
      grafanaUrls[tenant.name] = view.grafanaUrls;
    }
    await recorder.settle();
  });

  const release = (name: string): RecordedResource => recorder.get(RELEASE, name);
  const grafanaOf = (tenant: string, cluster: string) =>
    release(`${tenant}-observability-${cluster}-grafana`);
  const dataSources = (r: RecordedResource): DataSource[] =>
    r.inputs.values.datasources["datasources.yaml"].datasources;
  const proxyOf = (tenant: string, cluster: string) =>
    release(`${tenant}-observability-${cluster}-metrics-proxy`);
  const labelValues = (r: RecordedResource): string[] =>
    (r.inputs.values.config.extraArgs as string[])
      .filter((a) => a.startsWith("--label-value="))
      .map((a) => a.slice("--label-value=".length));
  /** Every (tenant, cluster) that has a view. */
  const views = () =>
    tenants.flatMap((t) => Object.keys(grafanaUrls[t.name]).map((cluster) => ({ tenant: t, cluster })));

  it("the recorder saw the components' resources", () => {
    assert.ok(recorder.resources.length > 30, `only ${recorder.resources.length} resources`);
    assert.equal(recorder.ofType("imaas:index:ObservabilityStack").length, 2);
    assert.equal(recorder.ofType("imaas:index:TenantObservability").length, tenants.length);
  });

  it("every backend release per cluster, with chart and version pinned from config", () => {
    for (const c of ["nonprod", "prod"]) {
      const expected: [string, keyof PlatformConfig["charts"]][] = [
        ["kps", "kubePrometheusStack"],
        ["loki", "loki"],
        ["fluent-bit", "fluentBit"],
        ["tempo", "tempo"],
        ["otel-collector", "otelCollector"],
      ];
      for (const [releaseName, key] of expected) {
        const r = release(`observability-${c}-${releaseName}`);
        assert.equal(r.inputs.name, releaseName);
        assert.equal(r.inputs.chart, config.charts[key].chart);
        assert.equal(r.inputs.version, config.charts[key].version);
        assert.equal(r.inputs.repositoryOpts.repo, config.charts[key].repo);
        assert.equal(r.inputs.namespace, "observability");
        assert.equal(r.provider, `cluster-${c}`);
      }
    }
  });

  it("the values that matter: selectors, multi-tenancy, tenant label wiring, retention", () => {
    const kps = release("observability-prod-kps").inputs.values;
    assert.equal(kps.prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValues, false);
    assert.equal(kps.prometheus.prometheusSpec.ruleSelectorNilUsesHelmValues, false);
    assert.equal(kps.prometheus.prometheusSpec.retention, "30d");
    assert.equal(
      kps.prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.resources.requests.storage,
      "200Gi",
    );
    const loki = release("observability-prod-loki").inputs.values;
    assert.equal(loki.loki.auth_enabled, true);
    assert.equal(loki.loki.limits_config.retention_period, "744h");
    assert.equal(release("observability-prod-tempo").inputs.values.multitenancyEnabled, true);
    const fb = release("observability-nonprod-fluent-bit").inputs.values;
    assert.match(fb.config.filters, /Namespace_Labels On/);
    assert.match(fb.config.outputs, /tenant_id_key imaas_tenant/);
    assert.match(Object.values(fb.luaScripts as Record<string, string>)[0], /imaas\.io\/tenant/);
    const otel = release("observability-prod-otel-collector").inputs.values.alternateConfig;
    assert.deepEqual(Object.keys(otel.exporters).sort(), ["otlp/logistics", "otlp/payroll", "otlp/platform"]);
  });

  it("the observability namespace is labelled privileged for the node agents, protected on the production cluster", () => {
    const ns = recorder.get("kubernetes:core/v1:Namespace", "observability-prod-namespace");
    assert.equal(ns.inputs.metadata.name, "observability");
    assert.equal(ns.inputs.metadata.labels["pod-security.kubernetes.io/enforce"], "privileged");
    assert.equal(ns.inputs.metadata.labels["pod-security.kubernetes.io/warn"], "baseline");
  });

  it("every example tenant's data sources carry its X-Scope-OrgID and its own proxy URL, per cluster", () => {
    assert.deepEqual(grafanaUrls.payroll, {
      nonprod: "https://grafana.payroll.nonprod.imaas.test",
      prod: "https://grafana.payroll.prod.imaas.test",
    });
    assert.deepEqual(Object.keys(grafanaUrls["hr-onboarding"]), ["nonprod"]);
    for (const { tenant, cluster } of views()) {
      const ds = dataSources(grafanaOf(tenant.name, cluster));
      assert.deepEqual(ds.map((d) => d.type).sort(), ["loki", "prometheus", "tempo"]);
      for (const d of ds.filter((x) => x.type !== "prometheus")) {
        assert.equal(d.jsonData.httpHeaderName1, "X-Scope-OrgID");
        assert.equal(d.secureJsonData?.httpHeaderValue1, tenant.name);
      }
      const prom = ds.find((d) => d.type === "prometheus");
      assert.equal(prom?.url, `http://metrics-proxy-${tenant.name}.observability.svc.cluster.local:8080`);
      const expectedNs = tenant.environments
        .filter((e) => (cluster === "prod" ? e === "prod" : e !== "prod"))
        .map((e) => `${tenant.name}-${e}`);
      assert.deepEqual(labelValues(proxyOf(tenant.name, cluster)), expectedNs);
    }
  });

  it("NEGATIVE: no tenant's data source can reach another tenant's logs, metrics or traces", () => {
    const all = views();
    const prometheus = "http://kps-prometheus.observability.svc.cluster.local:9090";
    for (const a of all) {
      const dsA = dataSources(grafanaOf(a.tenant.name, a.cluster));
      const nsA = labelValues(proxyOf(a.tenant.name, a.cluster));
      // No data source goes around the proxy, and every label value is an exact namespace name.
      assert.ok(
        dsA.every((d) => d.url !== prometheus),
        `${a.tenant.name}: Prometheus reached directly`,
      );
      assert.ok(
        nsA.every((ns) => /^[a-z0-9-]+$/.test(ns)),
        `${a.tenant.name}: regex in ${nsA}`,
      );
      assert.ok(nsA.every((ns) => ns.startsWith(`${a.tenant.name}-`)));
      for (const b of all) {
        if (a.tenant.name === b.tenant.name) continue;
        const dsB = dataSources(grafanaOf(b.tenant.name, b.cluster));
        const headers = (ds: DataSource[]) =>
          ds.map((d) => d.secureJsonData?.httpHeaderValue1).filter(Boolean);
        for (const h of headers(dsA))
          assert.ok(!headers(dsB).includes(h), `${a.tenant.name}/${b.tenant.name} share ${h}`);
        const urlA = dsA.find((d) => d.type === "prometheus")?.url;
        assert.notEqual(urlA, dsB.find((d) => d.type === "prometheus")?.url);
        // The proxy's matcher, namespace=~"ns1|ns2" with quoted values, can match none of b's namespaces.
        const nsB = b.tenant.environments.map((e) => `${b.tenant.name}-${e}`);
        assert.ok(
          nsA.every((ns) => !nsB.includes(ns)),
          `${a.tenant.name} proxy admits ${b.tenant.name}`,
        );
        const matcher = new RegExp(`^(?:${nsA.join("|")})$`);
        assert.ok(
          nsB.every((ns) => !matcher.test(ns)),
          `${a.tenant.name} matcher matches ${b.tenant.name}`,
        );
      }
    }
    // Traces: each tenant's route names only its namespaces; its exporter only its header.
    for (const c of ["nonprod", "prod"]) {
      const otel = release(`observability-${c}-otel-collector`).inputs.values.alternateConfig;
      for (const route of otel.connectors.routing.table as { condition: string; pipelines: string[] }[]) {
        const tenant = route.pipelines[0].slice("traces/".length);
        for (const ns of route.condition.matchAll(/== "([^"]+)"/g)) assert.ok(ns[1].startsWith(`${tenant}-`));
        assert.equal(otel.exporters[`otlp/${tenant}`].headers["X-Scope-OrgID"], tenant);
      }
    }
    // Network: a tenant's proxy admits only that tenant's Grafana.
    for (const np of recorder.ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy")) {
      const name: string = np.inputs.metadata.name;
      if (!name.startsWith("metrics-proxy-")) continue;
      const tenant = name.slice("metrics-proxy-".length);
      const from = np.inputs.spec.ingress[0].from;
      assert.deepEqual(from, [
        {
          podSelector: {
            matchLabels: {
              "app.kubernetes.io/name": "grafana",
              "app.kubernetes.io/instance": `grafana-${tenant}`,
            },
          },
        },
      ]);
    }
  });

  it("alert rules in every tenant namespace, on that namespace's cluster", () => {
    for (const tenant of tenants) {
      for (const env of tenant.environments) {
        const rule = recorder.get(
          "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
          `${tenant.name}-observability-${env}-alerts`,
        );
        assert.equal(rule.inputs.metadata.namespace, `${tenant.name}-${env}`);
        assert.equal(rule.provider, env === "prod" ? "cluster-prod" : "cluster-nonprod");
        assert.ok(
          rule.inputs.spec.groups[0].rules.every(
            (r: { labels: { tenant: string } }) => r.labels.tenant === tenant.name,
          ),
        );
      }
    }
  });
});
