/**
 * The site's navigation bar and sidebars, built from the pages that exist: an entry whose source is
 * missing is left out (a page another change is still writing appears once it lands), and every page
 * under `docs/` that no section places is listed under "More", so none is unreachable.
 */
import fs from "node:fs";
import path from "node:path";
import type { DefaultTheme } from "vitepress";
import { API_DIR, REPO_ROOT } from "./layout.ts";
import { routeLink, type SitePage, titleOf } from "./pages.ts";

/** A sidebar entry: a page by its source, with a short label (default: the page's title). */
interface Entry {
  readonly source: string;
  readonly text?: string;
}

interface Section {
  readonly text: string;
  readonly entries: readonly Entry[];
}

/** The sections of the English sidebar, in reading order. */
export function sections(pages: readonly SitePage[], root: string = REPO_ROOT): Section[] {
  // A package's README is labelled with the package's name.
  const packages = pages
    .filter((p) => p.source.startsWith("packages/"))
    .map((p) => ({ source: p.source, text: packageName(path.join(root, path.dirname(p.source))) }));
  return [
    { text: "Guide", entries: [{ source: "docs/walkthrough.md", text: "Walkthrough" }] },
    { text: "Concepts", entries: [{ source: "docs/how-population-works.md", text: "How population works" }] },
    { text: "Write a populator", entries: [{ source: "docs/write-a-populator.md", text: "Tutorial" }] },
    { text: "Vendors", entries: [{ source: "docs/fastpath.md", text: "CSI fast path" }] },
    {
      text: "Image populator",
      entries: [{ source: "docs/image-populator.md", text: "Fill a volume from an image" }],
    },
    {
      text: "Operations",
      entries: [
        { source: "docs/reference/flags.md", text: "Flags" },
        { source: "docs/reference/metrics.md", text: "Metrics" },
        { source: "docs/reference/events.md", text: "Events" },
        { source: "charts/README.md", text: "Helm charts" },
        { source: "docs/reliability.md", text: "Reliability" },
        { source: "docs/troubleshooting.md", text: "Troubleshooting" },
      ],
    },
    { text: "Packages", entries: packages },
    { text: "Benchmarks", entries: [{ source: "bench/README.md", text: "Benchmarks" }] },
  ];
}

function packageName(dir: string): string {
  return (JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { name: string }).name;
}

// Pages with a place of their own: the homes, the translations' sidebar, the API reference's.
const placedElsewhere = (page: SitePage) =>
  page.route === "index.md" || page.route.startsWith("zh/") || page.route.startsWith("api/");

function item(page: SitePage, root: string, text?: string): DefaultTheme.SidebarItem {
  return { text: text ?? titleOf(page, root), link: routeLink(page.route) };
}

/** The English sidebar: every section with a page, then the pages no section places. */
export function mainSidebar(
  pages: readonly SitePage[],
  root: string = REPO_ROOT,
): DefaultTheme.SidebarItem[] {
  const bySource = new Map(pages.map((p) => [p.source, p]));
  const placed = sections(pages, root);
  const groups = placed.map((section) => ({
    text: section.text,
    items: section.entries.flatMap((e) => {
      const page = bySource.get(e.source);
      return page === undefined ? [] : [item(page, root, e.text)];
    }),
  }));
  const listed = new Set(placed.flatMap((s) => s.entries.map((e) => e.source)));
  const more = pages.filter(
    (p) => p.source.startsWith("docs/") && !listed.has(p.source) && !placedElsewhere(p),
  );
  groups.push({ text: "More", items: more.map((p) => item(p, root)) });
  return groups.filter((g) => g.items.length > 0);
}

/** The English navigation bar: each section's first page, Operations as a menu, the API reference. */
export function mainNav(
  pages: readonly SitePage[],
  root: string = REPO_ROOT,
): (DefaultTheme.NavItemWithLink | DefaultTheme.NavItemWithChildren)[] {
  const nav: (DefaultTheme.NavItemWithLink | DefaultTheme.NavItemWithChildren)[] = mainSidebar(pages, root)
    .filter((g) => g.text !== "Packages" && g.text !== "More")
    .map((g) =>
      g.text === "Operations"
        ? { text: g.text, items: (g.items ?? []).map((i) => ({ text: i.text ?? "", link: i.link ?? "" })) }
        : { text: g.text ?? "", link: g.items?.[0]?.link ?? "" },
    );
  const benchmarks = nav.findIndex((n) => n.text === "Benchmarks");
  nav.splice(benchmarks === -1 ? nav.length : benchmarks, 0, {
    text: "API",
    link: "/api/",
    activeMatch: "^/api/",
  });
  return nav;
}

/** The Chinese sidebar: the translated pages, then the English sections for everything else. */
export function chineseSidebar(
  pages: readonly SitePage[],
  root: string = REPO_ROOT,
): DefaultTheme.SidebarItem[] {
  const translated = pages.filter((p) => p.route.startsWith("zh/") && p.route !== "zh/index.md");
  return [
    { text: "中文文档", items: translated.map((p) => item(p, root)) },
    { text: "English documentation", collapsed: true, items: mainSidebar(pages, root) },
  ];
}

/** The Chinese navigation bar. */
export function chineseNav(pages: readonly SitePage[]): DefaultTheme.NavItem[] {
  const walkthrough = pages.find((p) => p.route === "zh/walkthrough.md");
  return [
    ...(walkthrough ? [{ text: "演练", link: routeLink(walkthrough.route) }] : []),
    { text: "英文文档", link: "/" },
    { text: "API", link: "/api/" },
  ];
}

/**
 * The API reference's sidebars, from the one TypeDoc wrote (`docs/api/typedoc-sidebar.json`): the
 * index lists the entry points, and each entry point's pages show its own members only (the whole
 * tree on every one of some 450 pages would make each page a quarter of a megabyte). Throws when the
 * file is missing: the API reference is generated first (`site/api.ts`), as `pnpm docs:build` does.
 */
export function apiSidebars(apiDir: string = API_DIR): Record<string, DefaultTheme.SidebarItem[]> {
  const file = path.join(apiDir, "typedoc-sidebar.json");
  if (!fs.existsSync(file)) {
    throw new Error(
      `${file} is missing: generate the API reference first (node --conditions=volpop-source site/api.ts, run by pnpm docs:build and pnpm docs)`,
    );
  }
  const modules = JSON.parse(fs.readFileSync(file, "utf8")) as DefaultTheme.SidebarItem[];
  const withModules = (open?: DefaultTheme.SidebarItem): DefaultTheme.SidebarItem[] => [
    {
      text: "API reference",
      link: "/api/",
      items: modules.map((m) =>
        m === open ? { ...m, collapsed: false } : { text: m.text ?? "", link: m.link ?? "" },
      ),
    },
  ];
  return Object.fromEntries([
    ["/api/", withModules()],
    ...modules.map((m) => [m.link ?? "", withModules(m)]),
  ]);
}
