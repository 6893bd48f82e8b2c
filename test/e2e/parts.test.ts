/**
 * The sandbox's parts machinery without a sandbox: start order, cleanup on failure, process records that
 * never signal a recycled pid, and the local Git world holding exactly what MIService seeds.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import { serviceSeedFiles } from "../../components/mi-service/seed-files";
import {
  git,
  createRepo,
  gitWorldLayout,
  gitWorldPlan,
  recordFirstBuild,
  sandboxStackFile,
  treeFiles,
} from "../../e2e/sandbox/parts/git-world";
import { startOrder, startParts } from "../../e2e/sandbox/parts/orchestrator";
import type { Part, PartContext } from "../../e2e/sandbox/parts/part";
import { isRunning, recordedProcesses, spawnRecorded, stopRecorded } from "../../e2e/sandbox/parts/process";
import { testConfig } from "../support/mocks";
import { exampleTenants } from "../support/tenants";

const ROOT = join(__dirname, "../..");

describe("sandbox parts: orchestrator", () => {
  const part = (name: string, needs: string[] = [], events: string[] = [], fail = false): Part => ({
    name,
    needs,
    tools: [],
    start: async () => {
      events.push(`start ${name}`);
      if (fail) throw new Error(`${name} broke`);
    },
    ready: async () => {
      events.push(`ready ${name}`);
    },
    stop: async () => {
      events.push(`stop ${name}`);
    },
  });

  it("starts what a part needs first, each part once", () => {
    const parts = [
      part("argocd", ["control-plane", "redis", "git"]),
      part("git"),
      part("redis"),
      part("control-plane"),
    ];
    assert.deepEqual(
      startOrder(["argocd", "redis"], parts).map((p) => p.name),
      ["control-plane", "redis", "git", "argocd"],
    );
  });

  it("refuses unknown parts and cycles, naming them", () => {
    assert.throws(() => startOrder(["nope"], [part("git")]), /unknown sandbox part "nope"; known: git/);
    assert.throws(() => startOrder(["a"], [part("a", ["b"]), part("b", ["a"])]), /cycle through "a"/);
  });

  it("the real parts: argocd needs the control plane, Redis and the Git world", () => {
    assert.deepEqual(
      startOrder(["argocd"]).map((p) => p.name),
      ["control-plane", "redis", "git", "argocd"],
    );
  });
});

describe("sandbox parts: process records", function () {
  this.timeout(20_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "imaas-parts-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("records a detached process and stops it with SIGTERM", async () => {
    const rec = spawnRecorded("sleeper", ["sleep", "30"], { env: { PATH: "/usr/bin:/bin" }, cwd: dir, dir });
    assert.ok(isRunning(rec));
    assert.deepEqual(
      recordedProcesses(dir).map((r) => r.pid),
      [rec.pid],
    );
    assert.equal(await stopRecorded(dir, rec), true);
    assert.ok(!isRunning(rec));
    assert.deepEqual(recordedProcesses(dir), []);
  });

  it("never signals a process whose start time differs from the record (a recycled pid)", async () => {
    const rec = spawnRecorded("sleeper", ["sleep", "30"], { env: { PATH: "/usr/bin:/bin" }, cwd: dir, dir });
    const stale = { ...rec, startTime: "1" };
    assert.equal(await stopRecorded(dir, stale), false);
    assert.ok(isRunning(rec), "the live process was left alone");
    await stopRecorded(dir, rec);
  });
});

describe("sandbox parts: the local Git world", function () {
  this.timeout(30_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "imaas-git-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const layout = () => gitWorldLayout(dir, "acme");
  const cfg = () =>
    testConfig({
      github: { owner: "acme", urlBase: layout().urlBase },
      argocd: { platformRepo: layout().platformRepo },
    });

  it("the sandbox stack file points github.urlBase and argocd.platformRepo at it, keeping everything else", () => {
    const committed = readFileSync(join(ROOT, "Pulumi.sandbox.yaml"), "utf8");
    const out = YAML.parse(sandboxStackFile(committed, layout()));
    const before = YAML.parse(committed);
    assert.equal(out.config["imaas:github"].urlBase, `file://${dir}/parts/git/acme`);
    assert.equal(out.config["imaas:argocd"].platformRepo, `file://${dir}/parts/git/acme/imaas.git`);
    assert.equal(out.config["imaas:github"].owner, before.config["imaas:github"].owner);
    assert.equal(out.encryptionsalt, before.encryptionsalt);
    assert.deepEqual(out.config["imaas:clusters"], before.config["imaas:clusters"]);
  });

  it("one repo per service with its environments' branches and exactly MIService's seed files", () => {
    const c = cfg();
    const tenants = exampleTenants(c);
    const plan = gitWorldPlan(tenants, c, treeFiles(ROOT, "charts/wso2-mi"));
    const services = tenants.flatMap((t) => t.services.map((s) => ({ t, s })));
    assert.equal(plan.length, 1 + services.length);
    assert.equal(plan[0]!.url, c.argocd.platformRepo);
    assert.deepEqual(plan[0]!.branches, [c.argocd.platformRevision]);
    assert.ok(plan[0]!.files.some((f) => f.path === "charts/wso2-mi/Chart.yaml"));
    for (const [i, { t, s }] of services.entries()) {
      const p = plan[i + 1]!;
      assert.equal(p.url, `${layout().urlBase}/${t.name}-${s.name}.git`);
      assert.deepEqual(p.branches, [...s.environments]);
      assert.deepEqual(p.files, serviceSeedFiles(t, s, c));
    }
  });

  it("bare repos whose every branch holds those files byte for byte", () => {
    const c = cfg();
    const [t] = exampleTenants(c);
    const p = gitWorldPlan([t!], c, [])[1]!;
    const home = join(dir, "home");
    execFileSync("mkdir", ["-p", home]);
    createRepo(p, join(dir, "scratch"), home);
    for (const b of p.branches) {
      const listed = git(p.path, ["ls-tree", "-r", "--name-only", b], home).trim().split("\n").sort();
      assert.deepEqual(listed, p.files.map((f) => f.path).sort(), `branch ${b}`);
      for (const f of p.files) assert.equal(git(p.path, ["show", `${b}:${f.path}`], home), f.content);
    }
    assert.equal(git(p.path, ["symbolic-ref", "HEAD"], home).trim(), `refs/heads/${p.branches[0]}`);
  });

  it("CI's first build, when asked: the tag on the build branch, merged up through every branch", () => {
    const c = cfg();
    const t = exampleTenants(c).find((x) => x.services.some((s) => s.environments.length === 3))!;
    const p = gitWorldPlan([t], c, []).find((r) => r.branches.length === 3)!;
    const home = join(dir, "home");
    createRepo(p, join(dir, "scratch"), home);
    recordFirstBuild(p, "0.1.0-sandbox", join(dir, "scratch"), home);
    for (const b of p.branches) {
      const values = YAML.parse(git(p.path, ["show", `${b}:deploy/values.yaml`], home));
      assert.deepEqual(values, { image: { tag: "0.1.0-sandbox" } }, `branch ${b}`);
      const changed = git(p.path, ["diff", "--name-only", `${b}~1`, b], home).trim();
      assert.equal(changed, "deploy/values.yaml", `only the values file changed on ${b}`);
    }
    assert.match(
      git(p.path, ["log", "-1", "--format=%s", p.branches[0]!], home),
      /^Deploy 0\.1\.0-sandbox \[skip ci\]/,
    );
  });
});

describe("sandbox parts: a failed start stops what was started", () => {
  const ctx: PartContext = {
    dir: "/nonexistent",
    toolsDir: "/nonexistent",
    repo: ROOT,
    log: () => undefined,
  };
  const part = (name: string, needs: string[], events: string[], fail = false): Part => ({
    name,
    needs,
    tools: [],
    start: async () => {
      events.push(`start ${name}`);
    },
    ready: async () => {
      events.push(`ready ${name}`);
      if (fail) throw new Error(`${name} never became ready`);
    },
    stop: async () => {
      events.push(`stop ${name}`);
    },
  });

  it("stops the started parts in reverse, the failing one included, and rethrows", async () => {
    const events: string[] = [];
    const parts = [part("a", [], events), part("b", ["a"], events, true), part("c", ["b"], events)];
    await assert.rejects(startParts(ctx, ["c"], parts), /b never became ready/);
    assert.deepEqual(events, ["start a", "ready a", "start b", "ready b", "stop b", "stop a"]);
  });

  it("returns the started parts in start order when all are ready", async () => {
    const events: string[] = [];
    const parts = [part("a", [], events), part("b", ["a"], events)];
    assert.deepEqual(
      (await startParts(ctx, ["b"], parts)).map((p) => p.name),
      ["a", "b"],
    );
  });
});
