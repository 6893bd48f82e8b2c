/** The tenant PR workflows: static YAML, checked as data. */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";

const WORKFLOWS = join(__dirname, "..", "..", ".github", "workflows");

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  permissions?: Record<string, string>;
  steps: Step[];
  if?: string;
}
interface Workflow {
  name: string;
  on: Record<string, any>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

function load(file: string): { text: string; wf: Workflow } {
  const text = readFileSync(join(WORKFLOWS, file), "utf8");
  return { text, wf: parse(text) as Workflow };
}

const allSteps = (wf: Workflow) => Object.values(wf.jobs).flatMap((j) => j.steps);

describe("tenant-pr.yml: the workflow that runs the PR's code", () => {
  const { text, wf } = load("tenant-pr.yml");
  const job = wf.jobs.review;
  const runs = job.steps.map((s) => s.run ?? "").join("\n");

  it("parses and triggers on pull requests touching tenants/** only", () => {
    assert.equal(wf.name, "tenant-pr");
    assert.deepEqual(
      Object.keys(wf.on),
      ["pull_request"],
      "no pull_request_target: PR code never meets a write token",
    );
    assert.deepEqual(wf.on.pull_request.paths, ["tenants/**"]);
  });

  it("has no secrets and only read access, and keeps no token in the checkout", () => {
    assert.doesNotMatch(text, /secrets\./, "no secrets referenced");
    assert.doesNotMatch(text, /github\.token|GITHUB_TOKEN/, "no token handed to steps");
    assert.deepEqual(wf.permissions, {});
    assert.deepEqual(job.permissions, { contents: "read" });
    const checkout = job.steps.find((s) => s.uses?.startsWith("actions/checkout@"));
    assert.equal(checkout?.with?.["persist-credentials"], false);
  });

  it("installs from the lockfile and runs validate, then the diff against the base as markdown", () => {
    assert.match(runs, /npm ci\b/);
    assert.match(runs, /npx imaas validate --stack dev/);
    assert.match(runs, /npx imaas validate --stack prod/);
    assert.match(
      runs,
      /npx imaas diff "origin\/\$\{BASE_REF\}" --stack "\$IMAAS_STACK" --format markdown > review\/diff\.md/,
    );
  });

  it("shows the tenants the PR touches, not the whole folder: no plan of every tenant", () => {
    // The plan view of the touched tenants comes with the diff's markdown (test/cli/diff.test.ts).
    assert.doesNotMatch(runs, /npx imaas plan/);
    assert.doesNotMatch(runs, /all tenants/);
  });

  it("uploads the rendered comment body even when validation fails, and still fails the job then", () => {
    const upload = job.steps.find((s) => s.uses?.startsWith("actions/upload-artifact@"));
    assert.equal(upload?.with?.name, "tenant-pr-comment");
    assert.equal((upload as any).if, "always()");
    const last = job.steps[job.steps.length - 1];
    assert.match(last.run ?? "", /exit 1/);
  });

  it("puts no GitHub expression inside a shell script (event values reach scripts only through env)", () => {
    for (const s of job.steps) assert.doesNotMatch(s.run ?? "", /\$\{\{/, s.name ?? s.run);
  });

  it("renders a comment body with the marker, the diff and the plan, or every validation error", () => {
    const render = job.steps.find((s) => s.name === "Render the comment body")?.run ?? "";
    const dir = mkdtempSync(join(tmpdir(), "imaas-render-"));
    try {
      mkdirSync(join(dir, "review"));
      writeFileSync(join(dir, "review", "changed-files.txt"), "tenants/payroll.yaml\n");
      writeFileSync(
        join(dir, "review", "diff.md"),
        "### What this change to `tenants/` does\n\n#### Changed tenants after the change: `payroll`\n\n```mermaid\nflowchart LR\n```\n",
      );
      writeFileSync(join(dir, "review", "validate.txt"), "payroll.yaml:3:1: spec.owners: bad\n");
      const env = { PATH: process.env.PATH, PR_NUMBER: "42", IMAAS_STACK: "prod", PLAN_OUTCOME: "success" };
      const ok = spawnSync("bash", ["-e", "-c", render], { cwd: dir, env: { ...env, VALIDATE_EXIT: "0" } });
      assert.equal(ok.status, 0, String(ok.stderr));
      const body = readFileSync(join(dir, "comment", "body.md"), "utf8");
      assert.ok(body.startsWith("<!-- imaas:tenant-pr -->\n"));
      assert.match(body, /valid for the `dev` and `prod` stacks; plan and diff use stack `prod`/);
      assert.match(body, /- `tenants\/payroll\.yaml`/);
      assert.match(body, /### What this change to `tenants\/` does/);
      assert.match(body, /#### Changed tenants after the change: `payroll`\n\n```mermaid/);
      assert.doesNotMatch(body, /was not produced/);
      assert.equal(readFileSync(join(dir, "comment", "pr-number"), "utf8"), "42\n");
      const bad = spawnSync("bash", ["-e", "-c", render], { cwd: dir, env: { ...env, VALIDATE_EXIT: "1" } });
      assert.equal(bad.status, 0, String(bad.stderr));
      const badBody = readFileSync(join(dir, "comment", "body.md"), "utf8");
      assert.match(badBody, /invalid; nothing was planned[\s\S]*payroll\.yaml:3:1: spec\.owners: bad/);
      assert.doesNotMatch(badBody, /<details>/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("every shell script is valid bash", () => {
    for (const s of job.steps.filter((x) => x.run)) {
      const r = spawnSync("bash", ["-n"], { input: s.run, encoding: "utf8" });
      assert.equal(r.status, 0, `${s.name}: ${r.stderr}`);
    }
  });
});

describe("tenant-pr-comment.yml: the workflow that posts the comment", () => {
  const { wf } = load("tenant-pr-comment.yml");
  const job = wf.jobs.comment;

  it("runs on the completion of tenant-pr, with only the rights to read its artifact and comment", () => {
    assert.deepEqual(wf.on.workflow_run.workflows, [load("tenant-pr.yml").wf.name]);
    assert.deepEqual(wf.on.workflow_run.types, ["completed"]);
    assert.deepEqual(wf.permissions, {});
    assert.deepEqual(job.permissions, { actions: "read", "pull-requests": "write" });
  });

  it("never checks out or runs the PR's code: no checkout, no shell steps", () => {
    assert.ok(job.steps.every((s) => !s.uses?.startsWith("actions/checkout@")));
    assert.ok(job.steps.every((s) => s.run === undefined));
    const script = String(job.steps.find((s) => s.uses?.startsWith("actions/github-script@"))?.with?.script);
    assert.match(
      script,
      /pr\.data\.head\.sha !== process\.env\.HEAD_SHA/,
      "the artifact's PR number is verified",
    );
    assert.match(script, /updateComment/, "one comment, updated in place");
  });
});

describe("tenant PR workflows: actions pinned by version", () => {
  it("every action is pinned to an exact release (vX.Y.Z)", () => {
    for (const file of ["tenant-pr.yml", "tenant-pr-comment.yml"]) {
      for (const s of allSteps(load(file).wf).filter((x) => x.uses)) {
        assert.match(s.uses ?? "", /^[\w-]+\/[\w-]+@v\d+\.\d+\.\d+$/, `${file}: ${s.uses}`);
      }
    }
  });
});
