/**
 * Finding the tenant files of a folder, safely: every `*.yaml`/`*.yml` entry (any letter case) is either
 * read as a tenant file or reported in one line naming its path — a subfolder holding YAML, a directory or
 * FIFO named like a file, a dangling link, a link that leads outside the folder (its target is never
 * read), a file too large, the same tenant twice. Nothing is skipped silently and nothing blocks: special
 * files are never opened.
 */
import { type Dirent, lstatSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { basename, extname, isAbsolute, join, relative } from "node:path";

/** Tenant files larger than this are refused unread. */
export const MAX_TENANT_FILE_BYTES = 256 * 1024;

/** True for names that are tenant files: `.yaml` or `.yml`, any letter case. */
export function isTenantFile(name: string): boolean {
  return /\.ya?ml$/i.test(name);
}

/** The tenant name a file stands for: its base name without the extension. */
export function tenantOfFile(file: string): string {
  return basename(file, extname(file));
}

export interface Found {
  readonly file: string;
  readonly text: string;
}

export interface Refused {
  readonly file: string;
  readonly message: string;
}

export interface Discovery {
  readonly found: Found[];
  readonly refused: Refused[];
}

/** Reads the tenant files of `dir`. Throws only when `dir` itself cannot be read. */
export function discoverTenantFiles(dir: string): Discovery {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
  const found: Found[] = [];
  const refused: Refused[] = [];
  const realDir = realpathSync(dir);
  for (const entry of entries) {
    const file = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (isTenantFile(entry.name)) {
        refused.push({ file, message: "is a folder, not a tenant file" });
        continue;
      }
      const nested = yamlBelow(file);
      if (nested)
        refused.push({
          file: nested,
          message: `tenant files live directly in ${dir}; move it there (files in subfolders are not read)`,
        });
      continue;
    }
    if (!isTenantFile(entry.name)) continue;
    const problem = fileProblem(file, entry, realDir);
    if (problem) refused.push({ file, message: problem });
    else found.push({ file, text: readFileSync(file, "utf8") });
  }
  // The same tenant twice (x.yaml and x.yml, or X.YAML): the loader would see two files for one tenant.
  const byTenant = new Map<string, string>();
  const dupes = new Set<string>();
  for (const f of found) {
    const key = tenantOfFile(f.file).toLowerCase();
    const first = byTenant.get(key);
    if (first === undefined) byTenant.set(key, f.file);
    else {
      refused.push({ file: f.file, message: `is the same tenant as ${first}; keep one of the two files` });
      dupes.add(f.file);
    }
  }
  return { found: found.filter((f) => !dupes.has(f.file)), refused };
}

/** Why `file` cannot be read as a tenant file, or undefined when it can. */
function fileProblem(file: string, entry: Dirent, realDir: string): string | undefined {
  let target = file;
  if (entry.isSymbolicLink()) {
    let real: string;
    try {
      real = realpathSync(file);
    } catch {
      return "is a link to nothing (dangling symbolic link); fix or remove it";
    }
    const rel = relative(realDir, real);
    if (rel === "" || rel.startsWith("..") || isAbsolute(rel))
      return "is a link to a file outside the tenants folder; tenant files must live in the folder (the target was not read)";
    target = real;
  }
  const st = entry.isSymbolicLink() ? statSync(target) : lstatSync(target);
  if (st.isDirectory()) return "is a folder, not a tenant file";
  if (!st.isFile()) return "is not a regular file (a FIFO, socket or device); tenant files are plain files";
  if (st.size > MAX_TENANT_FILE_BYTES)
    return `is ${st.size} bytes; tenant files are limited to ${MAX_TENANT_FILE_BYTES}`;
  return undefined;
}

/** The first YAML file anywhere below `dir` (links not followed), or undefined. */
function yamlBelow(dir: string): string | undefined {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return undefined;
  }
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const nested = yamlBelow(p);
      if (nested) return nested;
    } else if (isTenantFile(e.name)) return p;
  }
  return undefined;
}
