/**
 * `pulumi up` of stack `sandbox` with the real engine, as a platform admin runs it against a sandbox: the
 * program in this repository, the tenant files of `tenantsDir`, the stack file `configFile`, the sandbox's
 * environment (KUBECONFIG, PULUMI_HOME, the file backend) and the CLI built by e2e/tools/build.sh.
 */
import { join } from "node:path";
import { LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";
import { sandboxEnv } from "./parts/control-plane";
import { SANDBOX_STACK } from "./parts/git-world";
import type { PartContext } from "./parts/part";

const ROOT = join(__dirname, "../..");

/** Runs the update; resolves with its seconds. */
export async function sandboxPulumiUp(
  ctx: PartContext,
  opts: { readonly tenantsDir: string; readonly configFile: string },
): Promise<number> {
  const t = Date.now();
  const pulumiCommand = await PulumiCommand.get({ root: ctx.toolsDir, skipVersionCheck: true });
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: SANDBOX_STACK, workDir: ROOT },
    {
      pulumiCommand,
      envVars: {
        ...sandboxEnv(ctx.dir),
        IMAAS_TENANTS_DIR: opts.tenantsDir,
        IMAAS_PLAN: "0",
        PULUMI_K8S_ENABLE_PATCH_FORCE: "true",
      },
    },
  );
  await stack.up({ configFile: opts.configFile, color: "never" });
  return (Date.now() - t) / 1000;
}
