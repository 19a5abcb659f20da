/** A package's image: its program bundled, on the node base, from the package's Containerfile. */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  type BuildahStorage,
  buildah,
  imageLabel,
  localImageBytes,
  platformFlags,
  reproducible,
  step,
} from "./buildah.ts";
import { type Bundle, bundleEntry } from "./bundle.ts";
import {
  type BuiltImage,
  buildNodeBaseImage,
  type NodeBaseImage,
  type NodeBaseOptions,
} from "./node-base.ts";
import { repoRoot } from "./paths.ts";
import { PLATFORMS, type Platform, platformTag } from "./platform.ts";
import { normaliseModes, treeSha256 } from "./tree.ts";

/** What {@link buildPackageImage} builds. */
export interface PackageImageSpec {
  /** Image name under `volpop/`, e.g. `validator` → `volpop/validator:<tag>`. */
  readonly name: string;
  /** The program to bundle, e.g. `packages/validator/src/main.ts` (relative to `root` or absolute). */
  readonly entry: string;
  /**
   * The image's repository, the name before `:<tag>`. Default: `volpop/<name>`. A package outside
   * this repository names its own (see {@link outsidePackage}).
   */
  readonly repository?: string;
  /**
   * The project the package belongs to: relative paths are resolved from it, the bundle is built from
   * it and files are looked for up to it. Default: this repository's root. Any other root is a project
   * outside the repository, bundled from what it installed (no `volpop-source` condition).
   */
  readonly root?: string;
  /** Image tag. Default: the `version` of the package.json nearest to `entry`. */
  readonly tag?: string;
  /** Default: the first `Containerfile` found from `entry`'s folder up to `root`. */
  readonly containerfile?: string;
  /** See {@link BundleOptions.nodePaths}; relative to the repo root or absolute. */
  readonly nodePaths?: readonly string[];
  /** Base image options; the base is built first when missing. */
  readonly base?: Omit<NodeBaseOptions, "storage">;
  /** Labels on top of the Containerfile's (e.g. `org.opencontainers.image.revision`). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Where buildah keeps the image and its base. Default: {@link defaultStorage}. */
  readonly storage?: BuildahStorage;
  /**
   * The platform to build for. Default: linux/amd64. Another's image is tagged `<tag>-<arch>`
   * (`volpop/validator:1.0.0-arm64`); the Containerfiles only copy files and set metadata, so no
   * program of that CPU runs during the build.
   */
  readonly platform?: Platform;
}

/** A package image, with its base and bundle. */
export interface PackageImage extends BuiltImage {
  readonly base: NodeBaseImage;
  readonly bundle: Bundle;
}

/**
 * Builds `volpop/<name>:<tag>` from the package's Containerfile with a build context holding `dist/`
 * (the {@link bundleEntry} of `entry`) on top of {@link buildNodeBaseImage}'s image (passed as the
 * build argument `NODE_BASE`, which the Containerfiles default to a public Node image). Skips the
 * build when the image under that name was made from the same base, build context and labels (label
 * `io.volpop.context-sha256`); removes the image a rebuild replaces, so repeated builds do not pile
 * up in buildah's storage.
 */
export async function buildPackageImage(spec: PackageImageSpec): Promise<PackageImage> {
  const root = spec.root ?? repoRoot;
  const entry = path.resolve(root, spec.entry);
  const tag = spec.tag ?? versionNear(entry, root);
  const target = spec.platform ?? (PLATFORMS[0] as Platform);
  const image = `${imageRepository(spec)}:${platformTag(tag, target)}`;
  const { storage } = spec;
  const base = await buildNodeBaseImage({ ...spec.base, platform: target, ...(storage ? { storage } : {}) });
  const context = fs.mkdtempSync(path.join(os.tmpdir(), "volpop-image-"));
  try {
    const bundle = await writeBuildContext(spec, context);
    const labels = Object.entries(spec.labels ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
    const digest = sha256(`${base.keyTag}\n${treeSha256(context)}\n${JSON.stringify(labels)}`);
    const previous = await imageLabel(image, contextLabel, storage);
    const built = async (cached: boolean): Promise<PackageImage> => ({
      image,
      base,
      bundle,
      cached,
      uncompressedBytes: await localImageBytes(image, storage),
    });
    if (previous?.label === digest) return built(true);
    step(`building image ${image} from ${path.relative(root, entry)} for ${target.name}`);
    await buildah(
      [
        "bud",
        ...reproducible,
        ...platformFlags(target.arch),
        "--build-arg",
        `NODE_BASE=localhost/${base.image}`,
        ...labels.flatMap(([name, value]) => ["--label", `${name}=${value}`]),
        "--label",
        `${contextLabel}=${digest}`,
        "-f",
        path.join(context, "Containerfile"),
        "-t",
        image,
        context,
      ],
      storage,
    );
    // The image the tag named before is left nameless: remove it (buildah refuses if anything still uses it).
    if (previous !== undefined) await buildah(["rmi", previous.id], storage).catch(() => undefined);
    return built(false);
  } finally {
    fs.rmSync(context, { recursive: true, force: true });
  }
}

/**
 * Writes a package image's build context into `dir`: its Containerfile and `dist/` (the
 * {@link bundleEntry} of its entry). `buildah bud`/`docker build` of that folder with no build
 * arguments makes the image on the Containerfile's public Node base.
 */
export async function writeBuildContext(
  spec: Pick<PackageImageSpec, "entry" | "containerfile" | "nodePaths" | "root">,
  dir: string,
): Promise<Bundle> {
  const root = spec.root ?? repoRoot;
  const entry = path.resolve(root, spec.entry);
  const containerfile = spec.containerfile
    ? path.resolve(root, spec.containerfile)
    : findUp(path.dirname(entry), "Containerfile", root);
  fs.mkdirSync(dir, { recursive: true });
  const bundle = await bundleEntry(entry, path.join(dir, "dist"), {
    root,
    sources: root === repoRoot,
    ...(spec.nodePaths ? { nodePaths: spec.nodePaths.map((p) => path.resolve(root, p)) } : {}),
  });
  fs.copyFileSync(containerfile, path.join(dir, "Containerfile"));
  normaliseModes(dir);
  return bundle;
}

/** Label on package images: what they were built from (base key, build context, labels), to skip identical rebuilds. */
const contextLabel = "io.volpop.context-sha256";

function sha256(data: string): string {
  return createHash("sha256").update(data).digest("hex");
}

function findUp(from: string, name: string, root: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, name);
    if (fs.existsSync(candidate)) return candidate;
    if (dir === root || dir === path.dirname(dir))
      throw new Error(`no ${name} in ${from} or its parents up to ${root}`);
  }
}

/** The image's repository: its own, or `volpop/<name>` for this repository's images. */
export function imageRepository(spec: Pick<PackageImageSpec, "name" | "repository">): string {
  return spec.repository ?? `volpop/${spec.name}`;
}

/** The `version` of the package.json nearest to `entry` (looked for up to `root`). */
export function versionNear(entry: string, root: string = repoRoot): string {
  const manifest = findUp(path.dirname(path.resolve(root, entry)), "package.json", root);
  const { version } = JSON.parse(fs.readFileSync(manifest, "utf8")) as { version?: string };
  if (!version) throw new Error(`${manifest} has no version to tag the image with; pass a tag`);
  return version;
}
