/**
 * The compiled CLI (scripts/build-cli.mjs → dist/, run by bin/imaas.js) behaves exactly as the sources run
 * through tsx, loads the Pulumi SDK only to plan, and is never used once a source it was built from has
 * changed. Behaviour only: which modules a process loaded and what it printed, never how long it took
 * (timings are in `npm run bench`, bench/cli.ts).
 *
 * Every case runs in a copy of the project's sources (node_modules linked) with its own dist/, so the
 * shared work tree's dist/ is neither needed nor touched.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import {
  appendFileSync,
  cpSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, sep } from "node:path";

const ROOT = join(__dirname, "..", "..");
/** What a CLI process needs; tests, e2e, bench and the build output stay out of the copy. */
const SKIP = new Set([
  "node_modules",
  ".git",
  "dist",
  "e2e",
  "test",
  "bench",
  ".sandbox",
  ".tools",
  ".scratch",
]);

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Files the process loaded (its require.cache at exit), relative to the copy. */
  readonly loaded: string[];
}

const { distState } = require(join(ROOT, "scripts", "cli-dist.cjs")) as {
  distState: (dir: string) => { fresh: boolean; why?: string };
};

describe("compiled CLI (dist/, bin/imaas.js)", function () {
  this.timeout(300_000);
  let copy: string;
  let hook: string;

  function build(): void {
    const r = spawnSync(process.execPath, ["scripts/build-cli.mjs", "--quiet"], {
      cwd: copy,
      encoding: "utf8",
    });
    assert.equal(r.status, 0, `build failed: ${r.stderr}`);
  }

  /** What `npm ci` runs after installing (npm's `prepare` lifecycle script), as CI does before `npx imaas`. */
  function npmPrepare(): void {
    const r = spawnSync("npm", ["run", "--silent", "prepare"], { cwd: copy, encoding: "utf8" });
    assert.equal(r.status, 0, `npm run prepare failed: ${r.stderr}`);
  }

  /** Runs bin/imaas.js in the copy; `fromSource` forces the tsx path. */
  function imaas(args: string[], fromSource = false): Run {
    const out = join(copy, `.loaded-${process.hrtime.bigint()}.json`);
    const env: NodeJS.ProcessEnv = { ...process.env, IMAAS_TEST_LOADED: out };
    delete env.IMAAS_CLI_FROM_SOURCE;
    if (fromSource) env.IMAAS_CLI_FROM_SOURCE = "1";
    const r = spawnSync(process.execPath, ["-r", hook, "bin/imaas.js", ...args], {
      cwd: copy,
      env,
      encoding: "utf8",
      maxBuffer: 256 << 20,
    });
    const loaded = (JSON.parse(readFileSync(out, "utf8")) as string[]).map((f) =>
      f.startsWith(copy + sep)
        ? f
            .slice(copy.length + 1)
            .split(sep)
            .join("/")
        : f,
    );
    rmSync(out);
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, loaded };
  }

  const ranCompiled = (r: Run) => r.loaded.includes("dist/cli.js") && !r.loaded.includes("cli/main.ts");
  const ranSource = (r: Run) => r.loaded.includes("cli/main.ts") && !r.loaded.includes("dist/cli.js");
  const pulumiLoaded = (r: Run) => r.loaded.filter((f) => /node_modules[\\/]@pulumi[\\/]/.test(f));

  before(() => {
    copy = mkdtempSync(join(tmpdir(), "imaas-startup-"));
    cpSync(ROOT, copy, {
      recursive: true,
      filter: (src) => src === ROOT || !SKIP.has(src.slice(ROOT.length + 1).split(sep)[0]),
    });
    symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"));
    hook = join(copy, ".loaded-hook.js");
    writeFileSync(
      hook,
      'process.on("exit", () => require("node:fs").writeFileSync(process.env.IMAAS_TEST_LOADED, JSON.stringify(Object.keys(require.cache))));\n',
    );
    npmPrepare();
  });

  after(() => {
    if (copy) rmSync(copy, { recursive: true, force: true });
  });

  it("npm's prepare script (run by npm ci) builds dist/, used at once: its manifest lists the CLI's and the program's sources", () => {
    assert.deepEqual(distState(join(copy, "dist")), { fresh: true });
    const manifest = JSON.parse(readFileSync(join(copy, "dist", "manifest.json"), "utf8")) as {
      inputs: Record<string, unknown>;
    };
    for (const f of ["cli/main.ts", "cli/plan-engine.ts", "index.ts", "model/load.ts", "tsconfig.json"]) {
      assert.ok(f in manifest.inputs, `${f} missing from dist/manifest.json`);
    }
    assert.ok(
      Object.keys(manifest.inputs).some((f) => f.startsWith("components/")),
      "the program's components are missing from dist/manifest.json",
    );
    assert.ok(ranCompiled(imaas(["--version"])));
    // bin/imaas.js leaves a V8 code cache beside the bundle for the next run.
    assert.ok(statSync(join(copy, "dist", "cli.js.cache")).size > 0);
  });

  it("--help, validate and schema --check print the same, with the same exit code, compiled and from source, and never load @pulumi/*", () => {
    // `catalog` imports an ES module package with import(), which the compiled CLI routes around vm.Script.
    for (const args of [["--help"], ["validate"], ["schema", "--check"], ["catalog"], ["nope"]]) {
      const compiled = imaas(args);
      const source = imaas(args, true);
      const what = `imaas ${args.join(" ")}`;
      assert.ok(ranCompiled(compiled), `${what} did not run dist/cli.js`);
      assert.ok(ranSource(source), `${what} from source did not run cli/main.ts`);
      assert.deepEqual(
        { status: compiled.status, stdout: compiled.stdout, stderr: compiled.stderr },
        { status: source.status, stdout: source.stdout, stderr: source.stderr },
        what,
      );
      assert.equal(compiled.status, args[0] === "nope" ? 2 : 0, `${what}: ${compiled.stderr}`);
      assert.deepEqual(pulumiLoaded(compiled), [], what);
      assert.deepEqual(pulumiLoaded(source), [], `${what} (from source)`);
    }
  });

  it("plan --format json of the examples is byte-identical compiled and from source (the program from dist/program/)", () => {
    const compiled = imaas(["plan", "--format", "json"]);
    const source = imaas(["plan", "--format", "json"], true);
    assert.equal(compiled.status, 0, compiled.stderr);
    assert.equal(source.status, 0, source.stderr);
    assert.ok(
      compiled.loaded.includes("dist/program/index.js"),
      "the compiled plan did not run dist/program/",
    );
    assert.ok(!compiled.loaded.some((f) => f.endsWith(".ts")), "the compiled plan loaded TypeScript");
    assert.ok(source.loaded.includes("index.ts"));
    // The plan is the one place the SDK is loaded (so the test above cannot pass by a broken hook).
    assert.ok(pulumiLoaded(compiled).length > 0);
    const plan = JSON.parse(compiled.stdout) as { resources: { inputs: Record<string, unknown> }[] };
    assert.ok(plan.resources.length > 100, `only ${plan.resources.length} resources planned`);
    // The Harbor dynamic providers' serialized code is part of the plan: it must come out the same.
    assert.ok(plan.resources.some((r) => typeof r.inputs.__provider === "string"));
    assert.equal(compiled.stdout, source.stdout);
    assert.equal(compiled.stderr, source.stderr);
  });

  it("a source edited after the build is never run stale: the sources run until the next build", () => {
    const main = join(copy, "cli", "main.ts");
    // Touched but unchanged (a checkout, an editor saving the same text): still compiled.
    const later = new Date(statSync(main).mtimeMs + 60_000);
    utimesSync(main, later, later);
    assert.ok(ranCompiled(imaas(["--help"])));

    appendFileSync(main, '\nprocess.stderr.write("edited after the build\\n");\n');
    const state = distState(join(copy, "dist"));
    assert.deepEqual(state, { fresh: false, why: "cli/main.ts changed since the build" });
    const edited = imaas(["--help"]);
    assert.ok(ranSource(edited), "an edited cli/main.ts was not run from source");
    assert.match(edited.stderr, /edited after the build/);

    build();
    const rebuilt = imaas(["--help"]);
    assert.ok(ranCompiled(rebuilt));
    assert.match(rebuilt.stderr, /edited after the build/);
  });

  it("a program file edited after the build, a removed source or a missing manifest sends the CLI to the sources", () => {
    const dist = join(copy, "dist");
    const load = join(copy, "model", "load.ts");
    const text = readFileSync(load, "utf8");
    writeFileSync(load, `${text}\n`);
    assert.deepEqual(distState(dist), { fresh: false, why: "model/load.ts changed since the build" });
    writeFileSync(load, text);
    assert.deepEqual(distState(dist), { fresh: true }, "same content again: fresh (by SHA-256)");

    const manifest = JSON.parse(readFileSync(join(dist, "manifest.json"), "utf8"));
    manifest.inputs["cli/was-removed.ts"] = { size: 1, mtimeMs: 1, sha256: "0" };
    writeFileSync(join(dist, "manifest.json"), JSON.stringify(manifest));
    assert.deepEqual(distState(dist), {
      fresh: false,
      why: "cli/was-removed.ts was removed since the build",
    });

    rmSync(join(dist, "manifest.json"));
    assert.equal(distState(dist).fresh, false);
    assert.ok(ranSource(imaas(["--help"])));
    build();
    assert.ok(ranCompiled(imaas(["--help"])));
  });
});
