/**
 * The orchestrator from the shell, for `npm run sandbox` and `npm run sandbox:down`:
 *
 *   tsx e2e/sandbox/parts/cli.ts start PART...   start PART and what it needs (left running); on a
 *                                                failure or Ctrl-C what was started is stopped again;
 *                                                new service repos get CI's first build, image.tag
 *                                                $IMAAS_SANDBOX_FIRST_TAG (default 0.1.0-sandbox; empty: none)
 *   tsx e2e/sandbox/parts/cli.ts stop            stop every part but the control plane (down.sh does that)
 *
 * The sandbox is $IMAAS_SANDBOX_DIR (default <repo>/.sandbox); tools from $IMAAS_TOOLS_DIR.
 */
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { allParts, startParts, stopParts } from "./orchestrator";
import type { PartContext } from "./part";

export function contextFromEnv(): PartContext {
  const repo = resolve(__dirname, "../../..");
  return {
    repo,
    dir: resolve(process.env.IMAAS_SANDBOX_DIR || join(repo, ".sandbox")),
    toolsDir: process.env.IMAAS_TOOLS_DIR || join(homedir(), ".cache/imaas-tools"),
    log: (m) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} [parts] ${m}\n`),
  };
}

async function main(argv: string[]): Promise<number> {
  const [command, ...names] = argv;
  const ctx = contextFromEnv();
  if (command === "start" && names.length > 0) {
    const interrupted = async () => {
      ctx.log("interrupted: stopping what was started");
      await stopParts(ctx, allParts()).catch(() => undefined);
      process.exit(130);
    };
    process.once("SIGINT", interrupted);
    process.once("SIGTERM", interrupted);
    // `npm run sandbox` plays CI's first build so that a person sees the Applications synced
    // (IMAAS_SANDBOX_FIRST_TAG= turns it off; the GitOps suite starts from the bare seed).
    const firstBuildTag = process.env.IMAAS_SANDBOX_FIRST_TAG ?? "0.1.0-sandbox";
    await startParts(ctx, names, allParts(firstBuildTag ? { git: { firstBuildTag } } : {}));
    return 0;
  }
  if (command === "stop" && names.length === 0) {
    await stopParts(
      ctx,
      allParts().filter((p) => p.name !== "control-plane"),
    );
    return 0;
  }
  process.stderr.write("usage: cli.ts start PART... | stop\n");
  return 2;
}

main(process.argv.slice(2)).then(
  (rc) => process.exit(rc),
  (err) => {
    process.stderr.write(`ERROR: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
