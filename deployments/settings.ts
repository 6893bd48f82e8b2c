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
 * The program's own files — what every stack of `<stack>` runs, whichever tenants it holds: a change to
 * one of them can change any stack. Globs from the repository root (a trailing `/**` is a folder).
 * `imaas deploy` uses the same list to decide that every tenant stack is affected.
 */
export function programPaths(stack: string): string[] {
  return [
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

/**
 * Changes that can alter what the platform program does; a push touching none of them deploys nothing.
 * Globs from the repository root, as Deployments' path filters expect.
 */
export function deployPaths(stack: PlatformStack): string[] {
  return ["tenants/**", ...programPaths(stack)];
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
  const trigger: DeployTrigger =
    stack === "dev" ? { kind: "push", branch } : { kind: "tag", patterns: releaseTags };
  const args = settingsArgs(
    stack,
    trigger,
    deployPaths(stack),
    [...(opts.preRunCommands ?? ["npm ci"])],
    opts,
  );
  return {
    stack,
    trigger,
    args,
    ...(trigger.kind === "tag" ? { tagTrigger: { deployTags: true, tagFilters: trigger.patterns } } : {}),
  };
}

/** The `DeploymentSettings` inputs shared by platform and tenant stacks. */
function settingsArgs(
  stack: string,
  trigger: DeployTrigger,
  paths: string[],
  preRunCommands: string[],
  opts: DeploymentOptions,
): DeploymentSettingsArgs {
  return {
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
      paths,
    },
    sourceContext: {
      // The branch previews and dev deploys check out; a tag deploy checks out the tag's commit.
      git: { branch: `refs/heads/${opts.branch ?? "main"}` },
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
}

/** The deployment settings of one tenant stack (`<platform>.<tenant>`), as `tenantDeploymentSettings` builds them. */
export interface TenantStackDeploymentSettings {
  /** The tenant stack, `<platform>.<tenant>`. */
  readonly stack: string;
  readonly platformStack: PlatformStack;
  readonly tenant: string;
  /** The platform stack's trigger: tenant stacks deploy when and how their platform stack does. */
  readonly trigger: DeployTrigger;
  /** Inputs of `pulumiservice.DeploymentSettings` for the stack (plain values, no Outputs). */
  readonly args: DeploymentSettingsArgs;
  /** As for platform stacks: tag deploys set by the documented CLI step. */
  readonly tagTrigger?: TagTrigger;
}

const TENANT_NAME = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;

/**
 * The deployment settings of a tenant stack `<platformStack>.<tenant>`: the same trigger, repository and
 * options as its platform stack, but path filters of its own — the tenant's file (`tenants/<tenant>.yaml`
 * or `.yml`) plus the program's paths (`programPaths`), so a change to another tenant's file deploys only
 * that tenant's stack. Before each run, after `npm ci`, `imaas deploy --config-only` writes the stack's
 * config file (`Pulumi.<platform>.<tenant>.yaml`, derived from the platform stack's; see cli/DEPLOY.md).
 */
export function tenantDeploymentSettings(
  platformStack: PlatformStack,
  tenant: string,
  opts: DeploymentOptions,
): TenantStackDeploymentSettings {
  if (!TENANT_NAME.test(tenant)) {
    throw new Error(`tenantDeploymentSettings: "${tenant}" is not a tenant name`);
  }
  const platform = deploymentSettingsFor(platformStack, opts);
  const stack = `${platformStack}.${tenant}`;
  const preRunCommands = [
    ...(opts.preRunCommands ?? ["npm ci"]),
    `npx imaas deploy --stack ${platformStack} --only ${tenant} --config-only`,
  ];
  const paths = [`tenants/${tenant}.yaml`, `tenants/${tenant}.yml`, ...programPaths(platformStack)];
  return {
    stack,
    platformStack,
    tenant,
    trigger: platform.trigger,
    args: settingsArgs(stack, platform.trigger, paths, preRunCommands, opts),
    ...(platform.tagTrigger ? { tagTrigger: platform.tagTrigger } : {}),
  };
}

/**
 * The Pulumi CLI command that turns tag deploys on for a stack, for what `DeploymentSettings` cannot
 * express. Arguments are returned as a list (quote them when pasting into a shell).
 */
export function tagTriggerCommand(
  settings: StackDeploymentSettings | TenantStackDeploymentSettings,
): string[] | undefined {
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
