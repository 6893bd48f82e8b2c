/**
 * Loads tenant files: parses YAML keeping positions, validates each file against the tenant schema, then
 * checks what spans files (allowFrom targets, derived-name collisions) and the platform's quota caps.
 * Every error of every file is reported at once as `file:line:col: field.path: message`; input is
 * treated as hostile (one document, no custom tags, a small alias budget, a size cap).
 */
import { type Document, isMap, isScalar, LineCounter, type Node, parseAllDocuments, visit } from "yaml";
import { discoverTenantFiles, MAX_TENANT_FILE_BYTES, tenantOfFile } from "./discover";
import { ENVIRONMENTS, inPromotionOrder } from "./environments";
import { argocdHost, derivedNames, grafanaHost } from "./naming";
import { allowedDomains, type PlatformConfig } from "./platform-config";
import { exposedHost, resolveTenant, type TenantSpec, withCallableTenants } from "./spec";
import { type TenantFile, tenantSchema } from "./tenant";
import { dedicatedCap, type PathKey, tenantRules } from "./tenant-rules";

/** Aliases a tenant file may expand; anything like an alias bomb is refused. */
export const MAX_ALIAS_COUNT = 50;

export interface LoadError {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** Dotted field path (`spec.services[0].name`), empty for a whole-file error. */
  readonly path: string;
  readonly message: string;
}

export function formatError(e: LoadError): string {
  return `${e.file}:${e.line}:${e.col}: ${e.path ? `${e.path}: ` : ""}${e.message}`;
}

export interface TenantSource {
  /** Path shown in errors. */
  readonly file: string;
  readonly text: string;
}

export interface LoadResult {
  readonly tenants: TenantSpec[];
  readonly errors: LoadError[];
}

export interface LoadOptions {
  /** The stack whose config applies, named in messages about its caps and limits. @default "the stack" */
  readonly stack?: string;
}

/**
 * Reads every tenant file of `dir` (`*.yaml`/`*.yml`, any case; every other YAML-looking entry is an
 * error naming its path, see discover.ts) and loads them.
 */
export function loadTenantDir(dir: string, cfg: PlatformConfig, options: LoadOptions = {}): LoadResult {
  let found: ReturnType<typeof discoverTenantFiles>;
  try {
    found = discoverTenantFiles(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT" ? "no such folder" : code === "ENOTDIR" ? "not a folder" : firstLine(String(err));
    return {
      tenants: [],
      errors: [{ file: dir, line: 1, col: 1, path: "", message: `cannot read tenants: ${reason}` }],
    };
  }
  const errors = found.refused.map((r) => at(r.file, r.message));
  const result = loadTenantSources(found.found, cfg, options);
  if (errors.length === 0 && result.errors.length === 0) {
    const ringErrors = ringTenantsWithoutFiles(dir, result.tenants, cfg, options);
    if (ringErrors.length > 0) return { tenants: [], errors: ringErrors };
  }
  return { tenants: result.tenants, errors: [...errors, ...result.errors].sort(byPosition) };
}

/**
 * A ring naming a tenant that has no file: a typo, or a tenant removed without its ring entry. Checked on
 * the whole folder of a platform stack only (a tenant stack loads one tenant).
 */
function ringTenantsWithoutFiles(
  dir: string,
  tenants: readonly TenantSpec[],
  cfg: PlatformConfig,
  options: LoadOptions,
): LoadError[] {
  if (!cfg.rings || cfg.stack.mode === "tenant") return [];
  const names = new Set(tenants.map((t) => t.name));
  return cfg.rings.flatMap((ring) =>
    ring.tenants === "*"
      ? []
      : ring.tenants
          .filter((t) => !names.has(t))
          .map((t) =>
            at(
              dir,
              `imaas:rings of stack "${options.stack ?? "the stack"}": ring "${ring.name}" lists tenant "${t}", which has no tenant file here; remove it from the ring or add its file`,
            ),
          ),
  );
}

interface Parsed {
  readonly source: TenantSource;
  readonly doc: Document;
  readonly lines: LineCounter;
  readonly value: TenantFile;
}

/** Loads tenant files given as text: the pure core of the loader. */
export function loadTenantSources(
  sources: readonly TenantSource[],
  cfg: PlatformConfig,
  options: LoadOptions = {},
): LoadResult {
  const errors: LoadError[] = [];
  const parsed: Parsed[] = [];
  for (const source of sources) {
    const p = parseOne(source, errors);
    if (p) parsed.push(p);
  }
  crossFileChecks(parsed, errors);
  hostChecks(parsed, cfg, errors);
  const specs = parsed.map((p) => resolveTenant(p.source.file, p.value, cfg));
  const ctx = { cfg, stack: options.stack ?? "the stack" };
  const capped = dedicatedCap(
    parsed.map((p) => p.value),
    ctx,
  );
  parsed.forEach((p, i) => {
    for (const f of [...tenantRules(p.value, specs[i], ctx), ...(capped.get(p.value) ?? [])]) {
      errors.push(positioned(p.source.file, p.lines, nearestNode(p.doc, f.path), dotted(f.path), f.message));
    }
  });
  if (errors.length > 0) return { tenants: [], errors: errors.sort(byPosition) };
  return { tenants: withCallableTenants(specs), errors: [] };
}

function parseOne(source: TenantSource, errors: LoadError[]): Parsed | undefined {
  const { file, text } = source;
  if (Buffer.byteLength(text) > MAX_TENANT_FILE_BYTES) {
    errors.push(at(file, `file is larger than ${MAX_TENANT_FILE_BYTES} bytes`));
    return undefined;
  }
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, {
    lineCounter: lines,
    uniqueKeys: true,
    prettyErrors: false,
    strict: true,
  });
  if (!Array.isArray(docs)) {
    errors.push(at(file, "the file is empty; a tenant file holds one YAML mapping (see tenants/README.md)"));
    return undefined;
  }
  if (docs.length === 0) {
    errors.push(at(file, "the file is empty; a tenant file holds one YAML mapping (see tenants/README.md)"));
    return undefined;
  }
  if (docs.length > 1) {
    const pos = lines.linePos(docs[1].range[0]);
    errors.push({
      file,
      ...pos,
      path: "",
      message: "a tenant file holds exactly one YAML document; remove the extra `---`",
    });
    return undefined;
  }
  const doc = docs[0];
  const problems = [...doc.errors, ...doc.warnings];
  if (problems.length > 0) {
    for (const p of problems) {
      const pos = lines.linePos(p.pos[0]);
      const message =
        p.code === "TAG_RESOLVE_FAILED" ? "custom YAML tags are not allowed" : firstLine(p.message);
      errors.push({ file, ...pos, path: "", message });
    }
    return undefined;
  }
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    errors.push(at(file, "the file is empty; a tenant file holds one YAML mapping (see tenants/README.md)"));
    return undefined;
  }
  if (!isMap(doc.contents)) {
    errors.push(
      positioned(
        file,
        lines,
        doc.contents,
        "",
        "a tenant file must be a YAML mapping (apiVersion, kind, metadata, spec)",
      ),
    );
    return undefined;
  }
  const merges = text.includes("<<") ? mergeKeys(doc) : [];
  if (merges.length > 0) {
    for (const node of merges)
      errors.push(
        positioned(
          file,
          lines,
          node,
          "",
          "YAML merge keys (<<) are not supported in tenant files; write the fields out",
        ),
      );
    return undefined;
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    errors.push(
      at(file, `refused: ${firstLine((err as Error).message)} (aliases are limited to ${MAX_ALIAS_COUNT})`),
    );
    return undefined;
  }
  const result = tenantSchema.safeParse(value);
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === "unrecognized_keys") {
        for (const key of issue.keys) {
          const path = [...issue.path, key] as PathKey[];
          errors.push(
            positioned(
              file,
              lines,
              keyNode(doc, path),
              dotted(path),
              "unknown field; check the spelling against tenants/README.md",
            ),
          );
        }
      } else if (issue.code === "invalid_key") {
        // A record key broke its rule: point at the key and give the key rule's own message.
        const path = issue.path as PathKey[];
        const message = issue.issues[0]?.message ?? issue.message;
        errors.push(positioned(file, lines, keyNode(doc, path), dotted(path), message));
      } else {
        const path = issue.path as PathKey[];
        const message =
          issue.code === "invalid_type" && /received undefined$/.test(issue.message)
            ? `required: add ${String(path[path.length - 1] ?? "it")} (see tenants/README.md)`
            : // YAML's `.nan` parses to NaN: name what the file says, not the parser's value.
              issue.message.replace(/received NaN$/, "received .nan (YAML's not-a-number)");
        errors.push(positioned(file, lines, nearestNode(doc, path), dotted(path), message));
      }
    }
    return undefined;
  }
  const expected = tenantOfFile(file);
  if (result.data.metadata.name !== expected) {
    errors.push(
      positioned(
        file,
        lines,
        nearestNode(doc, ["metadata", "name"]),
        "metadata.name",
        `"${result.data.metadata.name}" must equal the file's base name "${expected}"; rename the file or the tenant`,
      ),
    );
    return undefined;
  }
  return { source, doc, lines, value: result.data };
}

/** allowFrom targets exist; tenant names and every derived name are unique across files. */
function crossFileChecks(parsed: readonly Parsed[], errors: LoadError[]): void {
  const byName = new Map(parsed.map((p) => [p.value.metadata.name, p]));
  for (const p of parsed) {
    (p.value.spec.network?.allowFrom ?? []).forEach((other, i) => {
      const path: PathKey[] = ["spec", "network", "allowFrom", i];
      if (other === p.value.metadata.name) {
        errors.push(
          positioned(
            p.source.file,
            p.lines,
            nearestNode(p.doc, path),
            dotted(path),
            "a tenant always reaches itself; remove it",
          ),
        );
      } else if (!byName.has(other)) {
        errors.push(
          positioned(
            p.source.file,
            p.lines,
            nearestNode(p.doc, path),
            dotted(path),
            `no tenant "${other}" exists in this folder`,
          ),
        );
      }
    });
  }
  const owners = new Map<string, { p: Parsed; service?: string }>();
  const reported = new Set<string>(); // one error per colliding pair, not one per derived name
  for (const p of parsed) {
    const t = p.value;
    const envs = t.spec.environments ?? ENVIRONMENTS;
    const names = derivedNames({
      name: t.metadata.name,
      environments: envs,
      services: (t.spec.services ?? []).map((s) => ({ name: s.name, environments: s.environments ?? envs })),
    });
    for (const n of names) {
      const key = `${n.kind}\u0000${n.name}`;
      const first = owners.get(key);
      if (!first) {
        owners.set(key, { p, service: n.service });
        continue;
      }
      if (first.p === p) continue;
      const pair = `${first.p.source.file}\u0000${first.service}\u0000${p.source.file}\u0000${n.service}`;
      if (reported.has(pair)) continue;
      reported.add(pair);
      const describe = (o: { p: Parsed; service?: string }) =>
        `${o.p.source.file} (tenant "${o.p.value.metadata.name}"${o.service ? `, service "${o.service}"` : ""})`;
      for (const [mine, theirs] of [
        [{ p, service: n.service }, first],
        [first, { p, service: n.service }],
      ] as const) {
        const path = servicePath(mine.p, mine.service);
        errors.push(
          positioned(
            mine.p.source.file,
            mine.p.lines,
            nearestNode(mine.p.doc, path),
            dotted(path),
            `${n.kind} "${n.name}" is also derived by ${describe(theirs)}; rename one of them`,
          ),
        );
      }
    }
  }
}

function servicePath(p: Parsed, service: string | undefined): PathKey[] {
  if (service === undefined) return ["metadata", "name"];
  const i = (p.value.spec.services ?? []).findIndex((s) => s.name === service);
  return ["spec", "services", i, "name"];
}

/** Hosts the platform serves itself: the apex domain, Argo CD per cluster, each tenant's Grafana per cluster. */
function platformHosts(parsed: readonly Parsed[], cfg: PlatformConfig): Map<string, string> {
  const hosts = new Map<string, string>([[cfg.domain, "the platform's apex domain"]]);
  for (const c of cfg.clusters) {
    hosts.set(argocdHost(c.name, cfg.domain), `Argo CD of cluster "${c.name}"`);
    for (const p of parsed) {
      const t = p.value.metadata.name;
      hosts.set(grafanaHost(t, c.name, cfg.domain), `the Grafana of tenant "${t}" on cluster "${c.name}"`);
    }
  }
  return hosts;
}

/** What is wrong with `host` as tenant `tenant`'s public host, apart from collisions with other services. */
function hostProblem(
  host: string,
  tenant: string,
  tenants: readonly string[],
  reserved: ReadonlyMap<string, string>,
  cfg: PlatformConfig,
): string | undefined {
  const long = host.split(".").find((l) => l.length > 63);
  if (long) return `host "${host}" has a label of ${long.length} characters; DNS labels have at most 63`;
  if (host.length > 253) return `host "${host}" has ${host.length} characters; DNS names have at most 253`;
  const domains = allowedDomains(cfg);
  if (!domains.some((d) => host === d || host.endsWith(`.${d}`)))
    return `host "${host}" is outside the allowed domains (${domains.join(", ")})`;
  const platform = reserved.get(host);
  if (platform)
    return `host "${host}" is ${platform}, reserved by the platform; set another host under expose (or rename the service)`;
  for (const other of tenants) {
    if (other === tenant) continue;
    for (const env of ENVIRONMENTS) {
      const subtree = `${other}.${env}.${cfg.domain}`;
      if (host === subtree || host.endsWith(`.${subtree}`))
        return `host "${host}" is inside tenant "${other}"'s hosts (*.${subtree}); choose a host outside other tenants' names`;
    }
  }
  return undefined;
}

/**
 * Public hosts are valid DNS names under an allowed domain, not the platform's own, not inside another
 * tenant's default hosts, and unique across every tenant and environment.
 */
function hostChecks(parsed: readonly Parsed[], cfg: PlatformConfig, errors: LoadError[]): void {
  const reserved = platformHosts(parsed, cfg);
  const tenants = parsed.map((p) => p.value.metadata.name);
  const owners = new Map<string, { p: Parsed; path: PathKey[]; where: string }>();
  for (const p of parsed) {
    const tenant = p.value.metadata.name;
    const tenantEnvs = p.value.spec.environments ?? ENVIRONMENTS;
    (p.value.spec.services ?? []).forEach((svc, i) => {
      for (const env of inPromotionOrder(svc.environments ?? tenantEnvs)) {
        const exposure = svc.expose?.[env];
        const host = exposedHost(tenant, svc.name, env, exposure, cfg.domain);
        if (!host) continue;
        const path: PathKey[] = [
          "spec",
          "services",
          i,
          "expose",
          env,
          ...(typeof exposure === "object" ? ["host"] : []),
        ];
        const node = nearestNode(p.doc, path);
        const problem = hostProblem(host, tenant, tenants, reserved, cfg);
        if (problem) {
          errors.push(positioned(p.source.file, p.lines, node, dotted(path), problem));
          continue;
        }
        const where = `${p.source.file} (tenant "${tenant}", service "${svc.name}", ${env})`;
        const first = owners.get(host);
        if (!first) {
          owners.set(host, { p, path, where });
          continue;
        }
        errors.push(
          positioned(
            p.source.file,
            p.lines,
            node,
            dotted(path),
            `host "${host}" is already used by ${first.where}`,
          ),
        );
        errors.push(
          positioned(
            first.p.source.file,
            first.p.lines,
            nearestNode(first.p.doc, first.path),
            dotted(first.path),
            `host "${host}" is also requested by ${where}`,
          ),
        );
      }
    });
  }
}

function dotted(path: readonly PathKey[]): string {
  return path.reduce<string>(
    (acc, k) => (typeof k === "number" ? `${acc}[${k}]` : acc ? `${acc}.${k}` : k),
    "",
  );
}

/** The node at `path`, or the deepest existing ancestor (for a missing field, its parent mapping). */
function nearestNode(doc: Document, path: readonly PathKey[]): Node | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as Node | undefined;
    if (node && typeof node === "object" && "range" in node && node.range) return node;
  }
  return doc.contents ?? undefined;
}

/** The key node of the last path element, so an unknown field points at its key. */
function keyNode(doc: Document, path: readonly PathKey[]): Node | undefined {
  const parent = path.length > 1 ? doc.getIn(path.slice(0, -1), true) : doc.contents;
  if (isMap(parent)) {
    const pair = parent.items.find(
      (it) => isScalar(it.key) && String(it.key.value) === String(path[path.length - 1]),
    );
    if (pair && isScalar(pair.key)) return pair.key;
  }
  return nearestNode(doc, path.slice(0, -1));
}

function positioned(
  file: string,
  lines: LineCounter,
  node: Node | null | undefined,
  path: string,
  message: string,
): LoadError {
  const offset = node?.range?.[0] ?? 0;
  const { line, col } = lines.linePos(offset);
  return { file, line, col, path, message };
}

/** The `<<` keys of a document (merge keys are YAML 1.1; the loader reads them as nothing else). */
function mergeKeys(doc: Document): Node[] {
  const found: Node[] = [];
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.value === "<<") found.push(pair.key);
    },
  });
  return found;
}

function at(file: string, message: string): LoadError {
  return { file, line: 1, col: 1, path: "", message };
}

function firstLine(s: string): string {
  return s.split("\n")[0].trim();
}

function byPosition(a: LoadError, b: LoadError): number {
  return a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col;
}
