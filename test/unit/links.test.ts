/**
 * Every relative link in README.md and the Markdown under docs/ leads to a file that exists, and every
 * `#anchor` to a heading of its file; no page names a path of the machine it was written on.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_DIR } from "../../local/stack.ts";

/** Link targets of a Markdown text: inline links and images, and reference definitions; code is skipped. */
function linkTargets(markdown: string): string[] {
  const prose = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "").replace(/`[^`\n]*`/g, "");
  const inline = [...prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
  const references = [...prose.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]!);
  return [...inline, ...references];
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
const slug = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");

const anchorsOf = (markdown: string) => new Set([...markdown.matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)].map((m) => slug(m[1]!)));

/** The links of `file` (relative to `root`) that lead nowhere: a missing file or a missing heading. */
function brokenLinks(root: string, file: string, read: (path: string) => string = (p) => readFileSync(p, "utf8")): string[] {
  const path = join(root, file);
  const text = read(path);
  return linkTargets(text).filter((target) => {
    if (target === "" || /^[a-z][a-z0-9+.-]*:/i.test(target)) return target === "";
    const [filePart = "", anchor] = target.split("#", 2);
    if (filePart === "") return !anchorsOf(text).has(anchor!);
    const destination = join(dirname(path), decodeURIComponent(filePart.split("?")[0]!));
    if (!existsSync(destination)) return true;
    return anchor !== undefined && destination.endsWith(".md") && !anchorsOf(read(destination)).has(anchor);
  });
}

function markdownUnder(dir: string): string[] {
  return readdirSync(join(PROJECT_DIR, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".md"))
    .map((e) => relative(PROJECT_DIR, join(e.parentPath, e.name)));
}

const PAGES = ["README.md", ...markdownUnder("docs")];

describe("documentation links", () => {
  it.each(PAGES)("every relative link in %s resolves", (file) => {
    expect(brokenLinks(PROJECT_DIR, file)).toEqual([]);
  });

  it.each(PAGES)("%s names no path of a particular machine", (file) => {
    expect(readFileSync(join(PROJECT_DIR, file), "utf8")).not.toMatch(/(^|[\s(`"'])\/(work|tmp|home|root|Users)\//m);
  });

  it("finds a link to a missing file, a missing heading and an empty link, and ignores code and web addresses", () => {
    const page = [
      "# Title",
      "[ok](README.md) [anchor ok](#title) ![img](docs/config.md) [web](https://example.org/x.md)",
      "[gone](docs/nowhere.md) [bad anchor](#no-such-heading) [empty]()",
      "`[in code](nowhere-either.md)`",
      "```",
      "[in a block](nor-this.md)",
      "```",
      "[ref]: docs/missing-too.md",
    ].join("\n");
    const read = (p: string) => (p === join(PROJECT_DIR, "page.md") ? page : readFileSync(p, "utf8"));
    expect(existsSync(join(PROJECT_DIR, "page.md"))).toBe(false);
    expect(brokenLinks(PROJECT_DIR, "page.md", read)).toEqual(["docs/nowhere.md", "#no-such-heading", "", "docs/missing-too.md"]);
  });
});
