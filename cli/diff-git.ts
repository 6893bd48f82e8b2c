/**
 * The "before" side of `imaas diff`: the tenant files as they were at a git ref, planned with today's
 * program and stack config, so the diff shows only what the change to tenants/ does.
 *
 * The files are read from git objects (`git ls-tree` + `git show`) into a temp dir: the work tree, the
 * index and HEAD are never touched, so it is safe in CI and in a developer's dirty checkout.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { formatError, loadTenantDir } from "../model/load";
import { platformConfigOf, readStackConfig } from "../model/stack-file";
import { type PlannedResource, planProgram } from "./plan-engine";

/** A ref that cannot be read or tenants at it that do not validate: exit 1, no stack trace. */
export class DiffError extends Error {}

export interface GitRefOptions {
  /** Where to run git: any directory inside the repository. Default: the current directory. */
  readonly repoDir?: string;
  /** The tenants folder, relative to `repoDir`. Default `tenants`. */
  readonly tenantsPath?: string;
  /** Where `Pulumi.<stack>.yaml` lives. Default: the current directory if it holds Pulumi.yaml, else the
   * project root. */
  readonly projectDir?: string;
}

export interface PlanAtRef {
  /** The ref as given and the commit it resolved to. */
  readonly ref: string;
  readonly commit: string;
  readonly resources: PlannedResource[];
  readonly tenantCount: number;
}

export function defaultProjectDir(): string {
  return existsSync(join(process.cwd(), "Pulumi.yaml")) ? process.cwd() : resolve(__dirname, "..");
}

function git(cwd: string, args: readonly string[]): Buffer {
  try {
    return execFileSync("git", [...args], { cwd, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20 });
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? "").trim();
    throw new DiffError(`git ${args[0]} failed in ${cwd}: ${stderr || (err as Error).message}`);
  }
}

/** Resolves `ref` to a commit id; refuses anything that could be read as an option. */
export function resolveCommit(ref: string, repoDir: string): string {
  if (ref.length === 0 || ref.startsWith("-")) throw new DiffError(`not a git ref: "${ref}"`);
  try {
    return execFileSync("git", ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], {
      cwd: repoDir,
      stdio: ["ignore", "pipe", "ignore"],
    })
      .toString()
      .trim();
  } catch {
    throw new DiffError(
      `unknown git ref "${ref}" in ${repoDir} (in CI, fetch it first: git fetch origin <branch>)`,
    );
  }
}

/**
 * Writes the files under `tenantsPath` at `commit` into a new temp dir and returns it (empty if the
 * folder did not exist then). The caller removes it.
 */
export function materialiseTenants(commit: string, repoDir: string, tenantsPath = "tenants"): string {
  const dir = mkdtempSync(join(tmpdir(), "imaas-diff-"));
  const prefix = tenantsPath.replace(/\/+$/, "");
  // Paths relative to repoDir (ls-tree's default) and `<commit>:./<path>` (relative to the cwd).
  const listing = git(repoDir, ["ls-tree", "-r", "-z", "--name-only", commit, "--", prefix])
    .toString()
    .split("\0")
    .filter(Boolean);
  for (const path of listing) {
    const relative = path.slice(prefix.length).replace(/^\/+/, "");
    if (!relative || relative.split("/").includes("..")) continue;
    const target = join(dir, relative);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, git(repoDir, ["show", `${commit}:./${path}`]));
  }
  return dir;
}

/** Plans the tenant files of `ref` with the current program and the current `Pulumi.<stack>.yaml`. */
export async function planFromGitRef(
  ref: string,
  stack: string,
  options: GitRefOptions = {},
): Promise<PlanAtRef> {
  const repoDir = resolve(options.repoDir ?? process.cwd());
  const projectDir = options.projectDir ?? defaultProjectDir();
  const commit = resolveCommit(ref, repoDir);
  const tenantsDir = materialiseTenants(commit, repoDir, options.tenantsPath);
  try {
    const stackConfig = readStackConfig(projectDir, stack);
    const loaded = loadTenantDir(tenantsDir, platformConfigOf(stackConfig));
    if (loaded.errors.length > 0) {
      throw new DiffError(
        `the tenant files at ${ref} do not validate with today's schema and stack "${stack}", so there is nothing to compare against:\n${loaded.errors
          .map((e) => formatError(e).replace(tenantsDir, `${ref}:${options.tenantsPath ?? "tenants"}`))
          .join("\n")}`,
      );
    }
    const { resources } = await planProgram({
      stack,
      config: stackConfig.values,
      secretKeys: stackConfig.secretKeys,
      tenantsDir,
    });
    return { ref, commit, resources, tenantCount: loaded.tenants.length };
  } finally {
    rmSync(tenantsDir, { recursive: true, force: true });
  }
}
