/** imaas deploy: the pure parts (git change detection, targets, stack files, pool, rendering) and the run over a fake engine. */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { runDeploy } from "../../cli/deploy";
import type { DeployEngine, StackEvent } from "../../cli/deploy-engine";
import { DeployError } from "../../cli/deploy-error";
import { classifyChanges, defaultBase, tenantChangesFromGit } from "../../cli/deploy-git";
import { runPool } from "../../cli/deploy-pool";
import { Progress } from "../../cli/deploy-progress";
import { tenantStackFile } from "../../cli/deploy-stack-file";
import {
  decommissionCommands,
  renderDecommission,
  renderSummary,
  type TenantResult,
} from "../../cli/deploy-summary";
import { planTargets } from "../../cli/deploy-targets";
import { programPaths } from "../../deployments/settings";

const ROOT = join(__dirname, "..", "..");
const PROGRAM = programPaths("sandbox");

function git(dir: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** A project copy in a fresh git repo: the example tenants and a platform stack file in mode platform. */
function projectRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), "imaas-deploy-"));
  cpSync(join(ROOT, "tenants"), join(dir, "tenants"), { recursive: true });
  writeFileSync(join(dir, "Pulumi.yaml"), "name: imaas\nruntime: nodejs\n");
  const sandbox = parse(readFileSync(join(ROOT, "Pulumi.sandbox.yaml"), "utf8"));
  sandbox.config["imaas:stack"] = { mode: "platform" };
  writeFileSync(join(dir, "Pulumi.sandbox.yaml"), stringify(sandbox));
  writeFileSync(join(dir, "index.ts"), "export = {};\n");
  git(dir, "init", "-q", "-b", "main");
  git(dir, "config", "user.email", "t@example.com");
  git(dir, "config", "user.name", "t");
  git(dir, "add", ".");
  git(dir, "commit", "-q", "-m", "base");
  return dir;
}

describe("imaas deploy: changed tenants from git", () => {
  let dir = "";
  beforeEach(() => {
    dir = projectRepo();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("finds added, changed and deleted tenant files, committed or not, and ignores other files there", () => {
    const payroll = join(dir, "tenants", "payroll.yaml");
    writeFileSync(payroll, readFileSync(payroll, "utf8").replace("ben42", "ben43"));
    git(dir, "commit", "-qam", "payroll changed");
    unlinkSync(join(dir, "tenants", "hr-onboarding.yaml")); // deleted, not committed
    const fresh = readFileSync(join(dir, "tenants", "logistics.yaml"), "utf8").replace(
      /logistics/g,
      "billing",
    );
    writeFileSync(join(dir, "tenants", "billing.yaml"), fresh); // untracked
    writeFileSync(join(dir, "tenants", "README.md"), "changed\n");
    const c = tenantChangesFromGit(dir, "HEAD~1", { programPaths: PROGRAM });
    assert.equal(c.commit, git(dir, "rev-parse", "HEAD~1").trim());
    assert.deepEqual(c.added, ["billing"]);
    assert.deepEqual(c.changed, ["payroll"]);
    assert.deepEqual(c.deleted, ["hr-onboarding"]);
    assert.deepEqual(c.programFiles, []);
  });

  it("a program file change (index.ts, the platform stack file) affects every tenant", () => {
    writeFileSync(join(dir, "index.ts"), "export = { changed: true };\n");
    const c = tenantChangesFromGit(dir, "HEAD", { programPaths: PROGRAM });
    assert.deepEqual(c.programFiles, ["index.ts"]);
    const plan = planTargets({ platformStack: "sandbox", tenants: ["a", "b"], changes: c });
    assert.deepEqual(
      plan.targets.map((t) => [t.stack, t.reason]),
      [
        ["sandbox.a", "program"],
        ["sandbox.b", "program"],
      ],
    );
    // Another stack's file is not this program's.
    writeFileSync(join(dir, "Pulumi.prod.yaml"), "config: {}\n");
    assert.deepEqual(tenantChangesFromGit(dir, "HEAD", { programPaths: PROGRAM }).programFiles, ["index.ts"]);
  });

  it("a renamed file (.yml → .yaml) is a changed tenant, not a deletion", () => {
    renameSync(join(dir, "tenants", "payroll.yaml"), join(dir, "tenants", "payroll.yml"));
    const c = tenantChangesFromGit(dir, "HEAD", { programPaths: PROGRAM });
    assert.deepEqual([c.added, c.changed, c.deleted], [[], ["payroll"], []]);
  });

  it("default base: origin/main when it exists, else HEAD~1; an unknown ref is a DeployError", () => {
    assert.throws(() => defaultBase(dir), DeployError, "one commit: no HEAD~1");
    git(dir, "commit", "-q", "--allow-empty", "-m", "second");
    assert.equal(defaultBase(dir), "HEAD~1");
    git(dir, "update-ref", "refs/remotes/origin/main", "HEAD~1");
    assert.equal(defaultBase(dir), "origin/main");
    assert.throws(
      () => tenantChangesFromGit(dir, "no-such-ref", { programPaths: PROGRAM }),
      /unknown git ref/,
    );
    assert.throws(
      () => tenantChangesFromGit(dir, "--output=x", { programPaths: PROGRAM }),
      /unknown git ref/,
    );
  });

  it("classifyChanges: only direct tenant files count; nested files and other folders do not", () => {
    const c = classifyChanges(
      [
        { status: "M", path: "tenants/sub/x.yaml" },
        { status: "M", path: "tenants/tenant.schema.json" },
        { status: "M", path: "docs/tenants/x.yaml" },
        { status: "A", path: "tenants/new.yml" },
        { status: "M", path: "components/tenant-space/index.ts" },
      ],
      { tenantsPath: "tenants", programPaths: PROGRAM },
    );
    assert.deepEqual(c, {
      added: ["new"],
      changed: [],
      deleted: [],
      programFiles: ["components/tenant-space/index.ts"],
    });
  });
});

describe("imaas deploy: targets and decommissions", () => {
  const changes = {
    base: "origin/main",
    commit: "0".repeat(40),
    added: ["new"],
    changed: ["payroll"],
    deleted: ["gone"],
    programFiles: [],
  };

  it("runs added and changed tenants; deleted ones are reported, never run", () => {
    const plan = planTargets({
      platformStack: "prod",
      tenants: ["logistics", "new", "payroll"],
      changes,
      existingStacks: ["prod", "prod.gone", "prod.logistics", "prod.orphan", "dev.other"],
    });
    assert.deepEqual(
      plan.targets.map((t) => [t.stack, t.reason]),
      [
        ["prod.new", "added"],
        ["prod.payroll", "changed"],
      ],
    );
    assert.deepEqual(
      plan.decommission.map((d) => [d.stack, d.stackExists]),
      [
        ["prod.gone", true],
        ["prod.orphan", true],
      ],
    );
  });

  it("--only names tenants explicitly and refuses unknown ones", () => {
    const plan = planTargets({ platformStack: "dev", tenants: ["a", "b"], only: ["b", "b"] });
    assert.deepEqual(plan.targets, [{ tenant: "b", stack: "dev.b", reason: "requested" }]);
    assert.throws(
      () => planTargets({ platformStack: "dev", tenants: ["a"], only: ["zz"] }),
      /no tenant file for "zz"/,
    );
  });

  it("a deleted tenant without a stack needs nothing", () => {
    const plan = planTargets({ platformStack: "prod", tenants: [], changes, existingStacks: ["prod"] });
    assert.deepEqual(plan.decommission, [
      {
        tenant: "gone",
        stack: "prod.gone",
        why: "its file was deleted since origin/main",
        stackExists: false,
      },
    ]);
    assert.match(renderDecommission(plan.decommission), /does not exist, nothing to do/);
  });

  it("the decommission report gives the exact commands, in order", () => {
    const text = renderDecommission([
      { tenant: "gone", stack: "prod.gone", why: "deleted", stackExists: true },
    ]);
    assert.match(text, /Decommission required/);
    // The report names where the decommission path is written down; that place must say it.
    const where = /\(([\w/.-]+\.md): (Decommissioning a tenant)\)/.exec(text);
    assert.ok(where, `no pointer to the decommission path in:\n${text}`);
    const doc = readFileSync(join(ROOT, where[1] as string), "utf8");
    assert.ok(doc.includes(`*${where[2]}* (deliberately)`), `${where[1]} does not describe "${where[2]}"`);
    const cmds = decommissionCommands("prod.gone").map((c) => c.split("#")[0]?.trim());
    assert.deepEqual(cmds, [
      "pulumi destroy --preview-only --stack prod.gone",
      "pulumi state unprotect --all --yes --stack prod.gone",
      "pulumi destroy --remove --stack prod.gone",
    ]);
    for (const c of cmds) assert.ok(text.includes(c as string));
    assert.equal(renderDecommission([]), "");
  });
});

describe("imaas deploy: tenant stack files", () => {
  const platform = [
    "encryptionsalt: v1:abc:def",
    "environment:",
    "  - imaas/prod",
    "config:",
    "  imaas:domain: example.com",
    "  imaas:clusters:",
    "    - name: main",
    "      environments: [dev]",
    "  imaas:githubToken:",
    "    secure: v1:ciphertext",
    "  imaas:stack:",
    "    mode: platform",
    "    platformStack: acme/imaas/prod",
    "",
  ].join("\n");

  it("copies every key, the key material with the secure values, the ESC imports, and names the tenant", () => {
    const { text, reencrypt } = tenantStackFile(platform, "payroll");
    const doc = parse(text);
    assert.deepEqual(reencrypt, []);
    assert.equal(doc.encryptionsalt, "v1:abc:def");
    assert.deepEqual(doc.environment, ["imaas/prod"]);
    assert.equal(doc.config["imaas:domain"], "example.com");
    assert.deepEqual(doc.config["imaas:clusters"], [{ name: "main", environments: ["dev"] }]);
    assert.deepEqual(doc.config["imaas:githubToken"], { secure: "v1:ciphertext" });
    assert.deepEqual(doc.config["imaas:stack"], {
      mode: "tenant",
      tenant: "payroll",
      platformStack: "acme/imaas/prod",
    });
    assert.match(text, /^# Generated by `imaas deploy`/);
  });

  it("without key material (per-stack keys) secure values are left out for re-encryption", () => {
    const noKeys = platform.replace("encryptionsalt: v1:abc:def\n", "");
    const { text, reencrypt } = tenantStackFile(
      noKeys,
      "payroll",
      "encryptionsalt: v1:tenant-own\nconfig: {}\n",
    );
    const doc = parse(text);
    assert.deepEqual(reencrypt, ["imaas:githubToken"]);
    assert.equal(doc.config["imaas:githubToken"], undefined);
    assert.equal(doc.encryptionsalt, "v1:tenant-own", "the tenant stack keeps its own key material");
  });
});

const tick = () => new Promise((r) => setTimeout(r, 2));

describe("imaas deploy: the bounded pool", () => {
  it("never runs more than N at once, and uses all N", async () => {
    for (const limit of [1, 2, 3]) {
      let running = 0;
      let peak = 0;
      const results = await runPool([...Array(10).keys()], limit, async (i) => {
        running++;
        peak = Math.max(peak, running);
        await tick();
        running--;
        return i * 2;
      });
      assert.equal(peak, limit, `limit ${limit}`);
      assert.deepEqual(
        results.map((r) => (r.ok ? r.value : -1)),
        [...Array(10).keys()].map((i) => i * 2),
      );
    }
  });

  it("a failure does not stop the others", async () => {
    const done: number[] = [];
    const results = await runPool([0, 1, 2, 3, 4], 2, async (i) => {
      await tick();
      if (i === 1) throw new Error("boom");
      done.push(i);
      return i;
    });
    assert.deepEqual(done.sort(), [0, 2, 3, 4]);
    assert.equal(results[1]?.ok, false);
    assert.equal(((results[1] as { error: Error }).error as Error).message, "boom");
    assert.equal(results.filter((r) => r.ok).length, 4);
  });

  it("handles no items and a limit above the item count", async () => {
    assert.deepEqual(await runPool([], 4, async () => 1), []);
    assert.equal((await runPool([1], 8, async (x) => x)).length, 1);
  });
});

describe("imaas deploy: progress and summary", () => {
  const results: TenantResult[] = [
    {
      tenant: "payroll",
      stack: "prod.payroll",
      operation: "preview",
      result: "succeeded",
      changes: { create: 70 },
      durationMs: 4012,
    },
    {
      tenant: "logistics",
      stack: "prod.logistics",
      operation: "preview",
      result: "failed",
      changes: {},
      durationMs: 1500,
      error: "logistics-dev: namespace refused\nsecond line",
    },
  ];

  it("renders one row per stack with the counts, then totals and each failure's errors", () => {
    const text = renderSummary(results, 4100);
    const lines = text.split("\n");
    assert.match(
      lines[0] ?? "",
      /^tenant\s+stack\s+operation\s+result\s+create\s+update\s+replace\s+delete\s+same\s+duration$/,
    );
    assert.match(
      lines[1] ?? "",
      /^payroll\s+prod\.payroll\s+preview\s+succeeded\s+70\s+0\s+0\s+0\s+0\s+4\.0s$/,
    );
    assert.match(
      lines[2] ?? "",
      /^logistics\s+prod\.logistics\s+preview\s+FAILED\s+0\s+0\s+0\s+0\s+0\s+1\.5s$/,
    );
    assert.match(text, /2 tenant stack\(s\): 1 succeeded, 1 failed; wall 4\.1s, sum of stacks 5\.5s/);
    assert.match(text, /prod\.logistics failed:\n {2}logistics-dev: namespace refused\n {2}second line/);
    assert.equal(renderSummary([]), "No tenant stacks to run.\n");
  });

  it("prints a plain line per state change when not a terminal", () => {
    const out: string[] = [];
    let now = 0;
    const targets = [{ tenant: "a", stack: "dev.a", reason: "requested" as const }];
    const p = new Progress(
      targets,
      "preview",
      (s) => out.push(s),
      false,
      () => now,
    );
    p.update("dev.a", { state: "running", startedAt: 0 });
    p.update("dev.a", { resources: 5 }); // no state change: no line
    now = 2000;
    p.update("dev.a", { state: "succeeded", changes: { create: 3, same: 2 }, durationMs: 2000 });
    p.finish();
    assert.equal(out.length, 2);
    assert.match(out[0] ?? "", /^a\s+dev\.a\s+preview\s+running\s+0 resource\(s\) seen\s+0\.0s\n$/);
    assert.match(out[1] ?? "", /^a\s+dev\.a\s+preview\s+succeeded\s+3 to create\s+2\.0s\n$/);
    assert.ok(!out.join("").includes("\x1b"), "no ANSI codes outside a terminal");
  });

  it("redraws one line per stack in place on a terminal", () => {
    const out: string[] = [];
    const targets = ["a", "b"].map((t) => ({ tenant: t, stack: `dev.${t}`, reason: "requested" as const }));
    const p = new Progress(
      targets,
      "update",
      (s) => out.push(s),
      true,
      () => 0,
    );
    p.update("dev.b", { state: "running", startedAt: 0 });
    p.finish();
    assert.equal(out.length, 3);
    assert.ok(!(out[0] ?? "").includes("\x1b[2A"), "the first draw moves nothing");
    assert.ok((out[1] ?? "").startsWith("\x1b[2A"), "later draws go back up two lines");
    assert.equal((out[1] ?? "").split("\x1b[2K").length - 1, 2, "each line cleared");
    assert.match(out[1] ?? "", /dev\.b\s+update\s+running/);
  });
});

/** A fake engine: records calls, fails the stacks it is told to, counts concurrency. */
function fakeEngine(options: { stacks: string[]; fail?: string[] }) {
  const calls: string[] = [];
  let running = 0;
  let peak = 0;
  const engine: DeployEngine = {
    async listStacks() {
      return options.stacks;
    },
    async prepareStack(stack) {
      calls.push(`prepare ${stack}`);
    },
    async run(stack, operation, onEvent: (e: StackEvent) => void) {
      calls.push(`${operation} ${stack}`);
      running++;
      peak = Math.max(peak, running);
      await tick();
      onEvent({ kind: "resource", op: "create" });
      running--;
      if (options.fail?.includes(stack)) {
        onEvent({ kind: "error", message: "Namespace payroll-dev: refused" });
        throw new Error("preview failed");
      }
      return { create: 10, same: 0 };
    },
  };
  return { engine, calls, peak: () => peak };
}

describe("imaas deploy: the run (fake engine)", () => {
  let dir = "";
  let out = "";
  const io = { out: (s: string) => (out += s), err: () => {}, isTTY: false };
  beforeEach(() => {
    dir = projectRepo();
    out = "";
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes each tenant stack file, runs every stack, and reports a failure after the others ran", async () => {
    const fake = fakeEngine({ stacks: ["sandbox", "sandbox.payroll"], fail: ["sandbox.logistics"] });
    await assert.rejects(
      runDeploy(
        {
          stack: "sandbox",
          only: ["hr-onboarding", "logistics", "payroll"],
          preview: true,
          parallel: 2,
          projectDir: dir,
        },
        io,
        fake.engine,
      ),
      (err: Error) =>
        err instanceof DeployError && /1 of 3 tenant stack\(s\) failed: sandbox\.logistics/.test(err.message),
    );
    assert.deepEqual(fake.calls.filter((c) => c.startsWith("preview")).sort(), [
      "preview sandbox.hr-onboarding",
      "preview sandbox.logistics",
      "preview sandbox.payroll",
    ]);
    assert.equal(fake.peak(), 2);
    assert.match(out, /sandbox\.logistics failed:\n {2}Namespace payroll-dev: refused/);
    assert.match(out, /3 tenant stack\(s\): 2 succeeded, 1 failed/);
    const file = parse(readFileSync(join(dir, "Pulumi.sandbox.payroll.yaml"), "utf8"));
    assert.deepEqual(file.config["imaas:stack"], { mode: "tenant", tenant: "payroll" });
  });

  it("from git: runs the changed tenant, reports the deleted one, exit 0 unless --fail-on-decommission", async () => {
    const payroll = join(dir, "tenants", "payroll.yaml");
    writeFileSync(payroll, readFileSync(payroll, "utf8").replace("ben42", "ben43"));
    unlinkSync(join(dir, "tenants", "hr-onboarding.yaml"));
    const fake = fakeEngine({ stacks: ["sandbox", "sandbox.hr-onboarding"] });
    const run = (failOnDecommission: boolean) =>
      runDeploy({ stack: "sandbox", base: "HEAD", failOnDecommission, projectDir: dir }, io, fake.engine);
    const outcome = await run(false);
    assert.deepEqual(
      outcome.plan.targets.map((t) => t.stack),
      ["sandbox.payroll"],
    );
    assert.deepEqual(fake.calls, ["prepare sandbox.payroll", "update sandbox.payroll"]);
    assert.match(out, /tenant "hr-onboarding": its file was deleted since HEAD/);
    assert.match(out, /pulumi destroy --remove --stack sandbox\.hr-onboarding/);
    await assert.rejects(
      run(true),
      /--fail-on-decommission: 1 tenant\(s\) need decommissioning: hr-onboarding/,
    );
  });

  it("refuses a single-mode stack, a missing platform stack and invalid tenant files before running anything", async () => {
    const fake = fakeEngine({ stacks: [] });
    await assert.rejects(
      runDeploy({ stack: "sandbox", only: ["payroll"], projectDir: dir }, io, fake.engine),
      /platform stack "sandbox" does not exist/,
    );
    writeFileSync(join(dir, "Pulumi.single.yaml"), readFileSync(join(ROOT, "Pulumi.sandbox.yaml")));
    await assert.rejects(
      runDeploy({ stack: "single", only: ["payroll"], projectDir: dir }, io, fake.engine),
      /a single stack/,
    );
    writeFileSync(join(dir, "tenants", "bad.yaml"), "apiVersion: nope\n");
    await assert.rejects(
      runDeploy({ stack: "sandbox", only: ["payroll"], projectDir: dir }, io, fake.engine),
      /error\(s\) in tenant files; nothing was deployed/,
    );
    assert.deepEqual(fake.calls, []);
  });

  it("--config-only writes the files and touches no engine", async () => {
    const fake = fakeEngine({ stacks: [] });
    await runDeploy(
      { stack: "sandbox", only: ["payroll"], configOnly: true, projectDir: dir },
      io,
      fake.engine,
    );
    assert.deepEqual(fake.calls, []);
    assert.ok(readFileSync(join(dir, "Pulumi.sandbox.payroll.yaml"), "utf8").includes("tenant: payroll"));
  });
});
