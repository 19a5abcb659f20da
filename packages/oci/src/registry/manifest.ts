/**
 * The JSON documents a registry serves for an image: an index (or Docker manifest list) of
 * per-platform manifests, a manifest of one image's config and layers, and the image config.
 * Parsing checks every field the puller relies on, because the registry is not trusted.
 */
import { parseDigest } from "./digest.ts";
import { ManifestInvalidError, UnsupportedMediaTypeError } from "./errors.ts";
import { baseMediaType, isGenericJson, MediaType, manifestKind } from "./media-types.ts";
import type { Platform } from "./platform.ts";

/** Points at content by digest: the OCI content descriptor. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly urls?: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
  /** Only in an index's `manifests`. */
  readonly platform?: Platform;
}

export interface ImageIndex {
  readonly schemaVersion: 2;
  readonly mediaType: string;
  readonly manifests: readonly Descriptor[];
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ImageManifest {
  readonly schemaVersion: 2;
  readonly mediaType: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly annotations?: Readonly<Record<string, string>>;
}

export type ManifestDocument =
  | { readonly kind: "index"; readonly index: ImageIndex }
  | { readonly kind: "manifest"; readonly manifest: ImageManifest };

/** The parts of an image config (OCI or Docker) the puller reads; the rest is kept as is. */
export interface ImageConfig {
  readonly architecture?: string;
  readonly os?: string;
  readonly variant?: string;
  readonly config?: Readonly<Record<string, unknown>>;
  readonly rootfs: { readonly type: string; readonly diff_ids: readonly string[] };
  readonly [field: string]: unknown;
}

const SCHEMA1 = new Set([
  "application/vnd.docker.distribution.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
]);

/**
 * Parses a manifest or index. Its type comes from `Content-Type`, or when that is generic JSON
 * from the body's `mediaType`, or failing both from its shape (old OCI documents omit `mediaType`).
 * @throws UnsupportedMediaTypeError for anything but OCI and Docker schema 2 manifests and indexes
 * @throws ManifestInvalidError when the JSON does not hold what its type promises
 */
export function parseManifest(bytes: Uint8Array, contentType: string, what: string): ManifestDocument {
  const document = parseJsonObject(bytes, what);
  const declared = typeof document.mediaType === "string" ? document.mediaType : undefined;
  const mediaType = isGenericJson(contentType)
    ? (declared ?? inferMediaType(document))
    : baseMediaType(contentType);
  if (mediaType === undefined) throw new ManifestInvalidError(what, "its type cannot be told (no mediaType)");
  const kind = manifestKind(mediaType);
  if (kind === undefined) {
    const hint = SCHEMA1.has(baseMediaType(mediaType))
      ? " (Docker schema 1 is deprecated: push the image again)"
      : "";
    throw new UnsupportedMediaTypeError(mediaType, `${what}${hint}`);
  }
  if (declared !== undefined && manifestKind(declared) !== kind) {
    throw new ManifestInvalidError(what, `served as ${mediaType} but declares mediaType ${declared}`);
  }
  if (document.schemaVersion !== 2) throw new ManifestInvalidError(what, "schemaVersion is not 2");
  const annotations = optionalAnnotations(document.annotations, `${what}: annotations`);
  if (kind === "index") {
    if (!Array.isArray(document.manifests)) throw new ManifestInvalidError(what, '"manifests" is not a list');
    const manifests = document.manifests.map((entry, i) =>
      parseDescriptor(entry, `${what}: manifests[${i}]`, true),
    );
    return {
      kind,
      index: { schemaVersion: 2, mediaType: baseMediaType(mediaType), manifests, ...annotations },
    };
  }
  if (!Array.isArray(document.layers)) throw new ManifestInvalidError(what, '"layers" is not a list');
  const config = parseDescriptor(document.config, `${what}: config`, false);
  const layers = document.layers.map((entry, i) => parseDescriptor(entry, `${what}: layers[${i}]`, false));
  return {
    kind,
    manifest: { schemaVersion: 2, mediaType: baseMediaType(mediaType), config, layers, ...annotations },
  };
}

/** Parses an image config, checking `rootfs.diff_ids` (one per layer, each a digest). */
export function parseImageConfig(bytes: Uint8Array, what: string): ImageConfig {
  const config = parseJsonObject(bytes, what);
  const rootfs = config.rootfs;
  if (!isRecord(rootfs) || !Array.isArray(rootfs.diff_ids) || typeof rootfs.type !== "string") {
    throw new ManifestInvalidError(what, '"rootfs" must have a "type" and a "diff_ids" list');
  }
  for (const diffId of rootfs.diff_ids) {
    if (typeof diffId !== "string") throw new ManifestInvalidError(what, "rootfs.diff_ids must be digests");
    parseDigest(diffId);
  }
  return config as unknown as ImageConfig;
}

function parseDescriptor(value: unknown, what: string, withPlatform: boolean): Descriptor {
  if (!isRecord(value)) throw new ManifestInvalidError(what, "not an object");
  const { mediaType, digest, size, urls, platform } = value;
  if (typeof mediaType !== "string" || mediaType === "")
    throw new ManifestInvalidError(what, "mediaType is missing");
  if (typeof digest !== "string") throw new ManifestInvalidError(what, "digest is missing");
  parseDigest(digest);
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw new ManifestInvalidError(what, "size is not a non-negative integer");
  }
  if (urls !== undefined && (!Array.isArray(urls) || urls.some((u) => typeof u !== "string"))) {
    throw new ManifestInvalidError(what, "urls is not a list of strings");
  }
  const annotations = optionalAnnotations(value.annotations, `${what}: annotations`);
  let parsedPlatform: Platform | undefined;
  if (withPlatform && platform !== undefined) {
    if (!isRecord(platform) || typeof platform.os !== "string" || typeof platform.architecture !== "string") {
      throw new ManifestInvalidError(what, "platform must have os and architecture");
    }
    parsedPlatform = {
      os: platform.os,
      architecture: platform.architecture,
      ...(typeof platform.variant === "string" && platform.variant !== ""
        ? { variant: platform.variant }
        : {}),
    };
  }
  return {
    mediaType,
    digest,
    size,
    ...(urls === undefined ? {} : { urls: urls as string[] }),
    ...annotations,
    ...(parsedPlatform === undefined ? {} : { platform: parsedPlatform }),
  };
}

function optionalAnnotations(value: unknown, what: string): { annotations?: Record<string, string> } {
  if (value === undefined || value === null) return {};
  if (!isRecord(value) || Object.values(value).some((v) => typeof v !== "string")) {
    throw new ManifestInvalidError(what, "must map strings to strings");
  }
  return { annotations: value as Record<string, string> };
}

function inferMediaType(document: Record<string, unknown>): string | undefined {
  if (Array.isArray(document.manifests)) return MediaType.OciIndex;
  if (isRecord(document.config) && Array.isArray(document.layers)) return MediaType.OciManifest;
  return undefined;
}

function parseJsonObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (error) {
    throw new ManifestInvalidError(what, "not valid JSON", { cause: error });
  }
  if (!isRecord(parsed)) throw new ManifestInvalidError(what, "not a JSON object");
  return parsed;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
