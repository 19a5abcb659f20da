/**
 * An image resolved to one platform's manifest, ready to be pulled blob by blob: what
 * {@link RegistryClient.resolve} returns. It tracks the compressed bytes read across all its
 * layers, for one progress figure per image.
 */
import type { Readable } from "node:stream";
import type { RegistryClient } from "./client.ts";
import type { Descriptor, ImageConfig, ImageManifest } from "./manifest.ts";
import type { Platform } from "./platform.ts";

/** Where an image's blobs live. */
export interface RepositoryLocation {
  /** Registry host as in the image reference, e.g. `docker.io`, `127.0.0.1:5000`. */
  readonly registry: string;
  /** Repository path, e.g. `library/busybox`. */
  readonly repository: string;
}

/** Compressed layer bytes read so far for one image. */
export interface PullProgress {
  /** Bytes of layers received and hashed so far, each byte counted once even if a layer is read again. */
  readonly completedBytes: number;
  /** Sum of the layers' sizes (a layer listed twice counted once). */
  readonly totalBytes: number;
  /** The layer that just advanced. */
  readonly digest: string;
}

export interface BlobReadOptions {
  readonly signal?: AbortSignal;
}

export interface ResolvedImageFields extends RepositoryLocation {
  /** The reference as asked for, e.g. `127.0.0.1:5000/app:v1`. */
  readonly requested: string;
  /** Digest of the platform's manifest. */
  readonly digest: string;
  /** Digest of the index it was picked from, when the reference named an index. */
  readonly indexDigest?: string;
  /** The index entry's platform, when picked from an index. */
  readonly platform?: Platform;
  readonly manifest: ImageManifest;
}

export class PulledImage implements ResolvedImageFields {
  readonly requested: string;
  readonly registry: string;
  readonly repository: string;
  readonly digest: string;
  readonly indexDigest?: string;
  readonly platform?: Platform;
  readonly manifest: ImageManifest;
  readonly #client: RegistryClient;
  readonly #onProgress: ((progress: PullProgress) => void) | undefined;
  readonly #bytesByDigest = new Map<string, number>();
  #completedBytes = 0;

  constructor(
    client: RegistryClient,
    fields: ResolvedImageFields,
    onProgress?: (progress: PullProgress) => void,
  ) {
    this.#client = client;
    this.#onProgress = onProgress;
    this.requested = fields.requested;
    this.registry = fields.registry;
    this.repository = fields.repository;
    this.digest = fields.digest;
    this.manifest = fields.manifest;
    if (fields.indexDigest !== undefined) this.indexDigest = fields.indexDigest;
    if (fields.platform !== undefined) this.platform = fields.platform;
  }

  /** `registry/repository@digest`: names exactly this image, whatever the tag points at later. */
  get pinnedReference(): string {
    return `${this.registry}/${this.repository}@${this.digest}`;
  }

  get layers(): readonly Descriptor[] {
    return this.manifest.layers;
  }

  /** Sum of the layers' sizes, a layer listed twice counted once: the bytes a pull downloads. */
  get totalBytes(): number {
    const sizes = new Map(this.manifest.layers.map((layer) => [layer.digest, layer.size]));
    return [...sizes.values()].reduce((sum, size) => sum + size, 0);
  }

  get completedBytes(): number {
    return this.#completedBytes;
  }

  /** Fetches and checks the image config (`rootfs.diff_ids`, `config`…). */
  readConfig(options: BlobReadOptions = {}): Promise<ImageConfig> {
    return this.#client.readConfig(this, this.manifest.config, options);
  }

  /** The raw (compressed) blob, verified as it streams; counts towards progress if it is a layer. */
  openBlob(descriptor: Descriptor, options: BlobReadOptions = {}): Readable {
    return this.#client.openBlob(this, descriptor, { ...options, onBytes: this.#counter(descriptor) });
  }

  /**
   * The layer's tar stream, decompressed by its media type; counts towards progress.
   * @throws UnsupportedMediaTypeError for a layer type this client cannot unpack
   */
  openLayer(descriptor: Descriptor, options: BlobReadOptions = {}): Readable {
    return this.#client.openLayer(this, descriptor, { ...options, onBytes: this.#counter(descriptor) });
  }

  // Each open counts from zero; only bytes past the furthest any earlier open of the blob reached are new.
  #counter(descriptor: Descriptor): (bytes: number) => void {
    let read = 0;
    const isLayer = this.manifest.layers.some((layer) => layer.digest === descriptor.digest);
    return (bytes) => {
      read += bytes;
      if (!isLayer) return;
      const before = this.#bytesByDigest.get(descriptor.digest) ?? 0;
      if (read <= before) return;
      this.#bytesByDigest.set(descriptor.digest, read);
      this.#completedBytes += read - before;
      this.#onProgress?.({
        completedBytes: this.#completedBytes,
        totalBytes: this.totalBytes,
        digest: descriptor.digest,
      });
    };
  }
}
