/**
 * The deployment settings of the platform stacks (`dev`, `prod`) and of their tenant stacks
 * (`<platform>.<tenant>`, one per file in tenants/) as Pulumi resources. Run from this folder by an admin
 * (`pulumi up`), never by the platform stacks themselves — see README.md.
 */
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as service from "@pulumi/pulumiservice";
import { formatError, loadTenantDir } from "../model/load";
import { platformConfigOf, readStackConfig } from "../model/stack-file";
import {
  type DeploymentOptions,
  deploymentSettingsFor,
  PLATFORM_STACKS,
  type PlatformStack,
  tagTriggerCommand,
  tenantDeploymentSettings,
} from "./settings";

/** The platform program's folder: its stack files and tenants/. */
const PROJECT_DIR = join(__dirname, "..");

const config = new pulumi.Config();
const options: DeploymentOptions = {
  organization: config.get("organization") ?? pulumi.getOrganization(),
  project: config.get("platformProject") ?? "imaas",
  repository: config.require("repository"),
  branch: config.get("branch") ?? "main",
  releaseTags: config.getObject<string[]>("releaseTags") ?? ["v*"],
};

const stacks = PLATFORM_STACKS.map((stack) => deploymentSettingsFor(stack, options));
for (const s of stacks) {
  // Deleting the resource clears the stack's settings in Pulumi Cloud: protect them from a slip.
  new service.DeploymentSettings(`${s.stack}-deployment-settings`, s.args, { protect: true });
}

/**
 * Platform stacks laid out as a stack per tenant: `tenantStacks` from config, else those whose
 * `Pulumi.<stack>.yaml` says `imaas:stack: {mode: platform}`. A single-mode stack has no tenant stacks.
 */
const tenantStackPlatforms: PlatformStack[] =
  config.getObject<PlatformStack[]>("tenantStacks") ??
  PLATFORM_STACKS.filter(
    (stack) => platformConfigOf(readStackConfig(PROJECT_DIR, stack)).stack.mode === "platform",
  );

/** Tenant names from tenants/, validated with the platform stack's config (invalid files: nothing changes). */
function tenantNames(platformStack: PlatformStack): string[] {
  const config = platformConfigOf(readStackConfig(PROJECT_DIR, platformStack));
  const { tenants, errors } = loadTenantDir(join(PROJECT_DIR, "tenants"), config);
  if (errors.length > 0) {
    throw new pulumi.RunError(
      `tenant files are invalid; nothing was changed:\n${errors.map(formatError).join("\n")}`,
    );
  }
  return tenants.map((t) => t.name);
}

const tenantStacks = tenantStackPlatforms.flatMap((platform) =>
  tenantNames(platform).map((tenant) => tenantDeploymentSettings(platform, tenant, options)),
);
for (const s of tenantStacks) {
  // Not protected: a tenant's settings go with its stack when the tenant is decommissioned.
  new service.DeploymentSettings(`${s.stack}-deployment-settings`, s.args);
}

/** How each stack deploys, and the step left to do by hand (tag triggers; see settings.ts). */
export const triggers = Object.fromEntries([...stacks, ...tenantStacks].map((s) => [s.stack, s.trigger]));
export const manualSteps = [...stacks, ...tenantStacks]
  .map((s) => tagTriggerCommand(s))
  .filter((c): c is string[] => c !== undefined)
  .map((c) => c.map((a) => (/^[\w./=-]+$/.test(a) ? a : `'${a}'`)).join(" "));
