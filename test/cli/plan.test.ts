/** The real stack program under mocks, as `imaas plan` runs it. */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { type PlannedResource, planProgram } from "../../cli/plan-engine";
import { readStackConfig } from "../../model/stack-file";

const ROOT = join(__dirname, "..", "..");
const TENANTS = join(ROOT, "tenants");

async function plan(stack: string): Promise<PlannedResource[]> {
  const cfg = readStackConfig(ROOT, stack);
  const { resources } = await planProgram({
    stack,
    config: cfg.values,
    secretKeys: cfg.secretKeys,
    tenantsDir: TENANTS,
  });
  return resources;
}

describe("plan engine: index.ts under mocks", function () {
  this.timeout(60_000);
  let dev: PlannedResource[];
  let prod: PlannedResource[];

  before(async () => {
    dev = await plan("dev");
    prod = await plan("prod");
  });

  it("tenant namespaces and AppProjects wait for their cluster's platform parts (CRDs, admission policies)", () => {
    const waiting = dev.filter(
      (x) =>
        (x.type === "kubernetes:core/v1:Namespace" &&
          (x.inputs as any).metadata?.labels?.["imaas.io/tenant"]) ||
        x.type === "kubernetes:argoproj.io/v1alpha1:AppProject",
    );
    assert.ok(waiting.length >= 9, `${waiting.length} tenant namespaces and AppProjects`);
    for (const r of waiting) {
      for (const name of [
        "platform-staging-argocd",
        "platform-staging-external-secrets",
        "platform-staging-cert-manager",
        "platform-staging-imaas-tenant-images",
        "platform-staging-imaas-tenant-images-binding",
        "platform-staging-imaas-workload-service-account",
      ]) {
        assert.ok(r.dependsOn?.includes(name), `${r.type} ${r.name} does not wait for ${name}`);
      }
    }
  });

  it("the mocks saw the program's resources (not an empty run)", () => {
    assert.ok(dev.filter((r) => !r.component).length >= 10, `only ${dev.length} resources recorded`);
    assert.ok(dev.every((r) => typeof r.type === "string" && r.type.length > 0));
  });

  it("records a TenantSpace per example tenant with its namespaces as children", () => {
    const spaces = dev.filter((r) => r.type === "imaas:index:TenantSpace").map((r) => r.name);
    assert.deepEqual(spaces.sort(), ["hr-onboarding", "logistics", "payroll"]);
    const payrollNs = dev.filter((r) => r.type === "kubernetes:core/v1:Namespace" && r.parent === "payroll");
    assert.deepEqual(
      payrollNs.map((r) => (r.inputs as any).metadata.name),
      ["payroll-dev", "payroll-test", "payroll-prod"],
    );
  });

  it("Kubernetes providers use server-side apply and take fields back after out-of-band edits", () => {
    const providers = dev.filter((r) => r.type === "pulumi:providers:kubernetes");
    assert.ok(providers.length > 0);
    for (const p of providers) {
      assert.equal((p.inputs as any).enableServerSideApply, "true", p.name);
      assert.equal((p.inputs as any).enablePatchForce, "true", p.name);
    }
  });

  it("protects prod namespaces only", () => {
    for (const ns of dev.filter((r) => r.type === "kubernetes:core/v1:Namespace" && r.parent)) {
      const env = (ns.inputs as any).metadata.labels["imaas.io/environment"];
      assert.equal(ns.protect, env === "prod", ns.name);
    }
  });

  it("in the prod stack, tenant prod objects go to the production cluster and dev/test to the other", () => {
    const ns = prod.filter(
      (r) =>
        r.type === "kubernetes:core/v1:Namespace" && (r.inputs as any).metadata.labels["imaas.io/tenant"],
    );
    assert.ok(ns.length > 0);
    for (const r of ns) {
      const env = (r.inputs as any).metadata.labels["imaas.io/environment"];
      assert.equal(r.provider, env === "prod" ? "cluster-prod" : "cluster-nonprod", r.name);
    }
  });

  it("records ignoreChanges (imaas diff reads it): seeded repo files ignore their content, namespaces nothing", () => {
    const files = dev.filter((r) => r.type === "github:index/repositoryFile:RepositoryFile");
    assert.ok(files.length > 0);
    for (const f of files) assert.ok(f.ignoreChanges?.includes("content"), f.name);
    const ns = dev.filter((r) => r.type === "kubernetes:core/v1:Namespace");
    assert.ok(ns.length > 0 && ns.every((r) => r.ignoreChanges === undefined));
  });

  it("a plan can run twice in one process with the same result", async () => {
    const again = await plan("dev");
    assert.deepEqual(
      again.map((r) => `${r.type}/${r.name}`),
      dev.map((r) => `${r.type}/${r.name}`),
    );
  });
});

describe("plan engine: stack modes (a stack per tenant)", function () {
  this.timeout(60_000);
  const base = readStackConfig(ROOT, "prod");
  const withMode = (stack: Record<string, unknown>) => ({
    ...base.values,
    "imaas:stack": JSON.stringify(stack),
  });

  it("a tenant stack builds that tenant only, and reads the platform stack", async () => {
    const { resources } = await planProgram({
      stack: "prod.payroll",
      config: withMode({ mode: "tenant", tenant: "payroll" }),
      secretKeys: base.secretKeys,
      tenantsDir: TENANTS,
    });
    const spaces = resources.filter((r) => r.type === "imaas:index:TenantSpace").map((r) => r.name);
    assert.deepEqual(spaces, ["payroll"]);
    const ref = resources.find((r) => r.type === "pulumi:pulumi:StackReference");
    assert.ok(ref, "a StackReference to the platform stack");
    assert.equal((ref.inputs as any).name, "prod");
    assert.equal(resources.filter((r) => r.type === "imaas:index:ClusterPlatform").length, 0);
    assert.equal(resources.filter((r) => r.type === "imaas:index:ObservabilityStack").length, 0);
  });

  it("the platform stack builds the shared parts and no tenant", async () => {
    const { resources, outputs } = await planProgram({
      stack: "prod",
      config: withMode({ mode: "platform" }),
      secretKeys: base.secretKeys,
      tenantsDir: TENANTS,
    });
    assert.equal(resources.filter((r) => r.type === "imaas:index:TenantSpace").length, 0);
    assert.equal(resources.filter((r) => r.type === "imaas:index:ClusterPlatform").length, 2);
    assert.deepEqual(outputs.tenants, {});
    assert.match(String((outputs.platform as any).baseImage), /\/platform\/mi-base:4\.4\.0$/);
  });

  it("a tenant stack whose tenant file is gone fails with a clear error", async () => {
    await assert.rejects(
      planProgram({
        stack: "prod.ghost",
        config: withMode({ mode: "tenant", tenant: "ghost" }),
        secretKeys: base.secretKeys,
        tenantsDir: TENANTS,
      }),
      /tenant stack of "ghost", but tenants\/ghost\.yaml does not exist/,
    );
  });
});
