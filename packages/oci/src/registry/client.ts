/**
 * The pull side of the OCI distribution API: resolve a reference to one platform's manifest, then
 * stream its blobs, every byte checked against its digest. See {@link RegistryClientOptions} for
 * credentials, CAs, plain-HTTP registries, timeouts and retries.
 *
 * @example
 * const client = new RegistryClient({ pullSecrets: [dockerConfigJson] });
 * const image = await client.resolve("registry.example.com/data/models:v3", {
 *   onProgress: ({ completedBytes, totalBytes }) => report(completedBytes / totalBytes),
 * });
 * for (const layer of image.layers) await extract(image.openLayer(layer));
 * client.close();
 */
import type { Readable } from "node:stream";
import { type ImageReference, parseImageReference } from "../reference.ts";
import { VerifiedBlobStream } from "./blob-stream.ts";
import { decompressLayer } from "./decompress.ts";
import { digestOf, parseDigest } from "./digest.ts";
import {
  type CredentialStore,
  credentialsFor,
  normaliseRegistryHost,
  parseDockerConfig,
  type RegistryCredentials,
} from "./docker-config.ts";
import {
  BlobNotFoundError,
  BlobSizeMismatchError,
  DigestMismatchError,
  ManifestNotFoundError,
  ManifestTooLargeError,
  PlatformNotFoundError,
  RegistryResponseError,
  UnsupportedMediaTypeError,
} from "./errors.ts";
import { errorDetail, RegistryHttp } from "./http.ts";
import {
  type Descriptor,
  type ImageConfig,
  type ManifestDocument,
  parseImageConfig,
  parseManifest,
} from "./manifest.ts";
import { layerCompression, MANIFEST_ACCEPT, manifestKind } from "./media-types.ts";
import {
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_MANIFEST_BYTES,
  type RegistryClientOptions,
  type RegistryLogFn,
} from "./options.ts";
import { formatPlatform, nodePlatform, type Platform, rankPlatforms } from "./platform.ts";
import {
  type BlobReadOptions,
  PulledImage,
  type PullProgress,
  type RepositoryLocation,
} from "./pulled-image.ts";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry.ts";
import { createNodeTransport, discardBody, readBody, type Transport } from "./transport.ts";

export interface ResolveOptions {
  /** Platform to pick from an index. Default: the client's {@link RegistryClientOptions.platform}. */
  readonly platform?: Platform;
  /** Receives compressed layer bytes read across the whole image, as the layers are read. */
  readonly onProgress?: (progress: PullProgress) => void;
  readonly signal?: AbortSignal;
}

/** A manifest or index as fetched, checked against its digest. */
export interface FetchedManifest {
  /** Digest of the bytes as served: what a pinned reference to it names. */
  readonly digest: string;
  readonly bytes: Buffer;
  readonly document: ManifestDocument;
}

export interface OpenBlobOptions extends BlobReadOptions {
  /** Called with each run of new bytes received (compressed, for layers). */
  readonly onBytes?: (bytes: number) => void;
}

/** Indexes may nest (an index of indexes); deeper than this is refused rather than followed. */
const MAX_INDEX_DEPTH = 3;

export class RegistryClient {
  readonly #http: RegistryHttp;
  readonly #transport: Transport;
  readonly #ownsTransport: boolean;
  readonly #platform: Platform;
  readonly #maxManifestBytes: number;
  readonly #retry: RetryPolicy;
  readonly #log: RegistryLogFn;
  readonly #signal: AbortSignal | undefined;

  /** @throws RegistryConfigError when a pull secret cannot be read */
  constructor(options: RegistryClientOptions = {}) {
    const store = new Map<string, RegistryCredentials>();
    for (const secret of options.pullSecrets ?? []) {
      for (const [host, credentials] of parseDockerConfig(secret)) store.set(host, credentials);
    }
    for (const [host, credentials] of Object.entries(options.credentials ?? {})) {
      store.set(normaliseRegistryHost(host), credentials);
    }
    const credentials: CredentialStore = store;
    const cas = options.caCertificates;
    this.#ownsTransport = options.transport === undefined;
    this.#transport =
      options.transport ??
      createNodeTransport({
        ...(cas === undefined ? {} : { caCertificates: typeof cas === "string" ? [cas] : cas }),
        headersTimeoutMs: options.timeouts?.headersMs ?? DEFAULT_HEADERS_TIMEOUT_MS,
        idleTimeoutMs: options.timeouts?.idleMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      });
    const retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.#retry = { ...retry, attempts: Math.max(1, Math.floor(retry.attempts)) };
    this.#log = options.log ?? (() => {});
    this.#signal = options.signal;
    this.#platform = options.platform ?? nodePlatform();
    this.#maxManifestBytes = options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
    this.#http = new RegistryHttp({
      transport: this.#transport,
      credentials: (registry) => credentialsFor(credentials, registry),
      insecureRegistries: new Set((options.insecureRegistries ?? []).map(normaliseRegistryHost)),
      credentialPolicy: options.credentialPolicy,
      extraCas: cas !== undefined && cas.length > 0,
      signal: options.signal,
      retry: this.#retry,
      log: this.#log,
    });
  }

  /**
   * Resolves a reference (`registry/repository[:tag][@digest]`) to the manifest of one image,
   * picking the platform from an index. A digest in the reference is checked against the bytes.
   * @throws ManifestNotFoundError, PlatformNotFoundError, UnsupportedMediaTypeError,
   *   DigestMismatchError, RegistryAuthError, RegistryUnavailableError, …
   */
  async resolve(reference: string | ImageReference, options: ResolveOptions = {}): Promise<PulledImage> {
    const ref = typeof reference === "string" ? parseImageReference(reference) : reference;
    const requested = formatReference(ref);
    const location: RepositoryLocation = { registry: ref.registry, repository: ref.repository };
    const signal = options.signal === undefined ? {} : { signal: options.signal };
    let fetched = await this.fetchManifest(location, ref.digest ?? ref.tag ?? "latest", {
      requested,
      ...signal,
    });
    let indexDigest: string | undefined;
    let platform: Platform | undefined;
    for (let depth = 0; fetched.document.kind === "index"; depth++) {
      if (depth >= MAX_INDEX_DEPTH) {
        throw new RegistryResponseError(requested, 200, `indexes nested deeper than ${MAX_INDEX_DEPTH}`);
      }
      const wanted = options.platform ?? this.#platform;
      const entries = fetched.document.index.manifests;
      const usable = entries.map((entry) =>
        manifestKind(entry.mediaType) === undefined ? undefined : entry.platform,
      );
      const chosen = entries[rankPlatforms(wanted, usable)[0] ?? -1];
      if (chosen === undefined) {
        const available = usable.filter((p): p is Platform => p !== undefined).map(formatPlatform);
        throw new PlatformNotFoundError(requested, formatPlatform(wanted), [...new Set(available)]);
      }
      indexDigest ??= fetched.digest;
      platform = chosen.platform;
      this.#log(
        "debug",
        { reference: requested, platform: formatPlatform(wanted), digest: chosen.digest },
        "picked platform",
      );
      fetched = await this.fetchManifest(location, chosen.digest, { requested, ...signal });
    }
    return new PulledImage(
      this,
      {
        ...location,
        requested,
        digest: fetched.digest,
        manifest: fetched.document.manifest,
        ...(indexDigest === undefined ? {} : { indexDigest }),
        ...(platform === undefined ? {} : { platform }),
      },
      options.onProgress,
    );
  }

  /**
   * Fetches one manifest or index by tag or digest, refusing more than `maxManifestBytes`. By
   * digest, the bytes must hash to it; by tag, to the `Docker-Content-Digest` the registry sends.
   */
  async fetchManifest(
    location: RepositoryLocation,
    tagOrDigest: string,
    options: { readonly requested?: string; readonly signal?: AbortSignal } = {},
  ): Promise<FetchedManifest> {
    const pinned = tagOrDigest.includes(":");
    const name = `${location.registry}/${location.repository}${pinned ? "@" : ":"}${tagOrDigest}`;
    const what = `manifest ${name}`;
    const algorithm = pinned ? parseDigest(tagOrDigest).algorithm : "sha256";
    const response = await this.#http.send({
      registry: location.registry,
      method: "GET",
      target: `/v2/${location.repository}/manifests/${tagOrDigest}`,
      headers: { accept: MANIFEST_ACCEPT.join(", ") },
      scope: pullScope(location),
      what,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    if (response.status === 404) {
      discardBody(response);
      const requested = options.requested ?? name;
      throw new ManifestNotFoundError(requested === name ? name : `${requested} (${name})`);
    }
    if (response.status !== 200)
      throw new RegistryResponseError(what, response.status, await errorDetail(response, ""));
    const limit = this.#maxManifestBytes;
    if (Number(response.headers["content-length"] ?? 0) > limit) {
      response.body.destroy();
      throw new ManifestTooLargeError(what, limit);
    }
    const bytes = await readBody(response.body, limit, () => new ManifestTooLargeError(what, limit));
    const digest = digestOf(bytes, algorithm);
    const expected = pinned ? tagOrDigest : response.headers["docker-content-digest"];
    if (expected?.startsWith(`${algorithm}:`) && expected !== digest) {
      throw new DigestMismatchError(what, expected, digest);
    }
    return { digest, bytes, document: parseManifest(bytes, response.headers["content-type"] ?? "", what) };
  }

  /**
   * A blob as a stream, verified against the descriptor's digest and size while it flows and
   * resumed with Range requests when the connection drops. Errors arrive as stream errors.
   */
  openBlob(location: RepositoryLocation, descriptor: Descriptor, options: OpenBlobOptions = {}): Readable {
    const what = `blob ${descriptor.digest} of ${location.registry}/${location.repository}`;
    const { onBytes } = options;
    const signals = [this.#signal, options.signal].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    return new VerifiedBlobStream({
      descriptor,
      what,
      registry: location.registry,
      retry: this.#retry,
      log: this.#log,
      ...(onBytes === undefined ? {} : { onBytes }),
      ...(signal === undefined ? {} : { signal }),
      open: async (offset, abortSignal) => {
        const response = await this.#http.send({
          registry: location.registry,
          method: "GET",
          target: `/v2/${location.repository}/blobs/${descriptor.digest}`,
          headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
          scope: pullScope(location),
          what,
          signal: abortSignal,
        });
        if (response.status === 200 || response.status === 206) return response;
        const detail = await errorDetail(response, "");
        if (response.status === 404)
          throw new BlobNotFoundError(`${location.registry}/${location.repository}`, descriptor.digest);
        // Asked for bytes past the end: the blob is shorter than its descriptor says.
        if (response.status === 416) throw new BlobSizeMismatchError(what, descriptor.size, offset);
        throw new RegistryResponseError(what, response.status, detail);
      },
    });
  }

  /**
   * A layer's tar stream: the verified blob decompressed by media type (gzip, zstd or none; OCI,
   * Docker and non-distributable types). A digest mismatch or dropped download fails the stream.
   * @throws UnsupportedMediaTypeError at once for a layer type this client cannot unpack
   */
  openLayer(location: RepositoryLocation, descriptor: Descriptor, options: OpenBlobOptions = {}): Readable {
    const what = `layer ${descriptor.digest} of ${location.registry}/${location.repository}`;
    // Checked before the download starts, so that an unreadable layer costs no bandwidth.
    if (layerCompression(descriptor.mediaType) === undefined)
      throw new UnsupportedMediaTypeError(descriptor.mediaType, what);
    return decompressLayer(this.openBlob(location, descriptor, options), descriptor.mediaType, what);
  }

  /** Reads and parses an image config blob, within the manifest size limit. */
  async readConfig(
    location: RepositoryLocation,
    descriptor: Descriptor,
    options: BlobReadOptions = {},
  ): Promise<ImageConfig> {
    const what = `config ${descriptor.digest} of ${location.registry}/${location.repository}`;
    if (descriptor.size > this.#maxManifestBytes)
      throw new ManifestTooLargeError(what, this.#maxManifestBytes);
    const bytes = await readBody(this.openBlob(location, descriptor, options), this.#maxManifestBytes, () => {
      return new ManifestTooLargeError(what, this.#maxManifestBytes);
    });
    return parseImageConfig(bytes, what);
  }

  /** Closes pooled connections (only those of the transport this client made itself). */
  close(): void {
    if (this.#ownsTransport) this.#transport.close?.();
  }
}

/** The token scope for pulling from a repository. */
export function pullScope(location: RepositoryLocation): string {
  return `repository:${location.repository}:pull`;
}

function formatReference(ref: ImageReference): string {
  const tag = ref.tag === undefined ? "" : `:${ref.tag}`;
  const digest = ref.digest === undefined ? "" : `@${ref.digest}`;
  return `${ref.registry}/${ref.repository}${tag}${digest}`;
}
