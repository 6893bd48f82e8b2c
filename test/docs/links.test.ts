/**
 * Every relative link in README.md and docs/*.md resolves: the file (or folder) exists, and a `#anchor`
 * names a heading of the target Markdown file (test/support/markdown-links.ts). The README keeps the quick
 * start, the map and links; the reference lives in docs/, so a moved or renamed section must not leave a
 * dead link behind.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { deadLinks, githubSlug } from "../support/markdown-links";

const ROOT = join(__dirname, "..", "..");

/** The documents whose links are checked: the README and every Markdown file in docs/. */
function documents(root: string): string[] {
  const docs = join(root, "docs");
  const inDocs = existsSync(docs)
    ? readdirSync(docs)
        .filter((f) => f.endsWith(".md"))
        .sort()
        .map((f) => join(docs, f))
    : [];
  return [join(root, "README.md"), ...inDocs];
}

describe("docs: relative links in README.md and docs/*.md", () => {
  it("checks the README and at least the reference documents moved out of it", () => {
    const names = documents(ROOT).map((f) => relative(ROOT, f));
    for (const doc of ["README.md", "docs/tenant-file.md", "docs/config.md", "docs/operating.md"]) {
      assert.ok(names.includes(doc), `${doc} is not among the checked documents: ${names.join(", ")}`);
    }
  });

  it("every relative link resolves to a file, and every anchor to a heading of it", () => {
    assert.deepEqual(deadLinks(ROOT, documents(ROOT)), []);
  });

  it("every other Markdown file of the repository: its relative links resolve too (some point into the moved text)", () => {
    const own = new Set(documents(ROOT));
    const others = execFileSync(
      "git",
      ["ls-files", "-z", "--cached", "--others", "--exclude-standard", "*.md"],
      {
        cwd: ROOT,
        encoding: "utf8",
      },
    )
      .split("\0")
      .filter((f) => f !== "" && existsSync(join(ROOT, f)))
      .map((f) => join(ROOT, f))
      .filter((f) => !own.has(f));
    assert.ok(
      others.includes(join(ROOT, "tenants", "README.md")),
      "tenants/README.md is among the files checked",
    );
    assert.deepEqual(deadLinks(ROOT, others), []);
  });

  it("makes anchors as GitHub does", () => {
    assert.equal(
      githubSlug("Scale: one stack, or a stack per tenant"),
      "scale-one-stack-or-a-stack-per-tenant",
    );
    assert.equal(githubSlug("The `imaas` command"), "the-imaas-command");
    assert.equal(
      githubSlug("What a tenant gets, and what it may do"),
      "what-a-tenant-gets-and-what-it-may-do",
    );
    assert.equal(
      githubSlug("Registry: retention and robot rotation"),
      "registry-retention-and-robot-rotation",
    );
    assert.equal(githubSlug("For tenants: where to look"), "for-tenants-where-to-look");
    assert.equal(githubSlug("A -- B"), "a----b");
  });

  it("reports a missing file, a missing anchor and an anchor into a folder; ignores code and URLs", () => {
    const dir = mkdtempSync(join(tmpdir(), "imaas-links-"));
    try {
      writeFileSync(
        join(dir, "README.md"),
        [
          "# Title",
          "## Part: one",
          "## Part: one",
          "[ok](#part-one) [ok](#part-one-1) [ok](docs/a.md#a-heading) [ok](docs) [web](https://example.com/x)",
          "[gone](docs/gone.md) [no anchor](docs/a.md#nothing) [folder anchor](docs#x)",
          "`[code](not/a/link.md)`",
          "```",
          "[fenced](not/a/link.md)",
          "```",
          "[spans two",
          "lines](#part-two)",
        ].join("\n"),
      );
      const docs = join(dir, "docs");
      mkdirSync(docs);
      writeFileSync(join(docs, "a.md"), "# A heading\n[back](../README.md#title) [up](../README.md#nope)\n");
      assert.deepEqual(deadLinks(dir, documents(dir)), [
        "README.md: docs/gone.md: docs/gone.md does not exist",
        "README.md: docs/a.md#nothing: docs/a.md has no heading with the anchor #nothing",
        "README.md: docs#x: an anchor into docs, which is not a Markdown file",
        "README.md: #part-two: README.md has no heading with the anchor #part-two",
        "docs/a.md: ../README.md#nope: README.md has no heading with the anchor #nope",
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
