/**
 * The service repository's GitHub Actions workflow, rendered from `pipelineSteps` (pure).
 *
 * Two jobs: `build` (read-only; its name is the status check branch protection requires) runs the
 * checkout, build, push and promotion-check stages; `record-tag` — the only job with
 * `contents: write` — commits the pushed tag into `deploy/values.yaml`. Every stage step carries
 * `id: <stage id>` and an `if:` built from the stage's branches, so the workflow can be checked
 * against the pipeline description.
 */
import YAML from "yaml";
import {
  PIPELINE_ENV,
  type PipelineCredential,
  type PipelineInput,
  type PipelineJob,
  type PipelineStep,
  pipelineBranches,
  pipelineEnvironment,
  pipelineSteps,
  SKIP_CI_MARKER,
  type StageCondition,
} from "./pipeline";

/** Where the workflow lives in the service repository. */
export const GITHUB_WORKFLOW_PATH = ".github/workflows/imaas-ci.yml";
/** The workflow's name. */
export const GITHUB_WORKFLOW_NAME = "ci";
/**
 * Name of the check run GitHub reports for the build job (a check run is named after its job's
 * `name:`). Branch protection of every environment branch requires it.
 */
export const GITHUB_CHECK_NAME = "ci / build";
/** Runner image, pinned to a version rather than `ubuntu-latest`. */
export const GITHUB_RUNNER = "ubuntu-24.04";
/** actions/checkout v4.2.2, pinned by commit. */
export const CHECKOUT_ACTION = {
  uses: "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683",
  version: "v4.2.2",
} as const;

const JOB_NAMES: Record<PipelineJob, string> = {
  build: GITHUB_CHECK_NAME,
  "record-tag": "ci / record image tag",
};

/** A GitHub Actions expression, `${{ … }}`. */
export const ghExpr = (e: string): string => "$" + `{{ ${e} }}`;

/** A single-quoted GitHub expression string literal. */
const ghString = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** The `if:` expression for a stage condition (always explicit, never empty). */
export function githubCondition(when: StageCondition): string {
  const any = (ctx: string, branches: readonly string[]): string =>
    branches.map((b) => `${ctx} == ${ghString(b)}`).join(" || ");
  const clauses: string[] = [];
  if (when.push.length > 0) {
    clauses.push(`(github.event_name == 'push' && (${any("github.ref_name", when.push)}))`);
  }
  if (when.pullRequest.length > 0) {
    clauses.push(`(github.event_name == 'pull_request' && (${any("github.base_ref", when.pullRequest)}))`);
  }
  return clauses.length > 0 ? clauses.join(" || ") : "false";
}

function secretsEnv(input: PipelineInput, creds: readonly PipelineCredential[]): Record<string, string> {
  if (!creds.includes("registry")) return {};
  const s = input.credentials.githubActions;
  return {
    [PIPELINE_ENV.registryUsername]: ghExpr(`secrets.${s.usernameSecret}`),
    [PIPELINE_ENV.registryPassword]: ghExpr(`secrets.${s.passwordSecret}`),
  };
}

/** One pipeline stage as a GitHub Actions step (shared with the platform-owned promotion check). */
export function renderStep(input: PipelineInput, step: PipelineStep): Record<string, unknown> {
  const base: Record<string, unknown> = { id: step.id, name: step.title, if: githubCondition(step.when) };
  if (step.action === "checkout") {
    return { ...base, uses: CHECKOUT_ACTION.uses, with: { "persist-credentials": false } };
  }
  const env = secretsEnv(input, step.credentials);
  return {
    ...base,
    ...(Object.keys(env).length > 0 ? { env } : {}),
    run: ["set -eu", ...step.commands].join("\n") + "\n",
  };
}

/** Renders the workflow YAML for a service. */
export function renderGitHubWorkflow(input: PipelineInput): string {
  const steps = pipelineSteps(input);
  const branches = pipelineBranches(input);
  const notSkipped =
    `github.event_name != 'push' || ` +
    `!contains(github.event.head_commit.message, ${ghString(SKIP_CI_MARKER)})`;

  const jobs: Record<string, unknown> = {
    build: {
      name: JOB_NAMES.build,
      "runs-on": GITHUB_RUNNER,
      if: notSkipped,
      permissions: { contents: "read" },
      "timeout-minutes": 30,
      steps: steps.filter((s) => s.job === "build").map((s) => renderStep(input, s)),
    },
  };
  const recordSteps = steps.filter((s) => s.job === "record-tag");
  if (recordSteps.length > 0) {
    const conditions = recordSteps.map((s) => githubCondition(s.when));
    jobs["record-tag"] = {
      name: JOB_NAMES["record-tag"],
      needs: "build",
      "runs-on": GITHUB_RUNNER,
      if: conditions.length === 1 ? conditions[0] : conditions.map((c) => `(${c})`).join(" || "),
      permissions: { contents: "write" },
      "timeout-minutes": 10,
      steps: [
        // The job's own checkout keeps the job token so the tag commit can be pushed.
        { name: "Check out for the tag commit", uses: CHECKOUT_ACTION.uses },
        ...recordSteps.map((s) => renderStep(input, s)),
      ],
    };
  }

  const workflow = {
    name: GITHUB_WORKFLOW_NAME,
    on: {
      push: { branches },
      pull_request: { branches },
    },
    permissions: {},
    concurrency: { group: `ci-${ghExpr("github.ref")}`, "cancel-in-progress": false },
    env: {
      ...Object.fromEntries(pipelineEnvironment(input)),
      [PIPELINE_ENV.imageTag]: ghExpr("github.sha"),
      [PIPELINE_ENV.branch]: ghExpr("github.base_ref || github.ref_name"),
    },
    jobs,
  };

  const doc = new YAML.Document(workflow, { aliasDuplicateObjects: false });
  doc.commentBefore =
    ` Generated by the IMaaS platform for ${input.tenant}/${input.service}; the platform owns this file.\n` +
    " Push to the first environment branch builds and publishes an image; merges promote it.";
  for (const [job, list] of Object.entries(jobs) as Array<[string, { steps: Array<{ uses?: string }> }]>) {
    list.steps.forEach((s, i) => {
      if (s.uses !== CHECKOUT_ACTION.uses) return;
      const node = doc.getIn(["jobs", job, "steps", i, "uses"], true);
      if (YAML.isScalar(node)) node.comment = ` ${CHECKOUT_ACTION.version}`;
    });
  }
  return doc.toString({ lineWidth: 0 });
}
