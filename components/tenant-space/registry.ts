/**
 * The tenant's registry project on Harbor: private, with a storage quota, scan on push and a retention
 * policy, and two robot accounts — CI pushes and pulls, clusters only pull. The project is kept when the
 * tenant file goes away (a deliberate decommission deletes it).
 */
import * as pulumi from "@pulumi/pulumi";
import { harborUrl, registryProjectName, robotName } from "../../model/naming";
import { parseQuantity } from "../../model/quantity";
import type { TenantSpec } from "../../model/spec";
import { HarborProject } from "../../providers/harbor/project";
import { HarborRetentionPolicy } from "../../providers/harbor/retention-policy";
import { HarborRobotAccount } from "../../providers/harbor/robot-account";
import { type PlatformContext, requireSecret } from "../shared/context";

export interface RobotCredentials {
  readonly username: pulumi.Output<string>;
  readonly password: pulumi.Output<string>;
}

export interface TenantRegistry {
  readonly project: HarborProject;
  readonly ci: RobotCredentials;
  readonly pull: RobotCredentials;
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
    { ...connection, project: project.name, keepLastPushed: cfg.registry.keepArtifacts },
    { parent },
  );
  const robot = (purpose: "ci" | "pull", permissions: ("push" | "pull")[]) => {
    const r = new HarborRobotAccount(
      `${name}-robot-${purpose}`,
      {
        ...connection,
        project: project.name,
        name: robotName(purpose),
        permissions,
        description: `IMaaS ${purpose === "ci" ? "CI (push and pull)" : "cluster (pull only)"} for tenant ${tenant.name}`,
      },
      { parent },
    );
    return { username: r.fullName, password: r.secret };
  };
  return { project, ci: robot("ci", ["push", "pull"]), pull: robot("pull", ["pull"]) };
}

/** A `kubernetes.io/dockerconfigjson` payload for the pull robot. */
export function dockerConfigJson(host: string, robot: RobotCredentials): pulumi.Output<string> {
  return pulumi.secret(
    pulumi.all([robot.username, robot.password]).apply(([u, p]) =>
      JSON.stringify({
        auths: { [host]: { username: u, password: p, auth: Buffer.from(`${u}:${p}`).toString("base64") } },
      }),
    ),
  );
}
