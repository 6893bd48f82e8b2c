/**
 * `imaas status [--tenant NAME]... [--stack S] [--dir DIR] [--kubeconfig PATH] [--context NAME]
 * [--format table|json]`: per tenant × service × environment, the Argo CD Application's sync and health
 * (and revision), the image tag the Deployment runs, ready/desired replicas, URL, Grafana link and the last
 * sync error, read from the live clusters (cli/status.ts, cli/status-kube.ts).
 *
 * Exit codes: 0 everything Synced, Healthy and ready; 3 read completely, something is not; 4 a cluster
 * could not be read (unreachable, unauthorized, forbidden) — its rows are printed as unknown; 1 invalid
 * input (tenant files, stack config, kubeconfig file or context, unknown tenant); 2 usage.
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import type { ClusterConfig, PlatformConfig } from "../model/platform-config";
import type { TenantSpec } from "../model/spec";
import { platformConfigOf, type StackConfig } from "../model/stack-file";
import { collectStatus, type StatusReport, statusTargets } from "./status";
import type { ClusterReader } from "./status-objects";
import { renderStatus, STATUS_FORMATS, type StatusFormat } from "./status-render";

/** The command printed what it had to; the process exits with `exitCode` (main.ts returns it). */
export class StatusExit extends Error {
  constructor(readonly exitCode: number) {
    super(`imaas status: exit ${exitCode}`);
  }
}

/** What main.ts lends the command: its tenant loader and its invalid-input error (both exit 1). */
export interface StatusDeps {
  /** Loads and validates the tenant files in `dir` for `stack`; throws main's input errors. */
  readonly loadTenants: (
    dir: string,
    stack: string,
    isDefault: boolean,
  ) => { readonly stackConfig: StackConfig; readonly tenants: readonly TenantSpec[]; readonly dir: string };
  /** An error main.ts prints without a stack trace, exit 1. */
  readonly userError: (message: string) => Error;
}

export interface StatusOptions {
  readonly stack: string;
  readonly config: PlatformConfig;
  readonly tenants: readonly TenantSpec[];
  /** Only these tenants; empty: all. */
  readonly only: readonly string[];
  readonly readerFor: (cluster: ClusterConfig) => ClusterReader;
}

/** Reads the live state of every selected service environment. */
export function runStatus(opts: StatusOptions): Promise<StatusReport> {
  const targets = statusTargets(opts.tenants, opts.config, opts.only);
  return collectStatus(opts.stack, opts.config, targets, opts.readerFor);
}

function parseStatusFormat(value: string): StatusFormat {
  if (!(STATUS_FORMATS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`use one of ${STATUS_FORMATS.join(", ")}`);
  }
  return value as StatusFormat;
}

/** Adds `imaas status` to the CLI; main.ts returns {@link StatusExit}'s code as the exit code. */
export function registerStatusCommand(
  program: Command,
  io: { readonly out: (s: string) => void },
  deps: StatusDeps,
): Command {
  return program
    .command("status")
    .description(
      "show what runs per tenant, service and environment: Argo CD sync and health, image tag, ready replicas, URL, Grafana, last sync error (exit 0 only when all is Synced, Healthy and ready)",
    )
    .option(
      "-t, --tenant <name>",
      "only this tenant (repeatable)",
      (name: string, names: string[]) => [...names, name],
      [] as string[],
    )
    .option("-s, --stack <name>", "stack whose Pulumi.<stack>.yaml maps environments to clusters", "dev")
    .option("-d, --dir <dir>", "folder of tenant files", "tenants")
    .option("--kubeconfig <path>", "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
    .option(
      "--context <name>",
      "kubeconfig context to read (one-cluster stacks; default: each cluster's imaas:clusters context, else the current one)",
    )
    .addOption(
      new Option("-f, --format <format>", `output format: ${STATUS_FORMATS.join(", ")}`)
        .default("table")
        .argParser(parseStatusFormat),
    )
    .action(
      async (
        opts: {
          tenant: string[];
          stack: string;
          dir: string;
          kubeconfig?: string;
          context?: string;
          format: StatusFormat;
        },
        cmd: Command,
      ) => {
        const isDefault = cmd.getOptionValueSource("dir") === "default";
        const { stackConfig, tenants, dir } = deps.loadTenants(opts.dir, opts.stack, isDefault);
        const config = platformConfigOf(stackConfig);
        const unknown = opts.tenant.filter((n) => !tenants.some((t) => t.name === n));
        if (unknown.length > 0) {
          throw deps.userError(
            `--tenant ${unknown.map((n) => `"${n}"`).join(", ")}: no such tenant in ${dir}; tenants there: ${tenants.map((t) => t.name).join(", ") || "none"}`,
          );
        }
        if (opts.context && config.clusters.length > 1) {
          throw deps.userError(
            `--context ${opts.context}: stack "${opts.stack}" has ${config.clusters.length} clusters (${config.clusters.map((c) => c.name).join(", ")}); ` +
              "set each cluster's context in imaas:clusters instead",
          );
        }
        // Loaded here, not at start-up: only `imaas status` needs the Kubernetes client.
        const { kubeReaders, KubeconfigError } = require("./status-kube") as typeof import("./status-kube");
        let report: StatusReport;
        try {
          const readers = await kubeReaders({
            ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
            ...(opts.context ? { context: opts.context } : {}),
          });
          report = await runStatus({
            stack: opts.stack,
            config,
            tenants,
            only: opts.tenant,
            readerFor: readers,
          });
        } catch (err) {
          if (err instanceof KubeconfigError) throw deps.userError(err.message);
          throw err;
        }
        io.out(renderStatus(report, opts.format));
        if (report.exitCode !== 0) throw new StatusExit(report.exitCode);
      },
    );
}
