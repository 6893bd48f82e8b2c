/**
 * The e2e tests' own sandbox: a local control plane (e2e/sandbox/up.sh) in a temporary IMAAS_SANDBOX_DIR,
 * so it never collides with a developer's `.sandbox`, plus the Kubernetes client and Pulumi Automation API
 * workspaces the lifecycle tests use.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";
import { sandboxEnv } from "../sandbox/parts/control-plane";

export const ROOT = join(__dirname, "../..");
export const TOOLS_DIR = process.env.IMAAS_TOOLS_DIR || join(homedir(), ".cache/imaas-tools");
export const STACK = "sandbox";

export interface Sandbox {
  /** The sandbox's state directory (IMAAS_SANDBOX_DIR). */
  readonly dir: string;
  /** Scratch space for tenant dirs, backends and rendered charts; removed with the sandbox. */
  readonly work: string;
  /** The environment `env.sh` sets: KUBECONFIG, PATH, PULUMI_HOME, backend, passphrase, ... */
  readonly env: Record<string, string>;
  readonly kube: k8s.KubernetesObjectApi;
}

let current: Sandbox | undefined;

export function sandbox(): Sandbox {
  if (!current) throw new Error("the e2e sandbox is not up (e2e/lifecycle/hooks.ts starts it)");
  return current;
}

function script(name: string, dir: string, args: string[] = []): void {
  execFileSync("bash", [join(ROOT, "e2e/sandbox", name), ...args], {
    env: { ...process.env, IMAAS_SANDBOX_DIR: dir, IMAAS_TOOLS_DIR: TOOLS_DIR },
    stdio: ["ignore", "inherit", "inherit"],
  });
}

/** The e2e/tools/build.sh tools a lifecycle sandbox runs: the control plane, helm, the Pulumi CLI and provider. */
export const SANDBOX_TOOLS = ["kube", "etcd", "crds", "helm", "pulumi", "kubernetes-provider"] as const;

/** Builds the tools if needed, starts a sandbox in a fresh temporary directory, creates the argocd namespace. */
export async function startSandbox(): Promise<Sandbox> {
  const base = mkdtempSync(join(tmpdir(), "imaas-e2e-"));
  const dir = join(base, "sandbox");
  const work = join(base, "work");
  mkdirSync(work);
  current = { dir, work, env: {}, kube: undefined as never };
  // Only this sandbox's tools: e2e/ci.sh builds the later suites' tools in the background meanwhile.
  execFileSync("bash", [join(ROOT, "e2e/tools/build.sh"), ...SANDBOX_TOOLS], {
    env: { ...process.env, IMAAS_TOOLS_DIR: TOOLS_DIR },
    stdio: ["ignore", "inherit", "inherit"],
  });
  script("up.sh", dir);
  const env = sandboxEnv(dir);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(env.KUBECONFIG);
  current = { dir, work, env, kube: k8s.KubernetesObjectApi.makeApiClient(kc) };
  await current.kube.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "argocd" } });
  return current;
}

/** Stops the sandbox's processes and removes its directory (logs are copied to $IMAAS_E2E_KEEP_LOGS if set). */
export function stopSandbox(): void {
  if (!current) return;
  const { dir } = current;
  const base = join(dir, "..");
  const keep = process.env.IMAAS_E2E_KEEP_LOGS;
  if (keep) {
    try {
      cpSync(join(dir, "logs"), keep, { recursive: true });
    } catch {
      // no logs yet
    }
  }
  try {
    script("down.sh", dir);
  } finally {
    rmSync(base, { recursive: true, force: true });
    current = undefined;
  }
}

/** SIGKILLs the sandbox's kube-apiserver; returns its pid. */
export function killApiServer(): number {
  const pid = Number(readFileSync(join(sandbox().dir, "run/kube-apiserver.pid"), "utf8").trim());
  process.kill(pid, "SIGKILL");
  return pid;
}

/** Starts the kube-apiserver again with its recorded command line and waits for /readyz. */
export function restartApiServer(): void {
  script("restart.sh", sandbox().dir, ["kube-apiserver"]);
}

/**
 * The `sandbox` stack (Pulumi.sandbox.yaml) of the project at the repo root on a file backend in
 * `backendDir`, running the program on the tenant files in `tenantsDir`.
 */
export async function sandboxStack(backendDir: string, tenantsDir: string): Promise<Stack> {
  mkdirSync(backendDir, { recursive: true });
  const pulumiCommand = await PulumiCommand.get({ root: TOOLS_DIR, skipVersionCheck: true });
  return LocalWorkspace.createOrSelectStack(
    { stackName: STACK, workDir: ROOT },
    {
      pulumiCommand,
      envVars: {
        ...sandbox().env,
        PULUMI_BACKEND_URL: `file://${backendDir}`,
        IMAAS_TENANTS_DIR: tenantsDir,
        IMAAS_PLAN: "0",
        // The sandbox's provider build (4.24+git) ignores the provider's enablePatchForce (index.ts) in
        // previews; the environment variable is its documented equivalent.
        PULUMI_K8S_ENABLE_PATCH_FORCE: "true",
      },
    },
  );
}
