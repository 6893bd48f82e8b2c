/**
 * The key paths of a TOML document as MI's config mapper sees them: `[a.b] c = 1` is `a.b.c`, a key under
 * `[[a.b]]` is `a.b[].c`, a quoted segment stays quoted (`synapse_properties.'x.y'`). Enough TOML for the
 * chart's deployment.toml (one `key = value` per line); any other line is an error, never skipped.
 */

const SEGMENT = `(?:[A-Za-z0-9_-]+|'[^']*'|"[^"]*")`;
const DOTTED = String.raw`${SEGMENT}(?:\s*\.\s*${SEGMENT})*`;
const ARRAY_TABLE = new RegExp(String.raw`^\[\[\s*(${DOTTED})\s*\]\]\s*(?:#.*)?$`);
const TABLE = new RegExp(String.raw`^\[\s*(${DOTTED})\s*\]\s*(?:#.*)?$`);
const KEY_VALUE = new RegExp(String.raw`^(${DOTTED})\s*=\s*\S`);

function normalize(dotted: string): string {
  return [...dotted.matchAll(new RegExp(SEGMENT, "g"))]
    .map((m) => (m[0].startsWith('"') ? `'${m[0].slice(1, -1)}'` : m[0]))
    .join(".");
}

export function tomlKeyPaths(text: string): string[] {
  const keys: string[] = [];
  let table = "";
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    let m = ARRAY_TABLE.exec(line);
    if (m) {
      table = `${normalize(m[1])}[]`;
      return;
    }
    m = TABLE.exec(line);
    if (m) {
      table = normalize(m[1]);
      return;
    }
    m = KEY_VALUE.exec(line);
    if (!m) throw new Error(`line ${i + 1}: not a table header or a one-line key = value: ${raw}`);
    const key = normalize(m[1]);
    keys.push(table ? `${table}.${key}` : key);
  });
  return keys;
}
