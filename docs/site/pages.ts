/**
 * Which Markdown files the site shows and at which route: every page under `docs/` (so a new one
 * appears without anyone listing it), translations (`name.zh.md` → `zh/name.md`, the Chinese
 * locale), and the READMEs outside `docs/` that belong on the site (packages, Helm charts,
 * benchmarks). The config, the dynamic routes and the link rewriter all read this one table.
 */
import fs from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "./layout.ts";

/** One page: where its Markdown is in the repository, and where the site builds it. */
export interface SitePage {
  /** Repo-relative path of the Markdown source, e.g. `docs/walkthrough.zh.md`. */
  readonly source: string;
  /** The page's path under `docs/` as VitePress routes it, e.g. `zh/walkthrough.md`. */
  readonly route: string;
}

/** Locales besides English, by the suffix their pages carry: `walkthrough.zh.md` is `zh/walkthrough.md`. */
export const TRANSLATIONS = ["zh"] as const;

// Folders under docs/ that hold no pages: dependencies, build output, the site's own code.
const NOT_PAGES = new Set(["node_modules", "build", "site", ".vitepress"]);

/** The route of a page under `docs/`, given its path relative to `docs/`. */
export function docsRoute(relative: string): string {
  const translated = /^(.*)\.([a-z]{2})\.md$/.exec(relative);
  const locale = translated?.[2];
  if (translated && (TRANSLATIONS as readonly string[]).includes(locale ?? "")) {
    return `${locale}/${translated[1]}.md`;
  }
  return relative;
}

/** Every Markdown page under `docs/`, except dynamic-route templates (`[name].md`). */
export function docsPages(root: string = REPO_ROOT): SitePage[] {
  const docs = path.join(root, "docs");
  const pages: SitePage[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(path.join(docs, dir), { withFileTypes: true })) {
      const relative = dir === "" ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!NOT_PAGES.has(entry.name)) walk(relative);
      } else if (entry.name.endsWith(".md") && !entry.name.startsWith("[")) {
        pages.push({ source: `docs/${relative}`, route: docsRoute(relative) });
      }
    }
  };
  walk("");
  return pages.sort((a, b) => a.route.localeCompare(b.route));
}

/**
 * The READMEs outside `docs/` the site shows, those that exist: each package's at `packages/<name>`
 * (template `docs/packages/[package].md`), the charts' and the benchmarks' at `charts` and `bench`
 * (template `docs/[readme].md`).
 */
export function readmePages(root: string = REPO_ROOT): SitePage[] {
  const packages = fs
    .readdirSync(path.join(root, "packages"), { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(root, "packages", e.name, "README.md")))
    .map((e) => ({ source: `packages/${e.name}/README.md`, route: `packages/${e.name}.md` }))
    .sort((a, b) => a.route.localeCompare(b.route));
  const folders = ["charts", "bench"]
    .filter((folder) => fs.existsSync(path.join(root, folder, "README.md")))
    .map((folder) => ({ source: `${folder}/README.md`, route: `${folder}.md` }));
  return [...packages, ...folders];
}

/** Every page of the site. */
export function sitePages(root: string = REPO_ROOT): SitePage[] {
  return [...docsPages(root), ...readmePages(root)];
}

/** VitePress `rewrites` for the pages under `docs/` whose route is not their path (translations). */
export function rewrites(pages: readonly SitePage[]): Record<string, string> {
  return Object.fromEntries(
    pages
      .filter((p) => p.source.startsWith("docs/") && p.source !== `docs/${p.route}`)
      .map((p) => [p.source.slice("docs/".length), p.route]),
  );
}

/** The page's title: its first `# ` heading without Markdown marks, or its file name. */
export function pageTitle(markdown: string, fallback: string): string {
  const heading = /^#\s+(.+?)\s*#*\s*$/m.exec(markdown.replace(/^---\n[\s\S]*?\n---\n/, ""))?.[1];
  return heading ? heading.replace(/[`*_]/g, "") : fallback;
}

/** A page's title read from its source. */
export function titleOf(page: SitePage, root: string = REPO_ROOT): string {
  return pageTitle(fs.readFileSync(path.join(root, page.source), "utf8"), path.basename(page.route, ".md"));
}

/** The site link of a route: `zh/walkthrough.md` → `/zh/walkthrough`, `zh/index.md` → `/zh/`. */
export function routeLink(route: string): string {
  return `/${route.replace(/(^|\/)index\.md$/, "$1").replace(/\.md$/, "")}`;
}
