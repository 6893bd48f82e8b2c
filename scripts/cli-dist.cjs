/**
 * Whether the compiled CLI in dist/ (scripts/build-cli.mjs) may be used: its manifest exists, both bundles
 * exist, and every source file it was built from is unchanged. A file counts as unchanged when its size and
 * mtime match the manifest, or when its size and SHA-256 do (a checkout or `touch` that keeps the content).
 * Plain CommonJS and Node built-ins only: bin/imaas.js calls it before anything else loads.
 */
"use strict";
const { createHash } = require("node:crypto");
const { existsSync, readFileSync, statSync } = require("node:fs");
const { join, resolve } = require("node:path");

/**
 * Checks `distDir` against the sources in the folder its manifest names.
 * @param {string} distDir folder holding manifest.json, cli.js and program.js
 * @returns {{ fresh: true } | { fresh: false, why: string }}
 */
function distState(distDir) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(distDir, "manifest.json"), "utf8"));
  } catch {
    return { fresh: false, why: `${join(distDir, "manifest.json")} is missing (not built yet)` };
  }
  const root = resolve(distDir, manifest.root);
  for (const bundle of manifest.bundles) {
    if (!existsSync(join(distDir, bundle))) return { fresh: false, why: `${bundle} is missing` };
  }
  for (const [rel, want] of Object.entries(manifest.inputs)) {
    const file = join(root, rel);
    let st;
    try {
      st = statSync(file);
    } catch {
      return { fresh: false, why: `${rel} was removed since the build` };
    }
    if (st.size !== want.size) return { fresh: false, why: `${rel} changed since the build` };
    if (st.mtimeMs !== want.mtimeMs) {
      const sha = createHash("sha256").update(readFileSync(file)).digest("hex");
      if (sha !== want.sha256) return { fresh: false, why: `${rel} changed since the build` };
    }
  }
  return { fresh: true };
}

module.exports = { distState };
