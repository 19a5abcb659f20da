import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fixtureRepos } from "./fixture.ts";
import { apiSidebars, chineseSidebar, mainNav, mainSidebar } from "./navigation.ts";
import { sitePages } from "./pages.ts";

const repo = fixtureRepos();

const texts = (items: { text?: string }[] | undefined) => (items ?? []).map((i) => i.text);

describe("the site's navigation", () => {
  const files = {
    "docs/index.md": "# Home",
    "docs/walkthrough.md": "# Walkthrough: your first populated volume",
    "docs/walkthrough.zh.md": "# 演练",
    "docs/reference/flags.md": "# Flags reference",
    "docs/reliability.md": "# Reliability",
    "docs/a-new-page.md": "# A page nobody placed",
    "packages/sdk/README.md": "# `@volpop/sdk`: the SDK",
    "packages/sdk/package.json": '{"name": "@volpop/sdk"}',
  };

  it("lists the pages that exist under short labels, and leaves out those that do not exist yet", () => {
    const root = repo(files);
    const sidebar = mainSidebar(sitePages(root), root);
    expect(texts(sidebar)).toEqual(["Guide", "Operations", "Packages", "More"]);
    expect(sidebar[0]?.items).toEqual([{ text: "Walkthrough", link: "/walkthrough" }]);
    expect(texts(sidebar[1]?.items)).toEqual(["Flags", "Reliability"]);
    expect(sidebar[2]?.items).toEqual([{ text: "@volpop/sdk", link: "/packages/sdk" }]);
  });

  it("lists a page no section places under More, by its title", () => {
    const root = repo(files);
    expect(mainSidebar(sitePages(root), root).at(-1)).toEqual({
      text: "More",
      items: [{ text: "A page nobody placed", link: "/a-new-page" }],
    });
  });

  it("puts the API reference before Benchmarks in the navigation bar, Operations as a menu", () => {
    const root = repo({ ...files, "bench/README.md": "# Benchmarks" });
    const nav = mainNav(sitePages(root), root);
    expect(texts(nav)).toEqual(["Guide", "Operations", "API", "Benchmarks"]);
    expect(nav[1]).toEqual({
      text: "Operations",
      items: [
        { text: "Flags", link: "/reference/flags" },
        { text: "Reliability", link: "/reliability" },
      ],
    });
  });

  it("gives the Chinese locale its translated pages, then the English sections", () => {
    const root = repo(files);
    const sidebar = chineseSidebar(sitePages(root), root);
    expect(sidebar[0]).toEqual({ text: "中文文档", items: [{ text: "演练", link: "/zh/walkthrough" }] });
    expect(texts(sidebar[1]?.items)).toContain("Guide");
  });

  it("gives each API entry point a sidebar of its own members, and the index one of the entry points", () => {
    const root = repo({});
    const api = path.join(root, "api");
    fs.mkdirSync(api);
    const run = {
      text: "@volpop/sdk/run",
      link: "/api/@volpop/sdk/run/",
      items: [{ text: "Functions", items: [] }],
    };
    const sdk = { text: "@volpop/sdk", link: "/api/@volpop/sdk/", items: [{ text: "Classes", items: [] }] };
    fs.writeFileSync(path.join(api, "typedoc-sidebar.json"), JSON.stringify([sdk, run]));
    const sidebars = apiSidebars(api);
    expect(Object.keys(sidebars)).toEqual(["/api/", "/api/@volpop/sdk/", "/api/@volpop/sdk/run/"]);
    expect(sidebars["/api/"]?.[0]?.items).toEqual([
      { text: "@volpop/sdk", link: "/api/@volpop/sdk/" },
      { text: "@volpop/sdk/run", link: "/api/@volpop/sdk/run/" },
    ]);
    expect(sidebars["/api/@volpop/sdk/run/"]?.[0]?.items?.[1]).toEqual({ ...run, collapsed: false });
  });

  it("says how to generate the API reference when its sidebar is missing", () => {
    const root = repo({});
    expect(() => apiSidebars(path.join(root, "api"))).toThrow(
      /typedoc-sidebar\.json is missing: generate the API reference first/,
    );
  });
});
