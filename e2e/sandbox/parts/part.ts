/**
 * A part of the sandbox (the control plane, the local Git world, Redis, Argo CD, …): built by an entry in
 * e2e/tools/build.sh, started on its own loopback ports and private folders, and stopped by restoring
 * everything it changed. The orchestrator (orchestrator.ts) starts the parts a suite asks for in
 * dependency order and always stops them.
 */

/** What every part gets: the sandbox it belongs to. */
export interface PartContext {
  /** The sandbox's state directory (IMAAS_SANDBOX_DIR): every part keeps its files below `<dir>/parts/<name>`. */
  readonly dir: string;
  /** Where e2e/tools/build.sh put the tools (IMAAS_TOOLS_DIR); binaries in `<toolsDir>/bin`. */
  readonly toolsDir: string;
  /** The repository root (the program, its tenants/ and charts/). */
  readonly repo: string;
  /** Log progress. */
  readonly log: (message: string) => void;
}

export interface Part {
  /** Name used to switch it on (`start argocd`) and its folder under `<dir>/parts/`. */
  readonly name: string;
  /** Parts that must be up before this one (started first, stopped after it). */
  readonly needs: readonly string[];
  /** Tools (e2e/tools/build.sh names) the part runs. */
  readonly tools: readonly string[];
  /** Starts the part (processes detached, recorded under its folder). Idempotent only through `stop` first. */
  start(ctx: PartContext): Promise<void>;
  /** Resolves when the part serves; rejects with the reason (and log tail) when it cannot. */
  ready(ctx: PartContext): Promise<void>;
  /**
   * Stops what `start` started and restores what it changed, from the records under its folder alone (so
   * another process — `npm run sandbox:down` — can stop it). Never throws for a part that is not running.
   */
  stop(ctx: PartContext): Promise<void>;
}
