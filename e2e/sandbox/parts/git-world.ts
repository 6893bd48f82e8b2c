/**
 * The local Git world: bare repositories on the file system standing in for GitHub. The platform repo
 * (`charts/wso2-mi` of this working tree on the platform revision's branch) and one repo per tenant
 * service with a branch per environment holding exactly the files MIService seeds
 * (`serviceSeedFiles`, the program's own function). The sandbox's stack file (a copy of
 * Pulumi.sandbox.yaml) points the platform at them through ordinary config: `github.urlBase` and
 * `argocd.platformRepo` — the same settings an organisation on GitHub Enterprise or another Git host uses.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import YAML from "yaml";
import { PLATFORM_CHART_PATH } from "../../../components/mi-service/argocd";
import { type SeedFile, serviceSeedFiles } from "../../../components/mi-service/seed-files";
import { formatError, loadTenantDir } from "../../../model/load";
import { branchName, gitUrlBase, repositoryUrl } from "../../../model/naming";
import type { PlatformConfig } from "../../../model/platform-config";
import type { TenantSpec } from "../../../model/spec";
import { platformConfigOf, readStackConfig } from "../../../model/stack-file";
import { SKIP_CI_MARKER, VALUES_FILE } from "../../../components/mi-service/pipeline";
import type { Part, PartContext } from "./part";

export const SANDBOX_STACK = "sandbox";
/** Name of the platform repository inside the Git world (`<urlBase>/imaas.git`). */
export const PLATFORM_REPO_NAME = "imaas";

/** One bare repository to create: branches in order (the first is HEAD), all with the same files. */
export interface RepoPlan {
  readonly url: string;
  /** Absolute path of the bare repository (`url` without `file://`). */
  readonly path: string;
  readonly branches: readonly string[];
  readonly files: readonly SeedFile[];
  readonly message: string;
}

/** Where the Git world lives and the config that points the platform at it. */
export interface GitWorldLayout {
  /** `file://<dir>/parts/git/<owner>`: value of `github.urlBase`. */
  readonly urlBase: string;
  /** `<urlBase>/imaas.git`: value of `argocd.platformRepo`. */
  readonly platformRepo: string;
}

export function gitWorldLayout(dir: string, owner: string): GitWorldLayout {
  const urlBase = gitUrlBase(owner, `file://${join(dir, "parts", "git", owner)}`);
  return { urlBase, platformRepo: `${urlBase}/${PLATFORM_REPO_NAME}.git` };
}

const pathOf = (url: string): string => url.replace(/^file:\/\//, "");

/** The files below `root/sub`, as seed files with paths relative to `root`. */
export function treeFiles(root: string, sub: string): SeedFile[] {
  const out: SeedFile[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push({ path: relative(root, p), content: readFileSync(p, "utf8") });
    }
  };
  walk(join(root, sub));
  return out;
}

/**
 * Every repository of the Git world (pure, apart from reading the chart): the platform repo on the
 * platform revision, then each service's repo with its environments' branches and its seed files.
 */
export function gitWorldPlan(
  tenants: readonly TenantSpec[],
  cfg: PlatformConfig,
  chartFiles: readonly SeedFile[],
): RepoPlan[] {
  const platform: RepoPlan = {
    url: cfg.argocd.platformRepo,
    path: pathOf(cfg.argocd.platformRepo),
    branches: [cfg.argocd.platformRevision],
    files: chartFiles,
    message: "Platform chart charts/wso2-mi",
  };
  const services = tenants.flatMap((t) =>
    t.services.map((s): RepoPlan => {
      const url = repositoryUrl(cfg.github.owner, t.name, s.name, cfg.github.urlBase);
      return {
        url,
        path: pathOf(url),
        branches: s.environments.map(branchName),
        files: serviceSeedFiles(t, s, cfg),
        message: "Seed from the IMaaS platform [skip ci]",
      };
    }),
  );
  return [platform, ...services];
}

/** Git with a fixed identity and no system or user config, so the host's settings never leak in. */
export function git(cwd: string, args: readonly string[], home: string): string {
  return execFileSync("git", args as string[], {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_AUTHOR_NAME: "IMaaS platform",
      GIT_AUTHOR_EMAIL: "imaas-platform@users.noreply.github.com",
      GIT_COMMITTER_NAME: "IMaaS platform",
      GIT_COMMITTER_EMAIL: "imaas-platform@users.noreply.github.com",
    },
  });
}

/** Creates one bare repository: a single commit with the files on the first branch, the others from it. */
export function createRepo(plan: RepoPlan, scratch: string, home: string): void {
  const [first, ...rest] = plan.branches;
  if (!first) throw new Error(`${plan.url}: no branches`);
  if (existsSync(plan.path)) throw new Error(`${plan.path} exists already`);
  mkdirSync(plan.path, { recursive: true });
  git(plan.path, ["init", "--quiet", "--bare", "--initial-branch", first], home);
  const work = join(scratch, relative("/", plan.path));
  mkdirSync(work, { recursive: true });
  git(work, ["init", "--quiet", "--initial-branch", first], home);
  for (const f of plan.files) {
    mkdirSync(dirname(join(work, f.path)), { recursive: true });
    writeFileSync(join(work, f.path), f.content);
  }
  git(work, ["add", "--all"], home);
  git(work, ["commit", "--quiet", "--message", plan.message], home);
  for (const b of rest) git(work, ["branch", b], home);
  git(work, ["push", "--quiet", plan.path, ...plan.branches], home);
  rmSync(work, { recursive: true, force: true });
}

/** The sandbox's stack file: Pulumi.sandbox.yaml with `github.urlBase` and `argocd.platformRepo` set. */
export function sandboxStackFile(committed: string, layout: GitWorldLayout): string {
  const doc = YAML.parseDocument(committed);
  doc.setIn(["config", "imaas:github", "urlBase"], layout.urlBase);
  doc.setIn(["config", "imaas:argocd", "platformRepo"], layout.platformRepo);
  return doc.toString();
}

export interface GitWorldOptions {
  /** Tenant files to seed repos for. @default `$IMAAS_TENANTS_DIR` or `<repo>/tenants` */
  readonly tenantsDir?: string;
  /**
   * Play CI's first build on each new service repo: commit this `image.tag` to the build branch's
   * deploy/values.yaml and merge it up through the environment branches, so the Applications can sync.
   * @default none (the repos hold exactly the seed, and the Applications wait for a tag)
   */
  readonly firstBuildTag?: string;
}

/**
 * What CI and the promotion pull requests do after a first build (on a repo created by `createRepo`):
 * `image.tag` committed on the first branch, then each branch merged into the next.
 */
export function recordFirstBuild(plan: RepoPlan, tag: string, scratch: string, home: string): void {
  const work = join(scratch, `${relative("/", plan.path)}-ci`);
  const [first, ...rest] = plan.branches;
  git(scratch, ["clone", "--quiet", "--branch", first!, plan.path, work], home);
  const file = join(work, VALUES_FILE);
  const doc = YAML.parseDocument(readFileSync(file, "utf8"));
  doc.setIn(["image", "tag"], tag);
  writeFileSync(file, doc.toString());
  git(work, ["commit", "--quiet", "--all", "--message", `Deploy ${tag} ${SKIP_CI_MARKER}`], home);
  let prev = first!;
  for (const b of rest) {
    git(work, ["checkout", "--quiet", b], home);
    git(work, ["merge", "--quiet", "--no-ff", "--message", `Merge ${prev} into ${b}`, prev], home);
    prev = b;
  }
  git(work, ["push", "--quiet", "origin", ...plan.branches], home);
  rmSync(work, { recursive: true, force: true });
}

const partDir = (ctx: PartContext) => join(ctx.dir, "parts", "git");

/** The stack file the sandbox's `pulumi up` uses: `<dir>/Pulumi.sandbox.yaml`. */
export const sandboxStackFilePath = (dir: string): string => join(dir, `Pulumi.${SANDBOX_STACK}.yaml`);

export function gitWorldPart(opts: GitWorldOptions = {}): Part {
  return {
    name: "git",
    needs: [],
    tools: [],
    async start(ctx) {
      const tenantsDir = opts.tenantsDir ?? process.env.IMAAS_TENANTS_DIR ?? join(ctx.repo, "tenants");
      const committed = readStackConfig(ctx.repo, SANDBOX_STACK);
      const owner = platformConfigOf(committed).github.owner;
      const layout = gitWorldLayout(ctx.dir, owner);
      // The sandbox's own stack file, then the platform config exactly as the program will read it.
      const stackFile = sandboxStackFilePath(ctx.dir);
      writeFileSync(stackFile, sandboxStackFile(readFileSync(committed.file, "utf8"), layout));
      const cfg = platformConfigOf(readStackConfig(ctx.dir, SANDBOX_STACK));
      const loaded = loadTenantDir(tenantsDir, cfg);
      if (loaded.errors.length > 0) throw new Error(loaded.errors.map(formatError).join("\n"));
      const plan = gitWorldPlan(loaded.tenants, cfg, treeFiles(ctx.repo, PLATFORM_CHART_PATH));
      const dir = partDir(ctx);
      const home = join(dir, "home");
      const scratch = join(dir, "scratch");
      mkdirSync(home, { recursive: true });
      // On a running sandbox (`npm run sandbox` again after a tenant change) existing repos keep what
      // was pushed to them; only new services get a repo.
      const fresh = plan.filter((r) => !existsSync(r.path));
      for (const repo of fresh) {
        createRepo(repo, scratch, home);
        // The platform repo has no values file; service repos get CI's first build when asked.
        if (opts.firstBuildTag && repo.url !== cfg.argocd.platformRepo)
          recordFirstBuild(repo, opts.firstBuildTag, scratch, home);
      }
      rmSync(scratch, { recursive: true, force: true });
      ctx.log(
        `git: ${fresh.length} bare repos created${opts.firstBuildTag ? ` (CI's first build: image.tag ${opts.firstBuildTag} on every branch)` : ""}, ${plan.length - fresh.length} kept, under ${layout.urlBase} (stack file ${stackFile})`,
      );
    },
    async ready(ctx) {
      const cfg = platformConfigOf(readStackConfig(ctx.dir, SANDBOX_STACK));
      git(
        ctx.dir,
        ["ls-remote", "--exit-code", cfg.argocd.platformRepo, cfg.argocd.platformRevision],
        join(partDir(ctx), "home"),
      );
    },
    async stop(ctx) {
      // No processes and no host state: the repos and the stack file go with the sandbox's folder.
      rmSync(partDir(ctx), { recursive: true, force: true });
      rmSync(sandboxStackFilePath(ctx.dir), { force: true });
    },
  };
}
