/**
 * Builds OCI (or Docker schema 2) images from layer specs and pushes them to a registry: config,
 * manifest, and for several platforms an index. Same spec, same digests: layers are written with
 * fixed times and compressed deterministically. Small layers are built in memory (so a blob the
 * registry has is skipped); large ones are streamed, hashed on the way, never held.
 */
import { PassThrough, type Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import zlib from "node:zlib";
import {
  type Descriptor,
  Digester,
  digestOf,
  MediaType,
  type Platform,
  type PushTarget,
  RegistryPusher,
} from "@volpop/oci";
import { contentBytes, type TreeEntry, tarStream } from "./tree.ts";

export type Compression = "gzip" | "zstd" | "none";

export interface LayerSpec {
  /** The layer's entries, in archive order. Give this or {@link tar}. */
  readonly entries?: readonly TreeEntry[];
  /** The layer's tar bytes, used as they are: for archives tar-stream would refuse to write. */
  readonly tar?: Uint8Array;
  /** Default: gzip. */
  readonly compression?: Compression;
  /**
   * Compress the tar as this many independent gzip members or zstd frames, in order, as `pigz
   * --independent`, `pzstd` and seekable writers do (each zstd frame after a skippable frame
   * holding its size, as pzstd writes them). Default 1: one member or frame.
   */
  readonly frames?: number;
  /** Written in the manifest instead of the one the format and compression call for. */
  readonly mediaType?: string;
}

export interface ImageSpec {
  readonly repository: string;
  /** Default: `latest`. */
  readonly tag?: string;
  /** OCI media types, or Docker schema 2 ones (manifest list, `rootfs.diff.tar.gzip`…). Default: oci. */
  readonly format?: "oci" | "docker";
  /** The image's layers, for a single-platform image. Give this or {@link platforms}. */
  readonly layers?: readonly LayerSpec[];
  /** The single image's platform, written in its config. Default: linux/amd64. */
  readonly platform?: Platform;
  /** One image per platform, pushed with an index (or Docker manifest list) over them. */
  readonly platforms?: readonly { readonly platform: Platform; readonly layers: readonly LayerSpec[] }[];
  /** The config's `config` object (`Env`, `Cmd`, `Labels`…). */
  readonly config?: Readonly<Record<string, unknown>>;
  /** Manifest annotations. */
  readonly annotations?: Readonly<Record<string, string>>;
  /**
   * Layers with more content than this many bytes are streamed to the registry as they are built
   * (chunked PATCH) instead of built in memory first; a streamed blob is uploaded even when the
   * registry has it. Default: 16 MiB.
   */
  readonly streamLayersAbove?: number;
}

export interface WrittenLayer extends Descriptor {
  /** Digest of the uncompressed tar, as in the config's `rootfs.diff_ids`. */
  readonly diffId: string;
}

export interface WrittenManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly platform: Platform;
  readonly config: Descriptor;
  readonly layers: readonly WrittenLayer[];
}

export interface WrittenImage {
  /** `registry/repository:tag`. */
  readonly reference: string;
  /** `registry/repository@digest` of what the tag points at. */
  readonly pinnedReference: string;
  /** Digest of the index when there are several platforms, else of the manifest. */
  readonly digest: string;
  readonly mediaType: string;
  readonly manifests: readonly WrittenManifest[];
}

const STREAM_ABOVE_BYTES = 16 * 1024 * 1024;
const DEFAULT_PLATFORM: Platform = { os: "linux", architecture: "amd64" };

/** Builds the image `spec` describes and pushes it to `target`. */
export async function writeImage(target: PushTarget, spec: ImageSpec): Promise<WrittenImage> {
  if ((spec.layers === undefined) === (spec.platforms === undefined)) {
    throw new Error("writeImage: give either layers or platforms");
  }
  const pusher = new RegistryPusher(target);
  try {
    const docker = spec.format === "docker";
    const images = spec.platforms ?? [
      { platform: spec.platform ?? DEFAULT_PLATFORM, layers: spec.layers ?? [] },
    ];
    const tag = spec.tag ?? "latest";
    const manifests: WrittenManifest[] = [];
    for (const image of images) {
      manifests.push(
        await pushManifest(
          pusher,
          spec,
          image.platform,
          image.layers,
          docker,
          spec.platforms === undefined ? tag : undefined,
        ),
      );
    }
    let digest: string;
    let mediaType: string;
    if (spec.platforms === undefined) {
      const only = manifests[0] as WrittenManifest;
      digest = only.digest;
      mediaType = only.mediaType;
    } else {
      mediaType = docker ? MediaType.DockerManifestList : MediaType.OciIndex;
      const index = json({
        schemaVersion: 2,
        mediaType,
        manifests: manifests.map((m) => ({
          mediaType: m.mediaType,
          digest: m.digest,
          size: m.size,
          platform: m.platform,
        })),
      });
      digest = digestOf(index);
      await pusher.pushManifest(spec.repository, tag, mediaType, index);
    }
    return {
      reference: `${target.registry}/${spec.repository}:${tag}`,
      pinnedReference: `${target.registry}/${spec.repository}@${digest}`,
      digest,
      mediaType,
      manifests,
    };
  } finally {
    pusher.close();
  }
}

async function pushManifest(
  pusher: RegistryPusher,
  spec: ImageSpec,
  platform: Platform,
  layerSpecs: readonly LayerSpec[],
  docker: boolean,
  tag: string | undefined,
): Promise<WrittenManifest> {
  const layers: WrittenLayer[] = [];
  const streamAbove = spec.streamLayersAbove ?? STREAM_ABOVE_BYTES;
  for (const layer of layerSpecs)
    layers.push(await pushLayer(pusher, spec.repository, layer, docker, streamAbove));
  const configBytes = json({
    created: "1970-01-01T00:00:00Z",
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant === undefined ? {} : { variant: platform.variant }),
    config: spec.config ?? {},
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    history: layers.map(() => ({ created: "1970-01-01T00:00:00Z", created_by: "volpop writeImage" })),
  });
  const config: Descriptor = {
    mediaType: docker ? MediaType.DockerConfig : MediaType.OciConfig,
    digest: digestOf(configBytes),
    size: configBytes.length,
  };
  await pusher.pushBlob(spec.repository, config.digest, configBytes);
  const mediaType = docker ? MediaType.DockerManifest : MediaType.OciManifest;
  const manifestBytes = json({
    schemaVersion: 2,
    mediaType,
    config,
    layers: layers.map(({ mediaType: type, digest, size }) => ({ mediaType: type, digest, size })),
    ...(spec.annotations === undefined ? {} : { annotations: spec.annotations }),
  });
  const digest = digestOf(manifestBytes);
  await pusher.pushManifest(spec.repository, tag ?? digest, mediaType, manifestBytes);
  return { digest, mediaType, size: manifestBytes.length, platform, config, layers };
}

async function pushLayer(
  pusher: RegistryPusher,
  repository: string,
  layer: LayerSpec,
  docker: boolean,
  streamAbove: number,
): Promise<WrittenLayer> {
  const compression = layer.compression ?? "gzip";
  const mediaType = layer.mediaType ?? layerMediaType(compression, docker);
  const diff = new Digester();
  const blob = new Digester();
  let size = 0;
  const stages = [
    layerTar(layer),
    tap((chunk) => diff.update(chunk)),
    compressor(compression),
    tap((chunk) => {
      blob.update(chunk);
      size += chunk.length;
    }),
  ] as const;
  const estimated =
    layer.tar?.byteLength ??
    (layer.entries ?? []).reduce((sum, e) => sum + (e.type === "file" ? contentBytes(e.content) : 0), 0);
  let digest: string;
  if ((layer.frames ?? 1) > 1) {
    const tar: Buffer[] = [];
    for await (const chunk of layerTar(layer)) tar.push(chunk as Buffer);
    const bytes = inFrames(Buffer.concat(tar), compression, layer.frames ?? 1);
    diff.update(Buffer.concat(tar));
    digest = digestOf(bytes);
    await pusher.pushBlob(repository, digest, bytes);
    return { mediaType, digest, size: bytes.length, diffId: diff.digest() };
  }
  if (estimated <= streamAbove) {
    const chunks: Buffer[] = [];
    await pipeline(...stages, async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) chunks.push(chunk);
    });
    digest = blob.digest();
    await pusher.pushBlob(repository, digest, Buffer.concat(chunks));
  } else {
    const out = new PassThrough();
    const produced = pipeline(...stages, out);
    let computed: string | undefined;
    await Promise.all([
      produced,
      pusher.pushBlobStream(repository, out, () => {
        computed ??= blob.digest();
        return computed;
      }),
    ]);
    digest = computed ?? blob.digest();
  }
  return { mediaType, digest, size, diffId: diff.digest() };
}

/** The layer media type a format and compression call for. */
export function layerMediaType(compression: Compression, docker: boolean): string {
  if (docker && compression === "gzip") return MediaType.DockerLayerGzip;
  if (docker && compression === "none") return MediaType.DockerLayer;
  if (compression === "gzip") return MediaType.OciLayerGzip;
  if (compression === "zstd") return MediaType.OciLayerZstd;
  return MediaType.OciLayer;
}

function layerTar(layer: LayerSpec): Readable {
  if (layer.tar !== undefined && layer.entries !== undefined)
    throw new Error("a layer has entries or tar, not both");
  if (layer.tar !== undefined) {
    const bytes = layer.tar;
    const stream = new PassThrough();
    stream.end(Buffer.from(bytes));
    return stream;
  }
  return tarStream(layer.entries ?? []);
}

/** `tar` in `frames` pieces of about the same size, each compressed on its own. */
function inFrames(tar: Buffer, compression: Compression, frames: number): Buffer {
  const pieces: Buffer[] = [];
  const step = Math.ceil(tar.length / frames);
  for (let start = 0; start < tar.length; start += step) {
    const piece = tar.subarray(start, start + step);
    if (compression === "gzip") pieces.push(zlib.gzipSync(piece, { level: 1 }));
    else if (compression === "zstd") {
      const frame = zlib.zstdCompressSync(piece);
      const sizeFrame = Buffer.alloc(12);
      sizeFrame.writeUInt32LE(0x184d2a50, 0);
      sizeFrame.writeUInt32LE(4, 4);
      sizeFrame.writeUInt32LE(frame.length, 8);
      pieces.push(sizeFrame, frame);
    } else pieces.push(piece);
  }
  return Buffer.concat(pieces);
}

function compressor(compression: Compression): Transform {
  switch (compression) {
    case "gzip":
      // Level 1: test layers are often incompressible, and gzip's higher levels only burn CPU on them.
      return zlib.createGzip({ level: 1 });
    case "zstd":
      return zlib.createZstdCompress();
    case "none":
      return new PassThrough();
  }
}

function tap(observe: (chunk: Buffer) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      observe(chunk);
      callback(null, chunk);
    },
  });
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}
