/**
 * A data-plane sandbox for tests that run the platform program on their own tenant files: builds the tools,
 * starts Argo CD, the registry (stand-in MI images for every service of those tenants) and the machine's one
 * node, writes a platform checkout (Pulumi.yaml and the sandbox's stack file, edited by the test), and runs
 * `pulumi up` of stack `sandbox` with it, as an admin would. Stopped with `stop()`, which also removes its
 * folders.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import { kubectl } from "../sandbox/parts/control-plane";
import { SANDBOX_STACK, sandboxStackFilePath } from "../sandbox/parts/git-world";
import { allParts, stopParts } from "../sandbox/parts/orchestrator";
import type { Part, PartContext } from "../sandbox/parts/part";
import { sandboxPulumiUp } from "../sandbox/pulumi-up";
import { FIRST_BUILD_TAG, startPartsWithNode } from "./standin";

export const ROOT = join(__dirname, "../..");

export interface PlatformSandbox {
  readonly ctx: PartContext;
  /** Scratch folder (clones). */
  readonly work: string;
  /** The platform checkout: Pulumi.yaml and the stack file `pulumi up` uses. */
  readonly project: string;
  readonly stackFile: string;
  readonly tenantsDir: string;
  /** kubectl … -o json on the sandbox. */
  json<T = any>(args: readonly string[]): T;
  /** `pulumi up` of stack `sandbox` on the tenants and the stack file; returns its seconds. */
  pulumiUp(): Promise<number>;
  stop(): Promise<void>;
}

const log = (m: string) => process.stderr.write(`      ${new Date().toISOString().slice(11, 19)} ${m}\n`);

/**
 * Starts the sandbox for `tenants` (file name → content) with `edit` applied to the sandbox's stack file,
 * and runs the first `pulumi up`. `extraTools`: more e2e/tools/build.sh tools the test needs.
 */
export async function startPlatformSandbox(opts: {
  readonly name: string;
  readonly tenants: Readonly<Record<string, string>>;
  readonly editStack?: (doc: YAML.Document) => void;
  readonly extraParts?: readonly string[];
}): Promise<PlatformSandbox> {
  const base = mkdtempSync(join(tmpdir(), `imaas-${opts.name}-`));
  const tenantsDir = join(base, "tenants");
  const work = join(base, "work");
  const project = join(base, "platform");
  for (const d of [tenantsDir, work, project]) mkdirSync(d, { recursive: true });
  for (const [file, content] of Object.entries(opts.tenants)) writeFileSync(join(tenantsDir, file), content);
  const ctx: PartContext = {
    repo: ROOT,
    dir: join(base, "sandbox"),
    toolsDir: process.env.IMAAS_TOOLS_DIR || join(homedir(), ".cache/imaas-tools"),
    log,
  };
  execFileSync(
    "bash",
    [
      join(ROOT, "e2e/tools/build.sh"),
      ...["kube", "etcd", "crds", "helm", "pulumi", "kubernetes-provider", "argocd", "redis", "node"],
    ],
    { env: { ...process.env, IMAAS_TOOLS_DIR: ctx.toolsDir }, stdio: ["ignore", "inherit", "inherit"] },
  );
  // The registry part pushes stand-ins for the services of the tenants in IMAAS_TENANTS_DIR.
  const savedTenantsDir = process.env.IMAAS_TENANTS_DIR;
  process.env.IMAAS_TENANTS_DIR = tenantsDir;
  let parts: Part[] = [];
  const restore = () => {
    if (savedTenantsDir === undefined) delete process.env.IMAAS_TENANTS_DIR;
    else process.env.IMAAS_TENANTS_DIR = savedTenantsDir;
  };
  const stop = async () => {
    restore();
    try {
      await stopParts(ctx, parts);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  };
  try {
    parts = await startPartsWithNode(
      ctx,
      ["argocd", "node", "registry", ...(opts.extraParts ?? [])],
      allParts({ git: { firstBuildTag: FIRST_BUILD_TAG } }),
    );
    copyFileSync(join(ROOT, "Pulumi.yaml"), join(project, "Pulumi.yaml"));
    const stackFile = join(project, `Pulumi.${SANDBOX_STACK}.yaml`);
    const doc = YAML.parseDocument(readFileSync(sandboxStackFilePath(ctx.dir), "utf8"));
    opts.editStack?.(doc);
    writeFileSync(stackFile, doc.toString());
    const sandbox: PlatformSandbox = {
      ctx,
      work,
      project,
      stackFile,
      tenantsDir,
      json: <T>(args: readonly string[]) => JSON.parse(kubectl(ctx, [...args, "-o", "json"])) as T,
      async pulumiUp() {
        const seconds = await sandboxPulumiUp(ctx, { tenantsDir, configFile: stackFile });
        log(`pulumi up: ${seconds.toFixed(1)} s`);
        return seconds;
      },
      stop,
    };
    await sandbox.pulumiUp();
    return sandbox;
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
