/**
 * Relative links of Markdown files, checked: the target file (or folder) exists, and a `#anchor` names a
 * heading of the target Markdown file.
 *
 * Anchors are computed as GitHub renders them (github-slugger, which GitHub's own anchors follow:
 * Flet/github-slugger index.js and script/generate-regex.mjs — lower-case; drop punctuation except `-` and
 * `_`, symbols, control and format characters; each space becomes `-`; a repeated heading gets `-1`, `-2`, …).
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";

/** Markdown without fenced code blocks and inline code spans, where `[x](y)` is not a link. */
function withoutCode(text: string): string {
  return text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "").replace(/`[^`\n]*`/g, "");
}

/** A heading's anchor as GitHub makes it (see the file comment). */
export function githubSlug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{Nd}\p{Nl}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** The anchors of a Markdown file's ATX headings, duplicates numbered as GitHub numbers them. */
export function anchorsOf(file: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const text = readFileSync(file, "utf8").replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
  for (const m of text.matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const slug = githubSlug(m[1] as string);
    const n = seen.get(slug) ?? 0;
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
    seen.set(slug, n + 1);
  }
  return anchors;
}

/** Every dead relative link of `docs` (Markdown files under `root`), as `file: target: why`. */
export function deadLinks(root: string, docs: readonly string[]): string[] {
  const dead: string[] = [];
  for (const doc of docs) {
    const where = relative(root, doc);
    for (const m of withoutCode(readFileSync(doc, "utf8")).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = m[1] as string;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      const [path = "", anchor] = target.split("#", 2);
      const file = path === "" ? doc : resolve(dirname(doc), decodeURIComponent(path));
      if (!existsSync(file)) {
        dead.push(`${where}: ${target}: ${relative(root, file)} does not exist`);
        continue;
      }
      if (anchor === undefined) continue;
      if (statSync(file).isDirectory() || !file.endsWith(".md")) {
        dead.push(
          `${where}: ${target}: an anchor into ${relative(root, file)}, which is not a Markdown file`,
        );
      } else if (!anchorsOf(file).has(anchor)) {
        dead.push(`${where}: ${target}: ${relative(root, file)} has no heading with the anchor #${anchor}`);
      }
    }
  }
  return dead;
}
