/**
 * The `imaas` command: validate tenant files, plan what the stack would create, write the tenant JSON
 * Schema. Exit codes: 0 success, 1 invalid input (tenant files, stack config), 2 usage errors.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { formatError, loadTenantDir } from "../model/load";
import { PlatformConfigError } from "../model/platform-config";
import { platformConfigOf, readStackConfig, StackFileError } from "../model/stack-file";
import { tenantJsonSchema } from "../model/tenant";
import { registerDeployCommand } from "./deploy-command";
import { DiffError, registerDiffCommand } from "./diff-command";
import { planProgram } from "./plan-engine";
import { FORMATS, type Format, renderJson, renderMermaid, renderTable } from "./render";

/** The project root: where Pulumi.yaml and the stack files live. */
export const PROJECT_DIR = resolve(__dirname, "..");

/** Invalid input: printed without a stack trace, exit 1. */
class UserError extends Error {}

interface Io {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
}

function stackDir(): string {
  return existsSync(join(process.cwd(), "Pulumi.yaml")) ? process.cwd() : PROJECT_DIR;
}

function loadValidTenants(dir: string, stack: string) {
  const stackConfig = readStackConfig(stackDir(), stack);
  const config = platformConfigOf(stackConfig);
  const result = loadTenantDir(dir, config);
  if (result.errors.length > 0) {
    throw new UserError(
      `${result.errors.map(formatError).join("\n")}\n${result.errors.length} error(s) in tenant files; nothing was planned`,
    );
  }
  return { stackConfig, tenants: result.tenants };
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
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .showHelpAfterError();

  program
    .command("validate")
    .description("check every tenant file in DIR (and the names they derive across files)")
    .argument("[dir]", "folder of tenant files", "tenants")
    .option("-s, --stack <name>", "stack whose quota caps apply", "dev")
    .action((dir: string, opts: { stack: string }) => {
      const { tenants } = loadValidTenants(dir, opts.stack);
      io.out(`${tenants.length} tenant file(s) in ${dir} are valid for stack "${opts.stack}"\n`);
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
    .action(async (dir: string, opts: { stack: string; format: Format }) => {
      const { stackConfig, tenants } = loadValidTenants(dir, opts.stack);
      const { resources } = await planProgram({
        stack: opts.stack,
        config: stackConfig.values,
        secretKeys: stackConfig.secretKeys,
        tenantsDir: resolve(dir),
      });
      if (opts.format === "json") io.out(renderJson(resources));
      else if (opts.format === "mermaid") io.out(renderMermaid(resources));
      else io.out(renderTable(resources, opts.stack, tenants.length));
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
      writeFileSync(opts.output, text);
      io.out(`wrote ${opts.output}\n`);
    });

  registerDiffCommand(program, io);
  registerDeployCommand(program, io);
  return program;
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (err) {
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
