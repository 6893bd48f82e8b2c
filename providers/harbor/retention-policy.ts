import * as pulumi from "@pulumi/pulumi";
import type { HarborConnectionArgs } from "./connection";
import { harborRetentionPolicyProvider } from "./retention-policy-provider";

/** Arguments of a {@link HarborRetentionPolicy}. */
export interface HarborRetentionPolicyArgs extends HarborConnectionArgs {
  /** Name of the Harbor project. Changing it replaces the policy. */
  readonly project: pulumi.Input<string>;
  /** Keep the N most recently pushed artifacts (tagged or untagged) of every repository; 1–32766. */
  readonly keepLastPushed: pulumi.Input<number>;
  /**
   * Also keep, whatever their age, artifacts with a tag matching this doublestar pattern
   * (e.g. `v*` or `{release-*,prod-*}`). @default undefined (no extra rule)
   */
  readonly keepTagsMatching?: pulumi.Input<string>;
  /**
   * Also keep, per entry, the `count` most recently pushed artifacts with a tag matching `pattern`
   * (Harbor's push time of an artifact is the latest of its own and its tags' push times, so adding a
   * tag counts as a push). At most 15 rules in all. @default undefined (no extra rules)
   */
  readonly keepLatestMatching?: pulumi.Input<pulumi.Input<{ pattern: string; count: number }>[]>;
  /** When Harbor runs the policy: a 6-field cron, seconds first. @default "0 0 0 * * *" (daily at midnight) */
  readonly schedule?: pulumi.Input<string>;
}

/**
 * A Harbor project's tag retention policy (`/retentions`): artifacts not retained by its rules are
 * deleted when the schedule runs. A project has at most one policy: an existing one is taken over.
 */
export class HarborRetentionPolicy extends pulumi.dynamic.Resource {
  /** Harbor's retention policy id (also the resource id). */
  declare public readonly retentionId: pulumi.Output<number>;
  /** Harbor's numeric project id. */
  declare public readonly projectId: pulumi.Output<number>;
  /** Project name. */
  declare public readonly project: pulumi.Output<string>;
  /** Artifacts kept per repository, as Harbor has it. */
  declare public readonly keepLastPushed: pulumi.Output<number>;
  /** Tag pattern always kept, if any. */
  declare public readonly keepTagsMatching: pulumi.Output<string | undefined>;
  /** Extra keep-latest rules by tag pattern, as Harbor has them. */
  declare public readonly keepLatestMatching: pulumi.Output<{ pattern: string; count: number }[] | undefined>;
  /** Cron schedule, as Harbor has it. */
  declare public readonly schedule: pulumi.Output<string>;
  /** Templates of the rules Harbor holds (`latestPushedK`, `always`). */
  declare public readonly ruleTemplates: pulumi.Output<string[]>;

  constructor(name: string, args: HarborRetentionPolicyArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      harborRetentionPolicyProvider,
      name,
      {
        ...args,
        password: pulumi.secret(args.password),
        keepTagsMatching: args.keepTagsMatching,
        keepLatestMatching: args.keepLatestMatching,
        schedule: args.schedule,
        retentionId: undefined,
        projectId: undefined,
        ruleTemplates: undefined,
      },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "password"] },
    );
  }
}
