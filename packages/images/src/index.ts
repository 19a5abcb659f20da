/**
 * volpop's container images, as a product: the validator and every populator, built with buildah
 * from a Node base assembled on the build machine (or any Node 24 image), reproducibly, and pushed
 * to any OCI registry. The command is `pnpm images build|push` (src/cli.ts); the embedded cluster,
 * the e2e tiers and the benches call the same functions. This entry needs only Node and tsup, so
 * the cluster tooling runs it with plain `node`; `@volpop/images/release` adds labels, SBOMs and
 * their attachment (it needs @volpop/oci).
 */
export {
  type BuildahStorage,
  buildah,
  defaultStorage,
  imageExists,
  imageLabel,
  localImageBytes,
  localLayers,
  manifestLayerBytes,
  reproducible,
} from "./buildah.ts";
export {
  type Bundle,
  type BundleOptions,
  bundleBanner,
  bundleEntry,
  pinoPackageDirs,
  pinoWorkerFiles,
} from "./bundle.ts";
export {
  manifestImage,
  OUTSIDE_PACKAGE_ENTRY,
  outsidePackage,
  type ProductImage,
  productImage,
  productImages,
} from "./catalog.ts";
export { type ElfDependencies, ElfFormatError, elfDependencies } from "./elf.ts";
export { CommandError, type RunOptions, type RunResult, run } from "./exec.ts";
export {
  type BuiltImage,
  buildNodeBaseImage,
  type HostFs,
  type LddResult,
  MissingLibraryError,
  NODE_BASE_IMAGE,
  NODE_VERSION,
  NONROOT_UID,
  type NodeBaseImage,
  type NodeBaseInputs,
  type NodeBaseOptions,
  nodeBaseCacheKey,
  nodeBaseImageName,
  parseDpkgSearch,
  parseLdd,
  type RootfsEntry,
  RootfsPlanError,
  rootfsPlan,
  type SharedLibrary,
} from "./node-base.ts";
export {
  buildPackageImage,
  imageRepository,
  type PackageImage,
  type PackageImageSpec,
  versionNear,
  writeBuildContext,
} from "./package-image.ts";
export {
  aptCandidate,
  debFileName,
  downloadDeb,
  ensureForeignArchitecture,
  ensureProgram,
  hostPlatform,
  isNative,
  PLATFORMS,
  type Platform,
  parseAptCandidate,
  parsePlatforms,
  platform,
  platformTag,
  runEmulated,
  stripProgram,
  UnsupportedPlatformError,
} from "./platform.ts";
export {
  type PushedImage,
  parseReference,
  publishPackageImage,
  publishProductImage,
  pushImage,
  registryImageBytes,
} from "./registry.ts";
export { normaliseModes, treeSha256 } from "./tree.ts";
