import * as assert from "node:assert/strict";
import { checkProject, harborProjectProvider } from "../../../providers/harbor/project-provider";
import {
  checkRetention,
  DAILY,
  harborRetentionPolicyProvider as provider,
  type RetentionOutputs,
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
    const first = await create(inputsFor({ keepLastPushed: 2 }));
    const second = await create(inputsFor({ keepLastPushed: 7 }));
    assert.equal(second.id, first.id);
    assert.equal(fake.retentions.size, 1);
    assert.deepEqual(fake.retentions.get(Number(first.id))!.rules[0].params, { latestPushedK: 7 });
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
