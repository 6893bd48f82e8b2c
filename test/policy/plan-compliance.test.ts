/**
 * The program's own plan satisfies the policy pack: every resource and stack policy (except the
 * remediation-only secrets policy, which changes values instead of reporting) runs over what `imaas plan`
 * records for the dev and prod stacks, and reports nothing.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import {
  type PolicyResource,
  type PolicyResourceOptions,
  type ResourceValidationPolicy,
  type StackValidationPolicy,
  unknownCheckingProxy,
} from "@pulumi/policy";
import { type PlannedResource, planProgram } from "../../cli/plan-engine";
import { readStackConfig } from "../../model/stack-file";
import { noPlaintextSecrets, POLICIES } from "../../policy/policies";

const ROOT = join(__dirname, "..", "..");

function optsOf(r: PlannedResource): PolicyResourceOptions {
  return {
    protect: r.protect,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
  };
}

async function violationsOf(resources: readonly PlannedResource[]): Promise<string[]> {
  const found: string[] = [];
  const policyResources: PolicyResource[] = resources
    .filter((r) => !r.component)
    .map((r) => ({
      type: r.type,
      name: r.name,
      urn: `urn:pulumi:dev::imaas::${r.type}::${r.name}`,
      props: unknownCheckingProxy(r.inputs),
      opts: optsOf(r),
      dependencies: [],
      propertyDependencies: {},
      isType: () => false,
      asType: () => undefined,
    }));
  for (const policy of POLICIES) {
    if (policy === noPlaintextSecrets) continue;
    const report = (message: string, urn?: string) => found.push(`${policy.name}: ${urn ?? ""}: ${message}`);
    const stackPolicy = policy as StackValidationPolicy;
    if (typeof stackPolicy.validateStack === "function") {
      await stackPolicy.validateStack(
        {
          resources: policyResources,
          stackTags: new Map(),
          getConfig: <T extends object>() => ({}) as T,
          notApplicable: (): never => {
            throw new Error("not applicable");
          },
        },
        report,
      );
      continue;
    }
    const validations = [(policy as ResourceValidationPolicy).validateResource ?? []].flat();
    for (const r of policyResources) {
      for (const v of validations) {
        try {
          await v(
            {
              type: r.type,
              name: r.name,
              urn: r.urn,
              props: r.props,
              opts: r.opts,
              stackTags: new Map(),
              isType: () => false,
              asType: () => undefined,
              getConfig: <T extends object>() => ({}) as T,
              notApplicable: (): never => {
                throw new Error("not applicable");
              },
            },
            report,
          );
        } catch (err) {
          if ((err as Error).message !== "not applicable") throw err;
        }
      }
    }
  }
  return found;
}

describe("the program's plan complies with the policy pack", function () {
  this.timeout(60_000);
  for (const stack of ["dev", "prod"]) {
    it(`stack ${stack}: no violations`, async () => {
      const cfg = readStackConfig(ROOT, stack);
      const { resources } = await planProgram({
        stack,
        config: cfg.values,
        secretKeys: cfg.secretKeys,
        tenantsDir: join(ROOT, "tenants"),
      });
      assert.ok(
        resources.some((r) => r.type === "kubernetes:core/v1:Namespace"),
        "the plan has namespaces to check",
      );
      assert.deepEqual(await violationsOf(resources), []);
    });
  }

  it("would catch a namespace without its guard rails (the check can fail)", async () => {
    const cfg = readStackConfig(ROOT, "dev");
    const { resources } = await planProgram({
      stack: "dev",
      config: cfg.values,
      secretKeys: cfg.secretKeys,
      tenantsDir: join(ROOT, "tenants"),
    });
    const stripped = resources.filter((r) => r.type !== "kubernetes:core/v1:ResourceQuota");
    const violations = await violationsOf(stripped);
    assert.ok(
      violations.some((v) => v.startsWith("tenant-namespace-guardrails")),
      violations.join("\n"),
    );
  });
});
