#!/usr/bin/env node
// Runs the TypeScript CLI directly (through tsx), so `npx imaas …` works right after `npm ci`.
require("tsx/cjs");
require("../cli/main.ts")
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  })
  .catch((err) => {
    console.error(err);
    process.exitCode = 70;
  });
