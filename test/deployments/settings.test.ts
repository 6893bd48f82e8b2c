/** Push-to-deploy settings: the pure builder, and the deployments/ program under mocks. */
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import {
  deployPaths,
  deploymentSettingsFor,
  PLATFORM_STACKS,
  tagTriggerCommand,
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
});
