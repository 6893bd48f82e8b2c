/**
 * The control plane (etcd, kube-apiserver, controller-manager, scheduler) as a part: e2e/sandbox/up.sh
 * and down.sh, which other callers (the security suite, `npm run sandbox:up`) keep using directly.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Part, PartContext } from "./part";

function script(ctx: PartContext, name: string, extraEnv: Record<string, string> = {}): void {
  execFileSync("bash", [join(ctx.repo, "e2e/sandbox", name)], {
    env: { ...process.env, IMAAS_SANDBOX_DIR: ctx.dir, IMAAS_TOOLS_DIR: ctx.toolsDir, ...extraEnv },
    stdio: ["ignore", "inherit", "inherit"],
  });
}

/** The admin kubeconfig up.sh writes. */
export const kubeconfigPath = (dir: string): string => join(dir, "kubeconfig");

export function kubectl(ctx: PartContext, args: readonly string[], input?: string): string {
  return execFileSync(join(ctx.toolsDir, "bin/kubectl"), ["--kubeconfig", kubeconfigPath(ctx.dir), ...args], {
    encoding: "utf8",
    input,
    stdio: ["pipe", "pipe", "pipe"],
  });
}

export const controlPlanePart: Part = {
  name: "control-plane",
  needs: [],
  tools: ["kube", "etcd", "crds"],
  async start(ctx) {
    script(ctx, "up.sh");
  },
  async ready(ctx) {
    kubectl(ctx, ["get", "--raw", "/readyz"]);
  },
  async stop(ctx) {
    if (!existsSync(ctx.dir)) return;
    // down.sh stops the other parts first unless told they are stopped already (as here: the
    // orchestrator stops parts in reverse order, the control plane last).
    script(ctx, "down.sh", { IMAAS_PARTS_STOPPED: "1" });
  },
};

/** The variables the control plane's env.sh exports (KUBECONFIG, PATH, PULUMI_HOME, backend, …), read by bash itself. */
export function sandboxEnv(dir: string): Record<string, string> {
  const out = execFileSync(
    "bash",
    ["-c", 'env -i HOME="$HOME" PATH="$PATH" bash -c \'source "$1/env.sh" && env -0\' _ "$0"', dir],
    { encoding: "utf8" },
  );
  const env: Record<string, string> = {};
  for (const line of out.split("\0")) {
    const i = line.indexOf("=");
    if (i > 0) env[line.slice(0, i)] = line.slice(i + 1);
  }
  for (const k of ["PWD", "SHLVL", "_"]) delete env[k];
  return env;
}
