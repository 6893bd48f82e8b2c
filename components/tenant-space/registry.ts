/**
 * The tenant's registry project on Harbor: private, with a storage quota, scan on push and a retention
 * policy that never deletes an image an environment runs, and robot accounts — CI pushes, pulls and tags
 * promoted images; the clusters pull with two robots in turn, so a secret rotation never leaves a pod
 * unable to pull. The project is kept when the tenant file goes away (a deliberate decommission deletes it).
 */
import * as pulumi from "@pulumi/pulumi";
import { harborUrl, promotionTagPattern, registryProjectName, robotName } from "../../model/naming";
import type { PlatformConfig } from "../../model/platform-config";
import { parseQuantity } from "../../model/quantity";
import type { TenantSpec } from "../../model/spec";
import { HarborProject } from "../../providers/harbor/project";
import { HarborRetentionPolicy } from "../../providers/harbor/retention-policy";
import { HarborRobotAccount } from "../../providers/harbor/robot-account";
import { ROTATION_GAP_SECONDS } from "../../providers/harbor/robot-account-provider";
import { type PlatformContext, requireSecret } from "../shared/context";

export interface RobotCredentials {
  readonly username: pulumi.Output<string>;
  readonly password: pulumi.Output<string>;
}

/**
 * The clusters' pull credentials: two robots, both written into the pull secret under two keys the
 * kubelet both matches for the project's images (`<host>/<project>` first, then `<host>`); the kubelet
 * tries every matching credential in turn (k8s.io/kubernetes pkg/credentialprovider/keyring.go `Lookup`,
 * pkg/kubelet/kuberuntime/kuberuntime_image.go `PullImage`).
 */
export interface PullCredentials {
  /** The Harbor project the images live in. */
  readonly project: string;
  /** Slot a (`pull`), then slot b (`pull-b`). */
  readonly slots: readonly [RobotCredentials, RobotCredentials];
}

export interface TenantRegistry {
  readonly project: HarborProject;
  readonly ci: RobotCredentials;
  readonly pull: PullCredentials;
}

/** Rules of the tenant's retention policy (plain values; see README "Registry retention"). */
export function retentionRules(cfg: PlatformConfig["registry"]): {
  keepLastPushed: number;
  keepTagsMatching: string;
  keepLatestMatching: { pattern: string; count: number }[];
} {
  return {
    // Every repository: the last N pushed (each dev build, each promotion tag counts as a push).
    keepLastPushed: cfg.keepArtifacts,
    // Everything prod ever ran, so every earlier prod release can be rolled back to.
    keepTagsMatching: promotionTagPattern("prod"),
    // The images last promoted to test, the running one first.
    keepLatestMatching: [{ pattern: promotionTagPattern("test"), count: cfg.keepTestPromotions }],
  };
}

/** Rotation inputs for the tenant's robots, from the platform config. */
export function rotationInputs(
  cfg: PlatformConfig["registry"],
  tenant: string,
): { rotationDays?: number; rotateIfIssuedBefore?: string } {
  const before = cfg.rotateRobotsIssuedBefore[tenant];
  return {
    ...(cfg.robotRotationDays > 0 ? { rotationDays: cfg.robotRotationDays } : {}),
    ...(before !== undefined ? { rotateIfIssuedBefore: before } : {}),
  };
}

export function createRegistry(
  name: string,
  tenant: TenantSpec,
  ctx: PlatformContext,
  parent: pulumi.Resource,
): TenantRegistry {
  const cfg = ctx.config;
  if (!ctx.secrets.harborPassword && !ctx.planOnly) {
    // A plan needs no secret values (requireSecret gives it a placeholder); a real run cannot reach Harbor.
    throw new pulumi.ResourceError(
      `tenant ${tenant.name}: the registry is enabled (imaas:registry.enabled) but the secret imaas:harborPassword is not set; ` +
        "run `pulumi config set --secret imaas:harborPassword …`, or switch the registry off",
      parent,
    );
  }
  const connection = {
    url: harborUrl(cfg.registry.host),
    username: cfg.registry.adminUser,
    password: requireSecret(ctx, "harborPassword", `the registry project of tenant ${tenant.name}`),
  };
  const projectName = registryProjectName(tenant.name);
  const project = new HarborProject(
    `${name}-registry`,
    {
      ...connection,
      name: projectName,
      private: true,
      storageLimitBytes: Math.round(parseQuantity(cfg.registry.storageQuota)),
      autoScan: true,
      preventVulnerable: "critical",
      forceDestroy: false,
    },
    { parent, retainOnDelete: true },
  );
  new HarborRetentionPolicy(
    `${name}-registry-retention`,
    { ...connection, project: project.name, ...retentionRules(cfg.registry) },
    { parent },
  );
  const rotation = rotationInputs(cfg.registry, tenant.name);
  const robot = (
    purpose: "ci" | "pull" | "pull-b",
    permissions: ("push" | "pull" | "tag:create")[],
    description: string,
    holdRotationUntil?: pulumi.Input<number | undefined>,
  ) =>
    new HarborRobotAccount(
      `${name}-robot-${purpose}`,
      {
        ...connection,
        project: project.name,
        name: robotName(purpose),
        permissions,
        description: `IMaaS ${description} for tenant ${tenant.name}`,
        ...rotation,
        ...(holdRotationUntil !== undefined ? { holdRotationUntil } : {}),
      },
      { parent },
    );
  const creds = (r: HarborRobotAccount): RobotCredentials => ({ username: r.fullName, password: r.secret });
  // CI pushes images and tags the ones it promotes (`<env>-<sha>`, kept by the retention rules).
  const ci = robot("ci", ["push", "pull", "tag:create"], "CI (push, pull, tag promoted images)");
  const pullA = robot("pull", ["pull"], "cluster pulls (slot a)");
  // Slot b rotates only once slot a's current secret is two minutes old: a run that rotates a leaves b
  // alone, so the pull secret always holds one credential Harbor accepts (see README "Robot rotation").
  const pullB = robot(
    "pull-b",
    ["pull"],
    "cluster pulls (slot b)",
    // Always known after slot a's create or update; absent only under `imaas plan`'s mocks.
    pullA.secretIssuedAt.apply((t) => (Number.isFinite(t) ? t + ROTATION_GAP_SECONDS : undefined)),
  );
  return {
    project,
    ci: creds(ci),
    pull: { project: projectName, slots: [creds(pullA), creds(pullB)] },
  };
}

/** The `.dockerconfigjson` text for the pull slots (pure). */
export function dockerConfigPayload(
  host: string,
  project: string,
  slots: readonly (readonly [string, string])[],
): string {
  const entry = ([u, p]: readonly [string, string]) => ({
    username: u,
    password: p,
    auth: Buffer.from(`${u}:${p}`).toString("base64"),
  });
  const keys = [`${host}/${project}`, host];
  return JSON.stringify({ auths: Object.fromEntries(slots.map((s, i) => [keys[i], entry(s)])) });
}

/** A `kubernetes.io/dockerconfigjson` payload holding both pull robots. */
export function dockerConfigJson(host: string, pull: PullCredentials): pulumi.Output<string> {
  const [a, b] = pull.slots;
  return pulumi.secret(
    pulumi.all([a.username, a.password, b.username, b.password]).apply(([ua, pa, ub, pb]) =>
      dockerConfigPayload(host, pull.project, [
        [ua, pa],
        [ub, pb],
      ]),
    ),
  );
}
