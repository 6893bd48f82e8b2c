#!/usr/bin/env node
// The `imaas` command. Runs the compiled CLI (dist/cli.js, built by scripts/build-cli.mjs: `npm ci` runs it as
// the `prepare` script) while every source file it was built from is unchanged; otherwise — not built yet, or
// a source edited since — the TypeScript itself through tsx, so an edit is never ignored (docs/cli.md).
// IMAAS_CLI_FROM_SOURCE=1 forces the tsx path.

const { dirname, join } = require("node:path");

const dist = join(__dirname, "..", "dist");
const state =
  process.env.IMAAS_CLI_FROM_SOURCE === "1"
    ? { fresh: false, why: "IMAAS_CLI_FROM_SOURCE=1" }
    : require("../scripts/cli-dist.cjs").distState(dist);

/**
 * Loads the CommonJS bundle `file` as require() would, with a V8 code cache beside it (`<file>.cache`,
 * written by the first run, rewritten if V8 rejects it): compiling the bundle is then mostly skipped.
 * Node 20 has no module.enableCompileCache, hence vm.Script. Dynamic import() of packages goes through
 * __imaasImport (scripts/build-cli.mjs rewrites them), since import() inside a vm.Script needs a flag.
 */
function loadWithCodeCache(file) {
  const fs = require("node:fs");
  const Module = require("node:module");
  const vm = require("node:vm");
  const cacheFile = `${file}.cache`;
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(fs.readFileSync(file, "utf8")), { filename: file, cachedData });
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(dirname(file));
  require.cache[file] = mod;
  globalThis.__imaasImport = (specifier) => import(specifier);
  script.runInThisContext()(mod.exports, Module.createRequire(file), mod, file, dirname(file));
  mod.loaded = true;
  if (cachedData === undefined || script.cachedDataRejected) {
    process.once("exit", () => {
      // A cache of everything compiled by now; a read-only install simply goes without.
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        fs.writeFileSync(tmp, script.createCachedData());
        fs.renameSync(tmp, cacheFile);
      } catch {
        fs.rmSync(tmp, { force: true });
      }
    });
  }
  return mod.exports;
}

let cli;
if (state.fresh) {
  cli = loadWithCodeCache(join(dist, "cli.js"));
} else {
  if (process.stderr.isTTY && process.env.IMAAS_CLI_FROM_SOURCE !== "1") {
    process.stderr.write(
      `imaas: running from source, slower (${state.why}); npm run build:cli compiles it\n`,
    );
  }
  require("tsx/cjs");
  cli = require("../cli/main.ts");
}

cli
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  })
  .catch((err) => {
    console.error(err);
    process.exitCode = 70;
  });
