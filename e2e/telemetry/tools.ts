/**
 * The real tools this suite runs, from `$IMAAS_TOOLS_DIR/bin` (built by e2e/tools/build.sh from Go
 * modules; luajit from Debian), and a bounded way to run them.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export const ROOT = join(__dirname, "../..");
export const TOOLS_DIR = process.env.IMAAS_TOOLS_DIR || join(homedir(), ".cache/imaas-tools");

/** e2e/tools/build.sh names of the tools this suite needs. */
export const TELEMETRY_TOOLS = [
  "prometheus",
  "alertmanager",
  "prom-label-proxy",
  "actionlint",
  "lua",
  "otelcol",
] as const;

export const bin = (name: string): string => join(TOOLS_DIR, "bin", name);

/** Builds the suite's tools if needed (seconds when up to date; a cold build takes minutes). */
export function ensureTools(): void {
  execFileSync("bash", [join(ROOT, "e2e/tools/build.sh"), ...TELEMETRY_TOOLS], {
    env: { ...process.env, IMAAS_TOOLS_DIR: TOOLS_DIR },
    stdio: ["ignore", "inherit", "inherit"],
  });
  for (const b of [
    "promtool",
    "prometheus",
    "amtool",
    "alertmanager",
    "prom-label-proxy",
    "actionlint",
    "luajit",
  ]) {
    if (!existsSync(bin(b))) throw new Error(`${bin(b)} missing after e2e/tools/build.sh`);
  }
}

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a tool to completion (60 s at most), in `cwd`, with only PATH, HOME and `env` in its environment. */
export function runTool(
  name: string,
  args: readonly string[],
  cwd = ROOT,
  env: Record<string, string> = {},
): RunResult {
  const r = spawnSync(bin(name), args, {
    cwd,
    encoding: "utf8",
    timeout: 60_000,
    env: { PATH: "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", ...env },
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Output of a run for assertion messages. */
export const show = (r: RunResult): string => `exit ${r.status}\n${r.stdout}\n${r.stderr}`.trim();
