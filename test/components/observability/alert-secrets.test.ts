import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import type { TenantSpec } from "../../../model/spec";
import { type Recorder, setupMocks, testConfig, testContext } from "../../support/mocks";
import { exampleTenants } from "../../support/tenants";

const STORE = "kubernetes:external-secrets.io/v1:SecretStore";
const EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret";

describe("ObservabilityStack: the secrets Alertmanager's receivers read (mocks)", () => {
  let recorder: Recorder;
  const config = testConfig({
    clusters: [{ name: "main", environments: ["dev", "test", "prod"] }],
    observability: {
      alerting: {
        smtp: { smarthost: "smtp.example.com:587", from: "alerts@example.com", authUsername: "am" },
        platform: { email: ["ops@example.com"], webhooks: ["pager"] },
      },
    },
  });
  let tenants: TenantSpec[];

  before(async () => {
    recorder = await setupMocks();
    const { ObservabilityStack } =
      require("../../../components/observability") as typeof import("../../../components/observability");
    const vault = require("@pulumi/vault") as typeof import("@pulumi/vault");
    const base = testContext(config);
    const platform = {
      ...base,
      secrets: { ...base.secrets, alertmanagerSmtpPassword: pulumi.secret("smtp-password") },
      providers: { ...base.providers, vault: new vault.Provider("vault", {}) },
    };
    tenants = exampleTenants(config).map((t) =>
      t.name === "payroll" ? { ...t, alerts: { email: [], webhooks: ["oncall", "chat"] } } : t,
    );
    new ObservabilityStack("observability-main", { cluster: config.clusters[0]!, platform, tenants });
    await recorder.settle();
  });

  it("fills one Secret per webhook owner from <owner>/alerts through a store that reads only */alerts", () => {
    const store = recorder.get(STORE, "observability-main-alerting-secret-store").inputs;
    assert.equal(store.kind, "SecretStore");
    assert.equal(store.metadata.namespace, "observability");
    assert.equal(store.spec.provider.vault.auth.kubernetes.role, "imaas-alerting-main");
    const owners = recorder
      .ofType(EXTERNAL_SECRET)
      .filter((r) => r.inputs.metadata.namespace === "observability");
    assert.deepEqual(
      owners.map((r) => [
        r.inputs.metadata.name,
        r.inputs.spec.data.map((d: { secretKey: string }) => d.secretKey),
      ]),
      [
        ["alerts-platform", ["pager"]],
        ["alerts-payroll", ["oncall", "chat"]],
      ],
    );
    const policy = recorder.get(
      "vault:index/policy:Policy",
      "observability-main-alerting-vault-policy",
    ).inputs;
    assert.match(policy.policy, /path "imaas\/data\/\+\/alerts"/);
    const role = recorder.get(
      "vault:kubernetes/authBackendRole:AuthBackendRole",
      "observability-main-alerting-vault-role",
    ).inputs;
    assert.deepEqual(role.boundServiceAccountNamespaces, ["observability"]);
  });

  it("mounts exactly those Secrets and the SMTP password into Alertmanager", () => {
    const smtp = recorder.get("kubernetes:core/v1:Secret", "observability-main-alertmanager-smtp").inputs;
    assert.equal(smtp.metadata.name, "alertmanager-smtp");
    const kps = recorder.get("kubernetes:helm.sh/v3:Release", "observability-main-kps").inputs;
    assert.deepEqual(kps.values.alertmanager.alertmanagerSpec.secrets, [
      "alerts-platform",
      "alerts-payroll",
      "alertmanager-smtp",
    ]);
    const payroll = kps.values.alertmanager.config.receivers.find(
      (r: { name: string }) => r.name === "tenant-payroll",
    );
    assert.deepEqual(
      payroll.webhook_configs.map((w: { url_file: string }) => w.url_file),
      ["/etc/alertmanager/secrets/alerts-payroll/oncall", "/etc/alertmanager/secrets/alerts-payroll/chat"],
    );
  });

  it("refuses webhooks when the platform runs without a secret store, naming the owners", () => {
    const { ObservabilityStack } =
      require("../../../components/observability") as typeof import("../../../components/observability");
    const noStore = testConfig({
      clusters: [{ name: "main", environments: ["dev", "test", "prod"] }],
      secrets: { enabled: false },
      observability: { alerting: { platform: { webhooks: ["pager"] } } },
    });
    assert.throws(
      () =>
        new ObservabilityStack("observability-nostore", {
          cluster: noStore.clusters[0]!,
          platform: testContext(noStore),
          tenants,
        }),
      /cluster main: alert webhooks of platform, payroll need the secret store/,
    );
  });
});
