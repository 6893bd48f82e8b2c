/**
 * The service repository's CI pipeline, described once. The GitHub Actions workflow
 * (`github-workflow.ts`) and the Jenkinsfile (`jenkinsfile.ts`) are both rendered from
 * `pipelineSteps`, so the two CI systems run the same stages, on the same branches, with the same
 * shell commands and the same platform credentials.
 *
 * The flow: the first environment of the service (normally `dev`) builds — Maven verify, image
 * build FROM the platform's MI base image, push of `<imageRepository>:<git sha>`, and a `[skip ci]`
 * commit of that tag into the branch's `deploy/values.yaml`. Later environments (`test`, `prod`)
 * never build: merging `dev` → `test` → `prod` carries `deploy/values.yaml` along, and CI only checks
 * that the promoted tag exists in the registry (build once, promote the same image). After the merge, CI
 * tags the promoted image `<env>-<tag>` through Harbor's API; the registry's retention keeps images by
 * those tags, so an image an environment runs is never deleted however many dev builds follow.
 *
 * Pure: no Pulumi, no I/O.
 */
import { type Environment, inPromotionOrder } from "../../model/environments";
import {
  branchName,
  imageRepository,
  jenkinsRegistryCredentialsId,
  miBaseImage,
  promotionTag,
} from "../../model/naming";

/** Names of the CI credentials the platform provisions for a service repository. */
export interface PipelineCredentials {
  /**
   * GitHub Actions: names of the repository (or organization) secrets holding the tenant's registry
   * robot account. The platform creates exactly these.
   * @default { usernameSecret: "REGISTRY_USERNAME", passwordSecret: "REGISTRY_PASSWORD" }
   */
  readonly githubActions: { readonly usernameSecret: string; readonly passwordSecret: string };
  /**
   * Jenkins: id of the username/password credential holding the tenant's registry robot account.
   * @default `<tenant>-registry-ci` (see `jenkinsRegistryCredentialsId`)
   */
  readonly jenkins: { readonly registryCredentialsId: string };
}

/** Everything the pipeline generators need to know about one service. */
export interface PipelineInput {
  /** Tenant name (DNS-label-like, may contain hyphens). */
  readonly tenant: string;
  /** Service name (DNS-label-like, may contain hyphens). */
  readonly service: string;
  /** Registry host, without scheme, e.g. `registry.imaas.example.com`. */
  readonly registryHost: string;
  /** Image repository the service's images are pushed to: `<registry>/<tenant>/<service>`. */
  readonly imageRepository: string;
  /** The platform's MI base image: `<registry>/<platform-base-project>/mi-base:<miVersion>`. */
  readonly baseImage: string;
  /** WSO2 MI version of the base image, e.g. `4.4.0`; fixes the install path inside the image. */
  readonly miVersion: string;
  /** Environments of the service, a subset of dev/test/prod in promotion order. Each is a branch. */
  readonly environments: readonly Environment[];
  /** Container image that runs Maven (carries the JDK). @default `DEFAULT_MAVEN_IMAGE` */
  readonly mavenImage: string;
  /** Container image of mikefarah/yq, used to read and write `deploy/values.yaml`. @default `DEFAULT_YQ_IMAGE` */
  readonly yqImage: string;
  /** Container image of curl, used to call Harbor's API. @default `DEFAULT_CURL_IMAGE` */
  readonly curlImage: string;
  /** The CI credentials the platform provides; the generated pipelines reference only these. */
  readonly credentials: PipelineCredentials;
}

/** Maven 3.9 on Eclipse Temurin 21, the JDK MI 4.4 runs on. */
export const DEFAULT_MAVEN_IMAGE = "maven:3.9.9-eclipse-temurin-21";
export const DEFAULT_YQ_IMAGE = "mikefarah/yq:4.44.3";
export const DEFAULT_CURL_IMAGE = "curlimages/curl:8.11.1";
/** Secrets the platform sets on a service repository for GitHub Actions. */
export const GITHUB_REGISTRY_SECRETS = {
  usernameSecret: "REGISTRY_USERNAME",
  passwordSecret: "REGISTRY_PASSWORD",
} as const;

/** Marker in the tag commit's message; both CIs skip builds of a head commit carrying it. */
export const SKIP_CI_MARKER = "[skip ci]";
/** The file in each environment branch that holds the deployed image tag (`image.tag`). */
export const VALUES_FILE = "deploy/values.yaml";

/** Builds a `PipelineInput` with the platform's naming and defaults. */
export function pipelineInput(args: {
  readonly tenant: string;
  readonly service: string;
  readonly registryHost: string;
  /** Registry project holding the MI base image. */
  readonly baseImageProject: string;
  readonly miVersion: string;
  readonly environments: readonly Environment[];
  readonly mavenImage?: string;
  readonly yqImage?: string;
  readonly curlImage?: string;
}): PipelineInput {
  return {
    tenant: args.tenant,
    service: args.service,
    registryHost: args.registryHost,
    imageRepository: imageRepository(args.registryHost, args.tenant, args.service),
    baseImage: miBaseImage(args.registryHost, args.baseImageProject, args.miVersion),
    miVersion: args.miVersion,
    environments: inPromotionOrder(args.environments),
    mavenImage: args.mavenImage ?? DEFAULT_MAVEN_IMAGE,
    yqImage: args.yqImage ?? DEFAULT_YQ_IMAGE,
    curlImage: args.curlImage ?? DEFAULT_CURL_IMAGE,
    credentials: {
      githubActions: GITHUB_REGISTRY_SECRETS,
      jenkins: { registryCredentialsId: jenkinsRegistryCredentialsId(args.tenant) },
    },
  };
}

/**
 * Environment variables the stage commands read. Static ones come from `pipelineEnvironment`; the
 * renderers set `IMAGE_TAG` (the built commit's sha) and `CI_BRANCH` (the pushed branch, or a pull
 * request's target branch) from their CI's own variables, and bind the registry credential to
 * `REGISTRY_USERNAME`/`REGISTRY_PASSWORD` in the stages that need it.
 */
export const PIPELINE_ENV = {
  registryHost: "REGISTRY_HOST",
  imageRepository: "IMAGE_REPOSITORY",
  baseImage: "BASE_IMAGE",
  mavenImage: "MAVEN_IMAGE",
  yqImage: "YQ_IMAGE",
  curlImage: "CURL_IMAGE",
  imageTag: "IMAGE_TAG",
  branch: "CI_BRANCH",
  registryUsername: "REGISTRY_USERNAME",
  registryPassword: "REGISTRY_PASSWORD",
} as const;

/** The static environment of the pipeline, in a fixed order. */
export function pipelineEnvironment(input: PipelineInput): Array<[string, string]> {
  return [
    [PIPELINE_ENV.registryHost, input.registryHost],
    [PIPELINE_ENV.imageRepository, input.imageRepository],
    [PIPELINE_ENV.baseImage, input.baseImage],
    [PIPELINE_ENV.mavenImage, input.mavenImage],
    [PIPELINE_ENV.yqImage, input.yqImage],
    [PIPELINE_ENV.curlImage, input.curlImage],
  ];
}

export type StageId =
  | "checkout"
  | "maven-verify"
  | "build-image"
  | "push-image"
  | "verify-promoted-image"
  | "tag-promoted-image"
  | "record-tag";

/**
 * A credential a stage needs. `registry`: the tenant's CI robot account (GitHub secrets
 * `REGISTRY_USERNAME`/`REGISTRY_PASSWORD`, Jenkins `<tenant>-registry-ci`). `git-push`: write access
 * to the repository itself (GitHub's job token with `contents: write`; Jenkins: the credential the
 * job already checks the repository out with).
 */
export type PipelineCredential = "registry" | "git-push";

/**
 * Where a stage runs. GitHub Actions renders each job as a job (with its own permissions);
 * Jenkins runs all stages in one pipeline.
 * - `build`: read-only; its name is the required status check.
 * - `record-tag`: the only job allowed to write to the repository.
 */
export type PipelineJob = "build" | "record-tag";

/** When a stage runs: on pushes to these branches, and on pull requests into these branches. */
export interface StageCondition {
  readonly push: readonly string[];
  readonly pullRequest: readonly string[];
}

export interface PipelineStep {
  readonly id: StageId;
  /** Human-readable stage name; the GitHub step name and the Jenkins stage name. */
  readonly title: string;
  readonly job: PipelineJob;
  readonly when: StageCondition;
  /** `checkout`: the CI's own checkout of the commit under test; `shell`: run `commands`. */
  readonly action: "checkout" | "shell";
  /** POSIX shell lines, run as one script that stops at the first failing command. */
  readonly commands: readonly string[];
  /** Credentials bound while the commands run; nothing else is available to them. */
  readonly credentials: readonly PipelineCredential[];
}

/** The environment whose branch builds images: the service's first. Throws for a prod-only service. */
export function buildEnvironment(input: Pick<PipelineInput, "service" | "environments">): Environment {
  const first = inPromotionOrder(input.environments)[0];
  if (first === undefined) throw new Error(`service "${input.service}": environments is empty`);
  if (first === "prod") {
    throw new Error(
      `service "${input.service}": prod never builds images (build once, promote the same image); ` +
        "give the service a dev or test environment to build in",
    );
  }
  return first;
}

/** Environments that receive images by promotion (merge) and never build. */
export function promotionEnvironments(input: Pick<PipelineInput, "service" | "environments">): Environment[] {
  const build = buildEnvironment(input);
  return inPromotionOrder(input.environments).filter((e) => e !== build);
}

const E = PIPELINE_ENV;
/** Logs out of the registry when the script ends, however it ends. */
const LOGOUT_ON_EXIT = `trap 'docker logout "$${E.registryHost}" >/dev/null 2>&1 || true' EXIT`;
const REGISTRY_LOGIN =
  `printf '%s' "$${E.registryPassword}" | ` +
  `docker login "$${E.registryHost}" --username "$${E.registryUsername}" --password-stdin`;
/** Runs a container as the CI user on the workspace, so files it writes stay the CI user's. */
const asCiUser = (mount: string): string =>
  `docker run --rm --user "$(id -u):$(id -g)" -v "$PWD":${mount} -w ${mount}`;

/** Reads `image.tag` of the branch's `deploy/values.yaml` into `$promoted`, failing when there is none. */
const READ_PROMOTED_TAG = [
  `promoted="$(docker run --rm -v "$PWD":/workdir -w /workdir "$${E.yqImage}" '.image.tag // ""' ${VALUES_FILE})"`,
  'if [ -z "$promoted" ]; then',
  `  echo "${VALUES_FILE} has no image.tag: merge the branch that built the image first" >&2`,
  "  exit 1",
  "fi",
];

/**
 * Tags the promoted image `<env>-<tag>` with Harbor's `POST /projects/{p}/repositories/{r}/artifacts/{ref}/tags`
 * (the CI robot holds `tag:create`); the credentials reach curl on stdin, never on a command line.
 * 201 tagged, 409 already tagged (a re-run, or a rollback to an image this environment ran before).
 */
function tagPromotedImage(input: PipelineInput): string[] {
  const envs = promotionEnvironments(input);
  return [
    ...READ_PROMOTED_TAG,
    `case "$${E.branch}" in`,
    ...envs.map((env) => `  ${branchName(env)}) tag="${promotionTag(env, "$promoted")}" ;;`),
    `  *) echo "$${E.branch} is not a promotion branch" >&2; exit 1 ;;`,
    "esac",
    `path="$\{${E.imageRepository}#*/}"`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
    'project="${path%%/*}"',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
    'repo="${path#*/}"',
    `status="$(printf 'user = "%s:%s"\\n' "$${E.registryUsername}" "$${E.registryPassword}" | ` +
      `docker run -i --rm "$${E.curlImage}" -K - -sS -o /dev/null -w '%{http_code}' -X POST ` +
      `-H 'Content-Type: application/json' -d "{\\"name\\":\\"$tag\\"}" ` +
      `"https://$${E.registryHost}/api/v2.0/projects/$project/repositories/$repo/artifacts/$promoted/tags")"`,
    'case "$status" in',
    `  201) echo "tagged $${E.imageRepository}:$promoted as $tag: the registry keeps it" ;;`,
    `  409) echo "$${E.imageRepository}:$promoted is already tagged $tag" ;;`,
    `  *) echo "could not tag $${E.imageRepository}:$promoted as $tag (Harbor answered HTTP $status)" >&2; exit 1 ;;`,
    "esac",
  ];
}

/** The ordered stages of the service pipeline; stages that never run for this service are left out. */
export function pipelineSteps(input: PipelineInput): PipelineStep[] {
  const all = pipelineBranches(input);
  const build = [branchName(buildEnvironment(input))];
  const promoted = promotionEnvironments(input).map(branchName);
  const image = `"$${E.imageRepository}:$${E.imageTag}"`;
  const steps: PipelineStep[] = [
    {
      id: "checkout",
      title: "Check out",
      job: "build",
      when: { push: all, pullRequest: all },
      action: "checkout",
      commands: [],
      credentials: [],
    },
    {
      id: "maven-verify",
      title: "Build and unit test",
      job: "build",
      when: { push: build, pullRequest: build },
      action: "shell",
      commands: [
        `${asCiUser("/workspace")} -e HOME=/tmp -e MAVEN_CONFIG=/tmp/.m2 "$${E.mavenImage}" ` +
          "mvn -B -ntp -Dmaven.repo.local=/workspace/.m2/repository verify",
        "ls target/*.car",
      ],
      credentials: [],
    },
    {
      id: "build-image",
      title: "Build image",
      job: "build",
      when: { push: build, pullRequest: build },
      action: "shell",
      commands: [
        LOGOUT_ON_EXIT,
        REGISTRY_LOGIN,
        `docker build --pull --build-arg BASE_IMAGE="$${E.baseImage}" --tag ${image} .`,
      ],
      credentials: ["registry"],
    },
    {
      id: "push-image",
      title: "Push image",
      job: "build",
      when: { push: build, pullRequest: [] },
      action: "shell",
      commands: [LOGOUT_ON_EXIT, REGISTRY_LOGIN, `docker push ${image}`],
      credentials: ["registry"],
    },
    {
      id: "verify-promoted-image",
      title: "Verify promoted image",
      job: "build",
      when: { push: promoted, pullRequest: promoted },
      action: "shell",
      commands: [
        LOGOUT_ON_EXIT,
        ...READ_PROMOTED_TAG,
        REGISTRY_LOGIN,
        `if ! docker manifest inspect "$${E.imageRepository}:$promoted" >/dev/null; then`,
        `  echo "$${E.imageRepository}:$promoted is not in the registry; only images built by CI can be promoted" >&2`,
        "  exit 1",
        "fi",
        `echo "promoting $${E.imageRepository}:$promoted (no rebuild)"`,
      ],
      credentials: ["registry"],
    },
    {
      id: "tag-promoted-image",
      title: "Tag promoted image",
      job: "build",
      when: { push: promoted, pullRequest: [] },
      action: "shell",
      commands: tagPromotedImage(input),
      credentials: ["registry"],
    },
    {
      id: "record-tag",
      title: "Record image tag",
      job: "record-tag",
      when: { push: build, pullRequest: [] },
      action: "shell",
      commands: [
        // Only the newest build of the branch records its tag: an older build finishing late must not
        // roll the branch back, and a commit made here must not start another build ([skip ci]).
        `git fetch --no-tags origin "$${E.branch}"`,
        `if [ "$(git rev-parse FETCH_HEAD)" != "$${E.imageTag}" ]; then`,
        `  echo "$${E.branch} has moved past $${E.imageTag}; the newer build records its own tag"`,
        "  exit 0",
        "fi",
        `git checkout -B "$${E.branch}" FETCH_HEAD`,
        `${asCiUser("/workdir")} -e ${E.imageTag} "$${E.yqImage}" -i '.image.tag = strenv(${E.imageTag})' ${VALUES_FILE}`,
        `if git diff --quiet -- ${VALUES_FILE}; then`,
        `  echo "${VALUES_FILE} already deploys $${E.imageTag}"`,
        "  exit 0",
        "fi",
        `git -c user.name="imaas-ci" -c user.email="imaas-ci@users.noreply.github.com" commit ` +
          `-m "ci: deploy $${E.imageRepository}:$${E.imageTag} ${SKIP_CI_MARKER}" -- ${VALUES_FILE}`,
        `git push origin "HEAD:$${E.branch}"`,
      ],
      credentials: ["git-push"],
    },
  ];
  return steps.filter((s) => s.when.push.length > 0 || s.when.pullRequest.length > 0);
}

/** Every branch the pipeline is triggered on (push and pull request), in promotion order. */
export function pipelineBranches(input: Pick<PipelineInput, "environments">): string[] {
  return inPromotionOrder(input.environments).map(branchName);
}
