import * as assert from "node:assert/strict";
import {
  checkProject,
  harborProjectProvider as provider,
  type ProjectOutputs,
} from "../../../providers/harbor/project-provider";
import { adminCall, FakeHarbor } from "./fake-harbor";

describe("providers/harbor HarborProject provider", () => {
  let fake: FakeHarbor;
  beforeEach(async () => {
    fake = await new FakeHarbor().start();
  });
  afterEach(async () => {
    await fake.stop();
  });

  const create = async (inputs: ReturnType<typeof inputsFor>) => {
    const res = await provider.create(inputs);
    return { id: res.id, outs: res.outs as ProjectOutputs };
  };

  const inputsFor = (extra: Record<string, unknown> = {}) => {
    const { inputs, failures } = checkProject({ ...fake.connection, name: "acme", ...extra });
    assert.deepEqual(failures, []);
    return inputs;
  };

  describe("check", () => {
    it("fills defaults: private, unlimited storage, scan on push, no forceDestroy", () => {
      const inputs = inputsFor();
      assert.equal(inputs.private, true);
      assert.equal(inputs.storageLimitBytes, -1);
      assert.equal(inputs.autoScan, true);
      assert.equal(inputs.forceDestroy, false);
      assert.equal("preventVulnerable" in inputs, false);
    });

    it("reports every bad input by property", () => {
      const { failures } = checkProject({
        url: "https://admin:pw@harbor.example.com",
        username: "admin",
        password: "",
        name: "Acme!",
        storageLimitBytes: 0,
        preventVulnerable: "severe",
      });
      assert.deepEqual(
        failures.map((f) => f.property),
        ["url", "password", "name", "storageLimitBytes", "preventVulnerable"],
      );
      assert.match(failures[0].reason, /must not carry credentials/);
    });

    it("bounds the quota as Harbor does: -1 or 1 byte to 1024 TiB", () => {
      const failing = (storageLimitBytes: number) =>
        checkProject({ ...fake.connection, name: "acme", storageLimitBytes }).failures.map((f) => f.property);
      assert.deepEqual(failing(-1), []);
      assert.deepEqual(failing(1024 * 2 ** 40), []);
      assert.deepEqual(failing(1024 * 2 ** 40 + 1), ["storageLimitBytes"]);
      assert.deepEqual(failing(-2), ["storageLimitBytes"]);
      assert.deepEqual(failing(1.5), ["storageLimitBytes"]);
    });

    it("normalizes the url and skips values unknown during preview", () => {
      const { inputs, failures } = checkProject({
        url: "https://harbor.example.com/api/v2.0/",
        username: "admin",
        password: "pw",
        name: "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
      });
      assert.deepEqual(failures, []);
      assert.equal(inputs.url, "https://harbor.example.com");
    });
  });

  it("create then read gives the same state", async () => {
    const inputs = inputsFor({ storageLimitBytes: 10 * 1024 ** 3, preventVulnerable: "high" });
    const created = await create(inputs);
    const project = fake.projectByName("acme")!;
    assert.equal(created.id, String(project.project_id));
    assert.deepEqual(project.metadata, {
      public: "false",
      auto_scan: "true",
      prevent_vul: "true",
      severity: "high",
    });
    assert.equal(fake.quotaOf(project.project_id)!.hard.storage, 10 * 1024 ** 3);

    const read = await provider.read!(created.id, created.outs);
    assert.equal(read.id, created.id);
    assert.deepEqual(read.props, created.outs);
    const diff = await provider.diff!(created.id, read.props as ProjectOutputs, inputs);
    assert.equal(diff.changes, false);
  });

  it("sets the quota after create when Harbor ignored storage_limit", async () => {
    fake.ignoreStorageLimit = true; // as Harbor does for non-admins or a 0 limit: the system default
    const created = await create(inputsFor({ storageLimitBytes: 5000 }));
    assert.equal(fake.quotaOf(Number(created.id))!.hard.storage, 5000);
    assert.equal((created.outs as ProjectOutputs).storageLimitBytes, 5000);
  });

  it("fails with Harbor's message when the project already exists (409)", async () => {
    await create(inputsFor());
    await assert.rejects(provider.create(inputsFor()), (err: Error) => {
      assert.match(err.message, /Harbor call "create project "acme"" failed: POST \/api\/v2\.0\/projects/);
      assert.match(err.message, /409 CONFLICT: The project named acme already exists/);
      assert.match(err.message, /import it, e\.g\. with the resource option import: "\d+"/);
      return true;
    });
  });

  it("detects drift made on the server (made public, quota changed) and update repairs it", async () => {
    const inputs = inputsFor({ storageLimitBytes: 1000 });
    const created = await create(inputs);
    const project = fake.projectByName("acme")!;
    const quota = fake.quotaOf(project.project_id)!;
    assert.equal(
      (await adminCall(fake, "PUT", `/projects/${project.project_id}`, { metadata: { public: "true" } }))
        .status,
      200,
    );
    assert.equal(
      (await adminCall(fake, "PUT", `/quotas/${quota.id}`, { hard: { storage: 2000 } })).status,
      200,
    );

    const read = await provider.read!(created.id, created.outs);
    const state = read.props as ProjectOutputs;
    assert.equal(state.private, false);
    assert.equal(state.storageLimitBytes, 2000);
    const diff = await provider.diff!(created.id, state, inputs);
    assert.equal(diff.changes, true);
    assert.deepEqual(diff.replaces, []);

    const updated = await provider.update!(created.id, state, inputs);
    assert.deepEqual(updated.outs, created.outs);
    assert.equal(project.metadata.public, "false");
    assert.equal(quota.hard.storage, 1000);
  });

  it("diff: a new name or Harbor replaces; visibility, quota, scanning, credentials update", async () => {
    const inputs = inputsFor();
    const created = await create(inputs);
    const olds = created.outs;
    const d = (news: Record<string, unknown>) => provider.diff!(created.id, olds, { ...inputs, ...news });
    assert.deepEqual((await d({ name: "acme2" })).replaces, ["name"]);
    assert.deepEqual((await d({ url: "https://other.example.com" })).replaces, ["url"]);
    for (const change of [
      { private: false },
      { storageLimitBytes: 42 },
      { autoScan: false },
      { preventVulnerable: "critical" },
      { forceDestroy: true },
      { password: "rotated" },
    ]) {
      const diff = await d(change);
      assert.equal(diff.changes, true, JSON.stringify(change));
      assert.deepEqual(diff.replaces, [], JSON.stringify(change));
    }
    assert.equal((await d({ name: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" })).replaces?.[0], "name");
  });

  it("update turns vulnerability blocking off again", async () => {
    const created = await create(inputsFor({ preventVulnerable: "medium" }));
    const { outs } = await provider.update!(created.id, created.outs, inputsFor());
    assert.equal(fake.projectByName("acme")!.metadata.prevent_vul, "false");
    assert.equal((outs as ProjectOutputs).preventVulnerable, undefined);
  });

  it("read reports a project deleted outside Pulumi as gone, and delete tolerates it", async () => {
    const created = await create(inputsFor());
    assert.equal((await adminCall(fake, "DELETE", `/projects/${created.id}`)).status, 200);
    const read = await provider.read!(created.id, created.outs);
    assert.equal(read.id, undefined);
    await provider.delete!(created.id, created.outs);
  });

  it("refuses to delete a project that still holds images unless forceDestroy", async () => {
    const created = await create(inputsFor());
    fake.push("acme", "orders-api");
    fake.push("acme", "team/billing");
    await assert.rejects(provider.delete!(created.id, created.outs), (err: Error) => {
      assert.match(err.message, /Refusing to delete Harbor project "acme": it still holds 2 repositories/);
      assert.match(err.message, /acme\/orders-api, acme\/team\/billing/);
      assert.match(err.message, /forceDestroy: true/);
      return true;
    });
    assert.ok(fake.projectByName("acme"), "project must still exist");
    assert.equal(fake.repositories.get(Number(created.id))!.size, 2);

    await provider.delete!(created.id, { ...created.outs, forceDestroy: true });
    assert.equal(fake.projectByName("acme"), undefined);
    const deleted = fake.requests.filter((r) => r.method === "DELETE").map((r) => r.path);
    assert.deepEqual(deleted, [
      "/api/v2.0/projects/acme/repositories/orders-api",
      "/api/v2.0/projects/acme/repositories/team%252Fbilling",
      `/api/v2.0/projects/${created.id}`,
    ]);
  });

  it("deletes an empty project", async () => {
    const created = await create(inputsFor());
    await provider.delete!(created.id, created.outs);
    assert.equal(fake.projects.size, 0);
    assert.equal(fake.quotas.size, 0);
  });

  it("retries a 500 and then succeeds", async () => {
    const created = await create(inputsFor());
    fake.inject("GET", `/api/v2.0/projects/${created.id}`, 500);
    const read = await provider.read!(created.id, created.outs);
    assert.deepEqual(read.props, created.outs);
    assert.equal(fake.requests.filter((r) => r.path === `/api/v2.0/projects/${created.id}`).length, 2);
  });

  it("fails on bad credentials with the call, status and Harbor's message, never the password", async () => {
    const password = "wrong-Pa55word";
    const inputs = { ...inputsFor(), password };
    await assert.rejects(provider.create(inputs), (err: Error) => {
      assert.match(err.message, /Harbor call "create project "acme"" failed/);
      assert.match(err.message, /401 UNAUTHORIZED: unauthorized/);
      assert.ok(!err.message.includes(password));
      assert.ok(!err.message.includes(fake.password));
      assert.ok(!(err.stack ?? "").includes(password));
      return true;
    });
  });
});
