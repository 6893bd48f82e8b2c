/**
 * The `imaas` command: validate tenant files, plan what the stack would create, write the tenant JSON
 * Schema. Exit codes: 0 success, 1 invalid input (tenant files, stack config), 2 usage errors.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { formatError, loadTenantDir } from "../model/load";
import { PlatformConfigError } from "../model/platform-config";
import { platformConfigOf, readStackConfig, StackFileError } from "../model/stack-file";
import { tenantJsonSchema } from "../model/tenant";
import { registerCatalogCommand } from "./catalog";
import { registerDeployCommand } from "./deploy-command";
import { registerReleaseCommands } from "./release-command";
import { registerRotateCommand } from "./rotate";
import { registerStatusCommand, StatusExit } from "./status-command";
import { registerUpgradeCommand } from "./upgrade-command";
import { DiffError, registerDiffCommand } from "./diff-command";
import { planProgram } from "./plan-engine";
import { planView } from "./plan-view";
import { FORMATS, type Format, renderPlan } from "./render";

/** The project root: where Pulumi.yaml and the stack files live. */
export const PROJECT_DIR = resolve(__dirname, "..");

/** The version of this imaas (package.json). */
export const VERSION: string = JSON.parse(readFileSync(join(PROJECT_DIR, "package.json"), "utf8")).version;

/** Invalid input: printed without a stack trace, exit 1. */
class UserError extends Error {}

interface Io {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
}

/** The Pulumi project folder: the current folder or its parent (run from inside tenants/), else the CLI's own. */
function stackDir(): string {
  for (const dir of [process.cwd(), dirname(process.cwd())]) {
    if (existsSync(join(dir, "Pulumi.yaml"))) return dir;
  }
  return PROJECT_DIR;
}

/** The stacks that have a `Pulumi.<stack>.yaml` in `dir`. */
function stacksIn(dir: string): string[] {
  return readdirSync(dir)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined && !s.includes("."))
    .sort();
}

/** A stack name the user gave: a plain name with a stack file, or a UserError listing the stacks. */
function checkStack(stack: string): string {
  const dir = stackDir();
  if (!/^[A-Za-z0-9_.-]+$/.test(stack) || stack.includes("..")) {
    throw new UserError(
      `--stack "${stack}": a stack name has letters, digits, "-", "_" and "." only, no paths`,
    );
  }
  if (!existsSync(join(dir, `Pulumi.${stack}.yaml`))) {
    throw new UserError(
      `--stack "${stack}": no Pulumi.${stack}.yaml in ${dir}; stacks here: ${stacksIn(dir).join(", ") || "none"}`,
    );
  }
  return stack;
}

/**
 * The tenants folder for a DIR-or-FILE argument: a file is validated with its peers (cross-file rules need
 * them) and only its own errors are reported. The default `tenants` falls back to the current folder when
 * run from inside it.
 */
function tenantsTarget(arg: string, isDefault: boolean): { dir: string; file?: string } {
  if (isDefault && !existsSync(arg) && existsSync(join(process.cwd(), "..", "Pulumi.yaml"))) {
    return { dir: "." };
  }
  if (existsSync(arg) && statSync(arg).isFile()) return { dir: dirname(arg), file: arg };
  return { dir: arg };
}

function loadValidTenants(arg: string, stack: string, isDefault = false, verb = "planned") {
  const stackConfig = readStackConfig(stackDir(), checkStack(stack));
  const config = platformConfigOf(stackConfig);
  const { dir, file } = tenantsTarget(arg, isDefault);
  const result = loadTenantDir(dir, config, { stack });
  const errors = file
    ? result.errors.filter(
        (e) => resolve(e.file) === resolve(file) || relative(dir, e.file) === basename(file),
      )
    : result.errors;
  if (errors.length > 0) {
    throw new UserError(
      `${errors.map(formatError).join("\n")}\n${errors.length} error(s) in tenant files; nothing was ${verb}`,
    );
  }
  if (file && result.errors.length > 0) {
    throw new UserError(
      `${file} is valid, but other files in ${dir} are not (run: imaas validate ${dir}); nothing was ${verb}`,
    );
  }
  return { stackConfig, tenants: result.tenants, dir, file };
}

export function schemaText(): string {
  return `${JSON.stringify(tenantJsonSchema(), null, 2)}\n`;
}

function parseFormat(value: string): Format {
  if (!(FORMATS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`use one of ${FORMATS.join(", ")}`);
  }
  return value as Format;
}

export function buildProgram(io: Io): Command {
  const program = new Command("imaas")
    .description("IMaaS: tenant files in, isolated WSO2 Micro Integrator platforms out")
    .version(VERSION, "-V, --version", "print the imaas version")
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .showHelpAfterError();

  program
    .command("validate")
    .description(
      "check every tenant file in DIR, or one FILE with its peers (and the names they derive across files)",
    )
    .argument("[path]", "folder of tenant files, or one tenant file", "tenants")
    .option("-s, --stack <name>", "stack whose config (caps, limits, domains) applies", "dev")
    .action((path: string, opts: { stack: string }, cmd: Command) => {
      const isDefault = cmd.args.length === 0;
      const { tenants, dir, file } = loadValidTenants(path, opts.stack, isDefault, "accepted");
      io.out(
        file
          ? `${file} is valid for stack "${opts.stack}" (checked with the ${tenants.length} tenant file(s) in ${dir})\n`
          : `${tenants.length} tenant file(s) in ${isDefault && dir === "." ? "tenants" : dir} are valid for stack "${opts.stack}"\n`,
      );
    });

  program
    .command("plan")
    .description(
      "show what `pulumi up` would create for the tenants in DIR, without any cloud or credentials",
    )
    .argument("[dir]", "folder of tenant files", "tenants")
    .option("-s, --stack <name>", "stack whose Pulumi.<stack>.yaml config to use", "dev")
    .addOption(
      new Option("-f, --format <format>", `output format: ${FORMATS.join(", ")}`)
        .default("table")
        .argParser(parseFormat),
    )
    .option(
      "-t, --tenant <name>",
      "show only this tenant (repeatable); the platform's own resources are left out",
      (name: string, names: string[]) => [...names, name],
      [] as string[],
    )
    .action(async (path: string, opts: { stack: string; format: Format; tenant: string[] }, cmd: Command) => {
      const { stackConfig, tenants, dir } = loadValidTenants(path, opts.stack, cmd.args.length === 0);
      const unknown = opts.tenant.filter((n) => !tenants.some((t) => t.name === n));
      if (unknown.length > 0) {
        throw new UserError(
          `--tenant ${unknown.map((n) => `"${n}"`).join(", ")}: no such tenant in ${dir}; tenants there: ${tenants.map((t) => t.name).join(", ") || "none"}`,
        );
      }
      const { resources } = await planProgram({
        stack: opts.stack,
        config: stackConfig.values,
        secretKeys: stackConfig.secretKeys,
        tenantsDir: resolve(dir),
      });
      const config = platformConfigOf(stackConfig);
      const view = planView({ stack: opts.stack, config, tenants, resources, only: opts.tenant });
      io.out(renderPlan(view, opts.format));
    });

  program
    .command("schema")
    .description("write the tenant JSON Schema for editors (tenants/tenant.schema.json)")
    .option("-o, --output <file>", "where to write it", join("tenants", "tenant.schema.json"))
    .option("--check", "exit 1 if the file is missing or stale instead of writing it")
    .action((opts: { output: string; check?: boolean }) => {
      const text = schemaText();
      if (opts.check) {
        const current = existsSync(opts.output) ? readFileSync(opts.output, "utf8") : "";
        if (current !== text) throw new UserError(`${opts.output} is stale; run: npx imaas schema`);
        io.out(`${opts.output} is up to date\n`);
        return;
      }
      try {
        writeFileSync(opts.output, text);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        const why: Record<string, string> = {
          ENOENT: "its folder does not exist",
          EACCES: "permission denied",
          EPERM: "permission denied",
          EROFS: "read-only file system",
          EISDIR: "it is a folder",
          ENOTDIR: "a part of the path is not a folder",
        };
        throw new UserError(`cannot write ${opts.output}: ${why[e.code ?? ""] ?? e.code ?? "error"}`);
      }
      io.out(`wrote ${opts.output}\n`);
    });

  registerDiffCommand(program, io);
  registerDeployCommand(program, io);
  registerRotateCommand(program, io, stackDir);
  registerStatusCommand(program, io, {
    loadTenants: (path, stack, isDefault) => loadValidTenants(path, stack, isDefault, "checked"),
    userError: (message) => new UserError(message),
  });
  registerReleaseCommands(program, io, {
    loadTenants: (path, stack, isDefault) => loadValidTenants(path, stack, isDefault, "read"),
    userError: (message) => new UserError(message),
  });
  registerUpgradeCommand(program, io, {
    loadTenants: (path, stack, isDefault) => loadValidTenants(path, stack, isDefault, "upgraded"),
    userError: (message) => new UserError(message),
  });
  registerCatalogCommand(program, io, {
    loadTenants: (path, stack, isDefault) => loadValidTenants(path, stack, isDefault, "cataloged"),
    userError: (message) => new UserError(message),
  });
  return program;
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof StatusExit) return err.exitCode;
    if (err instanceof CommanderError) {
      return err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.exitCode === 0
        ? 0
        : 2;
    }
    if (
      err instanceof UserError ||
      err instanceof StackFileError ||
      err instanceof PlatformConfigError ||
      err instanceof DiffError
    ) {
      io.err(`${err.message}\n`);
      return 1;
    }
    const e = err as Error & { __pulumiRunError?: boolean; __pulumResourceError?: boolean };
    if (e?.message && (e.__pulumiRunError || e.constructor?.name === "ResourceError")) {
      io.err(`${e.message}\n`);
      return 1;
    }
    throw err;
  }
}

const defaultIo: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};
