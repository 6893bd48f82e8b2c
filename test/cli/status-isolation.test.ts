/**
 * `imaas status` finds a dedicated tenant's Applications in its own Argo CD namespace (`<tenant>-argocd`,
 * spec.isolation: dedicated) and the shared tenants' in the shared one, reading each namespace once per cluster.
 */
import { strict as assert } from "node:assert";
import { collectStatus, statusTargets } from "../../cli/status";
import type { ClusterReader } from "../../cli/status-objects";
import { testConfig } from "../support/mocks";
import { inlineTenants } from "../support/tenants";

const cfg = testConfig({
  argocd: { platformRepo: "https://github.com/acme/imaas.git", dedicated: { allowed: true } },
});
const file = (name: string, isolation: string) =>
  `apiVersion: imaas.io/v1alpha1\nkind: Tenant\nmetadata:\n  name: ${name}\nspec:\n  owners: [ana]\n  environments: [dev]\n  isolation: ${isolation}\n  services:\n    - name: sync\n`;
const tenants = inlineTenants(
  { "vault.yaml": file("vault", "dedicated"), "ledger.yaml": file("ledger", "shared") },
  cfg,
);

const app = (name: string, ns: string) =>
  ({
    metadata: { name, namespace: ns },
    spec: { sources: [] },
    status: { sync: { status: "Synced", revisions: [] }, health: { status: "Healthy" } },
  }) as never;

describe("imaas status with a dedicated Argo CD", () => {
  it("targets name each tenant's Argo CD namespace", () => {
    const by = Object.fromEntries(statusTargets(tenants, cfg).map((t) => [t.tenant, t.argocdNamespace]));
    assert.deepEqual(by, { vault: "vault-argocd", ledger: "argocd" });
  });

  it("reads the shared and the dedicated namespace and matches each Application in its own", async () => {
    const calls: string[] = [];
    const reader: ClusterReader = {
      async applications(ns) {
        calls.push(ns);
        // The same name in the wrong namespace must not count: only vault-argocd holds vault's.
        return ns === "argocd"
          ? [app("ledger-sync-dev", "argocd"), app("vault-sync-dev", "argocd")]
          : [app("vault-sync-dev", "vault-argocd")];
      },
      async deployments() {
        return [];
      },
      async pods() {
        return [];
      },
    };
    const report = await collectStatus("dev", cfg, statusTargets(tenants, cfg), () => reader);
    assert.deepEqual(calls.sort(), ["argocd", "vault-argocd"]);
    const sync = Object.fromEntries(report.services.map((s) => [s.tenant, s.application.sync]));
    assert.deepEqual(sync, { vault: "Synced", ledger: "Synced" });
  });

  it("an Application missing from the dedicated namespace is reported there", async () => {
    const reader: ClusterReader = {
      async applications(ns) {
        return ns === "argocd" ? [app("vault-sync-dev", "argocd")] : [];
      },
      async deployments() {
        return [];
      },
      async pods() {
        return [];
      },
    };
    const report = await collectStatus("dev", cfg, statusTargets(tenants, cfg, ["vault"]), () => reader);
    const vault = report.services.find((s) => s.tenant === "vault")!;
    assert.equal(vault.application.found, false);
    assert.equal(vault.application.namespace, "vault-argocd");
  });
});
