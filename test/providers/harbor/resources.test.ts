// The resource classes under Pulumi mocks, and their serialized providers run the way Pulumi runs them:
// the `__provider` text the engine stores is loaded with `require-from-string` in a plain Node process
// (no TypeScript loader, another working directory) and drives the fake Harbor.
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import * as pulumi from "@pulumi/pulumi";
import { setupMocks } from "../../support/mocks";
import { FakeHarbor } from "./fake-harbor";

const DYNAMIC = "pulumi-nodejs:dynamic:Resource";

/**
 * Runs check → create → read of a serialized provider in a separate plain `node` process; with `then`,
 * also diff → update against those extra inputs (e.g. a rotation request).
 */
async function runSerialized(
  providerText: string,
  inputs: Record<string, unknown>,
  dir: string,
  then?: Record<string, unknown>,
) {
  const file = path.join(dir, `provider-${Math.random().toString(36).slice(2)}.js`);
  fs.writeFileSync(file, providerText);
  const script = `
    const requireFromString = require(${JSON.stringify(require.resolve("require-from-string"))});
    const provider = requireFromString(require("fs").readFileSync(${JSON.stringify(file)}, "utf8")).handler();
    (async () => {
      const checked = await provider.check({}, ${JSON.stringify(inputs)});
      if (checked.failures.length) throw new Error(JSON.stringify(checked.failures));
      const created = await provider.create(checked.inputs);
      const read = await provider.read(created.id, created.outs);
      let diff, updated;
      const then = ${JSON.stringify(then ?? null)};
      if (then) {
        const next = await provider.check(created.outs, { ...${JSON.stringify(inputs)}, ...then });
        diff = await provider.diff(created.id, created.outs, next.inputs);
        updated = await provider.update(created.id, created.outs, next.inputs);
      }
      process.stdout.write(JSON.stringify({ created, read, diff, updated }));
    })().catch((e) => { console.error(e.stack); process.exit(1); });`;
  const { stdout } = await promisify(execFile)(process.execPath, ["-e", script], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "" },
  });
  return JSON.parse(stdout) as {
    created: { id: string; outs: Record<string, unknown> };
    read: { id?: string };
    diff?: { changes: boolean };
    updated?: { outs: Record<string, unknown> };
  };
}

describe("providers/harbor resources under Pulumi mocks", () => {
  let fake: FakeHarbor;
  let dir: string;
  before(async () => {
    fake = await new FakeHarbor().start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "harbor-provider-"));
  });
  after(async () => {
    await fake.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("registers three dynamic resources whose serialized providers work outside this process", async function () {
    this.timeout(60_000);
    const recorder = await setupMocks();
    // Load the resource modules only now that mocks are set.
    const { HarborProject } =
      require("../../../providers/harbor/project") as typeof import("../../../providers/harbor/project");
    const { HarborRobotAccount } =
      require("../../../providers/harbor/robot-account") as typeof import("../../../providers/harbor/robot-account");
    const { HarborRetentionPolicy } =
      require("../../../providers/harbor/retention-policy") as typeof import("../../../providers/harbor/retention-policy");

    const conn = { url: fake.url, username: fake.username, password: pulumi.secret(fake.password) };
    const project = new HarborProject("acme-registry", { ...conn, name: "acme", storageLimitBytes: 2 ** 30 });
    const robot = new HarborRobotAccount("acme-ci", {
      ...conn,
      project: project.name,
      name: "ci",
      permissions: ["push", "pull"],
    });
    new HarborRetentionPolicy("acme-retention", { ...conn, project: project.name, keepLastPushed: 10 });
    await recorder.settle();

    const dynamic = recorder.ofType(DYNAMIC);
    // Registration order depends on provider serialization: look resources up by name.
    assert.deepEqual(dynamic.map((res) => res.name).sort(), ["acme-ci", "acme-registry", "acme-retention"]);
    const p = recorder.get(DYNAMIC, "acme-registry");
    const r = recorder.get(DYNAMIC, "acme-ci");
    const t = recorder.get(DYNAMIC, "acme-retention");
    assert.equal(p.inputs.name, "acme");
    assert.equal(p.inputs.storageLimitBytes, 2 ** 30);
    assert.equal(p.inputs.url, fake.url);
    assert.equal(r.inputs.project, "acme");
    assert.deepEqual(r.inputs.permissions, ["push", "pull"]);
    assert.equal(t.inputs.keepLastPushed, 10);
    for (const res of dynamic) {
      assert.equal(typeof res.inputs.__provider, "string");
      assert.match(res.inputs.__provider, /exports\.handler/);
      assert.ok(!res.inputs.__provider.includes(fake.password), "no credentials in the serialized provider");
    }
    assert.equal(await pulumi.isSecret(robot.secret), true, "the robot secret is a Pulumi secret output");

    const inputsOf = (res: (typeof dynamic)[number]) => {
      const { __provider: _p, ...rest } = res.inputs;
      return { ...rest, password: fake.password };
    };
    const proj = await runSerialized(p.inputs.__provider, inputsOf(p), dir);
    assert.equal(proj.read.id, proj.created.id);
    assert.equal(fake.quotaOf(Number(proj.created.id))!.hard.storage, 2 ** 30);
    // A rotation request runs diff and update too: rotationDue and the PATCH call travel with the provider.
    const bot = await runSerialized(r.inputs.__provider, inputsOf(r), dir, {
      rotateIfIssuedBefore: new Date(Date.now() + 2000).toISOString(),
    });
    assert.equal(bot.created.outs.fullName, "robot$acme+ci");
    assert.equal(bot.diff?.changes, true);
    assert.notEqual(bot.updated?.outs.secret, bot.created.outs.secret);
    assert.equal(bot.updated?.outs.secret, fake.robots.get(Number(bot.created.id))!.secret);
    const ret = await runSerialized(t.inputs.__provider, inputsOf(t), dir);
    assert.equal(fake.projects.get(Number(proj.created.id))!.metadata.retention_id, ret.created.id);
  });
});
