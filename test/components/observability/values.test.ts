import { strict as assert } from "node:assert";
import { alertingInput } from "../../../components/observability/alerting";
import { buildTenantOverviewDashboard } from "../../../components/observability/dashboards";
import { tenantScopes } from "../../../components/observability/scope";
import {
  backendUrls,
  retentionHours,
  TENANT_HEADER,
} from "../../../components/observability/values/backends";
import {
  buildFluentBitPipeline,
  buildFluentBitValues,
  FLUENT_BIT_TENANT_KEY,
  renderFluentBitConfig,
} from "../../../components/observability/values/fluent-bit";
import { buildGrafanaValues, grafanaRoleMapping } from "../../../components/observability/values/grafana";
import { buildKubePrometheusStackValues } from "../../../components/observability/values/kube-prometheus-stack";
import { buildLokiValues } from "../../../components/observability/values/loki";
import { buildOtelCollectorConfig } from "../../../components/observability/values/otel-collector";
import {
  buildPromLabelProxyValues,
  enforcedNamespaces,
  promLabelProxyArgs,
} from "../../../components/observability/values/prom-label-proxy";
import { buildTempoValues } from "../../../components/observability/values/tempo";
import { testConfig } from "../../support/mocks";
import { exampleTenants } from "../../support/tenants";

const cfg = testConfig({
  clusters: [
    { name: "nonprod", environments: ["dev", "test"] },
    { name: "prod", environments: ["prod"], production: true },
  ],
  observability: {
    metricsRetention: "30d",
    metricsStorage: "200Gi",
    logsRetention: "336h",
    tracesRetention: "3d",
  },
});
const urls = backendUrls("observability");
const scopes = tenantScopes(exampleTenants(cfg), cfg, "nonprod");
const entry = (section: { entries: readonly (readonly [string, string | number])[] }, key: string) =>
  section.entries.find(([k]) => k === key)?.[1];

describe("observability values (pure)", () => {
  it("scopes each tenant to its exact namespaces on a cluster", () => {
    const payroll = scopes.find((s) => s.tenant === "payroll");
    assert.deepEqual(payroll?.namespaces, ["payroll-dev", "payroll-test"]);
    assert.deepEqual(
      tenantScopes(exampleTenants(cfg), cfg, "prod").map((s) => s.tenant),
      ["logistics", "payroll"],
      "hr-onboarding has no prod environment",
    );
  });

  it("kube-prometheus-stack: selects monitors and rules everywhere, enforces namespace, retention and storage from config", () => {
    const v = buildKubePrometheusStackValues(
      cfg.observability,
      alertingInput(exampleTenants(cfg), cfg, "nonprod"),
    );
    const spec = v.prometheus.prometheusSpec;
    assert.equal(spec.serviceMonitorSelectorNilUsesHelmValues, false);
    assert.equal(spec.podMonitorSelectorNilUsesHelmValues, false);
    assert.equal(spec.ruleSelectorNilUsesHelmValues, false);
    assert.equal(spec.retention, "30d");
    assert.equal(spec.storageSpec.volumeClaimTemplate.spec.resources.requests.storage, "200Gi");
    assert.equal(spec.enforcedNamespaceLabel, "namespace");
    assert.ok(spec.excludedFromEnforcement.every((o) => o.namespace === "observability"));
    assert.equal(v.grafana.enabled, false, "no shared Grafana that sees every tenant");
    const routes = v.alertmanager.config.route.routes ?? [];
    assert.deepEqual(
      routes.map((r) => r.matchers),
      scopes.map((s) => [`namespace=~"${s.namespaces.join("|")}"`]),
      "routes on the namespace the operator enforces, one route per tenant",
    );
  });

  it("Loki: multi-tenant, retention from config, refuses a retention Loki cannot apply", () => {
    const v = buildLokiValues(cfg.observability);
    assert.equal(v.loki.auth_enabled, true);
    assert.equal(v.loki.limits_config.retention_period, "336h");
    assert.equal(v.loki.compactor.retention_enabled, true);
    assert.throws(
      () => buildLokiValues({ ...cfg.observability, logsRetention: "36h" }),
      /logsRetention.*multiple of 24h/,
    );
  });

  it("Tempo: multi-tenant with OTLP, retention from config", () => {
    const v = buildTempoValues(cfg.observability);
    assert.equal(v.multitenancyEnabled, true);
    assert.equal(v.traces.otlp.grpc.enabled, true);
    assert.equal(v.compactor.config.compaction.block_retention, "72h");
    assert.equal(retentionHours("2w"), 336);
  });

  it("Fluent Bit: namespace labels on, the Lua filter lifts imaas.io/tenant to the loki output's tenant_id_key", () => {
    const p = buildFluentBitPipeline(urls);
    const [k8sFilter, lua] = p.filters;
    assert.equal(entry(k8sFilter, "Name"), "kubernetes");
    assert.equal(entry(k8sFilter, "Namespace_Labels"), "On");
    assert.equal(
      entry(k8sFilter, "Merge_Log_Key"),
      "log_processed",
      "merged JSON cannot forge top-level keys",
    );
    assert.equal(entry(lua, "Name"), "lua");
    const out = p.outputs[0];
    assert.equal(entry(out, "Name"), "loki");
    assert.equal(entry(out, "tenant_id_key"), FLUENT_BIT_TENANT_KEY);
    assert.equal(entry(out, "tenant_id"), "platform", "records without a tenant go to the platform tenant");
    assert.equal(entry(out, "Host"), "loki-gateway.observability.svc.cluster.local");
    const v = buildFluentBitValues(urls);
    assert.equal(v.kind, "DaemonSet");
    const script = Object.values(v.luaScripts)[0];
    assert.match(script, /\["imaas\.io\/tenant"\]/);
    assert.match(script, new RegExp(`record\\["${FLUENT_BIT_TENANT_KEY}"\\] = tenant`));
    assert.match(script, /local tenant = "platform"/);
    assert.match(script, /string\.sub\(name, 1, string\.len\(label\) \+ 1\) == label \.\. "-"/);
    assert.match(v.config.filters, /\[FILTER\]\n {4}Name kubernetes\n/);
    assert.throws(() => renderFluentBitConfig([{ kind: "OUTPUT", entries: [["Name", "x\n[OUTPUT]"]] }]));
  });

  it("OTel collector: drops claimed namespaces, sets them from the connection, routes each tenant to its own X-Scope-OrgID", () => {
    const c = buildOtelCollectorConfig(scopes, urls);
    assert.deepEqual(c.service.pipelines["traces/in"].processors, [
      "memory_limiter",
      "resource/untrusted",
      "k8sattributes",
    ]);
    assert.ok(c.processors["resource/untrusted"].attributes.some((a) => a.key === "k8s.namespace.name"));
    assert.deepEqual(c.processors.k8sattributes.pod_association, [{ sources: [{ from: "connection" }] }]);
    for (const s of scopes) {
      const route = c.connectors.routing.table.find((r) => r.pipelines[0] === `traces/${s.tenant}`);
      assert.ok(route, s.tenant);
      assert.equal(
        route.condition,
        s.namespaces.map((ns) => `attributes["k8s.namespace.name"] == "${ns}"`).join(" or "),
      );
      assert.deepEqual(c.exporters[`otlp/${s.tenant}`].headers, { [TENANT_HEADER]: s.tenant });
      assert.deepEqual(c.service.pipelines[`traces/${s.tenant}`].exporters, [`otlp/${s.tenant}`]);
    }
    assert.deepEqual(c.connectors.routing.default_pipelines, ["traces/platform"]);
    assert.deepEqual(c.exporters["otlp/platform"].headers, { [TENANT_HEADER]: "platform" });
  });

  it("prom-label-proxy: exact namespace values, errors instead of rewriting another namespace", () => {
    const payroll = scopes.find((s) => s.tenant === "payroll");
    assert.ok(payroll);
    const v = buildPromLabelProxyValues(payroll, urls);
    assert.equal(v.config.label, "namespace");
    assert.equal(v.config.upstream, "http://kps-prometheus.observability.svc.cluster.local:9090");
    assert.deepEqual(enforcedNamespaces(v), ["payroll-dev", "payroll-test"]);
    assert.ok(v.config.extraArgs.includes("--error-on-replace=true"));
    assert.deepEqual(promLabelProxyArgs(v), [
      "--insecure-listen-address=0.0.0.0:8080",
      "--upstream=http://kps-prometheus.observability.svc.cluster.local:9090",
      "--label=namespace",
      "--label-value=payroll-dev",
      "--label-value=payroll-test",
      "--error-on-replace=true",
      "--enable-label-apis=true",
    ]);
  });

  it("Grafana: SSO roles from the tenant's groups, owners not Admin, strict role mapping", () => {
    const payroll = scopes.find((s) => s.tenant === "payroll");
    assert.ok(payroll);
    const v = buildGrafanaValues({
      scope: payroll,
      cluster: "nonprod",
      domain: "imaas.test",
      namespace: "observability",
      ingressClassName: "nginx",
      certIssuer: { name: "letsencrypt", kind: "ClusterIssuer" },
      groupPrefix: "imaas:",
      platformAdminsGroup: "imaas:platform-admins",
      oidc: {
        authUrl: "https://sso/a",
        tokenUrl: "https://sso/t",
        apiUrl: "https://sso/u",
        clientId: "grafana",
        groupsClaim: "groups",
      },
      adminSecret: true,
      dashboards: [buildTenantOverviewDashboard()],
    });
    assert.deepEqual(v.ingress.hosts, ["grafana.payroll.nonprod.imaas.test"]);
    // TLS with a certificate: cert-manager issues the named Secret for the host (without a secretName the
    // controller would serve its fake certificate).
    assert.deepEqual(v.ingress.tls, [
      { secretName: "grafana-payroll-tls", hosts: ["grafana.payroll.nonprod.imaas.test"] },
    ]);
    assert.deepEqual(v.ingress.annotations, { "cert-manager.io/cluster-issuer": "letsencrypt" });
    const oauth = v["grafana.ini"]["auth.generic_oauth"];
    assert.equal(oauth.role_attribute_strict, true);
    assert.equal(oauth.allowed_groups, "imaas:platform-admins imaas:payroll:owners imaas:payroll:members");
    assert.equal(
      grafanaRoleMapping("groups", "payroll", "imaas:", "imaas:platform-admins"),
      "contains(groups[*], 'imaas:platform-admins') && 'Admin' || contains(groups[*], 'imaas:payroll:owners') && 'Editor' || contains(groups[*], 'imaas:payroll:members') && 'Viewer'",
    );
    assert.equal(v["grafana.ini"].auth.disable_login_form, true);
    assert.equal(v.envFromSecret, "grafana-oidc");
    const dash = JSON.parse(v.dashboards.imaas["imaas-tenant-overview"].json);
    assert.equal(dash.uid, "imaas-tenant-overview");
  });
});
