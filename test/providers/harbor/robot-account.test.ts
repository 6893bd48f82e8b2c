import * as assert from "node:assert/strict";
import { checkProject, harborProjectProvider } from "../../../providers/harbor/project-provider";
import {
  checkRobot,
  harborRobotAccountProvider as provider,
  type RobotOutputs,
} from "../../../providers/harbor/robot-account-provider";
import { adminCall, FakeHarbor } from "./fake-harbor";

describe("providers/harbor HarborRobotAccount provider", () => {
  let fake: FakeHarbor;
  beforeEach(async () => {
    fake = await new FakeHarbor().start();
    await harborProjectProvider.create(checkProject({ ...fake.connection, name: "acme" }).inputs);
  });
  afterEach(async () => {
    await fake.stop();
  });

  const inputsFor = (extra: Record<string, unknown> = {}) => {
    const { inputs, failures } = checkRobot({
      ...fake.connection,
      project: "acme",
      name: "ci",
      description: "CI pushes images",
      permissions: ["push", "pull"],
      ...extra,
    });
    assert.deepEqual(failures, []);
    return inputs;
  };
  const create = async (inputs: ReturnType<typeof inputsFor>) => {
    const res = await provider.create(inputs);
    return { id: res.id, outs: res.outs as RobotOutputs };
  };

  it("check sorts permissions, fills defaults and reports bad input", () => {
    const inputs = inputsFor({ permissions: ["push", "pull", "push"], description: undefined });
    assert.deepEqual(inputs.permissions, ["pull", "push"]);
    assert.equal(inputs.duration, -1);
    assert.equal(inputs.disabled, false);
    assert.equal(inputs.description, "");
    const { failures } = checkRobot({
      ...fake.connection,
      project: "acme",
      name: "CI bot",
      permissions: ["pull", "delete"],
      duration: 0,
    });
    assert.deepEqual(
      failures.map((f) => f.property),
      ["name", "permissions", "duration"],
    );
  });

  it("create returns Harbor's full name and the secret; read keeps the secret and equals create", async () => {
    const created = await create(inputsFor());
    const robot = fake.robots.get(Number(created.id))!;
    assert.equal(created.outs.fullName, "robot$acme+ci");
    assert.equal(created.outs.secret, robot.secret);
    assert.equal(created.outs.expiresAt, -1);
    assert.deepEqual(robot.permissions, [
      {
        kind: "project",
        namespace: "acme",
        access: [
          { resource: "repository", action: "pull" },
          { resource: "repository", action: "push" },
        ],
      },
    ]);
    const post = fake.requests.find((r) => r.method === "POST" && r.path === "/api/v2.0/robots")!;
    assert.equal((post.body as { level: string }).level, "project");
    assert.equal((post.body as { duration: number }).duration, -1);

    const read = await provider.read!(created.id, created.outs);
    assert.deepEqual(read.props, created.outs);
    assert.equal((await provider.diff!(created.id, read.props as RobotOutputs, inputsFor())).changes, false);
  });

  it("a pull-only robot for the cluster", async () => {
    const created = await create(inputsFor({ name: "cluster", permissions: ["pull"], duration: 90 }));
    assert.equal(created.outs.fullName, "robot$acme+cluster");
    assert.deepEqual(created.outs.permissions, ["pull"]);
    assert.ok(created.outs.expiresAt > Date.now() / 1000 + 89 * 86400);
  });

  it("a duplicate robot fails with 409 and Harbor's message", async () => {
    await create(inputsFor());
    await assert.rejects(
      provider.create(inputsFor()),
      /create robot account "ci" in project "acme".*409 CONFLICT: robot account robot\$acme\+ci already exists/,
    );
  });

  it("a robot in a missing project fails with 404", async () => {
    await assert.rejects(
      provider.create(inputsFor({ project: "nope" })),
      /404 NOT_FOUND: project nope not found/,
    );
  });

  it("detects drift (disabled, permissions cut on the server) and update restores it", async () => {
    const inputs = inputsFor();
    const created = await create(inputs);
    const robot = fake.robots.get(Number(created.id))!;
    const res = await adminCall(fake, "PUT", `/robots/${created.id}`, {
      id: robot.id,
      name: robot.name,
      level: "project",
      duration: -1,
      description: robot.description,
      disable: true,
      permissions: [
        { kind: "project", namespace: "acme", access: [{ resource: "repository", action: "pull" }] },
      ],
    });
    assert.equal(res.status, 200);

    const state = (await provider.read!(created.id, created.outs)).props as RobotOutputs;
    assert.equal(state.disabled, true);
    assert.deepEqual(state.permissions, ["pull"]);
    assert.equal(state.secret, created.outs.secret);
    const diff = await provider.diff!(created.id, state, inputs);
    assert.equal(diff.changes, true);
    assert.deepEqual(diff.replaces, []);

    const updated = await provider.update!(created.id, state, inputs);
    assert.deepEqual(updated.outs, created.outs);
    assert.equal(robot.disable, false);
    assert.equal(robot.permissions[0].access.length, 2);
  });

  it("update changes description and lifetime in place", async () => {
    const created = await create(inputsFor());
    const { outs } = await provider.update!(
      created.id,
      created.outs,
      inputsFor({ description: "new", duration: 30 }),
    );
    const robot = fake.robots.get(Number(created.id))!;
    assert.equal(robot.description, "new");
    assert.equal(robot.duration, 30);
    assert.equal((outs as RobotOutputs).secret, created.outs.secret);
    assert.ok((outs as RobotOutputs).expiresAt > 0);
  });

  it("diff: project or name replaces; description, permissions, duration, disabled update", async () => {
    const inputs = inputsFor();
    const created = await create(inputs);
    const d = (news: Record<string, unknown>) =>
      provider.diff!(created.id, created.outs, { ...inputs, ...news });
    assert.deepEqual((await d({ name: "ci2" })).replaces, ["name"]);
    assert.deepEqual((await d({ project: "other" })).replaces, ["project"]);
    for (const change of [
      { description: "x" },
      { permissions: ["pull"] },
      { duration: 7 },
      { disabled: true },
    ]) {
      const diff = await d(change);
      assert.equal(diff.changes, true, JSON.stringify(change));
      assert.deepEqual(diff.replaces, [], JSON.stringify(change));
    }
  });

  it("read reports a robot deleted outside Pulumi as gone; delete tolerates it", async () => {
    const created = await create(inputsFor());
    assert.equal((await adminCall(fake, "DELETE", `/robots/${created.id}`)).status, 200);
    assert.equal((await provider.read!(created.id, created.outs)).id, undefined);
    await provider.delete!(created.id, created.outs);
  });

  it("delete removes the robot", async () => {
    const created = await create(inputsFor());
    await provider.delete!(created.id, created.outs);
    assert.equal(fake.robots.size, 0);
  });
});
