/**
 * `imaas diff BASE [DIR] [--stack dev] [--format text|markdown]`: what the tenant files in DIR change
 * compared with the tenant files at the git ref BASE, in plain words — above all what is deleted, and
 * what each deletion really does (refused by protect, kept, archived, deleted), with renames explained.
 *
 * Exit codes: 0 when the comparison ran, whether or not something is deleted (deletions are printed, a
 * reviewer decides); 1 invalid tenant files, unknown ref or stack (as `DiffError`, `StackFileError`,
 * `PlatformConfigError`); 2 usage.
 */
import { resolve } from "node:path";
import { type Command, InvalidArgumentError, Option } from "commander";
import { formatError, loadTenantDir } from "../model/load";
import type { PlatformConfig } from "../model/platform-config";
import type { TenantSpec } from "../model/spec";
import { platformConfigOf, readStackConfig } from "../model/stack-file";
import { describeDiff, diffPlans, type PlanDiff } from "./diff";
import { DiffError, defaultProjectDir, planFromGitRef } from "./diff-git";
import { type PlannedResource, planProgram } from "./plan-engine";
import { planView, tenantOf } from "./plan-view";
import { renderMermaid, renderTable } from "./render";

export { DiffError } from "./diff-git";

export const DIFF_FORMATS = ["text", "markdown"] as const;
export type DiffFormat = (typeof DIFF_FORMATS)[number];

export interface DiffIo {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
}

export interface DiffOptions {
  /** Git ref of the "before" tenant files (`origin/main`). */
  readonly base: string;
  /** Folder of the "after" tenant files, relative to `repoDir`. Default `tenants`. */
  readonly dir?: string;
  readonly stack?: string;
  readonly format?: DiffFormat;
  /** Directory inside the git repository. Default: the current directory. */
  readonly repoDir?: string;
  /** Where `Pulumi.<stack>.yaml` lives. Default: as `imaas plan` finds it. */
  readonly projectDir?: string;
}

export interface DiffResult {
  readonly diff: PlanDiff;
  readonly text: string;
}

/** Plans BASE's tenant files and DIR's, compares them and renders the result. */
export async function runDiff(options: DiffOptions): Promise<DiffResult> {
  const stack = options.stack ?? "dev";
  const dir = options.dir ?? "tenants";
  const repoDir = resolve(options.repoDir ?? process.cwd());
  const projectDir = options.projectDir ?? defaultProjectDir();

  const stackConfig = readStackConfig(projectDir, stack);
  const afterDir = resolve(repoDir, dir);
  const config = platformConfigOf(stackConfig);
  const loaded = loadTenantDir(afterDir, config, { stack });
  if (loaded.errors.length > 0) {
    throw new DiffError(
      `${loaded.errors.map(formatError).join("\n")}\n${loaded.errors.length} error(s) in tenant files; nothing was compared`,
    );
  }
  const before = await planFromGitRef(options.base, stack, { repoDir, tenantsPath: dir, projectDir });
  const after = await planProgram({
    stack,
    config: stackConfig.values,
    secretKeys: stackConfig.secretKeys,
    tenantsDir: afterDir,
  });
  const diff = diffPlans(before.resources, after.resources);
  const text =
    options.format === "markdown"
      ? renderDiffMarkdown(diff, before.resources, after.resources, {
          base: options.base,
          stack,
          tenants: loaded.tenants,
          config,
        })
      : `imaas diff — stack "${stack}": ${dir} compared with ${options.base} (${before.commit.slice(0, 12)}); evaluated under mocks, nothing was contacted\n\n${describeDiff(diff)}`;
  return { diff, text };
}

/** The tenants a diff touches: those with an object created, changed, renamed or deleted. */
export function changedTenants(
  diff: PlanDiff,
  before: readonly PlannedResource[],
  after: readonly PlannedResource[],
): { readonly present: string[]; readonly removed: string[] } {
  const ofBefore = tenantOf(before);
  const ofAfter = tenantOf(after);
  const touched = new Set<string>();
  const add = (t: string | undefined) => {
    if (t) touched.add(t);
  };
  for (const r of diff.created) add(ofAfter(r));
  for (const c of diff.changed) add(ofAfter(c.after));
  for (const r of diff.renamed) {
    add(ofAfter(r.after));
    add(ofBefore(r.before));
  }
  for (const r of diff.deleted) add(ofBefore(r));
  const existing = new Set(after.filter((r) => r.type === "imaas:index:TenantSpace").map((r) => r.name));
  const sorted = [...touched].sort();
  return { present: sorted.filter((t) => existing.has(t)), removed: sorted.filter((t) => !existing.has(t)) };
}

/**
 * The PR comment section: plain words, then each changed tenant as it will be, in the same view as
 * `imaas plan --tenant T` (its summary table and its diagram).
 */
export function renderDiffMarkdown(
  diff: PlanDiff,
  before: readonly PlannedResource[],
  after: readonly PlannedResource[],
  context: {
    readonly base: string;
    readonly stack: string;
    /** The tenants after the change, and the config they were planned with. */
    readonly tenants: readonly TenantSpec[];
    readonly config: PlatformConfig;
  },
): string {
  const { present, removed } = changedTenants(diff, before, after);
  const out = [
    `### What this change to \`tenants/\` does (stack \`${context.stack}\`, compared with \`${context.base}\`)`,
    "",
    "```text",
    describeDiff(diff).trimEnd(),
    "```",
  ];
  if (removed.length > 0) {
    out.push("", `Tenants removed entirely: ${removed.map((t) => `\`${t}\``).join(", ")}.`);
  }
  if (present.length > 0) {
    const view = planView({
      stack: context.stack,
      config: context.config,
      tenants: context.tenants,
      resources: after,
      only: present,
    });
    out.push(
      "",
      `#### Changed tenants after the change: ${present.map((t) => `\`${t}\``).join(", ")}`,
      "",
      `What these tenants will have (the summary of \`imaas plan --stack ${context.stack} ${present.map((t) => `--tenant ${t}`).join(" ")}\`):`,
      "",
      "```text",
      renderTable(view, { resources: false }).trimEnd(),
      "```",
      "",
      renderMermaid(view).trimEnd(),
    );
  }
  return `${out.join("\n")}\n`;
}

function parseDiffFormat(value: string): DiffFormat {
  if (!(DIFF_FORMATS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`use one of ${DIFF_FORMATS.join(", ")}`);
  }
  return value as DiffFormat;
}

/**
 * Adds `imaas diff` to the CLI. main.ts calls `registerDiffCommand(program, io)` in `buildProgram` and
 * treats `DiffError` like its own user errors (message on stderr, exit 1).
 */
export function registerDiffCommand(program: Command, io: DiffIo): Command {
  return program
    .command("diff")
    .description(
      "show what the tenant files in DIR change compared with the git ref BASE — above all what is deleted, and whether protect or retainOnDelete keeps it",
    )
    .argument("<base>", "git ref of the tenant files to compare with, e.g. origin/main")
    .argument("[dir]", "folder of tenant files", "tenants")
    .option("-s, --stack <name>", "stack whose Pulumi.<stack>.yaml config to use", "dev")
    .addOption(
      new Option("-f, --format <format>", `output format: ${DIFF_FORMATS.join(", ")}`)
        .default("text")
        .argParser(parseDiffFormat),
    )
    .action(async (base: string, dir: string, opts: { stack: string; format: DiffFormat }) => {
      const { text } = await runDiff({ base, dir, stack: opts.stack, format: opts.format });
      io.out(text);
    });
}
