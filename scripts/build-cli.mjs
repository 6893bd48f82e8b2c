#!/usr/bin/env node
/**
 * Compiles the `imaas` CLI so it starts without compiling TypeScript: `npm run build:cli`, and the root
 * `prepare` script (npm runs it after `npm ci` / `npm install` in this folder).
 *
 *   dist/cli.js       one esbuild bundle of cli/main.ts and what it imports (bin/imaas.js runs it); npm
 *                     packages stay in node_modules except the few small ones every command loads
 *   dist/program/     index.ts and every project file it imports, one .js per .ts (the stack program
 *                     `imaas plan` runs under mocks; cli/plan-engine.ts loads dist/program/index.js)
 *   dist/manifest.json  every source file both were built from, with size, mtime and SHA-256:
 *                       bin/imaas.js uses dist/ only while every one of them is unchanged
 *                       (scripts/cli-dist.cjs), else it runs the sources through tsx.
 *
 * Why the program is not bundled: a plan records the inputs of the Harbor dynamic providers, which hold
 * the providers' code as Pulumi serializes it (Function.prototype.toString of the compiled code). tsx
 * compiles each file alone with esbuild (format cjs, minifyWhitespace, keepNames, the project's
 * tsconfig); compiling each file alone with the same esbuild and options gives the same code, so
 * `imaas plan` prints byte-identical plans compiled or from source (test/cli/startup.test.ts checks it).
 *
 * `__dirname` in the CLI bundle would be dist/; each source's `__dirname` is rewritten to its own folder
 * (relative to the bundle, so the checkout can move); in dist/program/ each file starts by setting
 * `__dirname` to its source's folder. So PROJECT_DIR, `tenants/` beside index.ts and `images/mi-base`
 * resolve exactly as under tsx.
 *
 * Usage: node scripts/build-cli.mjs [--outdir DIR] [--quiet]
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const quiet = args.includes("--quiet");
const outdirArg = args.indexOf("--outdir");
const OUTDIR = outdirArg >= 0 ? resolve(args[outdirArg + 1]) : join(ROOT, "dist");

/** Files whose change makes a build stale besides the bundled sources. */
const BUILD_INPUTS = ["tsconfig.json", "scripts/build-cli.mjs", "package-lock.json"];

/**
 * npm packages bundled in: small pure-JS libraries every command loads (loading them as ~170 separate
 * files costs more than parsing one bundle). Every other package stays external — above all @pulumi/*,
 * which only a plan loads (its native gRPC parts and own dynamic requires must stay in node_modules).
 */
const BUNDLED_PACKAGES = new Set(["commander", "yaml", "zod"]);

/** esbuild plugin: bare imports of packages outside BUNDLED_PACKAGES are left to Node at run time. */
function externalPackages(bundled = BUNDLED_PACKAGES) {
  return {
    name: "external-packages",
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (resolveArgs) => {
        const name = resolveArgs.path.startsWith("@")
          ? resolveArgs.path.split("/").slice(0, 2).join("/")
          : resolveArgs.path.split("/")[0];
        return bundled.has(name) ? undefined : { path: resolveArgs.path, external: true };
      });
    },
  };
}

/** esbuild plugin: `__dirname` of each project .ts file becomes its own folder, computed from the bundle's. */
function sourceDirname(outdir) {
  return {
    name: "source-dirname",
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (loadArgs) => {
        if (loadArgs.path.split(sep).includes("node_modules")) return undefined;
        const text = readFileSync(loadArgs.path, "utf8");
        if (!/\b__dirname\b/.test(text)) return { contents: text, loader: "ts" };
        const rel = relative(outdir, dirname(loadArgs.path)).split("\\").join("/");
        const expr = `require("node:path").join(__dirname, ${JSON.stringify(rel)})`;
        return { contents: text.replace(/\b__dirname\b/g, `(${expr})`), loader: "ts" };
      });
    },
  };
}

/**
 * The project files `entry` imports (esbuild's resolution, packages excluded), relative to ROOT, plus the
 * .ts sources among them.
 */
async function programFiles(esbuild, entry) {
  const r = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: "node",
    format: "cjs",
    metafile: true,
    logLevel: "error",
    plugins: [externalPackages(new Set())],
  });
  return Object.keys(r.metafile.inputs).filter((f) => !f.split("/").includes("node_modules"));
}

/**
 * Compiles each program file alone, as tsx does (its register's esbuild options: target the running
 * Node, format cjs, minifyWhitespace, keepNames, the tsconfig), into OUTDIR/program/<same path>.js.
 */
function compileProgram(esbuild, files) {
  const tsconfigRaw = JSON.parse(readFileSync(join(ROOT, "tsconfig.json"), "utf8"));
  const outRoot = join(OUTDIR, "program");
  rmSync(outRoot, { recursive: true, force: true });
  for (const rel of files) {
    const source = join(ROOT, rel);
    const target = join(outRoot, rel.replace(/\.ts$/, ".js"));
    mkdirSync(dirname(target), { recursive: true });
    if (!rel.endsWith(".ts")) {
      writeFileSync(target, readFileSync(source));
      continue;
    }
    const { code } = esbuild.transformSync(readFileSync(source, "utf8"), {
      target: `node${process.versions.node}`,
      loader: "ts",
      format: "cjs",
      platform: "node",
      minifyWhitespace: true,
      keepNames: true,
      sourcefile: source,
      tsconfigRaw,
    });
    const dir = relative(dirname(target), dirname(source)).split(sep).join("/");
    // The source's own folder for whatever reads __dirname (the function texts stay as tsx's), after the
    // "use strict" directive, which must stay first.
    const strict = /^"use strict";/.exec(code)?.[0] ?? "";
    const setDir = `__dirname=require("node:path").join(__dirname,${JSON.stringify(dir)});`;
    writeFileSync(target, `${strict}${setDir}${code.slice(strict.length)}`);
  }
}

function sha256(file) {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

async function main() {
  const started = Date.now();
  let esbuild;
  try {
    esbuild = await import("esbuild");
  } catch {
    // `npm ci --omit=dev` installs no esbuild: the CLI then runs from source through tsx (a dependency).
    console.warn(
      "scripts/build-cli.mjs: esbuild is not installed (dev dependency); imaas will run from source",
    );
    return;
  }
  // No manifest while dist/ is being rewritten: bin/imaas.js then runs the sources.
  rmSync(join(OUTDIR, "manifest.json"), { force: true });
  rmSync(OUTDIR, { recursive: true, force: true });
  mkdirSync(OUTDIR, { recursive: true });
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: { cli: "cli/main.ts" },
    outdir: OUTDIR,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    tsconfig: join(ROOT, "tsconfig.json"),
    metafile: true,
    logLevel: "warning",
    // plan-engine's require.resolve("../index") runs only from source (tsx), never in the bundle.
    logOverride: { "require-resolve-not-external": "silent" },
    // Keeps class and function names (errors are recognized by constructor name, e.g. ResourceError).
    keepNames: true,
    plugins: [externalPackages(), sourceDirname(OUTDIR)],
  });
  // import() of a package (an ES module such as @kubernetes/client-node) through bin/imaas.js's
  // __imaasImport: it loads this bundle in a vm.Script (for its code cache), where import() needs a flag.
  const cliFile = join(OUTDIR, "cli.js");
  const bundled = readFileSync(cliFile, "utf8");
  writeFileSync(
    cliFile,
    bundled.replace(/\bimport\(("[^"./][^"]*")\)/g, "(globalThis.__imaasImport ?? ((s) => import(s)))($1)"),
  );
  const program = await programFiles(esbuild, "index.ts");
  compileProgram(esbuild, program);
  const sources = new Set([...BUILD_INPUTS, ...program]);
  for (const input of Object.keys(result.metafile.inputs)) {
    if (!input.split("/").includes("node_modules")) sources.add(input);
  }
  const inputs = {};
  for (const rel of [...sources].sort()) {
    const st = statSync(join(ROOT, rel));
    inputs[rel] = { size: st.size, mtimeMs: st.mtimeMs, sha256: sha256(join(ROOT, rel)) };
  }
  // Written last and atomically: a half-written build has no manifest and is never used.
  const manifest = { root: relative(OUTDIR, ROOT) || ".", bundles: ["cli.js", "program/index.js"], inputs };
  const tmp = join(OUTDIR, `manifest.json.${process.pid}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(manifest, null, 1)}\n`);
  renameSync(tmp, join(OUTDIR, "manifest.json"));
  if (!quiet) {
    console.log(
      `imaas CLI compiled to ${relative(process.cwd(), OUTDIR) || "."}/ (cli.js, program/) from ${sources.size} files in ${Date.now() - started} ms`,
    );
  }
}

main().catch((err) => {
  console.error(`scripts/build-cli.mjs: ${err.message}`);
  process.exitCode = 1;
});
