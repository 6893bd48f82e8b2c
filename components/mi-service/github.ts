/**
 * The service's GitHub repository: private, kept when the service is removed, one branch per environment
 * (`dev` the default), protected promotion branches, the tenant team as maintainer, seeded files, and
 * the CI's registry credentials.
 */
import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import type { Environment } from "../../model/environments";
import { requiredGateContexts } from "../platform/promotion-gate";
import { branchName } from "../../model/naming";

export interface SeedFile {
  readonly path: string;
  readonly content: string;
}

export interface ServiceRepositoryArgs {
  readonly repositoryName: string;
  readonly description: string;
  /** Environments in promotion order; the first is the default branch. */
  readonly environments: readonly Environment[];
  /** Files created once on the first environment's branch; never overwritten afterwards. */
  readonly seedFiles: readonly SeedFile[];
  /** Status check (CI job or Jenkins context) required on protected branches. */
  readonly requiredCheck: string;
  /** Team id that gets `maintain`; undefined when GitHub teams are not managed. */
  readonly teamId?: pulumi.Input<string>;
  /** GitHub Actions secrets to set (name → secret value), e.g. the registry robot credentials. */
  readonly actionsSecrets?: Readonly<Record<string, pulumi.Input<string>>>;
  /** A webhook to deliver push and pull-request events to (Jenkins). */
  readonly webhook?: { readonly url: string; readonly secret?: pulumi.Input<string> };
  /**
   * The promotion check the tenant cannot edit: a workflow file the platform writes into a
   * platform-owned repository, required on the promotion branches by an organization ruleset.
   * @default none (only `requiredCheck`, which runs the pull request's own workflow)
   */
  readonly promotionCheck?: PromotionCheckArgs;
  /**
   * The promotion gate: a merge into a protected branch also requires `imaas/<previous env>-healthy`,
   * which only Argo CD posts (components/platform/promotion-gate.ts). @default false
   */
  readonly healthGate?: boolean;
}

export interface PromotionCheckArgs {
  /** Name of the platform-owned repository (same owner) that holds the workflow. */
  readonly repository: string;
  /** Its numeric id, which rulesets reference. @default looked up by name with the GitHub provider */
  readonly repositoryId?: pulumi.Input<number>;
  /** Branch of that repository the workflow is read from (and written to). */
  readonly ref: string;
  /** Path of the workflow file there. */
  readonly path: string;
  /** The workflow YAML. */
  readonly content: string;
}

export interface ServiceRepository {
  readonly repository: github.Repository;
  readonly branches: Readonly<Partial<Record<Environment, pulumi.Resource>>>;
  readonly protections: github.BranchProtection[];
  readonly files: github.RepositoryFile[];
  /** The ruleset requiring the platform-owned promotion check; undefined without one. */
  readonly promotionRuleset?: github.OrganizationRuleset;
}

/** Environments whose branches are protected: every one after the first (the promotion targets). */
export function protectedEnvironments(envs: readonly Environment[]): Environment[] {
  return envs.slice(1);
}

export function createServiceRepository(
  name: string,
  args: ServiceRepositoryArgs,
  parent: pulumi.Resource,
  provider: github.Provider,
): ServiceRepository {
  const opts = { parent, provider };
  const [first, ...rest] = args.environments;
  const repository = new github.Repository(
    `${name}-repo`,
    {
      name: args.repositoryName,
      description: args.description,
      visibility: "private",
      autoInit: true,
      archiveOnDestroy: true,
      deleteBranchOnMerge: false,
      hasIssues: true,
      hasWiki: false,
      vulnerabilityAlerts: true,
      allowMergeCommit: true,
      allowSquashMerge: true,
      allowRebaseMerge: false,
    },
    // Removing a service from a tenant file must never delete its source code.
    { ...opts, retainOnDelete: true },
  );

  // The auto-initialised branch becomes the first environment's branch (renamed, not copied).
  const defaultBranch = new github.BranchDefault(
    `${name}-branch-${first}`,
    { repository: repository.name, branch: branchName(first), rename: true },
    { ...opts, retainOnDelete: true },
  );

  const files = args.seedFiles.map(
    (f) =>
      new github.RepositoryFile(
        `${name}-file-${f.path.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "")}`,
        {
          repository: repository.name,
          branch: defaultBranch.branch,
          file: f.path,
          content: f.content,
          commitMessage: `Seed ${f.path} from the IMaaS platform [skip ci]`,
          commitAuthor: "IMaaS platform",
          commitEmail: "imaas-platform@users.noreply.github.com",
          overwriteOnCreate: false,
        },
        // Seeded once: what the team changes later is theirs, and removing the service keeps it.
        {
          ...opts,
          retainOnDelete: true,
          ignoreChanges: ["content", "commitMessage", "commitAuthor", "commitEmail"],
        },
      ),
  );

  const branches: Partial<Record<Environment, pulumi.Resource>> = { [first]: defaultBranch };
  for (const env of rest) {
    branches[env] = new github.Branch(
      `${name}-branch-${env}`,
      { repository: repository.name, branch: branchName(env), sourceBranch: defaultBranch.branch },
      { ...opts, retainOnDelete: true, dependsOn: files },
    );
  }

  const protections = protectedEnvironments(args.environments).map(
    (env) =>
      new github.BranchProtection(
        `${name}-protect-${env}`,
        {
          repositoryId: repository.nodeId,
          pattern: branchName(env),
          enforceAdmins: true,
          allowsDeletions: false,
          allowsForcePushes: false,
          requireConversationResolution: true,
          requiredPullRequestReviews: [
            { requiredApprovingReviewCount: 1, requireCodeOwnerReviews: true, dismissStaleReviews: true },
          ],
          requiredStatusChecks: [
            {
              strict: true,
              contexts: [
                args.requiredCheck,
                ...(args.healthGate ? requiredGateContexts(env, args.environments) : []),
              ],
            },
          ],
        },
        { ...opts, dependsOn: [branches[env]!] },
      ),
  );

  if (args.teamId !== undefined) {
    new github.TeamRepository(
      `${name}-team`,
      { teamId: args.teamId, repository: repository.name, permission: "maintain" },
      opts,
    );
  }

  for (const [secretName, value] of Object.entries(args.actionsSecrets ?? {})) {
    new github.ActionsSecret(
      `${name}-secret-${secretName.toLowerCase()}`,
      { repository: repository.name, secretName, plaintextValue: pulumi.secret(value) },
      opts,
    );
  }

  if (args.webhook) {
    new github.RepositoryWebhook(
      `${name}-webhook`,
      {
        repository: repository.name,
        active: true,
        events: ["push", "pull_request"],
        configuration: {
          url: args.webhook.url,
          contentType: "json",
          insecureSsl: false,
          ...(args.webhook.secret !== undefined ? { secret: pulumi.secret(args.webhook.secret) } : {}),
        },
      },
      opts,
    );
  }

  const promotionRuleset = args.promotionCheck
    ? createPromotionRuleset(name, args, args.promotionCheck, repository, opts)
    : undefined;

  return { repository, branches, protections, files, ...(promotionRuleset ? { promotionRuleset } : {}) };
}

/**
 * The platform-owned promotion check: the workflow file in the platform's repository (overwritten on
 * every update — the platform owns it), and an organization ruleset that requires it on the service's
 * promotion branches. No bypass actors: like the branch protection, it holds for admins too.
 */
function createPromotionRuleset(
  name: string,
  args: ServiceRepositoryArgs,
  check: PromotionCheckArgs,
  repository: github.Repository,
  opts: { parent: pulumi.Resource; provider: github.Provider },
): github.OrganizationRuleset | undefined {
  const promoted = protectedEnvironments(args.environments);
  if (promoted.length === 0) return undefined;
  const file = new github.RepositoryFile(
    `${name}-promotion-check`,
    {
      repository: check.repository,
      branch: check.ref,
      file: check.path,
      content: check.content,
      commitMessage: `imaas: promotion check of ${args.repositoryName}`,
      commitAuthor: "IMaaS platform",
      commitEmail: "imaas-platform@users.noreply.github.com",
      overwriteOnCreate: true,
    },
    opts,
  );
  return new github.OrganizationRuleset(
    `${name}-promotion-ruleset`,
    {
      name: `imaas-promotion-${args.repositoryName}`,
      target: "branch",
      enforcement: "active",
      conditions: {
        refName: { includes: promoted.map((env) => `refs/heads/${branchName(env)}`), excludes: [] },
        repositoryIds: [repository.repoId],
      },
      rules: {
        requiredWorkflows: {
          requiredWorkflows: [
            {
              repositoryId:
                check.repositoryId ??
                github.getRepositoryOutput(
                  { name: check.repository },
                  { parent: opts.parent, provider: opts.provider },
                ).repoId,
              path: check.path,
              ref: check.ref,
            },
          ],
        },
      },
    },
    { ...opts, dependsOn: [file] },
  );
}
