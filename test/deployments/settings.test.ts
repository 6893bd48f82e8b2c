/** Push-to-deploy settings: the pure builder, and the deployments/ program under mocks. */
import { strict as assert } from "node:assert";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import {
  deployPaths,
  deploymentSettingsFor,
  PLATFORM_STACKS,
  programPaths,
  tagTriggerCommand,
  tenantDeploymentSettings,
} from "../../deployments/settings";
import { setupMocks } from "../support/mocks";

// Type-only: keeps deployments/index.ts under `tsc --noEmit` without loading it before the mocks.
type DeploymentsProgram = typeof import("../../deployments/index");

const OPTS = { organization: "acme", repository: "acme/imaas" } as const;

/** The plain (Output-free) values the builder returns, typed for assertions. */
function plain(stack: "dev" | "prod") {
  const s = deploymentSettingsFor(stack, OPTS);
  return { ...s, args: s.args as any };
}

describe("deployments: deploymentSettingsFor (pure)", () => {
  it("dev deploys on every push to main, with the platform's project and repository", () => {
    const { args, trigger, tagTrigger } = plain("dev");
    assert.deepEqual(trigger, { kind: "push", branch: "main" });
    assert.equal(args.organization, "acme");
    assert.equal(args.project, "imaas");
    assert.equal(args.stack, "dev");
    assert.equal(args.vcs.provider, "github");
    assert.equal(args.vcs.repository, "acme/imaas");
    assert.equal(args.vcs.deployCommits, true);
    assert.equal(args.sourceContext.git.branch, "refs/heads/main");
    assert.equal(tagTrigger, undefined);
  });

  it("prod deploys on release tags v* only, never on a push to main", () => {
    const s = plain("prod");
    assert.deepEqual(s.trigger, { kind: "tag", patterns: ["v*"] });
    assert.equal(s.args.vcs.deployCommits, false);
    assert.deepEqual(s.tagTrigger, { deployTags: true, tagFilters: ["v*"] });
    assert.deepEqual(tagTriggerCommand(s), [
      "pulumi",
      "deployment",
      "settings",
      "edit",
      "--stack",
      "acme/imaas/prod",
      "--deploy-tags",
      "--tag-filter",
      "v*",
    ]);
    assert.equal(tagTriggerCommand(plain("dev")), undefined);
  });

  it("previews every pull request, for both stacks", () => {
    for (const stack of PLATFORM_STACKS) assert.equal(plain(stack).args.vcs.previewPullRequests, true, stack);
  });

  it("path filters cover tenants, the program's code and the stack's own config", () => {
    for (const stack of PLATFORM_STACKS) {
      const paths: string[] = plain(stack).args.vcs.paths;
      for (const p of [
        "tenants/**",
        "components/**",
        "model/**",
        "charts/**",
        "index.ts",
        `Pulumi.${stack}.yaml`,
        "package-lock.json",
      ]) {
        assert.ok(paths.includes(p), `${stack}: ${p} in ${paths.join(", ")}`);
      }
      assert.deepEqual(paths, deployPaths(stack));
    }
    assert.ok(!deployPaths("dev").includes("Pulumi.prod.yaml"), "a prod config change does not deploy dev");
  });

  it("runs npm ci before each operation and skips the default install", () => {
    const { operationContext } = plain("dev").args;
    assert.deepEqual(operationContext.preRunCommands, ["npm ci"]);
    assert.equal(operationContext.options.skipInstallDependencies, true);
  });

  it("refuses options that cannot be right", () => {
    assert.throws(() => deploymentSettingsFor("dev", { ...OPTS, repository: "not a repo" }), /owner\/name/);
    assert.throws(() => deploymentSettingsFor("staging" as any, OPTS), /unknown platform stack/);
    assert.throws(() => deploymentSettingsFor("prod", { ...OPTS, releaseTags: ["!v*-rc*"] }), /including/);
  });

  it("honours a custom branch and tag patterns", () => {
    const dev = deploymentSettingsFor("dev", { ...OPTS, branch: "trunk" });
    assert.deepEqual(dev.trigger, { kind: "push", branch: "trunk" });
    const prod = deploymentSettingsFor("prod", { ...OPTS, releaseTags: ["v*", "!*-rc*"] });
    assert.deepEqual(prod.tagTrigger?.tagFilters, ["v*", "!*-rc*"]);
  });
});

describe("deployments: tenantDeploymentSettings (pure)", () => {
  it("a tenant stack deploys on its own file and the program's paths, not on other tenants' files", () => {
    const s = tenantDeploymentSettings("dev", "payroll", OPTS);
    const args = s.args as any;
    assert.equal(s.stack, "dev.payroll");
    assert.equal(args.stack, "dev.payroll");
    assert.equal(args.project, "imaas");
    assert.deepEqual(args.vcs.paths, ["tenants/payroll.yaml", "tenants/payroll.yml", ...programPaths("dev")]);
    assert.ok(!args.vcs.paths.includes("tenants/**"));
    assert.ok(args.vcs.paths.includes("Pulumi.dev.yaml"), "a platform config change redeploys its tenants");
  });

  it("follows its platform stack's trigger: dev on push, prod on release tags only", () => {
    const dev = tenantDeploymentSettings("dev", "payroll", OPTS);
    assert.deepEqual(dev.trigger, { kind: "push", branch: "main" });
    assert.equal((dev.args as any).vcs.deployCommits, true);
    const prod = tenantDeploymentSettings("prod", "payroll", OPTS);
    assert.deepEqual(prod.trigger, { kind: "tag", patterns: ["v*"] });
    assert.equal((prod.args as any).vcs.deployCommits, false);
    assert.deepEqual(tagTriggerCommand(prod)?.slice(4, 6), ["--stack", "acme/imaas/prod.payroll"]);
  });

  it("writes the stack's config file before each run, after npm ci", () => {
    const { operationContext } = tenantDeploymentSettings("prod", "payroll", OPTS).args as any;
    assert.deepEqual(operationContext.preRunCommands, [
      "npm ci",
      "npx imaas deploy --stack prod --only payroll --config-only",
    ]);
    assert.equal(operationContext.options.skipInstallDependencies, true);
  });

  it("refuses what cannot be a tenant or a platform stack", () => {
    assert.throws(() => tenantDeploymentSettings("dev", "Pay roll", OPTS), /not a tenant name/);
    assert.throws(() => tenantDeploymentSettings("dev", "x; rm -rf /", OPTS), /not a tenant name/);
    assert.throws(
      () => tenantDeploymentSettings("staging" as any, "payroll", OPTS),
      /unknown platform stack/,
    );
  });

  it("leaves the platform stacks' settings as they were", () => {
    assert.deepEqual(deployPaths("dev"), ["tenants/**", ...programPaths("dev")]);
  });
});

describe("deployments: the program under mocks", () => {
  after(() => pulumi.runtime.setAllConfig({}));

  it("registers one DeploymentSettings per platform stack, built by deploymentSettingsFor", async () => {
    const recorder = await setupMocks("settings");
    // setupMocks names the project "imaas", so the program's config keys are read as `imaas:<key>`.
    pulumi.runtime.setAllConfig({ "imaas:repository": "acme/imaas", "imaas:organization": "acme" });
    const modulePath = require.resolve("../../deployments/index");
    delete require.cache[modulePath];
    const program = require(modulePath) as DeploymentsProgram;
    await recorder.settle();
    const settings = recorder.ofType("pulumiservice:index:DeploymentSettings");
    assert.deepEqual(settings.map((r) => r.inputs.stack).sort(), ["dev", "prod"]);
    const prod = recorder.get("pulumiservice:index:DeploymentSettings", "prod-deployment-settings");
    assert.equal(prod.inputs.vcs.repository, "acme/imaas");
    assert.equal(prod.inputs.vcs.deployCommits, false);
    assert.deepEqual(program.manualSteps, [
      "pulumi deployment settings edit --stack acme/imaas/prod --deploy-tags --tag-filter 'v*'",
    ]);
  });

  it("adds one DeploymentSettings per tenant file for platform stacks laid out per tenant", async () => {
    const recorder = await setupMocks("settings");
    pulumi.runtime.setAllConfig({
      "imaas:repository": "acme/imaas",
      "imaas:organization": "acme",
      "imaas:tenantStacks": JSON.stringify(["prod"]),
    });
    const modulePath = require.resolve("../../deployments/index");
    delete require.cache[modulePath];
    const program = require(modulePath) as DeploymentsProgram;
    await recorder.settle();
    const tenants = readdirSync(join(__dirname, "../../tenants"))
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => `prod.${f.replace(/\.ya?ml$/, "")}`);
    assert.ok(tenants.length >= 2, "the example tenants");
    const stacks = recorder.ofType("pulumiservice:index:DeploymentSettings").map((r) => r.inputs.stack);
    assert.deepEqual(stacks.sort(), ["dev", "prod", ...tenants].sort());
    const payroll = recorder.get(
      "pulumiservice:index:DeploymentSettings",
      "prod.payroll-deployment-settings",
    );
    assert.deepEqual(payroll.inputs.vcs.paths.slice(0, 1), ["tenants/payroll.yaml"]);
    assert.equal(payroll.inputs.vcs.deployCommits, false);
    assert.equal(
      program.manualSteps.length,
      1 + tenants.length,
      "each prod tenant stack needs the tag step too",
    );
  });
});
