/**
 * `imaas catalog [dir] [--tenant NAME]... [--stack S] [--format yaml|json] [--out DIR] [--users] [--no-groups]`:
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
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
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
  const kindValidators = [
    model.componentEntityV1alpha1Validator,
    model.groupEntityV1alpha1Validator,
    model.systemEntityV1alpha1Validator,
    model.resourceEntityV1alpha1Validator,
    model.userEntityV1alpha1Validator,
    model.locationEntityV1alpha1Validator,
  ];
  const problems: EntityProblem[] = [];
  for (const entity of entities) {
    // The policies and validators take Backstage's mutable Entity type; give them a copy.
    const copy = structuredClone(entity) as unknown as import("@backstage/catalog-model").Entity;
    try {
      const enforced = await policy.enforce(copy);
      if (!enforced) throw new Error("the entity policies dropped it");
      let known = false;
      for (const validator of kindValidators) {
        if (await validator.check(enforced)) known = true;
      }
      if (!known) throw new Error(`no validator knows kind ${entity.kind} (${entity.apiVersion})`);
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
  readonly stack: string;
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

/** Writes `--out` files; returns their names (relative to `dir`), `all.yaml` last. */
export async function writeCatalogFiles(
  dir: string,
  stack: string,
  catalog: Catalog,
  fail: (message: string) => Error,
): Promise<string[]> {
  const header = (what: string) =>
    `Generated by \`imaas catalog --stack ${stack} --out\` from ${what}; do not edit (regenerate instead).`;
  const files = new Map<string, string>();
  for (const t of catalog.tenants) {
    files.set(`${t.tenant}.yaml`, renderYaml(t.entities, header(`the tenant file ${t.file}`)));
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
  try {
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of files) writeFileSync(join(dir, name), text);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw fail(`--out ${dir}: cannot write the catalog files (${e.code ?? e.message})`);
  }
  return [...files.keys()];
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
      "only this tenant (repeatable)",
      (name: string, names: string[]) => [...names, name],
      [] as string[],
    )
    .option(
      "-o, --out <dir>",
      "write DIR/<tenant>.yaml per tenant and DIR/all.yaml (a Location listing them) instead of stdout",
    )
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
          users?: boolean;
          groups: boolean;
        },
        cmd: Command,
      ) => {
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
          { stack: opts.stack, config, tenants: selected, groups: opts.groups, users: opts.users === true },
          deps.userError,
        );
        if (opts.out !== undefined) {
          const files = await writeCatalogFiles(opts.out, opts.stack, catalog, deps.userError);
          const count = allEntities(catalog).length;
          io.out(
            `wrote ${files.length} file(s) to ${opts.out} (${count} entities): ${files.join(", ")}; register ${join(opts.out, "all.yaml")} in Backstage\n`,
          );
          return;
        }
        const entities = allEntities(catalog);
        io.out(opts.format === "json" ? `${JSON.stringify(entities, null, 2)}\n` : renderYaml(entities));
      },
    );
}
