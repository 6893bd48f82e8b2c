/**
 * `imaas upgrade --to REV [--stack S] [--dir DIR] [--kubeconfig PATH] [--context NAME] [--dry-run]`
 * (cli/upgrade.ts). Exit codes: 0 a ring moved (or every ring runs REV); 3 halted: Applications of the earlier
 * rings are not Synced and Healthy on REV; 4 a cluster could not be read; 1 invalid input; 2 usage.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import type { Command } from "commander";
import type { TenantSpec } from "../model/spec";
import { platformConfigOf, type StackConfig } from "../model/stack-file";
import { collectStatus, STATUS_EXIT, statusTargets } from "./status";
import { StatusExit } from "./status-command";
import {
  decide,
  gatingTenants,
  moveRingInStackFile,
  renderDecision,
  ringStates,
  UpgradeError,
} from "./upgrade";

export interface UpgradeDeps {
  readonly loadTenants: (
    dir: string,
    stack: string,
    isDefault: boolean,
  ) => { readonly stackConfig: StackConfig; readonly tenants: readonly TenantSpec[] };
  readonly userError: (message: string) => Error;
}

export function registerUpgradeCommand(
  program: Command,
  io: { readonly out: (s: string) => void },
  deps: UpgradeDeps,
): Command {
  return program
    .command("upgrade")
    .description(
      "move the next upgrade ring (imaas:rings) to a platform chart revision, only when every Application of the earlier rings is Synced and Healthy on it",
    )
    .requiredOption(
      "--to <revision>",
      "the platform chart revision (Git tag, branch or commit of imaas:argocd.platformRepo)",
    )
    .option("-s, --stack <name>", "stack whose Pulumi.<stack>.yaml holds the rings", "dev")
    .option("-d, --dir <dir>", "folder of tenant files", "tenants")
    .option("--kubeconfig <path>", "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
    .option(
      "--context <name>",
      "kubeconfig context (one-cluster stacks; default: each cluster's imaas:clusters context)",
    )
    .option("--dry-run", "check and print, do not write the stack file")
    .action(
      async (
        opts: {
          to: string;
          stack: string;
          dir: string;
          kubeconfig?: string;
          context?: string;
          dryRun?: boolean;
        },
        cmd: Command,
      ) => {
        const { stackConfig, tenants } = deps.loadTenants(
          opts.dir,
          opts.stack,
          cmd.getOptionValueSource("dir") === "default",
        );
        const config = platformConfigOf(stackConfig);
        const file = basename(stackConfig.file);
        try {
          const rings = ringStates(config, tenants, opts.to);
          const gating = gatingTenants(rings);
          let report: Awaited<ReturnType<typeof collectStatus>> | undefined;
          if (gating.length > 0) {
            // Loaded here, not at start-up: only status and upgrade need the Kubernetes client.
            const { kubeReaders, KubeconfigError } =
              require("./status-kube") as typeof import("./status-kube");
            try {
              const readers = await kubeReaders({
                ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
                ...(opts.context ? { context: opts.context } : {}),
              });
              report = await collectStatus(
                opts.stack,
                config,
                statusTargets(tenants, config, gating),
                readers,
              );
            } catch (err) {
              if (err instanceof KubeconfigError) throw deps.userError(err.message);
              throw err;
            }
            const unreadable = report.clusters.filter((c) => c.error);
            if (unreadable.length > 0) {
              io.out(
                `cannot judge the earlier rings: ${unreadable.map((c) => `cluster ${c.name}: ${c.error}`).join("; ")}\n`,
              );
              throw new StatusExit(STATUS_EXIT.unreadable);
            }
          }
          const decision = decide(rings, report, config.argocd.platformRepo, opts.to);
          if (decision.kind === "move" && !opts.dryRun) {
            writeFileSync(
              stackConfig.file,
              moveRingInStackFile(readFileSync(stackConfig.file, "utf8"), decision.ring.name, opts.to),
            );
          }
          io.out(renderDecision(decision, opts.to, file, opts.dryRun === true));
          if (decision.kind === "halt") throw new StatusExit(STATUS_EXIT.unhealthy);
        } catch (err) {
          if (err instanceof UpgradeError) throw deps.userError(err.message);
          throw err;
        }
      },
    );
}
