/**
 * `imaas deploy [--stack dev] [--parallel N] [--only TENANT…] [--preview] [--base REF]`: runs the tenant
 * stacks of a platform stack laid out per tenant, in parallel, through Pulumi's Automation API (see
 * cli/deploy.ts and cli/DEPLOY.md).
 *
 * Exit codes: 0 every stack succeeded (deleted tenants are reported as "decommission required", not
 * failures, unless --fail-on-decommission); 1 a stack failed, or invalid input before anything ran
 * (`DeployError`, `StackFileError`, `PlatformConfigError`); 2 usage.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import { type DeployIo, runDeploy } from "./deploy";

export { DeployError } from "./deploy";

function parseParallel(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64)
    throw new InvalidArgumentError("use a whole number from 1 to 64");
  return n;
}

/** The project root as `imaas plan` finds it: the current directory if it holds Pulumi.yaml. */
function projectDir(): string {
  return existsSync(join(process.cwd(), "Pulumi.yaml")) ? process.cwd() : resolve(__dirname, "..");
}

/**
 * Adds `imaas deploy` to the CLI. main.ts calls `registerDeployCommand(program, io)` in `buildProgram`;
 * `DeployError` extends DiffError, so main.ts reports it like its other user errors (stderr, exit 1).
 */
export function registerDeployCommand(program: Command, io: DeployIo): Command {
  return program
    .command("deploy")
    .description(
      "preview or update the tenant stacks (<stack>.<tenant>) whose tenant files changed since --base (or those named with --only), in parallel; deleted tenants are reported for a deliberate decommission, never destroyed",
    )
    .option(
      "-s, --stack <name>",
      "platform stack (imaas:stack.mode platform) whose tenant stacks to run",
      "dev",
    )
    .option("-p, --parallel <n>", "tenant stacks run at once", parseParallel, 2)
    .option("--only <tenant...>", "run these tenants' stacks instead of those changed in git")
    .option("--preview", "preview only (default: update, as pulumi up --yes)")
    .option(
      "--base <ref>",
      "git ref to compare tenants/ and the program with (default origin/main if it exists, else HEAD~1)",
    )
    .option(
      "--config-only",
      "only write the tenant stacks' Pulumi.<stack>.<tenant>.yaml (Pulumi Deployments' pre-run step)",
    )
    .option("--fail-on-decommission", "exit 1 when a deleted tenant still has a stack")
    .action(
      async (opts: {
        stack: string;
        parallel: number;
        only?: string[];
        preview?: boolean;
        base?: string;
        configOnly?: boolean;
        failOnDecommission?: boolean;
      }) => {
        await runDeploy(
          {
            stack: opts.stack,
            parallel: opts.parallel,
            ...(opts.only ? { only: opts.only } : {}),
            preview: opts.preview === true,
            configOnly: opts.configOnly === true,
            ...(opts.base ? { base: opts.base } : {}),
            failOnDecommission: opts.failOnDecommission === true,
            projectDir: projectDir(),
          },
          io,
        );
      },
    );
}
