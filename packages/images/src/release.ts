/**
 * A release of the product images: each built with its OCI labels and SBOM ({@link buildRelease}),
 * then pushed with the SBOM attached ({@link pushRelease}); sizes per image and for the set, the
 * shared base layer counted once ({@link sizeReport}). The `@volpop/images/release` entry: with the
 * SBOM and referrer pieces it uses.
 */
import type { RegistryCredentials } from "@volpop/oci";
import { type BuildahStorage, buildah, localLayers } from "./buildah.ts";
import { type ProductImage, productImage, productImages } from "./catalog.ts";
import { run } from "./exec.ts";
import { buildPackageImage, imageRepository, type PackageImage, versionNear } from "./package-image.ts";
import { repoRoot } from "./paths.ts";
import { PLATFORMS, type Platform } from "./platform.ts";
import { withPrivateScratch } from "./private-scratch.ts";
import { attachArtifact, checkPushAccess, isLoopback, pusherFor } from "./referrers.ts";
import { buildahPush, parseReference, pushImage } from "./registry.ts";
import { type ResolvedAuth, resolveRegistryAuth, writeAuthFile } from "./registry-auth.ts";
import { bundledPackages, CYCLONEDX_MEDIA_TYPE, cycloneDx, debianRelease } from "./sbom.ts";

export {
  type AttachedArtifact,
  type AttachOptions,
  artifactManifest,
  attachArtifact,
  checkPushAccess,
  type Descriptor,
  referrersTag,
  withReferrer,
} from "./referrers.ts";
export {
  authFilePaths,
  type CredentialHelperRunner,
  RegistryAuthError,
  type ResolvedAuth,
  resolveRegistryAuth,
} from "./registry-auth.ts";
export {
  type BundledPackage,
  bundledPackages,
  CYCLONEDX_MEDIA_TYPE,
  cycloneDx,
  debianRelease,
  debPurl,
  npmPurl,
  type SbomSubject,
} from "./sbom.ts";

/** The platforms images are built for (`--platform`), the default first. */
export const SUPPORTED_PLATFORMS: readonly string[] = PLATFORMS.map((p) => p.name);

/** What {@link buildRelease} builds. */
export interface ReleaseOptions {
  /** Image names (see {@link productImages}). Default: all. */
  readonly images?: readonly string[];
  /** The images to build instead of volpop's own, e.g. a package's outside this repository (catalog.ts, `outsidePackage`). */
  readonly products?: readonly ProductImage[];
  /** Tag of every image. Default: each package's version. */
  readonly tag?: string;
  /** `org.opencontainers.image.source`: where the sources are, e.g. the repository's URL. Unset: no label. */
  readonly source?: string;
  /** `org.opencontainers.image.revision`. Default: the commit checked out (`git rev-parse HEAD`), if any. */
  readonly revision?: string;
  readonly storage?: BuildahStorage;
  /**
   * The platforms to build each image for. Default: linux/amd64 alone. With several, each image is
   * also an OCI image index listing them (see {@link ReleasedImage.index}).
   */
  readonly platforms?: readonly Platform[];
}

/** One platform's image of a release, built. */
export interface PlatformImage {
  readonly platform: Platform;
  readonly built: PackageImage;
  /** Its CycloneDX SBOM (JSON text): its node package and Debian packages are that platform's. */
  readonly sbom: string;
  /** Its layers in storage (uncompressed): the base's first. */
  readonly layers: ReadonlyArray<{ readonly digest: string; readonly size: number }>;
}

/** One image of a release, built for each platform asked. */
export interface ReleasedImage {
  readonly product: ProductImage;
  readonly tag: string;
  /** One per platform, in the order asked. */
  readonly platforms: readonly PlatformImage[];
  /**
   * With several platforms: the manifest list in buildah's storage that lists them,
   * `<repository>:<tag>-index`, pushed as an OCI image index under `<tag>`.
   */
  readonly index?: string;
}

/** Builds the images (cached where nothing changed) with their labels and SBOMs, for each platform. */
export async function buildRelease(options: ReleaseOptions = {}): Promise<ReleasedImage[]> {
  const products = options.products ?? options.images?.map(productImage) ?? productImages;
  const platforms = options.platforms ?? [PLATFORMS[0] as Platform];
  if (platforms.length === 0) throw new Error("no platform to build for");
  const distro = debianRelease();
  const released: ReleasedImage[] = [];
  for (const product of products) {
    const root = product.root ?? repoRoot;
    const revision = options.revision ?? (await gitRevision(root));
    const tag = options.tag ?? versionNear(product.entry, root);
    const images: PlatformImage[] = [];
    for (const platform of platforms) {
      const built = await buildPackageImage({
        ...product,
        tag,
        platform,
        labels: {
          "org.opencontainers.image.version": tag,
          ...(revision === undefined ? {} : { "org.opencontainers.image.revision": revision }),
          ...(options.source === undefined ? {} : { "org.opencontainers.image.source": options.source }),
        },
        ...(options.storage ? { storage: options.storage } : {}),
      });
      const sbom = cycloneDx({
        image: imageRepository(product),
        version: tag,
        packages: bundledPackages(built.bundle.inputs, root),
        base: built.base.inputs,
        nodePackage: platform.nodePackage,
        distro,
      });
      images.push({ platform, built, sbom, layers: await localLayers(built.image, options.storage) });
    }
    const index =
      images.length > 1
        ? await manifestList(
            `${imageRepository(product)}:${tag}-index`,
            images.map((i) => i.built.image),
            options.storage,
          )
        : undefined;
    released.push({ product, tag, platforms: images, ...(index === undefined ? {} : { index }) });
  }
  return released;
}

/**
 * (Re)creates the manifest list `name` in buildah's storage with `images` in this order: the same
 * images give the same list, and the same index once pushed.
 */
async function manifestList(
  name: string,
  images: readonly string[],
  storage: BuildahStorage | undefined,
): Promise<string> {
  await buildah(["manifest", "rm", name], storage).catch(() => undefined);
  await buildah(["manifest", "create", name], storage);
  for (const image of images)
    await buildah(["manifest", "add", name, `containers-storage:localhost/${image}`], storage);
  return name;
}

/** One platform's image, pushed. */
export interface PushedPlatformImage {
  /** e.g. `linux/arm64` */
  readonly platform: string;
  /** The image manifest's digest. */
  readonly digest: string;
  /** The SBOM artifact's digest, and how registries find it. */
  readonly sbom: { readonly digest: string; readonly via: "referrers-api" | "fallback-tag" };
}

/** One image of a release, pushed. */
export interface PushedRelease {
  /** `<registry>/<repository>:<tag>` (`<registry>/volpop/<name>:<tag>` for volpop's own) */
  readonly reference: string;
  /** What `<tag>` names: the image manifest's digest (one platform) or the image index's (several). */
  readonly digest: string;
  /** Whether `<tag>` names an image index. */
  readonly isIndex: boolean;
  /** Each platform's image, with its SBOM attached to it. */
  readonly platforms: readonly PushedPlatformImage[];
}

/**
 * Pushes each image to `<registry>/<repository>:<tag>` (`<registry>/volpop/<name>:<tag>` for
 * volpop's own) and attaches its SBOM. `registry` is a host,
 * optionally with a path (`registry.example.com/acme`); localhost and 127.0.0.1 are spoken to over plain HTTP.
 * The login is resolved once ({@link resolveRegistryAuth}, unless `auth` is given) and used for
 * every image and SBOM, and write access to every repository is proven before the first push.
 */
export async function pushRelease(
  images: readonly ReleasedImage[],
  options: { readonly registry: string; readonly storage?: BuildahStorage; readonly auth?: ResolvedAuth },
): Promise<PushedRelease[]> {
  const references = images.map(
    (image) => `${options.registry}/${imageRepository(image.product)}:${image.tag}`,
  );
  const parsed = references.map((reference) => parseReference(reference));
  const host = parsed[0]?.registry;
  if (host === undefined) return [];
  const auth = options.auth ?? (await resolveRegistryAuth(host));
  await checkPushAccess(
    host,
    parsed.map((p) => p.repository),
    auth,
    CYCLONEDX_MEDIA_TYPE,
  );
  // The auth file holds the login: private, and removed however the push ends, Ctrl-C included.
  return withPrivateScratch("volpop-release-", async (scratch) => {
    const authFile = writeAuthFile(scratch, auth);
    const pushed: PushedRelease[] = [];
    for (const [i, image] of images.entries()) {
      pushed.push(
        await pushOne(image, references[i] as string, { host, auth, authFile, storage: options.storage }),
      );
    }
    return pushed;
  });
}

async function pushOne(
  image: ReleasedImage,
  reference: string,
  context: {
    readonly host: string;
    readonly auth: ResolvedAuth;
    readonly authFile: string;
    readonly storage: BuildahStorage | undefined;
  },
): Promise<PushedRelease> {
  const { host, auth, authFile, storage } = context;
  const { repository } = parseReference(reference);
  const attach = (subjectDigest: string, sbom: string) =>
    attachArtifact({
      registry: host,
      repository,
      subjectDigest,
      artifactType: CYCLONEDX_MEDIA_TYPE,
      blob: { bytes: Buffer.from(sbom), title: "sbom.cdx.json" },
      insecure: isLoopback(host),
      ...(auth.credentials === undefined ? {} : { credentials: auth.credentials }),
    });
  const [single] = image.platforms;
  if (image.index === undefined && single !== undefined && image.platforms.length === 1) {
    const { digest } = await pushImage(single.built.image, reference, {
      authFile,
      ...(storage ? { storage } : {}),
    });
    const sbom = await attach(digest, single.sbom);
    return {
      reference,
      digest,
      isIndex: false,
      platforms: [{ platform: single.platform.name, digest, sbom }],
    };
  }
  if (image.index === undefined) throw new Error(`${reference}: several platforms and no manifest list`);
  const digest = await buildahPush(
    ["manifest", "push", "--all", "--format", "oci"],
    image.index,
    reference,
    storage,
    authFile,
  );
  const manifests = await indexManifests(host, repository, digest, auth);
  const platforms: PushedPlatformImage[] = [];
  for (const { platform, sbom } of image.platforms) {
    const listed = manifests.find((m) => `${m.platform?.os}/${m.platform?.architecture}` === platform.name);
    if (listed === undefined) throw new Error(`${reference}@${digest} lists no ${platform.name} image`);
    platforms.push({
      platform: platform.name,
      digest: listed.digest,
      sbom: await attach(listed.digest, sbom),
    });
  }
  return { reference, digest, isIndex: true, platforms };
}

/** An image index's entries, as the registry serves it. */
export async function indexManifests(
  registry: string,
  repository: string,
  digest: string,
  auth: { readonly credentials?: RegistryCredentials } = {},
): Promise<Array<{ digest: string; platform?: { os?: string; architecture?: string; variant?: string } }>> {
  const pusher = pusherFor(registry, auth.credentials);
  try {
    const index = await pusher.getManifest(repository, digest, ["application/vnd.oci.image.index.v1+json"]);
    if (index === undefined) throw new Error(`${registry}/${repository}@${digest}: no such index`);
    const parsed = JSON.parse(Buffer.from(index.bytes).toString("utf8")) as {
      manifests?: Array<{ digest: string; platform?: { os?: string; architecture?: string } }>;
    };
    return parsed.manifests ?? [];
  } finally {
    pusher.close();
  }
}

/** Sizes of a set of images: each alone, and the set with every layer counted once. */
export interface SizeReport {
  readonly rows: ReadonlyArray<{ readonly image: string; readonly bytes: number; readonly ownBytes: number }>;
  /** What a node holding every image stores: the shared base layer once. */
  readonly setBytes: number;
}

/**
 * Per image: all its layers, and those no other image of the set shares (its own part); for the set:
 * each distinct layer once.
 */
export function sizeReport(
  images: ReadonlyArray<{
    readonly image: string;
    readonly layers: ReadonlyArray<{ digest: string; size: number }>;
  }>,
): SizeReport {
  const users = new Map<string, number>();
  const sizes = new Map<string, number>();
  for (const { layers } of images)
    for (const layer of new Map(layers.map((l) => [l.digest, l])).values()) {
      users.set(layer.digest, (users.get(layer.digest) ?? 0) + 1);
      sizes.set(layer.digest, layer.size);
    }
  return {
    rows: images.map(({ image, layers }) => ({
      image,
      bytes: layers.reduce((sum, l) => sum + l.size, 0),
      ownBytes: layers.filter((l) => users.get(l.digest) === 1).reduce((sum, l) => sum + l.size, 0),
    })),
    setBytes: [...sizes.values()].reduce((sum, size) => sum + size, 0),
  };
}

/** `sizeReport` as a table for people, sizes in MB. */
export function formatSizeReport(report: SizeReport): string {
  const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
  const width = Math.max(...report.rows.map((r) => r.image.length), "the set (shared layers once)".length);
  return [
    `${"image".padEnd(width)}  ${"uncompressed".padStart(12)}  ${"its own layers".padStart(14)}`,
    ...report.rows.map(
      (r) => `${r.image.padEnd(width)}  ${mb(r.bytes).padStart(12)}  ${mb(r.ownBytes).padStart(14)}`,
    ),
    `${"the set (shared layers once)".padEnd(width)}  ${mb(report.setBytes).padStart(12)}`,
    "",
  ].join("\n");
}

async function gitRevision(root: string): Promise<string | undefined> {
  const { ok, stdout } = await run("git", ["-C", root, "rev-parse", "HEAD"], {
    allowFailure: true,
  }).catch(() => ({ ok: false, stdout: "" }));
  return ok ? stdout.trim() : undefined;
}
