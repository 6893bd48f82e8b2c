/**
 * Records the deployment.toml keys MI's config tool knows into e2e/chart/mi-config-keys.json, read from a
 * git directory of wso2/micro-integrator (the config tool is `distribution/src/resources/config-tool`):
 *
 *   npx tsx e2e/chart/record-mi-config-keys.ts <micro-integrator git dir> [commit]
 *
 * A key is known when the config tool gives it a default (`default.json`), infers other keys from it
 * (`infer.json`), renames it (`key-mappings.json`, left side) or a template reads it (`templates/**.j2`,
 * `{{ a.b }}` and `{% if a.b … %}`; in `{% for x in a.b %}` the item keys `x.k` are recorded as `a.b[].k`).
 * The chart tests check every key of every rendered deployment.toml against this list.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const TOOL = "distribution/src/resources/config-tool";

function git(dir: string, args: string[]): string {
  return execFileSync("git", ["-C", dir, ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
}

/** Flattens a config-tool JSON object into dotted keys; a list of tables becomes `key[]` plus `key[].k`. */
function flatten(prefix: string, value: unknown, out: Set<string>): void {
  if (Array.isArray(value)) {
    out.add(prefix);
    for (const item of value) {
      if (item && typeof item === "object" && !Array.isArray(item)) flatten(`${prefix}[]`, item, out);
    }
    return;
  }
  if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) flatten(prefix ? `${prefix}.${k}` : k, v, out);
    return;
  }
  out.add(prefix);
}

const REF = /[A-Za-z_][A-Za-z0-9_]*(?:\.(?:[A-Za-z0-9_]+|'[^']+'))+/g;

/** Keys a Jinja template reads, with loop variables rewritten to `<list>[]`. */
function templateKeys(text: string, out: Set<string>): void {
  const loops = new Map<string, string>();
  for (const m of text.matchAll(
    /{%-?\s*for\s+([A-Za-z_][A-Za-z0-9_]*)(?:\s*,\s*[A-Za-z_]+)?\s+in\s+([^%]+?)\s*-?%}/g,
  )) {
    const list = m[2]
      .trim()
      .replace(/\.items\(\)$/, "")
      .replace(/\.toList\(\)$/, "");
    loops.set(m[1], list);
    out.add(list);
  }
  for (const block of text.matchAll(/{{[^}]*}}|{%[^%]*%}/g)) {
    for (const ref of block[0].matchAll(REF)) {
      let key = ref[0].replace(/\.(items|toList|keys|values)$/, "");
      const [head, ...rest] = key.split(".");
      const list = loops.get(head);
      if (list) key = [`${list}[]`, ...rest].join(".");
      out.add(key);
    }
  }
}

function main(): void {
  const [dir, commit = "HEAD"] = process.argv.slice(2);
  if (!dir) throw new Error("usage: record-mi-config-keys.ts <wso2/micro-integrator git dir> [commit]");
  const sha = git(dir, ["rev-parse", commit]).trim();
  const show = (path: string) => git(dir, ["show", `${sha}:${path}`]);
  const keys = new Set<string>();
  flatten("", JSON.parse(show(`${TOOL}/default.json`)), keys);
  const infer = JSON.parse(show(`${TOOL}/infer.json`)) as Record<string, Record<string, unknown>>;
  for (const [key, byValue] of Object.entries(infer)) {
    keys.add(key);
    for (const inferred of Object.values(byValue)) flatten("", inferred, keys);
  }
  for (const key of Object.keys(JSON.parse(show(`${TOOL}/key-mappings.json`)))) keys.add(key);
  const templates = git(dir, ["ls-tree", "-r", "--name-only", sha, `${TOOL}/templates`])
    .split("\n")
    .filter((p) => p.endsWith(".j2"));
  for (const t of templates) templateKeys(show(t), keys);
  const record = {
    source: {
      repository: "wso2/micro-integrator",
      commit: sha,
      paths: [
        `${TOOL}/default.json`,
        `${TOOL}/infer.json`,
        `${TOOL}/key-mappings.json`,
        `${TOOL}/templates/**/*.j2`,
      ],
    },
    keys: [...keys].filter((k) => k.length > 0).sort(),
  };
  const out = join(__dirname, "mi-config-keys.json");
  writeFileSync(out, `${JSON.stringify(record, null, 1)}\n`);
  console.log(`${record.keys.length} keys from ${sha} → ${out}`);
}

main();
