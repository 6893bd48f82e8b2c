/**
 * `imaas deploy`: what the run needs from Pulumi (`DeployEngine`), and the real engine — Pulumi's
 * Automation API over the project directory (`automationEngine`).
 */
import type { ChangeCounts } from "./deploy-summary";

/** An engine event, reduced to what the progress and the failure report need. */
export type StackEvent =
  | { readonly kind: "resource"; readonly op: string }
  | { readonly kind: "error"; readonly message: string };

/** What runDeploy needs from Pulumi; `automationEngine` is the real one, tests use a fake. */
export interface DeployEngine {
  /** Names of the project's stacks in the backend. */
  listStacks(): Promise<string[]>;
  /**
   * Creates the stack if it is missing (its config file is already written) and sets `reencrypt` keys as
   * secrets, decrypted from the platform stack `from`.
   */
  prepareStack(
    stack: string,
    reencrypt: { readonly from: string; readonly keys: readonly string[] },
  ): Promise<void>;
  /** Runs a preview or an update (`--yes`) of the stack. */
  run(
    stack: string,
    operation: "preview" | "update",
    onEvent: (e: StackEvent) => void,
  ): Promise<ChangeCounts>;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching terminal colour codes is the point
const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * A DeployEngine on one LocalWorkspace whose workDir is the project root: the real Pulumi.yaml and
 * index.ts run, with the CLI found on PATH (and the backend, passphrase etc. from the environment).
 * Loaded lazily so that other imaas commands do not load the Automation API.
 */
export async function automationEngine(projectDir: string): Promise<DeployEngine> {
  // require, not import(): a dynamic import() stays an ES-module import under tsx and fails on the folder.
  const auto = require("@pulumi/pulumi/automation") as typeof import("@pulumi/pulumi/automation");
  const ws = await auto.LocalWorkspace.create({ workDir: projectDir });
  const stackName = (s: { name: string }) => s.name.split("/").pop() ?? s.name;
  return {
    async listStacks() {
      return (await ws.listStacks()).map(stackName);
    },
    async prepareStack(stack, reencrypt) {
      await auto.Stack.createOrSelect(stack, ws);
      if (reencrypt.keys.length === 0) return;
      const from = await ws.getAllConfig(reencrypt.from);
      const values: Record<string, { value: string; secret: boolean }> = {};
      for (const key of reencrypt.keys) {
        const v = from[key];
        if (v) values[key] = { value: v.value, secret: true };
      }
      await ws.setAllConfig(stack, values);
    },
    async run(stack, operation, onEvent) {
      const s = await auto.Stack.select(stack, ws);
      const handler = (e: import("@pulumi/pulumi/automation").EngineEvent) => {
        if (e.resourcePreEvent && !e.resourcePreEvent.metadata.type.startsWith("pulumi:providers:")) {
          onEvent({ kind: "resource", op: e.resourcePreEvent.metadata.op });
        }
        if (e.diagnosticEvent?.severity === "error") {
          const where = e.diagnosticEvent.urn ? `${e.diagnosticEvent.urn.split("::").pop()}: ` : "";
          onEvent({
            kind: "error",
            message: `${where}${e.diagnosticEvent.message.replace(ANSI, "").trim()}`,
          });
        }
      };
      if (operation === "preview") {
        return (await s.preview({ onEvent: handler, color: "never" })).changeSummary as ChangeCounts;
      }
      return ((await s.up({ onEvent: handler, color: "never" })).summary.resourceChanges ??
        {}) as ChangeCounts;
    },
  };
}
