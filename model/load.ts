/**
 * Loads tenant files: parses YAML keeping positions, validates each file against the tenant schema, then
 * checks what spans files (allowFrom targets, derived-name collisions) and the platform's quota caps.
 * Every error of every file is reported at once as `file:line:col: field.path: message`; input is
 * treated as hostile (one document, no custom tags, a small alias budget, a size cap).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { type Document, isMap, isScalar, LineCounter, type Node, parseAllDocuments } from "yaml";
import { ENVIRONMENTS, type Environment, inPromotionOrder } from "./environments";
import { derivedNames } from "./naming";
import { allowedDomains, type PlatformConfig } from "./platform-config";
import { parseQuantity } from "./quantity";
import { exposedHost, resolveTenant, type TenantSpec, withCallableTenants } from "./spec";
import { type TenantFile, tenantSchema } from "./tenant";

/** Tenant files larger than this are refused unread. */
export const MAX_TENANT_FILE_BYTES = 256 * 1024;
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

/** True for the files in a tenants folder that are tenant files. */
export function isTenantFile(name: string): boolean {
  return /\.ya?ml$/.test(name);
}

/** Reads every `*.yaml`/`*.yml` file of `dir` (other files are ignored) and loads them. */
export function loadTenantDir(dir: string, cfg: PlatformConfig): LoadResult {
  let names: string[];
  try {
    names = readdirSync(dir).filter(isTenantFile).sort();
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "no such folder" : String(err);
    return {
      tenants: [],
      errors: [{ file: dir, line: 1, col: 1, path: "", message: `cannot read tenants: ${reason}` }],
    };
  }
  const sources: TenantSource[] = [];
  const errors: LoadError[] = [];
  for (const name of names) {
    const file = join(dir, name);
    const size = statSync(file).size;
    if (size > MAX_TENANT_FILE_BYTES) {
      errors.push(at(file, `file is ${size} bytes; tenant files are limited to ${MAX_TENANT_FILE_BYTES}`));
      continue;
    }
    sources.push({ file, text: readFileSync(file, "utf8") });
  }
  const result = loadTenantSources(sources, cfg);
  return { tenants: result.tenants, errors: [...errors, ...result.errors].sort(byPosition) };
}

interface Parsed {
  readonly source: TenantSource;
  readonly doc: Document;
  readonly lines: LineCounter;
  readonly value: TenantFile;
}

/** Loads tenant files given as text: the pure core of the loader. */
export function loadTenantSources(sources: readonly TenantSource[], cfg: PlatformConfig): LoadResult {
  const errors: LoadError[] = [];
  const parsed: Parsed[] = [];
  for (const source of sources) {
    const p = parseOne(source, errors);
    if (p) parsed.push(p);
  }
  crossFileChecks(parsed, errors);
  hostChecks(parsed, cfg, errors);
  for (const p of parsed) quotaCapChecks(p, cfg, errors);
  if (errors.length > 0) return { tenants: [], errors: errors.sort(byPosition) };
  return {
    tenants: withCallableTenants(parsed.map((p) => resolveTenant(p.source.file, p.value, cfg))),
    errors: [],
  };
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
        errors.push(positioned(file, lines, nearestNode(doc, path), dotted(path), issue.message));
      }
    }
    return undefined;
  }
  const expected = basename(file, extname(file));
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

/** Public hosts are under an allowed domain and unique across every tenant and environment. */
function hostChecks(parsed: readonly Parsed[], cfg: PlatformConfig, errors: LoadError[]): void {
  const domains = allowedDomains(cfg);
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
        if (!domains.some((d) => host === d || host.endsWith(`.${d}`))) {
          errors.push(
            positioned(
              p.source.file,
              p.lines,
              node,
              dotted(path),
              `host "${host}" is outside the allowed domains (${domains.join(", ")})`,
            ),
          );
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

/** A tenant's quota override may not exceed the platform caps. */
function quotaCapChecks(p: Parsed, cfg: PlatformConfig, errors: LoadError[]): void {
  const caps = cfg.quota.caps;
  for (const [env, q] of Object.entries(p.value.spec.quota ?? {}) as [
    Environment,
    Record<string, unknown>,
  ][]) {
    for (const [key, value] of Object.entries(q ?? {})) {
      if (value === undefined) continue;
      const cap = caps[key as keyof typeof caps];
      const asNumber = (v: unknown) => (typeof v === "number" ? v : parseQuantity(String(v)));
      if (asNumber(value) > asNumber(cap)) {
        const path: PathKey[] = ["spec", "quota", env, key];
        errors.push(
          positioned(
            p.source.file,
            p.lines,
            nearestNode(p.doc, path),
            dotted(path),
            `${value} exceeds the platform cap of ${cap}; ask the platform admins to raise imaas:quota.caps.${key}`,
          ),
        );
      }
    }
  }
}

type PathKey = string | number;

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

function at(file: string, message: string): LoadError {
  return { file, line: 1, col: 1, path: "", message };
}

function firstLine(s: string): string {
  return s.split("\n")[0].trim();
}

function byPosition(a: LoadError, b: LoadError): number {
  return a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col;
}
