/**
 * A client for OCI images: parse a reference ({@link parseImageReference}), resolve it to one
 * platform's manifest and stream its blobs and layers verified against their digests
 * ({@link RegistryClient}), and apply the layers to a directory safely ({@link LayerApplier}:
 * whiteouts, scoped symlinks, limits).
 *
 * @module @volpop/oci
 */
export { LayerApplier } from "./layers/applier.ts";
export { entryComponents } from "./layers/entry-name.ts";
export {
  ApplyOptionsError,
  ExtractLimitError,
  type ExtractLimitName,
  LayerError,
  LayerErrorCode,
  MalformedLayerError,
  UnsafeEntryError,
} from "./layers/errors.ts";
export { DEFAULT_LIMITS, type ExtractLimitOverrides, type ExtractLimits } from "./layers/limits.ts";
export { MAX_ID, type Ownership } from "./layers/metadata.ts";
export type { ApplyOptions, ApplyStats, ApplyTotals } from "./layers/options.ts";
export {
  type LayerStream,
  type ReadTarOptions,
  readTarEntries,
  type TarEntries,
  type TarEntry,
} from "./layers/tar-entries.ts";
export { type WhiteoutMarker, whiteoutMarkerOf } from "./layers/whiteout.ts";
export type { XattrWriter } from "./layers/xattrs.ts";
export { type ImageReference, ImageReferenceError, parseImageReference } from "./reference.ts";
export {
  type FetchedManifest,
  type OpenBlobOptions,
  pullScope,
  RegistryClient,
  type ResolveOptions,
} from "./registry/client.ts";
export { decompressLayer } from "./registry/decompress.ts";
export {
  type DigestAlgorithm,
  Digester,
  digestOf,
  type ParsedDigest,
  parseDigest,
} from "./registry/digest.ts";
export {
  type CredentialStore,
  credentialsFor,
  DOCKER_HUB,
  normaliseRegistryHost,
  parseDockerConfig,
  type RegistryCredentials,
} from "./registry/docker-config.ts";
export {
  BlobNotFoundError,
  BlobSizeMismatchError,
  DigestMismatchError,
  LayerDecompressionError,
  ManifestInvalidError,
  ManifestNotFoundError,
  ManifestTooLargeError,
  PlatformNotFoundError,
  RegistryAuthError,
  RegistryConfigError,
  RegistryError,
  RegistryErrorCode,
  RegistryResponseError,
  RegistryTlsError,
  RegistryUnavailableError,
  SOURCE_CA,
  UnsupportedDigestError,
  UnsupportedMediaTypeError,
} from "./registry/errors.ts";
// Lower-level pieces, for tools that speak the distribution API themselves (a pusher, for one):
// registry HTTP with authentication, redirects and retries done, over a replaceable transport.
export { errorDetail, type RegistryCall, RegistryHttp, type RegistryHttpConfig } from "./registry/http.ts";
export type {
  Descriptor,
  ImageConfig,
  ImageIndex,
  ImageManifest,
  ManifestDocument,
} from "./registry/manifest.ts";
export { parseImageConfig, parseManifest } from "./registry/manifest.ts";
export {
  isImageConfig,
  type LayerCompression,
  layerCompression,
  MANIFEST_ACCEPT,
  type ManifestKind,
  MediaType,
  manifestKind,
} from "./registry/media-types.ts";
export {
  type CredentialPolicy,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_MANIFEST_BYTES,
  type RegistryClientOptions,
  type RegistryLogFn,
  type RegistryLogLevel,
} from "./registry/options.ts";
export {
  formatPlatform,
  nodePlatform,
  normalisePlatform,
  type Platform,
  parsePlatform,
  rankPlatforms,
} from "./registry/platform.ts";
export {
  type BlobReadOptions,
  PulledImage,
  type PullProgress,
  type RepositoryLocation,
  type ResolvedImageFields,
} from "./registry/pulled-image.ts";
export { type PushTarget, RegistryPusher } from "./registry/push.ts";
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./registry/retry.ts";
export {
  bodyOf,
  createNodeTransport,
  discardBody,
  type HttpRequest,
  type HttpResponse,
  type NodeTransportOptions,
  type Transport,
} from "./registry/transport.ts";
export { type AuthChallenge, parseWwwAuthenticate } from "./registry/www-authenticate.ts";
