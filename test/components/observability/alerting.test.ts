import { strict as assert } from "node:assert";
import {
  alertingVaultPolicy,
  alertWebhooksExternalSecret,
} from "../../../components/observability/alert-secrets";
import {
  AlertingConfigError,
  alertingInput,
  alertmanagerSecrets,
  buildAlertmanagerConfig,
  namespaceMatcher,
} from "../../../components/observability/alerting";
import { tenantSchema } from "../../../model/tenant";
import { testConfig } from "../../support/mocks";

const cfg = testConfig({
  clusters: [
    { name: "nonprod", environments: ["dev", "test"] },
    { name: "prod", environments: ["prod"], production: true },
  ],
  observability: {
    alerting: {
      smtp: { smarthost: "smtp.example.com:587", from: "alerts@example.com", authUsername: "am" },
      platform: { email: ["ops@example.com"], webhooks: ["pager"] },
    },
  },
});
const tenants = [
  {
    name: "payroll",
    environments: ["dev", "test", "prod"] as const,
    alerts: { email: ["pay@example.com"], webhooks: ["oncall"] },
  },
  { name: "hr", environments: ["dev"] as const },
];

describe("Alertmanager configuration (pure)", () => {
  const input = alertingInput(tenants, cfg, "nonprod");
  const am = buildAlertmanagerConfig(input);

  it("routes each tenant by the namespaces it has on the cluster, to its own receiver", () => {
    const routes = am.route.routes ?? [];
    assert.deepEqual(
      routes.map((r) => [r.receiver, r.matchers]),
      [
        ["tenant-payroll", ['namespace=~"payroll-dev|payroll-test"']],
        ["platform", ['namespace=~"hr-dev"']],
      ],
    );
    assert.ok(routes.every((r) => r.continue === false));
    assert.equal(am.route.receiver, "platform", "everything else reaches the platform");
  });

  it("gives every receiver an integration: e-mail per address, webhooks by mounted secret file", () => {
    const payroll = am.receivers.find((r) => r.name === "tenant-payroll");
    assert.deepEqual(payroll?.email_configs, [{ to: "pay@example.com", send_resolved: true }]);
    assert.deepEqual(payroll?.webhook_configs, [
      { url_file: "/etc/alertmanager/secrets/alerts-payroll/oncall", send_resolved: true, max_alerts: 50 },
    ]);
    const platform = am.receivers.find((r) => r.name === "platform");
    assert.deepEqual(
      platform?.webhook_configs?.[0]?.url_file,
      "/etc/alertmanager/secrets/alerts-platform/pager",
    );
    assert.equal(am.receivers.length, 2, "hr has no destinations: no empty receiver for it");
    assert.ok(!JSON.stringify(am).includes("http"), "no URL in the configuration");
  });

  it("sets every key of the chart's default config, so Helm's merge adds nothing", () => {
    assert.deepEqual(Object.keys(am).sort(), ["global", "inhibit_rules", "receivers", "route", "templates"]);
    assert.equal(am.route.group_wait, "30s");
    assert.equal(am.route.group_interval, "5m");
    assert.equal(am.route.repeat_interval, "4h");
    assert.equal(am.global.resolve_timeout, "5m");
    assert.equal(am.global.smtp_auth_password_file, "/etc/alertmanager/secrets/alertmanager-smtp/password");
  });

  it("mounts the webhook Secrets of every owner with webhooks, and the SMTP password", () => {
    assert.deepEqual(alertmanagerSecrets(input), ["alerts-platform", "alerts-payroll", "alertmanager-smtp"]);
    const es = alertWebhooksExternalSecret("observability", "payroll", ["oncall"]);
    assert.deepEqual(es.spec.data, [
      { secretKey: "oncall", remoteRef: { key: "payroll/alerts", property: "oncall" } },
    ]);
    assert.equal(es.spec.target.name, "alerts-payroll");
    assert.match(
      alertingVaultPolicy("imaas"),
      /path "imaas\/data\/\+\/alerts" \{\n {2}capabilities = \["read"\]/,
    );
  });

  it("refuses e-mail destinations without a mail relay, naming the owner", () => {
    const noRelay = testConfig({ observability: { alerting: { platform: { email: [] } } } });
    assert.throws(
      () => buildAlertmanagerConfig(alertingInput(tenants, noRelay, "main")),
      (e: Error) =>
        e instanceof AlertingConfigError &&
        /tenant payroll .*imaas:observability.alerting.smtp/.test(e.message),
    );
  });

  it("matches namespaces exactly and refuses anything that is not a namespace name", () => {
    assert.equal(namespaceMatcher(["a-dev", "a-prod"]), 'namespace=~"a-dev|a-prod"');
    assert.throws(() => namespaceMatcher([".*"]), AlertingConfigError);
    assert.throws(() => namespaceMatcher([]), AlertingConfigError);
  });
});

describe("tenant file: spec.alerts", () => {
  const tenant = (alerts: unknown) => ({
    apiVersion: "imaas.io/v1alpha1",
    kind: "Tenant",
    metadata: { name: "payroll" },
    spec: { owners: ["ana"], alerts },
  });
  const messages = (alerts: unknown) => {
    const r = tenantSchema.safeParse(tenant(alerts));
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  };

  it("accepts e-mail addresses and webhook secret names", () => {
    assert.deepEqual(messages({ email: ["a@example.com"], webhooks: ["oncall", "chat-ops"] }), []);
  });

  it("refuses a URL where a secret name belongs, bad addresses, duplicates and an empty block", () => {
    assert.match(
      messages({ webhooks: ["https://hooks.example.com/T0/B0/xyz"] }).join("\n"),
      /spec.alerts.webhooks.0: .*never a URL/,
    );
    assert.match(
      messages({ email: ["not-an-address"] }).join("\n"),
      /spec.alerts.email.0: not an e-mail address/,
    );
    assert.match(
      messages({ webhooks: ["a", "a"] }).join("\n"),
      /spec.alerts.webhooks.1: "a" is listed twice/,
    );
    assert.match(messages({}).join("\n"), /name at least one e-mail address or webhook/);
  });
});
