/**
 * Robot secret rotation with the real engine against the fake Harbor: the Pulumi CLI v3.248.0 and our
 * Node.js language host from e2e/tools/build.sh, a file backend, and a small program — a Harbor project,
 * the CI robot as the platform makes it, and a "sink" standing in for the GitHub Actions secret / pull
 * secret (a dynamic resource that writes the value it is given to a file). It proves what the provider
 * tests can only assume: a secret due for rotation makes the engine call update though no input changed,
 * and whatever is built from the robot's secret gets the new one in the same `pulumi up`.
 *
 * The dynamic-provider plugin (`pulumi-resource-pulumi-nodejs`) ships with @pulumi/pulumi; the CLI finds
 * it on PATH. Run: npx mocha e2e/registry/rotation.test.ts (not part of `npm test`; needs the tools built).
 */
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { FakeHarbor } from "../../test/providers/harbor/fake-harbor";

const ROOT = join(__dirname, "..", "..");
const TOOLS_DIR = process.env.IMAAS_TOOLS_DIR || join(homedir(), ".cache/imaas-tools");
const BIN = join(TOOLS_DIR, "bin");

const PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import { writeFileSync } from "node:fs";
import { HarborProject } from ${JSON.stringify(join(ROOT, "providers/harbor/project"))};
import { HarborRobotAccount } from ${JSON.stringify(join(ROOT, "providers/harbor/robot-account"))};

const cfg = new pulumi.Config();
const conn = { url: cfg.require("url"), username: "admin", password: cfg.requireSecret("password") };
const project = new HarborProject("acme", { ...conn, name: "acme" });
const before = cfg.get("rotateBefore");
const ci = new HarborRobotAccount("acme-ci", {
  ...conn,
  project: project.name,
  name: "ci",
  permissions: ["push", "pull", "tag:create"],
  rotationDays: 90,
  ...(before ? { rotateIfIssuedBefore: before } : {}),
});
// Stands in for the Actions secret / the pull secret: writes what it is given.
const sink: pulumi.dynamic.ResourceProvider = {
  async create(inputs) {
    require("node:fs").writeFileSync(inputs.file, inputs.value);
    return { id: "sink", outs: inputs };
  },
  async diff(_id, olds, news) {
    return { changes: olds.value !== news.value };
  },
  async update(_id, _olds, news) {
    require("node:fs").writeFileSync(news.file, news.value);
    return { outs: news };
  },
};
new pulumi.dynamic.Resource(sink, "ci-secret", { file: cfg.require("sinkFile"), value: ci.secret }, {});
export const issuedAt = ci.secretIssuedAt;
void writeFileSync;
`;

describe("e2e: robot secret rotation with the real engine and the fake Harbor", function () {
  this.timeout(600_000);
  let fake: FakeHarbor;
  let work = "";
  let env: NodeJS.ProcessEnv = {};
  const sinkFile = () => join(work, "sink.txt");

  /** Runs the CLI without blocking this process (the fake Harbor answers from it). */
  const pulumi = (...args: string[]) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(join(BIN, "pulumi"), args, { cwd: join(work, "project"), env });
      let out = "";
      let err = "";
      child.stdout.on("data", (d) => {
        out += d;
      });
      child.stderr.on("data", (d) => {
        err += d;
      });
      child.on("close", (code) => resolve({ code, out, err }));
    });

  before(async function () {
    if (!["pulumi", "pulumi-language-nodejs"].every((b) => existsSync(join(BIN, b)))) {
      this.skip(); // build them with: bash e2e/tools/build.sh pulumi
    }
    fake = await new FakeHarbor().start();
    work = mkdtempSync(join(tmpdir(), "imaas-e2e-rotation-"));
    const project = join(work, "project");
    mkdirSync(project);
    mkdirSync(join(work, "state"));
    writeFileSync(
      join(project, "Pulumi.yaml"),
      'name: rotation\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n    nodeargs: "--import tsx"\nmain: index.ts\n',
    );
    writeFileSync(join(project, "index.ts"), PROGRAM);
    writeFileSync(join(project, "package.json"), '{ "name": "rotation", "private": true }\n');
    symlinkSync(join(ROOT, "node_modules"), join(project, "node_modules"));
    env = {
      ...process.env,
      PATH: `${BIN}:${join(ROOT, "node_modules/@pulumi/pulumi")}:${process.env.PATH}`,
      PULUMI_HOME: join(work, "pulumi-home"),
      PULUMI_BACKEND_URL: `file://${join(work, "state")}`,
      PULUMI_CONFIG_PASSPHRASE: "e2e-rotation",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
    for (const args of [
      ["stack", "init", "e2e"],
      ["config", "set", "url", fake.url],
      ["config", "set", "--secret", "password", fake.password],
      ["config", "set", "sinkFile", sinkFile()],
    ]) {
      const r = await pulumi(...args);
      assert.equal(r.code, 0, r.err);
    }
  });

  after(async () => {
    await fake?.stop();
    if (work && !process.env.KEEP_E2E) rmSync(work, { recursive: true, force: true });
  });

  it("creates the robot; the sink gets its secret", async () => {
    const started = Date.now();
    const up = await pulumi("up", "--yes", "--skip-preview");
    assert.equal(up.code, 0, `${up.out}\n${up.err}`);
    const robot = fake.robotByName("robot$acme+ci")!;
    assert.equal(readFileSync(sinkFile(), "utf8"), robot.secret);
    console.log(`      first pulumi up: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  it("a requested rotation: one pulumi up patches the robot and updates the sink with the new secret", async () => {
    const robot = fake.robotByName("robot$acme+ci")!;
    const old = robot.secret;
    const at = new Date(Date.now() + 1000).toISOString();
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await pulumi("config", "set", "rotateBefore", at)).code, 0);
    const preview = await pulumi("preview", "--diff");
    assert.equal(preview.code, 0, preview.err);
    // The robot updates, and what is built from its secret is already known to change with it.
    assert.match(preview.out, /\(update\)\s+\[id=\d+\]\s+\[urn=[^\]]*::acme-ci\]/, preview.out);
    assert.match(preview.out, /::ci-secret\][\s\S]*~ value: \[secret\] => \[unknown\]/, preview.out);
    assert.match(preview.out, /~ 2 to update/, preview.out);
    const started = Date.now();
    const up = await pulumi("up", "--yes", "--skip-preview");
    assert.equal(up.code, 0, `${up.out}\n${up.err}`);
    console.log(`      rotating pulumi up: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.notEqual(robot.secret, old);
    assert.equal(
      readFileSync(sinkFile(), "utf8"),
      robot.secret,
      "the sink has the new secret after the same up",
    );
    assert.equal(fake.requests.filter((r) => r.method === "PATCH").length, 1);
    fake.push("acme", "orders", "v1");
    assert.equal(fake.pull(robot.name, old, "acme/orders:v1"), 401);
    assert.equal(fake.pull(robot.name, robot.secret, "acme/orders:v1"), 200);

    // Done: the request stays in config, and nothing rotates again.
    const again = await pulumi("preview", "--expect-no-changes");
    assert.equal(again.code, 0, `${again.out}\n${again.err}`);
    assert.equal(fake.requests.filter((r) => r.method === "PATCH").length, 1);
  });
});
