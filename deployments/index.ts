/**
 * The deployment settings of the platform stacks (`dev`, `prod`) as Pulumi resources. Run from this
 * folder by an admin (`pulumi up`), never by the platform stacks themselves — see README.md.
 */
import * as pulumi from "@pulumi/pulumi";
import * as service from "@pulumi/pulumiservice";
import {
  type DeploymentOptions,
  deploymentSettingsFor,
  PLATFORM_STACKS,
  tagTriggerCommand,
} from "./settings";

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

/** How each stack deploys, and the step left to do by hand (tag triggers; see settings.ts). */
export const triggers = Object.fromEntries(stacks.map((s) => [s.stack, s.trigger]));
export const manualSteps = stacks
  .map((s) => tagTriggerCommand(s))
  .filter((c): c is string[] => c !== undefined)
  .map((c) => c.map((a) => (/^[\w./=-]+$/.test(a) ? a : `'${a}'`)).join(" "));
