/**
 * The spec of a large image of pseudo-random, incompressible data, split evenly across layers:
 * what a "model" or dataset image looks like to a puller. {@link writeImage} streams it, so its
 * size is bounded by the registry's disk, not by memory.
 */
import type { Compression, ImageSpec } from "./image-writer.ts";

export interface RandomImageOptions {
  readonly repository: string;
  readonly tag?: string;
  /** Bytes of file content in all (tar headers and compression add a little). */
  readonly totalBytes: number;
  /** Default: 5. */
  readonly layers?: number;
  /** Default: gzip. */
  readonly compression?: Compression;
  /** Changes every byte; default "volpop". */
  readonly seed?: string;
  /** Passed on as {@link ImageSpec.streamLayersAbove}. */
  readonly streamLayersAbove?: number;
}

/** One file per layer, `data/part-<n>.bin`, its bytes `randomBytesStream(size, "<seed>/<n>")`. */
export function randomImage(options: RandomImageOptions): ImageSpec {
  const count = options.layers ?? 5;
  const base = Math.floor(options.totalBytes / count);
  const seed = options.seed ?? "volpop";
  return {
    repository: options.repository,
    ...(options.tag === undefined ? {} : { tag: options.tag }),
    ...(options.streamLayersAbove === undefined ? {} : { streamLayersAbove: options.streamLayersAbove }),
    layers: Array.from({ length: count }, (_, n) => ({
      compression: options.compression ?? "gzip",
      entries: [
        {
          type: "file" as const,
          path: `data/part-${n}.bin`,
          // The last layer takes the remainder, so the sizes add up exactly.
          content: {
            randomBytes: n === count - 1 ? options.totalBytes - base * (count - 1) : base,
            seed: `${seed}/${n}`,
          },
        },
      ],
    })),
  };
}
