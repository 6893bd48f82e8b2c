import { strict as assert } from "node:assert";
import YAML from "yaml";
import type { Environment } from "../../../model/environments";
import {
  CHECKOUT_ACTION,
  GITHUB_CHECK_NAME,
  ghExpr,
  githubCondition,
  renderGitHubWorkflow,
} from "../../../components/mi-service/github-workflow";
import {
  groovyMultiline,
  groovyString,
  JENKINS_CHECK_NAME,
  renderJenkinsfile,
} from "../../../components/mi-service/jenkinsfile";
import {
  buildEnvironment,
  type PipelineInput,
  type PipelineStep,
  pipelineInput,
  pipelineSteps,
  SKIP_CI_MARKER,
} from "../../../components/mi-service/pipeline";

const input = (environments: Environment[], tenant = "payroll", service = "salary-sync"): PipelineInput =>
  pipelineInput({
    tenant,
    service,
    registryHost: "registry.example.com",
    baseImageProject: "platform",
    miVersion: "4.4.0",
    environments,
  });

const BUILD_STAGES = ["maven-verify", "build-image", "push-image"];

interface GhStep {
  id?: string;
  name: string;
  if?: string;
  uses?: string;
  run?: string;
  env?: Record<string, string>;
}
interface GhJob {
  name: string;
  if?: string;
  needs?: string;
  permissions: Record<string, string>;
  steps: GhStep[];
}
interface Workflow {
  on: { push: { branches: string[] }; pull_request: { branches: string[] } };
  permissions: Record<string, string>;
  env: Record<string, string>;
  jobs: Record<string, GhJob>;
}

const workflowOf = (i: PipelineInput): Workflow => YAML.parse(renderGitHubWorkflow(i)) as Workflow;
/** The stage steps of every job, in job order (job-setup steps without an id are left out). */
const stageSteps = (wf: Workflow): GhStep[] =>
  Object.values(wf.jobs).flatMap((j) => j.steps.filter((s) => s.id !== undefined));

/** Reads the branches back out of a rendered `if:` expression. */
function branchesOf(expr: string): { push: string[]; pullRequest: string[] } {
  const clause = (event: string, ctx: string): string[] => {
    const m = new RegExp(`github\\.event_name == '${event}' && \\(([^)]*)\\)`).exec(expr);
    if (!m) return [];
    return [...m[1]!.matchAll(new RegExp(`${ctx.replace(".", "\\.")} == '([^']*)'`, "g"))].map((x) => x[1]!);
  };
  return { push: clause("push", "github.ref_name"), pullRequest: clause("pull_request", "github.base_ref") };
}

/** Evaluates a single-quoted Groovy string literal the way Groovy does. */
function unGroovy(literal: string): string {
  assert.ok(literal.startsWith("'") && literal.endsWith("'"), literal);
  const body = literal.slice(1, -1);
  const map: Record<string, string> = { n: "\n", r: "\r", t: "\t", "\\": "\\", "'": "'" };
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === "\\") {
      const next = body[++i]!;
      assert.ok(next in map, `unknown escape \\${next}`);
      out += map[next];
    } else {
      assert.notEqual(c, "'", `unescaped quote in ${literal}`);
      out += c;
    }
  }
  return out;
}

/** Evaluates a triple-single-quoted Groovy string literal. */
function unGroovyMultiline(literal: string): string {
  assert.ok(literal.startsWith("'''") && literal.endsWith("'''"));
  const body = literal.slice(3, -3);
  assert.ok(!/(^|[^\\])'''/.test(body), "an unescaped ''' would end the string early");
  return body.replace(/\\([\\'])/g, "$1");
}

interface JenkinsStage {
  title: string;
  branches: string[];
  changeRequests: string[];
  scripts: string[];
  credentialsIds: string[];
}

/** Splits a rendered Jenkinsfile into its stages (the generator's fixed layout). */
function jenkinsStages(text: string): JenkinsStage[] {
  const starts = [...text.matchAll(/^ {4}stage\(('(?:[^'\\]|\\.)*')\) \{$/gm)];
  return starts.map((m, k) => {
    const chunk = text.slice(m.index, starts[k + 1]?.index ?? text.length);
    return {
      title: unGroovy(m[1]!),
      branches: [...chunk.matchAll(/^\s*branch ('(?:[^'\\]|\\.)*')$/gm)].map((x) => unGroovy(x[1]!)),
      changeRequests: [...chunk.matchAll(/changeRequest target: ('(?:[^'\\]|\\.)*')/g)].map((x) =>
        unGroovy(x[1]!),
      ),
      scripts: [...chunk.matchAll(/sh ('''[\s\S]*?''')\n/g)].map((x) => unGroovyMultiline(x[1]!)),
      credentialsIds: [...chunk.matchAll(/credentialsId: ('(?:[^'\\]|\\.)*')/g)].map((x) => unGroovy(x[1]!)),
    };
  });
}

const script = (s: PipelineStep): string => ["set -eu", ...s.commands].join("\n") + "\n";

describe("mi-service pipeline", () => {
  const full = input(["dev", "test", "prod"]);

  describe("pipelineSteps", () => {
    it("builds on the first environment and only verifies the promoted image later", () => {
      const steps = pipelineSteps(full);
      assert.deepEqual(
        steps.map((s) => s.id),
        [
          "checkout",
          "maven-verify",
          "build-image",
          "push-image",
          "verify-promoted-image",
          "tag-promoted-image",
          "record-tag",
        ],
      );
      const byId = Object.fromEntries(steps.map((s) => [s.id, s]));
      assert.deepEqual(byId["maven-verify"]!.when, { push: ["dev"], pullRequest: ["dev"] });
      assert.deepEqual(byId["push-image"]!.when, { push: ["dev"], pullRequest: [] });
      assert.deepEqual(byId["verify-promoted-image"]!.when, {
        push: ["test", "prod"],
        pullRequest: ["test", "prod"],
      });
      // After the merge only: the registry's retention keeps images by these tags (tag-promoted-image.test.ts).
      assert.deepEqual(byId["tag-promoted-image"]!.when, { push: ["test", "prod"], pullRequest: [] });
      assert.deepEqual(byId["record-tag"]!.when, { push: ["dev"], pullRequest: [] });
      assert.match(byId["maven-verify"]!.commands.join("\n"), /mvn -B .*verify/);
      assert.match(byId["build-image"]!.commands.join("\n"), /--build-arg BASE_IMAGE="\$BASE_IMAGE"/);
      assert.match(byId["push-image"]!.commands.join("\n"), /docker push "\$IMAGE_REPOSITORY:\$IMAGE_TAG"/);
    });

    it("never builds on prod", () => {
      for (const envs of [
        ["dev", "test", "prod"],
        ["dev", "prod"],
        ["test", "prod"],
      ] as Environment[][]) {
        for (const s of pipelineSteps(input(envs))) {
          if (!BUILD_STAGES.includes(s.id)) continue;
          assert.ok(!s.when.push.includes("prod") && !s.when.pullRequest.includes("prod"), `${s.id} on prod`);
        }
      }
      assert.throws(() => buildEnvironment({ service: "x", environments: ["prod"] }), /prod never builds/);
      assert.equal(buildEnvironment({ service: "x", environments: ["prod", "test"] }), "test");
    });

    it("commits the tag with [skip ci], only from the build branch, with only git credentials", () => {
      const record = pipelineSteps(full).find((s) => s.id === "record-tag")!;
      const text = record.commands.join("\n");
      assert.ok(text.includes(SKIP_CI_MARKER));
      assert.match(text, /strenv\(IMAGE_TAG\)' deploy\/values\.yaml/);
      assert.match(text, /git rev-parse FETCH_HEAD\)" != "\$IMAGE_TAG"/, "older builds must not record");
      assert.deepEqual(record.credentials, ["git-push"]);
    });

    it("leaves out stages that never run (dev only: no promotion check)", () => {
      const ids = pipelineSteps(input(["dev"])).map((s) => s.id);
      assert.ok(!ids.includes("verify-promoted-image"));
      assert.ok(ids.includes("record-tag"));
    });
  });

  describe("GitHub Actions workflow", () => {
    it("has the pipeline's steps, in order, with the same names and branch conditions", () => {
      for (const envs of [
        ["dev", "test", "prod"],
        ["dev", "prod"],
        ["dev"],
        ["test", "prod"],
      ] as Environment[][]) {
        const i = input(envs);
        const steps = pipelineSteps(i);
        const gh = stageSteps(workflowOf(i));
        assert.deepEqual(
          gh.map((s) => s.id),
          steps.map((s) => s.id),
        );
        assert.deepEqual(
          gh.map((s) => s.name),
          steps.map((s) => s.title),
        );
        gh.forEach((g, k) => {
          const want = steps[k]!;
          assert.deepEqual(branchesOf(g.if!), {
            push: [...want.when.push],
            pullRequest: [...want.when.pullRequest],
          });
          if (want.action === "shell") assert.equal(g.run, script(want));
          else assert.equal(g.uses, CHECKOUT_ACTION.uses);
        });
      }
    });

    it("triggers on pushes and pull requests to the service's branches only", () => {
      const wf = workflowOf(input(["dev", "prod"]));
      assert.deepEqual(wf.on.push.branches, ["dev", "prod"]);
      assert.deepEqual(wf.on.pull_request.branches, ["dev", "prod"]);
      assert.ok(!renderGitHubWorkflow(input(["dev", "prod"])).includes("'test'"));
    });

    it("names the build job after the required check and keeps permissions minimal", () => {
      const wf = workflowOf(full);
      assert.deepEqual(wf.permissions, {});
      assert.equal(wf.jobs["build"]!.name, GITHUB_CHECK_NAME);
      assert.deepEqual(wf.jobs["build"]!.permissions, { contents: "read" });
      assert.deepEqual(wf.jobs["record-tag"]!.permissions, { contents: "write" });
      assert.equal(wf.jobs["record-tag"]!.needs, "build");
      const writers = Object.values(wf.jobs).filter((j) => j.permissions["contents"] === "write");
      assert.equal(writers.length, 1);
      assert.ok(writers[0]!.steps.some((s) => s.id === "record-tag"));
      // The loop guard: a [skip ci] head commit builds nothing.
      assert.match(wf.jobs["build"]!.if!, /!contains\(github\.event\.head_commit\.message, '\[skip ci\]'\)/);
    });

    it("pins every action to a commit and uses only the platform's secrets", () => {
      const text = renderGitHubWorkflow(full);
      const wf = workflowOf(full);
      const uses = Object.values(wf.jobs).flatMap((j) => j.steps.flatMap((s) => (s.uses ? [s.uses] : [])));
      assert.ok(uses.length > 0);
      for (const u of uses) assert.match(u, /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
      const secrets = new Set([...text.matchAll(/secrets\.(\w+)/g)].map((m) => m[1]));
      assert.deepEqual([...secrets].sort(), ["REGISTRY_PASSWORD", "REGISTRY_USERNAME"]);
      // Secrets only reach the steps that need the registry.
      for (const s of stageSteps(wf)) {
        const needs = pipelineSteps(full)
          .find((p) => p.id === s.id)!
          .credentials.includes("registry");
        assert.equal(s.env !== undefined, needs, s.id);
      }
    });

    it("carries hyphenated tenant and service names through unchanged", () => {
      const i = input(["dev", "test"], "acme-hr-eu", "pay-roll-sync");
      const wf = workflowOf(i);
      assert.equal(wf.env["IMAGE_REPOSITORY"], "registry.example.com/acme-hr-eu/pay-roll-sync");
      assert.equal(wf.env["BASE_IMAGE"], "registry.example.com/platform/mi-base:4.4.0");
      assert.equal(wf.env["IMAGE_TAG"], ghExpr("github.sha"));
      assert.equal(ghExpr("github.sha"), "$" + "{{ github.sha }}");
    });

    it("renders an explicit condition for every stage", () => {
      assert.equal(githubCondition({ push: [], pullRequest: [] }), "false");
      assert.equal(
        githubCondition({ push: ["dev"], pullRequest: [] }),
        "(github.event_name == 'push' && (github.ref_name == 'dev'))",
      );
    });
  });

  describe("Jenkinsfile", () => {
    it("has the pipeline's stages, in order, with the same branches and scripts", () => {
      for (const envs of [["dev", "test", "prod"], ["dev", "prod"], ["dev"]] as Environment[][]) {
        const i = input(envs);
        const steps = pipelineSteps(i);
        const stages = jenkinsStages(renderJenkinsfile(i));
        assert.deepEqual(
          stages.map((s) => s.title),
          steps.map((s) => s.title),
        );
        stages.forEach((st, k) => {
          const want = steps[k]!;
          assert.deepEqual(st.branches, want.when.push);
          assert.deepEqual(st.changeRequests, want.when.pullRequest);
          assert.deepEqual(st.scripts, want.action === "shell" ? [script(want)] : []);
        });
      }
    });

    it("references only the platform's credentials id", () => {
      const i = input(["dev", "test", "prod"], "acme-hr");
      const text = renderJenkinsfile(i);
      const ids = jenkinsStages(text).flatMap((s) => s.credentialsIds);
      assert.ok(ids.length > 0);
      assert.deepEqual([...new Set(ids)], ["acme-hr-registry-ci"]);
      // The registry credential is bound exactly where the pipeline asks for it.
      const stages = jenkinsStages(text);
      pipelineSteps(i).forEach((s, k) => {
        assert.equal(stages[k]!.credentialsIds.length > 0, s.credentials.includes("registry"), s.id);
      });
      assert.ok(!/credentialsId: '(?!acme-hr-registry-ci')/.test(text));
    });

    it("does not build on prod and has no test branch for a [dev, prod] service", () => {
      const stages = jenkinsStages(renderJenkinsfile(input(["dev", "prod"])));
      for (const st of stages.filter((s) =>
        ["Build and unit test", "Build image", "Push image"].includes(s.title),
      )) {
        assert.ok(!st.branches.includes("prod") && !st.changeRequests.includes("prod"), st.title);
      }
      assert.ok(stages.every((s) => !s.branches.includes("test") && !s.changeRequests.includes("test")));
    });

    it("escapes hyphenated names and anything else into inert Groovy literals", () => {
      const text = renderJenkinsfile(input(["dev", "test"], "acme-hr-eu", "pay-roll-sync"));
      assert.match(text, /^ {4}IMAGE_REPOSITORY = 'registry\.example\.com\/acme-hr-eu\/pay-roll-sync'$/m);
      assert.match(text, /credentialsId: 'acme-hr-eu-registry-ci'/);
      for (const s of ["plain", "it's", "back\\slash", "$" + "{env.SECRET}", "two\nlines", "'''", "end'"]) {
        assert.equal(unGroovy(groovyString(s)), s);
        assert.ok(!groovyString(s).startsWith('"'), "never a GString");
      }
      for (const s of ["a'b", "x''y", "'''", "q'''r''''", "ends with '", "\\'''", "$HOME $" + "{x}"]) {
        assert.equal(unGroovyMultiline(groovyMultiline(s)), s);
      }
    });

    it("exports the status context Jenkins reports for pull requests", () => {
      assert.equal(JENKINS_CHECK_NAME, "continuous-integration/jenkins/pr-merge");
    });
  });
});
