/**
 * spec.isolation (shared | dedicated) and the stack's imaas:argocd.dedicated: the loader refuses a dedicated
 * tenant where the stack offers none, and every dedicated tenant beyond maxTenants, with file:line:col.
 */
import { strict as assert } from "node:assert";
import { formatError, loadTenantSources } from "../../model/load";
import { testConfig } from "../support/mocks";

const tenant = (name: string, isolation?: string) =>
  `apiVersion: imaas.io/v1alpha1\nkind: Tenant\nmetadata:\n  name: ${name}\nspec:\n  owners: [ana]\n${isolation ? `  isolation: ${isolation}\n` : ""}`;

const load = (files: Record<string, string>, cfg = testConfig()) =>
  loadTenantSources(
    Object.entries(files).map(([file, text]) => ({ file, text })),
    cfg,
    { stack: "dev" },
  );
const allowed = (extra: Record<string, unknown> = {}) =>
  testConfig({
    argocd: { platformRepo: "https://github.com/acme/imaas.git", dedicated: { allowed: true, ...extra } },
  });

describe("isolation tiers in the tenant file", () => {
  it("defaults to shared, and the platform offers no dedicated Argo CD unless it says so", () => {
    const r = load({ "payroll.yaml": tenant("payroll") });
    assert.deepEqual(r.errors, []);
    assert.equal(r.tenants[0]!.isolation, "shared");
    assert.deepEqual(testConfig().argocd.dedicated, { allowed: false });
  });

  it("refuses dedicated where imaas:argocd.dedicated.allowed is false, at the isolation line", () => {
    const errors = load({ "payroll.yaml": tenant("payroll", "dedicated") }).errors.map(formatError);
    assert.deepEqual(errors, [
      'payroll.yaml:7:14: spec.isolation: a dedicated Argo CD is not offered on this platform (imaas:argocd.dedicated.allowed of stack "dev" is false): remove the line to use the shared one, or ask the platform admins',
    ]);
  });

  it("accepts dedicated where allowed, and resolves it", () => {
    const r = load({ "payroll.yaml": tenant("payroll", "dedicated") }, allowed());
    assert.deepEqual(r.errors, []);
    assert.equal(r.tenants[0]!.isolation, "dedicated");
  });

  it("refuses an unknown tier with the schema's message, at its value", () => {
    const errors = load({ "payroll.yaml": tenant("payroll", "private") }, allowed()).errors.map(formatError);
    assert.equal(errors.length, 1, errors.join("\n"));
    assert.match(errors[0]!, /^payroll\.yaml:7:14: spec\.isolation: .*"shared".*"dedicated"/);
  });

  it("caps dedicated tenants across files: every file asking gets the error naming all of them", () => {
    const files = {
      "payroll.yaml": tenant("payroll", "dedicated"),
      "logistics.yaml": tenant("logistics", "dedicated"),
      "hr.yaml": tenant("hr"),
    };
    const errors = load(files, allowed({ maxTenants: 1 })).errors.map(formatError);
    assert.deepEqual(errors.sort(), [
      'logistics.yaml:7:14: spec.isolation: 2 tenants ask for a dedicated Argo CD (logistics, payroll); imaas:argocd.dedicated.maxTenants of stack "dev" allows 1: use the shared one, or ask the platform admins to raise the cap',
      'payroll.yaml:7:14: spec.isolation: 2 tenants ask for a dedicated Argo CD (logistics, payroll); imaas:argocd.dedicated.maxTenants of stack "dev" allows 1: use the shared one, or ask the platform admins to raise the cap',
    ]);
    assert.deepEqual(load(files, allowed({ maxTenants: 2 })).errors, []);
  });

  it("the platform config refuses a negative or fractional cap and unknown keys", () => {
    assert.throws(() => allowed({ maxTenants: -1 }));
    assert.throws(() => allowed({ maxTenants: 1.5 }));
    assert.throws(() => allowed({ budget: 3 }));
  });
});
