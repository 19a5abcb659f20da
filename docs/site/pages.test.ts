import { describe, expect, it } from "vitest";
import { fixtureRepos } from "./fixture.ts";
import { docsPages, docsRoute, pageTitle, readmePages, rewrites, routeLink, sitePages } from "./pages.ts";

const repo = fixtureRepos();

describe("the site's pages", () => {
  it("are every Markdown file under docs/, but no dependency, build output, site code or route template", () => {
    const root = repo({
      "docs/walkthrough.md": "# W",
      "docs/reference/events.md": "# E",
      "docs/new-page.md": "# N",
      "docs/[readme].md": "<!-- @content -->",
      "docs/packages/[package].md": "<!-- @content -->",
      "docs/node_modules/x/README.md": "",
      "docs/build/cache/y.md": "",
      "docs/site/z.md": "",
      "docs/.vitepress/w.md": "",
      "packages/a/package.json": "{}",
    });
    expect(docsPages(root).map((p) => p.source)).toEqual([
      "docs/new-page.md",
      "docs/reference/events.md",
      "docs/walkthrough.md",
    ]);
  });

  it("put a translation (name.zh.md) in its locale's folder, by a rewrite", () => {
    expect(docsRoute("walkthrough.zh.md")).toBe("zh/walkthrough.md");
    expect(docsRoute("guide/setup.zh.md")).toBe("zh/guide/setup.md");
    expect(docsRoute("notes.fr.md")).toBe("notes.fr.md");
    const root = repo({
      "docs/walkthrough.md": "",
      "docs/walkthrough.zh.md": "",
      "packages/a/README.md": "",
    });
    expect(rewrites(sitePages(root))).toEqual({ "walkthrough.zh.md": "zh/walkthrough.md" });
  });

  it("include the READMEs of the packages, the charts and the benchmarks that exist", () => {
    const root = repo({
      "packages/sdk/README.md": "# sdk",
      "packages/no-readme/package.json": "{}",
      "bench/README.md": "# Benchmarks",
    });
    expect(readmePages(root)).toEqual([
      { source: "packages/sdk/README.md", route: "packages/sdk.md" },
      { source: "bench/README.md", route: "bench.md" },
    ]);
  });

  it("are titled by their first heading, without Markdown marks", () => {
    expect(pageTitle("---\ntitle: x\n---\n# The `volpop` *way*\n\n## Not this", "f")).toBe("The volpop way");
    expect(pageTitle("no heading", "file-name")).toBe("file-name");
  });

  it("are linked without .md, an index by its folder", () => {
    expect(routeLink("zh/walkthrough.md")).toBe("/zh/walkthrough");
    expect(routeLink("zh/index.md")).toBe("/zh/");
    expect(routeLink("index.md")).toBe("/");
  });
});
