/**
 * Pulumi Deployments settings of the platform stacks, built by a pure function (no Pulumi runtime, no
 * config reading) so they are testable as plain data; `index.ts` turns them into resources.
 *
 * - `dev` (the platform's own staging) runs `pulumi up` on every push to the main branch.
 * - `prod` runs `pulumi up` on release tags (`v*`) only, never on a branch push.
 * - Both preview every pull request that touches what the program reads (`paths`).
 *
 * Tag triggers: Pulumi Deployments supports them (`deployTags` + `tagFilters` in the VCS settings), but
 * `pulumiservice.DeploymentSettings` of @pulumi/pulumiservice 1.3.0 cannot express them (its `vcs`
 * input has no such fields; upstream issue pulumi/pulumi-pulumiservice#1042). `deploymentSettingsFor`
 * therefore returns them separately as `tagTrigger`, applied by the documented CLI step in README.md.
 * When the provider gains the fields, move `tagTrigger` into `args.vcs` here and drop that step.
 */
import type { DeploymentSettingsArgs } from "@pulumi/pulumiservice";

export const PLATFORM_STACKS = ["dev", "prod"] as const;
export type PlatformStack = (typeof PLATFORM_STACKS)[number];

/**
 * Changes that can alter what the platform program does; a push touching none of them deploys nothing.
 * Globs from the repository root, as Deployments' path filters expect.
 */
export function deployPaths(stack: PlatformStack): string[] {
  return [
    "tenants/**",
    "components/**",
    "model/**",
    "providers/**",
    "charts/**",
    "index.ts",
    "Pulumi.yaml",
    `Pulumi.${stack}.yaml`,
    "package-lock.json",
  ];
}

export interface DeploymentOptions {
  /** Pulumi Cloud organization that owns the platform stacks. */
  readonly organization: string;
  /** Pulumi project of the platform program. @default "imaas" */
  readonly project?: string;
  /** GitHub repository of this platform, `owner/name`. */
  readonly repository: string;
  /** Branch dev deploys from. @default "main" */
  readonly branch?: string;
  /** Tag globs that deploy prod (a leading `!` excludes). @default ["v*"] */
  readonly releaseTags?: readonly string[];
  /** Commands run before each operation. @default ["npm ci"] (then the default install is skipped) */
  readonly preRunCommands?: readonly string[];
}

/** How a stack's `pulumi up` is triggered. */
export type DeployTrigger =
  | { readonly kind: "push"; readonly branch: string }
  | { readonly kind: "tag"; readonly patterns: readonly string[] };

/** Tag-triggered deploys, in the Pulumi Cloud REST API's VCS settings fields. */
export interface TagTrigger {
  readonly deployTags: true;
  readonly tagFilters: readonly string[];
}

export interface StackDeploymentSettings {
  readonly stack: PlatformStack;
  readonly trigger: DeployTrigger;
  /** Inputs of `pulumiservice.DeploymentSettings` for the stack (plain values, no Outputs). */
  readonly args: DeploymentSettingsArgs;
  /** What `args` cannot express (see the file comment); undefined when nothing is left over. */
  readonly tagTrigger?: TagTrigger;
}

const REPOSITORY = /^[A-Za-z0-9][A-Za-z0-9-]*\/[A-Za-z0-9._-]+$/;

/** The deployment settings of one platform stack. Throws on an option that cannot be right. */
export function deploymentSettingsFor(
  stack: PlatformStack,
  opts: DeploymentOptions,
): StackDeploymentSettings {
  if (!(PLATFORM_STACKS as readonly string[]).includes(stack)) {
    throw new Error(
      `deploymentSettingsFor: unknown platform stack "${stack}" (use ${PLATFORM_STACKS.join(", ")})`,
    );
  }
  if (!REPOSITORY.test(opts.repository)) {
    throw new Error(`deploymentSettingsFor: repository must be owner/name, got "${opts.repository}"`);
  }
  const branch = opts.branch ?? "main";
  const releaseTags = [...(opts.releaseTags ?? ["v*"])];
  if (releaseTags.filter((t) => !t.startsWith("!")).length === 0) {
    throw new Error("deploymentSettingsFor: releaseTags needs at least one including pattern");
  }
  const preRunCommands = [...(opts.preRunCommands ?? ["npm ci"])];
  const trigger: DeployTrigger =
    stack === "dev" ? { kind: "push", branch } : { kind: "tag", patterns: releaseTags };

  const args: DeploymentSettingsArgs = {
    organization: opts.organization,
    project: opts.project ?? "imaas",
    stack,
    vcs: {
      provider: "github",
      repository: opts.repository,
      // Branch pushes deploy dev only; prod must not follow main (it follows release tags).
      deployCommits: trigger.kind === "push",
      previewPullRequests: true,
      pullRequestTemplate: false,
      paths: deployPaths(stack),
    },
    sourceContext: {
      // The branch previews and dev deploys check out; a tag deploy checks out the tag's commit.
      git: { branch: `refs/heads/${branch}` },
    },
    operationContext: {
      preRunCommands,
      options: {
        // `npm ci` above installs exactly the lockfile; the default `npm install` would only repeat it.
        skipInstallDependencies: preRunCommands.some((c) => /^npm (ci|install)\b/.test(c)),
        // A burst of merges runs one `pulumi up` of the latest commit, not one per merge.
        skipIntermediateDeployments: true,
      },
    },
  };
  return {
    stack,
    trigger,
    args,
    ...(trigger.kind === "tag" ? { tagTrigger: { deployTags: true, tagFilters: trigger.patterns } } : {}),
  };
}

/**
 * The Pulumi CLI command that turns tag deploys on for a stack, for what `DeploymentSettings` cannot
 * express. Arguments are returned as a list (quote them when pasting into a shell).
 */
export function tagTriggerCommand(settings: StackDeploymentSettings): string[] | undefined {
  if (!settings.tagTrigger) return undefined;
  const { organization, project } = settings.args as { organization: string; project: string };
  return [
    "pulumi",
    "deployment",
    "settings",
    "edit",
    "--stack",
    `${organization}/${project}/${settings.stack}`,
    "--deploy-tags",
    ...settings.tagTrigger.tagFilters.flatMap((t) => ["--tag-filter", t]),
  ];
}
