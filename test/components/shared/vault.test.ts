import { strict as assert } from "node:assert";
import { alertingSecretStoreManifest } from "../../../components/observability/alert-secrets";
import { vaultAuthMount } from "../../../components/shared/vault";
import { secretStoreManifest } from "../../../components/tenant-space/secret-store";
import { testConfig } from "../../support/mocks";

describe("Vault SecretStores (tenants' and Alertmanager's)", () => {
  const cfg = testConfig({ secrets: { vault: { server: "https://vault.test", authMountPrefix: "k8s-" } } });
  const cluster = cfg.clusters[0];

  it("log in at the cluster's auth mount, each as its own service account under its own role", () => {
    assert.equal(vaultAuthMount(cfg, cluster), "k8s-main");
    const tenant = secretStoreManifest(cfg, cluster, "payroll", "dev").spec.provider.vault;
    const alerting = alertingSecretStoreManifest(cfg, cluster).spec.provider.vault;
    for (const v of [tenant, alerting]) {
      assert.equal(v.server, "https://vault.test");
      assert.equal(v.path, "imaas");
      assert.equal(v.version, "v2");
      assert.equal(v.auth.kubernetes.mountPath, "k8s-main");
    }
    assert.deepEqual(
      [tenant.auth.kubernetes.role, tenant.auth.kubernetes.serviceAccountRef.name],
      ["imaas-payroll-dev", "secrets-reader"],
    );
    assert.deepEqual(
      [alerting.auth.kubernetes.role, alerting.auth.kubernetes.serviceAccountRef.name],
      ["imaas-alerting-main", "alerting-secrets-reader"],
    );
  });
});
