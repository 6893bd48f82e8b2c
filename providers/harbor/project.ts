import * as pulumi from "@pulumi/pulumi";
import type { HarborConnectionArgs } from "./connection";
import { type HarborSeverity, harborProjectProvider } from "./project-provider";

/** Arguments of a {@link HarborProject}. */
export interface HarborProjectArgs extends HarborConnectionArgs {
  /** Project name: lower-case letters and digits separated by `.`, `_` or `-`. Changing it replaces the project. */
  readonly name: pulumi.Input<string>;
  /** Only members (and robots) may pull. @default true */
  readonly private?: pulumi.Input<boolean>;
  /**
   * Storage quota in bytes; -1 is unlimited. Managing it needs a Harbor system administrator (Harbor serves
   * `/quotas` to nobody else). @default undefined (not managed: Harbor's default applies, `/quotas` is never called)
   */
  readonly storageLimitBytes?: pulumi.Input<number>;
  /** Scan images for vulnerabilities when they are pushed. @default true */
  readonly autoScan?: pulumi.Input<boolean>;
  /** Refuse pulls of images with vulnerabilities of this severity or above. @default undefined (no blocking) */
  readonly preventVulnerable?: pulumi.Input<HarborSeverity>;
  /**
   * Delete the project's repositories and artifacts when the project is deleted. Without it, deleting
   * a project that still holds images fails with a message, so tenant data is never deleted silently.
   * @default false
   */
  readonly forceDestroy?: pulumi.Input<boolean>;
}

/**
 * A Harbor project (image namespace) with its visibility, storage quota and scanning policy,
 * managed through Harbor's REST API v2.0 (`/projects`, `/quotas`).
 */
export class HarborProject extends pulumi.dynamic.Resource {
  /** Harbor's numeric project id (also the resource id). */
  declare public readonly projectId: pulumi.Output<number>;
  /** Project name. */
  declare public readonly name: pulumi.Output<string>;
  /** Whether the project is private, as Harbor has it. */
  declare public readonly private: pulumi.Output<boolean>;
  /** Storage quota in bytes, -1 unlimited, as Harbor has it; undefined when not managed. */
  declare public readonly storageLimitBytes: pulumi.Output<number | undefined>;
  /** Whether images are scanned on push. */
  declare public readonly autoScan: pulumi.Output<boolean>;
  /** Severity at which pulls are refused, if any. */
  declare public readonly preventVulnerable: pulumi.Output<HarborSeverity | undefined>;
  /** Whether deleting the project also deletes its images. */
  declare public readonly forceDestroy: pulumi.Output<boolean>;
  /** Harbor base URL. */
  declare public readonly url: pulumi.Output<string>;

  constructor(name: string, args: HarborProjectArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      harborProjectProvider,
      name,
      {
        ...args,
        password: pulumi.secret(args.password),
        projectId: undefined,
        private: args.private,
        storageLimitBytes: args.storageLimitBytes,
        autoScan: args.autoScan,
        preventVulnerable: args.preventVulnerable,
        forceDestroy: args.forceDestroy,
      },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "password"] },
    );
  }
}
