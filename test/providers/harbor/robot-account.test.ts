import * as assert from "node:assert/strict";
import { checkProject, harborProjectProvider } from "../../../providers/harbor/project-provider";
import {
  checkRobot,
  MAX_ROBOT_DURATION_DAYS,
  harborRobotAccountProvider as provider,
  type RobotOutputs,
  rotationDue,
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

  it("a robot asked to start disabled is disabled, though Harbor's create ignores `disable`", async () => {
    // Mirrors robotAPI.CreateRobot (src/server/v2.0/handler/robot.go): the robot model is built from name,
    // description and duration only; `disable` is never copied, so the provider must PUT after the POST.
    const created = await create(inputsFor({ disabled: true }));
    const robot = fake.robots.get(Number(created.id))!;
    assert.equal(robot.disable, true);
    assert.equal(created.outs.disabled, true);
    assert.equal(
      fake.pull(robot.name, robot.secret, "acme/orders:v1"),
      401,
      "a disabled robot cannot log in",
    );
    const calls = fake.requests.filter((r) => r.path.startsWith("/api/v2.0/robots")).map((r) => r.method);
    assert.deepEqual(calls, ["POST", "PUT", "GET"]);
  });

  it("lifetimes Harbor refuses are refused by check first (duration < 2^31-1 days)", async () => {
    // Mirrors isValidDuration: d == -1 || (d > 0 && d < math.MaxInt32).
    const failing = (duration: number) =>
      checkRobot({
        ...fake.connection,
        project: "acme",
        name: "ci",
        permissions: ["pull"],
        duration,
      }).failures.map((f) => f.property);
    assert.deepEqual(failing(MAX_ROBOT_DURATION_DAYS), []);
    assert.deepEqual(failing(2 ** 31 - 1), ["duration"]);
    const res = await adminCall(fake, "POST", "/robots", {
      name: "ci",
      level: "project",
      duration: 2 ** 31 - 1,
      permissions: [
        { kind: "project", namespace: "acme", access: [{ resource: "repository", action: "pull" }] },
      ],
    });
    assert.equal(res.status, 400);
  });

  it("grants any project-scope permission Harbor gives robots (e.g. tag:create), and only those", async () => {
    // Mirrors robotAPI.validate: each access must be in rbac.PoliciesMap[ScopeProject] (src/common/rbac/const.go),
    // and a permission's kind must be "system" or "project".
    const created = await create(inputsFor({ permissions: ["pull", "push", "tag:create"] }));
    assert.deepEqual(created.outs.permissions, ["pull", "push", "tag:create"]);
    assert.deepEqual(fake.robots.get(Number(created.id))!.permissions[0].access, [
      { resource: "repository", action: "pull" },
      { resource: "repository", action: "push" },
      { resource: "tag", action: "create" },
    ]);
    const { failures } = checkRobot({
      ...fake.connection,
      project: "acme",
      name: "x",
      permissions: ["quota:update"],
    });
    assert.match(failures[0].reason, /project-scope grant Harbor accepts for robots/);
    const perm = (kind: string, resource: string, action: string) =>
      adminCall(fake, "POST", "/robots", {
        name: `r${Math.random().toString(36).slice(2, 8)}`,
        level: "project",
        duration: -1,
        permissions: [{ kind, namespace: "acme", access: [{ resource, action }] }],
      });
    assert.equal((await perm("project", "quota", "update")).status, 400);
    const badKind = await perm("tenant", "repository", "pull");
    assert.equal(badKind.status, 400);
    assert.match(await badKind.text(), /bad request permission level: tenant/);
  });

  it("a project admin may create robots in their project only; elsewhere Harbor answers 403, not 404", async () => {
    // Mirrors robotAPI.requireAccess → RequireProjectAccess: access is checked before existence.
    const alice = fake.addUser("alice");
    await harborProjectProvider.create(checkProject({ ...alice, name: "alices" }).inputs);
    const mine = await create({ ...inputsFor({ project: "alices" }), ...alice });
    assert.equal(mine.outs.fullName, "robot$alices+ci");
    await assert.rejects(provider.create({ ...inputsFor(), ...alice }), /returned 403 FORBIDDEN/);
    await assert.rejects(
      provider.create({ ...inputsFor({ project: "nope" }), ...alice }),
      /returned 403 FORBIDDEN/,
    );
  });

  describe("secret rotation (PATCH /robots/{id} with an empty secret)", () => {
    const now = 2_000_000_000;
    it("rotationDue: by age, on request, never while held", () => {
      assert.equal(rotationDue(now - 89 * 86400, { rotationDays: 90 }, now), undefined);
      assert.match(
        rotationDue(now - 90 * 86400, { rotationDays: 90 }, now) ?? "",
        /90 days old \(rotation every 90 days\)/,
      );
      assert.equal(rotationDue(now - 900 * 86400, { rotationDays: 0 }, now), undefined);
      assert.equal(rotationDue(now - 900 * 86400, {}, now), undefined);
      const at = new Date((now - 10) * 1000).toISOString();
      assert.match(rotationDue(now - 60, { rotateIfIssuedBefore: at }, now) ?? "", /rotation requested/);
      assert.equal(
        rotationDue(now - 5, { rotateIfIssuedBefore: at }, now),
        undefined,
        "issued after the request",
      );
      assert.equal(
        rotationDue(now - 60, { rotateIfIssuedBefore: at, holdRotationUntil: now + 1 }, now),
        undefined,
      );
      assert.ok(rotationDue(now - 60, { rotateIfIssuedBefore: at, holdRotationUntil: now }, now));
    });

    it("a requested rotation shows in diff and update gives a fresh secret; the old one stops working at once", async () => {
      // Mirrors robotAPI.RefreshSec: an empty secret gets a new random one (robot.CreateSec), returned once;
      // the robot's stored secret is replaced, so the old one no longer authenticates.
      const created = await create(inputsFor());
      const old = created.outs.secret;
      fake.push("acme", "orders", "v1");
      assert.equal(fake.pull("robot$acme+ci", old, "acme/orders:v1"), 200);
      const request = new Date(Date.now() + 1000).toISOString();
      const news = inputsFor({ rotateIfIssuedBefore: request });
      const diff = await provider.diff!(created.id, created.outs, news);
      assert.equal(diff.changes, true);
      assert.deepEqual(diff.replaces, []);
      const { outs } = (await provider.update!(created.id, created.outs, news)) as { outs: RobotOutputs };
      assert.notEqual(outs.secret, old);
      assert.equal(outs.secret, fake.robots.get(Number(created.id))!.secret);
      assert.ok(outs.secretIssuedAt >= created.outs.secretIssuedAt);
      assert.equal(outs.expiresAt, created.outs.expiresAt, "rotation does not move the expiry");
      assert.equal(fake.pull("robot$acme+ci", old, "acme/orders:v1"), 401);
      assert.equal(fake.pull("robot$acme+ci", outs.secret, "acme/orders:v1"), 200);
      const patch = fake.requests.find((r) => r.method === "PATCH")!;
      assert.deepEqual(patch.body, { secret: "" });
      // Done: the same request does not rotate again.
      const after = { ...outs, secretIssuedAt: Math.floor(Date.parse(request) / 1000) + 1 };
      assert.equal((await provider.diff!(created.id, after, news)).changes, false);
    });

    it("rotates by age; a secret issued recently, or held, is left alone", async () => {
      const created = await create(inputsFor({ rotationDays: 30 }));
      const fresh = await provider.diff!(created.id, created.outs, inputsFor({ rotationDays: 30 }));
      assert.equal(fresh.changes, false);
      const aged = { ...created.outs, secretIssuedAt: created.outs.secretIssuedAt - 31 * 86400 };
      assert.equal((await provider.diff!(created.id, aged, inputsFor({ rotationDays: 30 }))).changes, true);
      const held = inputsFor({ rotationDays: 30, holdRotationUntil: Math.floor(Date.now() / 1000) + 60 });
      assert.equal((await provider.diff!(created.id, aged, held)).changes, false);
      const kept = (await provider.update!(created.id, aged, held)).outs as RobotOutputs;
      assert.equal(kept.secret, created.outs.secret);
      const rotated = (await provider.update!(created.id, aged, inputsFor({ rotationDays: 30 })))
        .outs as RobotOutputs;
      assert.notEqual(rotated.secret, created.outs.secret);
    });

    it("state written before rotation existed dates the secret from Harbor's creation_time", async () => {
      const created = await create(inputsFor());
      const { secretIssuedAt: _dropped, ...legacy } = created.outs;
      const read = (await provider.read!(created.id, legacy as RobotOutputs)).props as RobotOutputs;
      const robot = fake.robots.get(Number(created.id))!;
      assert.equal(read.secretIssuedAt, Math.floor(Date.parse(robot.creation_time) / 1000));
      // Without a refresh first: the first update only records the issue time (the pull secret gains its
      // second robot in that same run, so nothing rotates yet); the next run rotates.
      const request = new Date(Date.now() + 1000).toISOString();
      const news = inputsFor({ rotateIfIssuedBefore: request });
      assert.equal((await provider.diff!(created.id, legacy as RobotOutputs, news)).changes, true);
      const migrated = (await provider.update!(created.id, legacy as RobotOutputs, news))
        .outs as RobotOutputs;
      assert.equal(migrated.secret, created.outs.secret);
      assert.equal(migrated.secretIssuedAt, read.secretIssuedAt);
      assert.equal((await provider.diff!(created.id, migrated, news)).changes, true);
      const rotated = (await provider.update!(created.id, migrated, news)).outs as RobotOutputs;
      assert.notEqual(rotated.secret, created.outs.secret);
    });

    it("check refuses a malformed request instant and a negative period", () => {
      const { failures } = checkRobot({
        ...fake.connection,
        project: "acme",
        name: "ci",
        permissions: ["pull"],
        rotationDays: -1,
        rotateIfIssuedBefore: "yesterday",
      });
      assert.deepEqual(
        failures.map((f) => f.property),
        ["rotationDays", "rotateIfIssuedBefore"],
      );
    });
  });

  it("a robot in a missing project fails with 404", async () => {
    await assert.rejects(
      provider.create(inputsFor({ project: "nope" })),
      /404 NOT_FOUND: project nope not found/,
    );
  });

  it("detects drift (disabled, permissions cut on the server) and update restores it", async () => {
    // Mirrors robotAPI.updateV2Robot (src/server/v2.0/handler/robot.go): name, level and project must stay.
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
