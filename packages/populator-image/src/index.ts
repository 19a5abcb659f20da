export {
  checkImageSourceSpec,
  DEFAULT_CA_KEY,
  IMAGE_SOURCE_GROUP,
  IMAGE_SOURCE_KIND,
  IMAGE_SOURCE_PLURAL,
  IMAGE_SOURCE_VERSION,
  type ImageSourceSpec,
  MAX_IMAGE_PATH_BYTES,
  MAX_INSECURE_REGISTRIES,
  MAX_MODE,
  MAX_PULL_SECRETS,
} from "./image-source.ts";
export { LayerApplier } from "./layers/applier.ts";
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
export type { Ownership } from "./layers/metadata.ts";
export type { ApplyOptions, ApplyStats, ApplyTotals } from "./layers/options.ts";
export type { LayerStream } from "./layers/tar-entries.ts";
export type { XattrWriter } from "./layers/xattrs.ts";
export { CA_BUNDLE_DIR, IMAGE_SOURCE_ENV, PULL_SECRETS_DIR, pullSecretDir } from "./pod-layout.ts";
export { ImagePopulateError, PopulateError, PopulateErrorCode } from "./populate/errors.ts";
export {
  type ImagePopulateContext,
  type PopulateImageOptions,
  type PopulateImageResult,
  populateImage,
} from "./populate.ts";
export {
  DEFAULT_IMAGE,
  DEFAULT_RESOURCES,
  type ImagePopulatorOptions,
  imagePopulator,
  type ResourceRequirements,
} from "./populator.ts";
export { type ImageReference, ImageReferenceError, parseImageReference } from "./reference.ts";
export {
  BlobNotFoundError,
  type BlobReadOptions,
  BlobSizeMismatchError,
  type CredentialStore,
  credentialsFor,
  DEFAULT_RETRY_POLICY,
  type Descriptor,
  DigestMismatchError,
  digestOf,
  type FetchedManifest,
  formatPlatform,
  type HttpRequest,
  type HttpResponse,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  LayerDecompressionError,
  layerCompression,
  MANIFEST_ACCEPT,
  ManifestInvalidError,
  ManifestNotFoundError,
  ManifestTooLargeError,
  MediaType,
  nodePlatform,
  normaliseRegistryHost,
  type OpenBlobOptions,
  type Platform,
  PlatformNotFoundError,
  PulledImage,
  type PullProgress,
  parseDockerConfig,
  parsePlatform,
  RegistryAuthError,
  RegistryClient,
  type RegistryClientOptions,
  RegistryConfigError,
  type RegistryCredentials,
  RegistryError,
  RegistryErrorCode,
  type RegistryLogFn,
  type RegistryLogLevel,
  RegistryResponseError,
  RegistryTlsError,
  RegistryUnavailableError,
  type RepositoryLocation,
  type ResolveOptions,
  type RetryPolicy,
  type Transport,
  UnsupportedDigestError,
  UnsupportedMediaTypeError,
} from "./registry/index.ts";
