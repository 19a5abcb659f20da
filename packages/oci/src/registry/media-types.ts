/**
 * The media types of the OCI image spec and of Docker's schema 2, and what each means to a puller.
 * Docker's are still what most registries serve for images built with `docker build`.
 */

export const MediaType = {
  OciIndex: "application/vnd.oci.image.index.v1+json",
  OciManifest: "application/vnd.oci.image.manifest.v1+json",
  OciConfig: "application/vnd.oci.image.config.v1+json",
  OciLayer: "application/vnd.oci.image.layer.v1.tar",
  OciLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  OciLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  OciLayerNondistributable: "application/vnd.oci.image.layer.nondistributable.v1.tar",
  OciLayerNondistributableGzip: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  OciLayerNondistributableZstd: "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
  DockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  DockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  DockerConfig: "application/vnd.docker.container.image.v1+json",
  DockerLayer: "application/vnd.docker.image.rootfs.diff.tar",
  DockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  DockerForeignLayerGzip: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
} as const;

/** Sent as `Accept` when fetching a manifest: every kind of manifest this client can read. */
export const MANIFEST_ACCEPT: readonly string[] = [
  MediaType.OciIndex,
  MediaType.OciManifest,
  MediaType.DockerManifestList,
  MediaType.DockerManifest,
];

/** What a manifest-ish document is: a list of per-platform manifests, or one image. */
export type ManifestKind = "index" | "manifest";

/** The kind of a manifest media type, or undefined if this client cannot read it. */
export function manifestKind(mediaType: string): ManifestKind | undefined {
  switch (baseMediaType(mediaType)) {
    case MediaType.OciIndex:
    case MediaType.DockerManifestList:
      return "index";
    case MediaType.OciManifest:
    case MediaType.DockerManifest:
      return "manifest";
    default:
      return undefined;
  }
}

/** How a layer's bytes are compressed. */
export type LayerCompression = "gzip" | "zstd" | "none";

/** The compression of a layer media type, or undefined if it is not a layer this client can unpack. */
export function layerCompression(mediaType: string): LayerCompression | undefined {
  switch (baseMediaType(mediaType)) {
    case MediaType.OciLayer:
    case MediaType.OciLayerNondistributable:
    case MediaType.DockerLayer:
      return "none";
    case MediaType.OciLayerGzip:
    case MediaType.OciLayerNondistributableGzip:
    case MediaType.DockerLayerGzip:
    case MediaType.DockerForeignLayerGzip:
      return "gzip";
    case MediaType.OciLayerZstd:
    case MediaType.OciLayerNondistributableZstd:
      return "zstd";
    default:
      return undefined;
  }
}

/** Whether a config media type is an image config (OCI or Docker), rather than some artifact's. */
export function isImageConfig(mediaType: string): boolean {
  const base = baseMediaType(mediaType);
  return base === MediaType.OciConfig || base === MediaType.DockerConfig;
}

/** Content types that say nothing about which manifest this is: the body's `mediaType` decides then. */
export function isGenericJson(contentType: string): boolean {
  const base = baseMediaType(contentType);
  return (
    base === "" || base === "application/json" || base === "text/plain" || base === "application/octet-stream"
  );
}

/** A media type without parameters (`; charset=utf-8`), lower-cased: the form media types compare in. */
export function baseMediaType(mediaType: string): string {
  return (mediaType.split(";")[0] ?? "").trim().toLowerCase();
}
