/**
 * A cold CI run builds the later suites' tools in the background while the first suites run (e2e/ci.sh), and
 * each later suite asks e2e/tools/build.sh for its own tools meanwhile. That is safe only because build.sh
 * builds a tool under a lock of its own; and it is complete only if CI builds every tool build.sh knows.
 * These tests run the real build.sh (with a tool name it refuses, so nothing is built or installed).
 */
import { strict as assert } from "node:assert";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..");

/** The words of a bash array assignment `NAME=(a b c)` in `file`. */
function bashArray(file: string, name: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const m = new RegExp(`^${name}=\\(([^)]*)\\)`, "m").exec(text);
  assert.ok(m, `${file} has no ${name}=(...)`);
  return m[1]!.split(/\s+/).filter(Boolean);
}

describe("e2e/tools/build.sh under concurrent runs", () => {
  let tools: string;
  beforeEach(() => {
    tools = mkdtempSync(join(tmpdir(), "imaas-build-lock-"));
    mkdirSync(join(tools, "stamps"), { recursive: true });
  });
  afterEach(() => rmSync(tools, { recursive: true, force: true }));

  it("a second run waits while another holds the tool's lock, and goes on once it is released", async () => {
    // The lock build.sh takes for a tool named "no-such-tool", held by another process (as a build would).
    const holder = spawn("bash", [
      "-c",
      `exec 8>"$0/stamps/.lock-no-such-tool"; flock 8; echo held; exec sleep 30`,
      tools,
    ]);
    await new Promise<void>((resolve) => holder.stdout.once("data", () => resolve()));

    const run = spawn("bash", ["e2e/tools/build.sh", "no-such-tool"], {
      cwd: ROOT,
      env: { ...process.env, IMAAS_TOOLS_DIR: tools },
    });
    let stderr = "";
    run.stderr.on("data", (d) => {
      stderr += d;
    });
    let exited: number | null | undefined;
    const done = new Promise<number | null>((resolve) =>
      run.on("exit", (code) => {
        exited = code;
        resolve(code);
      }),
    );
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(exited, undefined, `build.sh went on while the lock was held:\n${stderr}`);
    assert.match(stderr, /== no-such-tool: another run is building it; waiting/);

    holder.kill("SIGKILL");
    const code = await done;
    // Past the lock it reaches the tool itself, which it does not know.
    assert.equal(code, 1);
    assert.match(stderr, /unknown tool 'no-such-tool'/);
  });

  it("without a holder, the run takes the lock at once (no waiting line)", () => {
    const r = spawnSync("bash", ["e2e/tools/build.sh", "no-such-tool"], {
      cwd: ROOT,
      env: { ...process.env, IMAAS_TOOLS_DIR: tools },
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.equal(r.status, 1);
    assert.doesNotMatch(r.stderr, /waiting/);
    assert.match(r.stderr, /unknown tool 'no-such-tool'/);
  });
});

describe("e2e/ci.sh builds every tool", () => {
  it("its first and later halves together are exactly build.sh's tools, each once", () => {
    const all = bashArray("e2e/tools/build.sh", "ALL_TOOLS");
    const first = bashArray("e2e/ci.sh", "FIRST_TOOLS");
    const later = bashArray("e2e/ci.sh", "LATER_TOOLS");
    assert.deepEqual([...first, ...later].sort(), [...all].sort());
  });

  it("each later tool is waited for by a tools step before the suites run to their end", () => {
    const ci = readFileSync(join(ROOT, "e2e/ci.sh"), "utf8");
    const asked = [...ci.matchAll(/^tools_step (.+)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/));
    assert.deepEqual([...asked].sort(), [...bashArray("e2e/ci.sh", "LATER_TOOLS")].sort());
  });
});
