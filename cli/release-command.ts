/**
 * `imaas history <tenant>/<service> --env ENV` and `imaas rollback <tenant>/<service> --env ENV [--to TAG]`
 * (cli/release.ts). Exit codes: 0 done; 1 invalid input or a refused rollback (never ran there, already
 * running, no longer in the registry, git or the registry unreachable); 2 usage.
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import { platformConfigOf, type StackConfig } from "../model/stack-file";
import type { TenantSpec } from "../model/spec";
import {
  cloneBranch,
  type History,
  type RegistryCheck,
  ReleaseError,
  type RollbackResult,
  readHistory,
  registryCheck,
  releaseTarget,
  rollback,
} from "./release";

/** What main.ts lends the commands: its tenant loader and its invalid-input error (both exit 1). */
export interface ReleaseDeps {
  readonly loadTenants: (
    dir: string,
    stack: string,
    isDefault: boolean,
  ) => { readonly stackConfig: StackConfig; readonly tenants: readonly TenantSpec[] };
  readonly userError: (message: string) => Error;
}

const FORMATS = ["table", "json"] as const;
type Format = (typeof FORMATS)[number];

function parseFormat(value: string): Format {
  if (!(FORMATS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`use one of ${FORMATS.join(", ")}`);
  }
  return value as Format;
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000)
    throw new InvalidArgumentError("a whole number from 1 to 10000");
  return n;
}

/** The history as a person reads it: newest first, the running release marked. */
export function renderHistory(h: History): string {
  const t = h.target;
  const head = `${t.tenant}/${t.service} in ${t.env} (branch ${t.branch} of ${t.repoUrl}; Argo CD Application ${t.application})\n`;
  if (h.releases.length === 0) return `${head}no image has run there yet\n`;
  const rows = h.releases.map((r, i) => [
    i === 0 ? "*" : " ",
    r.date,
    r.digest ? `${r.tag || "(no tag)"}@${r.digest.slice(0, 19)}` : r.tag,
    r.commit.slice(0, 12),
    r.author,
    r.subject,
  ]);
  const header = [" ", "SINCE", "IMAGE TAG", "COMMIT", "BY", "CHANGE"];
  const widths = header.map((hd, c) => Math.max(hd.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (c === cells.length - 1 ? cell : cell.padEnd(widths[c]!)))
      .join("  ")
      .trimEnd();
  return [
    head,
    line(header),
    ...rows.map(line),
    "",
    `* runs now. ${h.truncated ? "Older commits were not read (raise --limit). " : ""}Roll back: imaas rollback ${t.tenant}/${t.service} --env ${t.env} [--to <tag>]`,
    "",
  ].join("\n");
}

export function renderRollback(r: RollbackResult, dryRun: boolean): string {
  const t = r.target;
  const what = `${t.env}: ${r.from.tag} -> ${r.to.tag} (${t.image}, the release of ${r.to.commit.slice(0, 12)}, ${r.to.date})`;
  if (dryRun) return `dry run, nothing pushed: rollback of ${t.tenant}/${t.service} ${what}\n`;
  if (!r.pullRequest) {
    return `rolled back ${t.tenant}/${t.service} ${what}\npushed ${r.commit.slice(0, 12)} to ${t.branch}; Argo CD syncs ${t.application} on its next refresh\n`;
  }
  return [
    `rollback of ${t.tenant}/${t.service} ${what}`,
    `${t.branch} is protected: pushed ${r.commit.slice(0, 12)} to branch ${r.pushedTo}; ${t.branch} is unchanged until it is merged`,
    ...(r.pullRequest.url ? [`open the pull request: ${r.pullRequest.url}`] : []),
    `or: ${r.pullRequest.command}`,
    "",
  ].join("\n");
}

/** The registry check from the environment: IMAAS_REGISTRY_USERNAME / IMAAS_REGISTRY_PASSWORD. */
function checkFor(url: string): RegistryCheck {
  const username = process.env.IMAAS_REGISTRY_USERNAME;
  const password = process.env.IMAAS_REGISTRY_PASSWORD;
  return registryCheck(url, username && password ? { username, password } : undefined);
}

export function registerReleaseCommands(
  program: Command,
  io: { readonly out: (s: string) => void },
  deps: ReleaseDeps,
): void {
  const common = (cmd: Command) =>
    cmd
      .requiredOption("-e, --env <env>", "environment (its branch of the service repository)")
      .option("-s, --stack <name>", "stack whose Pulumi.<stack>.yaml names the Git host and registry", "dev")
      .option("-d, --dir <dir>", "folder of tenant files", "tenants")
      .option("--limit <n>", "read at most this many commits of the branch", parseLimit, 200);
  const load = (ref: string, o: { env: string; stack: string; dir: string }, cmd: Command) => {
    const { stackConfig, tenants } = deps.loadTenants(
      o.dir,
      o.stack,
      cmd.getOptionValueSource("dir") === "default",
    );
    const config = platformConfigOf(stackConfig);
    try {
      return { config, target: releaseTarget(tenants, config, ref, o.env) };
    } catch (err) {
      if (err instanceof ReleaseError) throw deps.userError(err.message);
      throw err;
    }
  };
  const userErrors = async <T>(f: () => Promise<T> | T): Promise<T> => {
    try {
      return await f();
    } catch (err) {
      if (err instanceof ReleaseError) throw deps.userError(err.message);
      throw err;
    }
  };

  common(
    program
      .command("history")
      .argument("<tenant/service>", "the service, e.g. payroll/salary-sync")
      .description(
        "list the images an environment has run, newest first, with when each arrived and by which commit",
      ),
  )
    .addOption(
      new Option("-f, --format <format>", `output format: ${FORMATS.join(", ")}`)
        .default("table")
        .argParser(parseFormat),
    )
    .action(
      async (
        ref: string,
        o: { env: string; stack: string; dir: string; limit: number; format: Format },
        cmd: Command,
      ) => {
        const { target } = load(ref, o, cmd);
        const h = await userErrors(() => {
          const clone = cloneBranch(target);
          try {
            return readHistory(target, clone.dir, o.limit);
          } finally {
            clone.done();
          }
        });
        io.out(o.format === "json" ? `${JSON.stringify(h, null, 2)}\n` : renderHistory(h));
      },
    );

  common(
    program
      .command("rollback")
      .argument("<tenant/service>", "the service, e.g. payroll/salary-sync")
      .description(
        "return an environment to an earlier image: a commit on its branch, or a branch for a pull request when the branch is protected",
      ),
  )
    .option("--to <tag>", "the tag (or digest) to return to; default: the release before the current one")
    .option("--dry-run", "show the change, push nothing")
    .option(
      "--registry <url>",
      "registry to check the image in (default: https://<imaas:registry.host>); credentials from IMAAS_REGISTRY_USERNAME / IMAAS_REGISTRY_PASSWORD",
    )
    .action(
      async (
        ref: string,
        o: {
          env: string;
          stack: string;
          dir: string;
          limit: number;
          to?: string;
          dryRun?: boolean;
          registry?: string;
        },
        cmd: Command,
      ) => {
        const { config, target } = load(ref, o, cmd);
        const check = checkFor(o.registry ?? `https://${config.registry.host}`);
        const r = await userErrors(() =>
          rollback(target, {
            check,
            limit: o.limit,
            ...(o.to !== undefined ? { to: o.to } : {}),
            ...(o.dryRun ? { dryRun: true } : {}),
          }),
        );
        io.out(renderRollback(r, o.dryRun === true));
      },
    );
}
