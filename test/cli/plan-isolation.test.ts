/**
 * `imaas plan` shows which tenants run on their own Argo CD: the real stack program under mocks (as `imaas
 * plan` runs it) on the dev stack's config with dedicated control planes allowed, one dedicated tenant and one
 * shared. The summary line says "on its own Argo CD (<tenant>-argocd)" for the dedicated one only, the JSON
 * view carries `argocd.isolation` and its namespace, and the plan holds the instance's objects (the argo-cd
 * release, cluster Secret, Applications in its namespace) — the program's real wiring, gate included.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type PlannedResource, planProgram } from "../../cli/plan-engine";
import { type PlanView, planView } from "../../cli/plan-view";
import { renderTable } from "../../cli/render";
import { loadTenantDir } from "../../model/load";
import { platformConfigFromEntries } from "../../model/platform-config";
import { readStackConfig } from "../../model/stack-file";

const ROOT = join(__dirname, "..", "..");
const tenant = (name: string, isolation: string) =>
  `apiVersion: imaas.io/v1alpha1\nkind: Tenant\nmetadata:\n  name: ${name}\nspec:\n  owners: [ana]\n  environments: [dev, test]\n  isolation: ${isolation}\n  services:\n    - name: sync\n    - name: api\n`;

describe("imaas plan: isolation tiers", function () {
  this.timeout(120_000);
  let dir = "";
  let resources: PlannedResource[] = [];
  let view: PlanView;
  let table = "";

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "imaas-plan-isolation-"));
    writeFileSync(join(dir, "vault.yaml"), tenant("vault", "dedicated"));
    writeFileSync(join(dir, "ledger.yaml"), tenant("ledger", "shared"));
    const stack = readStackConfig(ROOT, "dev");
    const argocd = JSON.parse(stack.values["imaas:argocd"] ?? "{}");
    const values = {
      ...stack.values,
      "imaas:argocd": JSON.stringify({ ...argocd, dedicated: { allowed: true, maxTenants: 5 } }),
    };
    ({ resources } = await planProgram({
      stack: "dev",
      config: values,
      secretKeys: stack.secretKeys,
      tenantsDir: dir,
    }));
    const config = platformConfigFromEntries(values, "test");
    const { tenants, errors } = loadTenantDir(dir, config, { stack: "dev" });
    assert.deepEqual(errors, []);
    view = planView({ stack: "dev", config, tenants, resources });
    table = renderTable(view, { resources: true });
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("the summary line names the tenant's own Argo CD, and only for the dedicated tenant", () => {
    const line = (t: string) => table.split("\n").find((l) => l.includes(`Argo CD project ${t}`)) ?? "";
    assert.match(line("vault"), /Argo CD project vault on its own Argo CD \(vault-argocd\) · platform chart/);
    assert.match(line("ledger"), /Argo CD project ledger · platform chart/);
  });

  it("the JSON view carries the tier and the namespace of the tenant's Applications", () => {
    const by = Object.fromEntries(view.tenants.map((t) => [t.name, t.argocd]));
    assert.deepEqual(by.vault, { isolation: "dedicated", namespace: "vault-argocd" });
    assert.deepEqual(by.ledger, { isolation: "shared", namespace: "argocd" });
  });

  it("the plan holds the dedicated instance per cluster: release, cluster Secret, Applications in its namespace", () => {
    const ns = (r: PlannedResource) =>
      (r.inputs as { metadata?: { namespace?: string } }).metadata?.namespace;
    const vaultApps = resources.filter(
      (r) => r.type === "kubernetes:argoproj.io/v1alpha1:Application" && ns(r) === "vault-argocd",
    );
    assert.equal(vaultApps.length, 4);
    const releases = resources.filter(
      (r) =>
        r.type === "kubernetes:helm.sh/v3:Release" &&
        (r.inputs as { namespace?: string }).namespace === "vault-argocd",
    );
    assert.equal(releases.length, 1);
    assert.equal((releases[0]!.inputs as { name: string }).name, "argocd-vault");
    assert.ok(
      resources.some(
        (r) =>
          r.type === "kubernetes:core/v1:Secret" && r.name.endsWith("-cluster") && ns(r) === "vault-argocd",
      ),
    );
    assert.equal(
      resources.filter((r) => r.type === "kubernetes:argoproj.io/v1alpha1:Application" && ns(r) === "argocd")
        .length,
      4,
      "ledger's Applications stay in the shared namespace",
    );
  });
});
