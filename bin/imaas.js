#!/usr/bin/env node
// The `imaas` command. Runs the compiled CLI (dist/cli.js, built by scripts/build-cli.mjs: `npm ci` runs it as
// the `prepare` script) while every source file it was built from is unchanged; otherwise — not built yet, or
// a source edited since — the TypeScript itself through tsx, so an edit is never ignored (docs/cli.md).
// IMAAS_CLI_FROM_SOURCE=1 forces the tsx path.

const { join } = require("node:path");

const dist = join(__dirname, "..", "dist");
const state =
  process.env.IMAAS_CLI_FROM_SOURCE === "1"
    ? { fresh: false, why: "IMAAS_CLI_FROM_SOURCE=1" }
    : require("../scripts/cli-dist.cjs").distState(dist);

let cli;
if (state.fresh) {
  cli = require(join(dist, "cli.js"));
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
