/**
 * The API reference: TypeDoc (with typedoc-plugin-markdown and its VitePress theme) renders every
 * entry point of the published packages as Markdown pages under `docs/api/`, plus the sidebar
 * `docs/api/typedoc-sidebar.json` the site config reads. Generated at build time, never committed:
 * it follows the code on every build, and nothing can drift.
 *
 * Run: `node --conditions=volpop-source site/api.ts` (what `pnpm docs:build` does first).
 */
import fs from "node:fs";
import path from "node:path";
import { Application, type DeclarationReflection, ReflectionKind } from "typedoc";
import { API_DIR, DOCS_DIR, REPO_ROOT } from "./layout.ts";

/** Packages whose entry points the API reference covers, by folder under `packages/`. */
export const API_PACKAGES = ["sdk", "oci"] as const;

/** One entry point: the specifier users import and the source file behind it. */
export interface EntryPoint {
  readonly specifier: string;
  readonly source: string;
}

/**
 * The entry points of a package, read from its `exports` map (the `volpop-source` condition names the
 * TypeScript file), so that a new entry point appears in the reference without anyone listing it.
 */
export function entryPointsOf(packageDir: string): EntryPoint[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(packageDir, "package.json"), "utf8")) as {
    name: string;
    exports?: Record<string, { "volpop-source"?: string }>;
  };
  const entries = Object.entries(manifest.exports ?? {});
  if (entries.length === 0) throw new Error(`${packageDir}/package.json has no "exports" to document`);
  return entries.map(([subpath, conditions]) => {
    const source = conditions["volpop-source"];
    if (source === undefined) {
      throw new Error(`${packageDir}/package.json: export "${subpath}" has no "volpop-source" condition`);
    }
    return {
      specifier: subpath === "." ? manifest.name : `${manifest.name}${subpath.slice(1)}`,
      source: path.join(packageDir, source),
    };
  });
}

/**
 * Modules TypeDoc named differently from their import specifier: each entry file must say
 * `@module <specifier>` in its first comment, or the reference would title it by its file path.
 */
export function misnamedModules(
  entryPoints: readonly EntryPoint[],
  modules: readonly Pick<DeclarationReflection, "name">[],
): string[] {
  const names = new Set(modules.map((m) => m.name));
  return entryPoints
    .filter((e) => !names.has(e.specifier))
    .map(
      (e) =>
        `${path.relative(REPO_ROOT, e.source)}: its first comment must end with "@module ${e.specifier}" (TypeDoc names modules by it)`,
    );
}

/** Renders the API reference into `docs/api/`, replacing what was there. */
export async function generateApiReference(): Promise<{ pages: number }> {
  const entryPoints = API_PACKAGES.flatMap((p) => entryPointsOf(path.join(REPO_ROOT, "packages", p)));
  fs.rmSync(API_DIR, { recursive: true, force: true });
  const app = await Application.bootstrapWithPlugins({
    entryPoints: entryPoints.map((e) => e.source),
    tsconfig: path.join(DOCS_DIR, "tsconfig.api.json"),
    plugin: ["typedoc-plugin-markdown", "typedoc-vitepress-theme"],
    out: API_DIR,
    docsRoot: DOCS_DIR,
    readme: "none",
    name: "API reference",
    // Source links would need the repository's URL and commit; the pages name the declarations.
    disableSources: true,
    excludePrivate: true,
    excludeInternal: true,
    // Re-exports of dependencies' types (prom-client, @kubernetes/client-node) are theirs to document.
    excludeExternals: true,
    treatWarningsAsErrors: false,
    logLevel: "Warn",
    sidebar: { pretty: true, collapsed: true },
  } as Parameters<typeof Application.bootstrapWithPlugins>[0]);
  const project = await app.convert();
  if (project === undefined)
    throw new Error("TypeDoc could not convert the entry points (see its errors above)");
  const problems = misnamedModules(entryPoints, project.getChildrenByKind(ReflectionKind.Module));
  if (problems.length > 0) throw new Error(`API reference:\n${problems.join("\n")}`);
  await app.generateOutputs(project);
  if (app.logger.hasErrors()) throw new Error("TypeDoc reported errors (see above)");
  const pages = fs.readdirSync(API_DIR, { recursive: true }).filter((f) => String(f).endsWith(".md"));
  return { pages: pages.length };
}

if (import.meta.main) {
  const started = Date.now();
  const { pages } = await generateApiReference();
  console.log(
    `API reference: ${pages} pages in ${path.relative(process.cwd(), API_DIR) || "."} (${Date.now() - started} ms)`,
  );
}
