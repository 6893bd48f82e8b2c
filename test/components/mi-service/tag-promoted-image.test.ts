// The pipeline's "Tag promoted image" stage run as CI runs it (POSIX sh, `set -eu`) against the fake Harbor,
// then the tenant's retention policy run over many dev builds: the images test and prod run stay.
// `docker` is a stand-in on PATH: for the yq image it reads `image.tag`, for the curl image it runs this
// machine's curl with the same arguments (the fake speaks http, so https://<registry host> is mapped to it).
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pipelineInput, pipelineSteps } from "../../../components/mi-service/pipeline";
import { retentionRules } from "../../../components/tenant-space/registry";
import { checkProject, harborProjectProvider } from "../../../providers/harbor/project-provider";
import {
  checkRetention,
  harborRetentionPolicyProvider,
} from "../../../providers/harbor/retention-policy-provider";
import {
  checkRobot,
  harborRobotAccountProvider,
  type RobotOutputs,
} from "../../../providers/harbor/robot-account-provider";
import { testConfig } from "../../support/mocks";
import { FakeHarbor } from "../../providers/harbor/fake-harbor";

const HOST = "registry.imaas.test";
const input = pipelineInput({
  tenant: "payroll",
  service: "salary-sync",
  registryHost: HOST,
  baseImageProject: "platform",
  miVersion: "4.4.0",
  environments: ["dev", "test", "prod"],
});

const DOCKER_STUB = `#!/usr/bin/env node
const args = process.argv.slice(2);
const fs = require("fs");
const at = (img) => args.indexOf(img);
if (at(process.env.YQ_IMAGE) >= 0) {
  const m = /^\\s*tag:\\s*"?([^"\\n]*)"?/m.exec(fs.readFileSync("deploy/values.yaml", "utf8"));
  process.stdout.write(m ? m[1] + "\\n" : "\\n");
  process.exit(0);
}
const i = at(process.env.CURL_IMAGE);
if (i < 0) { console.error("docker stub: unexpected " + args.join(" ")); process.exit(2); }
const curlArgs = args.slice(i + 1).map((a) => a.replace("https://" + process.env.REGISTRY_HOST, process.env.FAKE_URL));
const r = require("child_process").spawnSync("curl", curlArgs, { stdio: "inherit" });
process.exit(r.status ?? 1);
`;

describe("pipeline: tag promoted images, and retention keeps what test and prod run", () => {
  let fake: FakeHarbor;
  let dir: string;
  let ci: RobotOutputs;
  beforeEach(async () => {
    fake = await new FakeHarbor().start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tag-promoted-"));
    fs.mkdirSync(path.join(dir, "bin"));
    fs.writeFileSync(path.join(dir, "bin", "docker"), DOCKER_STUB, { mode: 0o755 });
    fs.mkdirSync(path.join(dir, "deploy"));
    await harborProjectProvider.create(checkProject({ ...fake.connection, name: "payroll" }).inputs);
    const robot = checkRobot({
      ...fake.connection,
      project: "payroll",
      name: "ci",
      permissions: ["push", "pull", "tag:create"],
    });
    ci = (await harborRobotAccountProvider.create(robot.inputs)).outs as RobotOutputs;
  });
  afterEach(async () => {
    await fake.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the stage on `branch` with `image.tag: <tag>` checked out, as the CI robot (or `as`). */
  const runStage = (
    branch: string,
    tag: string,
    as: { user: string; secret: string } = { user: ci.fullName, secret: ci.secret },
  ) => {
    fs.writeFileSync(path.join(dir, "deploy", "values.yaml"), `image:\n  tag: ${tag}\n`);
    const stage = pipelineSteps(input).find((s) => s.id === "tag-promoted-image")!;
    const env: Record<string, string> = {
      PATH: `${path.join(dir, "bin")}:${process.env.PATH}`,
      FAKE_URL: fake.url,
      CI_BRANCH: branch,
      REGISTRY_USERNAME: as.user,
      REGISTRY_PASSWORD: as.secret,
      IMAGE_TAG: "0000000",
    };
    for (const [k, v] of [
      ["REGISTRY_HOST", input.registryHost],
      ["IMAGE_REPOSITORY", input.imageRepository],
      ["YQ_IMAGE", input.yqImage],
      ["CURL_IMAGE", input.curlImage],
    ]) {
      env[k] = v;
    }
    // Asynchronous: the fake Harbor answers from this very process.
    return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn("sh", ["-c", ["set -eu", ...stage.commands].join("\n")], { cwd: dir, env });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => {
        stdout += d;
      });
      child.stderr.on("data", (d) => {
        stderr += d;
      });
      child.on("close", (status) => resolve({ status, stdout, stderr }));
    });
  };

  it("runs only on pushes to the promotion branches, with the registry credential", () => {
    const stage = pipelineSteps(input).find((s) => s.id === "tag-promoted-image")!;
    assert.deepEqual(stage.when, { push: ["test", "prod"], pullRequest: [] });
    assert.deepEqual(stage.credentials, ["registry"]);
    assert.equal(stage.job, "build");
    assert.ok(!stage.commands.join("\n").includes('REGISTRY_PASSWORD" -'), "the secret is not an argument");
    assert.equal(
      pipelineSteps(pipelineInput({ ...input, baseImageProject: "platform", environments: ["dev"] })).some(
        (s) => s.id === "tag-promoted-image",
      ),
      false,
    );
  });

  it("tags the promoted image <env>-<tag> through Harbor's API; a re-run is fine; a robot without tag:create fails the job", async () => {
    // Mirrors artifactAPI.CreateTag (src/server/v2.0/handler/artifact.go): needs tag:create, 201, 409 if it exists.
    fake.push("payroll", "salary-sync", "abc123");
    const first = await runStage("prod", "abc123");
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /tagged registry\.imaas\.test\/payroll\/salary-sync:abc123 as prod-abc123/);
    assert.deepEqual(fake.tagsOf("payroll", "salary-sync").sort(), ["abc123", "prod-abc123"]);
    const tagCall = fake.requests.find((r) => r.path.endsWith("/tags"))!;
    assert.equal(tagCall.path, "/api/v2.0/projects/payroll/repositories/salary-sync/artifacts/abc123/tags");
    assert.equal(tagCall.principal, "robot$payroll+ci");

    const again = await runStage("prod", "abc123");
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /already tagged prod-abc123/);

    const pullOnly = (
      await harborRobotAccountProvider.create(
        checkRobot({ ...fake.connection, project: "payroll", name: "pull", permissions: ["pull"] }).inputs,
      )
    ).outs as RobotOutputs;
    const refused = await runStage("test", "abc123", { user: pullOnly.fullName, secret: pullOnly.secret });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /could not tag .*:abc123 as test-abc123 \(Harbor answered HTTP 403\)/);
    const missing = await runStage("test", "");
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /has no image\.tag/);
  });

  it("after 25 more dev builds, retention deleted old builds but not the images test and prod run, nor any earlier prod image", async () => {
    const rules = retentionRules(
      testConfig({ registry: { host: HOST, keepArtifacts: 5, keepTestPromotions: 2 } }).registry,
    );
    const policy = checkRetention({ ...fake.connection, project: "payroll", ...rules });
    assert.deepEqual(policy.failures, []);
    await harborRetentionPolicyProvider.create(policy.inputs);

    // Builds 1..3; 1 went to prod long ago, 2 is in prod now, 3 is in test.
    for (const sha of ["sha1", "sha2", "sha3"]) fake.push("payroll", "salary-sync", sha);
    for (const [branch, sha] of [
      ["test", "sha1"],
      ["prod", "sha1"],
      ["test", "sha2"],
      ["prod", "sha2"],
      ["test", "sha3"],
    ]) {
      const run = await runStage(branch, sha);
      assert.equal(run.status, 0, run.stderr);
    }
    for (let i = 0; i < 25; i++) fake.push("payroll", "salary-sync", `dev${i}`);
    const deleted = fake.runRetention("payroll");
    const tags = fake.tagsOf("payroll", "salary-sync");
    for (const kept of ["sha1", "prod-sha1", "sha2", "prod-sha2", "sha3", "test-sha3", "dev24", "dev20"]) {
      assert.ok(tags.includes(kept), `${kept} kept; left: ${tags.join(", ")}`);
    }
    assert.ok(!tags.includes("dev19"), "older dev builds are deleted");
    assert.equal(deleted.length, 20);
    // The running images can be pulled again (a reschedule after retention ran).
    assert.equal(fake.pull(ci.fullName, ci.secret, "payroll/salary-sync:sha2"), 200);
    assert.equal(fake.pull(ci.fullName, ci.secret, "payroll/salary-sync:sha3"), 200);
  });

  it("control: without the promotion tags the same retention deletes the image prod runs", async () => {
    const rules = retentionRules(testConfig({ registry: { host: HOST, keepArtifacts: 5 } }).registry);
    await harborRetentionPolicyProvider.create(
      checkRetention({ ...fake.connection, project: "payroll", ...rules }).inputs,
    );
    fake.push("payroll", "salary-sync", "sha2");
    for (let i = 0; i < 25; i++) fake.push("payroll", "salary-sync", `dev${i}`);
    fake.runRetention("payroll");
    assert.equal(fake.pull(ci.fullName, ci.secret, "payroll/salary-sync:sha2"), 404);
  });
});
