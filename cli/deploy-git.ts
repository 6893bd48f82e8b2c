/**
 * `imaas deploy`: which tenants changed since a git ref — the files that differ between the ref and the
 * work tree (`changedFilesSince`), sorted into tenants added, changed and deleted and program files
 * (`classifyChanges`, `tenantChangesFromGit`).
 */
import { execFileSync } from "node:child_process";
import { isTenantFile } from "../model/discover";
import { DeployError } from "./deploy-error";

/** One changed file, relative to the project directory. */
export interface ChangedFile {
  readonly status: "A" | "M" | "D";
  readonly path: string;
}

export interface TenantChanges {
  /** The ref compared with, and the commit it resolved to. */
  readonly base: string;
  readonly commit: string;
  readonly added: string[];
  readonly changed: string[];
  readonly deleted: string[];
  /** Program files changed (components, model, index.ts, the platform stack file, …): every tenant stack is affected. */
  readonly programFiles: string[];
}

function git(repoDir: string, args: readonly string[]): string {
  try {
    return execFileSync("git", [...args], {
      cwd: repoDir,
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 64 << 20,
    }).toString();
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? "").trim();
    throw new DeployError(`git ${args[0]} failed in ${repoDir}: ${stderr || (err as Error).message}`);
  }
}

function commitOf(repoDir: string, ref: string): string | undefined {
  if (ref.length === 0 || ref.startsWith("-")) return undefined;
  try {
    return execFileSync("git", ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], {
      cwd: repoDir,
      stdio: ["ignore", "pipe", "ignore"],
    })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}

/** `origin/main` when it exists, else `HEAD~1`. */
export function defaultBase(repoDir: string): string {
  for (const ref of ["origin/main", "HEAD~1"]) if (commitOf(repoDir, ref)) return ref;
  throw new DeployError(
    `nothing to compare with in ${repoDir}: neither origin/main nor HEAD~1 exists; pass --base REF or --only TENANT…`,
  );
}

/** True when `file` (relative, `/`-separated) matches a path filter: `dir/**` (a folder) or an exact path. */
export function matchesPath(file: string, pattern: string): boolean {
  return pattern.endsWith("/**") ? file.startsWith(pattern.slice(0, -2)) : file === pattern;
}

/**
 * Sorts changed files into tenants added, changed and deleted (a tenant file is `<tenantsPath>/<name>.yaml`
 * or `.yml`; other files there are not tenants) and program files. A tenant whose file was both removed
 * and added (`.yml` → `.yaml`) is changed.
 */
export function classifyChanges(
  files: readonly ChangedFile[],
  options: { readonly tenantsPath: string; readonly programPaths: readonly string[] },
): Omit<TenantChanges, "base" | "commit"> {
  const prefix = `${options.tenantsPath.replace(/\/+$/, "")}/`;
  const statuses = new Map<string, Set<string>>();
  const programFiles: string[] = [];
  for (const f of files) {
    const rest = f.path.startsWith(prefix) ? f.path.slice(prefix.length) : undefined;
    if (rest !== undefined && !rest.includes("/") && isTenantFile(rest)) {
      const name = rest.replace(/\.ya?ml$/, "");
      statuses.set(name, (statuses.get(name) ?? new Set()).add(f.status));
    } else if (options.programPaths.some((p) => matchesPath(f.path, p))) programFiles.push(f.path);
  }
  const added: string[] = [];
  const changed: string[] = [];
  const deleted: string[] = [];
  for (const [name, s] of [...statuses].sort(([a], [b]) => a.localeCompare(b))) {
    if (s.size === 1 && s.has("A")) added.push(name);
    else if (s.size === 1 && s.has("D")) deleted.push(name);
    else changed.push(name);
  }
  return { added, changed, deleted, programFiles: programFiles.sort() };
}

/**
 * The files that differ between `base` and the work tree of `repoDir` (what a LocalWorkspace runs):
 * committed, staged and unstaged changes, and untracked files, as paths relative to `repoDir`.
 */
export function changedFilesSince(repoDir: string, base: string): { commit: string; files: ChangedFile[] } {
  const commit = commitOf(repoDir, base);
  if (!commit) {
    throw new DeployError(
      `unknown git ref "${base}" in ${repoDir} (in CI, fetch it first: git fetch origin <branch>)`,
    );
  }
  const parts = git(repoDir, ["diff", "--name-status", "--no-renames", "--relative", "-z", commit, "--"])
    .split("\0")
    .filter((p) => p !== "");
  const files: ChangedFile[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const code = parts[i]?.[0];
    const path = parts[i + 1] as string;
    files.push({ status: code === "A" ? "A" : code === "D" ? "D" : "M", path });
  }
  for (const path of git(repoDir, ["ls-files", "--others", "--exclude-standard", "-z"]).split("\0")) {
    if (path) files.push({ status: "A", path });
  }
  return { commit, files };
}

/** Which tenants changed between `base` and the work tree. */
export function tenantChangesFromGit(
  repoDir: string,
  base: string,
  options: { readonly tenantsPath?: string; readonly programPaths: readonly string[] },
): TenantChanges {
  const { commit, files } = changedFilesSince(repoDir, base);
  return {
    base,
    commit,
    ...classifyChanges(files, {
      tenantsPath: options.tenantsPath ?? "tenants",
      programPaths: options.programPaths,
    }),
  };
}
