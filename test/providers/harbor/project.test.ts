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
    it("fills defaults: private, quota not managed, scan on push, no forceDestroy", () => {
      const inputs = inputsFor();
      assert.equal(inputs.private, true);
      assert.equal("storageLimitBytes" in inputs, false);
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

  describe("as a project admin (a Harbor user without the system-administrator role)", () => {
    it("manages a project without touching /quotas when the quota is not managed", async () => {
      // Mirrors quotaAPI.ListQuotas/GetQuota/UpdateQuota (src/server/v2.0/handler/quota.go): all start with
      // RequireSystemAccess. The old provider read /quotas on every create, read and update: 403 here.
      const alice = fake.addUser("alice");
      const inputs = { ...inputsFor(), ...alice };
      const created = await create(inputs);
      const read = await provider.read!(created.id, created.outs);
      assert.deepEqual(read.props, created.outs);
      await provider.update!(created.id, created.outs, { ...inputs, autoScan: false });
      assert.equal(fake.projectByName("acme")!.metadata.auto_scan, "false");
      await provider.delete!(created.id, created.outs);
      assert.equal(fake.projects.size, 0);
      const quotaCalls = fake.requests.filter((r) => r.path.startsWith("/api/v2.0/quotas"));
      assert.deepEqual(quotaCalls, []);
    });

    it("refuses a managed quota with one message naming the missing right, and leaves nothing behind", async () => {
      const alice = fake.addUser("alice");
      await assert.rejects(
        provider.create({ ...inputsFor({ storageLimitBytes: 5000 }), ...alice }),
        (err: Error) => {
          assert.match(err.message, /GET \/api\/v2\.0\/quotas .* returned 403 FORBIDDEN: alice/);
          assert.match(err.message, /Harbor user "alice" may not manage the storage quota of project "acme"/);
          assert.match(err.message, /only to system administrators/);
          assert.match(err.message, /imaas:registry\.adminUser/);
          return true;
        },
      );
      assert.equal(fake.projects.size, 0, "the new project is rolled back");
    });

    it("Harbor ignores a non-admin's storage_limit and applies its default", async () => {
      // Mirrors projectAPI.CreateProject: `!a.isSysAdmin(...)` replaces StorageLimit with storage_per_project.
      fake.defaultStorageLimit = 1024;
      const alice = fake.addUser("alice");
      const res = await fetch(`${fake.url}/api/v2.0/projects`, {
        method: "POST",
        headers: {
          Authorization: `Basic ${Buffer.from(`alice:${alice.password}`).toString("base64")}`,
          "Content-Type": "application/json",
        },
        body: JSON.stringify({ project_name: "acme", storage_limit: 5000 }),
      });
      assert.equal(res.status, 201);
      assert.equal(fake.quotaOf(fake.projectByName("acme")!.project_id)!.hard.storage, 1024);
    });

    it("a project that is gone or not theirs is a 403, and the provider says both are possible", async () => {
      // Mirrors BaseAPI.RequireProjectAccess: the access check runs first, so only a system administrator
      // is told that a project does not exist (404); everyone else gets 403.
      const alice = fake.addUser("alice");
      const inputs = { ...inputsFor(), ...alice };
      const created = await create(inputs);
      assert.equal((await adminCall(fake, "DELETE", `/projects/${created.id}`)).status, 200);
      await assert.rejects(provider.read!(created.id, created.outs), (err: Error) => {
        assert.match(err.message, /returned 403 FORBIDDEN/);
        assert.match(
          err.message,
          /either it lacks the project-admin role there or the project no longer exists/,
        );
        return true;
      });
      // The administrator sees the truth, so a refresh as admin drops it.
      assert.equal((await provider.read!(created.id, { ...created.outs, ...fake.connection })).id, undefined);
    });
  });

  it("sets the quota after create when Harbor applied its default instead (limit 0 or missing)", async () => {
    // Mirrors projectAPI.CreateProject: StorageLimit nil or 0 → storage_per_project.
    fake.defaultStorageLimit = 1024;
    const created = await create(inputsFor({ storageLimitBytes: 5000 }));
    assert.equal(fake.quotaOf(Number(created.id))!.hard.storage, 5000);
    assert.equal(created.outs.storageLimitBytes, 5000);
  });

  it("says so when Harbor has per-project quotas switched off and a quota is asked for", async () => {
    // Mirrors projectAPI.CreateProject: with quota_per_project_enable off no quota is created.
    fake.quotaPerProject = false;
    await assert.rejects(
      provider.create(inputsFor({ storageLimitBytes: 5000 })),
      /Harbor has no storage quota for project "acme" \(is per-project quota disabled\?\)/,
    );
    assert.equal(fake.projects.size, 0);
    const created = await create(inputsFor());
    assert.equal(created.outs.storageLimitBytes, undefined);
  });

  it("sends metadata as strings: Harbor's ProjectMetadata model refuses anything else", async () => {
    // Mirrors api/v2.0/swagger.yaml ProjectMetadata (every property `type: string`): go-swagger refuses the body.
    const bad = await adminCall(fake, "POST", "/projects", {
      project_name: "acme",
      metadata: { public: false },
    });
    assert.equal(bad.status, 400);
    assert.match(
      await bad.text(),
      /cannot unmarshal bool into Go struct field ProjectMetadata\.metadata\.public of type string/,
    );
    await create(inputsFor({ preventVulnerable: "high" }));
    const post = fake.requests.filter((r) => r.method === "POST" && r.path === "/api/v2.0/projects").at(-1)!;
    for (const v of Object.values((post.body as { metadata: Record<string, unknown> }).metadata)) {
      assert.equal(typeof v, "string");
    }
  });

  it("Harbor drops unknown metadata keys and bounds storage_limit; check refuses the same bounds first", async () => {
    // Mirrors lib.ValidateQuotaLimit (src/lib/quota_storage_limit.go): -1 or 1..1024 TB.
    const res = await adminCall(fake, "POST", "/projects", {
      project_name: "acme",
      metadata: { public: "false", color: "blue" },
      storage_limit: 1024 * 2 ** 40 + 1,
    });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /exceeded 1024TB/);
    assert.equal(
      (await adminCall(fake, "POST", "/projects", { project_name: "acme", metadata: { color: "blue" } }))
        .status,
      201,
    );
    assert.deepEqual(fake.projectByName("acme")!.metadata, { public: "false" });
    assert.deepEqual(
      checkProject({ ...fake.connection, name: "x", storageLimitBytes: 1024 * 2 ** 40 + 1 }).failures.map(
        (f) => f.property,
      ),
      ["storageLimitBytes"],
    );
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
    // Mirrors projectAPI.UpdateProject (metadata merged into the stored map) and quotaAPI.UpdateQuota.
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
    // Mirrors projectAPI.DeleteProject (src/server/v2.0/handler/project.go): 412 while `deletable` finds repositories.
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

  it("forceDestroy pages through more than 100 repositories within Harbor's page_size cap", async () => {
    // Mirrors the swagger `pageSize` parameter (`maximum: 100`, go-swagger answers 422 above it) and
    // BaseAPI.Links / X-Total-Count on list answers.
    const over = await adminCall(fake, "GET", "/projects/acme/repositories?page_size=101");
    assert.equal(over.status, 404); // no project yet: the admin is told so
    const created = await create(inputsFor({ forceDestroy: true }));
    for (let i = 0; i < 130; i++) fake.push("acme", `svc-${i}`, "v1");
    const page = await adminCall(fake, "GET", "/projects/acme/repositories?page_size=101");
    assert.equal(page.status, 422);
    const first = await adminCall(fake, "GET", "/projects/acme/repositories?page=1&page_size=100");
    assert.equal(first.headers.get("x-total-count"), "130");
    assert.match(first.headers.get("link") ?? "", /page=2&page_size=100>; rel="next"/);
    await provider.delete!(created.id, created.outs);
    assert.equal(fake.projectByName("acme"), undefined);
    assert.equal(
      fake.requests.filter((r) => r.method === "DELETE" && r.path.includes("/repositories/")).length,
      130,
    );
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
