import * as pulumi from "@pulumi/pulumi";
import type { HarborConnectionArgs } from "./connection";
import { type HarborRobotAction, harborRobotAccountProvider } from "./robot-account-provider";

/** Arguments of a {@link HarborRobotAccount}. */
export interface HarborRobotAccountArgs extends HarborConnectionArgs {
  /** Name of the Harbor project the robot belongs to. Changing it replaces the robot. */
  readonly project: pulumi.Input<string>;
  /** Short robot name (e.g. `ci`); Harbor names the account `robot$<project>+<name>`. Changing it replaces the robot. */
  readonly name: pulumi.Input<string>;
  /** Free text shown in Harbor. @default "" */
  readonly description?: pulumi.Input<string>;
  /**
   * Grants in the project: `pull`/`push` on its repositories (`["pull", "push"]` for CI, `["pull"]` for a
   * cluster) and any other project-scope grant Harbor gives robots as `resource:action`, e.g. `tag:create`.
   */
  readonly permissions: pulumi.Input<pulumi.Input<HarborRobotAction>[]>;
  /** Lifetime in days; -1 never expires. @default -1 */
  readonly duration?: pulumi.Input<number>;
  /** Keep the account but refuse its logins. @default false */
  readonly disabled?: pulumi.Input<boolean>;
  /**
   * Rotate the secret (Harbor's `PATCH /robots/{id}`) on the first `pulumi up` after it is this many days
   * old; resources using `secret` are updated in the same run. @default undefined (never by age)
   */
  readonly rotationDays?: pulumi.Input<number>;
  /** Rotate the secret if it was issued before this ISO 8601 instant (on-demand rotation). @default undefined */
  readonly rotateIfIssuedBefore?: pulumi.Input<string>;
  /** Postpone any rotation until this Unix time (seconds). @default undefined */
  readonly holdRotationUntil?: pulumi.Input<number | undefined>;
}

/**
 * A project-level Harbor robot account (`POST /robots`, level `project`). Its secret is returned by
 * Harbor only at creation: it is kept in state as a Pulumi secret, and a robot deleted outside Pulumi
 * is recreated (with a new secret) on the next update after a refresh.
 */
export class HarborRobotAccount extends pulumi.dynamic.Resource {
  /** Harbor's numeric robot id (also the resource id). */
  declare public readonly robotId: pulumi.Output<number>;
  /** Registry user name, e.g. `robot$acme+ci`. */
  declare public readonly fullName: pulumi.Output<string>;
  /** Registry password (Pulumi secret). */
  declare public readonly secret: pulumi.Output<string>;
  /** When the current secret was issued, Unix seconds (creation or last rotation). */
  declare public readonly secretIssuedAt: pulumi.Output<number>;
  /** Expiry in Unix seconds; -1 never. */
  declare public readonly expiresAt: pulumi.Output<number>;
  /** Project name. */
  declare public readonly project: pulumi.Output<string>;
  /** Granted repository actions, sorted, as Harbor has them. */
  declare public readonly permissions: pulumi.Output<string[]>;
  /** Whether Harbor has the account disabled. */
  declare public readonly disabled: pulumi.Output<boolean>;

  constructor(name: string, args: HarborRobotAccountArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      harborRobotAccountProvider,
      name,
      {
        ...args,
        password: pulumi.secret(args.password),
        description: args.description,
        duration: args.duration,
        disabled: args.disabled,
        rotationDays: args.rotationDays,
        rotateIfIssuedBefore: args.rotateIfIssuedBefore,
        holdRotationUntil: args.holdRotationUntil,
        robotId: undefined,
        secretIssuedAt: undefined,
        fullName: undefined,
        secret: undefined,
        expiresAt: undefined,
      },
      {
        ...opts,
        additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "password", "secret"],
      },
    );
    // The engine stores and returns it as a secret (additionalSecretOutputs); wrapping it as well keeps
    // it secret where no engine is involved, e.g. under mocks.
    (this as { secret: pulumi.Output<string> }).secret = pulumi.secret(this.secret);
  }
}
