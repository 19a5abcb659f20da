/**
 * The OCI distribution (pull) client: {@link RegistryClient} resolves a reference to one
 * platform's manifest and streams its blobs and layers, verified against their digests.
 */
export {
  type FetchedManifest,
  type OpenBlobOptions,
  pullScope,
  RegistryClient,
  type ResolveOptions,
} from "./client.ts";
export { decompressLayer } from "./decompress.ts";
export { type DigestAlgorithm, Digester, digestOf, type ParsedDigest, parseDigest } from "./digest.ts";
export {
  type CredentialStore,
  credentialsFor,
  DOCKER_HUB,
  normaliseRegistryHost,
  parseDockerConfig,
  type RegistryCredentials,
} from "./docker-config.ts";
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
  UnsupportedDigestError,
  UnsupportedMediaTypeError,
} from "./errors.ts";
export type { Descriptor, ImageConfig, ImageIndex, ImageManifest, ManifestDocument } from "./manifest.ts";
export { parseImageConfig, parseManifest } from "./manifest.ts";
export {
  isImageConfig,
  type LayerCompression,
  layerCompression,
  MANIFEST_ACCEPT,
  type ManifestKind,
  MediaType,
  manifestKind,
} from "./media-types.ts";
export {
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_MANIFEST_BYTES,
  type RegistryClientOptions,
  type RegistryLogFn,
  type RegistryLogLevel,
} from "./options.ts";
export {
  formatPlatform,
  nodePlatform,
  normalisePlatform,
  type Platform,
  parsePlatform,
  rankPlatforms,
} from "./platform.ts";
export {
  type BlobReadOptions,
  PulledImage,
  type PullProgress,
  type RepositoryLocation,
  type ResolvedImageFields,
} from "./pulled-image.ts";
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry.ts";
export type { HttpRequest, HttpResponse, Transport } from "./transport.ts";
export { type AuthChallenge, parseWwwAuthenticate } from "./www-authenticate.ts";
