import MarkdownIt from "markdown-it";
import { describe, expect, it } from "vitest";
import { type LinkContext, repositoryLinks, rewriteLink } from "./links.ts";
import type { SitePage } from "./pages.ts";

const pages: SitePage[] = [
  { source: "docs/index.md", route: "index.md" },
  { source: "docs/fastpath.md", route: "fastpath.md" },
  { source: "docs/walkthrough.md", route: "walkthrough.md" },
  { source: "docs/walkthrough.zh.md", route: "zh/walkthrough.md" },
  { source: "docs/reference/events.md", route: "reference/events.md" },
  { source: "packages/oci/README.md", route: "packages/oci.md" },
  { source: "packages/oci-testing/README.md", route: "packages/oci-testing.md" },
  { source: "bench/README.md", route: "bench.md" },
];
const files = new Map<string, "file" | "dir">([
  ["packages/sdk/proto/backend.proto", "file"],
  ["packages/validator/deploy", "dir"],
  ["docs/doctor-rbac.yaml", "file"],
]);
const context: LinkContext = {
  pages,
  repositoryUrl: "https://example.com/owner/volpop",
  kind: (repoPath) => files.get(repoPath),
};

describe("links written for GitHub, on the site", () => {
  it.each([
    ["an external link", "docs/fastpath.md", "https://kubernetes.io/x", "https://kubernetes.io/x"],
    ["an anchor", "docs/fastpath.md", "#protocol", "#protocol"],
    ["a site-absolute link", "docs/fastpath.md", "/api/", "/api/"],
  ])("keeps %s", (_, source, href) => {
    const route = pages.find((p) => p.source === source)?.route ?? "";
    expect(rewriteLink(href, route, context)).toEqual({ action: "keep" });
  });

  it.each([
    ["to a page beside it", "fastpath.md", "walkthrough.md#2", "./walkthrough.md#2"],
    ["from a translation to its original", "zh/walkthrough.md", "walkthrough.md", "../walkthrough.md"],
    ["to a translation", "walkthrough.md", "walkthrough.zh.md", "./zh/walkthrough.md"],
    ["to a README outside docs/", "fastpath.md", "../bench/README.md#fastpath", "./bench.md#fastpath"],
    ["between READMEs outside docs/", "packages/oci.md", "../oci-testing/README.md", "./oci-testing.md"],
    ["from a README to a page in docs/", "packages/oci.md", "../../docs/fastpath.md", "../fastpath.md"],
    ["to a folder whose README is a page", "fastpath.md", "../packages/oci/", "./packages/oci.md"],
    ["to a page without its .md", "reference/events.md", "../walkthrough", "../walkthrough.md"],
  ])("leads %s to where the site builds it", (_, route, href, expected) => {
    expect(rewriteLink(href, route, context)).toEqual({ action: "rewrite", href: expected });
  });

  it.each([
    [
      "a file",
      "fastpath.md",
      "../packages/sdk/proto/backend.proto",
      "blob/HEAD/packages/sdk/proto/backend.proto",
    ],
    ["a folder", "walkthrough.md", "../packages/validator/deploy/", "tree/HEAD/packages/validator/deploy/"],
    [
      "a file in docs/ that is not a page",
      "fastpath.md",
      "doctor-rbac.yaml",
      "blob/HEAD/docs/doctor-rbac.yaml",
    ],
  ])("sends a link to %s of the repository to the repository's web page of it", (_, route, href, tail) => {
    expect(rewriteLink(href, route, context)).toEqual({
      action: "rewrite",
      href: `https://example.com/owner/volpop/${tail}`,
    });
  });

  it("leaves a link to a repository file as text when the repository's URL is not known", () => {
    const unknown = { ...context, repositoryUrl: undefined };
    expect(rewriteLink("../packages/sdk/proto/backend.proto", "fastpath.md", unknown)).toEqual({
      action: "unlink",
      target: "packages/sdk/proto/backend.proto",
    });
  });

  it("fails on a link to nothing in the repository, naming the page and the link", () => {
    expect(() => rewriteLink("../packages/gone.ts", "fastpath.md", context)).toThrow(
      'docs/fastpath.md: link "../packages/gone.ts" names packages/gone.ts, which is not in the repository',
    );
  });

  it("fails on a link out of the repository", () => {
    expect(() => rewriteLink("../../elsewhere.md", "fastpath.md", context)).toThrow(
      'docs/fastpath.md: link "../../elsewhere.md" leaves the repository',
    );
  });
});

describe("the markdown-it plugin", () => {
  function render(markdown: string, route: string, linkContext: LinkContext) {
    const unlinked: string[] = [];
    const md = new MarkdownIt();
    repositoryLinks(md, linkContext, (page, target) => unlinked.push(`${page}: ${target}`));
    return { html: md.render(markdown, { relativePath: route }), unlinked };
  }

  it("rewrites every link of a page, in its route's terms", () => {
    const { html } = render(
      "[English](walkthrough.md) and [the spec](../packages/sdk/proto/backend.proto)",
      "zh/walkthrough.md",
      context,
    );
    expect(html).toBe(
      '<p><a href="../walkthrough.md">English</a> and <a href="https://example.com/owner/volpop/blob/HEAD/packages/sdk/proto/backend.proto">the spec</a></p>\n',
    );
  });

  it("keeps the text of a link it cannot give an address, and reports it", () => {
    const { html, unlinked } = render(
      "The [`backend.proto`](../packages/sdk/proto/backend.proto) file.",
      "fastpath.md",
      {
        ...context,
        repositoryUrl: undefined,
      },
    );
    expect(html).toBe("<p>The <code>backend.proto</code> file.</p>\n");
    expect(unlinked).toEqual(["fastpath.md: packages/sdk/proto/backend.proto"]);
  });

  it("leaves Markdown rendered outside VitePress (no page route) alone", () => {
    const md = new MarkdownIt();
    repositoryLinks(md, context, () => {});
    expect(md.render("[x](../nowhere.md)")).toBe('<p><a href="../nowhere.md">x</a></p>\n');
  });
});
