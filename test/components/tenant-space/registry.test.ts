// The tenant registry: pure payload and rule builders, the wiring under Pulumi mocks, and a rotation run
// end to end against the fake Harbor, with the kubelet's pull behaviour, to show the pods never lose pulls.
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import {
  dockerConfigPayload,
  retentionRules,
  rotationInputs,
} from "../../../components/tenant-space/registry";
import {
  checkRobot,
  harborRobotAccountProvider as robots,
  type RobotInputs,
  type RobotOutputs,
  ROTATION_GAP_SECONDS,
} from "../../../providers/harbor/robot-account-provider";
import { checkProject, harborProjectProvider } from "../../../providers/harbor/project-provider";
import { testConfig, testContext } from "../../support/mocks";
import { exampleTenant } from "../../support/tenants";
import { FakeHarbor } from "../../providers/harbor/fake-harbor";

const HOST = "registry.imaas.test";

/**
 * What the kubelet does with a pod's pull secret: every `auths` key that matches the image, most
 * specific first (keyring.go sorts its index in reverse), each tried in turn until one pull works
 * (kuberuntime_image.go PullImage). Returns the HTTP status of the last try, 200 on success.
 */
function kubeletPull(fake: FakeHarbor, dockerconfigjson: string, image: string): number {
  const { auths } = JSON.parse(dockerconfigjson) as {
    auths: Record<string, { username: string; password: string }>;
  };
  const ref = `${HOST}/${image}`;
  const matching = Object.keys(auths)
    .filter((k) => ref.startsWith(`${k}/`))
    .sort()
    .reverse();
  let status = 401;
  for (const key of matching) {
    status = fake.pull(auths[key].username, auths[key].password, image);
    if (status === 200) return 200;
  }
  return status;
}

describe("tenant registry (components/tenant-space/registry.ts)", () => {
  it("the pull secret holds both pull robots under two keys the kubelet both matches, project key first", () => {
    const text = dockerConfigPayload(HOST, "payroll", [
      ["robot$payroll+pull", "a-S3cret"],
      ["robot$payroll+pull-b", "b-S3cret"],
    ]);
    assert.deepEqual(JSON.parse(text), {
      auths: {
        "registry.imaas.test/payroll": {
          username: "robot$payroll+pull",
          password: "a-S3cret",
          auth: Buffer.from("robot$payroll+pull:a-S3cret").toString("base64"),
        },
        "registry.imaas.test": {
          username: "robot$payroll+pull-b",
          password: "b-S3cret",
          auth: Buffer.from("robot$payroll+pull-b:b-S3cret").toString("base64"),
        },
      },
    });
  });

  it("retention keeps the last N pushed, everything promoted to prod, and the last images promoted to test", () => {
    const cfg = testConfig({ registry: { host: HOST, keepArtifacts: 7, keepTestPromotions: 4 } }).registry;
    assert.deepEqual(retentionRules(cfg), {
      keepLastPushed: 7,
      keepTagsMatching: "prod-*",
      keepLatestMatching: [{ pattern: "test-*", count: 4 }],
    });
  });

  it("rotation inputs come from the platform config: the period, and the tenant's on-demand request only", () => {
    const cfg = testConfig({
      registry: {
        host: HOST,
        robotRotationDays: 30,
        rotateRobotsIssuedBefore: { payroll: "2026-12-01T03:00:00Z" },
      },
    }).registry;
    assert.deepEqual(rotationInputs(cfg, "payroll"), {
      rotationDays: 30,
      rotateIfIssuedBefore: "2026-12-01T03:00:00Z",
    });
    assert.deepEqual(rotationInputs(cfg, "billing"), { rotationDays: 30 });
    const never = testConfig({ registry: { host: HOST, robotRotationDays: 0 } }).registry;
    assert.deepEqual(rotationInputs(never, "payroll"), {});
    assert.equal(testConfig().registry.robotRotationDays, 90, "the default period");
    assert.throws(
      () => testConfig({ registry: { host: HOST, rotateRobotsIssuedBefore: { payroll: "yesterday" } } }),
      /rotateRobotsIssuedBefore/,
    );
  });

  it("under mocks: CI robot may tag, two pull robots, slot b held until two minutes after slot a's secret", async () => {
    const recorded: { type: string; name: string; inputs: Record<string, any> }[] = [];
    await pulumi.runtime.setMocks(
      {
        newResource(args) {
          recorded.push({ type: args.type, name: args.name, inputs: args.inputs });
          // A robot's provider sets when its secret was issued; give every robot one.
          const state = args.name.includes("-robot-")
            ? { ...args.inputs, secretIssuedAt: 1_000 }
            : args.inputs;
          return { id: `${args.name}-id`, state };
        },
        call(args) {
          throw new Error(`unmocked provider function ${args.token}`);
        },
      },
      "imaas",
      "dev",
      false,
    );
    const { createRegistry } =
      require("../../../components/tenant-space/registry") as typeof import("../../../components/tenant-space/registry");
    const cfg = testConfig({
      registry: { host: HOST, rotateRobotsIssuedBefore: { payroll: "2026-12-01T03:00:00Z" } },
    });
    const parent = new pulumi.ComponentResource("test:index:Parent", "parent");
    createRegistry(
      "payroll",
      exampleTenant("payroll", cfg),
      { ...testContext(cfg), planOnly: false },
      parent,
    );
    await new Promise((r) => setTimeout(r, 200));
    const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as {
      waitForRPCs: () => Promise<void>;
    };
    await waitForRPCs();
    const get = (name: string) => {
      const found = recorded.find((r) => r.name === name);
      assert.ok(found, `${name} recorded; have ${recorded.map((r) => r.name).join(", ")}`);
      return found.inputs;
    };
    assert.deepEqual(get("payroll-robot-ci").permissions, ["push", "pull", "tag:create"]);
    for (const robot of ["payroll-robot-ci", "payroll-robot-pull", "payroll-robot-pull-b"]) {
      assert.equal(get(robot).rotationDays, 90, robot);
      assert.equal(get(robot).rotateIfIssuedBefore, "2026-12-01T03:00:00Z", robot);
    }
    assert.equal(get("payroll-robot-pull").holdRotationUntil, undefined);
    assert.equal(get("payroll-robot-pull-b").holdRotationUntil, 1_000 + ROTATION_GAP_SECONDS);
    assert.equal(get("payroll-robot-pull-b").name, "pull-b");
    const retention = get("payroll-registry-retention");
    assert.equal(retention.keepTagsMatching, "prod-*");
    assert.deepEqual(retention.keepLatestMatching, [{ pattern: "test-*", count: 10 }]);
  });

  describe("an on-demand rotation against the fake Harbor, run the way `pulumi up` orders it", () => {
    let fake: FakeHarbor;
    let realNow: () => number;
    beforeEach(async () => {
      fake = await new FakeHarbor().start();
      realNow = Date.now;
      await harborProjectProvider.create(checkProject({ ...fake.connection, name: "payroll" }).inputs);
      fake.push("payroll", "orders", "abc123");
    });
    afterEach(async () => {
      Date.now = realNow;
      await fake.stop();
    });

    const robotInputs = (name: string, extra: Record<string, unknown>): RobotInputs => {
      const { inputs, failures } = checkRobot({
        ...fake.connection,
        project: "payroll",
        name,
        permissions: name === "ci" ? ["push", "pull", "tag:create"] : ["pull"],
        rotationDays: 90,
        ...extra,
      });
      assert.deepEqual(failures, []);
      return inputs;
    };
    /** One robot's step in an up: diff, and update when it says so. */
    const step = async (id: string, state: RobotOutputs, inputs: RobotInputs): Promise<RobotOutputs> => {
      const diff = await robots.diff!(id, state, inputs);
      if (!diff.changes)
        return { ...state, ...inputs, secret: state.secret, secretIssuedAt: state.secretIssuedAt };
      return (await robots.update!(id, state, inputs)).outs as RobotOutputs;
    };
    const payload = (a: RobotOutputs, b: RobotOutputs) =>
      dockerConfigPayload(HOST, "payroll", [
        [a.fullName, a.secret],
        [b.fullName, b.secret],
      ]);

    it("the pods can pull at every moment; CI gets its new secret in the same run; both slots end rotated", async () => {
      const created: Record<string, { id: string; outs: RobotOutputs }> = {};
      for (const name of ["ci", "pull", "pull-b"]) {
        const res = await robots.create(robotInputs(name, {}));
        created[name] = { id: res.id, outs: res.outs as RobotOutputs };
      }
      let ci = created.ci.outs;
      let a = created.pull.outs;
      let b = created["pull-b"].outs;
      let clusterSecret = payload(a, b); // the pull secret as the kubelet reads it
      const pulls = () => kubeletPull(fake, clusterSecret, "payroll/orders:abc123");
      assert.equal(pulls(), 200);

      // `imaas rotate payroll` asks for every secret issued before now.
      const request = new Date(realNow() + 1000).toISOString();
      const t0 = realNow() + 2000;
      Date.now = () => t0;
      const oldCi = ci.secret;
      const oldA = a.secret;
      const oldB = b.secret;

      // Run 1. Slot a rotates first; before the Secret is updated the kubelet still pulls with slot b.
      a = await step(created.pull.id, a, robotInputs("pull", { rotateIfIssuedBefore: request }));
      assert.notEqual(a.secret, oldA);
      assert.equal(
        pulls(),
        200,
        "slot b carries the pulls while slot a's new secret is not yet in the cluster",
      );
      ci = await step(created.ci.id, ci, robotInputs("ci", { rotateIfIssuedBefore: request }));
      assert.notEqual(
        ci.secret,
        oldCi,
        "the CI secret rotates in the same run (GitHub/Jenkins secrets follow)",
      );
      assert.equal(fake.pull(ci.fullName, oldCi, "payroll/orders:abc123"), 401);
      assert.equal(fake.pull(ci.fullName, ci.secret, "payroll/orders:abc123"), 200);
      // Slot b is held: slot a's secret is seconds old.
      const holdB = a.secretIssuedAt + ROTATION_GAP_SECONDS;
      b = await step(
        created["pull-b"].id,
        b,
        robotInputs("pull-b", { rotateIfIssuedBefore: request, holdRotationUntil: holdB }),
      );
      assert.equal(b.secret, oldB, "slot b waits for the next run");
      clusterSecret = payload(a, b);
      assert.equal(pulls(), 200);

      // Run 2, two minutes later: slot b rotates; the kubelet pulls with slot a's new secret meanwhile.
      Date.now = () => t0 + (ROTATION_GAP_SECONDS + 1) * 1000;
      a = await step(created.pull.id, a, robotInputs("pull", { rotateIfIssuedBefore: request }));
      assert.notEqual(a.secret, oldA);
      const aSecret = a.secret;
      b = await step(
        created["pull-b"].id,
        b,
        robotInputs("pull-b", { rotateIfIssuedBefore: request, holdRotationUntil: holdB }),
      );
      assert.equal(a.secret, aSecret, "slot a is not rotated twice");
      assert.notEqual(b.secret, oldB);
      assert.equal(
        pulls(),
        200,
        "slot a carries the pulls while slot b's new secret is not yet in the cluster",
      );
      clusterSecret = payload(a, b);
      assert.equal(pulls(), 200);
      for (const [user, secret] of [
        [a.fullName, oldA],
        [b.fullName, oldB],
      ]) {
        assert.equal(
          fake.pull(user, secret, "payroll/orders:abc123"),
          401,
          `${user}'s old secret is revoked`,
        );
      }
      assert.equal(fake.requests.filter((r) => r.method === "PATCH").length, 3);

      // Run 3: nothing left to rotate.
      const before = fake.requests.length;
      for (const [name, state] of [
        ["ci", ci],
        ["pull", a],
        ["pull-b", b],
      ] as const) {
        assert.equal(
          (await robots.diff!(created[name].id, state, robotInputs(name, { rotateIfIssuedBefore: request })))
            .changes,
          false,
        );
      }
      assert.equal(fake.requests.length, before);
    });

    it("control: rotating both slots before the Secret is updated leaves the pods without a working credential", async () => {
      const a = (await robots.create(robotInputs("pull", {}))).outs as RobotOutputs;
      const b = (await robots.create(robotInputs("pull-b", {}))).outs as RobotOutputs;
      const clusterSecret = payload(a, b);
      for (const r of [a, b]) {
        assert.equal(
          (
            await fetch(`${fake.url}/api/v2.0/robots/${r.robotId}`, {
              method: "PATCH",
              headers: {
                Authorization: `Basic ${Buffer.from(`${fake.username}:${fake.password}`).toString("base64")}`,
                "Content-Type": "application/json",
              },
              body: JSON.stringify({ secret: "" }),
            })
          ).status,
          200,
        );
      }
      assert.equal(kubeletPull(fake, clusterSecret, "payroll/orders:abc123"), 401);
    });
  });
});
