import * as assert from "node:assert/strict";
import { checkProject, harborProjectProvider } from "../../../providers/harbor/project-provider";
import {
  checkRetention,
  cronError,
  DAILY,
  harborRetentionPolicyProvider as provider,
  type RetentionOutputs,
  retentionPolicy,
} from "../../../providers/harbor/retention-policy-provider";
import { adminCall, FakeHarbor } from "./fake-harbor";

describe("providers/harbor HarborRetentionPolicy provider", () => {
  let fake: FakeHarbor;
  let projectId: number;
  beforeEach(async () => {
    fake = await new FakeHarbor().start();
    const created = await harborProjectProvider.create(
      checkProject({ ...fake.connection, name: "acme" }).inputs,
    );
    projectId = Number(created.id);
  });
  afterEach(async () => {
    await fake.stop();
  });

  const inputsFor = (extra: Record<string, unknown> = {}) => {
    const { inputs, failures } = checkRetention({
      ...fake.connection,
      project: "acme",
      keepLastPushed: 10,
      ...extra,
    });
    assert.deepEqual(failures, []);
    return inputs;
  };
  const create = async (inputs: ReturnType<typeof inputsFor>) => {
    const res = await provider.create(inputs);
    return { id: res.id, outs: res.outs as RetentionOutputs };
  };

  it("check defaults the schedule to daily and refuses keeping nothing or a 5-field cron", () => {
    assert.equal(inputsFor().schedule, DAILY);
    const { failures } = checkRetention({
      ...fake.connection,
      project: "acme",
      keepLastPushed: 0,
      schedule: "0 0 * * *",
      keepTagsMatching: "",
    });
    assert.deepEqual(
      failures.map((f) => f.property),
      ["keepLastPushed", "keepTagsMatching", "schedule"],
    );
  });

  it("creates Harbor's policy document: latestPushedK per repository, always-keep pattern, daily schedule", async () => {
    const created = await create(inputsFor({ keepTagsMatching: "v*" }));
    const policy = fake.retentions.get(Number(created.id))!;
    assert.equal(fake.projects.get(projectId)!.metadata.retention_id, created.id);
    assert.equal(policy.algorithm, "or");
    assert.deepEqual(policy.scope, { level: "project", ref: projectId });
    assert.deepEqual(policy.trigger.settings, { cron: "0 0 0 * * *" });
    assert.deepEqual(policy.rules[0], {
      disabled: false,
      action: "retain",
      template: "latestPushedK",
      params: { latestPushedK: 10 },
      tag_selectors: [
        { kind: "doublestar", decoration: "matches", pattern: "**", extras: '{"untagged":true}' },
      ],
      scope_selectors: { repository: [{ kind: "doublestar", decoration: "repoMatches", pattern: "**" }] },
    });
    assert.equal(policy.rules[1].template, "always");
    assert.equal((policy.rules[1].tag_selectors as { pattern: string }[])[0].pattern, "v*");
  });

  it("create then read gives the same state, and diff sees no change", async () => {
    const inputs = inputsFor({ keepTagsMatching: "release-*" });
    const created = await create(inputs);
    const read = await provider.read!(created.id, created.outs);
    assert.deepEqual(read.props, created.outs);
    assert.equal((await provider.diff!(created.id, read.props as RetentionOutputs, inputs)).changes, false);
  });

  it("detects a policy edited on the server (count changed, rule added) and update restores it", async () => {
    const inputs = inputsFor();
    const created = await create(inputs);
    const edited = structuredClone(fake.retentions.get(Number(created.id))!);
    (edited.rules[0].params as Record<string, number>).latestPushedK = 3;
    edited.rules.push({
      ...edited.rules[0],
      template: "nDaysSinceLastPull",
      params: { nDaysSinceLastPull: 7 },
    });
    assert.equal((await adminCall(fake, "PUT", `/retentions/${created.id}`, edited)).status, 200);

    const state = (await provider.read!(created.id, created.outs)).props as RetentionOutputs;
    assert.equal(state.keepLastPushed, 3);
    assert.deepEqual(state.ruleTemplates, ["latestPushedK", "nDaysSinceLastPull"]);
    assert.equal((await provider.diff!(created.id, state, inputs)).changes, true);
    // A changed rule set alone is drift too.
    assert.equal((await provider.diff!(created.id, { ...state, keepLastPushed: 10 }, inputs)).changes, true);

    await provider.update!(created.id, state, inputs);
    const policy = fake.retentions.get(Number(created.id))!;
    assert.equal(policy.rules.length, 1);
    assert.deepEqual(policy.rules[0].params, { latestPushedK: 10 });
  });

  it("diff: another project replaces; count, pattern and schedule update", async () => {
    const inputs = inputsFor();
    const created = await create(inputs);
    const d = (news: Record<string, unknown>) =>
      provider.diff!(created.id, created.outs, { ...inputs, ...news });
    assert.deepEqual((await d({ project: "other" })).replaces, ["project"]);
    for (const change of [{ keepLastPushed: 5 }, { keepTagsMatching: "v*" }, { schedule: "0 0 3 * * *" }]) {
      const diff = await d(change);
      assert.equal(diff.changes, true, JSON.stringify(change));
      assert.deepEqual(diff.replaces, [], JSON.stringify(change));
    }
  });

  it("takes over a policy the project already has instead of failing", async () => {
    // Mirrors retentionAPI.CreateRetention: 400 "project %v already has retention policy %v" for a second one.
    const first = await create(inputsFor({ keepLastPushed: 2 }));
    const second = await create(inputsFor({ keepLastPushed: 7 }));
    assert.equal(second.id, first.id);
    assert.equal(fake.retentions.size, 1);
    assert.deepEqual(fake.retentions.get(Number(first.id))!.rules[0].params, { latestPushedK: 7 });
  });

  it("refuses a schedule Harbor refuses: six fields, seconds exactly 0, values in range", async () => {
    // Mirrors utils.ValidateCronString (src/common/utils/utils.go), run by ValidateRetentionPolicy on
    // create and update: robfig's 6-field parser, then the seconds field must be "0". The old check only
    // counted fields, so "30 0 0 * * *" reached Harbor and failed there.
    for (const bad of [
      "30 0 0 * * *",
      "0 0 * * *",
      "@daily",
      "0 61 0 * * *",
      "0 0 0 * * MON-FOO",
      "0  0 0 * * *",
    ]) {
      assert.ok(cronError(bad), bad);
    }
    for (const good of [DAILY, "0 30 2 * * SUN", "0 */15 * * * *", "0 0 1,13 1-15 JAN-JUN ?"]) {
      assert.equal(cronError(good), undefined, good);
    }
    const { failures } = checkRetention({
      ...fake.connection,
      project: "acme",
      keepLastPushed: 1,
      schedule: "30 0 0 * * *",
    });
    assert.match(failures[0].reason, /seconds field must be "0"/);
    const res = await adminCall(fake, "POST", "/retentions", {
      ...retentionPolicy(inputsFor(), projectId),
      trigger: { kind: "Schedule", settings: { cron: "30 0 0 * * *" } },
    });
    assert.equal(res.status, 400);
    assert.match(
      await res.text(),
      /the 1st field \(indicating Seconds of time\) of the cron setting must be 0/,
    );
  });

  it("refuses more than 15 rules or a duplicate rule, as Harbor does", async () => {
    // Mirrors retentionAPI.CreateRetention/UpdateRetention: len(rules) > 15 → 400; checkRuleConflict → 409.
    const many = Array.from({ length: 14 }, (_, i) => ({ pattern: `p${i}-*`, count: 1 }));
    const { failures } = checkRetention({
      ...fake.connection,
      project: "acme",
      keepLastPushed: 1,
      keepTagsMatching: "v*",
      keepLatestMatching: many,
    });
    assert.match(failures[0].reason, /16 rules; Harbor allows at most 15/);
    const dup = checkRetention({
      ...fake.connection,
      project: "acme",
      keepLastPushed: 1,
      keepLatestMatching: [
        { pattern: "a-*", count: 1 },
        { pattern: "a-*", count: 2 },
      ],
    });
    assert.match(dup.failures[0].reason, /names a pattern twice/);
    const all = checkRetention({
      ...fake.connection,
      project: "acme",
      keepLastPushed: 1,
      keepLatestMatching: [{ pattern: "**", count: 2 }],
    });
    assert.match(all.failures[0].reason, /may not use the pattern "\*\*": that is keepLastPushed/);
    const policy = retentionPolicy(inputsFor(), projectId);
    const tooMany = await adminCall(fake, "POST", "/retentions", {
      ...policy,
      rules: Array(16).fill(policy.rules[0]),
    });
    assert.equal(tooMany.status, 400);
    const twice = await adminCall(fake, "POST", "/retentions", {
      ...policy,
      rules: [policy.rules[0], policy.rules[0]],
    });
    assert.equal(twice.status, 409);
    assert.match(await twice.text(), /rule 1 is conflict with rule 0/);
  });

  it("a policy gone from Harbor: GET answers 500, DELETE 400 — the provider asks the project and treats it as gone", async () => {
    // Mirrors retentionAPI.GetRetention (lookup error sent as is: 500) and DeleteRetention (BadRequestError: 400).
    const created = await create(inputsFor());
    const missing = Number(created.id) + 100;
    assert.equal((await adminCall(fake, "GET", `/retentions/${missing}`)).status, 500);
    assert.equal((await adminCall(fake, "DELETE", `/retentions/${missing}`)).status, 400);
    // Deleted while the project still links it (a race with the delete): the 400 means gone.
    fake.retentions.delete(Number(created.id));
    await provider.delete!(created.id, created.outs);
    // Link removed as well: read reports it gone without asking /retentions (which would answer 500).
    delete fake.projects.get(projectId)!.metadata.retention_id;
    const before = fake.requests.length;
    assert.equal((await provider.read!(created.id, created.outs)).id, undefined);
    assert.deepEqual(
      fake.requests.slice(before).filter((r) => r.path.startsWith("/api/v2.0/retentions")),
      [],
    );
  });

  it("update of a policy the project no longer links says to refresh, instead of Harbor's bare 404", async () => {
    // Mirrors retentionAPI.requirePolicyAccess: the project's retention_id must be the policy's id, else 404.
    const created = await create(inputsFor());
    const other = await adminCall(
      fake,
      "PUT",
      `/retentions/${Number(created.id) + 7}`,
      retentionPolicy(inputsFor(), projectId),
    );
    assert.equal(other.status, 404);
    assert.equal((await adminCall(fake, "DELETE", `/retentions/${created.id}`)).status, 200);
    await assert.rejects(
      provider.update!(created.id, created.outs, inputsFor({ keepLastPushed: 3 })),
      /project "acme" now has no retention policy\. Run `pulumi refresh`/,
    );
  });

  it("deleting the project deletes its retention policy", async () => {
    // Mirrors the project-deletion event handler (src/controller/event/handler/internal/project.go):
    // retention.Ctl.DeleteRetentionByProject.
    const created = await create(inputsFor());
    assert.equal((await adminCall(fake, "DELETE", `/projects/${projectId}`)).status, 200);
    assert.equal(fake.retentions.size, 0);
    assert.equal((await provider.read!(created.id, created.outs)).id, undefined);
  });

  it("keep-latest-by-pattern rules round-trip: create, read and diff agree", async () => {
    const inputs = inputsFor({
      keepTagsMatching: "prod-*",
      keepLatestMatching: [{ pattern: "test-*", count: 5 }],
    });
    const created = await create(inputs);
    const policy = fake.retentions.get(Number(created.id))!;
    assert.deepEqual(
      policy.rules.map((r) => [r.template, (r.tag_selectors as { pattern: string }[])[0].pattern, r.params]),
      [
        ["latestPushedK", "**", { latestPushedK: 10 }],
        ["always", "prod-*", {}],
        ["latestPushedK", "test-*", { latestPushedK: 5 }],
      ],
    );
    const read = await provider.read!(created.id, created.outs);
    assert.deepEqual(read.props, created.outs);
    assert.equal((await provider.diff!(created.id, read.props as RetentionOutputs, inputs)).changes, false);
    assert.equal(
      (
        await provider.diff!(
          created.id,
          read.props as RetentionOutputs,
          inputsFor({ keepTagsMatching: "prod-*" }),
        )
      ).changes,
      true,
    );
  });

  it("fails clearly when the project does not exist", async () => {
    await assert.rejects(
      provider.create(inputsFor({ project: "nope" })),
      /Cannot create the retention policy: Harbor project "nope" does not exist/,
    );
  });

  it("delete removes the policy and the project's link; read then reports it gone", async () => {
    const created = await create(inputsFor());
    await provider.delete!(created.id, created.outs);
    assert.equal(fake.retentions.size, 0);
    assert.equal(fake.projects.get(projectId)!.metadata.retention_id, undefined);
    assert.equal((await provider.read!(created.id, created.outs)).id, undefined);
    await provider.delete!(created.id, created.outs); // already gone: no call, no error
  });
});
