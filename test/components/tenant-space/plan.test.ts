/**
 * TenantSpace as the real stack program builds it (index.ts under the plan engine's mocks): resource
 * options that decide what a deletion does, and where every child lands (parent and provider).
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { type PlannedResource, planProgram } from "../../../cli/plan-engine";
import { readStackConfig } from "../../../model/stack-file";
import { admissionPolicies } from "../../../components/platform/admission";
import { testConfig } from "../../support/mocks";

/** The platform's admission policies (their names do not depend on the config). */
const POLICY_NAMES = admissionPolicies(testConfig())
  .map((p) => p.name)
  .sort();

const ROOT = join(__dirname, "..", "..", "..");
const SPACE = "imaas:index:TenantSpace";
const NS = "kubernetes:core/v1:Namespace";

async function plan(stack: string): Promise<PlannedResource[]> {
  const cfg = readStackConfig(ROOT, stack);
  const { resources } = await planProgram({
    stack,
    config: cfg.values,
    secretKeys: cfg.secretKeys,
    tenantsDir: join(ROOT, "tenants"),
  });
  return resources;
}

/** The TenantSpace a resource belongs to (through its parents), if any. */
function spaceOf(all: PlannedResource[], r: PlannedResource): string | undefined {
  const byName = new Map(all.map((x) => [x.name, x]));
  let parent = r.parent;
  while (parent) {
    const p = byName.get(parent);
    if (!p) return undefined;
    if (p.type === SPACE) return p.name;
    parent = p.parent;
  }
  return undefined;
}

/** The TenantSpace's own children: not MIService objects, which are parented below the space too. */
function ownChildren(all: PlannedResource[], space: string): PlannedResource[] {
  return all.filter((r) => r.parent === space && !r.component);
}

describe("TenantSpace in the stack program (plan engine)", function () {
  this.timeout(60_000);
  let dev: PlannedResource[];
  let prod: PlannedResource[];

  before(async () => {
    dev = await plan("dev");
    prod = await plan("prod");
  });

  it("the plan holds a TenantSpace per example tenant with children", () => {
    const spaces = dev.filter((r) => r.type === SPACE).map((r) => r.name);
    assert.deepEqual(spaces.sort(), ["hr-onboarding", "logistics", "payroll"]);
    for (const s of spaces) assert.ok(ownChildren(dev, s).length > 10, `${s} has children`);
  });

  it("prod namespaces are protected; nothing else of a TenantSpace is", () => {
    for (const resources of [dev, prod]) {
      const tenantNs = resources.filter(
        (r) => r.type === NS && (r.inputs as any).metadata.labels?.["imaas.io/tenant"],
      );
      assert.ok(tenantNs.length >= 8);
      for (const n of tenantNs) assert.ok(spaceOf(resources, n), `${n.name} is a child of its TenantSpace`);
      for (const space of resources.filter((r) => r.type === SPACE)) {
        for (const r of ownChildren(resources, space.name)) {
          const isProdNs =
            r.type === NS && (r.inputs as any).metadata.labels["imaas.io/environment"] === "prod";
          assert.equal(r.protect, isProdNs, `${r.type} ${r.name}`);
        }
      }
    }
    const payrollProd = dev.find((r) => r.type === NS && (r.inputs as any).metadata.name === "payroll-prod");
    assert.equal(payrollProd?.protect, true);
  });

  it("the registry project is kept when a tenant goes away; robots and retention policy are not", () => {
    const dyn = ownChildren(dev, "payroll").filter((r) => r.type === "pulumi-nodejs:dynamic:Resource");
    const byName = Object.fromEntries(dyn.map((r) => [r.name, r]));
    assert.equal(byName["payroll-registry"]?.retainOnDelete, true);
    for (const n of ["payroll-robot-ci", "payroll-robot-pull", "payroll-registry-retention"]) {
      assert.equal(byName[n]?.retainOnDelete, false, n);
    }
  });

  it("every Kubernetes child lands on the cluster that hosts its environment; GitHub children use the GitHub provider", () => {
    for (const resources of [dev, prod]) {
      for (const space of resources.filter((r) => r.type === SPACE)) {
        for (const r of ownChildren(resources, space.name)) {
          if (r.type.startsWith("kubernetes:")) {
            const inputs = r.inputs as any;
            const env = inputs.metadata?.labels?.["imaas.io/environment"];
            assert.ok(r.provider?.startsWith("cluster-"), `${r.name} has an explicit cluster provider`);
            if (resources === prod && env) {
              assert.equal(r.provider, env === "prod" ? "cluster-prod" : "cluster-nonprod", r.name);
            }
          } else if (r.type.startsWith("github:")) {
            assert.equal(r.provider, "github", r.name);
          }
        }
      }
    }
  });

  it("an AppProject per cluster hosting the tenant, destinations only on that cluster", () => {
    const projects = prod.filter(
      (r) => r.type === "kubernetes:argoproj.io/v1alpha1:AppProject" && r.parent === "payroll",
    );
    const byCluster = Object.fromEntries(
      projects.map((p) => [p.provider, (p.inputs as any).spec.destinations.map((d: any) => d.namespace)]),
    );
    assert.deepEqual(byCluster, {
      "cluster-nonprod": ["payroll-dev", "payroll-test"],
      "cluster-prod": ["payroll-prod"],
    });
    const hr = prod.filter(
      (r) => r.type === "kubernetes:argoproj.io/v1alpha1:AppProject" && r.parent === "hr-onboarding",
    );
    assert.deepEqual(
      hr.map((p) => p.provider),
      ["cluster-nonprod"],
      "no AppProject on a cluster that hosts none of the tenant's environments",
    );
  });

  it("admission policies exist once per cluster, outside any TenantSpace", () => {
    for (const resources of [dev, prod]) {
      const vaps = resources.filter(
        (r) => r.type === "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy",
      );
      const clusters = resources.filter((r) => r.type === "pulumi:providers:kubernetes").map((p) => p.name);
      for (const c of clusters) {
        assert.deepEqual(
          vaps
            .filter((v) => v.provider === c)
            .map((v) => (v.inputs as any).metadata.name)
            .sort(),
          POLICY_NAMES,
          `${c}: every policy once`,
        );
      }
      for (const v of vaps) assert.equal(spaceOf(resources, v), undefined, v.name);
    }
  });

  it("no ClusterRole or ClusterRoleBinding anywhere binds a tenant group", () => {
    for (const resources of [dev, prod]) {
      const cluster = resources.filter((r) =>
        /^kubernetes:rbac\.authorization\.k8s\.io\/v1:ClusterRole(Binding)?$/.test(r.type),
      );
      for (const r of cluster) {
        const subjects = ((r.inputs as any).subjects ?? []) as { name: string }[];
        assert.ok(!subjects.some((s) => /:(owners|members)$/.test(s.name)), `${r.name} binds a tenant group`);
      }
    }
  });

  it("the stack output per tenant says what the tenant got", async () => {
    const cfg = readStackConfig(ROOT, "dev");
    const { outputs } = await planProgram({
      stack: "dev",
      config: cfg.values,
      secretKeys: cfg.secretKeys,
      tenantsDir: join(ROOT, "tenants"),
    });
    const payroll = (outputs.tenants as any).payroll;
    assert.deepEqual(payroll.namespaces, {
      dev: "payroll-dev",
      test: "payroll-test",
      prod: "payroll-prod",
    });
    assert.equal(payroll.appProject, "payroll");
    assert.equal(payroll.githubTeam, "payroll");
    assert.match(payroll.registryProject, /\/payroll$/);
  });
});
