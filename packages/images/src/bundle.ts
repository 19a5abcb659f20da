/**
 * A program and everything it imports in a few self-contained ESM files (tsup/esbuild), so that an
 * image needs no node_modules.
 */
import fs from "node:fs";
import path from "node:path";
import { build as tsupBuild } from "tsup";
import { repoRoot } from "./paths.ts";

/**
 * pino starts transports (`pino.transport()`) in worker threads from files it finds next to its own
 * sources, which a bundle does not have. As esbuild-plugin-pino does, those files are bundled on their
 * own beside `main.js` (names here → pino's keys), and pino learns where through
 * `globalThis.__bundlerPathsOverrides`.
 */
export const pinoWorkerFiles: Readonly<
  Record<string, { readonly key: string; readonly package: "pino" | "thread-stream"; readonly file: string }>
> = {
  "thread-stream-worker": { key: "thread-stream-worker", package: "thread-stream", file: "lib/worker.js" },
  "pino-worker": { key: "pino-worker", package: "pino", file: "lib/worker.js" },
  "pino-file": { key: "pino/file", package: "pino", file: "file.js" },
};

/**
 * The top of every bundled file:
 * - esbuild's ESM output turns CommonJS `require()` of Node built-ins into a helper that needs a
 *   `require`; it is set on `globalThis` rather than declared, so that a bundled module declaring its
 *   own top-level `require` cannot clash with it (`__dirname`/`__filename` come from tsup's shims);
 * - pino's worker files, for those that are there (bundles without pino have none).
 * Every name it uses is imported under a `__volpop` name: the banner runs in each chunk's own module
 * scope, where a bundled library may declare a top-level `URL` (@peculiar/x509 does, and `new URL`
 * then threw "URL is not a constructor" in the validator's webhook).
 */
export const bundleBanner = [
  'import { createRequire as __volpopCreateRequire } from "node:module";',
  'import { existsSync as __volpopExists } from "node:fs";',
  'import { fileURLToPath as __volpopFileURLToPath, URL as __volpopURL } from "node:url";',
  "globalThis.require ??= __volpopCreateRequire(import.meta.url);",
  `for (const [key, file] of ${JSON.stringify(Object.entries(pinoWorkerFiles).map(([name, { key }]) => [key, `./${name}.js`]))}) {`,
  "  const found = __volpopFileURLToPath(new __volpopURL(file, import.meta.url));",
  "  if (__volpopExists(found)) (globalThis.__bundlerPathsOverrides ??= {})[key] = found;",
  "}",
].join("\n");

/** Where the bundle's copies of pino and thread-stream came from, from esbuild's metafile inputs. */
export function pinoPackageDirs(
  inputs: readonly string[],
): { pino: string; threadStream: string } | undefined {
  const find = (name: string, main: string) =>
    inputs.find((input) => input.endsWith(`node_modules/${name}/${main}`))?.slice(0, -main.length - 1);
  const pino = find("pino", "pino.js");
  const threadStream = find("thread-stream", "index.js");
  return pino !== undefined && threadStream !== undefined ? { pino, threadStream } : undefined;
}

/** Options for {@link bundleEntry}. */
export interface BundleOptions {
  /**
   * Extra folders to look for packages in when the entry's own `node_modules` chain lacks them
   * (esbuild's `nodePaths`): for an entry that is not in a workspace package, like images/smoke.
   */
  readonly nodePaths?: readonly string[];
  /** Minify whitespace and syntax (identifiers stay, so stack traces stay readable). Default: true. */
  readonly minify?: boolean;
  /**
   * The folder esbuild works from, which names CommonJS modules in the output by their path from it:
   * the root of the project, so that they read the same in every clone. Default: this repository's.
   */
  readonly root?: string;
  /**
   * Whether packages resolve through their `volpop-source` export condition (this repository's
   * packages, to their TypeScript sources). Default: true. Off for a project outside the repository:
   * the published packages name that condition but ship no sources.
   */
  readonly sources?: boolean;
}

/** What {@link bundleEntry} wrote. */
export interface Bundle {
  /**
   * `main.js` and the chunks it imports (dynamic imports get their own, loaded only when used), plus
   * pino's worker files when pino is in the bundle, plus a package.json `{"type":"module"}`.
   */
  readonly files: readonly string[];
  /** Their total size. */
  readonly bytes: number;
  /** Whether pino's transport workers were bundled beside `main.js`. */
  readonly pinoWorkers: boolean;
  /** Every source file esbuild put in the bundle, absolute (from its metafile): what the SBOM lists. */
  readonly inputs: readonly string[];
}

/**
 * Bundles `entry` (e.g. `packages/validator/src/main.ts`) and everything it imports into
 * `outDir/main.js` and its chunks: ESM for Node 24 with every dependency inlined, so the image needs no
 * node_modules. Workspace packages resolve to their sources (the `volpop-source` condition), so
 * nothing needs building first; a project outside the repository bundles what it installed.
 */
export async function bundleEntry(
  entry: string,
  outDir: string,
  options: BundleOptions = {},
): Promise<Bundle> {
  const absoluteEntry = path.resolve(entry);
  if (!fs.existsSync(absoluteEntry)) throw new Error(`no such entry: ${absoluteEntry}`);
  const metafile = path.join(outDir, "metafile-esm.json");
  const root = options.root ?? repoRoot;
  const once = async (entries: Record<string, string>, clean: boolean) => {
    await tsupBuild({
      entry: entries,
      outDir,
      format: "esm",
      platform: "node",
      target: "node24",
      outExtension: () => ({ js: ".js" }),
      bundle: true,
      // Chunks: what a program imports dynamically (the SDK's controller mode) is only loaded when used.
      splitting: true,
      noExternal: [/.*/],
      shims: true,
      removeNodeProtocol: false,
      minifyWhitespace: options.minify ?? true,
      minifySyntax: options.minify ?? true,
      sourcemap: false,
      dts: false,
      clean,
      config: false,
      silent: true,
      metafile: true,
      banner: { js: bundleBanner },
      esbuildOptions(esbuild) {
        // esbuild names CommonJS modules in the output by their path from here: from the repository's
        // root they read the same in every clone, wherever it is and whichever folder runs the build.
        esbuild.absWorkingDir = root;
        esbuild.conditions = options.sources === false ? ["module"] : ["volpop-source", "module"];
        if (options.nodePaths) esbuild.nodePaths = options.nodePaths.map((p) => path.resolve(p));
      },
    });
    const { inputs } = JSON.parse(fs.readFileSync(metafile, "utf8")) as { inputs: Record<string, unknown> };
    fs.rmSync(metafile);
    return Object.keys(inputs).map((input) => path.resolve(root, input));
  };

  const inputs = await once({ main: absoluteEntry }, true);
  const pino = pinoPackageDirs(inputs);
  if (pino !== undefined) {
    const workers = Object.entries(pinoWorkerFiles).map(([name, { package: pkg, file }]) => [
      name,
      path.join(pkg === "pino" ? pino.pino : pino.threadStream, file),
    ]);
    inputs.push(...(await once(Object.fromEntries(workers), false)));
  }
  fs.writeFileSync(path.join(outDir, "package.json"), '{ "type": "module" }\n');
  const files = fs.readdirSync(outDir).sort();
  const bytes = files.reduce((sum, f) => sum + fs.statSync(path.join(outDir, f)).size, 0);
  return { files, bytes, pinoWorkers: pino !== undefined, inputs: [...new Set(inputs)].sort() };
}
