/**
 * `imaas diff` explains a tier switch: the real program planned under mocks with a tenant shared, then
 * dedicated (and the reverse); the diff names each Application moving between Argo CD namespaces and says why
 * the running services stay, the shared AppProject is changed in place (retired), never deleted.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applicationMoves, describeDiff, diffPlans } from "../../cli/diff";
import { type PlannedResource, planProgram } from "../../cli/plan-engine";
import { readStackConfig } from "../../model/stack-file";

const ROOT = join(__dirname, "..", "..");
const tenant = (isolation: string) =>
  `apiVersion: imaas.io/v1alpha1\nkind: Tenant\nmetadata:\n  name: vault\nspec:\n  owners: [ana]\n  environments: [dev, test]\n  isolation: ${isolation}\n  services:\n    - name: sync\n`;

async function plan(isolation: string): Promise<PlannedResource[]> {
  const dir = mkdtempSync(join(tmpdir(), "imaas-diff-isolation-"));
  try {
    writeFileSync(join(dir, "vault.yaml"), tenant(isolation));
    const stack = readStackConfig(ROOT, "dev");
    const argocd = JSON.parse(stack.values["imaas:argocd"] ?? "{}");
    const values = {
      ...stack.values,
      "imaas:argocd": JSON.stringify({ ...argocd, dedicated: { allowed: true } }),
    };
    return (
      await planProgram({ stack: "dev", config: values, secretKeys: stack.secretKeys, tenantsDir: dir })
    ).resources;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("imaas diff: switching isolation tiers", function () {
  this.timeout(180_000);
  let shared: PlannedResource[];
  let dedicated: PlannedResource[];
  before(async () => {
    shared = await plan("shared");
    dedicated = await plan("dedicated");
  });

  it("shared → dedicated: each Application moves to <tenant>-argocd; the shared AppProject is retired in place", () => {
    const diff = diffPlans(shared, dedicated);
    assert.deepEqual(applicationMoves(diff), [
      { name: "vault-sync-dev", from: "argocd", to: "vault-argocd" },
      { name: "vault-sync-test", from: "argocd", to: "vault-argocd" },
    ]);
    const text = describeDiff(diff);
    assert.match(text, /Moved to another Argo CD \(spec\.isolation\)/);
    assert.match(text, /Application vault-sync-dev: argocd → vault-argocd/);
    assert.match(text, /WITHOUT pruning them/);
    const project = diff.changed.find((c) => c.after.name === "vault-appproject-staging");
    assert.ok(project, "the shared AppProject is changed, not deleted");
    assert.ok(
      project.paths.some((p) => p.startsWith("spec.destinations")),
      project.paths.join(", "),
    );
    assert.ok(
      !diff.deleted.some((r) => r.type === "kubernetes:core/v1:Namespace"),
      "no namespace is deleted",
    );
  });

  it("dedicated → shared: the Applications move back, the dedicated instance's objects are deleted", () => {
    const diff = diffPlans(dedicated, shared);
    assert.deepEqual(
      applicationMoves(diff).map((m) => `${m.name} ${m.from}→${m.to}`),
      ["vault-sync-dev vault-argocd→argocd", "vault-sync-test vault-argocd→argocd"],
    );
    const gone = diff.deleted.filter((r) => !r.component).map((r) => r.type.split(":").pop());
    assert.ok(
      gone.includes("Namespace") && gone.includes("Release") && gone.includes("Secret"),
      gone.join(", "),
    );
  });
});
