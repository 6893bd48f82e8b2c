/**
 * `imaas rotate <tenant> [--stack dev] [--at <instant>]`: asks for a rotation of one tenant's registry
 * robot secrets. It writes `registry.rotateRobotsIssuedBefore.<tenant>: <instant>` into
 * `Pulumi.<stack>.yaml` (comments and layout kept); the next `pulumi up` — or `imaas deploy --only
 * <tenant>` for a platform laid out per tenant, or Pulumi Deployments once the change is pushed — rotates
 * every robot secret of the tenant issued before that instant (Harbor's `PATCH /robots/{id}`) and, in the
 * same run, updates what uses them: the GitHub Actions secrets or the Jenkins credential, and the pull
 * secrets. The second pull robot rotates in the first run at least two minutes after the first one did,
 * so the pods always hold one credential Harbor accepts (README "Robot rotation").
 *
 * The request stays in the stack file as a record; it is idempotent (secrets issued after the instant
 * are left alone) and a later request replaces it.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { type Command, InvalidArgumentError } from "commander";
import { isMap, parseDocument } from "yaml";
import { loadTenantDir } from "../model/load";
import { platformConfigOf, readStackConfig } from "../model/stack-file";
import { ROTATION_GAP_SECONDS } from "../providers/harbor/robot-account-provider";
import { DiffError } from "./diff-git";

/** Invalid input for `imaas rotate`: printed without a stack trace, exit 1. */
export class RotateError extends DiffError {}

export interface RotateOptions {
  readonly tenant: string;
  readonly stack: string;
  /** Folder of tenant files, to check the tenant exists. */
  readonly tenantsDir: string;
  /** Where Pulumi.yaml and the stack files live. */
  readonly projectDir: string;
  /** Rotate secrets issued before this instant. @default now */
  readonly at?: Date;
}

export interface RotateResult {
  readonly file: string;
  readonly instant: string;
  /** What the operator runs next. */
  readonly next: string;
}

function parseInstant(value: string): Date {
  const t = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) || Number.isNaN(t)) {
    throw new InvalidArgumentError("use an ISO 8601 instant with a zone, e.g. 2026-12-01T03:00:00Z");
  }
  return new Date(t);
}

/** Writes the rotation request into the stack file; throws {@link RotateError} on bad input. */
export function requestRotation(opts: RotateOptions): RotateResult {
  const stackConfig = readStackConfig(opts.projectDir, opts.stack);
  const config = platformConfigOf(stackConfig);
  if (!config.registry.enabled) {
    throw new RotateError(
      `stack "${opts.stack}" manages no registry (imaas:registry.enabled is false): there are no robot secrets to rotate`,
    );
  }
  if (config.stack.mode === "tenant") {
    throw new RotateError(
      `${stackConfig.file} is a tenant stack, written from its platform stack: run imaas rotate with --stack ${config.stack.platformStack ?? "<platform stack>"}`,
    );
  }
  const tenants = loadTenantDir(opts.tenantsDir, config, { stack: opts.stack }).tenants.map((t) => t.name);
  if (!tenants.includes(opts.tenant)) {
    throw new RotateError(
      `no tenant "${opts.tenant}" in ${opts.tenantsDir} for stack "${opts.stack}"; tenants: ${tenants.join(", ") || "none"}`,
    );
  }
  const now = new Date();
  const at = opts.at ?? now;
  if (at.getTime() > now.getTime() + 60_000) {
    throw new RotateError(
      `--at ${at.toISOString()} is in the future: every secret issued before it would rotate on each run until then`,
    );
  }
  // Whole seconds: the providers compare against Unix seconds.
  const instant = new Date(Math.ceil(at.getTime() / 1000) * 1000).toISOString().replace(".000Z", "Z");

  const text = readFileSync(stackConfig.file, "utf8");
  const doc = parseDocument(text);
  const registry = doc.getIn(["config", "imaas:registry"], true);
  if (registry !== undefined && !isMap(registry)) {
    throw new RotateError(`${stackConfig.file}: config imaas:registry must be a mapping`);
  }
  if (registry === undefined) doc.setIn(["config", "imaas:registry"], doc.createNode({}));
  doc.setIn(["config", "imaas:registry", "rotateRobotsIssuedBefore", opts.tenant], instant);
  writeFileSync(stackConfig.file, doc.toString({ lineWidth: 0 }));

  const run =
    config.stack.mode === "platform"
      ? `imaas deploy --stack ${opts.stack} --only ${opts.tenant}`
      : `pulumi up --stack ${opts.stack}`;
  const next =
    `Run \`${run}\` (or push the stack file for Pulumi Deployments): it rotates the CI robot and the first pull robot ` +
    "and updates the CI secrets and the pull secrets in the same run. " +
    `Run it once more at least ${ROTATION_GAP_SECONDS / 60} minutes later to rotate the second pull robot: ` +
    "one pull robot at a time, so running pods never lose their pulls.";
  return { file: stackConfig.file, instant, next };
}

/** Adds `imaas rotate` to the CLI. */
export function registerRotateCommand(
  program: Command,
  io: { readonly out: (s: string) => void },
  projectDir: () => string,
): Command {
  return program
    .command("rotate")
    .description(
      "ask for a rotation of one tenant's registry robot secrets (CI and pull): written to the stack file, applied by the next pulumi up",
    )
    .argument("<tenant>", "the tenant whose robot secrets to rotate")
    .option("-s, --stack <name>", "platform stack whose Pulumi.<stack>.yaml to write", "dev")
    .option("-d, --dir <dir>", "folder of tenant files", "tenants")
    .option(
      "--at <instant>",
      "rotate secrets issued before this ISO 8601 instant (default: now)",
      parseInstant,
    )
    .action((tenant: string, opts: { stack: string; dir: string; at?: Date }) => {
      const result = requestRotation({
        tenant,
        stack: opts.stack,
        tenantsDir: opts.dir,
        projectDir: projectDir(),
        ...(opts.at ? { at: opts.at } : {}),
      });
      io.out(
        `${result.file}: registry.rotateRobotsIssuedBefore.${tenant} = ${result.instant}\n${result.next}\n`,
      );
    });
}
