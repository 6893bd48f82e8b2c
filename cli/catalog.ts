/**
 * `imaas catalog [dir] [--stack S] [--tenant NAME]... [--format yaml|json] [--out DIR [--check]] [--users] [--no-groups]`:
 * Backstage catalog entities for the tenant files (cli/catalog-entities.ts builds them), each checked
 * with `@backstage/catalog-model`'s own validators — the entity policies the catalog backend applies to
 * every entity it reads (plugins/catalog-backend `CatalogBuilder.buildEntityPolicy`: SchemaValid,
 * DefaultNamespace, NoForeignRootFields, FieldFormat) and the kind validators of its built-in kinds. An
 * entity they refuse is a bug in imaas: the command prints it with the validator's message and exits 1.
 *
 * Output: one multi-document YAML stream (or a JSON array) on stdout; with `--out DIR`, one file per
 * tenant (`DIR/<tenant>.yaml`), `DIR/users.yaml` with `--users`, and `DIR/all.yaml`, a Location listing
 * them, the one URL to register in Backstage (docs/catalog.md).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { type Command, InvalidArgumentError, Option } from "commander";
import { stringify } from "yaml";
import type { PlatformConfig } from "../model/platform-config";
import type { TenantSpec } from "../model/spec";
import { platformConfigOf, type StackConfig } from "../model/stack-file";
import { buildCatalog, type Catalog, type CatalogEntity, locationEntity } from "./catalog-entities";

export const CATALOG_FORMATS = ["yaml", "json"] as const;
export type CatalogFormat = (typeof CATALOG_FORMATS)[number];

/** What the command needs from main.ts: its tenant loader (same conventions as `imaas plan`) and its error. */
export interface CatalogCommandDeps {
  /** Loads the valid tenants in `path` for `stack`; throws a user error listing every tenant file error. */
  readonly loadTenants: (
    path: string,
    stack: string,
    isDefault: boolean,
  ) => { readonly stackConfig: StackConfig; readonly tenants: readonly TenantSpec[]; readonly dir: string };
  /** An error main.ts prints without a stack trace, exit 1. */
  readonly userError: (message: string) => Error;
}

/** An entity Backstage's validators refused, with their message. */
export interface EntityProblem {
  readonly entity: CatalogEntity;
  readonly message: string;
}

type CatalogModel = typeof import("@backstage/catalog-model");

/**
 * Checks entities as the Backstage catalog backend does: its default entity policies, then the kind
 * validators (an entity of a kind none of them accepts is refused too). Loads @backstage/catalog-model
 * on first use, so other commands do not pay for it.
 */
export async function validateEntities(entities: readonly CatalogEntity[]): Promise<EntityProblem[]> {
  const model: CatalogModel = await import("@backstage/catalog-model");
  const policy = model.EntityPolicies.allOf([
    new model.SchemaValidEntityPolicy(),
    new model.DefaultNamespaceEntityPolicy(),
    new model.NoForeignRootFieldsEntityPolicy(),
    new model.FieldFormatEntityPolicy(model.makeValidator()),
  ]);
  // The built-in kind validator of each kind imaas writes (the catalog backend's BuiltinKindsEntityProcessor
  // tries its validators in turn; only the entity's own kind can accept it). Each compiles its JSON schema on
  // first use, so only the kinds present cost anything.
  const kindValidators: Record<CatalogEntity["kind"], { check(e: object): Promise<boolean> }> = {
    Component: model.componentEntityV1alpha1Validator,
    Group: model.groupEntityV1alpha1Validator,
    System: model.systemEntityV1alpha1Validator,
    Resource: model.resourceEntityV1alpha1Validator,
    User: model.userEntityV1alpha1Validator,
    Location: model.locationEntityV1alpha1Validator,
  };
  const problems: EntityProblem[] = [];
  for (const entity of entities) {
    // The policies and validators take Backstage's mutable Entity type; give them a copy.
    const copy = structuredClone(entity) as unknown as import("@backstage/catalog-model").Entity;
    try {
      const enforced = await policy.enforce(copy);
      if (!enforced) throw new Error("the entity policies dropped it");
      const validator = Object.hasOwn(kindValidators, entity.kind) ? kindValidators[entity.kind] : undefined;
      if (!validator || !(await validator.check(enforced))) {
        throw new Error(`no validator knows kind ${entity.kind} (${entity.apiVersion})`);
      }
    } catch (err) {
      problems.push({ entity, message: (err as Error).message });
    }
  }
  return problems;
}

function parseFormat(value: string): CatalogFormat {
  if (!(CATALOG_FORMATS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`use one of ${CATALOG_FORMATS.join(", ")}`);
  }
  return value as CatalogFormat;
}

/** A multi-document YAML stream, each document headed by `---`. */
export function renderYaml(entities: readonly CatalogEntity[], header?: string): string {
  const docs = entities.map((e) => `---\n${stringify(e, { lineWidth: 0 })}`).join("");
  return `${header ? `${header.replace(/^/gm, "# ")}\n` : ""}${docs}`;
}

function allEntities(catalog: Catalog): CatalogEntity[] {
  return [...catalog.tenants.flatMap((t) => t.entities), ...catalog.users];
}

const describeEntity = (e: CatalogEntity) => `${e.kind} ${e.metadata.name}`;

export interface CatalogRun {
  readonly config: PlatformConfig;
  readonly tenants: readonly TenantSpec[];
  readonly groups: boolean;
  readonly users: boolean;
}

/** Builds and validates the catalog; throws (via `fail`) listing every refused entity with its message. */
export async function validCatalog(run: CatalogRun, fail: (message: string) => Error): Promise<Catalog> {
  const catalog = buildCatalog(run.config, run.tenants, { groups: run.groups, users: run.users });
  const problems = await validateEntities(allEntities(catalog));
  if (problems.length > 0) {
    const tenantOf = (e: CatalogEntity) => catalog.tenants.find((t) => t.entities.includes(e));
    throw fail(
      `${problems
        .map((p) => {
          const t = tenantOf(p.entity);
          return `${describeEntity(p.entity)}${t ? ` (tenant ${t.tenant}, ${t.file})` : ""}: ${p.message}\n${renderYaml([p.entity])}`;
        })
        .join(
          "\n",
        )}${problems.length} catalog entit${problems.length === 1 ? "y was" : "ies were"} refused by ` +
        "@backstage/catalog-model's validators: this is a bug in imaas catalog, nothing was written; please report it with the tenant file",
    );
  }
  return catalog;
}

/** First line of every file `--out` writes: how stale generated files are recognised. */
export const GENERATED_MARK = "# Generated by imaas catalog";

/** The files `--out` writes, by name (relative to the folder), `all.yaml` last. */
export async function catalogFiles(
  stack: string,
  catalog: Catalog,
  fail: (message: string) => Error,
): Promise<Map<string, string>> {
  const header = (what: string) =>
    `${GENERATED_MARK.slice(2)} (stack ${stack}) from ${what}; do not edit, regenerate.`;
  const files = new Map<string, string>();
  for (const t of catalog.tenants) {
    files.set(`${t.tenant}.yaml`, renderYaml(t.entities, header(`the tenant file ${basename(t.file)}`)));
  }
  if (catalog.users.length > 0) {
    files.set("users.yaml", renderYaml(catalog.users, header("the tenant files' owners and members")));
  }
  const location = locationEntity(stack, [...files.keys()]);
  const problems = await validateEntities([location]);
  if (problems.length > 0) {
    throw fail(`Location ${location.metadata.name}: ${problems[0]?.message}\n${renderYaml([location])}`);
  }
  files.set(
    "all.yaml",
    renderYaml([location], header("the tenant files; register this file's URL in Backstage")),
  );
  return files;
}

/** Files in `dir` an earlier `--out` wrote (they start with the mark) that `files` no longer holds. */
function staleFiles(dir: string, files: ReadonlyMap<string, string>): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yaml") && !files.has(f))
    .filter((f) => readFileSync(join(dir, f), "utf8").startsWith(GENERATED_MARK))
    .sort();
}

/**
 * Writes the `--out` files and deletes the ones an earlier run wrote for tenants no longer there (a
 * removed tenant's entities then leave Backstage with the Location's target); returns what it did.
 */
export function writeCatalogFiles(
  dir: string,
  files: ReadonlyMap<string, string>,
  fail: (message: string) => Error,
): { written: string[]; removed: string[] } {
  try {
    mkdirSync(dir, { recursive: true });
    const removed = staleFiles(dir, files);
    for (const f of removed) rmSync(join(dir, f));
    for (const [name, text] of files) writeFileSync(join(dir, name), text);
    return { written: [...files.keys()], removed };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw fail(`--out ${dir}: cannot write the catalog files (${e.code ?? e.message})`);
  }
}

/** `--check`: the files in `dir` that differ from `files`, are missing, or are stale leftovers. */
export function checkCatalogFiles(dir: string, files: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  for (const [name, text] of files) {
    const path = join(dir, name);
    if (!existsSync(path)) problems.push(`${path} is missing`);
    else if (readFileSync(path, "utf8") !== text) problems.push(`${path} is stale`);
  }
  for (const f of staleFiles(dir, files)) problems.push(`${join(dir, f)} belongs to no tenant any more`);
  return problems;
}

/** Adds `imaas catalog` to the CLI. */
export function registerCatalogCommand(
  program: Command,
  io: { readonly out: (s: string) => void },
  deps: CatalogCommandDeps,
): Command {
  return program
    .command("catalog")
    .description(
      "write Backstage catalog entities for the tenants (Group, System, registry Resource, a Component per service), checked with Backstage's own validators",
    )
    .argument("[dir]", "folder of tenant files", "tenants")
    .option(
      "-s, --stack <name>",
      "stack whose Pulumi.<stack>.yaml config to use (hosts, GitHub owner, clusters)",
      "dev",
    )
    .addOption(
      new Option("-f, --format <format>", `stdout format: ${CATALOG_FORMATS.join(", ")}`)
        .default("yaml")
        .argParser(parseFormat),
    )
    .option(
      "-t, --tenant <name>",
      "only this tenant (repeatable; not with --out, which writes every tenant)",
      (name: string, names: string[]) => [...names, name],
      [] as string[],
    )
    .option(
      "-o, --out <dir>",
      "write DIR/<tenant>.yaml per tenant and DIR/all.yaml (a Location listing them) instead of stdout",
    )
    .option("--check", "with --out: exit 1 if the files in DIR differ from what would be written (for CI)")
    .option("--users", "also emit a User entity per owner and member (when Backstage does not ingest users)")
    .option("--no-groups", "leave out the tenants' Groups (when Backstage already ingests the GitHub teams)")
    .action(
      async (
        path: string,
        opts: {
          stack: string;
          format: CatalogFormat;
          tenant: string[];
          out?: string;
          check?: boolean;
          users?: boolean;
          groups: boolean;
        },
        cmd: Command,
      ) => {
        if (opts.check && opts.out === undefined) {
          throw deps.userError("--check compares the files of --out DIR: give --out");
        }
        if (opts.out !== undefined && opts.tenant.length > 0) {
          throw deps.userError(
            "--out writes every tenant: all.yaml must list them all, or Backstage drops the tenants left out; leave out --tenant",
          );
        }
        if (opts.out !== undefined && opts.format !== "yaml") {
          throw deps.userError("--out writes YAML files (what Backstage reads): leave out --format json");
        }
        const { stackConfig, tenants, dir } = deps.loadTenants(path, opts.stack, cmd.args.length === 0);
        const config = platformConfigOf(stackConfig);
        const unknown = opts.tenant.filter((n) => !tenants.some((t) => t.name === n));
        if (unknown.length > 0) {
          throw deps.userError(
            `--tenant ${unknown.map((n) => `"${n}"`).join(", ")}: no such tenant in ${dir}; tenants there: ${tenants.map((t) => t.name).join(", ") || "none"}`,
          );
        }
        const selected =
          opts.tenant.length > 0 ? tenants.filter((t) => opts.tenant.includes(t.name)) : tenants;
        const catalog = await validCatalog(
          { config, tenants: selected, groups: opts.groups, users: opts.users === true },
          deps.userError,
        );
        if (opts.out !== undefined) {
          const files = await catalogFiles(opts.stack, catalog, deps.userError);
          if (opts.check) {
            const problems = checkCatalogFiles(opts.out, files);
            if (problems.length > 0) {
              const again = [
                "imaas catalog",
                ...(cmd.args.length > 0 ? [path] : []),
                `--stack ${opts.stack}`,
                ...(opts.users ? ["--users"] : []),
                ...(opts.groups ? [] : ["--no-groups"]),
                `--out ${opts.out}`,
              ];
              throw deps.userError(
                `${problems.join("\n")}\nthe catalog files in ${opts.out} do not match the tenant files; regenerate them: ${again.join(" ")}`,
              );
            }
            io.out(`${opts.out}: the ${files.size} catalog file(s) are up to date\n`);
            return;
          }
          const { written, removed } = writeCatalogFiles(opts.out, files, deps.userError);
          io.out(
            `wrote ${written.length} file(s) to ${opts.out} (${allEntities(catalog).length} entities): ${written.join(", ")}` +
              `${removed.length > 0 ? `; removed ${removed.join(", ")} (no such tenant any more)` : ""}` +
              `; register ${join(opts.out, "all.yaml")} in Backstage\n`,
          );
          return;
        }
        const entities = allEntities(catalog);
        io.out(opts.format === "json" ? `${JSON.stringify(entities, null, 2)}\n` : renderYaml(entities));
      },
    );
}
