/**
 * The dynamic routes that show READMEs outside `docs/` as pages: each route's params and its Markdown
 * (VitePress renders it in place of the template's `<!-- @content -->`). Links in it are relative to
 * the README and are made right by `links.ts`, which knows each page's source.
 */
import fs from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "./layout.ts";
import { readmePages } from "./pages.ts";

/** A route of a `[param].paths.ts` loader. */
export interface ReadmeRoute {
  readonly params: Record<string, string>;
  readonly content: string;
}

/**
 * The routes of the template at `templateDir` (relative to `docs/`, `""` for the root) whose one
 * parameter is `param`: the README pages routed there.
 */
export function readmeRoutes(templateDir: string, param: string, root: string = REPO_ROOT): ReadmeRoute[] {
  return readmePages(root)
    .filter((page) => path.posix.dirname(page.route) === (templateDir === "" ? "." : templateDir))
    .map((page) => ({
      params: { [param]: path.posix.basename(page.route, ".md") },
      content: fs.readFileSync(path.join(root, page.source), "utf8"),
    }));
}
