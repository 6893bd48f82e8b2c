/**
 * `imaas deploy`: fans a platform stack's tenant stacks (`<platform>.<tenant>`) out in parallel with
 * Pulumi's Automation API (a LocalWorkspace on the project root, so the real index.ts runs).
 *
 * Pure parts, tested without an engine: which tenants changed since a git ref (`tenantChangesFromGit`,
 * `classifyChanges`), what to run (`planTargets`), a tenant stack's config file (`tenantStackFile`), the
 * bounded pool (`runPool`), the progress lines and the summary (`renderSummary`, `renderDecommission`).
 * `runDeploy` ties them together over a `DeployEngine`; `automationEngine` is the real one.
 *
 * Deleted tenants are never destroyed here: they are reported with the commands of the deliberate
 * decommission path (README: Decommissioning a tenant).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { programPaths } from "../deployments/settings";
import { isTenantFile } from "../model/discover";
import { formatError, loadTenantDir } from "../model/load";
import { platformStackOf, tenantStackName } from "../model/naming";
import { platformConfigOf, readStackConfig, stackFilePath } from "../model/stack-file";
import { DiffError } from "./diff-git";

/**
 * Input that stops `imaas deploy` before or after the fan-out (exit 1, message without a stack trace).
 * It extends DiffError so that cli/main.ts's existing user-error handling applies to it unchanged.
 */
export class DeployError extends DiffError {}

// ---------------------------------------------------------------------------------------------------
// Which tenants changed

/** One changed file, relative to the project directory. */
export interface ChangedFile {
  readonly status: "A" | "M" | "D";
  readonly path: string;
}

export interface TenantChanges {
  /** The ref compared with, and the commit it resolved to. */
  readonly base: string;
  readonly commit: string;
  readonly added: string[];
  readonly changed: string[];
  readonly deleted: string[];
  /** Program files changed (components, model, index.ts, the platform stack file, …): every tenant stack is affected. */
  readonly programFiles: string[];
}

function git(repoDir: string, args: readonly string[]): string {
  try {
    return execFileSync("git", [...args], {
      cwd: repoDir,
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 64 << 20,
    }).toString();
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? "").trim();
    throw new DeployError(`git ${args[0]} failed in ${repoDir}: ${stderr || (err as Error).message}`);
  }
}

function commitOf(repoDir: string, ref: string): string | undefined {
  if (ref.length === 0 || ref.startsWith("-")) return undefined;
  try {
    return execFileSync("git", ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], {
      cwd: repoDir,
      stdio: ["ignore", "pipe", "ignore"],
    })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}

/** `origin/main` when it exists, else `HEAD~1`. */
export function defaultBase(repoDir: string): string {
  for (const ref of ["origin/main", "HEAD~1"]) if (commitOf(repoDir, ref)) return ref;
  throw new DeployError(
    `nothing to compare with in ${repoDir}: neither origin/main nor HEAD~1 exists; pass --base REF or --only TENANT…`,
  );
}

/** True when `file` (relative, `/`-separated) matches a path filter: `dir/**` (a folder) or an exact path. */
export function matchesPath(file: string, pattern: string): boolean {
  return pattern.endsWith("/**") ? file.startsWith(pattern.slice(0, -2)) : file === pattern;
}

/**
 * Sorts changed files into tenants added, changed and deleted (a tenant file is `<tenantsPath>/<name>.yaml`
 * or `.yml`; other files there are not tenants) and program files. A tenant whose file was both removed
 * and added (`.yml` → `.yaml`) is changed.
 */
export function classifyChanges(
  files: readonly ChangedFile[],
  options: { readonly tenantsPath: string; readonly programPaths: readonly string[] },
): Omit<TenantChanges, "base" | "commit"> {
  const prefix = `${options.tenantsPath.replace(/\/+$/, "")}/`;
  const statuses = new Map<string, Set<string>>();
  const programFiles: string[] = [];
  for (const f of files) {
    const rest = f.path.startsWith(prefix) ? f.path.slice(prefix.length) : undefined;
    if (rest !== undefined && !rest.includes("/") && isTenantFile(rest)) {
      const name = rest.replace(/\.ya?ml$/, "");
      statuses.set(name, (statuses.get(name) ?? new Set()).add(f.status));
    } else if (options.programPaths.some((p) => matchesPath(f.path, p))) programFiles.push(f.path);
  }
  const added: string[] = [];
  const changed: string[] = [];
  const deleted: string[] = [];
  for (const [name, s] of [...statuses].sort(([a], [b]) => a.localeCompare(b))) {
    if (s.size === 1 && s.has("A")) added.push(name);
    else if (s.size === 1 && s.has("D")) deleted.push(name);
    else changed.push(name);
  }
  return { added, changed, deleted, programFiles: programFiles.sort() };
}

/**
 * The files that differ between `base` and the work tree of `repoDir` (what a LocalWorkspace runs):
 * committed, staged and unstaged changes, and untracked files, as paths relative to `repoDir`.
 */
export function changedFilesSince(repoDir: string, base: string): { commit: string; files: ChangedFile[] } {
  const commit = commitOf(repoDir, base);
  if (!commit) {
    throw new DeployError(
      `unknown git ref "${base}" in ${repoDir} (in CI, fetch it first: git fetch origin <branch>)`,
    );
  }
  const parts = git(repoDir, ["diff", "--name-status", "--no-renames", "--relative", "-z", commit, "--"])
    .split("\0")
    .filter((p) => p !== "");
  const files: ChangedFile[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const code = parts[i]?.[0];
    const path = parts[i + 1] as string;
    files.push({ status: code === "A" ? "A" : code === "D" ? "D" : "M", path });
  }
  for (const path of git(repoDir, ["ls-files", "--others", "--exclude-standard", "-z"]).split("\0")) {
    if (path) files.push({ status: "A", path });
  }
  return { commit, files };
}

/** Which tenants changed between `base` and the work tree. */
export function tenantChangesFromGit(
  repoDir: string,
  base: string,
  options: { readonly tenantsPath?: string; readonly programPaths: readonly string[] },
): TenantChanges {
  const { commit, files } = changedFilesSince(repoDir, base);
  return {
    base,
    commit,
    ...classifyChanges(files, {
      tenantsPath: options.tenantsPath ?? "tenants",
      programPaths: options.programPaths,
    }),
  };
}

// ---------------------------------------------------------------------------------------------------
// What to run

export type TargetReason = "added" | "changed" | "program" | "requested";

export interface DeployTarget {
  readonly tenant: string;
  readonly stack: string;
  readonly reason: TargetReason;
}

export interface Decommission {
  readonly tenant: string;
  readonly stack: string;
  /** Why it is reported: its file was deleted since the base, or its stack outlived its file. */
  readonly why: string;
  /** False when the backend has no such stack: nothing is left to decommission. Undefined: not checked. */
  readonly stackExists?: boolean;
}

export interface DeployPlan {
  readonly targets: DeployTarget[];
  readonly decommission: Decommission[];
}

/**
 * The tenant stacks to run and the tenants to decommission. `only` names tenants explicitly (each must
 * have a file); otherwise `changes` decides: added and changed tenants, or every tenant when program files
 * changed. Deleted tenants, and stacks in `existingStacks` whose tenant has no file, are reported for a
 * deliberate decommission, never run.
 */
export function planTargets(input: {
  readonly platformStack: string;
  /** Tenants with a file in the work tree. */
  readonly tenants: readonly string[];
  readonly only?: readonly string[];
  readonly changes?: TenantChanges;
  /** Stack names of the project in the backend, when known. */
  readonly existingStacks?: readonly string[];
}): DeployPlan {
  const present = new Set(input.tenants);
  const stackOf = (tenant: string) => tenantStackName(input.platformStack, tenant);
  let targets: DeployTarget[] = [];
  if (input.only && input.only.length > 0) {
    const unknown = input.only.filter((t) => !present.has(t));
    if (unknown.length > 0) {
      throw new DeployError(
        `--only: no tenant file for ${unknown.map((t) => `"${t}"`).join(", ")} (tenants: ${[...present].join(", ") || "none"})`,
      );
    }
    targets = [...new Set(input.only)].map((tenant) => ({
      tenant,
      stack: stackOf(tenant),
      reason: "requested",
    }));
  } else if (input.changes) {
    const c = input.changes;
    const reasons = new Map<string, TargetReason>();
    if (c.programFiles.length > 0) for (const t of input.tenants) reasons.set(t, "program");
    for (const t of c.changed) if (present.has(t)) reasons.set(t, "changed");
    for (const t of c.added) if (present.has(t)) reasons.set(t, "added");
    targets = [...reasons]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([tenant, reason]) => ({ tenant, stack: stackOf(tenant), reason }));
  }

  const decommission = new Map<string, Decommission>();
  const existing = input.existingStacks ? new Set(input.existingStacks) : undefined;
  for (const tenant of input.changes?.deleted ?? []) {
    if (present.has(tenant)) continue;
    decommission.set(tenant, {
      tenant,
      stack: stackOf(tenant),
      why: `its file was deleted since ${input.changes?.base}`,
      ...(existing ? { stackExists: existing.has(stackOf(tenant)) } : {}),
    });
  }
  for (const stack of input.existingStacks ?? []) {
    if (!stack.startsWith(`${input.platformStack}.`) || platformStackOf(stack) !== input.platformStack)
      continue;
    const tenant = stack.slice(input.platformStack.length + 1);
    if (present.has(tenant) || decommission.has(tenant)) continue;
    decommission.set(tenant, {
      tenant,
      stack,
      why: "its stack exists but tenants/ has no file for it",
      stackExists: true,
    });
  }
  return {
    targets,
    decommission: [...decommission.values()].sort((a, b) => a.tenant.localeCompare(b.tenant)),
  };
}

// ---------------------------------------------------------------------------------------------------
// A tenant stack's config file

/** Stack-file keys that hold the secrets provider's key material; shared, they make secure values portable. */
const KEY_MATERIAL = ["secretsprovider", "encryptedkey", "encryptionsalt"] as const;

export interface TenantStackFile {
  readonly text: string;
  /** Secret keys left out of `text` because they must be re-encrypted for the tenant stack (see below). */
  readonly reencrypt: string[];
}

const isSecure = (v: unknown) => typeof v === "object" && v !== null && "secure" in v;

/**
 * `Pulumi.<platform>.<tenant>.yaml`, derived from the platform stack's file: every config key, the ESC
 * `environment` imports, plus `imaas:stack: {mode: tenant, tenant}` (keeping a fully qualified
 * `platformStack`). Regenerated on every run, so it never drifts from the platform's config.
 *
 * Secrets: when the platform file carries its secrets provider's key material (`encryptionsalt` of the
 * passphrase provider, `secretsprovider` + `encryptedkey` of a cloud KMS provider), it is copied with the
 * `secure:` values, which then decrypt as they do for the platform stack. Otherwise (Pulumi Cloud's
 * per-stack keys) the ciphertexts cannot move: they are left out and listed in `reencrypt`, and the
 * orchestrator decrypts them from the platform stack and sets them as secrets on the tenant stack.
 * `existingText` (the tenant file as it was) keeps the tenant stack's own key material in that case.
 */
export function tenantStackFile(
  platformText: string,
  tenant: string,
  existingText?: string,
): TenantStackFile {
  const platform = (parse(platformText, { maxAliasCount: 50 }) ?? {}) as Record<string, unknown>;
  const existing = existingText ? ((parse(existingText) ?? {}) as Record<string, unknown>) : {};
  const config = { ...((platform.config as Record<string, unknown> | undefined) ?? {}) };
  const ownKeys = KEY_MATERIAL.some((k) => platform[k] !== undefined);
  const reencrypt: string[] = [];
  if (!ownKeys) {
    for (const [k, v] of Object.entries(config)) {
      if (isSecure(v)) {
        reencrypt.push(k);
        delete config[k];
      }
    }
  }
  const platformStackKey = (config["imaas:stack"] as { platformStack?: string } | undefined)?.platformStack;
  config["imaas:stack"] = {
    mode: "tenant",
    tenant,
    ...(platformStackKey ? { platformStack: platformStackKey } : {}),
  };
  const source = ownKeys ? platform : existing;
  const doc: Record<string, unknown> = {};
  for (const k of KEY_MATERIAL) if (source[k] !== undefined) doc[k] = source[k];
  if (platform.environment !== undefined) doc.environment = platform.environment;
  doc.config = config;
  const header =
    "# Generated by `imaas deploy` from the platform stack's file: do not edit (it is rewritten on every\n" +
    "# run). Per-tenant settings belong in tenants/<tenant>.yaml; platform settings in the platform file.\n";
  return { text: header + stringify(doc), reencrypt: reencrypt.sort() };
}

// ---------------------------------------------------------------------------------------------------
// The bounded pool

export type Settled<R> =
  | { readonly ok: true; readonly value: R }
  | { readonly ok: false; readonly error: unknown };

/**
 * Runs `worker` over `items`, at most `limit` at once, in order of the items; never rejects: each
 * item's outcome is settled on its own, so one failure does not stop the others.
 */
export async function runPool<T, R>(
  items: readonly T[],
  limit: number,
  worker: (item: T, index: number) => Promise<R>,
): Promise<Settled<R>[]> {
  const results: Settled<R>[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { ok: true, value: await worker(items[i] as T, i) };
      } catch (error) {
        results[i] = { ok: false, error };
      }
    }
  };
  const lanes = Math.max(1, Math.min(Math.floor(limit) || 1, items.length));
  await Promise.all(Array.from({ length: lanes }, lane));
  return results;
}

// ---------------------------------------------------------------------------------------------------
// Results, progress and the summary

export type Operation = "preview" | "update" | "config";

/** Counts by Pulumi operation (`create`, `update`, `replace`, `delete`, `same`, …). */
export type ChangeCounts = Readonly<Record<string, number>>;

export interface TenantResult {
  readonly tenant: string;
  readonly stack: string;
  readonly operation: Operation;
  readonly result: "succeeded" | "failed";
  readonly changes: ChangeCounts;
  readonly durationMs: number;
  /** The engine's error messages (or the exception's), when it failed. */
  readonly error?: string;
}

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

function table(rows: readonly (readonly string[])[], rightAligned: ReadonlySet<number>): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, c) => (rightAligned.has(c) ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

const COUNT_COLUMNS = ["create", "update", "replace", "delete", "same"] as const;

/** The table printed after the run: one row per tenant stack, then totals. */
export function renderSummary(results: readonly TenantResult[], wallMs?: number): string {
  if (results.length === 0) return "No tenant stacks to run.\n";
  const rows: string[][] = [["tenant", "stack", "operation", "result", ...COUNT_COLUMNS, "duration"]];
  for (const r of results) {
    rows.push([
      r.tenant,
      r.stack,
      r.operation,
      r.result === "failed" ? "FAILED" : r.result,
      ...COUNT_COLUMNS.map((k) => (r.operation === "config" ? "-" : String(r.changes[k] ?? 0))),
      seconds(r.durationMs),
    ]);
  }
  const failed = results.filter((r) => r.result === "failed");
  const sum = results.reduce((s, r) => s + r.durationMs, 0);
  const lines = [
    table(rows, new Set([4, 5, 6, 7, 8, 9])),
    "",
    `${results.length} tenant stack(s): ${results.length - failed.length} succeeded, ${failed.length} failed` +
      (wallMs !== undefined ? `; wall ${seconds(wallMs)}, sum of stacks ${seconds(sum)}` : ""),
  ];
  for (const f of failed) {
    lines.push("", `${f.stack} failed:`, ...(f.error ?? "unknown error").split("\n").map((l) => `  ${l}`));
  }
  return `${lines.join("\n")}\n`;
}

/** The deliberate decommission path of a tenant stack, as commands to run in order. */
export function decommissionCommands(stack: string): string[] {
  return [
    `pulumi destroy --preview-only --stack ${stack}         # review what goes (retained repos stay)`,
    `pulumi state unprotect --all --yes --stack ${stack}    # its prod namespaces are protected`,
    `pulumi destroy --remove --stack ${stack}               # destroys, then removes the stack and its file`,
  ];
}

/** The "decommission required" report; empty when nothing is to be decommissioned. */
export function renderDecommission(entries: readonly Decommission[]): string {
  if (entries.length === 0) return "";
  const out = [
    "",
    "Decommission required (imaas deploy never destroys a tenant; nothing was changed for these):",
  ];
  for (const d of entries) {
    if (d.stackExists === false) {
      out.push(`- tenant "${d.tenant}": ${d.why}; stack ${d.stack} does not exist, nothing to do`);
      continue;
    }
    out.push(
      `- tenant "${d.tenant}": ${d.why}; stack ${d.stack} is kept as it is.`,
      "  First back up what it owns and stop its services' traffic (README: Decommissioning a tenant), then:",
      ...decommissionCommands(d.stack).map((c) => `    ${c}`),
    );
  }
  return `${out.join("\n")}\n`;
}

/** What a status line shows for one stack. */
export interface StackStatus {
  readonly state: "queued" | "preparing" | "running" | "succeeded" | "failed";
  readonly resources?: number;
  readonly changes?: ChangeCounts;
  readonly startedAt?: number;
  readonly durationMs?: number;
}

function changesText(c: ChangeCounts | undefined): string {
  if (!c) return "";
  const parts = Object.entries(c)
    .filter(([k, n]) => k !== "same" && n > 0)
    .map(([k, n]) => `${n} to ${k}`);
  return parts.length > 0 ? parts.join(", ") : "no changes";
}

/** One status line: `tenant  stack  operation  state  detail  time`. */
export function statusLine(
  target: { readonly tenant: string; readonly stack: string },
  operation: Operation,
  s: StackStatus,
  now: number,
  widths: { readonly tenant: number; readonly stack: number },
): string {
  const time =
    s.durationMs !== undefined
      ? seconds(s.durationMs)
      : s.startedAt !== undefined
        ? seconds(now - s.startedAt)
        : "";
  const detail =
    s.state === "running"
      ? `${s.resources ?? 0} resource(s) seen`
      : s.state === "succeeded"
        ? changesText(s.changes)
        : s.state === "failed"
          ? "see below"
          : "";
  return [
    target.tenant.padEnd(widths.tenant),
    target.stack.padEnd(widths.stack),
    operation.padEnd(7),
    s.state.padEnd(10),
    detail.padEnd(28),
    time,
  ]
    .join("  ")
    .trimEnd();
}

/**
 * Progress of every stack: on a TTY, one line per stack redrawn in place (ANSI cursor up + clear line,
 * at most every 200 ms and at each state change); otherwise a plain line at each state change.
 */
export class Progress {
  private readonly status = new Map<string, StackStatus>();
  private readonly widths: { tenant: number; stack: number };
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly targets: readonly DeployTarget[],
    private readonly operation: Operation,
    private readonly write: (s: string) => void,
    private readonly tty: boolean,
    private readonly clock: () => number = Date.now,
  ) {
    this.widths = {
      tenant: Math.max(6, ...targets.map((t) => t.tenant.length)),
      stack: Math.max(5, ...targets.map((t) => t.stack.length)),
    };
    for (const t of targets) this.status.set(t.stack, { state: "queued" });
    if (tty && targets.length > 0) {
      this.draw();
      this.timer = setInterval(() => this.draw(), 200);
      this.timer.unref();
    }
  }

  update(stack: string, patch: Partial<StackStatus>): void {
    const before = this.status.get(stack) ?? { state: "queued" };
    const after = { ...before, ...patch };
    this.status.set(stack, after);
    if (after.state === before.state) return;
    if (this.tty) this.draw();
    else if (after.state !== "queued") {
      const target = this.targets.find((t) => t.stack === stack);
      if (target) this.write(`${statusLine(target, this.operation, after, this.clock(), this.widths)}\n`);
    }
  }

  finish(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty && this.targets.length > 0) this.draw();
  }

  private draw(): void {
    const now = this.clock();
    const lines = this.targets.map(
      (t) =>
        `\x1b[2K${statusLine(t, this.operation, this.status.get(t.stack) ?? { state: "queued" }, now, this.widths)}\n`,
    );
    this.write(`${this.drawn > 0 ? `\x1b[${this.drawn}A` : ""}${lines.join("")}`);
    this.drawn = lines.length;
  }
}

// ---------------------------------------------------------------------------------------------------
// The run

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

export interface DeployOptions {
  /** The platform stack (its `Pulumi.<stack>.yaml` must say `imaas:stack: {mode: platform}`). */
  readonly stack: string;
  /** Stacks run at once. @default 2 */
  readonly parallel?: number;
  /** Tenants to run, instead of those changed in git. */
  readonly only?: readonly string[];
  /** Preview instead of update. */
  readonly preview?: boolean;
  /** Only write the tenant stacks' config files (and re-encrypt secrets); no preview or update. */
  readonly configOnly?: boolean;
  /** Git ref to compare with. @default origin/main if it exists, else HEAD~1 */
  readonly base?: string;
  /** Fail (exit 1) when a tenant needs decommissioning. */
  readonly failOnDecommission?: boolean;
  /** Where Pulumi.yaml, the stack files and tenants/ are; also the git work tree compared. */
  readonly projectDir: string;
}

export interface DeployIo {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  /** Whether `out` is a terminal (live status lines). @default process.stdout.isTTY */
  readonly isTTY?: boolean;
}

export interface DeployOutcome {
  readonly plan: DeployPlan;
  readonly results: TenantResult[];
  readonly wallMs: number;
}

/** Counts of a run, keeping only non-zero operations. */
function nonZero(c: ChangeCounts): ChangeCounts {
  return Object.fromEntries(Object.entries(c).filter(([, n]) => n > 0));
}

/**
 * The whole command: validate, work out the targets, fan out, report. Throws DeployError (exit 1) for
 * bad input before anything runs, and after the run when a stack failed (or, with
 * `failOnDecommission`, a tenant needs decommissioning) — the report is printed first.
 */
export async function runDeploy(
  options: DeployOptions,
  io: DeployIo,
  engine?: DeployEngine,
): Promise<DeployOutcome> {
  const platformStack = options.stack;
  const projectDir = options.projectDir;
  const stackConfig = readStackConfig(projectDir, platformStack);
  const config = platformConfigOf(stackConfig);
  if (config.stack.mode !== "platform") {
    throw new DeployError(
      `stack "${platformStack}" is ${config.stack.mode === "tenant" ? "a tenant stack; pass its platform stack" : "a single stack (imaas:stack.mode single): it holds every tenant itself, so it has no tenant stacks — run pulumi up --stack " + platformStack + ", or move to a stack per tenant (cli/DEPLOY.md)"}`,
    );
  }
  const tenantsDir = join(projectDir, "tenants");
  const loaded = loadTenantDir(tenantsDir, config);
  if (loaded.errors.length > 0) {
    throw new DeployError(
      `${loaded.errors.map(formatError).join("\n")}\n${loaded.errors.length} error(s) in tenant files; nothing was deployed`,
    );
  }
  const tenants = loaded.tenants.map((t) => t.name);
  const operation: Operation = options.configOnly ? "config" : options.preview ? "preview" : "update";

  const changes =
    options.only && options.only.length > 0
      ? undefined
      : tenantChangesFromGit(projectDir, options.base ?? defaultBase(projectDir), {
          tenantsPath: "tenants",
          programPaths: programPaths(platformStack),
        });
  const real = engine ?? (await automationEngine(projectDir));
  let existingStacks: string[] | undefined;
  if (operation !== "config") {
    existingStacks = await real.listStacks();
    if (!existingStacks.includes(platformStack)) {
      throw new DeployError(
        `the platform stack "${platformStack}" does not exist in this backend; deploy it first (pulumi up --stack ${platformStack}): its tenant stacks read its outputs`,
      );
    }
  }
  const plan = planTargets({
    platformStack,
    tenants,
    ...(options.only ? { only: options.only } : {}),
    ...(changes ? { changes } : {}),
    ...(existingStacks ? { existingStacks } : {}),
  });

  const parallel = Math.max(1, options.parallel ?? 2);
  io.out(`${describeRun(platformStack, operation, plan, parallel, changes)}\n`);

  const platformText = readFileSync(stackFilePath(projectDir, platformStack), "utf8");
  const progress = new Progress(plan.targets, operation, io.out, io.isTTY ?? process.stdout.isTTY === true);
  const started = Date.now();
  const settled = await runPool(plan.targets, parallel, async (target) =>
    deployOne(target, operation, { platformStack, platformText, projectDir, engine: real, progress }),
  );
  progress.finish();
  const wallMs = Date.now() - started;
  const results = settled.map((s, i) =>
    s.ok
      ? s.value
      : ({
          tenant: plan.targets[i]?.tenant ?? "?",
          stack: plan.targets[i]?.stack ?? "?",
          operation,
          result: "failed",
          changes: {},
          durationMs: 0,
          error: String((s.error as Error)?.message ?? s.error),
        } satisfies TenantResult),
  );
  io.out(`\n${renderSummary(results, wallMs)}`);
  io.out(renderDecommission(plan.decommission));

  const failed = results.filter((r) => r.result === "failed").map((r) => r.stack);
  const toDecommission = plan.decommission.filter((d) => d.stackExists !== false);
  if (failed.length > 0) {
    throw new DeployError(
      `${failed.length} of ${results.length} tenant stack(s) failed: ${failed.join(", ")}`,
    );
  }
  if (options.failOnDecommission && toDecommission.length > 0) {
    throw new DeployError(
      `--fail-on-decommission: ${toDecommission.length} tenant(s) need decommissioning: ${toDecommission.map((d) => d.tenant).join(", ")}`,
    );
  }
  return { plan, results, wallMs };
}

function describeRun(
  platformStack: string,
  operation: Operation,
  plan: DeployPlan,
  parallel: number,
  changes: TenantChanges | undefined,
): string {
  const what =
    operation === "config" ? "config files of" : operation === "preview" ? "preview of" : "update (--yes) of";
  const source = changes
    ? `changes since ${changes.base} (${changes.commit.slice(0, 12)}): ${changes.added.length} tenant(s) added, ${changes.changed.length} changed, ${changes.deleted.length} deleted` +
      (changes.programFiles.length > 0
        ? `; program files changed (${changes.programFiles.slice(0, 3).join(", ")}${changes.programFiles.length > 3 ? ", …" : ""}), so every tenant`
        : "")
    : "tenants named with --only";
  return `imaas deploy — platform stack "${platformStack}": ${what} ${plan.targets.length} tenant stack(s), ${parallel} at a time; ${source}`;
}

async function deployOne(
  target: DeployTarget,
  operation: Operation,
  ctx: {
    readonly platformStack: string;
    readonly platformText: string;
    readonly projectDir: string;
    readonly engine: DeployEngine;
    readonly progress: Progress;
  },
): Promise<TenantResult> {
  const startedAt = Date.now();
  ctx.progress.update(target.stack, { state: "preparing", startedAt });
  const errors: string[] = [];
  try {
    const file = stackFilePath(ctx.projectDir, target.stack);
    const existing = existsSync(file) ? readFileSync(file, "utf8") : undefined;
    const generated = tenantStackFile(ctx.platformText, target.tenant, existing);
    if (generated.text !== existing) writeFileSync(file, generated.text);
    let changes: ChangeCounts = {};
    if (operation !== "config" || generated.reencrypt.length > 0) {
      await ctx.engine.prepareStack(target.stack, { from: ctx.platformStack, keys: generated.reencrypt });
    }
    if (operation !== "config") {
      let resources = 0;
      ctx.progress.update(target.stack, { state: "running", resources });
      changes = nonZero(
        await ctx.engine.run(target.stack, operation, (e) => {
          if (e.kind === "resource") ctx.progress.update(target.stack, { resources: ++resources });
          else errors.push(e.message);
        }),
      );
    }
    const durationMs = Date.now() - startedAt;
    ctx.progress.update(target.stack, { state: "succeeded", changes, durationMs });
    return {
      tenant: target.tenant,
      stack: target.stack,
      operation,
      result: "succeeded",
      changes,
      durationMs,
    };
  } catch (err) {
    const durationMs = Date.now() - startedAt;
    ctx.progress.update(target.stack, { state: "failed", durationMs });
    const message =
      errors.length > 0 ? errors.join("\n") : firstLines((err as Error)?.message ?? String(err), 15);
    return {
      tenant: target.tenant,
      stack: target.stack,
      operation,
      result: "failed",
      changes: {},
      durationMs,
      error: message,
    };
  }
}

function firstLines(text: string, n: number): string {
  const lines = text.trim().split("\n");
  return lines.length > n
    ? [...lines.slice(0, n), `… (${lines.length - n} more lines)`].join("\n")
    : lines.join("\n");
}

// ---------------------------------------------------------------------------------------------------
// The real engine: Pulumi's Automation API over the project directory

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
