/**
 * The GitOps suite's own sandbox: the orchestrator starts the control plane, the local Git world, Redis
 * and Argo CD in a fresh temporary IMAAS_SANDBOX_DIR; then the real engine runs `pulumi up` of stack
 * `sandbox` with the sandbox's stack file (Git URLs pointing at the local repos), and Argo CD syncs what
 * it created. Helpers read Applications, push to the local repos as a developer or CI would, and wait.
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import YAML from "yaml";
import { kubectl } from "../sandbox/parts/control-plane";
import { sandboxPulumiUp } from "../sandbox/pulumi-up";
import { git, SANDBOX_STACK, sandboxStackFilePath } from "../sandbox/parts/git-world";
import { startParts, stopParts } from "../sandbox/parts/orchestrator";
import type { Part, PartContext } from "../sandbox/parts/part";
import { ARGOCD_NAMESPACE } from "../sandbox/parts/argocd";

export const ROOT = join(__dirname, "../..");
export const TENANTS_DIR = join(ROOT, "tenants");

export interface GitOpsSandbox {
  readonly ctx: PartContext;
  parts: Part[];
  /** Scratch folder for clones; removed with the sandbox. */
  readonly work: string;
  /** Seconds `pulumi up` took. */
  upSeconds: number;
}

let current: GitOpsSandbox | undefined;

export function gitops(): GitOpsSandbox {
  if (!current) throw new Error("the GitOps sandbox is not up (e2e/gitops/hooks.ts starts it)");
  return current;
}

const log = (m: string) => process.stderr.write(`      ${new Date().toISOString().slice(11, 19)} ${m}\n`);

export async function startGitOps(): Promise<GitOpsSandbox> {
  const base = mkdtempSync(join(tmpdir(), "imaas-gitops-"));
  const ctx: PartContext = {
    repo: ROOT,
    dir: join(base, "sandbox"),
    toolsDir: process.env.IMAAS_TOOLS_DIR || join(homedir(), ".cache/imaas-tools"),
    log,
  };
  const work = join(base, "work");
  mkdirSync(work, { recursive: true });
  execFileSync(
    "bash",
    [
      join(ROOT, "e2e/tools/build.sh"),
      "kube",
      "etcd",
      "crds",
      "helm",
      "pulumi",
      "kubernetes-provider",
      "argocd",
      "redis",
    ],
    {
      env: { ...process.env, IMAAS_TOOLS_DIR: ctx.toolsDir },
      stdio: ["ignore", "inherit", "inherit"],
    },
  );
  current = { ctx, parts: [], work, upSeconds: 0 };
  process.env.IMAAS_TENANTS_DIR = TENANTS_DIR;
  current.parts = await startParts(ctx, ["argocd"]);
  const t = Date.now();
  await pulumiUp();
  current.upSeconds = (Date.now() - t) / 1000;
  return current;
}

export async function stopGitOps(): Promise<void> {
  if (!current) return;
  const { ctx, parts } = current;
  const keep = process.env.IMAAS_E2E_KEEP_LOGS;
  if (keep)
    execFileSync("bash", [
      "-c",
      'mkdir -p "$1" && cp -r "$0"/logs "$0"/parts "$1"/ 2>/dev/null || true',
      ctx.dir,
      keep,
    ]);
  try {
    await stopParts(ctx, parts);
  } finally {
    rmSync(dirname(ctx.dir), { recursive: true, force: true });
    current = undefined;
  }
}

/** `pulumi up` of stack `sandbox` on the repo's tenants, with the sandbox's stack file (or `configFile`). */
export async function pulumiUp(configFile?: string): Promise<void> {
  const { ctx } = gitops();
  await sandboxPulumiUp(ctx, {
    tenantsDir: TENANTS_DIR,
    configFile: configFile ?? sandboxStackFilePath(ctx.dir),
  });
}

// --- Kubernetes ---------------------------------------------------------------------------------------

export function kubectlJson<T = any>(args: readonly string[]): T {
  return JSON.parse(kubectl(gitops().ctx, [...args, "-o", "json"])) as T;
}

export interface Application {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: any;
  status?: {
    sync?: { status?: string; revisions?: string[] };
    health?: { status?: string };
    conditions?: { type: string; message: string }[];
    operationState?: {
      phase?: string;
      message?: string;
      syncResult?: {
        resources?: { kind: string; name: string; namespace: string; status: string; message: string }[];
      };
    };
    resources?: { group?: string; kind: string; name: string; namespace?: string; status?: string }[];
  };
}

export const application = (name: string): Application =>
  kubectlJson<Application>(["get", "application", name, "-n", ARGOCD_NAMESPACE]);

export const applications = (): Application[] =>
  kubectlJson<{ items: Application[] }>(["get", "applications", "-n", ARGOCD_NAMESPACE]).items;

/** Asks Argo CD to re-read Git now (instead of after its 3-minute revision cache), as `argocd app get --hard-refresh` does. */
export function hardRefresh(name: string): void {
  kubectl(gitops().ctx, [
    "annotate",
    "application",
    name,
    "-n",
    ARGOCD_NAMESPACE,
    "argocd.argoproj.io/refresh=hard",
    "--overwrite",
  ]);
}

export function apply(manifest: object): void {
  kubectl(gitops().ctx, ["apply", "-f", "-"], JSON.stringify(manifest));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `get` until `ok` holds; on timeout fails with `describe` of the last value. */
export async function waitUntil<T>(
  what: string,
  get: () => T,
  ok: (v: T) => boolean,
  opts: { timeoutMs?: number; describe?: (v: T) => string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 180_000);
  let last: T = get();
  while (!ok(last)) {
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}; last seen: ${opts.describe ? opts.describe(last) : JSON.stringify(last)}`,
      );
    }
    await sleep(1000);
    last = get();
  }
  return last;
}

export const describeApp = (a: Application): string =>
  JSON.stringify({
    sync: a.status?.sync,
    health: a.status?.health,
    conditions: a.status?.conditions,
    operation: a.status?.operationState?.message,
  });

// --- Git, as a developer or CI would --------------------------------------------------------------------

/** A fresh clone of `url` on `branch` in the scratch folder. */
export function clone(url: string, branch: string): string {
  const { work } = gitops();
  const dir = mkdtempSync(join(work, "clone-"));
  git(work, ["clone", "--quiet", "--branch", branch, url, dir], work);
  return dir;
}

/** Writes `image.tag` into the branch's deploy/values.yaml and pushes, as CI records a build. Returns the commit. */
export function commitImageTag(url: string, branch: string, tag: string): string {
  const dir = clone(url, branch);
  const file = join(dir, "deploy/values.yaml");
  const doc = YAML.parseDocument(readFileSync(file, "utf8"));
  doc.setIn(["image", "tag"], tag);
  writeFileSync(file, doc.toString());
  return commitAndPush(dir, branch, `Deploy ${tag} [skip ci]`);
}

/** Replaces the branch's deploy/values.yaml with `content` and pushes. */
export function commitValues(url: string, branch: string, content: string, message: string): string {
  const dir = clone(url, branch);
  writeFileSync(join(dir, "deploy/values.yaml"), content);
  return commitAndPush(dir, branch, message);
}

export function commitFiles(
  url: string,
  branch: string,
  files: Record<string, string>,
  message: string,
): string {
  const dir = clone(url, branch);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return commitAndPush(dir, branch, message);
}

function commitAndPush(dir: string, branch: string, message: string): string {
  const { work } = gitops();
  git(dir, ["add", "--all"], work);
  git(dir, ["commit", "--quiet", "--message", message], work);
  git(dir, ["push", "--quiet", "origin", branch], work);
  return git(dir, ["rev-parse", "HEAD"], work).trim();
}

/** Merges `from` into `into` (a merge commit, as a pull request's merge does) and pushes. */
export function merge(url: string, from: string, into: string): string {
  const { work } = gitops();
  const dir = clone(url, into);
  git(dir, ["fetch", "--quiet", "origin", from], work);
  git(dir, ["merge", "--quiet", "--no-ff", "--message", `Merge ${from} into ${into}`, "FETCH_HEAD"], work);
  git(dir, ["push", "--quiet", "origin", into], work);
  return git(dir, ["rev-parse", "HEAD"], work).trim();
}

/** Reverts the branch's last commit (`-m 1` for a merge) and pushes. */
export function revertLast(url: string, branch: string): string {
  const { work } = gitops();
  const dir = clone(url, branch);
  const parents = git(dir, ["rev-list", "--parents", "-n", "1", "HEAD"], work).trim().split(" ").length - 1;
  git(dir, ["revert", "--no-edit", ...(parents > 1 ? ["-m", "1"] : []), "HEAD"], work);
  git(dir, ["push", "--quiet", "origin", branch], work);
  return git(dir, ["rev-parse", "HEAD"], work).trim();
}

// --- The imaas command ----------------------------------------------------------------------------------

/**
 * The imaas command as a platform admin runs it from `cwd` (a checkout holding the sandbox's stack file),
 * on stack `sandbox` and the repo's tenants. Spawned without blocking: loopback stand-ins (a registry)
 * answer from this process.
 */
export function imaasIn(
  cwd: string,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, "bin/imaas.js"), ...args, "--stack", SANDBOX_STACK, "--dir", TENANTS_DIR],
      { cwd, encoding: "utf8", timeout: 120_000, env: { ...process.env, ...env } },
      (err, out, errOut) => resolve({ code: err ? Number(err.code ?? 1) : 0, out, err: errOut }),
    );
  });
}
