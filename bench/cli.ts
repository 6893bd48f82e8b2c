/**
 * The CLI as a user runs it (issue 20, item 5): whole processes, timed from spawn to exit.
 *
 *   start-up     `node -e 0` (Node itself, the floor), `imaas --help`, `imaas validate` of tenants/
 *   validate     `imaas validate` of 1,000 synthetic tenant files
 *   whole plan   `imaas plan` of N synthetic tenants (default 40) against `node bench/replay.cjs`, a replay
 *                of the same resources through the same SDK under mocks (the whole-process floor): with
 *                the provider SDKs' classes and the SDK run as the plan runs it (stack traces off, see
 *                cli/plan-engine.ts) — the target's floor — and, for reference, bare (plain resources,
 *                the SDK's defaults)
 *
 * --help and validate run as the compiled CLI (dist/, built first) and, for comparison, from source
 * through tsx (`IMAAS_CLI_FROM_SOURCE=1`, the path an edited checkout takes); the plan too with
 * `planSource`. Runs are interleaved so a burst of load
 * from elsewhere hits every case alike; the median of the repetitions is reported with the fastest and
 * slowest, and the load average before and after.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { syntheticTenants, writeSyntheticTenants } from "./synthetic";

/** The issue's targets for whole processes. */
export const CLI_TARGETS = { helpSeconds: 0.3, validateSeconds: 0.5, planOverReplay: 1.3 };

export interface CliBenchOptions {
  /** The project whose CLI is measured (its bin/imaas.js, dist/ and node_modules). */
  readonly root: string;
  readonly repeat: number;
  readonly stack: string;
  /** Tenant files for the validate case. */
  readonly validateFiles: number;
  /** Synthetic tenants for the whole-process plan. */
  readonly planTenants: number;
  /** Also time --help and validate from source (tsx). */
  readonly source: boolean;
  /** Also time the plan from source (tsx): one more long process per repetition. */
  readonly planSource: boolean;
}

interface Case {
  readonly label: string;
  readonly argv: readonly string[];
  readonly env?: Record<string, string>;
  readonly times: number[];
}

export interface CliBenchResult {
  readonly cases: readonly { label: string; median: number; min: number; max: number; runs: number }[];
  readonly planResources: number;
  readonly ratio: number;
  readonly bareRatio: number;
  readonly sourceRatio?: number;
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
  readonly markdown: string;
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Runs `node argv…` in `root` and returns its wall seconds; a failing command stops the benchmark. */
function timeProcess(root: string, c: Case): number {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [...c.argv], {
    cwd: root,
    env: { ...process.env, ...c.env },
    stdio: ["ignore", "ignore", "pipe"],
    maxBuffer: 64 << 20,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) {
    throw new Error(`${c.label}: node ${c.argv.join(" ")} exited with ${r.status}:\n${String(r.stderr)}`);
  }
  return seconds;
}

/** Builds dist/ in `root` and checks bin/imaas.js will use it. */
function buildDist(root: string): void {
  const r = spawnSync(process.execPath, ["scripts/build-cli.mjs", "--quiet"], {
    cwd: root,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`scripts/build-cli.mjs failed:\n${r.stderr}`);
  const { distState } = require(join(root, "scripts", "cli-dist.cjs")) as {
    distState: (dir: string) => { fresh: boolean; why?: string };
  };
  const state = distState(join(root, "dist"));
  if (!state.fresh) throw new Error(`dist/ is not used right after its build: ${state.why}`);
}

const f = (x: number, digits = 2) => x.toFixed(digits);

export function runCliBench(o: CliBenchOptions): CliBenchResult {
  const loadBefore = loadavg();
  buildDist(o.root);
  const work = mkdtempSync(join(tmpdir(), "imaas-bench-cli-"));
  const validateDir = writeSyntheticTenants(syntheticTenants(o.validateFiles), "imaas-bench-validate-");
  const planDir = writeSyntheticTenants(syntheticTenants(o.planTenants), "imaas-bench-plan-");
  try {
    // The resources the replay registers: what the plan itself records (not timed).
    const planJson = join(work, "plan.json");
    const recorded = spawnSync(
      process.execPath,
      ["bin/imaas.js", "plan", planDir, "--stack", o.stack, "--format", "json"],
      { cwd: o.root, encoding: "utf8", maxBuffer: 1 << 30 },
    );
    if (recorded.status !== 0) throw new Error(`imaas plan ${planDir} failed:\n${recorded.stderr}`);
    writeFileSync(planJson, recorded.stdout);
    const planResources = (JSON.parse(recorded.stdout) as { resources: unknown[] }).resources.length;

    const fromSource = { IMAAS_CLI_FROM_SOURCE: "1" };
    const cases: Case[] = [];
    const add = (label: string, argv: string[], env?: Record<string, string>) => {
      const c: Case = { label, argv, ...(env ? { env } : {}), times: [] };
      cases.push(c);
      return c;
    };
    const both = (label: string, argv: string[], source = o.source) => {
      const compiled = add(label, argv);
      return { compiled, source: source ? add(`${label} — from source (tsx)`, argv, fromSource) : undefined };
    };
    const nodeOnly = add("node -e 0 (Node's own start-up)", ["-e", "0"]);
    const help = both("imaas --help", ["bin/imaas.js", "--help"]);
    const examples = both("imaas validate (tenants/, the examples)", [
      "bin/imaas.js",
      "validate",
      "--stack",
      o.stack,
    ]);
    both(`imaas validate (${o.validateFiles} synthetic files)`, [
      "bin/imaas.js",
      "validate",
      validateDir,
      "--stack",
      o.stack,
    ]);
    const plan = both(
      `imaas plan (${o.planTenants} synthetic tenants, table)`,
      ["bin/imaas.js", "plan", planDir, "--stack", o.stack],
      o.planSource,
    );
    const replay = add(
      `replay of its ${planResources} resources, provider SDKs' classes, stack traces off (bench/replay.cjs)`,
      ["--stack-trace-limit=0", join("bench", "replay.cjs"), planJson, o.stack],
    );
    const bare = add(`bare replay: plain resources, SDK defaults (bench/replay.cjs --bare)`, [
      join("bench", "replay.cjs"),
      planJson,
      o.stack,
      "--bare",
    ]);

    for (let i = 0; i < o.repeat; i++) {
      for (const c of cases) {
        const s = timeProcess(o.root, c);
        c.times.push(s);
        console.error(`  ${c.label}: ${f(s)} s`);
      }
    }
    const loadAfter = loadavg();
    const stats = cases.map((c) => ({
      label: c.label,
      median: median(c.times),
      min: Math.min(...c.times),
      max: Math.max(...c.times),
      runs: c.times.length,
    }));
    const med = (c: Case) => median(c.times);
    // Per repetition, the plan over the replay run right after it (the same load), then the median: steadier
    // than a ratio of medians when the machine's load changes during the benchmark.
    const perRun = (floor: Case) => plan.compiled.times.map((t, i) => t / floor.times[i]);
    const ratios = perRun(replay);
    const ratio = median(ratios);
    const bareRatio = median(perRun(bare));
    const sourceRatio = plan.source
      ? median(plan.source.times.map((t, i) => t / replay.times[i]))
      : undefined;
    const helpS = med(help.compiled);
    const validateS = med(examples.compiled);
    const verdict = (ok: boolean) => (ok ? "(met)" : "(NOT met)");
    const lines = [
      `- load average: ${loadBefore.map((l) => f(l)).join(" ")} before, ${loadAfter.map((l) => f(l)).join(" ")} after (1, 5, 15 min; 2 CPUs)`,
      `- ${o.repeat} runs of each case, interleaved; median, fastest and slowest wall seconds from spawn to exit`,
      "",
      "| process | median s | fastest s | slowest s |",
      "|---|---:|---:|---:|",
      ...stats.map((s) => `| ${s.label} | ${f(s.median)} | ${f(s.min)} | ${f(s.max)} |`),
      "",
      `- \`imaas --help\`: ${f(helpS)} s (median) — target < ${CLI_TARGETS.helpSeconds} s ${verdict(helpS < CLI_TARGETS.helpSeconds)}; Node alone takes ${f(med(nodeOnly))} s here`,
      `- \`imaas validate\` of the examples: ${f(validateS)} s — target < ${CLI_TARGETS.validateSeconds} s ${verdict(validateS < CLI_TARGETS.validateSeconds)}`,
      `- whole \`imaas plan\` process over the replay of its ${planResources} resources (provider classes, stack traces off): ${f(ratio)}× — target ≤ ${CLI_TARGETS.planOverReplay}× ${verdict(ratio <= CLI_TARGETS.planOverReplay)} (median of the runs' ratios: ${ratios.map((r) => f(r)).join(", ")})${sourceRatio ? `; from source (tsx): ${f(sourceRatio)}×` : ""}`,
      `- over the bare replay (plain resources, SDK defaults): ${f(bareRatio)}×`,
    ];
    return {
      cases: stats,
      planResources,
      ratio,
      bareRatio,
      ...(sourceRatio ? { sourceRatio } : {}),
      loadBefore,
      loadAfter,
      markdown: lines.join("\n"),
    };
  } finally {
    for (const d of [work, validateDir, planDir]) rmSync(d, { recursive: true, force: true });
  }
}
