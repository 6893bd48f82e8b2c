/**
 * `imaas deploy`: fans a platform stack's tenant stacks (`<platform>.<tenant>`) out in parallel with
 * Pulumi's Automation API (a LocalWorkspace on the project root, so the real index.ts runs).
 *
 * `runDeploy` ties the parts together over a `DeployEngine`. The parts, one concern each, all tested
 * without an engine (pure except deploy-git.ts, which runs git, and the real engine):
 * - deploy-git.ts: which tenants changed since a git ref (`tenantChangesFromGit`, `classifyChanges`);
 * - deploy-targets.ts: what to run and what to decommission (`planTargets`);
 * - deploy-stack-file.ts: a tenant stack's config file (`tenantStackFile`);
 * - deploy-pool.ts: the bounded pool (`runPool`);
 * - deploy-progress.ts and deploy-summary.ts: the progress lines, the summary (`renderSummary`) and the
 *   decommission report (`renderDecommission`);
 * - deploy-engine.ts: what the run needs from Pulumi, and the real engine (`automationEngine`);
 * - deploy-error.ts: `DeployError`, the user error they all throw.
 *
 * Deleted tenants are never destroyed here: they are reported with the commands of the deliberate
 * decommission path (docs/operating.md: Decommissioning a tenant).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { programPaths } from "../deployments/settings";
import { formatError, loadTenantDir } from "../model/load";
import { platformConfigOf, readStackConfig, stackFilePath } from "../model/stack-file";
import { type DeployEngine, automationEngine } from "./deploy-engine";
import { DeployError } from "./deploy-error";
import { defaultBase, type TenantChanges, tenantChangesFromGit } from "./deploy-git";
import { runPool } from "./deploy-pool";
import { Progress } from "./deploy-progress";
import { tenantStackFile } from "./deploy-stack-file";
import {
  type ChangeCounts,
  type Operation,
  renderDecommission,
  renderSummary,
  type TenantResult,
} from "./deploy-summary";
import { type DeployPlan, type DeployTarget, planTargets } from "./deploy-targets";

/** Re-exported for cli/deploy-command.ts, which reports it as a user error. */
export { DeployError };

export interface DeployOptions {
  /** The platform stack (its `Pulumi.<stack>.yaml` must say `imaas:stack: {mode: platform}`). */
  readonly stack: string;
  /** Stacks run at once. @default 2 */
  readonly parallel?: number;
  /** Tenants to run, instead of those changed in git. */
  readonly only?: readonly string[];
  /** Preview instead of update. */
  readonly preview?: boolean;
  /** Only write the tenant stacks' config files (and re-encrypt secrets); no preview or update. */
  readonly configOnly?: boolean;
  /** Git ref to compare with. @default origin/main if it exists, else HEAD~1 */
  readonly base?: string;
  /** Fail (exit 1) when a tenant needs decommissioning. */
  readonly failOnDecommission?: boolean;
  /** Where Pulumi.yaml, the stack files and tenants/ are; also the git work tree compared. */
  readonly projectDir: string;
}

export interface DeployIo {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  /** Whether `out` is a terminal (live status lines). @default process.stdout.isTTY */
  readonly isTTY?: boolean;
}

export interface DeployOutcome {
  readonly plan: DeployPlan;
  readonly results: TenantResult[];
  readonly wallMs: number;
}

/** Counts of a run, keeping only non-zero operations. */
function nonZero(c: ChangeCounts): ChangeCounts {
  return Object.fromEntries(Object.entries(c).filter(([, n]) => n > 0));
}

/**
 * The whole command: validate, work out the targets, fan out, report. Throws DeployError (exit 1) for
 * bad input before anything runs, and after the run when a stack failed (or, with
 * `failOnDecommission`, a tenant needs decommissioning) — the report is printed first.
 */
export async function runDeploy(
  options: DeployOptions,
  io: DeployIo,
  engine?: DeployEngine,
): Promise<DeployOutcome> {
  const platformStack = options.stack;
  const projectDir = options.projectDir;
  const stackConfig = readStackConfig(projectDir, platformStack);
  const config = platformConfigOf(stackConfig);
  if (config.stack.mode !== "platform") {
    throw new DeployError(
      `stack "${platformStack}" is ${config.stack.mode === "tenant" ? "a tenant stack; pass its platform stack" : "a single stack (imaas:stack.mode single): it holds every tenant itself, so it has no tenant stacks — run pulumi up --stack " + platformStack + ", or move to a stack per tenant (cli/DEPLOY.md)"}`,
    );
  }
  const tenantsDir = join(projectDir, "tenants");
  const loaded = loadTenantDir(tenantsDir, config);
  if (loaded.errors.length > 0) {
    throw new DeployError(
      `${loaded.errors.map(formatError).join("\n")}\n${loaded.errors.length} error(s) in tenant files; nothing was deployed`,
    );
  }
  const tenants = loaded.tenants.map((t) => t.name);
  const operation: Operation = options.configOnly ? "config" : options.preview ? "preview" : "update";

  const changes =
    options.only && options.only.length > 0
      ? undefined
      : tenantChangesFromGit(projectDir, options.base ?? defaultBase(projectDir), {
          tenantsPath: "tenants",
          programPaths: programPaths(platformStack),
        });
  const real = engine ?? (await automationEngine(projectDir));
  let existingStacks: string[] | undefined;
  if (operation !== "config") {
    existingStacks = await real.listStacks();
    if (!existingStacks.includes(platformStack)) {
      throw new DeployError(
        `the platform stack "${platformStack}" does not exist in this backend; deploy it first (pulumi up --stack ${platformStack}): its tenant stacks read its outputs`,
      );
    }
  }
  const plan = planTargets({
    platformStack,
    tenants,
    ...(options.only ? { only: options.only } : {}),
    ...(changes ? { changes } : {}),
    ...(existingStacks ? { existingStacks } : {}),
  });

  const parallel = Math.max(1, options.parallel ?? 2);
  io.out(`${describeRun(platformStack, operation, plan, parallel, changes)}\n`);

  const platformText = readFileSync(stackFilePath(projectDir, platformStack), "utf8");
  const progress = new Progress(plan.targets, operation, io.out, io.isTTY ?? process.stdout.isTTY === true);
  const started = Date.now();
  const settled = await runPool(plan.targets, parallel, async (target) =>
    deployOne(target, operation, { platformStack, platformText, projectDir, engine: real, progress }),
  );
  progress.finish();
  const wallMs = Date.now() - started;
  const results = settled.map((s, i) =>
    s.ok
      ? s.value
      : ({
          tenant: plan.targets[i]?.tenant ?? "?",
          stack: plan.targets[i]?.stack ?? "?",
          operation,
          result: "failed",
          changes: {},
          durationMs: 0,
          error: String((s.error as Error)?.message ?? s.error),
        } satisfies TenantResult),
  );
  io.out(`\n${renderSummary(results, wallMs)}`);
  io.out(renderDecommission(plan.decommission));

  const failed = results.filter((r) => r.result === "failed").map((r) => r.stack);
  const toDecommission = plan.decommission.filter((d) => d.stackExists !== false);
  if (failed.length > 0) {
    throw new DeployError(
      `${failed.length} of ${results.length} tenant stack(s) failed: ${failed.join(", ")}`,
    );
  }
  if (options.failOnDecommission && toDecommission.length > 0) {
    throw new DeployError(
      `--fail-on-decommission: ${toDecommission.length} tenant(s) need decommissioning: ${toDecommission.map((d) => d.tenant).join(", ")}`,
    );
  }
  return { plan, results, wallMs };
}

function describeRun(
  platformStack: string,
  operation: Operation,
  plan: DeployPlan,
  parallel: number,
  changes: TenantChanges | undefined,
): string {
  const what =
    operation === "config" ? "config files of" : operation === "preview" ? "preview of" : "update (--yes) of";
  const source = changes
    ? `changes since ${changes.base} (${changes.commit.slice(0, 12)}): ${changes.added.length} tenant(s) added, ${changes.changed.length} changed, ${changes.deleted.length} deleted` +
      (changes.programFiles.length > 0
        ? `; program files changed (${changes.programFiles.slice(0, 3).join(", ")}${changes.programFiles.length > 3 ? ", …" : ""}), so every tenant`
        : "")
    : "tenants named with --only";
  return `imaas deploy — platform stack "${platformStack}": ${what} ${plan.targets.length} tenant stack(s), ${parallel} at a time; ${source}`;
}

async function deployOne(
  target: DeployTarget,
  operation: Operation,
  ctx: {
    readonly platformStack: string;
    readonly platformText: string;
    readonly projectDir: string;
    readonly engine: DeployEngine;
    readonly progress: Progress;
  },
): Promise<TenantResult> {
  const startedAt = Date.now();
  ctx.progress.update(target.stack, { state: "preparing", startedAt });
  const errors: string[] = [];
  try {
    const file = stackFilePath(ctx.projectDir, target.stack);
    const existing = existsSync(file) ? readFileSync(file, "utf8") : undefined;
    const generated = tenantStackFile(ctx.platformText, target.tenant, existing);
    if (generated.text !== existing) writeFileSync(file, generated.text);
    let changes: ChangeCounts = {};
    if (operation !== "config" || generated.reencrypt.length > 0) {
      await ctx.engine.prepareStack(target.stack, { from: ctx.platformStack, keys: generated.reencrypt });
    }
    if (operation !== "config") {
      let resources = 0;
      ctx.progress.update(target.stack, { state: "running", resources });
      changes = nonZero(
        await ctx.engine.run(target.stack, operation, (e) => {
          if (e.kind === "resource") ctx.progress.update(target.stack, { resources: ++resources });
          else errors.push(e.message);
        }),
      );
    }
    const durationMs = Date.now() - startedAt;
    ctx.progress.update(target.stack, { state: "succeeded", changes, durationMs });
    return {
      tenant: target.tenant,
      stack: target.stack,
      operation,
      result: "succeeded",
      changes,
      durationMs,
    };
  } catch (err) {
    const durationMs = Date.now() - startedAt;
    ctx.progress.update(target.stack, { state: "failed", durationMs });
    const message =
      errors.length > 0 ? errors.join("\n") : firstLines((err as Error)?.message ?? String(err), 15);
    return {
      tenant: target.tenant,
      stack: target.stack,
      operation,
      result: "failed",
      changes: {},
      durationMs,
      error: message,
    };
  }
}

function firstLines(text: string, n: number): string {
  const lines = text.trim().split("\n");
  return lines.length > n
    ? [...lines.slice(0, n), `… (${lines.length - n} more lines)`].join("\n")
    : lines.join("\n");
}
