/**
 * Every step of e2e/ci.sh runs under a time limit (e2e/ci-step.sh): a CI run once hung for good after a
 * suite printed "24 passing", because a test left an HTTP/2 server open and mocha never exited. These
 * tests run the real `step` function in bash.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..");

/** Runs `script` in bash after sourcing e2e/ci-step.sh; prints the step's exit code and timings. */
function withStep(script: string) {
  return spawnSync(
    "bash",
    [
      "-c",
      `set -euo pipefail; source e2e/ci-step.sh; rc=0; ${script} || rc=$?; echo "rc=$rc"; printf '%s\\n' "\${timings[@]}"`,
    ],
    { cwd: ROOT, encoding: "utf8", timeout: 60_000 },
  );
}

describe("e2e/ci.sh step limits", () => {
  it("a step that outlives its limit is stopped with exit 124 and a message naming it; the process it left behind dies too", () => {
    const r = withStep(
      `step "hanging suite" 1 bash -c 'sleep 40 & echo $! > /tmp/imaas-step-child.$PPID; wait'`,
    );
    assert.match(r.stdout, /^rc=124$/m);
    assert.match(r.stderr, /e2e step "hanging suite" exceeded its limit of 1 s and was stopped \(exit 124\)/);
    assert.match(r.stdout, /hanging suite\s+\d+ s/);
    // The background sleep was in the step's process group: timeout(1) signalled it as well.
    const pids = spawnSync(
      "bash",
      ["-c", "cat /tmp/imaas-step-child.* 2>/dev/null; rm -f /tmp/imaas-step-child.*"],
      {
        encoding: "utf8",
      },
    ).stdout.trim();
    assert.ok(pids, "the step never started its child");
    for (const pid of pids.split(/\s+/).filter(Boolean)) {
      // Alive = present and not a zombie, still so after up to 5 s (the signal may take a moment to land).
      const alive =
        spawnSync("bash", [
          "-c",
          `for i in $(seq 50); do s=$(awk '{print $3}' /proc/${pid}/stat 2>/dev/null) || exit 1; [[ $s == Z ]] && exit 1; sleep 0.1; done`,
        ]).status === 0;
      assert.ok(!alive, `the step's child ${pid} survived the limit`);
    }
  });

  it("a step's own failure keeps its exit code and no limit message; a function of the calling script runs as a step", () => {
    const failing = withStep(`step "failing suite" 60 bash -c 'exit 3'`);
    assert.match(failing.stdout, /^rc=3$/m);
    assert.doesNotMatch(failing.stderr, /exceeded/);
    const fn = withStep(
      `greet() { echo "hello from $1"; }; export -f greet; step "function step" 60 greet ci`,
    );
    assert.match(fn.stdout, /hello from ci/);
    assert.match(fn.stdout, /^rc=0$/m);
  });

  it("IMAAS_CI_STEP_LIMIT_SCALE multiplies the limit", () => {
    const r = spawnSync("bash", ["-c", `source e2e/ci-step.sh; step "scaled" 7 true`], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, IMAAS_CI_STEP_LIMIT_SCALE: "3" },
    });
    assert.match(r.stdout, /limit 21 s/);
  });

  it("every step of e2e/ci.sh names a limit, and function steps are exported", () => {
    const ci = readFileSync(join(ROOT, "e2e", "ci.sh"), "utf8");
    const steps = ci.split("\n").filter((l) => l.startsWith("step "));
    assert.ok(steps.length >= 10, `expected the e2e steps, found ${steps.length}`);
    for (const l of steps) assert.match(l, /^step "[^"]+" \d+ \S/, `step without a limit: ${l}`);
    for (const l of steps) {
      const cmd = l.replace(/^step "[^"]+" \d+ /, "").split(" ")[0];
      if (/^[a-z_]+$/.test(cmd) && !["bash", "npm", "npx"].includes(cmd)) {
        assert.match(ci, new RegExp(`^export -f ${cmd}$`, "m"), `function step ${cmd} is not exported`);
      }
    }
  });
});
