/**
 * `imaas plan` shows the coordination databases: the real stack program under mocks (as `imaas plan` runs it)
 * on the dev stack's config plus a coordination server, with a tenant whose stateful service runs in dev and
 * prod. The plan records one PostgreSQL database + role per such environment, kept on delete, with its Vault
 * entry and ExternalSecret; the table names them in words.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type PlannedResource, planProgram } from "../../cli/plan-engine";
import { planView } from "../../cli/plan-view";
import { renderTable, typeLabel } from "../../cli/render";
import { loadTenantDir } from "../../model/load";
import { platformConfigFromEntries } from "../../model/platform-config";
import { readStackConfig } from "../../model/stack-file";

const ROOT = join(__dirname, "..", "..");

describe("imaas plan: MI coordination databases", function () {
  this.timeout(120_000);
  let dir = "";
  let resources: PlannedResource[] = [];
  let table = "";

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "imaas-plan-coordination-"));
    writeFileSync(
      join(dir, "billing.yaml"),
      "apiVersion: imaas.io/v1alpha1\nkind: Tenant\nmetadata:\n  name: billing\nspec:\n  owners: [ana]\n  environments: [dev, prod]\n  services:\n    - name: invoicer\n      stateful: true\n    - name: api\n",
    );
    const stack = readStackConfig(ROOT, "dev");
    const mi = JSON.parse(stack.values["imaas:mi"] ?? "{}");
    const values = {
      ...stack.values,
      "imaas:mi": JSON.stringify({
        ...mi,
        coordination: { host: "pg.platform.internal", networks: ["10.50.0.10/32"] },
      }),
    };
    ({ resources } = await planProgram({
      stack: "dev",
      config: values,
      secretKeys: stack.secretKeys,
      tenantsDir: dir,
    }));
    const config = platformConfigFromEntries(values, "test");
    const { tenants } = loadTenantDir(dir, config, { stack: "dev" });
    table = renderTable(planView({ stack: "dev", config, tenants, resources }), { resources: true });
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("plans one database + role per environment of the stateful service, kept on delete, under the TenantSpace", () => {
    const dbs = resources.filter((r) => typeLabel(r) === "PostgreSQL coordination database + role");
    assert.deepEqual(
      dbs.map((d) => [d.name, (d.inputs as { name: string }).name, d.retainOnDelete, d.parent]),
      [
        ["billing-coordination-db-dev", "imaas_billing_dev", true, "billing"],
        ["billing-coordination-db-prod", "imaas_billing_prod", true, "billing"],
      ],
    );
    assert.deepEqual(
      resources
        .filter((r) => r.type === "vault:kv/secretV2:SecretV2")
        .map((r) => (r.inputs as { name: string }).name),
      ["billing/dev/_coordination-db", "billing/prod/_coordination-db"],
    );
    assert.equal(
      resources.filter(
        (r) =>
          r.type === "kubernetes:external-secrets.io/v1:ExternalSecret" &&
          (r.inputs as { metadata: { name: string } }).metadata.name === "coordination-db",
      ).length,
      2,
    );
  });

  it("the table names the databases and the resource kind in words", () => {
    assert.match(
      table,
      /MI coordination databases \(PostgreSQL, kept on delete\): dev imaas_billing_dev@pg\.platform\.internal:5432 · prod imaas_billing_prod@pg\.platform\.internal:5432/,
    );
    assert.match(table, /PostgreSQL coordination database \+ role/);
  });
});
