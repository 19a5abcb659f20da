/**
 * What can go wrong talking to a registry. Every class carries a stable `code` (branch on it, never
 * on `message`) and the underlying failure as `cause`. Messages name the registry and the
 * reference, because they end up in a PVC's events, read by someone who did not write the code.
 * They are `VolpopError`s, so the SDK's normaliser keeps their `code` as it is.
 */
import { VolpopError } from "@volpop/sdk";

/** The `code` of each registry error class. */
export const RegistryErrorCode = {
  Auth: "REGISTRY_AUTH",
  ManifestNotFound: "MANIFEST_NOT_FOUND",
  BlobNotFound: "BLOB_NOT_FOUND",
  UnsupportedMediaType: "UNSUPPORTED_MEDIA_TYPE",
  LayerDecompression: "LAYER_DECOMPRESSION",
  UnsupportedDigest: "UNSUPPORTED_DIGEST",
  DigestMismatch: "DIGEST_MISMATCH",
  SizeMismatch: "BLOB_SIZE_MISMATCH",
  ManifestTooLarge: "MANIFEST_TOO_LARGE",
  ManifestInvalid: "MANIFEST_INVALID",
  PlatformNotFound: "PLATFORM_NOT_FOUND",
  Unavailable: "REGISTRY_UNAVAILABLE",
  Tls: "REGISTRY_TLS",
  Response: "REGISTRY_RESPONSE",
  Config: "REGISTRY_CONFIG",
} as const;

/** Base of every error this module throws. */
export class RegistryError extends VolpopError {
  override name = "RegistryError";

  /** `code` is one of {@link RegistryErrorCode}. */
  constructor(code: string, message: string, options: ErrorOptions = {}) {
    super(code, message, options);
  }
}

/** The registry (or its token server) refused our credentials, or we had none and it wants some. */
export class RegistryAuthError extends RegistryError {
  override name = "RegistryAuthError";
  /** Registry host, as in the image reference (`docker.io`, `registry.example.com:5000`). */
  readonly registry: string;
  /** The access asked for, e.g. `repository:library/busybox:pull`; undefined for Basic auth. */
  readonly scope: string | undefined;
  /** HTTP status that ended the attempt (401 or 403). */
  readonly status: number;
  /**
   * Why the credentials were not sent, when there were some and the credential policy kept them back
   * (see `CredentialPolicy`), e.g. `it is reached over plain HTTP`.
   */
  readonly withheld: string | undefined;

  constructor(
    registry: string,
    scope: string | undefined,
    status: number,
    detail: string,
    options: ErrorOptions & { readonly withheld?: string | undefined } = {},
  ) {
    const what = scope === undefined ? "" : ` for ${scope}`;
    const { withheld, ...errorOptions } = options;
    const why =
      withheld === undefined ? detail : `the credentials for ${registry} were not sent: ${withheld}`;
    super(
      RegistryErrorCode.Auth,
      `registry ${registry} refused access${what} (HTTP ${status}): ${why}; check the pull secret`,
      errorOptions,
    );
    this.registry = registry;
    this.scope = scope;
    this.status = status;
    this.withheld = withheld;
  }
}

/**
 * How {@link RegistryAuthError.withheld} names the CAs of `CredentialPolicy.sourceCaHosts`, for
 * callers to put in their users' words.
 */
export const SOURCE_CA = "caCertificates not trusted with credentials";

/** The tag or digest does not exist in the repository (or the repository does not exist). */
export class ManifestNotFoundError extends RegistryError {
  override name = "ManifestNotFoundError";
  /** The reference as the user wrote it or as it was resolved, e.g. `registry:5000/app:v1`. */
  readonly reference: string;

  constructor(reference: string, options: ErrorOptions = {}) {
    super(RegistryErrorCode.ManifestNotFound, `manifest for ${reference} not found`, options);
    this.reference = reference;
  }
}

/** A blob the manifest names is missing from the registry. */
export class BlobNotFoundError extends RegistryError {
  override name = "BlobNotFoundError";
  readonly digest: string;

  constructor(where: string, digest: string, options: ErrorOptions = {}) {
    super(RegistryErrorCode.BlobNotFound, `blob ${digest} not found in ${where}`, options);
    this.digest = digest;
  }
}

/** A manifest, index or layer of a type this client cannot read. */
export class UnsupportedMediaTypeError extends RegistryError {
  override name = "UnsupportedMediaTypeError";
  readonly mediaType: string;

  constructor(mediaType: string, what: string, options: ErrorOptions = {}) {
    super(
      RegistryErrorCode.UnsupportedMediaType,
      `unsupported media type ${JSON.stringify(mediaType)} for ${what}`,
      options,
    );
    this.mediaType = mediaType;
  }
}

/** A layer's bytes are not valid for its compression: a broken image (its digest matched) or a lying media type. */
export class LayerDecompressionError extends RegistryError {
  override name = "LayerDecompressionError";

  constructor(what: string, compression: string, detail: string, options: ErrorOptions = {}) {
    super(RegistryErrorCode.LayerDecompression, `${what} is not valid ${compression}: ${detail}`, options);
  }
}

/** A digest whose algorithm is not sha256 or sha512, or that is not `<algorithm>:<hex>`. */
export class UnsupportedDigestError extends RegistryError {
  override name = "UnsupportedDigestError";
  readonly digest: string;

  constructor(digest: string, options: ErrorOptions = {}) {
    super(
      RegistryErrorCode.UnsupportedDigest,
      `digest ${JSON.stringify(digest)} is not a sha256 or sha512 digest`,
      options,
    );
    this.digest = digest;
  }
}

/** Content did not hash to the digest it was asked for by: corrupt, tampered with, or the wrong object. */
export class DigestMismatchError extends RegistryError {
  override name = "DigestMismatchError";
  readonly expected: string;
  readonly actual: string;

  constructor(what: string, expected: string, actual: string, options: ErrorOptions = {}) {
    super(RegistryErrorCode.DigestMismatch, `${what}: expected digest ${expected}, got ${actual}`, options);
    this.expected = expected;
    this.actual = actual;
  }
}

/** A blob was longer or shorter than its descriptor's `size`. */
export class BlobSizeMismatchError extends RegistryError {
  override name = "BlobSizeMismatchError";
  readonly expectedSize: number;
  /** Bytes received; for an overlong blob, the count when reading stopped. */
  readonly actualSize: number;

  constructor(what: string, expectedSize: number, actualSize: number, options: ErrorOptions = {}) {
    super(
      RegistryErrorCode.SizeMismatch,
      `${what}: expected ${expectedSize} bytes, got ${actualSize === expectedSize ? "a different count" : actualSize}`,
      options,
    );
    this.expectedSize = expectedSize;
    this.actualSize = actualSize;
  }
}

/** A manifest or config larger than the client accepts: protects memory from a hostile registry. */
export class ManifestTooLargeError extends RegistryError {
  override name = "ManifestTooLargeError";

  constructor(what: string, limit: number, options: ErrorOptions = {}) {
    super(RegistryErrorCode.ManifestTooLarge, `${what} is larger than the ${limit} byte limit`, options);
  }
}

/** A manifest, index or config that is not the JSON its media type promises. */
export class ManifestInvalidError extends RegistryError {
  override name = "ManifestInvalidError";

  constructor(what: string, problem: string, options: ErrorOptions = {}) {
    super(RegistryErrorCode.ManifestInvalid, `${what} is invalid: ${problem}`, options);
  }
}

/** An index lists no image for the platform asked for. */
export class PlatformNotFoundError extends RegistryError {
  override name = "PlatformNotFoundError";
  readonly wanted: string;
  readonly available: readonly string[];

  constructor(reference: string, wanted: string, available: readonly string[], options: ErrorOptions = {}) {
    const listed = available.length === 0 ? "none" : available.join(", ");
    super(
      RegistryErrorCode.PlatformNotFound,
      `${reference} has no image for platform ${wanted} (available: ${listed})`,
      options,
    );
    this.wanted = wanted;
    this.available = [...available];
  }
}

/** The registry could not be reached, or kept failing (5xx, 429, dropped connections) through every retry. */
export class RegistryUnavailableError extends RegistryError {
  override name = "RegistryUnavailableError";
  readonly registry: string;
  readonly attempts: number;

  constructor(registry: string, attempts: number, detail: string, options: ErrorOptions = {}) {
    super(
      RegistryErrorCode.Unavailable,
      `registry ${registry} unavailable after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${detail}`,
      options,
    );
    this.registry = registry;
    this.attempts = attempts;
  }
}

/** The registry's TLS certificate is not trusted (or not for this host); retrying cannot help. */
export class RegistryTlsError extends RegistryError {
  override name = "RegistryTlsError";
  readonly registry: string;

  constructor(registry: string, detail: string, options: ErrorOptions = {}) {
    super(
      RegistryErrorCode.Tls,
      `TLS connection to ${registry} failed: ${detail}; if the registry uses a private CA, add it to caCertificates`,
      options,
    );
    this.registry = registry;
  }
}

/** The registry answered with a status this client does not expect (and will not retry). */
export class RegistryResponseError extends RegistryError {
  override name = "RegistryResponseError";
  readonly status: number;

  constructor(what: string, status: number, detail: string, options: ErrorOptions = {}) {
    super(
      RegistryErrorCode.Response,
      `${what}: HTTP ${status}${detail === "" ? "" : `: ${detail}`}`,
      options,
    );
    this.status = status;
  }
}

/** The client's options are invalid (malformed pull secret, unreadable CA bundle…). */
export class RegistryConfigError extends RegistryError {
  override name = "RegistryConfigError";

  constructor(message: string, options: ErrorOptions = {}) {
    super(RegistryErrorCode.Config, message, options);
  }
}
