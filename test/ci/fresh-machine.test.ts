/**
 * CI must pass on a machine that has never built anything: no Go build or module cache, no ~/.cache, no
 * tool folder. `e2e/ci.sh` once died at its free-space check (`df` of a GOCACHE that did not exist, under
 * `set -euo pipefail`) before building a single tool. These tests run the CI scripts' preflight as a
 * fresh machine would see it.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..");

function freshEnv(): NodeJS.ProcessEnv {
  const base = mkdtempSync(join(tmpdir(), "imaas-fresh-"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: join(base, "home-not-created"),
    GOCACHE: join(base, "none", "gocache"),
    GOMODCACHE: join(base, "none", "gomod"),
  };
  delete env.IMAAS_TOOLS_DIR;
  return env;
}

describe("CI on a fresh machine", () => {
  it("the preflight of e2e/ci.sh passes with Go caches, HOME and the tool folder missing, and creates none of them", () => {
    const env = freshEnv();
    const r = spawnSync("bash", ["e2e/preflight.sh"], { cwd: ROOT, env, encoding: "utf8" });
    assert.equal(r.status, 0, `preflight failed on a fresh machine:\n${r.stderr}`);
    assert.match(r.stdout, /GOCACHE=.*\(not created yet\)/);
    assert.match(r.stdout, /tools in .*home-not-created.*\(not created yet\)/);
    assert.ok(!existsSync(env.GOCACHE as string), "the preflight must not create GOCACHE");
  });

  it("e2e/ci.sh measures free space only through the preflight (no df of a path that may not exist)", () => {
    const ci = readFileSync(join(ROOT, "e2e", "ci.sh"), "utf8");
    assert.match(ci, /^bash e2e\/preflight\.sh$/m);
    assert.doesNotMatch(ci, /\bdf\b/);
  });

  it("every CI shell script parses (bash -n)", () => {
    for (const f of [".ci/run", "e2e/ci.sh", "e2e/ci-step.sh", "e2e/preflight.sh", "e2e/tools/build.sh"]) {
      const r = spawnSync("bash", ["-n", f], { cwd: ROOT, encoding: "utf8" });
      assert.equal(r.status, 0, `${f}: ${r.stderr}`);
    }
  });
});
