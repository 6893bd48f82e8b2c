/**
 * The scale benchmark (issue 9): under Pulumi mocks, wall time and peak memory of
 *   program — the whole platform as one stack (index.ts over N synthetic tenants),
 *   tenant  — one tenant's stack (see --tenant-stack),
 *   floor   — the same number and shape of bare resources through the same plan engine (the SDK floor),
 *   sdk     — the same bare resources under minimal mocks (the floor without imaas's plan engine),
 * for each N, plus validating 1,000 tenant files. Every case runs in a fresh Node process (bench/worker.ts)
 * so peaks do not accumulate. Then the CLI as a user runs it, whole processes (bench/cli.ts): start-up,
 * validate, and the whole `imaas plan` process over a bare replay of its resources. Prints markdown
 * tables and writes them to bench/RESULTS.md.
 *
 *   tsx bench/run.ts [--sizes 10,100,500] [--quick] [--repeat 3] [--stack dev] [--tenant-stack] [--validate 1000]
 *                    [--no-sdk] [--no-source-maps] [--no-write] [--profile] [--json FILE]
 *                    [--cli-only | --no-cli] [--cli-repeat 5] [--cli-tenants 40] [--no-cli-source]
 *                    [--cli-plan-source]
 *
 * A benchmark, not a test: it asserts nothing and the numbers depend on the machine and its load.
 */
import { execFileSync, fork } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { runCliBench } from "./cli";
import { formatProfileReport, summarizeProfile } from "./profile";
import { type Job, type Measurement, NO_SOURCE_MAPS_ENV, SOURCE_MAPS_ENV } from "./worker";

const ROOT = join(__dirname, "..");
const PROFILE_DIR = join(__dirname, ".profiles");
/** The issue's targets. */
const TARGETS = { overFloor: 1.2, validateSeconds: 3, validateFiles: 1000 };

interface Options {
  readonly sizes: number[];
  readonly repeat: number;
  readonly stack: string;
  readonly tenantStack: boolean;
  readonly tenantConfig: Record<string, string>;
  readonly validate: number;
  readonly sdk: boolean;
  readonly sourceMaps: boolean;
  readonly write: boolean;
  readonly profile: boolean;
  readonly json?: string;
  readonly ref?: string;
  /** Measure the CLI's whole processes (bench/cli.ts); `cliOnly`: nothing else. */
  readonly cli: boolean;
  readonly cliOnly: boolean;
  readonly cliRepeat: number;
  readonly cliTenants: number;
  readonly cliSource: boolean;
  readonly cliPlanSource: boolean;
}

function positive(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: "${value}" is not a positive whole number`);
  return n;
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: "string" },
      quick: { type: "boolean", default: false },
      repeat: { type: "string" },
      stack: { type: "string", default: "dev" },
      "tenant-stack": { type: "boolean", default: false },
      "tenant-config": { type: "string", multiple: true, default: [] },
      validate: { type: "string", default: String(TARGETS.validateFiles) },
      "no-sdk": { type: "boolean", default: false },
      "no-source-maps": { type: "boolean", default: false },
      "no-write": { type: "boolean", default: false },
      profile: { type: "boolean", default: false },
      json: { type: "string" },
      ref: { type: "string" },
      "cli-only": { type: "boolean", default: false },
      "no-cli": { type: "boolean", default: false },
      "cli-repeat": { type: "string", default: "5" },
      "cli-tenants": { type: "string", default: "40" },
      "no-cli-source": { type: "boolean", default: false },
      "cli-plan-source": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      [
        "usage: tsx bench/run.ts [options]",
        "  --sizes 10,100,500     tenant counts N (default 10,100,500)",
        "  --quick                N = 10,100, one run each (a short run)",
        "  --repeat 3             runs per case; the fastest is reported, the slowest shown for the noise",
        "  --stack dev            platform stack whose Pulumi.<stack>.yaml config is used",
        "  --tenant-stack         measure the real tenant-stack mode: all N files, stack <stack>.tenant-00001",
        "  --tenant-config k=v    extra config for the tenant stack (repeatable), e.g. imaas:tenant=tenant-00001",
        "  --validate 1000        tenant files to validate (0: skip)",
        "  --no-sdk               skip the bare-SDK floor (without the plan engine)",
        "  --no-source-maps       turn tsx's source-mapped stack traces off in the measured processes",
        "  --no-write             do not write bench/RESULTS.md",
        "  --profile              also CPU-profile the program case at the largest N up to 100 and summarize",
        "  --json FILE            write the raw measurements as JSON",
        "  --ref REF              measure the program of a git commit (exported to a temporary folder) instead of",
        "                         the work tree, e.g. --ref HEAD while others have half-done edits",
        "  --cli-only             only the CLI's whole processes (start-up, validate, whole plan vs replay)",
        "  --no-cli               skip them",
        "  --cli-repeat 5         runs per CLI case (median reported)",
        "  --cli-tenants 40       synthetic tenants in the whole-process plan",
        "  --no-cli-source        do not also time --help and validate from source (tsx)",
        "  --cli-plan-source      also time the whole plan from source (tsx)",
      ].join("\n"),
    );
    process.exit(0);
  }
  const sizes = (values.sizes ?? (values.quick ? "10,100" : "10,100,500")).split(",").map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 1) throw new Error(`--sizes: "${s}" is not a positive whole number`);
    return n;
  });
  const tenantConfig: Record<string, string> = {};
  for (const kv of values["tenant-config"] ?? []) {
    const i = kv.indexOf("=");
    if (i < 1) throw new Error(`--tenant-config: "${kv}" is not key=value`);
    tenantConfig[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const repeat = Number(values.repeat ?? (values.quick ? 1 : 3));
  if (!Number.isInteger(repeat) || repeat < 1)
    throw new Error(`--repeat: "${values.repeat}" is not a positive whole number`);
  return {
    sizes,
    repeat,
    stack: values.stack ?? "dev",
    tenantStack: values["tenant-stack"] ?? false,
    tenantConfig,
    validate: Number(values.validate),
    sdk: !values["no-sdk"],
    sourceMaps: !values["no-source-maps"],
    write: !values["no-write"],
    profile: values.profile ?? false,
    ...(values.json ? { json: values.json } : {}),
    ...(values.ref ? { ref: values.ref } : {}),
    cli: !values["no-cli"],
    cliOnly: values["cli-only"] ?? false,
    cliRepeat: positive("--cli-repeat", values["cli-repeat"]),
    cliTenants: positive("--cli-tenants", values["cli-tenants"]),
    cliSource: !values["no-cli-source"],
    cliPlanSource: values["cli-plan-source"] ?? false,
  };
}

/** The project whose program is measured: this work tree, or a commit exported by --ref. */
let programRoot = ROOT;

/**
 * Exports `ref` into a temporary folder with this work tree's node_modules and bench/ (so the benchmark
 * is the current one whatever the commit holds), and returns its path.
 */
function exportRef(ref: string): string {
  const dir = mkdtempSync(join(tmpdir(), "imaas-bench-ref-"));
  const commit = execFileSync("git", ["rev-parse", "--verify", `${ref}^{commit}`], {
    cwd: ROOT,
    encoding: "utf8",
  }).trim();
  const archive = execFileSync("git", ["archive", "--format=tar", commit], { cwd: ROOT, maxBuffer: 1 << 30 });
  execFileSync("tar", ["-x", "-C", dir], { input: archive });
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  cpSync(__dirname, join(dir, "bench"), { recursive: true, filter: (src) => !src.includes(".profiles") });
  return dir;
}

/** Runs one job in a fresh Node process and returns its measurement. */
function runJob(
  job: Job,
  extraExecArgv: string[] = [],
  env: Record<string, string> = {},
): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const child = fork(join(programRoot, "bench", "worker.ts"), [JSON.stringify(job)], {
      cwd: programRoot,
      env: { ...process.env, ...env },
      // The tsx loader this process runs under, plus what the measurement needs.
      execArgv: [...process.execArgv, "--expose-gc", "--max-old-space-size=8192", ...extraExecArgv],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    let result: Measurement | undefined;
    child.on("message", (m) => {
      result = m as Measurement;
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      if (result) resolve(result);
      else reject(new Error(`bench worker for ${JSON.stringify(job)} exited with ${code}`));
    });
  });
}

interface Row {
  readonly label: string;
  readonly n: number | string;
  /** The fastest of the repeated runs. */
  readonly m: Measurement;
  /** The slowest run's wall seconds: how noisy the machine was. */
  readonly maxWall: number;
  /** What the ratio column compares with, and its measurement. */
  readonly against?: { readonly label: string; readonly m: Measurement };
}

const f = (x: number, digits: number) => x.toFixed(digits);

/** The fastest of repeated runs (the one least disturbed by other load) and the slowest run's time. */
function fastest(ms: readonly Measurement[]): { m: Measurement; maxWall: number } {
  const m = ms.reduce((a, b) => (b.wallSeconds < a.wallSeconds ? b : a));
  return { m, maxWall: Math.max(...ms.map((x) => x.wallSeconds)) };
}

function table(rows: readonly Row[]): string {
  const lines = [
    "| case | N | resources | wall s | slowest s | ms/resource | peak RSS MB | peak heap MB | heap KB/resource | wall × | heap × |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const { label, n, m, maxWall, against } of rows) {
    const heap = m.peakHeapMB - m.baseHeapMB;
    const ratio = (a: number, b: number) => (against && b > 0 ? `${f(a / b, 2)} (${against.label})` : "");
    lines.push(
      [
        "",
        label,
        n,
        m.resources,
        f(m.wallSeconds, 2),
        f(maxWall, 2),
        m.resources > 0 ? f((m.wallSeconds * 1000) / m.resources, 2) : "",
        f(m.peakRssMB, 0),
        f(m.peakHeapMB, 0),
        m.resources > 0 ? f((heap * 1024) / m.resources, 0) : "",
        against ? ratio(m.wallSeconds, against.m.wallSeconds) : "",
        against ? ratio(heap, against.m.peakHeapMB - against.m.baseHeapMB) : "",
        "",
      ]
        .join(" | ")
        .trim(),
    );
  }
  return lines.join("\n");
}

function machine(ref: string | undefined): string {
  const git = (args: string[]) => {
    try {
      return execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
    } catch {
      return "?";
    }
  };
  const dirty = !ref && git(["status", "--porcelain", "--", "index.ts", "components", "model", "cli"]) !== "";
  return [
    `- date: ${new Date().toISOString()}`,
    `- machine: ${availableParallelism()} CPUs (${cpus()[0]?.model ?? "?"}), ${f(totalmem() / 2 ** 30, 1)} GiB RAM, load average at start ${loadavg()
      .map((l) => f(l, 2))
      .join(" ")}`,
    `- node ${process.version}, @pulumi/pulumi ${require("@pulumi/pulumi/package.json").version}`,
    `- source-mapped stack traces (tsx's default): ${process.env[NO_SOURCE_MAPS_ENV] === "1" ? "off (--no-source-maps)" : "on"}`,
    `- code: commit ${git(["rev-parse", "--short", ref ?? "HEAD"])}${ref ? ` (--ref ${ref}, exported)` : dirty ? " with uncommitted changes in the program (work tree)" : " (work tree)"}`,
  ].join("\n");
}

const CLI_BEGIN = "<!-- bench/cli.ts: begin -->";
const CLI_END = "<!-- bench/cli.ts: end -->";

/** Replaces the CLI section of RESULTS.md (or appends it), keeping the plan tables of an earlier run. */
function writeCliBlock(block: string): void {
  const file = join(__dirname, "RESULTS.md");
  const text = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmark results\n";
  const begin = text.indexOf(CLI_BEGIN);
  const end = text.indexOf(CLI_END);
  const next =
    begin >= 0 && end > begin
      ? `${text.slice(0, begin)}${block}${text.slice(end + CLI_END.length)}`
      : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, next);
  console.error(`wrote the CLI section of ${relative(process.cwd(), file)}`);
}

function cpuProfileArgs(): string[] {
  mkdirSync(PROFILE_DIR, { recursive: true });
  return ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`, "--cpu-prof-interval=200"];
}

async function main(): Promise<void> {
  const opts = options(process.argv.slice(2));
  if (!opts.sourceMaps) process.env[NO_SOURCE_MAPS_ENV] = "1"; // inherited by every worker
  const header = machine(opts.ref);
  if (opts.ref) programRoot = exportRef(opts.ref);
  console.log(header);
  const rows: Row[] = [];
  const all: Measurement[] = [];
  const record = (m: Measurement) => {
    all.push(m);
    return m;
  };
  const progress = (what: string, m: Measurement) =>
    console.error(
      `  ${what}: ${m.resources} resources, ${f(m.wallSeconds, 2)} s, peak RSS ${f(m.peakRssMB, 0)} MB`,
    );

  for (const n of opts.cliOnly ? [] : opts.sizes) {
    console.error(`N = ${n}`);
    const runs: Record<"program" | "floor" | "sdk" | "tenant" | "tenantFloor", Measurement[]> = {
      program: [],
      floor: [],
      sdk: [],
      tenant: [],
      tenantFloor: [],
    };
    const run = async (key: keyof typeof runs, job: Job) => {
      const m = record(await runJob(job));
      runs[key].push(m);
      progress(key, m);
      return m;
    };
    // Interleaved, so a burst of load from elsewhere hits the program and its floor alike.
    for (let i = 0; i < opts.repeat; i++) {
      const program = await run("program", { kind: "program", n, stack: opts.stack });
      const shape = runs.program[0]?.shape ?? program.shape!;
      await run("floor", { kind: "floor", shape, stack: opts.stack });
      if (opts.sdk) await run("sdk", { kind: "sdk", shape, stack: opts.stack });
      const tenant = await run("tenant", {
        kind: "tenant",
        n,
        stack: opts.stack,
        tenantStack: opts.tenantStack,
        ...(opts.tenantStack ? { config: opts.tenantConfig } : {}),
      });
      const tenantShape = runs.tenant[0]?.shape ?? tenant.shape!;
      await run("tenantFloor", { kind: "floor", shape: tenantShape, stack: opts.stack });
    }
    const best = (key: keyof typeof runs) => fastest(runs[key]);
    rows.push({
      label: "program (one stack)",
      n,
      ...best("program"),
      against: { label: "floor", m: best("floor").m },
    });
    rows.push({
      label: "floor (bare resources, plan engine)",
      n,
      ...best("floor"),
      ...(opts.sdk ? { against: { label: "sdk", m: best("sdk").m } } : {}),
    });
    if (opts.sdk) rows.push({ label: "sdk (bare resources, bare mocks)", n, ...best("sdk") });
    const tenantLabel = opts.tenantStack ? "tenant stack" : "tenant (1-tenant folder)";
    rows.push({
      label: tenantLabel,
      n,
      ...best("tenant"),
      against: { label: "floor", m: best("tenantFloor").m },
    });
    rows.push({ label: "floor of the tenant", n, ...best("tenantFloor") });
  }

  let validation: Measurement | undefined;
  if (opts.validate > 0 && !opts.cliOnly) {
    const v: Measurement[] = [];
    for (let i = 0; i < opts.repeat; i++) {
      v.push(record(await runJob({ kind: "validate", n: opts.validate, stack: opts.stack })));
    }
    validation = fastest(v).m;
    console.error(`  validate ${opts.validate} files: ${f(validation.wallSeconds, 2)} s`);
  }

  let cliBlock: string | undefined;
  if (opts.cli || opts.cliOnly) {
    console.error("CLI, whole processes");
    const r = runCliBench({
      root: programRoot,
      repeat: opts.cliRepeat,
      stack: opts.stack,
      validateFiles: opts.validate > 0 ? opts.validate : TARGETS.validateFiles,
      planTenants: opts.cliTenants,
      source: opts.cliSource,
      planSource: opts.cliPlanSource,
    });
    cliBlock = [
      CLI_BEGIN,
      "## The CLI as a user runs it (whole processes, bench/cli.ts)",
      "",
      header,
      `- command: \`tsx bench/run.ts ${process.argv.slice(2).join(" ")}\``.replace(/ `$/, "`"),
      r.markdown,
      "",
      "Whole processes from spawn to exit, stdout discarded. *from source (tsx)* is the path a checkout with",
      "sources edited since the last build takes (and every command before this round). The replay registers",
      "the plan's resources in the same order with the same inputs, parents and providers through the same",
      "SDK under echoing mocks, and nothing else: what any program making these resources pays. The target's",
      "floor makes each with its provider SDK's class and runs the SDK as the plan does (stack traces off);",
      "the bare replay uses plain resources and the SDK's defaults (see bench/replay.cjs, bench/README.md).",
      CLI_END,
    ].join("\n");
    console.log(`\n${r.markdown}`);
  }
  if (opts.cliOnly) {
    if (opts.write && cliBlock) writeCliBlock(cliBlock);
    return;
  }

  const program = rows.filter((r) => r.label.startsWith("program"));
  const worst = Math.max(...program.map((r) => r.m.wallSeconds / r.against!.m.wallSeconds));
  const tenants = rows.filter((r) => r.label.startsWith("tenant"));
  const summary = [
    `- program over the SDK floor (wall): worst ${f(worst, 2)}× — target ≤ ${TARGETS.overFloor}× ${worst <= TARGETS.overFloor ? "(met)" : "(NOT met)"}`,
    `- tenant stack wall over N = ${tenants.map((r) => r.n).join(", ")}: ${tenants.map((r) => f(r.m.wallSeconds, 2)).join(", ")} s${opts.tenantStack ? "" : " (modelled as a 1-tenant folder, so independent of N by construction)"}`,
    ...(validation
      ? [
          `- validating ${opts.validate} tenant files (loadTenantSources, cold): ${f(validation.wallSeconds, 2)} s — target < ${TARGETS.validateSeconds} s ${validation.wallSeconds < TARGETS.validateSeconds ? "(met)" : "(NOT met)"}`,
        ]
      : []),
  ].join("\n");
  const body = `${table(rows)}\n\n${summary}`;
  console.log(`\n${body}`);

  if (opts.write) {
    const results = [
      "# Benchmark results",
      "",
      "Written by `npx tsx bench/run.ts` (`npm run bench`); see bench/README.md for what each case means and how to re-run.",
      "",
      header,
      `- command: \`tsx bench/run.ts ${process.argv.slice(2).join(" ")}\``.replace(/ `$/, "`"),
      "",
      "**Noisy numbers**: measured on a small shared machine while other builds ran; one case can vary by 2×",
      "between runs (compare *wall s* with *slowest s*). Compare ratios (the program and its floor run",
      "interleaved) rather than absolute times, and re-run on a quiet machine before quoting a number.",
      "",
      body,
      "",
      "Columns: *wall s* is the plan alone (modules already loaded); *peak RSS* is the whole process's peak",
      "(includes loading the SDKs, about 200 MB); *peak heap* is sampled during the plan; *heap KB/resource*",
      "is (peak heap − heap before the plan) / resources; *wall ×* and *heap ×* compare with the case in",
      "parentheses, measured with the same number and shape of resources.",
      "",
      ...(cliBlock ? [cliBlock, ""] : []),
    ].join("\n");
    writeFileSync(join(__dirname, "RESULTS.md"), results);
    console.error(`wrote ${relative(process.cwd(), join(__dirname, "RESULTS.md"))}`);
  }
  if (opts.json) writeFileSync(opts.json, `${JSON.stringify(all, null, 2)}\n`);

  if (opts.profile) {
    const n = Math.max(...opts.sizes.filter((s) => s <= 100), 1);
    const profileArgs = cpuProfileArgs();
    const before = new Set(readdirSync(PROFILE_DIR));
    const maps = join(PROFILE_DIR, `program-${n}.sourcemaps.json`);
    await runJob({ kind: "program", n, stack: opts.stack }, profileArgs, { [SOURCE_MAPS_ENV]: maps });
    // One profile per thread (tsx runs a loader thread too): the main thread's is the largest.
    const file = readdirSync(PROFILE_DIR)
      .filter((x) => !before.has(x) && x.endsWith(".cpuprofile"))
      .sort((a, b) => statSync(join(PROFILE_DIR, b)).size - statSync(join(PROFILE_DIR, a)).size)[0];
    if (!file) throw new Error(`no CPU profile was written to ${PROFILE_DIR}`);
    const path = join(PROFILE_DIR, file);
    console.log(`\nCPU profile of the program at N = ${n}: ${relative(process.cwd(), path)}`);
    console.log(
      `(again: tsx bench/profile.ts ${relative(process.cwd(), path)} --maps ${relative(process.cwd(), maps)})\n`,
    );
    console.log(formatProfileReport(summarizeProfile(path, programRoot, { maps })));
  }
}

main()
  .catch((err) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  })
  .finally(() => {
    if (programRoot !== ROOT) rmSync(programRoot, { recursive: true, force: true });
  });
